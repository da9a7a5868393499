/**
 * A counter recorded now and then (once every 3 s: retries, errors, cache misses) has seconds
 * with no sample. Its rate over a stretch of time counts those seconds: a history's points of
 * several buckets and a report's chart read what the report's own rate reads. Grouped by the
 * buckets with data, a history's points of such a counter read 1 a second (a report said
 * 0.33), each "2 s step" spanning 6 s, and the report's chart drew a flat line at 1.
 */
import { describe, expect, it } from 'vitest';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { HistoryReader } from '../dist/src/monitor/history.js';
import { ALWAYS_WATCHED } from '../dist/src/analysis/watched.js';
import { T0, synthetic } from './synthetic.js';

const EVERY = 3;

function sparse(seconds: number) {
  const s = synthetic({ bucketCapacity: 3600 });
  const id = s.id('throughput', {}, 'counter', 'requests');
  s.fill(seconds, [[id, (sec) => (sec % EVERY === 0 ? 1 : undefined)]]);
  const now = T0 + seconds * 1000 + 10;
  const history = new HistoryReader(s.registry, s.reader, new SketchAccumulator(), () => ALWAYS_WATCHED);
  return { s, history, now };
}

describe('a counter recorded once every 3 s', () => {
  it("reads 1/3 a second in a history's points of several buckets, each point the steps its stepMs says", () => {
    const { history, now } = sparse(300);
    for (const maxPoints of [10, 7, 1]) {
      const series = history.read({ metric: 'throughput', from: T0, to: T0 + 300_000, maxPoints, resolution: 'bucket' }, now).series[0]!;
      expect(series.points.length).toBeLessThanOrEqual(maxPoints);
      expect(series.stepMs % 1000).toBe(0);
      const counted = series.points.reduce((n, p) => n + p.sum, 0);
      expect(counted).toBe(100);
      for (const [i, p] of series.points.entries()) {
        // Each point starts on a step of its own, stepMs after the one before (none is empty here).
        if (i > 0) expect(p.t - series.points[i - 1]!.t).toBe(series.stepMs);
        // Its samples over its steps' seconds (the last point's steps reach past the range's end).
        const seconds = Math.min(series.stepMs, T0 + 300_000 - p.t) / 1000;
        expect(p.value).toBeCloseTo(p.sum / seconds, 9);
        if (seconds >= 30) expect(p.value).toBeGreaterThan(0.3), expect(p.value).toBeLessThan(0.37);
      }
    }
    // One bucket a point: each its own second, as before.
    const buckets = history.read({ metric: 'throughput', from: T0, maxPoints: 1000, resolution: 'bucket' }, now).series[0]!;
    expect(buckets.stepMs).toBe(1000);
    expect(buckets.points.length).toBe(100);
    expect(buckets.points.every((p) => p.value === 1)).toBe(true);
  });

  it("is drawn in a report's chart at its rate, and at zero where no sample came", () => {
    // 1,800 s of 1 s buckets: six to a point of the chart.
    const { s } = sparse(1800);
    const report = s.report({ from: T0, to: T0 + 1_800_000 });
    expect(report.series.find((x) => x.name === 'throughput')!.rate).toBeCloseTo(600 / 1800, 3);
    const chart = report.charts.find((c) => c.metric === 'throughput')!;
    expect(chart.t.length).toBeLessThanOrEqual(310);
    expect(chart.v.every((v) => Math.abs(v - 1 / 3) < 1e-4)).toBe(true);
    // 300 s: one bucket a point; the seconds between the samples are drawn at 0.
    const short = sparse(300).s.report({ from: T0, to: T0 + 300_000 });
    const drawn = short.charts.find((c) => c.metric === 'throughput')!;
    expect(drawn.v.filter((v) => v === 1).length).toBe(100);
    expect(drawn.v.filter((v) => v === 0).length).toBeGreaterThanOrEqual(99);
    for (let i = 1; i < drawn.t.length; i++) expect(drawn.t[i]).toBeGreaterThan(drawn.t[i - 1]!);
  });
});
