import { describe, expect, it } from 'vitest';
import { seeded } from './fixtures/seeded.mjs';
import { T0, exact, synthetic } from './synthetic.js';
import { changeText, renderMarkdown } from '../dist/src/reports/markdown.js';
import { reportOut } from '../dist/src/mcp/report-answer.js';

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);

describe('report statistics', () => {
  it('are exact when the raw ring still holds every sample of the range', () => {
    const s = synthetic({ rawCapacity: 4096 });
    const id = s.id('response_time', { endpoint: '/a' });
    const rand = seeded(11);
    const values: number[] = [];
    s.fill(20, [
      [
        id,
        () => {
          const batch = Array.from({ length: 50 }, () => Math.round(Math.exp(3 + rand()) * 100) / 100);
          values.push(...batch);
          return batch;
        },
      ],
    ]);
    const stats = s.report().series.find((x) => x.name === 'response_time')!;
    const e = exact(values);
    expect(stats).toMatchObject({ count: 1000, min: e.min, max: e.max, median: e.median, p90: e.p90, p95: e.p95, p99: e.p99, stddevMethod: 'raw', quantileMethod: 'raw' });
    expect(stats.mean).toBeCloseTo(e.mean, 9);
    expect(stats.stddev).toBeCloseTo(e.stddev, 9);
  });

  it('estimate stddev from the sketch within 2% and quantiles within 1% once raw samples are gone', () => {
    const s = synthetic({ rawCapacity: 16 });
    const id = s.id('api_response_time', { api: 'billing' });
    const rand = seeded(3);
    const values: number[] = [];
    s.fill(200, [
      [
        id,
        () => {
          const batch = Array.from({ length: 100 }, () => Math.exp(2 + 0.9 * (rand() + rand() + rand() - 1.5)));
          values.push(...batch);
          return batch;
        },
      ],
    ]);
    const stats = s.report().series[0]!;
    const e = exact(values);
    expect(stats).toMatchObject({ count: 20_000, min: e.min, max: e.max, stddevMethod: 'sketch', quantileMethod: 'sketch' });
    expect(stats.mean).toBeCloseTo(e.mean, 9);
    expect(rel(stats.stddev, e.stddev)).toBeLessThan(0.02);
    for (const k of ['median', 'p90', 'p95', 'p99'] as const) expect(rel(stats[k], e[k])).toBeLessThan(0.01);
  });

  it('take the stddev of a gauge sampled once an interval exactly from its buckets', () => {
    const s = synthetic({ rawCapacity: 16 });
    const id = s.id('queue_size', {}, 'gauge', 'count');
    const values = Array.from({ length: 300 }, (_, i) => (i * 37) % 101);
    s.fill(300, [[id, (sec) => values[sec]]]);
    const stats = s.report().series[0]!;
    const e = exact(values);
    expect(stats.stddevMethod).toBe('buckets');
    expect(stats.stddev).toBeCloseTo(e.stddev, 9);
    expect(stats.value).toBe(values[299]); // a gauge reads as its last value
  });

  it('fit the least-squares slope of a linear series and compare it with the time before the range', () => {
    const s = synthetic();
    const id = s.id('heap_used', {}, 'gauge', 'bytes');
    // 10 MB plus 2 KB a second, sampled 4 times a second.
    s.fill(600, [[id, (sec) => [0, 1, 2, 3].map((k) => 10e6 + 2048 * (sec + k / 4))]]);
    const whole = s.report().series[0]!;
    expect(whole.trend!.slopePerSecond).toBeCloseTo(2048, 6);
    expect(whole.trend!.slopePerHour).toBeCloseTo(2048 * 3600, 3);
    expect(whole.trend!.r2).toBeCloseTo(1, 9);
    expect(whole.change!.basis).toBe('first-quarter');
    // The second half against the first: means 10e6 + 2048 × (449.875) vs (149.875) seconds.
    const half = s.report({ from: T0 + 300_000, to: T0 + 600_000 }).series[0]!;
    expect(half.change).toMatchObject({ basis: 'before-range', baselineWindow: { from: T0, to: T0 + 300_000 } });
    const before = 10e6 + 2048 * (149.5 + 0.375);
    const after = 10e6 + 2048 * (449.5 + 0.375);
    expect(half.change!.baselineMean).toBeCloseTo(before, 3);
    expect(half.change!.currentMean).toBeCloseTo(after, 3);
    expect(half.change!.relative).toBeCloseTo((after - before) / before, 9);
  });

  it('give a counter its rate per second and merge series of a metric into one summary', () => {
    const s = synthetic();
    const a = s.id('throughput', { endpoint: '/a' });
    const b = s.id('throughput', { endpoint: '/b' });
    s.fill(120, [
      [a, () => [1, 1, 1]],
      [b, () => [1]],
    ]);
    const r = s.report({ from: T0, to: T0 + 120_000 });
    const byEndpoint = Object.fromEntries(r.series.map((x) => [x.tags.endpoint, x]));
    expect(byEndpoint['/a']).toMatchObject({ kind: 'counter', count: 360, sum: 360, rate: 3, value: 3 });
    expect(byEndpoint['/b']).toMatchObject({ rate: 1 });
    expect(r.metrics.find((m) => m.name === 'throughput')).toMatchObject({ series: 2, count: 480, rate: 4 });
  });

  it('compare a counter with the time before the range per second of it the monitor watched', () => {
    // Steady traffic, 10 requests a second, from the monitor's start at 18 s; a report from 20 s
    // to 40 s reads 2 s before it, not the 20 s it would have been: it changed by nothing.
    const s = synthetic();
    const id = s.id('throughput', { endpoint: '/a' });
    s.fill(22, [[id, () => Array.from({ length: 10 }, () => 1)]], 18);
    const watched = { from: T0 + 18_000, to: Infinity };
    const r = s.report({ from: T0 + 20_000, to: T0 + 40_000, watched });
    const stats = r.series[0]!;
    expect(stats).toMatchObject({ count: 200, rate: 10 });
    expect(stats.change).toMatchObject({ basis: 'before-range', baselineWindow: { from: T0 + 18_000, to: T0 + 20_000 }, currentWindow: { from: T0 + 20_000, to: T0 + 40_000 } });
    expect(stats.change!.baselineMean).toBeCloseTo(10, 9);
    expect(stats.change!.currentMean).toBeCloseTo(stats.rate, 9);
    expect(stats.change!.relative).toBeCloseTo(0, 9);
    // From inside a bucket: that bucket is before the range, and so is its second.
    const inside = s.report({ from: T0 + 20_500, to: T0 + 40_000, watched }).series[0]!;
    expect(inside.change).toMatchObject({ basis: 'before-range', baselineWindow: { from: T0 + 18_000, to: T0 + 21_000 } });
    expect(inside.change!.baselineMean).toBeCloseTo(10, 9);
    expect(inside.change!.relative).toBeCloseTo(0, 9);
  });

  it('say what changed from a baseline of 0: the two means, in the Markdown and the MCP answer, and +0% when both are 0', () => {
    // 90 s without an error, then 90 s at 10% errors on /api/items; /api/ok fails nothing throughout.
    const s = synthetic();
    const items = s.id('error_rate', { endpoint: '/api/items' });
    const ok = s.id('error_rate', { endpoint: '/api/ok' });
    const ten = (failed: number) => Array.from({ length: 10 }, (_, i) => (i < failed ? 1 : 0));
    s.fill(180, [
      [items, (sec) => ten(sec < 90 ? 0 : 1)],
      [ok, () => ten(0)],
    ]);
    const r = s.report({ from: T0 + 90_000, to: T0 + 180_000 });
    const byEndpoint = Object.fromEntries(r.series.map((x) => [x.tags.endpoint, x]));
    expect(byEndpoint['/api/items']!.change).toMatchObject({ basis: 'before-range', baselineMean: 0, relative: null });
    expect(byEndpoint['/api/items']!.change!.currentMean).toBeCloseTo(0.1, 9);
    expect(byEndpoint['/api/ok']!.change).toMatchObject({ baselineMean: 0, currentMean: 0, relative: 0 });
    expect(changeText(byEndpoint['/api/items']!)).toBe('0 → 0.1 (vs before)');
    expect(changeText(byEndpoint['/api/ok']!)).toBe('+0% (vs before)');
    const md = renderMarkdown(r);
    expect(md.slice(md.indexOf('## Series')).split('\n').find((l) => l.startsWith('| error_rate{endpoint="/api/items"}'))).toMatch(/ \| 0 → 0\.1 \(vs before\) \|$/);
    // The MCP answer keeps change null (no share of 0) beside the two means.
    const mcp = Object.fromEntries(reportOut(r, undefined).series!.map((x) => [(x.tags as Record<string, string>).endpoint, x]));
    expect(mcp['/api/items']).toMatchObject({ change: null, change_from: 0 });
    expect(mcp['/api/items']!.change_to).toBeCloseTo(0.1, 9);
    expect(mcp['/api/ok']).toMatchObject({ change: 0 });
    expect(mcp['/api/ok']).not.toHaveProperty('change_from');
  });

  it("compare a counter's first quarter with its last over whole closed buckets", () => {
    // Steady traffic, 10 requests a second for 20 s, and 6 more in the bucket still open at
    // 20.6 s: the quarters are 0–5 s and 15–20 s, 50 requests each; cut at 5.15 s and run on
    // to now, they read 60 and 40 requests per 5.15 s, down 33%.
    const s = synthetic();
    const id = s.id('throughput', { endpoint: '/a' });
    s.fill(20, [[id, () => Array.from({ length: 10 }, () => 1)]]);
    s.apply(T0 + 20_500, Array.from({ length: 6 }, () => [id, 1] as [number, number]));
    const stats = s.report({ now: T0 + 20_600 }).series[0]!;
    expect(stats.change).toMatchObject({ basis: 'first-quarter', baselineWindow: { from: T0, to: T0 + 5_000 }, currentWindow: { from: T0 + 15_000, to: T0 + 20_000 } });
    expect(stats.change!.baselineMean).toBeCloseTo(10, 9);
    expect(stats.change!.currentMean).toBeCloseTo(10, 9);
    // A single closed bucket is not compared with itself.
    const one = synthetic();
    const b = one.id('throughput', { endpoint: '/b' });
    one.fill(1, [[b, () => [1, 1]]]);
    expect(one.report().series[0]!.change).toBeNull();
  });

  it("take a metric's quantiles exactly when the raw rings hold every sample of its series", () => {
    // Two endpoints' response times and their errors, one in ten failed: every sample raw.
    const s = synthetic({ rawCapacity: 4096 });
    const a = s.id('response_time', { endpoint: '/a' });
    const b = s.id('response_time', { endpoint: '/b' });
    const ea = s.id('error_rate', { endpoint: '/a' }, 'distribution', 'ratio');
    const rand = seeded(5);
    const values: number[] = [];
    const record = () => {
      const v = Math.round(Math.exp(2 + 2 * rand()) * 1000) / 1000;
      values.push(v);
      return v;
    };
    s.fill(30, [
      [a, () => [record(), record()]],
      [b, () => record()],
      [ea, (sec) => Array.from({ length: 10 }, (_, i) => (i === sec % 10 ? 1 : 0))],
    ]);
    const r = s.report();
    const e = exact(values);
    expect(r.series.filter((x) => x.name === 'response_time').every((x) => x.quantileMethod === 'raw')).toBe(true);
    expect(r.metrics.find((m) => m.name === 'response_time')).toMatchObject({ count: 90, p50: e.median, p95: e.p95, p99: e.p99 });
    // A ratio of ones and zeros: its p95 and p99 are 1, not the sketch's 0.9961.
    expect(r.metrics.find((m) => m.name === 'error_rate')).toMatchObject({ p50: 0, p95: 1, p99: 1 });
    expect(r.score.parts.find((p) => p.name === 'latency')!.value).toBe(e.p95);
  });

  it('give rates per second of the time watched up to now when the range asked ends after it', () => {
    // One request a second for 30 s of a monitor still running, and a report asked to the end of
    // the hour: the hour still to come is not watched, and read 1/s as 30 per 3,600 s.
    const s = synthetic();
    const id = s.id('throughput', { endpoint: '/a' });
    s.fill(30, [[id, () => 1]]);
    const watched = { from: T0, to: Infinity };
    const now = T0 + 30_000;
    const byDefault = s.report({ from: T0, now, watched });
    const future = s.report({ from: T0, to: T0 + 3_600_000, now, watched });
    expect(future.window).toEqual({ from: T0, to: T0 + 3_600_000, durationMs: 3_600_000 });
    expect(future.series[0]).toMatchObject({ count: 30, rate: byDefault.series[0]!.rate });
    expect(future.series[0]!.rate).toBeCloseTo(1, 3);
    expect(future.metrics[0]).toMatchObject({ count: 30, rate: byDefault.metrics[0]!.rate });
    expect(future.notes).toContain(`The range asked ends after now (${new Date(T0 + 3_600_000).toISOString()}; now ${new Date(now + 1).toISOString()}): rates are per second of the time watched up to now.`);
    expect(byDefault.notes.join('\n')).not.toMatch(/ends after now/);
  });

  it('say the whole buckets a range between bucket boundaries covers, and give its rates per second of them', () => {
    // One request a second, in the bucket of each second: a rate of 1 over any whole buckets.
    const s = synthetic();
    const id = s.id('throughput', { endpoint: '/a' });
    s.fill(30, [[id, () => 1]]);
    // Buckets are read whole, by their start: from 5.5 s the first is the one of 6 s; to 14.5 s takes the one of 14 s, to 15 s.
    const cases = [
      { from: 5_500, to: 15_000, covered: { from: 6_000, to: 15_000 }, count: 9 },
      { from: 5_000, to: 14_500, covered: { from: 5_000, to: 15_000 }, count: 10 },
      { from: 5_500, to: 14_500, covered: { from: 6_000, to: 15_000 }, count: 9 },
    ];
    for (const c of cases) {
      const r = s.report({ from: T0 + c.from, to: T0 + c.to });
      const label = `${c.from}–${c.to}`;
      expect(r.window, label).toEqual({ from: T0 + c.covered.from, to: T0 + c.covered.to, durationMs: c.covered.to - c.covered.from });
      expect(r.series[0], label).toMatchObject({ count: c.count, rate: 1, window: { from: T0 + c.covered.from, to: T0 + c.covered.to } });
      expect(r.metrics[0], label).toMatchObject({ count: c.count, rate: 1 });
      expect(r.notes, label).toContain(
        `The range asked, ${new Date(T0 + c.from).toISOString()} – ${new Date(T0 + c.to).toISOString()}, is read in whole 1000 ms buckets, by their start: ${new Date(T0 + c.covered.from).toISOString()} – ${new Date(T0 + c.covered.to).toISOString()}.`,
      );
    }
    // On bucket boundaries the range is the one asked, and no note says otherwise.
    const aligned = s.report({ from: T0 + 5_000, to: T0 + 15_000 });
    expect(aligned.window).toEqual({ from: T0 + 5_000, to: T0 + 15_000, durationMs: 10_000 });
    expect(aligned.notes.join('\n')).not.toMatch(/whole 1000 ms buckets/);
  });

  it('explain an empty range and a range without samples instead of inventing numbers', () => {
    const s = synthetic();
    const id = s.id('queue_size', {}, 'gauge', 'count');
    expect(s.report().notes[0]).toMatch(/No series has any sample yet/);
    s.fill(10, [[id, () => 5]]);
    const empty = s.report({ from: T0 + 5000, to: T0 + 5000 });
    expect(empty.series).toEqual([]);
    expect(empty.notes[0]).toMatch(/The range is empty: from equals to/);
    const none = s.report({ from: T0 - 60_000, to: T0 - 30_000 });
    expect(none.series).toEqual([]);
    expect(none.notes[0]).toMatch(/No sample falls in the range/);
    expect(none.score.overall).toBeNull(); // nothing to score: not a perfect 100
  });

  it("cover by default from the series' first sample, not from the start of the minute its rollup holds", () => {
    // First recorded 40 s into a minute, for 70 s: the minute's rollup starts 40 s before the
    // first sample, and the report said it covered 110 s of a monitor up 70 s.
    const s = synthetic();
    const id = s.id('queue_size', {}, 'gauge', 'count');
    s.fill(70, [[id, () => 5]], 40);
    expect(s.reader.oldestBucket(id, 2)).toBe(T0);
    const r = s.report();
    expect(r.window.from).toBe(T0 + 40_000);
    expect(r.series[0]!.count).toBe(70);
  });

  it('cover by default the samples stamped after the report was asked, not a range that starts after its end', () => {
    // A sample is stamped when the collector drains it, and the report reads the store after it
    // was asked: asked straight after start(), every sample held was stamped after its now, and
    // the note read "No 1000 ms bucket starts in the range …:00.000Z – …:59.954Z".
    const s = synthetic();
    const id = s.id('queue_size', {}, 'gauge', 'count');
    s.fill(3, [[id, () => [5, 6]]]);
    const r = s.report({ now: T0 - 47 });
    expect(r.notes.filter((n) => /No \d+ ms bucket starts|No sample falls/.test(n))).toEqual([]);
    expect(r.window).toEqual({ from: T0, to: T0 + 2011, durationMs: 2011 }); // to the newest sample, stamped at T0 + 2010
    expect(r.series.map((x) => [x.name, x.count])).toEqual([['queue_size', 6]]);
    // A range asked for is read as asked.
    expect(s.report({ now: T0 - 47, to: T0 + 1000 }).series.map((x) => x.count)).toEqual([2]);
  });
});
