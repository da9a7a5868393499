/**
 * For the tests of perfwatch under a test runner's fake timers: sinon's list of what it fakes
 * (but process.nextTick and queueMicrotask), and the tests' own waits on timers taken when this
 * module loads, before any test fakes them.
 */
export const FAKED = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date', 'performance', 'hrtime'] as const;

export const realSetTimeout = globalThis.setTimeout;

export const realSleep = (ms: number): Promise<void> => new Promise<void>((resolve) => realSetTimeout(resolve, ms));

/** Waits, in real time, until `ok()` holds; fails after `ms`. */
export async function realWait(ok: () => boolean, ms: number, what: string): Promise<void> {
  for (let waited = 0; !ok(); waited += 50) {
    if (waited > ms) throw new Error(`waited ${ms} ms of real time for ${what}`);
    await realSleep(50);
  }
}
