/**
 * Quantiles that stand for part of a window say so. A window's counts come from its buckets'
 * records; its quantiles from their sketches in the circular sketch log, which may have
 * overwritten the older ones (a log too small for the series' closes: docs/storage.md). The
 * answers then carry how many samples the quantiles were computed from.
 */
import { describe, expect, it } from 'vitest';
import { Exposition } from '../dist/src/http/exposition.js';
import { Query } from '../dist/src/monitor/query.js';
import { metricLine, metricSummary } from '../dist/src/mcp/format.js';
import { T0, synthetic } from './synthetic.js';

/** 1,100 values, each in a sketch bin of its own: a bucket's sketch run is 2,201 i32. */
const values = Array.from({ length: 1100 }, (_, i) => 2 ** Math.floor(i / 64) * (1 + (i % 64) / 64 + 1 / 128));

function filled(logBytes: number) {
  const s = synthetic({ logBytes, maxSeries: 16 });
  const id = s.id('response_time', {}, 'distribution', 'ms');
  s.fill(61, [[id, () => values]]);
  return { s, id };
}

describe('quantiles of part of a window', () => {
  it("carry the samples they stand for when the log lost older buckets' sketches", () => {
    // 2^16 i32 (the smallest log) hold fewer than 30 of these buckets.
    const { s, id } = filled(0);
    const now = T0 + 61_010;
    // The samples of the buckets whose sketch the log still holds, in the window's range.
    let held = 0;
    let lost = 0;
    for (let k = 0; k < s.reader.bucketCount(id, 1); k++) {
      if (s.reader.bucketStartAt(id, k) < now - 60_000) continue;
      if (s.reader.forEachBucketBin(id, k, () => {})) held += values.length;
      else lost += values.length;
    }
    expect(held).toBeGreaterThan(0);
    expect(lost).toBeGreaterThan(0);

    const [m] = new Query(s.registry, s.reader).metrics({ windowSeconds: 60 }, now);
    expect(m!.window.count).toBe(held + lost);
    expect(m!.window.quantileCount).toBe(held);
    const summary = metricSummary(m!);
    expect(summary.quantile_count).toBe(held);
    expect(metricLine(summary)).toContain(`(quantiles of ${held})`);

    const report = s.report({ from: now - 60_000, to: now });
    const [series] = report.series;
    expect(series).toMatchObject({ count: held + lost, quantileMethod: 'sketch', quantileCount: held });
    expect(report.notes.join('\n')).toContain("1 series' quantiles stand for fewer samples than their count");

    // /metrics' quantile family: the same window, counted in the exposition's stats.
    const exposition = new Exposition(s.registry, s.reader, undefined, { quantiles: [0.5, 0.99], windowMs: 60_000, now: () => now });
    expect(new TextDecoder().decode(exposition.render('prometheus'))).toContain('response_time_quantiles{quantile="0.99"}');
    expect(exposition.stats).toMatchObject({ partialQuantiles: 1, unquantiled: lost });
  });

  it('say nothing more when the log holds every sketch of the window', () => {
    const { s } = filled(16 * 1024 * 1024);
    const now = T0 + 61_010;
    const [m] = new Query(s.registry, s.reader).metrics({ windowSeconds: 60 }, now);
    expect(m!.window.count).toBe(59 * values.length);
    expect(m!.window).not.toHaveProperty('quantileCount');
    expect(metricSummary(m!)).not.toHaveProperty('quantile_count');
    const report = s.report({ from: now - 60_000, to: now });
    expect(report.series[0]).not.toHaveProperty('quantileCount');
    expect(report.notes.join('\n')).not.toContain('quantiles stand for fewer');
    const exposition = new Exposition(s.registry, s.reader, undefined, { quantiles: [0.99], windowMs: 60_000, now: () => now });
    exposition.render('prometheus');
    expect(exposition.stats).toMatchObject({ partialQuantiles: 0, unquantiled: 0 });
  });
});
