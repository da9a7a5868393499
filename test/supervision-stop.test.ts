/**
 * stop() of a monitor whose collector hangs. The watchdog stopped looking at an actor's beat
 * once its stop began, so a collector hung in a loop held stop() to its 5 s bound, was
 * terminated, and the samples that waited in the rings were lost; and a stop cut at the bound
 * said those samples were lost whether any were left or not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BEAT_BY, CLOCK, HANG_AT, controlViews } from '../dist/src/engine/control.js';
import { monitorNow } from '../dist/src/engine/monitor-clock.js';
import { PerformanceMonitor, type ActorExit } from '../dist/src/index.js';

const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

/** The monitor's control block, whose cells say when an injected hang began and hold the collector's beat. */
const controlOf = (m: PerformanceMonitor) => controlViews((m as unknown as { control: SharedArrayBuffer }).control);

/** Hangs the collector and waits, looking every turn, until it is in the hang: a stop() then comes long before the watchdog could find it. */
async function hangCollector(m: PerformanceMonitor): Promise<void> {
  const ctl = controlOf(m);
  await m.injectFault('hang');
  const deadline = Date.now() + 10_000;
  while (!(ctl.f64[HANG_AT]! > 0) && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  expect(ctl.f64[HANG_AT]).toBeGreaterThan(0);
}

async function started(): Promise<PerformanceMonitor> {
  const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
  monitors.push(m);
  await m.start();
  return m;
}

describe('stop() of a monitor whose collector hangs', () => {
  it('stops a collector that hangs through a successor, which applies what waited: nothing is lost', async () => {
    const m = await started();
    const h = m.metric('response_time', { case: 'hung-stop' });
    for (let i = 0; i < 1_000; i++) h.record(1);
    await m.flush();
    await hangCollector(m);
    // These wait in the ring for a collector that will never take them.
    for (let i = 0; i < 500; i++) h.record(2);
    const exits: ActorExit[] = [];
    m.on('actor-exit', (e: ActorExit) => exits.push(e));
    // The watchdog still ends a hung actor during its stop (it replaces it no more): a
    // successor does the stop, and drains them.
    await m.stop();
    expect(m.getMetrics({ names: ['response_time'] })[0]).toMatchObject({ totalCount: 1_500, totalSum: 2_000 });
    expect(m.status().faults.byKind['actor-stop']).toBeUndefined();
    expect(exits).toHaveLength(1);
    expect(exits[0]!.hung).toBe(true);
    expect(exits[0]!.error?.message).toMatch(/^collector: died during its stop \(no heartbeat for \d+ ms( \(\d+ ms of it waiting for a CPU\))?\): a successor does its stop$/);
  });

  it('says nothing is lost when a collector still at its stop past the bound had drained every sample', async () => {
    const m = await started();
    const h = m.metric('response_time', { case: 'late-stop' });
    for (let i = 0; i < 1_000; i++) h.record(1);
    await m.flush();
    // A collector that beats but does not finish its stop (as one in a long drain on a slow
    // machine): this thread beats for it while it hangs, so the watchdog finds no hang.
    const ctl = controlOf(m);
    const beating = setInterval(() => {
      const now = monitorNow(ctl);
      ctl.f64[CLOCK] = now;
      ctl.f64[BEAT_BY] = now + 1_000;
    }, 100);
    try {
      await hangCollector(m);
      await m.stop();
    } finally {
      clearInterval(beating);
    }
    // It is terminated at the bound; every sample recorded had been applied, and the fault says
    // so (it said the samples in the rings were lost).
    expect(m.getMetrics({ names: ['response_time'] })[0]).toMatchObject({ totalCount: 1_000 });
    expect(m.status().faults.byKind['actor-stop']).toMatchObject({
      count: 1,
      lastMessage: 'collector: it did not finish its stop within 5000 ms and was terminated: nothing is lost (the rings were drained)',
    });
  });
});
