/**
 * The statistics of one series over a time range, as stats.ts computes them for reports,
 * baselines and the optimiser. Plain data: they cross threads (a report is built in the
 * report pool and structured-cloned back).
 */
import type { MetricKind, MetricUnit } from '../engine/metrics.js';
import type { CanonicalTags } from '../engine/registry.js';

/** A time range in ms since the epoch; `to` is exclusive. */
export interface TimeWindow {
  from: number;
  to: number;
}

/**
 * How stddev was computed, from what the store holds:
 * - `raw`: every sample of the range is still in the raw ring: exact.
 * - `buckets`: every bucket of the range holds one sample (a gauge sampled once an
 *   interval): the bucket values are the samples: exact.
 * - `sketch`: from the merged histogram's bins around the exact mean, with Sheppard's
 *   correction for the bin widths, never below the exact between-bucket spread. Bins are
 *   within 0.78% of their values, so the estimate is within about 1.6% of the true stddev
 *   when the spread is wide against the values; narrow spreads (coefficient of variation
 *   under ~1%) are overstated by up to the bin width.
 * - `bucket-means`: the sketch stands for fewer samples than the range's (`quantileCount`:
 *   a gauge's or counter's minutes stored before a restart keep no sketch; a bucket's sketch
 *   may have left the sketch log): the exact spread between the means of the buckets and
 *   stored minutes, weighted by their counts. A lower bound: the spread within each is not kept.
 */
export type SpreadMethod = 'raw' | 'buckets' | 'sketch' | 'bucket-means';

export interface Trend {
  /** Least-squares slope of the series' bucket values, per second and per hour. */
  slopePerSecond: number;
  slopePerHour: number;
  /** Coefficient of determination of the fit, 0-1. */
  r2: number;
  /** Bucket values the fit used (means for gauges and distributions, rates for counters). */
  points: number;
}

export interface BaselineChange {
  baselineMean: number;
  currentMean: number;
  /** (current - baseline) / |baseline|; 0 when both are 0, null when only the baseline is (the report then says `0 → current`). */
  relative: number | null;
  baselineWindow: TimeWindow;
  currentWindow: TimeWindow;
  /** `before-range`: the data held before `from`; `first-quarter`: nothing before, so the range's first quarter against its last. */
  basis: 'before-range' | 'first-quarter';
}

export interface SeriesStats {
  id: number;
  name: string;
  tags: CanonicalTags;
  kind: MetricKind;
  unit: MetricUnit;
  /**
   * The span the buckets read cover (a range between bucket boundaries covers another), which
   * `count`, `sum` and `rate` stand for: later than the report's window where the store no
   * longer holds the series' oldest part of it (past the bucket ring, the rollups, or the
   * stored minutes).
   */
  window: TimeWindow;
  /**
   * Present only when `window` starts later than the report's (the store holds less of the
   * series than the range): the seconds of it watched, which `rate` is per second of.
   */
  coveredSeconds?: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  mean: number;
  median: number;
  p90: number;
  p95: number;
  p99: number;
  stddev: number;
  stddevMethod: SpreadMethod;
  /** `raw`: exact order statistics of the raw samples; `sketch`: within 0.78%. */
  quantileMethod: 'raw' | 'sketch';
  /**
   * Present only when the sketch quantiles stand for fewer samples than `count`: the samples
   * they were computed from (the others are in a gauge's or counter's minutes stored before a
   * restart, which keep no sketch, or their sketches had left the sketch log, sketchLogBytes).
   * 0: they stand for none, and are NaN (null in JSON).
   */
  quantileCount?: number;
  /**
   * Per second over the time `window` covers (the part the monitor watched, see
   * coveredSeconds in watched.ts): a counter's sum (its rate); samples for the other kinds.
   */
  rate: number;
  /** The kind's reading: a gauge's last value, a counter's rate, a distribution's mean. */
  value: number;
  /** Over at least TREND_MIN_SPAN_MS of data; null otherwise, and trendNote says why. */
  trend: Trend | null;
  trendNote: string | null;
  change: BaselineChange | null;
}
