import { describe, expect, it } from 'vitest';
import { WATCHDOG_FAST_RESTARTS, WatchdogLink } from '../dist/src/actors/supervisor.js';

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
    const link = new WatchdogLink((e) => faults.push(e), new URL('./fixtures/dying-worker.mjs', import.meta.url));
    let replaced = 0;
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
        replaced++;
        link.post({ op: 'start', actor: 'fake' } as never);
      },
    };
    link.attach(actor as never);
    link.post({ op: 'start', actor: 'fake' } as never);
    await sleep(3_000);
    actor.state = 'stopped';
    // Without the back-off a replacement starts every few ms: over a hundred in 3 s.
    expect(replaced).toBeLessThanOrEqual(WATCHDOG_FAST_RESTARTS + 4);
    expect(replaced).toBeGreaterThan(WATCHDOG_FAST_RESTARTS);
    await sleep(1_200);
    await link.release();
  });
});
