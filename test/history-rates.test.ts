/**
 * A history of rates over the whole range (the dashboard's throughput and error-rate charts):
 * resolution 'bucketed' never answers raw samples, `zeroFill` reads a counter's watched seconds
 * without a sample as 0 and leaves those not watched out, and order 'busiest' pages through
 * the series by their samples in the range. Raw samples are a counter's increments and a
 * ratio's 0s and 1s: charted as they were, 10 requests a second read "1/s" and an idle time
 * was a line at the last rate (a trial of 2026-12-06).
 */
import { describe, expect, it } from 'vitest';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { HistoryReader } from '../dist/src/monitor/history.js';
import type { Watched } from '../dist/src/analysis/watched.js';
import { T0, synthetic } from './synthetic.js';

/** 10 requests in each second of `seconds` (from T0), a tenth of a second apart. */
function tenPerSecond(s: ReturnType<typeof synthetic>, id: number, seconds: number[]): void {
  for (const sec of seconds) for (let i = 0; i < 10; i++) s.apply(T0 + sec * 1000 + i * 100 + 5, [[id, 1]]);
}

describe('a history of rates', () => {
  it("reads a counter at 10/s, idle, then 10/s as 10, 0, 10 a second, with 'bucketed' and zeroFill, where 'auto' gave its raw increments", () => {
    const s = synthetic({ bucketCapacity: 120, rawCapacity: 256 });
    const id = s.id('jobs', {}, 'counter');
    tenPerSecond(s, id, [0, 1, 2, 7, 8, 9]);
    const now = T0 + 10_000 + 5;
    s.apply(now, []);
    const watched: Watched = { from: T0, to: Infinity };
    const history = new HistoryReader(s.registry, s.reader, new SketchAccumulator(), () => watched);
    const ask = { metric: 'jobs', from: T0, to: T0 + 10_000, maxPoints: 1000 };
    // The raw ring holds every sample: 'auto' answers them, each an increment of 1.
    const raw = history.read(ask, now).series[0]!;
    expect(raw.resolution).toBe('raw');
    expect(new Set(raw.points.map((p) => p.value))).toEqual(new Set([1]));
    const rates = history.read({ ...ask, resolution: 'bucketed', zeroFill: true }, now).series[0]!;
    expect(rates.resolution).toBe('bucket');
    expect(rates.stepMs).toBe(1000);
    expect(rates.points.map((p) => [(p.t - T0) / 1000, p.value])).toEqual([
      [0, 10], [1, 10], [2, 10], [3, 0], [4, 0], [5, 0], [6, 0], [7, 10], [8, 10], [9, 10],
    ]);
    // Without zeroFill the idle seconds have no point, which a chart joined at the last rate.
    expect(history.read({ ...ask, resolution: 'bucketed' }, now).series[0]!.points.map((p) => p.value)).toEqual([10, 10, 10, 10, 10, 10]);
  });

  it('leaves the seconds the monitor did not watch without a point, and a series with no sample in the range without any', () => {
    const s = synthetic({ bucketCapacity: 120, rawCapacity: 256 });
    const id = s.id('jobs', {}, 'counter');
    s.id('quiet', {}, 'counter');
    tenPerSecond(s, id, [0, 1, 7, 8]);
    const now = T0 + 9_000 + 5;
    s.apply(now, []);
    // Stopped after second 2, started again at second 5.
    const watched: Watched = { from: T0 + 5000, to: Infinity, earlier: [{ from: T0, to: T0 + 3000 }] };
    const history = new HistoryReader(s.registry, s.reader, new SketchAccumulator(), () => watched);
    const rates = history.read({ metric: 'jobs', from: T0, to: T0 + 9_000, resolution: 'bucketed', zeroFill: true, maxPoints: 1000 }, now).series[0]!;
    expect(rates.points.map((p) => [(p.t - T0) / 1000, p.value])).toEqual([[0, 10], [1, 10], [2, 0], [5, 0], [6, 0], [7, 10], [8, 10]]);
  });

  it('keeps zeroFill within maxPoints: a point is then several seconds, its rate over them', () => {
    const s = synthetic({ bucketCapacity: 120, rawCapacity: 256 });
    const id = s.id('jobs', {}, 'counter');
    tenPerSecond(s, id, [0, 1]);
    const now = T0 + 60_000 + 5;
    s.apply(now, []);
    const history = new HistoryReader(s.registry, s.reader, new SketchAccumulator(), () => ({ from: T0, to: Infinity }));
    const rates = history.read({ metric: 'jobs', from: T0, to: T0 + 60_000, resolution: 'bucketed', zeroFill: true, maxPoints: 10 }, now).series[0]!;
    expect(rates.stepMs).toBe(6000);
    expect(rates.points.map((p) => p.value)).toEqual([20 / 6, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it("orders the series busiest first with order 'busiest': a page of 20 holds the busy one registered last", () => {
    const s = synthetic({ bucketCapacity: 120, rawCapacity: 256 });
    const ids = Array.from({ length: 25 }, (_, i) => s.id('hits', { endpoint: `/e${i}` }, 'counter'));
    ids.forEach((id, i) => s.apply(T0 + i * 10, [[id, 1]]));
    const busy = s.id('hits', { endpoint: '/busy' }, 'counter');
    tenPerSecond(s, busy, [1, 2]);
    const now = T0 + 3_000 + 5;
    s.apply(now, []);
    const history = new HistoryReader(s.registry, s.reader, new SketchAccumulator(), () => ({ from: T0, to: Infinity }));
    const page = (order?: 'id' | 'busiest', from = T0) => history.read({ metric: 'hits', from, limit: 20, ...(order ? { order } : {}) }, now);
    expect(page().series.map((x) => x.tags.endpoint)).not.toContain('/busy');
    const busiest = page('busiest');
    expect(busiest.totalSeries).toBe(26);
    expect(busiest.series.map((x) => x.tags.endpoint)).toEqual(['/busy', ...Array.from({ length: 19 }, (_, i) => `/e${i}`)]);
    // By the samples in the range: from second 1 on, the 25 of one sample each have none.
    expect(page('busiest', T0 + 1000).series[0]!.tags.endpoint).toBe('/busy');
    expect(page('busiest', T0 + 1000).series.slice(1).every((x) => x.points.length === 0)).toBe(true);
  });

  it('refuses an order or a zeroFill it does not know, naming the field', () => {
    const s = synthetic({ bucketCapacity: 120, rawCapacity: 256 });
    s.id('jobs', {}, 'counter');
    const history = new HistoryReader(s.registry, s.reader, new SketchAccumulator(), () => ({ from: T0, to: Infinity }));
    expect(() => history.read({ metric: 'jobs', order: 'loudest' as 'id' }, T0)).toThrow(expect.objectContaining({ field: 'order', message: expect.stringMatching(/order must be one of id, busiest/) }));
    expect(() => history.read({ metric: 'jobs', zeroFill: 'yes' as unknown as boolean }, T0)).toThrow(expect.objectContaining({ field: 'zeroFill', message: expect.stringMatching(/zeroFill must be true or false/) }));
    expect(() => history.read({ metric: 'jobs', resolution: 'rates' as 'auto' }, T0)).toThrow(expect.objectContaining({ field: 'resolution', message: expect.stringMatching(/bucketed/) }));
  });
});
