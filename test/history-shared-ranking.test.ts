/**
 * Busiest-first rankings shared by the readers of one interval. Every dashboard tab asks its
 * charts' histories `order=busiest` once an interval, each over the same range to its own
 * millisecond; each ranking counted every matching series' samples in the range on the host's
 * main thread, so the tabs' cost grew with their number (30 tabs on 10,000 endpoints: some
 * 270 ms a second of it, a trial of 2026-12-07). One ranking now serves the queries of the same
 * metric, tags and range (to the interval) for an interval, while the same series match.
 */
import { describe, expect, it } from 'vitest';
import type { PerformanceMonitor } from '../dist/src/index.js';
import { monitorStarter } from './helpers.js';

const started = monitorStarter();
const SERIES = 40;

/** Counts the ranking's reads: one aggregate a matching series with samples. */
function countAggregates(m: PerformanceMonitor): { calls: number } {
  const reader = (m as unknown as { reader: { aggregate: (...a: unknown[]) => unknown } }).reader;
  const seen = { calls: 0 };
  const aggregate = reader.aggregate.bind(reader);
  reader.aggregate = (...a: unknown[]) => {
    seen.calls++;
    return aggregate(...a);
  };
  return seen;
}

/** A monitor of SERIES endpoints, endpoint /eI with I + 1 samples: /e39 the busiest. */
async function endpoints(): Promise<{ m: PerformanceMonitor; from: number }> {
  // An interval of a minute: the queries of a test fall in one however loaded the machine.
  const m = await started({ collectionIntervalMs: 60_000 });
  // Before the open bucket's start: its samples count for a range that holds its start.
  const from = m.now() - 120_000;
  for (let i = 0; i < SERIES; i++) {
    const h = m.metric('hits', { endpoint: `/e${i}` });
    for (let k = 0; k <= i; k++) h.record(k);
  }
  await m.flush();
  return { m, from };
}

const order = (h: { series: { tags: Record<string, string> }[] }): string[] => h.series.map((s) => s.tags.endpoint!);
const expected = (n: number): string[] => Array.from({ length: n }, (_, i) => `/e${SERIES - 1 - i}`);

describe("order 'busiest' for many readers", () => {
  it('counts one ranking for the readers of the same range in an interval, each answered busiest first', async () => {
    const { m, from } = await endpoints();
    const seen = countAggregates(m);
    const first = await m.getMetricHistory({ metric: 'hits', from, order: 'busiest', limit: 5 });
    expect(order(first)).toEqual(expected(5));
    const once = seen.calls;
    expect(once).toBeGreaterThanOrEqual(SERIES);
    // 30 more readers, each a millisecond or more later than the one before, as tabs are.
    for (let r = 0; r < 30; r++) {
      const h = await m.getMetricHistory({ metric: 'hits', from, order: 'busiest', limit: 5 });
      expect(order(h)).toEqual(expected(5));
      expect(h.totalSeries).toBe(SERIES);
    }
    // Counted each time, 30 × SERIES more reads; shared, none.
    expect(seen.calls - once).toBeLessThan(SERIES);
    // Other tags, another ranking: that of the series they match.
    const some = await m.getMetricHistory({ metric: 'hits', tags: { endpoint: '/e3' }, from, order: 'busiest' });
    expect(order(some)).toEqual(['/e3']);
  });

  it('ranks again when a series is registered', async () => {
    const { m, from } = await endpoints();
    expect(order(await m.getMetricHistory({ metric: 'hits', from, order: 'busiest', limit: 3 }))).toEqual(expected(3));
    const busy = m.metric('hits', { endpoint: '/new' });
    for (let k = 0; k < 100; k++) busy.record(k);
    await m.flush();
    const again = await m.getMetricHistory({ metric: 'hits', from, order: 'busiest', limit: 3 });
    expect(again.totalSeries).toBe(SERIES + 1);
    expect(order(again)).toEqual(['/new', ...expected(2)]);
  });
});
