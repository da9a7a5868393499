/**
 * The main thread's tick publishes the runtime samples a few ms before each whole second
 * without waking the collector, which wakes for the boundary anyway. A tick that runs late,
 * past the boundary, must ring: the collector sleeps up to a second when idle, and the samples
 * would wait that long for its next wake-up.
 */
import { describe, expect, it } from 'vitest';
import { ASLEEP, DOORBELL, QUIET_AT, SLEEPING, controlViews, createControl } from '../dist/src/engine/control.js';
import { RingWriter, createRing } from '../dist/src/engine/ring.js';
import { Tick, type TickDeps } from '../dist/src/monitor/tick.js';

const SECOND = 1_800_000_000_000;

function tickAt(now: number) {
  const control = createControl();
  const ctl = controlViews(control);
  const ring = createRing(1 << 10);
  const mainWriter = new RingWriter(ring, control, 'drop');
  let samples = 0;
  const deps = {
    intervalMs: 1_000,
    ctl,
    mainWriter,
    runtime: { sample: () => (mainWriter.push(1, 1), samples++) },
    faults: { guard: (_where: string, fn: () => void) => fn() },
    drops: { check: () => undefined },
    collector: { state: 'starting' },
    overhead: { mainBusy: () => {} },
    rings: () => [ring],
    running: () => true,
    emit: () => {},
    seriesRefusals: () => {},
    now: () => now,
  } as unknown as TickDeps;
  Atomics.store(ctl.i32, SLEEPING, ASLEEP);
  const bell = Atomics.load(ctl.i32, DOORBELL);
  const tick = new Tick(deps);
  tick.start();
  tick.stop();
  return { rang: Atomics.load(ctl.i32, DOORBELL) !== bell, quietAt: ctl.f64[QUIET_AT]!, samples, unpublished: mainWriter.unpublished() };
}

describe('the tick publishes the runtime samples', () => {
  it('on time, a few ms before the boundary: without a wake-up, marked quiet', () => {
    const t = tickAt(SECOND + 987);
    expect(t).toMatchObject({ rang: false, samples: 1, unpublished: 0 });
    expect(t.quietAt).toBe(SECOND + 987);
  });

  it('late, past the boundary: ringing the sleeping collector', () => {
    for (const late of [0, 40, 500, 900]) {
      const t = tickAt(SECOND + late);
      expect(t, `at +${late} ms`).toMatchObject({ rang: true, quietAt: 0, samples: 1, unpublished: 0 });
    }
  });
});
