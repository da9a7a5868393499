/**
 * Anomalies as robust deviations: a bucket's value is scored against the median and the MAD
 * (median absolute deviation) of the buckets before it, z = (x - median) / (1.4826 MAD), the
 * scale at which z is a standard score for normal data while one wild bucket cannot move
 * the baseline. A run of deviating buckets is an anomaly when it is sustained (several
 * buckets in a row) or, shorter, when it is extreme (a spike).
 *
 * The baseline trails the bucket being scored and leaves out buckets already found
 * anomalous, so a step is reported from where it starts instead of being absorbed; a run
 * longer than the baseline window is taken as the new level (the run ends, its buckets
 * become the baseline).
 *
 * Also the `anomaly` aggregation for alert rules: anomalyScore() scores the recent window of
 * one series against the buckets before it, from the store in place.
 */
import type { MetricKind, MetricUnit } from '../engine/metrics.js';
import type { StoreReader } from '../engine/store/reader.js';
import { kindMean, pieceValue } from './stats.js';

/** Thresholds of anomaly detection, in one place. */
export const ANOMALY_RULES = {
  /** |z| from which a bucket deviates (Iglewicz and Hoaglin's 3.5). */
  threshold: 3.5,
  /** Consecutive deviating buckets that make a sustained anomaly. */
  minBuckets: 3,
  /** A shorter run is an anomaly (a spike) when its peak |z| reaches this. */
  spikeScore: 10,
  /**
   * The largest |score| given. Against a baseline whose spread is tiny beside a change (a
   * level that held still, a rate of zeros) the change's z is in the thousands or billions
   * (0.5 over zeros: 5e11), which says only "off the scale": uncapped it outranked every
   * deviation of a series that moves and read as the anomaly of the century. A capped score
   * says it was capped (`capped`), and the change's size how large it is.
   */
  maxScore: 100,
  /** Trailing buckets the median and MAD come from. */
  baselineBuckets: 60,
  /** With fewer baseline buckets than this, no verdict. */
  minBaseline: 20,
  /** The baseline is recomputed every this many buckets (and when a long run is adopted; while there is none, at each bucket). */
  hop: 30,
} as const;

export type AnomalyRules = { [K in keyof typeof ANOMALY_RULES]: number };

/** The least scale, as a share of the baseline's median: a deviation under 0.35% of the level is never anomalous. */
const MIN_RELATIVE_SCALE = 1e-3;

/** Units whose counters count events: their per-bucket counts vary as a Poisson count does. */
const EVENT_UNITS: ReadonlySet<MetricUnit> = new Set(['requests', 'samples', 'count']);

/** The least scale of a machine-wide share in percent (0-100): a change under 1.75 points is never anomalous, a spike needs 5. */
const PERCENT_FLOOR = 0.5;

/**
 * The same for a gauge of a share of time, 0-1 (event_loop_utilization, pool_utilization): half a
 * point of it. An idle service's event_loop_utilization moving 0.0015 → 0.011, a few ms of work
 * in a second, was a spike at z = 45 beside its MAD of 0.00015, ten of them in 5 minutes.
 */
const SHARE_FLOOR = PERCENT_FLOOR / 100;

/**
 * The least scale of a time in ms (a latency, event_loop_lag, gc_pause, a pool's wait): one
 * millisecond. Node's timers count whole milliseconds (libuv's loop clock and the timers'
 * due times are in ms), so the loop cannot be late, nor wait, by less than one as far as
 * anything the service schedules can tell: event_loop_lag, a timer's lateness, moves by a ms
 * on an idle loop whatever its MAD says, and a GC pause or a request under a ms moving by
 * fractions of one is below what the loop resolves. A trial's healthy service had 70
 * anomalies in 5 minutes, most of them event_loop_lag 0.8 → 6 ms and minor gc_pause 0.16 →
 * 0.3 ms at the cap of 100 beside MADs of hundredths of a ms. With it a one-bucket spike needs
 * 10 ms over the level and a sustained change 3.5 ms: a 200 ms stall still is off the scale.
 * Not the runtime sampler's period (eventLoopResolutionMs, 50 ms by default), which hid a
 * 200 ms stall (z = 4) and which neither the report nor the alert engine knows (a hub's
 * members, and stored data, may have had others).
 */
const TIME_FLOOR_MS = 1;

/**
 * The least spread a bucket's value is judged against, given its baseline's median: the noise
 * the value carries however still the series held, which a MAD of quiet buckets cannot see.
 * A counter of events over buckets of `widthMs` is a Poisson count: its rate's standard
 * deviation is √(count) / width (at least one event's worth, so a lone request over a rate of
 * zeros is not a spike at z = 10¹¹); a share of the machine in percent moves by tenths of a
 * point from one reading to the next (cpu_iowait's 0.5 over zeros was the report's strongest
 * anomaly), a gauge of a share of time (unit ratio) by as much of its 0-1, and a time (unit
 * ms or seconds, not a counter's) by a millisecond (TIME_FLOOR_MS). Other units have none
 * beyond the thousandth of the level robustBaseline keeps.
 */
export function noiseFloor(kind: MetricKind, unit: MetricUnit, widthMs: number): ((median: number) => number) | undefined {
  if (kind === 'counter' && EVENT_UNITS.has(unit)) {
    const seconds = widthMs / 1000;
    return (median) => Math.sqrt(Math.max(Math.abs(median) * seconds, 1)) / seconds;
  }
  if (unit === 'percent') return () => PERCENT_FLOOR;
  if (kind === 'gauge' && unit === 'ratio') return () => SHARE_FLOOR;
  // A counter of time (ms per second, a share of time) is no time taken: none.
  if (kind !== 'counter' && unit === 'ms') return () => TIME_FLOOR_MS;
  if (kind !== 'counter' && unit === 'seconds') return () => TIME_FLOOR_MS / 1000;
  return undefined;
}

/** MAD to standard deviation for normal data; mean absolute deviation likewise. */
const MAD_TO_SIGMA = 1.4826;
const MEAN_AD_TO_SIGMA = 1.2533;

/** The k-th smallest of a[0..n) (0-based), reordering a in place (quickselect). */
export function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >>> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const x = a[i]!;
        a[i] = a[j]!;
        a[j] = x;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** Median of a[0..n) (mean of the two middle values for even n); reorders a. */
export function medianOf(a: Float64Array, n: number): number {
  if (n === 0) return Number.NaN;
  const upper = select(a, n, n >> 1);
  if (n % 2 === 1) return upper;
  let lower = -Infinity;
  for (let i = 0; i < n >> 1; i++) if (a[i]! > lower) lower = a[i]!;
  return (lower + upper) / 2;
}

export interface RobustBaseline {
  median: number;
  mad: number;
  /** The spread z is measured in: 1.4826 MAD, or 1.2533 × mean absolute deviation when the MAD is 0; at least a thousandth of |median|. */
  scale: number;
  n: number;
}

/** Median, MAD and scale of a[0..n), the scale at least `floor(median)` (noiseFloor); a is used as scratch. */
export function robustBaseline(a: Float64Array, n: number, floor?: (median: number) => number): RobustBaseline {
  const median = medianOf(a, n);
  let meanAd = 0;
  for (let i = 0; i < n; i++) {
    a[i] = Math.abs(a[i]! - median);
    meanAd += a[i]!;
  }
  meanAd /= n || 1;
  const mad = medianOf(a, n);
  // At least a thousandth of the level: a gauge that held still (disk_usage at 26.7399%) made
  // a change of 0.0004 a "sustained" anomaly at z = 15,000. A baseline that never moved at 0
  // still gives any change a finite z rather than an infinite one, which the scores cap
  // (ANOMALY_RULES.maxScore).
  const spread = mad > 0 ? MAD_TO_SIGMA * mad : MEAN_AD_TO_SIGMA * meanAd;
  const scale = Math.max(spread, Math.abs(median) * MIN_RELATIVE_SCALE, floor?.(median) ?? 0, 1e-12);
  return { median, mad, scale, n };
}

export interface AnomalyRun {
  /** Indexes into the values: first anomalous bucket, one past the last. */
  startIndex: number;
  endIndex: number;
  direction: 'up' | 'down';
  kind: 'spike' | 'sustained';
  /** Largest |z| of the run, signed, at most maxScore. */
  peakScore: number;
  /** Whether a bucket's |z| passed maxScore: its baseline's spread is tiny beside the change, and peakScore says only "off the scale". */
  capped: boolean;
  /** Largest |z| of the run before the cap: how many of its scale (for a baseline that held still, its noise floor) the change went; it orders runs tied at the cap (rankAnomalies). */
  rawScore: number;
  /** Median of the run's values. */
  value: number;
  baseline: RobustBaseline;
}

/**
 * Runs of anomalous buckets in v (one value per bucket, oldest first). Values before
 * `scoreFrom` only feed the baseline (data held before a report's range); `floor`, the
 * values' noise floor (noiseFloor).
 */
export function detectAnomalies(v: ArrayLike<number>, scoreFrom = 0, rules: AnomalyRules = ANOMALY_RULES, floor?: (median: number) => number): AnomalyRun[] {
  const n = v.length;
  const W = rules.baselineBuckets;
  const scratch = new Float64Array(Math.max(W, 1));
  const flagged = new Uint8Array(n);
  const out: AnomalyRun[] = [];
  let base: RobustBaseline | undefined;
  let baseAt = -Infinity;
  let run: { start: number; end: number; dir: 'up' | 'down'; peak: number; base: RobustBaseline } | undefined;

  const close = (): void => {
    if (!run) return;
    const len = run.end - run.start;
    const kind = len >= rules.minBuckets ? 'sustained' : run.peak >= rules.spikeScore ? 'spike' : undefined;
    if (kind) {
      const values = new Float64Array(len);
      for (let i = 0; i < len; i++) values[i] = v[run.start + i]!;
      const peak = Math.min(run.peak, rules.maxScore);
      out.push({ startIndex: run.start, endIndex: run.end, direction: run.dir, kind, peakScore: run.dir === 'up' ? peak : -peak, capped: run.peak > rules.maxScore, rawScore: run.peak, value: medianOf(values, len), baseline: run.base });
    }
    // A short run goes back into the baseline, a spike too: the median and MAD resist a lone
    // spike without leaving it out, and one left out kept a baseline blind to spikes that
    // recur (a 0.5 blip of cpu_iowait every 7 s over zeros was 72 spikes at z = 5e11).
    if (kind !== 'sustained') flagged.fill(0, run.start, run.end);
    run = undefined;
  };

  for (let i = 0; i < n; i++) {
    // Every hop buckets; and, while there is no baseline, at each bucket until there is one,
    // keeping the hops where they were: with the first try at 0, the next was at 30, and a
    // step from bucket 20 to 29 was never scored, though 20 buckets make a baseline.
    const hop = i - baseAt >= rules.hop;
    if (hop || !base) {
      let m = 0;
      for (let j = i - 1; j >= 0 && m < W; j--) if (!flagged[j]) scratch[m++] = v[j]!;
      base = m >= rules.minBaseline ? robustBaseline(scratch, m, floor) : undefined;
      if (hop) baseAt = i;
    }
    if (!base || i < scoreFrom) {
      close();
      continue;
    }
    const z = (v[i]! - base.median) / base.scale;
    if (Math.abs(z) < rules.threshold) {
      close();
      continue;
    }
    const dir = z > 0 ? 'up' : 'down';
    if (!run || run.dir !== dir || run.end !== i) {
      close();
      run = { start: i, end: i, dir, peak: 0, base };
    }
    run.end = i + 1;
    run.peak = Math.max(run.peak, Math.abs(z));
    flagged[i] = 1;
    if (run.end - run.start >= W) {
      // Longer than the baseline window: this is the new level. Report it, let it be learned.
      const start = run.start;
      close();
      flagged.fill(0, start, i + 1);
      baseAt = -Infinity;
    }
  }
  close();
  return out;
}

export interface AnomalyScore {
  /** Robust z of the window's value against the buckets before it, within ±maxScore; NaN without a baseline. */
  score: number;
  /** Whether |z| passed maxScore (see ANOMALY_RULES.maxScore). */
  capped: boolean;
  value: number;
  median: number;
  mad: number;
  baselineBuckets: number;
}

/**
 * Scores the recent window [now - windowSeconds, now) of one series against the closed
 * buckets before it (up to ANOMALY_RULES.baselineBuckets × 10 of them). For counters pass
 * kind 'counter': values are then rates per second; `unit` sets the noise floor (noiseFloor).
 * The result is NaN (no verdict) when fewer than minBaseline buckets precede the window or
 * the window holds no sample.
 */
export function anomalyDetail(reader: StoreReader, seriesId: number, now: number, windowSeconds: number, kind: MetricKind = 'gauge', unit: MetricUnit = '', rules: AnomalyRules = ANOMALY_RULES): AnomalyScore {
  const L = reader.layout;
  const windowStart = now - windowSeconds * 1000;
  const span = rules.baselineBuckets * 10 * L.intervalMs;
  const records = reader.buckets(seriesId, 1, windowStart - span, windowStart);
  const values = new Float64Array(records.length);
  let n = 0;
  for (const r of records) {
    const x = pieceValue(kind, { count: r.count, sum: r.sum, widthMs: L.intervalMs });
    if (Number.isFinite(x)) values[n++] = x;
  }
  const agg = reader.aggregate(seriesId, windowStart, now);
  const seconds = Math.max(L.intervalMs, now - Math.ceil(windowStart / L.intervalMs) * L.intervalMs) / 1000;
  const value = kindMean(kind, agg.count, agg.sum, seconds);
  if (n < rules.minBaseline || agg.count === 0 || !Number.isFinite(value)) {
    return { score: Number.NaN, capped: false, value, median: Number.NaN, mad: Number.NaN, baselineBuckets: n };
  }
  const base = robustBaseline(values, n, noiseFloor(kind, unit, L.intervalMs));
  const z = (value - base.median) / base.scale;
  const score = Math.max(-rules.maxScore, Math.min(rules.maxScore, z));
  return { score, capped: score !== z, value, median: base.median, mad: base.mad, baselineBuckets: n };
}

/** The `anomaly` aggregation for alert rules: anomalyDetail(...).score. */
export function anomalyScore(reader: StoreReader, seriesId: number, now: number, windowSeconds: number, kind: MetricKind = 'gauge', unit: MetricUnit = ''): number {
  return anomalyDetail(reader, seriesId, now, windowSeconds, kind, unit).score;
}
