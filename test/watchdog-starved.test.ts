// The watchdog tells a starved actor (runnable, waiting for a CPU) from a hung one: the time
// its thread waited for a CPU moves its deadline, up to MAX_STARVED_MS. The thread's wait is
// the kernel's (schedstat) in a monitor; here the test stands in for it, so that a starved
// thread can be made at will, and the real reading is checked on its own.
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { WatchdogEvent } from '../dist/src/actors/protocols.js';
import { GRACE_MS, MAX_STARVED_MS, Watchdog } from '../dist/src/actors/watchdog.js';
import { ownThreadId, threadWaitMs } from '../dist/src/engine/thread-cpu.js';

const ACTOR = new URL('./fixtures/beating-actor.mjs', import.meta.url).href;
const CELLS = { at: 0, by: 1, tid: 2, stop: 6 };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A thread's wait for a CPU as the test decides: growing with the clock while `starving`. */
class FakeWait {
  private base = 0;
  private since: number | undefined;
  readonly tids: number[] = [];
  starve(on: boolean): void {
    if (on) this.since ??= Date.now();
    else if (this.since !== undefined) {
      this.base += Date.now() - this.since;
      this.since = undefined;
    }
  }
  read = (tid: number): number => {
    this.tids.push(tid);
    return this.base + (this.since === undefined ? 0 : Date.now() - this.since);
  };
}

const watchdogs: { dog: Watchdog; actor: string }[] = [];
afterEach(() => {
  for (const { dog, actor } of watchdogs.splice(0)) dog.handle({ op: 'terminate', actor });
});

function watch(actor: string, wait: FakeWait, runnable?: () => Map<number, string> | undefined): { control: SharedArrayBuffer; events: WatchdogEvent[] } {
  const control = new SharedArrayBuffer(64);
  const events: WatchdogEvent[] = [];
  const dog = new Watchdog((e) => events.push(e), wait.read, undefined, undefined, runnable);
  watchdogs.push({ dog, actor });
  dog.handle({ op: 'start', actor, url: ACTOR, data: { control, cells: CELLS }, beat: { control, at: CELLS.at, by: CELLS.by, tid: CELLS.tid } });
  return { control, events };
}

async function beating(control: SharedArrayBuffer): Promise<void> {
  const f64 = new Float64Array(control);
  const until = Date.now() + 15_000;
  while (!(f64[CELLS.at]! > 0 && f64[CELLS.tid] === 4242)) {
    if (Date.now() > until) throw new Error('the actor never beat');
    await sleep(5);
  }
  // A few beats, so that the watchdog has found it on time (and read its wait) at least once.
  await sleep(200);
}

function stopBeating(control: SharedArrayBuffer): void {
  Atomics.store(new Int32Array(control), CELLS.stop, 1);
}

async function exitOf(events: WatchdogEvent[]): Promise<Extract<WatchdogEvent, { ev: 'exit' }>> {
  const until = Date.now() + 15_000;
  for (;;) {
    const e = events.find((x) => x.ev === 'exit');
    if (e) return e as Extract<WatchdogEvent, { ev: 'exit' }>;
    if (Date.now() > until) throw new Error('no exit');
    await sleep(5);
  }
}

describe('the watchdog and a starved actor', () => {
  it('waits while the silent actor waits for a CPU, and replaces it once it stops waiting and still does not beat', async () => {
    const wait = new FakeWait();
    const { control, events } = watch('starved', wait);
    await beating(control);
    wait.starve(true);
    stopBeating(control);
    // Well past its promise and the grace, but waiting for a CPU all along.
    await sleep(50 + GRACE_MS + 400);
    expect(events.filter((e) => e.ev === 'exit')).toEqual([]);
    // It has a CPU now and is still silent: hung.
    wait.starve(false);
    const exit = await exitOf(events);
    expect(exit).toMatchObject({ actor: 'starved', hung: true, expected: false });
    expect(exit.error).toMatch(/^no heartbeat for \d+ ms \(\d+ ms of it waiting for a CPU\)$/);
    // The thread id read is the one the actor stored.
    expect(new Set(wait.tids)).toEqual(new Set([4242]));
  });

  it('replaces a silent actor that does not wait for a CPU, and one that waits for longer than MAX_STARVED_MS', async () => {
    const idle = new FakeWait();
    const a = watch('blocked', idle);
    await beating(a.control);
    stopBeating(a.control);
    expect((await exitOf(a.events)).error).toMatch(/^no heartbeat for \d+ ms$/);

    const starving = new FakeWait();
    const b = watch('starving', starving);
    await beating(b.control);
    starving.starve(true);
    stopBeating(b.control);
    const t1 = Date.now();
    const exit = await exitOf(b.events);
    expect(exit.error).toMatch(/waiting for a CPU/);
    // Found all the same, past the cap's worth of waiting.
    expect(Date.now() - t1).toBeGreaterThanOrEqual(MAX_STARVED_MS);
  });

  it('waits while the silent actor waits for a CPU now (a wait the kernel counts once it ends), or sleeps while another thread does, up to MAX_STARVED_MS', async () => {
    // The kernel's total of ended waits stays as it was (FakeWait never starving); the threads'
    // states say the rest: runnable, and not run since the watchdog's last look.
    let threads = new Map<number, string>();
    let ran = 0;
    const queued = watch('queued', new FakeWait(), () => new Map(threads));
    await beating(queued.control);
    threads = new Map([[4242, '1000 5'], [77, '2000 9']]);
    stopBeating(queued.control);
    await sleep(50 + GRACE_MS + 400);
    expect(queued.events.filter((e) => e.ev === 'exit')).toEqual([]);
    // Asleep now, while another thread of the process waits for a CPU: not judged either.
    threads = new Map([[77, '2000 9']]);
    await sleep(200);
    expect(queued.events.filter((e) => e.ev === 'exit')).toEqual([]);
    // That thread runs (its time on a CPU moves at each look), the actor still silent: hung.
    const running = setInterval(() => (threads = new Map([[77, `${++ran} 9`]])), 2);
    try {
      const exit = await exitOf(queued.events);
      expect(exit).toMatchObject({ actor: 'queued', hung: true, expected: false });
      expect(exit.error).toMatch(/^no heartbeat for \d+ ms$/);
    } finally {
      clearInterval(running);
    }

    // Runnable and never run, for ever: found all the same, past the cap's worth of waiting.
    const stuck = watch('stuck', new FakeWait(), () => new Map([[4242, '1000 5']]));
    await beating(stuck.control);
    stopBeating(stuck.control);
    const t1 = Date.now();
    expect((await exitOf(stuck.events)).error).toMatch(/^no heartbeat for \d+ ms$/);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(MAX_STARVED_MS);
  });

  it("reads a live thread's wait for a CPU from the kernel", () => {
    const tid = ownThreadId();
    if (process.platform !== 'linux') return expect(tid).toBe(0);
    expect(tid).toBeGreaterThan(0);
    const ms = threadWaitMs(tid);
    expect(Number.isFinite(ms) && ms >= 0).toBe(true);
    // A thread id that is not one of ours: unknown, not zero.
    expect(threadWaitMs(2 ** 30)).toBeNaN();
    expect(threadWaitMs(0)).toBeNaN();
  });
});
