/**
 * The runtime sampler's readings of the main thread's event loop (src/monitor/runtime.ts),
 * taken by the tick (src/monitor/tick.ts): the utilization over a span that means something,
 * and every freeze of the loop in the lag, whatever side of the tick it falls on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { waitFor } from './helpers.js';

const monitors: PerformanceMonitor[] = [];
function monitor(): PerformanceMonitor {
  const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
  monitors.push(m);
  return m;
}
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

async function readings(m: PerformanceMonitor, metric: string, enough: (values: number[]) => boolean, what: string): Promise<number[]> {
  return waitFor(async () => {
    const values = ((await m.getMetricHistory({ metric })).series[0]?.points ?? []).map((p) => p.value);
    return enough(values) ? values : undefined;
  }, 12_000, what);
}

function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('the event-loop utilization', () => {
  it('reads an idle start as idle: the first reading covers a real span, not the start', async () => {
    const m = monitor();
    await m.start();
    const rule = await m.createAlertRule({ metric: 'event_loop_utilization', aggregation: 'max', window: 5, operator: '>', threshold: 0.9 });
    // The test's thread does nothing meanwhile: every reading is of an idle loop (~0.01).
    // The tick start() runs at once used to read the few microseconds since the sampler
    // started, all of them busy: 1.0, and the rule fired at every start.
    const values = await readings(m, 'event_loop_utilization', (v) => v.length >= 3, 'three utilization readings');
    expect(Math.max(...values), values.join(' ')).toBeLessThan(0.5);
    expect(m.getAlertHistory({ rule: rule.id }).map((t) => t.to)).not.toContain('firing');
  });
});

describe('the event-loop lag', () => {
  /**
   * Freezes the loop for 1.5 s once, on the tick's next runtime sample, just before it or just
   * after it: what an application callback run in the same timers pass does (a timer due
   * with the tick, a loop held past both), since no other timer runs in between. With
   * monitorEventLoopDelay() read and reset() at the sample, the freeze before it was thrown
   * away with the histogram's pending delay, and the one after it ended the histogram's first
   * interval after the reset, which records nothing: neither was ever read.
   */
  async function freezeAtSample(when: 'before' | 'after'): Promise<number[]> {
    const m = monitor();
    await m.start();
    // Past the start: the sampler has been ticking on its schedule for a while.
    await readings(m, 'event_loop_lag', (v) => v.length >= 2, 'two lag readings');
    const runtime = (m as unknown as { runtime: { sample(): void } }).runtime;
    const sample = runtime.sample.bind(runtime);
    let armed = true;
    runtime.sample = () => {
      if (armed && when === 'before') spin(1500);
      sample();
      if (armed && when === 'after') spin(1500);
      armed = false;
    };
    const before = (await readings(m, 'event_loop_lag', () => true, 'the lag readings')).length;
    // The freeze, then two samples after it: its delay is in one of these readings.
    return readings(m, 'event_loop_lag', (v) => !armed && v.length >= before + 3, 'three lag readings from the freeze on');
  }

  it('records a freeze that ends as the tick samples (the delay pending at the sample)', async () => {
    const values = await freezeAtSample('before');
    expect(Math.max(...values), values.join(' ')).toBeGreaterThanOrEqual(1000);
  });

  it('records a freeze that begins as the tick has sampled (the first delay after the sample)', async () => {
    const values = await freezeAtSample('after');
    expect(Math.max(...values), values.join(' ')).toBeGreaterThanOrEqual(1000);
  });
});
