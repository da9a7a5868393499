import { describe, expect, it } from 'vitest';
import { WATCHDOG_FAST_RESTARTS, WatchdogLink } from '../dist/src/actors/supervisor.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The watchdog thread is replaced when it dies, and its actors with it. One that dies at its
 * start (a Node option a Worker refuses) was replaced in a loop that took a core: now a few
 * times at once, then once a second, for as long as an actor wants it.
 */
describe('the watchdog link', () => {
  it('replaces a watchdog that dies at its start a few times at once, then once a second, and keeps trying', async () => {
    const faults: Error[] = [];
    const link = new WatchdogLink((e) => faults.push(e), new URL('./fixtures/dying-worker.mjs', import.meta.url));
    let replaced = 0;
    // An actor being started: as Supervisor.watchdogLost does, it asks the next watchdog to start it.
    const actor = {
      name: 'fake',
      state: 'starting',
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
