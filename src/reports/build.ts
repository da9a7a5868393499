/**
 * Builds a PerformanceReport from the store in place: per-series and per-metric statistics,
 * anomalies, alert analysis, the score, diagnoses and recommendations, and downsampled
 * chart data. A pure function of (registry, reader, options): the report pool runs it on its
 * own thread over the shared buffers, and tests run it on stores they fill themselves.
 */
import type { Registry, SeriesInfo } from '../engine/registry.js';
import { OWN_PREFIX } from '../engine/reserved.js';
import type { SketchAccumulator } from '../engine/sketch.js';
import type { StoreReader } from '../engine/store/reader.js';
import { analyzeAlerts } from './alerts.js';
import { ANOMALY_RULES, detectAnomalies, noiseFloor } from '../analysis/anomaly.js';
import { strongestFirst, type FoundAnomaly } from './anomaly-rank.js';
import { diagnose, notEnoughData, recommend, DIAGNOSIS_RULES, type DiagnosisInput, type SeriesInput } from './diagnoses.js';
import { withCaptures } from './captures.js';
import type { CaptureNote } from '../profiling/schema.js';
import { computeScore } from './score.js';
import { chartPoints } from './chart.js';
import { TREND_MIN_SPAN_MS, oldestHeld, pieceValue, rankQuantile, seriesStats, Pieces } from '../analysis/stats.js';
import { ALWAYS_WATCHED, coveredSeconds, watchedOf, watchedUntil, type Watched } from '../analysis/watched.js';
import type { AlertTransition, Anomaly, ChartSeries, MetricSummary, PerformanceReport, SeriesStats } from './types.js';

export interface BuildOptions {
  /** ms since the epoch; default: the oldest data held. */
  from?: number;
  /** ms since the epoch, exclusive; default: now or the newest sample held, whichever is later (inclusive of that millisecond). */
  to?: number;
  now: number;
  includeAlerts: boolean;
  includeRecommendations: boolean;
  alertHistory: readonly AlertTransition[];
  /** False when the monitor has no alert engine to ask: the analysis says so. */
  alertHistoryAvailable: boolean;
  progress?: (done: number, total: number) => void;
  /** When the monitor watched: rates are per second of the part of the range it covers. */
  watched?: Watched;
  /** Profile captures of the range: evidence for the diagnoses (see captures.ts). */
  profiles?: readonly CaptureNote[];
  /**
   * The monitor is a hub: each member bucket is in two series, the member's (its tags plus
   * `instance`) and the cluster-wide one (its tags alone), so a metric's summary leaves out
   * the member series whose cluster-wide twin is held, or it would count their samples twice.
   */
  hub?: boolean;
}

export interface BuildContext {
  registry: Registry;
  reader: StoreReader;
  /** Two accumulators, reused: one per series, one per metric (each about 3 MB). */
  acc: SketchAccumulator;
  metricAcc: SketchAccumulator;
}

/** A series' name and tags (but `instance`, when `dropInstance`) as one key. */
function twinKey(info: SeriesInfo, dropInstance: boolean): string {
  const tags = Object.entries(info.tags).filter(([k]) => !dropInstance || k !== 'instance');
  tags.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${info.name}\u0000${JSON.stringify(tags)}`;
}

/** On a hub, the ids of the member series (tagged instance) whose cluster-wide twin is among `infos`. */
function memberTwins(infos: readonly SeriesInfo[]): Set<number> {
  const held = new Set(infos.filter((i) => !('instance' in i.tags)).map((i) => twinKey(i, false)));
  return new Set(infos.filter((i) => 'instance' in i.tags && held.has(twinKey(i, true))).map((i) => i.id));
}

/** Metrics drawn in the html report, in this order, up to CHART_SERIES_PER_METRIC series each. */
export const CHART_METRICS = ['cpu_usage', 'memory_usage', 'event_loop_lag', 'response_time', 'api_response_time', 'throughput', 'error_rate', 'heap_used', 'cache_hit_rate', 'database_connections', 'formula_calculation_time', 'cpu_iowait'];
const CHART_SERIES_PER_METRIC = 4;
const MAX_ANOMALIES = 100;
const EMPTY = new Pieces();
/** Metrics whose bucket records the diagnoses read. */
const PIECE_METRICS = new Set<string>([DIAGNOSIS_RULES.heapNearLimit.metric, DIAGNOSIS_RULES.memoryLeak.metric, DIAGNOSIS_RULES.memoryLeak.gcMetric, DIAGNOSIS_RULES.errorBurst.metric, DIAGNOSIS_RULES.poolSaturation.metric, DIAGNOSIS_RULES.eventLoopBlocked.metric, DIAGNOSIS_RULES.eventLoopBlocked.waitMetric]);

/** The most samples of a metric whose quantiles are taken exactly from the raw rings (8 bytes each, sorted in the task). */
const EXACT_MERGE_SAMPLES = 65_536;

/** Quantiles of the values of `parts` (`count` in all), exactly. */
function exactQuantiles(parts: ArrayLike<number>[], count: number, qs: number[]): number[] {
  const all = new Float64Array(count);
  let at = 0;
  for (const p of parts) for (let i = 0; i < p.length; i++) all[at++] = p[i]!;
  all.sort();
  return qs.map((q) => rankQuantile(all, q));
}

/**
 * The span the buckets starting in [from, to) cover: from the first one's start to the last
 * one's end, or, where the last is the open bucket, to now (or to the `to` asked, when that
 * lies past now: the default is now + 1).
 */
function coveredRange(from: number, to: number, intervalMs: number, now: number): { from: number; to: number } {
  return { from: Math.ceil(from / intervalMs) * intervalMs, to: Math.min(Math.ceil(to / intervalMs) * intervalMs, Math.max(to, now)) };
}

function emptyReport(options: BuildOptions, from: number, to: number, notes: string[], started: number): PerformanceReport {
  // Scored whether or not the report lists them (includeAlerts), as below.
  const analysis = analyzeAlerts(options.alertHistory, { from, to }, options.alertHistoryAvailable);
  const alerts = options.includeAlerts ? analysis : null;
  // Without samples only alerts could be scored, and only when some happened: a quiet,
  // empty window has no score rather than a perfect one.
  const score = computeScore(new Map(), analysis.transitions > 0 ? analysis : null);
  const diagnoses = withCaptures([], options.profiles ?? []);
  return {
    version: 1,
    generatedAt: options.now,
    window: { from, to, durationMs: Math.max(0, to - from) },
    notes,
    summary: { series: 0, samples: 0, score: score.overall, diagnoses: diagnoses.length, anomalies: 0 },
    score,
    metrics: [],
    series: [],
    anomalies: [],
    alerts,
    diagnoses,
    recommendations: options.includeRecommendations ? recommend(diagnoses, alerts) : null,
    charts: [],
    timing: { buildMs: performance.now() - started },
  };
}


/** The anomalies of one series over the range's buckets, scored against a baseline that may start before it. */
function seriesAnomalies(reader: StoreReader, info: SeriesInfo, from: number, pieces: Pieces): FoundAnomaly[] {
  const L = reader.layout;
  const before = reader.buckets(info.id, 1, from - ANOMALY_RULES.baselineBuckets * L.intervalMs, from);
  const values = new Float64Array(before.length + pieces.n);
  const times = new Float64Array(before.length + pieces.n);
  let m = 0;
  for (const r of before) {
    const x = pieceValue(info.kind, { count: r.count, sum: r.sum, widthMs: L.intervalMs });
    if (!Number.isFinite(x)) continue;
    values[m] = x;
    times[m++] = r.start;
  }
  const scoreFrom = m;
  for (let i = 0; i < pieces.n; i++) {
    const x = pieces.value(info.kind, i);
    if (pieces.tier[i] !== 1 || !Number.isFinite(x)) continue;
    values[m] = x;
    times[m++] = pieces.start[i]!;
  }
  return detectAnomalies(values.subarray(0, m), scoreFrom, ANOMALY_RULES, noiseFloor(info.kind, info.unit, L.intervalMs)).map((run) => {
    const size = run.value - run.baseline.median;
    const anomaly: Anomaly = {
      seriesId: info.id,
      metric: info.name,
      tags: info.tags,
      kind: run.kind,
      direction: run.direction,
      start: times[run.startIndex]!,
      end: times[run.endIndex - 1]! + L.intervalMs,
      buckets: run.endIndex - run.startIndex,
      value: run.value,
      baselineMedian: run.baseline.median,
      baselineMad: run.baseline.mad,
      size,
      relativeSize: run.baseline.median !== 0 ? size / Math.abs(run.baseline.median) : null,
      peakScore: run.peakScore,
      scoreCapped: run.capped,
    };
    return { anomaly, rawScore: run.rawScore };
  });
}
export function buildReport(ctx: BuildContext, options: BuildOptions): PerformanceReport {
  const started = performance.now();
  const { registry, reader, acc, metricAcc } = ctx;
  const L = reader.layout;
  const n = registry.seriesCount();
  const infos: SeriesInfo[] = [];
  let oldest = Infinity;
  let newest = options.now;
  for (let id = 0; id < n; id++) {
    if (reader.totalCount(id) === 0) continue;
    infos.push(registry.info(id));
    if (options.from === undefined) {
      const t = oldestHeld(reader, id);
      if (t < oldest) oldest = t;
    }
    const t = reader.newestRawTime(id);
    if (t > newest) newest = t;
  }
  // By default up to now, and past it to the newest sample held: a sample is stamped when the
  // collector drains it, and the report reads the store after it was asked (a thread's start
  // later, for the first): a report asked straight after start() found every sample stamped
  // after its now, and its default range started after its end ("No 1000 ms bucket starts in
  // the range 13:11:11.000Z – 13:11:10.953Z").
  const to = options.to ?? newest + 1;
  // The store answers ranges by bucket start, so the default range starts at the bucket
  // holding the oldest sample, not at the sample.
  const from = options.from ?? (Number.isFinite(oldest) ? Math.floor(oldest / L.intervalMs) * L.intervalMs : to);
  if (infos.length === 0) return emptyReport(options, from, to, ['No series has any sample yet: nothing to report.'], started);
  if (from === to) return emptyReport(options, from, to, [`The range is empty: from equals to (${new Date(from).toISOString()}).`], started);
  // Buckets are read whole, those that start in the range: it covers from the first one's
  // start to the last one's end, or to now while that one is open. The window and the rates
  // are of what it covers: a range from 5.5 s to 15 s said 9.5 s, and read a counter of one a
  // second as 0.95 a second over its nine buckets. The store is read over the range asked all
  // the same: the same buckets, and a minute's rollup that starts before the first of them (an
  // interval that does not divide a minute) is not left out.
  const span = coveredRange(from, to, L.intervalMs, options.now);
  // Rates are per second of the watched time that has passed: a running monitor's run has no
  // end, and a range asked past now (to the end of the day) counted the hours still to come
  // as watched, reading a counter of 99 a second as 2.7.
  const passed = newest + 1;
  const watched = options.watched && watchedUntil(options.watched, passed);
  // Where the closed buckets the charts draw end: the open one is in no chart.
  const closedEnd = Math.min(span.to, Math.floor(options.now / L.intervalMs) * L.intervalMs);
  const notes: string[] = [];
  if (span.from !== from || span.to !== to) {
    notes.push(`The range asked, ${new Date(from).toISOString()} – ${new Date(to).toISOString()}, is read in whole ${L.intervalMs} ms buckets, by their start: ${new Date(span.from).toISOString()} – ${new Date(span.to).toISOString()}.`);
  }
  if (watched && span.to > passed && span.from < passed) notes.push(`The range asked ends after now (${new Date(to).toISOString()}; now ${new Date(passed).toISOString()}): rates are per second of the time watched up to now.`);
  if (span.from >= span.to) return emptyReport(options, span.from, span.from, [`No ${L.intervalMs} ms bucket starts in the range ${new Date(from).toISOString()} – ${new Date(to).toISOString()}, and buckets are read whole, by their start.`], started);

  // Series grouped by metric name, so that each name's sketches merge into one summary.
  const byName = new Map<string, SeriesInfo[]>();
  for (const info of infos) {
    const list = byName.get(info.name) ?? [];
    list.push(info);
    byName.set(info.name, list);
  }
  const total = infos.length;
  const twins = options.hub ? memberTwins(infos) : new Set<number>();
  let samples = 0;
  let done = 0;
  const series: SeriesStats[] = [];
  const metrics = new Map<string, MetricSummary>();
  const diagnosisInput: SeriesInput[] = [];
  const anomalies: FoundAnomaly[] = [];
  const chartCandidates: { info: SeriesInfo; chart: { t: number[]; v: number[] }; count: number }[] = [];
  const chartRank = new Map(CHART_METRICS.map((m, i) => [m, i]));
  const methods = new Set<string>();
  const scratch = new Pieces();

  for (const [name, list] of byName) {
    metricAcc.reset();
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    /** Samples the merged sketch stands for (each series' quantileCount, or its count). */
    let quantileCount = 0;
    /** Its series' rates summed: each is per second of the part of the range held of it. */
    let rate = 0;
    /** The series merged into the metric's summary: those with data in the range, but a hub's member twins. */
    let merged = 0;
    /** The raw values of the merged series while all of them have every sample raw (null once one does not). */
    let exact: ArrayLike<number>[] | null = [];
    for (const info of list) {
      // A hub's member series from when its member started watching (watchedOf).
      const seriesWatched = watchedOf(registry, info.id, watched ?? ALWAYS_WATCHED);
      const result = seriesStats({ reader, acc, from, to, span, pieces: scratch, watched: seriesWatched }, info);
      done++;
      options.progress?.(done, total);
      if (!result) continue;
      const { stats, pieces, sorted } = result;
      series.push(stats);
      methods.add(stats.stddevMethod);
      if (!twins.has(info.id)) {
        merged++;
        samples += stats.count;
        count += stats.count;
        quantileCount += stats.quantileCount ?? stats.count;
        sum += stats.sum;
        rate += stats.rate;
        min = Math.min(min, stats.min);
        max = Math.max(max, stats.max);
        metricAcc.merge(acc);
        // Every sample of the series still raw (seriesStats read them, sorted): they go into the metric's exact quantiles.
        if (exact && sorted && count <= EXACT_MERGE_SAMPLES) exact.push(sorted);
        else exact = null;
      }

      // Anomalies, but none of the monitor's own series (OWN_PREFIX): their readings follow the
      // service's load (monitor_ingested rose with its throughput, monitor_ring_fill dipped as
      // it did) and took the places of the service's own anomalies.
      if (!info.name.startsWith(OWN_PREFIX)) anomalies.push(...seriesAnomalies(reader, info, from, pieces));
      diagnosisInput.push({ stats, pieces: PIECE_METRICS.has(name) ? pieces.clone() : EMPTY });
      chartCandidates.push({ info, chart: chartPoints(info.kind, pieces, L.intervalMs, closedEnd, seriesWatched), count: stats.count });
    }
    if (merged === 0) continue;
    const first = list[0]!;
    const clamp = (q: number): number => Math.min(max, Math.max(min, q));
    // Exact when the raw rings hold every sample merged, as each series' are: from the sketch,
    // a metric of one series said p95 65.5 ms beside its series' exact 66 ms, and a ratio of
    // ones and zeros p95 0.9961.
    const [p50, p95, p99] = exact ? exactQuantiles(exact, count, [0.5, 0.95, 0.99]) : metricAcc.total > 0 ? metricAcc.quantiles([0.5, 0.95, 0.99]).map(clamp) : [Number.NaN, Number.NaN, Number.NaN];
    metrics.set(name, {
      name,
      kind: first.kind,
      unit: first.unit,
      series: merged,
      count,
      mean: sum / count,
      min,
      max,
      p50: p50!,
      p95: p95!,
      p99: p99!,
      // As each series': its quantiles from one sample since a restart, of four, read as all four's.
      ...(!exact && quantileCount < count ? { quantileCount } : {}),
      // Over the whole range, a series the store holds less of read low: a steady 20/s, 5.0
      // over a day at 10 minutes of rollups.
      rate,
    });
  }

  const window = span;
  if (series.length === 0) return emptyReport(options, span.from, span.to, [`No sample falls in the range ${new Date(from).toISOString()} – ${new Date(to).toISOString()}.`], started);
  // The alerts are scored whether or not the report lists them: includeAlerts false left the
  // part out of the score, which rose by up to its 10 points' weight for asking less.
  const analysis = analyzeAlerts(options.alertHistory, window, options.alertHistoryAvailable);
  const alerts = options.includeAlerts ? analysis : null;
  if (!analysis.available) notes.push('No alert history: this monitor has no alert engine to ask; the alerts part of the score is left out.');
  const score = computeScore(metrics, analysis);
  const judged: DiagnosisInput = { window, seconds: coveredSeconds(span.from, span.to, watched ?? ALWAYS_WATCHED) ?? Number.NaN, metrics, series: diagnosisInput };
  const diagnoses = withCaptures(diagnose(judged), options.profiles ?? []);
  const waiting = notEnoughData(judged);
  if (waiting !== null) notes.push(waiting);
  if (series.some((s) => s.trend === null && s.trendNote?.startsWith('the data spans'))) notes.push(`Trends are given over at least ${TREND_MIN_SPAN_MS / 60_000} minutes of data: series spanning less have none.`);
  const short = series.filter((s) => s.coveredSeconds !== undefined).length;
  if (short > 0) notes.push(`${short === 1 ? '1 series is' : `${short} series are`} held for less than the range (the bucket ring, the rollups or the stored minutes no longer reach back to its start, or hold the minute it ends in only whole): ${short === 1 ? 'its' : 'their'} count, sum and rate are over the part held, ${short === 1 ? 'its' : 'their'} window (coveredSeconds says the seconds).`);
  const partial = series.filter((s) => s.quantileCount !== undefined).length;
  if (partial > 0) notes.push(`${partial} series' quantiles stand for fewer samples than their count (quantileCount; 0: for none, and they are null): the minutes of gauges and counters stored before a restart keep no sketch (their counts, sums, min and max are whole), and older buckets' sketches may have left the sketch log (raise sketchLogBytes: status().collector.sketchLogReachSeconds says how far back it reaches).`);
  if (methods.has('sketch')) notes.push('stddev marked "sketch" is estimated from the histogram bins (within about 1.6% for spreads wide against the values); "raw" and "buckets" are exact.');
  if (methods.has('bucket-means')) notes.push('stddev marked "bucket-means" is the spread between the means of the buckets and stored minutes, where the sketch stands for fewer samples than the count (quantileCount): a lower bound, as the spread within each is not kept.');

  // Charts: the main metrics first, then the series with most samples.
  chartCandidates.sort((a, b) => (chartRank.get(a.info.name) ?? 99) - (chartRank.get(b.info.name) ?? 99) || b.count - a.count);
  const charts: ChartSeries[] = [];
  const perMetric = new Map<string, number>();
  for (const c of chartCandidates) {
    const k = perMetric.get(c.info.name) ?? 0;
    if (k >= CHART_SERIES_PER_METRIC || charts.length >= 24) continue;
    if (!chartRank.has(c.info.name) && charts.length >= 6) continue;
    perMetric.set(c.info.name, k + 1);
    charts.push({ metric: c.info.name, tags: c.info.tags, unit: c.info.unit, ...c.chart });
  }

  anomalies.sort(strongestFirst);
  if (anomalies.length > MAX_ANOMALIES) notes.push(`${anomalies.length} anomalies found; the ${MAX_ANOMALIES} strongest are listed.`);
  const listed = anomalies.slice(0, MAX_ANOMALIES).map((f) => f.anomaly).sort((a, b) => a.start - b.start);
  const capped = listed.filter((a) => a.scoreCapped).length;
  if (capped > 0) notes.push(`${capped === 1 ? "1 anomaly's peak score is" : `${capped} anomalies' peak scores are`} capped at ${ANOMALY_RULES.maxScore}: ${capped === 1 ? 'its baseline' : 'their baselines'} held still (no spread to speak of beside the change), so a change is off the z scale whatever its size; ${capped === 1 ? 'its size says' : 'their sizes say'} how large it is.`);
  series.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id));
  return {
    version: 1,
    generatedAt: options.now,
    window: { from: span.from, to: span.to, durationMs: span.to - span.from },
    notes,
    summary: { series: series.length, samples, score: score.overall, diagnoses: diagnoses.length, anomalies: anomalies.length },
    score,
    metrics: [...metrics.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
    series,
    anomalies: listed,
    alerts,
    diagnoses,
    recommendations: options.includeRecommendations ? recommend(diagnoses, alerts) : null,
    charts,
    timing: { buildMs: performance.now() - started },
  };
}
