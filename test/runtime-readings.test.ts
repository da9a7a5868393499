/**
 * The runtime sampler's readings of the main thread's event loop (src/monitor/runtime.ts),
 * taken by the tick (src/monitor/tick.ts): the utilization over a span that means something.
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
