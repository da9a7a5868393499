/**
 * Baselines learned from the history the store holds: per series the mean and stddev of
 * its samples, the median and MAD of its bucket values (the robust centre and spread that
 * anomalies are measured against), p50 and p99, and, once the history spans a week, the
 * same by hour of the week (UTC), so that Monday 09:00 is compared with other Mondays 09:00.
 */
import type { SeriesInfo } from '../engine/registry.js';
import type { SketchAccumulator } from '../engine/sketch.js';
import type { StoreReader } from '../engine/store/reader.js';
import { robustBaseline } from '../analysis/anomaly.js';
import { oldestHeld, seriesStats, type Pieces } from '../analysis/stats.js';
import type { Baseline, HourOfWeekBaseline } from './types.js';

export const WEEK_MS = 7 * 24 * 3_600_000;
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** 0 = Monday 00:00-01:00 UTC … 167 = Sunday 23:00-24:00 UTC (1970-01-01 was a Thursday). */
export function hourOfWeek(t: number): number {
  const day = Math.floor(t / DAY_MS);
  const weekday = (((day + 3) % 7) + 7) % 7;
  return weekday * 24 + Math.floor((t - day * DAY_MS) / HOUR_MS);
}

export function hourOfWeekBaselines(reader: StoreReader, pieces: Pieces, acc: SketchAccumulator): HourOfWeekBaseline[] {
  const slots = new Map<number, number[]>();
  for (let i = 0; i < pieces.n; i++) {
    if (pieces.count[i] === 0) continue;
    const h = hourOfWeek(pieces.start[i]!);
    const list = slots.get(h) ?? [];
    list.push(i);
    slots.set(h, list);
  }
  const out: HourOfWeekBaseline[] = [];
  for (const [hour, list] of [...slots].sort((a, b) => a[0] - b[0])) {
    acc.reset();
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const i of list) {
      count += pieces.count[i]!;
      sum += pieces.sum[i]!;
      min = Math.min(min, pieces.min[i]!);
      max = Math.max(max, pieces.max[i]!);
      reader.addSketch(pieces.tier[i] as 1 | 2, pieces.record(i), acc);
    }
    const [p50, p99] = acc.total > 0 ? acc.quantiles([0.5, 0.99]) : [Number.NaN, Number.NaN];
    const clamp = (q: number): number => Math.min(max, Math.max(min, q));
    // A gauge's or counter's minutes stored before a restart keep no sketch: say what the quantiles stand for.
    out.push({ hour, count, mean: sum / count, p50: clamp(p50!), p99: clamp(p99!), ...(acc.total < count ? { quantileCount: acc.total } : {}) });
  }
  return out;
}

/** The baseline of one series over everything it holds up to `now`, or null without data. */
export function seriesBaseline(reader: StoreReader, info: SeriesInfo, acc: SketchAccumulator, now: number, scratch?: Pieces): Baseline | null {
  const oldest = oldestHeld(reader, info.id);
  if (!Number.isFinite(oldest)) return null;
  // Ranges are answered by bucket start: begin at the bucket that holds the oldest sample.
  const from = Math.floor(oldest / reader.layout.intervalMs) * reader.layout.intervalMs;
  const to = now + 1;
  const result = seriesStats({ reader, acc, from, to, ...(scratch ? { pieces: scratch } : {}) }, info);
  if (!result) return null;
  const { stats, pieces } = result;
  const bucketValues = new Float64Array(pieces.n);
  let n = 0;
  for (let i = 0; i < pieces.n; i++) {
    if (pieces.tier[i] !== 1) continue;
    const v = pieces.value(info.kind, i);
    if (Number.isFinite(v)) bucketValues[n++] = v;
  }
  const robust = n > 0 ? robustBaseline(bucketValues, n) : undefined;
  const spansWeek = pieces.n > 0 && to - pieces.start[0]! >= WEEK_MS;
  return {
    seriesId: info.id,
    metric: info.name,
    tags: info.tags,
    kind: info.kind,
    unit: info.unit,
    window: { from, to },
    count: stats.count,
    mean: stats.mean,
    stddev: stats.stddev,
    stddevMethod: stats.stddevMethod,
    bucketMedian: robust?.median ?? Number.NaN,
    bucketMad: robust?.mad ?? Number.NaN,
    buckets: n,
    p50: stats.median,
    p99: stats.p99,
    // After a restart a gauge's p99 of this process's samples alone read as below its mean of all of them.
    ...(stats.quantileCount !== undefined ? { quantileCount: stats.quantileCount } : {}),
    hourOfWeek: spansWeek ? hourOfWeekBaselines(reader, pieces, acc) : null,
  };
}
