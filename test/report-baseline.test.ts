import { describe, expect, it } from 'vitest';
import { WEEK_MS, hourOfWeek, seriesBaseline } from '../dist/src/reports/baseline.js';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { T0, synthetic } from './synthetic.js';

describe('baselines', () => {
  it('number the hours of the week from Monday 00:00 UTC', () => {
    expect(hourOfWeek(Date.UTC(1970, 0, 5, 0, 30))).toBe(0); // a Monday
    expect(hourOfWeek(Date.UTC(1970, 0, 1, 0))).toBe(72); // a Thursday
    expect(hourOfWeek(Date.UTC(2026, 10, 29, 23, 59))).toBe(167); // a Sunday
  });

  it('learn mean, spread and quantiles, and by hour of the week once a week of data is held', () => {
    // One-minute buckets for eight days; the value is the hour of the week plus a ripple.
    const s = synthetic({ intervalMs: 60_000, rollupMs: 60_000, bucketCapacity: 12_000, rollupCapacity: 12_000, rawCapacity: 16 });
    const id = s.id('active_connections');
    const minutes = (8 * WEEK_MS) / 7 / 60_000;
    for (let m = 0; m < minutes; m++) {
      const t = T0 + m * 60_000 + 10;
      s.apply(t, [
        [id, hourOfWeek(t) + 0.25],
        [id, hourOfWeek(t) - 0.25],
      ]);
    }
    s.apply(T0 + minutes * 60_000 + 10, []);
    const now = T0 + minutes * 60_000 + 10;
    const b = seriesBaseline(s.reader, s.registry.info(id), new SketchAccumulator(), now)!;
    expect(b).toMatchObject({ metric: 'active_connections', kind: 'gauge', count: 2 * minutes, buckets: minutes });
    expect(b.hourOfWeek).toHaveLength(168);
    for (const h of b.hourOfWeek!) {
      expect(h.mean).toBeCloseTo(h.hour, 9);
      expect(Math.abs(h.p50 - (h.hour - 0.25))).toBeLessThanOrEqual(Math.max(0.25, h.hour * 0.008) + 1e-9);
    }
    // The whole-history figures: the median and MAD of the bucket values, exactly.
    const hours = Array.from({ length: minutes }, (_, m) => hourOfWeek(T0 + m * 60_000 + 10));
    const median = (xs: number[]): number => {
      const v = [...xs].sort((a, b) => a - b);
      return v.length % 2 ? v[v.length >> 1]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
    };
    const med = median(hours);
    expect(b.bucketMedian).toBe(med);
    expect(b.bucketMad).toBe(median(hours.map((h) => Math.abs(h - med))));
    expect(b.mean).toBeCloseTo(hours.reduce((a, h) => a + h, 0) / minutes, 9);
    expect(b.stddevMethod).toBe('sketch');

    // Less than a week held: no hour-of-week baseline yet.
    const short = synthetic({ intervalMs: 60_000, rollupMs: 60_000, bucketCapacity: 12_000, rollupCapacity: 12_000 });
    const sid = short.id('active_connections');
    for (let m = 0; m < 600; m++) short.apply(T0 + m * 60_000 + 10, [[sid, 5]]);
    expect(seriesBaseline(short.reader, short.registry.info(sid), new SketchAccumulator(), T0 + 600 * 60_000)!.hourOfWeek).toBeNull();
  });
});
