import { describe, expect, it } from 'vitest';
import { WATCHDOG_BACKOFF_MS, WATCHDOG_FAST_RESTARTS, WatchdogLink } from '../dist/src/actors/supervisor.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The watchdog thread is replaced when it dies, and its actors with it. One that never starts
 * is given up after three tries (host-safety.test.ts); one that works a moment and dies, over
 * and over, is replaced a few times at once, then once a second, for as long as an actor
 * wants it, not in a loop that takes a core.
 */
describe('the watchdog link', () => {
  it('replaces a watchdog that keeps dying a few times at once, then once a second, and keeps trying', async () => {
    const faults: Error[] = [];
    const link = new WatchdogLink((e) => faults.push(e), 'skip', new URL('./fixtures/dying-worker.mjs', import.meta.url));
    const replaced: number[] = [];
    // An actor being started: as Supervisor.watchdogLost does, it asks the next watchdog to start it.
    const actor = {
      name: 'fake',
      state: 'starting',
      onEvent() {},
      watchdogFailed() {
        throw new Error('a watchdog that reported is not given up');
      },
      watchdogLost() {
        if (this.state === 'stopped') return;
        replaced.push(Date.now());
        link.post({ op: 'start', actor: 'fake' } as never);
      },
    };
    link.attach(actor as never);
    link.post({ op: 'start', actor: 'fake' } as never);
    // Counted, not timed: on a loaded machine a worker thread takes up to a second to start
    // and die, and the fast ones alone filled a fixed window of 3 s.
    const until = Date.now() + 30_000;
    while (replaced.length < WATCHDOG_FAST_RESTARTS + 3 && Date.now() < until) await sleep(20);
    actor.state = 'stopped';
    expect(replaced.length).toBeGreaterThanOrEqual(WATCHDOG_FAST_RESTARTS + 3);
    // Past the fast ones, each waits the back-off: without it a replacement starts every few ms.
    const gaps = replaced.slice(WATCHDOG_FAST_RESTARTS, WATCHDOG_FAST_RESTARTS + 3).map((t, i) => t - replaced[WATCHDOG_FAST_RESTARTS + i - 1]!);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(WATCHDOG_BACKOFF_MS - 50);
    await sleep(1_200);
    await link.release();
  });
});
