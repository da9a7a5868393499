/**
 * get_metric_history says it downsampled, and to pass max_points for more, only when the
 * points cap cut a series: minutes that merge a rollup's rows and buckets are fewer than their
 * sources too, and a larger max_points would not give more of them.
 */
import { describe, expect, it } from 'vitest';
import type { MetricHistory, SeriesHistory } from '../dist/src/monitor/history.js';
import { historyOut, historyText } from '../dist/src/mcp/tools/get-metric-history.js';

const T0 = Date.UTC(2026, 11, 1, 5, 0, 0);

function series(points: number, sourcePoints: number): SeriesHistory {
  return {
    id: 1,
    tags: {},
    resolution: 'rollup',
    stepMs: 60_000,
    sourcePoints,
    points: Array.from({ length: points }, (_, i) => ({ t: T0 + i * 60_000, value: i, count: 60, sum: 60 * i, min: i, max: i, last: i })),
  };
}

function history(s: SeriesHistory): MetricHistory {
  return { metric: 'cpu_usage', kind: 'gauge', unit: 'percent', from: T0, to: T0 + 3_600_000, series: [s], totalSeries: 1 };
}

describe('get_metric_history', () => {
  it('does not claim a cut to max_points when a rollup merged fewer sources than the cap', () => {
    const out = historyOut(history(series(33, 35)), 500);
    expect(out.downsampled).toBe(false);
    expect(historyText(out, true)).not.toContain('downsampled');
  });

  it("gives a counter's line in one unit: its rates' first, last, min and max, not its samples'", () => {
    // Two points of 1-request samples, at 10 and 30 requests a second.
    const points = [10, 30].map((rate, i) => ({ t: T0 + i * 1_000, value: rate, count: rate, sum: rate, min: 1, max: 1, last: 1 }));
    const s: SeriesHistory = { id: 1, tags: {}, resolution: 'raw', stepMs: 0, sourcePoints: 40, points };
    const text = historyText(historyOut({ ...history(s), metric: 'throughput', kind: 'counter', unit: 'requests' }, 2), false);
    expect(text).toContain('first 10 last 30 min 10 max 30');
  });

  it('says so, with how to get more, when the cap cut a series', () => {
    const out = historyOut(history(series(500, 1_800)), 500);
    expect(out.downsampled).toBe(true);
    expect(historyText(out, true)).toContain('downsampled to 500 points per series to fit 8 KB: pass max_points (up to 10000) for more');
  });
});
