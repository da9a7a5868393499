/**
 * The shapes that reports, baselines, diagnoses and the optimisation engine hand out. They
 * cross thread boundaries (a report is built in the report pool and structured-cloned back),
 * so they are plain data: numbers, strings, arrays and objects, no classes, no Infinity
 * where a reader would expect a number (null stands for "no data").
 */
import type { MetricKind, MetricUnit } from '../engine/metrics.js';
import type { CanonicalTags } from '../engine/registry.js';
import type { SeriesStats, SpreadMethod, TimeWindow } from '../analysis/types.js';

/** The statistics of one series (analysis/stats.ts). */
export type { BaselineChange, SeriesStats, SpreadMethod, TimeWindow, Trend } from '../analysis/types.js';

/** One alert state change, as the alert engine records it in its history. */
export type { AlertTransition, Severity as AlertSeverity, AlertState } from '../alerts/schema.js';
import type { Severity as AlertSeverity } from '../alerts/schema.js';

/**
 * All series of one metric name merged (quantiles from the merged sketches). On a hub, a
 * member's series (tagged `instance`) is left out of the merge where its cluster-wide series
 * is in the report: the cluster-wide series already holds its samples (docs/cluster.md).
 */
export interface MetricSummary {
  name: string;
  kind: MetricKind;
  unit: MetricUnit;
  series: number;
  count: number;
  mean: number;
  min: number;
  max: number;
  p50: number;
  p95: number;
  p99: number;
  /**
   * Present only when p50–p99 stand for fewer samples than `count` (the sum of its series'
   * quantileCount, SeriesStats): the samples they were computed from; 0: none, and they are NaN.
   */
  quantileCount?: number;
  /**
   * Per second over the window: sum for counters, samples otherwise; the sum of its series'
   * rates, each over the part of the window the store holds of it (SeriesStats.window).
   */
  rate: number;
}

export interface Anomaly {
  seriesId: number;
  metric: string;
  tags: CanonicalTags;
  /** `spike`: shorter than the sustained minimum but extreme; `sustained`: a run of buckets. */
  kind: 'spike' | 'sustained';
  direction: 'up' | 'down';
  start: number;
  /** End of the last anomalous bucket (exclusive). */
  end: number;
  buckets: number;
  /** Median of the anomalous buckets' values, and the baseline's median and MAD. */
  value: number;
  baselineMedian: number;
  baselineMad: number;
  /** value - baselineMedian, and that over |baselineMedian| (null when the median is 0). */
  size: number;
  relativeSize: number | null;
  /** Largest robust z-score in the run: 0.6745 (x - median) / MAD, at most ANOMALY_RULES.maxScore. */
  peakScore: number;
  /** Whether the run's |z| passed maxScore: its baseline's spread is tiny beside the change (it held still), so peakScore says only "off the scale" and `size` how large it is. */
  scoreCapped: boolean;
}

export interface HourOfWeekBaseline {
  /** 0 = Monday 00:00-01:00 UTC … 167 = Sunday 23:00-24:00 UTC. */
  hour: number;
  count: number;
  mean: number;
  p50: number;
  p99: number;
  /** As Baseline's: present only when p50 and p99 stand for fewer samples than `count`. */
  quantileCount?: number;
}

export interface Baseline {
  seriesId: number;
  metric: string;
  tags: CanonicalTags;
  kind: MetricKind;
  unit: MetricUnit;
  window: TimeWindow;
  count: number;
  mean: number;
  /** Standard deviation of the samples, and how it was computed. */
  stddev: number;
  stddevMethod: SpreadMethod;
  /** Median and MAD of the bucket values: the robust centre and spread anomalies are measured against. */
  bucketMedian: number;
  bucketMad: number;
  buckets: number;
  p50: number;
  p99: number;
  /**
   * Present only when p50 and p99 stand for fewer samples than `count`: the samples they were
   * computed from (the others are in a gauge's or counter's minutes stored before a restart,
   * which keep no sketch, or their sketches had left the sketch log). 0: none, and they are NaN.
   */
  quantileCount?: number;
  /** Present once the history held spans a week: one entry per hour of the week with data. */
  hourOfWeek: HourOfWeekBaseline[] | null;
}

export interface Evidence {
  metric: string;
  tags?: CanonicalTags;
  /** What was measured: `p99`, `mean`, `slope`, `share of time`, … */
  statistic: string;
  value: number;
  threshold: number;
  unit: string;
  window: TimeWindow;
}

export type DiagnosisSeverity = 'info' | 'warning' | 'critical';

export interface Diagnosis {
  id: string;
  title: string;
  severity: DiagnosisSeverity;
  /** The optimisation type whose tunables address it. */
  category: OptimizationCategory;
  summary: string;
  evidence: Evidence[];
  actions: string[];
}

export interface Recommendation {
  id: string;
  title: string;
  priority: 'low' | 'medium' | 'high';
  category: OptimizationCategory | 'alerting';
  /** The diagnosis (or report finding) that triggered it. */
  source: string;
  actions: string[];
  evidence: Evidence[];
}

export type OptimizationCategory = 'memory' | 'cpu' | 'cache' | 'database' | 'network' | 'formula' | 'concurrency';

export interface ScorePart {
  name: string;
  /** 0-100, or null when the report has no data for it, or too little (`note`): its weight is then shared out. */
  score: number | null;
  /** Why a part with a value has no score: too few readings of a sampled metric yet. */
  note?: string;
  weight: number;
  metric: string;
  statistic: string;
  value: number | null;
  /** The unit of value, good and bad: ms, ratio, percent, or points (alerts). */
  unit: string;
  /** The value at which the part scores 100, and the one at which it scores 0. */
  good: number;
  bad: number;
}

export interface Score {
  /** Weighted mean of the parts that have data, 0-100; null when none has. */
  overall: number | null;
  parts: ScorePart[];
  formula: string;
}

export interface AlertAnalysis {
  window: TimeWindow;
  /** Whether the monitor had an alert history to analyse. */
  available: boolean;
  transitions: number;
  firings: number;
  bySeverity: Record<AlertSeverity, number>;
  /** Time from firing to resolved, over episodes that resolved in the window. */
  timeToResolve: { episodes: number; meanMs: number | null; medianMs: number | null; maxMs: number | null };
  /** Episodes still firing at the end of the window. */
  unresolved: number;
  flapping: { ruleId: string; ruleName: string; fingerprint: string; firings: number; windowMs: number }[];
  byRule: { ruleId: string; ruleName: string; severity: AlertSeverity; firings: number }[];
}

export interface ChartSeries {
  metric: string;
  tags: CanonicalTags;
  unit: MetricUnit;
  /**
   * Points' starts (ms) and the kind's value over each point's stretch of time (src/reports/chart.ts):
   * a counter's rate per second of the part the monitor watched, 0 where it watched and no sample came.
   */
  t: number[];
  v: number[];
}

export interface PerformanceReport {
  version: 1;
  generatedAt: number;
  window: TimeWindow & { durationMs: number };
  /** Why the report is empty or partial, and anything a reader should know about it. */
  notes: string[];
  /** `samples`: each sample once (on a hub, the members' series are left out: their samples are in the cluster-wide ones). */
  summary: { series: number; samples: number; score: number | null; diagnoses: number; anomalies: number };
  score: Score;
  metrics: MetricSummary[];
  series: SeriesStats[];
  anomalies: Anomaly[];
  alerts: AlertAnalysis | null;
  diagnoses: Diagnosis[];
  recommendations: Recommendation[] | null;
  charts: ChartSeries[];
  timing: { buildMs: number };
}

export type ReportFormat = 'json' | 'markdown' | 'html';
