/**
 * Per-series statistics over a time range, read from the store in place: count, min, max,
 * mean, quantiles, stddev, rate, least-squares trend and the change against a baseline.
 *
 * The store keeps, per bucket, count, sum, min, max, last and a sketch, plus a ring of recent
 * raw samples; it keeps no sum of squares. So each statistic says where it came from:
 * quantiles and stddev are exact when the raw ring still holds every sample of the range,
 * stddev is exact when every bucket holds one sample (a gauge sampled once an interval),
 * and otherwise both come from the merged sketch (see SpreadMethod in types.ts); where the
 * sketch stands for fewer samples than the range's (quantileCount), stddev is the floor the
 * bucket means give.
 *
 * Pure functions of (reader, series, range): the report pool calls them on its own thread.
 */
import { KEY_SHIFT, SIGN_KEY, rankOf, valueOf, type SketchAccumulator } from '../engine/sketch.js';
import type { MetricKind } from '../engine/metrics.js';
import type { SeriesInfo } from '../engine/registry.js';
import type { StoreReader } from '../engine/store/reader.js';
import { heldFrom, heldTo } from '../engine/store/held-from.js';
import { ALWAYS_WATCHED, coveredSeconds, watchedPart, type Watched } from './watched.js';
import { Pieces, readPieces } from './pieces.js';
import type { BaselineChange, SeriesStats, SpreadMethod, TimeWindow, Trend } from './types.js';

const QS = [0.5, 0.9, 0.95, 0.99] as const;

/**
 * The shortest span of data a trend is given over. A slope fitted to ten seconds and read
 * per hour said heap_total fell 4.9 GB an hour and cpu_usage 7,812 % an hour.
 */
export const TREND_MIN_SPAN_MS = 5 * 60_000;

/** The trend of bucket values (t, v) that span `spanMs`, or null with the reason. */
export function trendOf(t: Float64Array, v: Float64Array, spanMs: number): { trend: Trend | null; note: string | null } {
  if (spanMs < TREND_MIN_SPAN_MS) return { trend: null, note: `the data spans ${Math.round(spanMs / 1000)} s; a trend needs at least ${TREND_MIN_SPAN_MS / 60_000} min` };
  const trend = leastSquares(t, v);
  return trend ? { trend, note: null } : { trend: null, note: 'fewer than 3 buckets with a value, or all at one time' };
}

/**
 * Time of the oldest data a series still holds (rollups, buckets or raw; stored rows), or NaN.
 * The memory's own rollup starts at its minute, and the series' first sample may come later in
 * it: from there, a report's default range said it covered 110 s of a monitor up 70 s.
 */
export function oldestHeld(reader: StoreReader, id: number): number {
  let rollup = reader.oldestBucket(id, 2);
  const first = reader.snapshot(id).firstTs;
  if (rollup !== reader.oldestStored(id) && Number.isFinite(first) && first > 0) rollup = Math.max(rollup, first);
  let oldest = Number.NaN;
  for (const t of [rollup, reader.oldestBucket(id, 1), reader.rawOldest(id)]) {
    if (Number.isFinite(t) && t > 0 && !(t >= oldest)) oldest = t;
  }
  return oldest;
}

const boundScratch = new Float64Array(1);
const boundWords = new Uint32Array(boundScratch.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

function fromHighWord(hi: number): number {
  boundWords[HI] = hi >>> 0;
  boundWords[1 - HI] = 0;
  return boundScratch[0]!;
}

/** Width of a sketch key's bin (upper bound minus lower bound of its magnitude). */
export function binWidth(key: number): number {
  const magnitude = key & (SIGN_KEY - 1);
  const lo = fromHighWord(magnitude << KEY_SHIFT);
  const hi = fromHighWord((magnitude + 1) << KEY_SHIFT);
  return Number.isFinite(hi) ? hi - lo : 0;
}

export { Pieces, readPieces, type Piece } from './pieces.js';

/**
 * A bucket's reading: the mean of its samples for gauges and distributions, the rate per
 * second for counters (whose samples are increments).
 */
export function pieceValue(kind: MetricKind, p: { count: number; sum: number; widthMs: number }): number {
  if (kind === 'counter') return p.sum / (p.widthMs / 1000);
  return p.count > 0 ? p.sum / p.count : Number.NaN;
}

/** The kind's mean over an aggregate: sum per second for counters, sum per sample otherwise. */
export function kindMean(kind: MetricKind, count: number, sum: number, seconds: number): number {
  if (kind === 'counter') return seconds > 0 ? sum / seconds : Number.NaN;
  return count > 0 ? sum / count : Number.NaN;
}

/** Least-squares line through (t, v): slope per second and r². Null under 3 points. */
export function leastSquares(t: ArrayLike<number>, v: ArrayLike<number>): Trend | null {
  const n = t.length;
  if (n < 3) return null;
  const t0 = t[0]!;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += (t[i]! - t0) / 1000;
    sy += v[i]!;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (t[i]! - t0) / 1000 - mx;
    const dy = v[i]! - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return null;
  const slope = sxy / sxx;
  const r2 = syy === 0 ? 1 : Math.min(1, (sxy * sxy) / (sxx * syy));
  return { slopePerSecond: slope, slopePerHour: slope * 3600, r2, points: n };
}

/** The order statistic of rank rankOf(q, n) in sorted values (the sketch's rank rule). */
export function rankQuantile(sorted: ArrayLike<number>, q: number): number {
  return sorted[rankOf(q, sorted.length)]!;
}

function exactStddev(values: ArrayLike<number>, mean: number): number {
  let ss = 0;
  for (let i = 0; i < values.length; i++) ss += (values[i]! - mean) ** 2;
  return Math.sqrt(ss / values.length);
}

/**
 * Stddev from the merged sketch: second moment of the bins (read back at their values,
 * clamped to the exact min and max) around the exact mean, less Sheppard's correction
 * (a bin of width w adds w²/12 of variance), floored at the exact spread between bucket
 * means, which the total spread can never be below.
 */
export function sketchStddev(acc: SketchAccumulator, mean: number, min: number, max: number, betweenVariance: number): number {
  if (acc.total === 0) return Math.sqrt(betweenVariance);
  let ss = 0;
  let sheppard = 0;
  acc.forEachBin((key, c) => {
    let v = valueOf(key);
    if (v < min) v = min;
    else if (v > max) v = max;
    ss += c * (v - mean) ** 2;
    const w = binWidth(key);
    sheppard += (c * w * w) / 12;
  });
  const variance = Math.max((ss - sheppard) / acc.total, betweenVariance, 0);
  return Math.sqrt(variance);
}

export interface SeriesStatsContext {
  reader: StoreReader;
  acc: SketchAccumulator;
  from: number;
  to: number;
  /**
   * The span the buckets read cover, which rates are per second of: buckets are read whole,
   * by their start, so a report's range between bucket boundaries covers another (default:
   * [from, to)).
   */
  span?: { from: number; to: number };
  /** Reused columns (one per thread); a fresh instance when not given. */
  pieces?: Pieces;
  /** When the monitor watched (rates divide by the part of the range it covers); default always. */
  watched?: Watched;
}

/**
 * Statistics of one series over [from, to), or null when it has no sample there. Leaves
 * the series' merged sketch of the range in ctx.acc (for per-metric merging), and returns
 * the closed pieces it read (for anomaly detection and charts) and, when the raw ring held
 * every sample of the range, those samples sorted (for a metric's exact quantiles).
 */
export function seriesStats(ctx: SeriesStatsContext, info: SeriesInfo): { stats: SeriesStats; pieces: Pieces; sorted?: Float64Array } | null {
  const { reader, acc, from, to } = ctx;
  const id = info.id;
  const watched = ctx.watched ?? ALWAYS_WATCHED;
  // A range longer than the store holds of the series (past the bucket ring, whose loss of the
  // range's first, partial minute left it up to a tenth low over 10 minutes, or past the
  // rollups and the stored minutes) is summarised from where what is held begins, and its
  // rate is per second of that part: over the whole range, a steady 20/s read 18.2 over
  // 330 s and 5.0 over a day at 10 minutes of rollups.
  // A range that ends in the past, in minutes the bucket ring no longer holds, likewise ends
  // where what is held of it does (heldTo): its last, partial minute is held whole or not at
  // all, and over the seconds up to `to` a steady 20/s read 17.1 over 600 s to 330 s ago.
  const held = heldFrom(reader, id, from);
  const end = heldTo(reader, id, held, to);
  const span = ctx.span ?? { from, to };
  const read = held > from || end < to ? { from: Math.max(span.from, held), to: end < to ? end : span.to } : span;
  if (!(read.from < read.to)) return null;
  const agg = reader.aggregate(id, held, end, acc);
  if (agg.count === 0) return null;
  const kind = info.kind;
  const seconds = coveredSeconds(read.from, read.to, watched) ?? Number.NaN;
  const mean = agg.sum / agg.count;
  const pieces = readPieces(reader, id, from, end, ctx.pieces);

  // Exact when the raw ring holds every sample of the range.
  let quantiles: number[] | undefined;
  let sorted: Float64Array | undefined;
  let stddev = Number.NaN;
  let stddevMethod: SpreadMethod = 'sketch';
  const L = reader.layout;
  if (agg.count <= L.rawCap) {
    const raw = reader.raw(id, from, end);
    if (raw.v.length === agg.count) {
      const all = Float64Array.from(raw.v).sort();
      sorted = all;
      quantiles = QS.map((q) => rankQuantile(all, q));
      stddev = exactStddev(all, mean);
      stddevMethod = 'raw';
    }
  }
  if (stddevMethod !== 'raw') {
    let closedCount = 0;
    let single = true;
    let between = 0;
    const { count, sum } = pieces;
    for (let i = 0; i < pieces.n; i++) {
      const c = count[i]!;
      closedCount += c;
      if (c !== 1) single = false;
      if (c > 0) between += c * (sum[i]! / c - mean) ** 2;
    }
    if (single && closedCount === agg.count) {
      stddev = exactStddev(sum.subarray(0, pieces.n), mean);
      stddevMethod = 'buckets';
    } else if (agg.unsketched > 0) {
      // The sketch stands for some of the samples or none (a gauge's or counter's minutes
      // stored before a restart keep none): its bins around the mean of all of them said
      // 1.484 for 1, 2, 3, 4 from the one sample since the restart. The spread between the
      // pieces' means is all that is known of the rest: a floor, named as one.
      stddev = Math.sqrt(closedCount > 0 ? between / agg.count : 0);
      stddevMethod = 'bucket-means';
    } else {
      stddev = sketchStddev(acc, mean, agg.min, agg.max, closedCount > 0 ? between / agg.count : 0);
      stddevMethod = 'sketch';
    }
  }
  const clampQ = (q: number): number => (q < agg.min ? agg.min : q > agg.max ? agg.max : q);
  // A sketch that stands for no sample has no quantiles: NaN (null in JSON), quantileCount 0.
  const qs = quantiles ?? (acc.total > 0 ? acc.quantiles(QS).map(clampQ) : QS.map(() => Number.NaN));

  const t = new Float64Array(pieces.n);
  const v = new Float64Array(pieces.n);
  let m = 0;
  for (let i = 0; i < pieces.n; i++) {
    const value = pieces.value(kind, i);
    if (Number.isFinite(value)) {
      t[m] = pieces.start[i]!;
      v[m++] = value;
    }
  }
  const rate = kind === 'counter' ? agg.sum / seconds : agg.count / seconds;
  // The span of the fitted buckets: from the first one's start to the last one's end.
  const trend = m > 0 ? trendOf(t.subarray(0, m), v.subarray(0, m), t[m - 1]! + pieces.width[pieces.n - 1]! - t[0]!) : { trend: null, note: 'no bucket with a value' };
  const stats: SeriesStats = {
    id,
    name: info.name,
    tags: info.tags,
    kind,
    unit: info.unit,
    // The span its buckets cover, which its rate is of, as the report's window says, or the
    // part of it the store holds of the series.
    window: read,
    ...(read !== span ? { coveredSeconds: Math.round(seconds * 10) / 10 } : {}),
    count: agg.count,
    sum: agg.sum,
    min: agg.min,
    max: agg.max,
    mean,
    median: qs[0]!,
    p90: qs[1]!,
    p95: qs[2]!,
    p99: qs[3]!,
    stddev,
    stddevMethod,
    quantileMethod: quantiles ? 'raw' : 'sketch',
    ...(!quantiles && agg.unsketched > 0 ? { quantileCount: agg.count - agg.unsketched } : {}),
    rate,
    value: kind === 'gauge' ? agg.last : kind === 'counter' ? rate : mean,
    trend: trend.trend,
    trendNote: trend.note,
    change: null,
  };
  stats.change = baselineChange(reader, id, kind, from, to, pieces, agg, watched, { from: span.from, to: read.to }, read.from);
  return { stats, pieces, ...(sorted ? { sorted } : {}) };
}

/**
 * The change of a series' mean against its baseline: the data held before the range (as
 * long as the range at most), or, when the range starts at the oldest data, the range's
 * first quarter against its last quarter. A counter's means are rates, per second of the part
 * of each window the monitor watched, as every rate is (analysis/watched.ts): per second of
 * the whole window before the range, a monitor up 1 s of the 23 s before it read that second's
 * requests as a rate 23 times too low, and the service's steady traffic as up 3850%.
 */
export function baselineChange(reader: StoreReader, id: number, kind: MetricKind, from: number, to: number, pieces: Pieces, inRange?: { count: number; sum: number }, watched: Watched = ALWAYS_WATCHED, span: TimeWindow = { from, to }, currentFrom = span.from): BaselineChange | null {
  const length = to - from;
  if (!(length > 0) || !Number.isFinite(length)) return null;
  // Each window from where the store holds the series (heldFrom; `currentFrom`, where the
  // range's part held begins): the window before the range past the bucket ring, its first
  // minute gone, read a steady 20/s there as 14.5/s, and the range's 20/s as up a third.
  const baseFrom = heldFrom(reader, id, from - length);
  const before = reader.aggregate(id, baseFrom, currentFrom > span.from ? currentFrom : from);
  // The buckets read before the range cover from the first one's start to the range's first one.
  const interval = reader.layout.intervalMs;
  let baselinePart = watchedPart(Math.max(Math.ceil((from - length) / interval) * interval, baseFrom), currentFrom, watched);
  let currentPart = watchedPart(currentFrom, span.to, watched);
  let basis: BaselineChange['basis'] = 'before-range';
  let base = before;
  let current: { count: number; sum: number } | undefined = inRange;
  if (before.count === 0) {
    // Nothing before the range: compare its first and last quarters, from the closed pieces.
    // The quarters are whole buckets, and end where the closed ones do (the open bucket is in
    // no piece): a counter's requests per second of quarters cut inside buckets, the last one
    // running on past them to now, read steady traffic over a 20 s report as down 57%.
    if (pieces.n === 0) return null;
    const first = pieces.start[0]!;
    const closedEnd = Math.min(to, Math.floor(span.to / interval) * interval);
    const quarter = (closedEnd - first) / 4;
    const firstQuarter = { from: first, to: Math.ceil((first + quarter) / interval) * interval };
    const lastQuarter = { from: Math.floor((closedEnd - quarter) / interval) * interval, to: closedEnd };
    if (!(quarter > 0) || firstQuarter.to > lastQuarter.from) return null;
    basis = 'first-quarter';
    const b = { count: 0, sum: 0 };
    const c = { count: 0, sum: 0 };
    // A piece is taken whole (a minute's rollup before the bucket ring, or a stored row): each
    // quarter's seconds are those of the pieces it took. The first runs on to the end of its
    // last piece; the last takes the pieces wholly inside it, from past the end of one that
    // began before it to the start of one that runs past the range's closed end. Over the
    // quarters' seconds alone, a first quarter of minute rollups read a steady 20/s as 24 and
    // 26.7, and a last quarter of a range ending before the ring as 40 and 80.
    let baseTo = firstQuarter.to;
    let currentFrom = lastQuarter.from;
    let currentTo = lastQuarter.to;
    for (let i = 0; i < pieces.n; i++) {
      const at = pieces.start[i]!;
      const end = at + pieces.width[i]!;
      if (at < lastQuarter.from && end > currentFrom) currentFrom = Math.min(end, lastQuarter.to);
      if (at < lastQuarter.to && end > lastQuarter.to) currentTo = Math.min(currentTo, Math.max(at, lastQuarter.from));
      if (at < firstQuarter.to && end > baseTo) baseTo = end;
    }
    for (let i = 0; i < pieces.n; i++) {
      const at = pieces.start[i]!;
      const into = at < firstQuarter.to ? b : at >= currentFrom && at + pieces.width[i]! <= currentTo ? c : undefined;
      if (!into) continue;
      into.count += pieces.count[i]!;
      into.sum += pieces.sum[i]!;
    }
    base = { ...before, count: b.count, sum: b.sum };
    current = c;
    if (base.count === 0 || current.count === 0 || baseTo > currentFrom || !(currentTo > currentFrom)) return null;
    baselinePart = watchedPart(firstQuarter.from, baseTo, watched);
    currentPart = watchedPart(currentFrom, currentTo, watched);
  }
  current ??= reader.aggregate(id, from, to);
  // Per second watched: a window spanning a restart leaves out the time between the processes.
  const baselineMean = kindMean(kind, base.count, base.sum, baselinePart.seconds);
  const currentMean = kindMean(kind, current.count, current.sum, currentPart.seconds);
  const baselineWindow = { from: baselinePart.from, to: baselinePart.to };
  const currentWindow = { from: currentPart.from, to: currentPart.to };
  if (!Number.isFinite(baselineMean) || !Number.isFinite(currentMean)) return null;
  return {
    baselineMean,
    currentMean,
    // From 0 no share can be taken: null, and the report says the two means (changeText). Both
    // 0 is no change: 0, not the null that read as "no data" beside every all-zero series.
    relative: baselineMean !== 0 ? (currentMean - baselineMean) / Math.abs(baselineMean) : currentMean === 0 ? 0 : null,
    baselineWindow,
    currentWindow,
    basis,
  };
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: about 15 digits). */
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The continued fraction of the regularised incomplete beta function (modified Lentz). */
function betaFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b), 0 ≤ x ≤ 1. */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(x, a, b)) / a : 1 - (front * betaFraction(1 - x, b, a)) / b;
}

/** P(|T| ≥ |t|) for Student's t with `df` degrees of freedom (fractional, as Welch's are): the two-sided p-value. */
export function studentTwoSidedP(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return Number.NaN;
  if (!Number.isFinite(t)) return 0;
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** The t that Student's t with `df` degrees of freedom exceeds in absolute value with probability 1 − level (1.96 at 0.95 for a large df). */
export function studentTCritical(level: number, df: number): number {
  if (!(df > 0) || !(level > 0 && level < 1)) return Number.NaN;
  let lo = 0;
  let hi = 1;
  while (studentTwoSidedP(hi, df) > 1 - level) hi *= 2;
  for (let i = 0; i < 100 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTwoSidedP(mid, df) > 1 - level) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** A mean with its standard error and the degrees of freedom of that error (n − 1 for n samples). */
export interface MeanEstimate {
  mean: number;
  se: number;
  df: number;
}

/** Welch's comparison of two means: `after − before`, the half-width of its confidence interval at `level`, and the two-sided p-value. */
export interface WelchResult {
  difference: number;
  /** Half-width of the `level` confidence interval of the difference (NaN when a spread is unknown). */
  margin: number;
  /** Welch–Satterthwaite degrees of freedom. */
  df: number;
  /** Two-sided p-value of "no difference" (NaN when a spread is unknown). */
  p: number;
}

/**
 * Welch's t-test of two means with unequal variances. A spread of 0 on both sides (every
 * sample alike) makes any difference certain and none, none; an unknown one (NaN, or no
 * degrees of freedom) leaves p and margin NaN: nothing can be said beyond the noise.
 */
export function welchTest(before: MeanEstimate, after: MeanEstimate, level = 0.95): WelchResult {
  const difference = after.mean - before.mean;
  const v1 = before.se * before.se;
  const v2 = after.se * after.se;
  if (!Number.isFinite(v1) || !Number.isFinite(v2) || !(before.df > 0) || !(after.df > 0) || !Number.isFinite(difference)) {
    return { difference, margin: Number.NaN, df: Number.NaN, p: Number.NaN };
  }
  const v = v1 + v2;
  if (v === 0) return { difference, margin: 0, df: before.df + after.df, p: difference === 0 ? 1 : 0 };
  const df = (v * v) / ((v1 * v1) / before.df + (v2 * v2) / after.df);
  const se = Math.sqrt(v);
  return { difference, margin: studentTCritical(level, df) * se, df, p: studentTwoSidedP(difference / se, df) };
}
