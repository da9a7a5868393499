// The monitor's clock (src/engine/monitor-clock.ts) on a wall clock the test steps: it never
// goes back, a step back puts it ahead of the wall clock by the step, a step forward pays that
// back, and time passing or a step forward with nothing ahead moves it as it moves the wall clock.
import { describe, expect, it } from 'vitest';
import { CLOCK, CLOCK_OFFSET, CLOCK_STEPS, CLOCK_STEPPED_AT, controlViews, createControl } from '../dist/src/engine/control.js';
import { SteadyClock, monitorNow } from '../dist/src/engine/monitor-clock.js';

const T0 = Date.UTC(2026, 11, 2, 12);

function harness() {
  const ctl = controlViews(createControl());
  const c = { wall: T0, mono: 1_000 };
  const pass = (ms: number): void => {
    c.wall += ms;
    c.mono += ms;
  };
  const clock = (): SteadyClock => new SteadyClock(ctl, { wall: () => c.wall, mono: () => c.mono });
  return { ctl, c, pass, clock };
}

describe('the monitor clock', () => {
  it('follows the wall clock while it only moves forward, steps forward included', () => {
    const { ctl, c, pass, clock } = harness();
    const steady = clock();
    expect(steady.now()).toBe(T0);
    pass(1_000);
    expect(steady.now()).toBe(T0 + 1_000);
    c.wall += 3_600_000; // a suspend, or NTP setting a clock that ran late
    expect(steady.now()).toBe(T0 + 3_601_000);
    expect(ctl.f64[CLOCK_OFFSET]).toBe(0);
    expect(ctl.f64[CLOCK_STEPS]).toBe(0);
  });

  it('goes on from its last reading at the monotonic pace when the wall clock steps back, and every thread reads the same', () => {
    const { ctl, c, pass, clock } = harness();
    const steady = clock();
    steady.now();
    pass(500);
    c.wall -= 120_000;
    expect(steady.now()).toBe(T0 + 500);
    expect(ctl.f64[CLOCK_OFFSET]).toBe(120_000);
    expect(ctl.f64[CLOCK_STEPS]).toBe(1);
    expect(ctl.f64[CLOCK_STEPPED_AT]).toBe(T0 + 500);
    pass(1_000);
    expect(steady.now()).toBe(T0 + 1_500);
    // Another thread: Date.now() plus the offset.
    expect(monitorNow(ctl) - Date.now()).toBe(120_000);
    // A second step back adds to the first.
    c.wall -= 10_000;
    pass(200);
    expect(steady.now()).toBe(T0 + 1_700);
    expect(ctl.f64[CLOCK_OFFSET]).toBe(130_000);
    expect(ctl.f64[CLOCK_STEPS]).toBe(2);
  });

  it('pays back what it runs ahead with a step forward of the wall clock, and no more', () => {
    const { ctl, c, pass, clock } = harness();
    const steady = clock();
    steady.now();
    c.wall -= 120_000;
    pass(1_000);
    expect(steady.now()).toBe(T0 + 1_000);
    // The clock put right: the monitor's goes on as if neither step had happened.
    c.wall += 120_000;
    pass(1_000);
    expect(steady.now()).toBe(T0 + 2_000);
    expect(ctl.f64[CLOCK_OFFSET]).toBe(0);
    // Past what was ahead, a step forward is time passing.
    c.wall -= 5_000;
    pass(100);
    expect(steady.now()).toBe(T0 + 2_100);
    c.wall += 65_000;
    pass(100);
    expect(steady.now()).toBe(T0 + 2_200 + 60_000);
    expect(ctl.f64[CLOCK_OFFSET]).toBe(0);
  });

  it('keeps what it runs ahead through the slow drift of NTP slewing', () => {
    const { ctl, c, pass, clock } = harness();
    const steady = clock();
    steady.now();
    c.wall -= 60_000;
    pass(10);
    steady.now();
    for (let i = 0; i < 600; i++) {
      pass(1_000);
      c.wall += 0.5; // 500 ppm, the most NTP slews
      steady.now();
    }
    expect(ctl.f64[CLOCK_OFFSET]).toBe(60_000);
  });

  it('starts a successor (a collector replaced) from the last beat, so a step back while none ran is found too', () => {
    const { ctl, clock } = harness();
    ctl.f64[CLOCK] = T0 + 30_000; // the last beat of a collector that died
    expect(clock().now()).toBe(T0 + 30_000);
    expect(ctl.f64[CLOCK_OFFSET]).toBe(30_000);
  });
});
