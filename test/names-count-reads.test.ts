/**
 * countMetrics() by name alone (the `total` of /api/metrics and get_performance_metrics) and
 * getMetricNames() (/api/names) read no series again once counted (monitor/series-with-data.ts):
 * at 100,000 series each call read every one's name, tags and totals, 6-20 ms of the host's
 * main thread. Their answers stay the walk's: new series, series that take their first sample
 * later, names asked for with no data or none at all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { countCalls } from './helpers.js';

let m: PerformanceMonitor | undefined;
afterEach(async () => {
  await m?.close();
  m = undefined;
});

/** The walk's answers, from every series getMetrics() lists. */
function walked(monitor: PerformanceMonitor): { total: number; names: { name: string; series: number }[] } {
  const all = monitor.getMetrics();
  const byName = new Map<string, number>();
  for (const s of all) byName.set(s.name, (byName.get(s.name) ?? 0) + 1);
  return { total: all.length, names: [...byName].map(([name, series]) => ({ name, series })).sort((a, b) => (a.name < b.name ? -1 : 1)) };
}

describe('countMetrics() by name and getMetricNames()', () => {
  it('read each series once, and answer as a walk of every series does', async () => {
    m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false }, maxSeries: 2000, collectionIntervalMs: 300_000 });
    await m.start();
    for (let i = 0; i < 600; i++) m.record(`count_walk_${i % 3}`, i, { i: String(i) });
    // Registered, no sample yet: not counted until it has one.
    const later = m.metric('count_later', { i: 'x' }, { kind: 'gauge' });
    await m.flush();
    // Every walk of the store asks everRecorded() of each series' hot line first.
    const seen = countCalls(m, 'reader', 'everRecorded');
    const before = walked(m);
    expect(m.countMetrics()).toBe(before.total);
    expect(m.getMetricNames().map(({ name, series }) => ({ name, series }))).toEqual(before.names);
    seen.calls = 0;
    expect(m.countMetrics()).toBe(before.total);
    expect(m.countMetrics({ names: ['count_walk_1', 'count_walk_2', 'count_walk_1'] })).toBe(400);
    expect(m.getMetricNames().find((n) => n.name === 'count_walk_0')).toEqual({ name: 'count_walk_0', kind: 'distribution', unit: '', series: 200 });
    // Nothing new: only the one series still without data is read again.
    expect(seen.calls).toBeLessThanOrEqual(3);
    // A name with no data is known (0); one never defined is the error it was.
    expect(m.countMetrics({ names: ['count_later'] })).toBe(0);
    expect(() => m!.countMetrics({ names: ['count_walk_0', 'no_such_metric'] })).toThrow(/no_such_metric/);
    later.record(1);
    for (let i = 0; i < 5; i++) m.record('count_walk_0', 1, { i: `new${i}` });
    await m.flush();
    seen.calls = 0;
    expect(m.countMetrics({ names: ['count_later'] })).toBe(1);
    expect(m.countMetrics()).toBe(before.total + 6);
    // The new series and the one that took its first sample: not the 600 before them.
    expect(seen.calls).toBeLessThan(50);
    const after = walked(m);
    expect(m.countMetrics()).toBe(after.total);
    expect(m.getMetricNames().map(({ name, series }) => ({ name, series }))).toEqual(after.names);
    // With tags or sampled, the walk as before.
    expect(m.countMetrics({ names: ['count_walk_0'], tags: { i: '3' } })).toBe(1);
  });
});
