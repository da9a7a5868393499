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
  const sources = { wall: () => c.wall, mono: () => c.mono };
  const clock = (): SteadyClock => new SteadyClock(ctl, sources);
  /** Another thread's reading (monitor.now(), an actor's). */
  const elsewhere = (): number => monitorNow(ctl, sources);
  return { ctl, c, pass, clock, elsewhere };
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
    const { ctl, c, pass, clock, elsewhere } = harness();
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
    // Another thread: the wall clock plus the offset.
    expect(elsewhere()).toBe(T0 + 1_500);
    expect(elsewhere() - c.wall).toBe(120_000);
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

  it("reads in other threads a step the collector has not read yet as the collector will: never back, never a step's length ahead", () => {
    // Between a step and the collector's next reading (up to one of its rounds) another
    // thread read the wall clock plus the old offset: behind after a step back, and 120 s
    // ahead after a step forward that paid back a two-minute step (then back again): a test's
    // line read then stood 120 s after the next ones.
    const { c, pass, clock, elsewhere } = harness();
    const steady = clock();
    steady.now();
    pass(500);
    c.wall -= 120_000;
    expect(elsewhere()).toBe(T0 + 500);
    pass(100);
    expect(elsewhere()).toBe(T0 + 600);
    expect(steady.now()).toBe(T0 + 600);
    pass(1_000);
    expect(steady.now()).toBe(T0 + 1_600);
    c.wall += 120_000; // put right
    pass(200);
    expect(elsewhere()).toBe(T0 + 1_800);
    expect(steady.now()).toBe(T0 + 1_800);
    expect(elsewhere()).toBe(T0 + 1_800);
    // Nothing ahead: a step forward is time passing, in every thread.
    c.wall += 60_000;
    expect(elsewhere()).toBe(T0 + 61_800);
    expect(steady.now()).toBe(T0 + 61_800);
    // A collector that stopped reading long ago, with an offset: the wall clock plus it.
    c.wall -= 10_000;
    pass(100);
    expect(steady.now()).toBe(T0 + 61_900);
    pass(600_000);
    expect(elsewhere()).toBe(T0 + 661_900);
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
