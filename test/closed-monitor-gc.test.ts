/**
 * A monitor stopped or closed and dropped is garbage at once, with its shared buffers (about
 * 0.6 GB reserved with the defaults): a soak trial that built monitors anew held some 27 closed
 * ones' buffers at a time, each kept 5 s by the timers of its actors' stop bounds.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const turn = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts a monitor, records, ends it by `end`, and keeps only weak references to it and to one of its rings. */
async function cycle(end: 'stop' | 'close'): Promise<WeakRef<object>[]> {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
  await monitor.start();
  monitor.metric('x').record(1);
  const ring = monitor.producer().rings[0]!;
  await (end === 'stop' ? monitor.stop() : monitor.close());
  return [new WeakRef(monitor), new WeakRef(ring)];
}

/** How many of `refs` are still reachable once `ms` have passed, collecting every 25 ms (WeakRefs hold their targets until the end of the job that made them). */
async function reachableAfter(refs: WeakRef<object>[], ms: number): Promise<number> {
  const until = Date.now() + ms;
  for (;;) {
    await turn(25);
    gc();
    const left = refs.filter((r) => r.deref() !== undefined).length;
    if (left === 0 || Date.now() > until) return left;
  }
}

describe('a monitor that ended', () => {
  it('is collected with its shared buffers within a second of close() or stop(), once dropped', async () => {
    for (const end of ['close', 'stop'] as const) {
      const refs = [...(await cycle(end)), ...(await cycle(end))];
      // The stop bound is 5 s: a monitor kept by it is still there after 1 s.
      expect(await reachableAfter(refs, 1_000), `${end}: monitors and rings reachable 1 s after`).toBe(0);
    }
  });
});
