/**
 * Shaping library answers for an agent: snake_case structured content that matches the output
 * schemas, and a compact text rendering of the same facts (one line per series, numbers
 * rounded to what a reader needs), since many clients show the model only the text.
 */
import type { MonitorStatus, PerformanceMonitor } from '../monitor.js';
import { measured, significant } from '../precision.js';
import { withJson } from './prebuilt.js';
import type { MetricHistory, MetricSnapshot } from '../query.js';
import type { z } from 'zod';
import { DEFAULT_WINDOW_SECONDS, type HistoryOutput, type MetricSummary, type StatusOutput } from './schemas.js';
import type { EndpointStatus } from './server.js';

export type MetricSummaryOut = z.output<typeof MetricSummary>;

/** Recent ISO strings by ms: series sampled together share a time, and toISOString costs ~1.5 µs. */
const isoCache = new Map<number, string>();

export function iso(ms: number | null): string | null {
  if (ms === null || !Number.isFinite(ms)) return null;
  let text = isoCache.get(ms);
  if (text === undefined) {
    if (isoCache.size >= 1024) isoCache.clear();
    text = new Date(ms).toISOString();
    isoCache.set(ms, text);
  }
  return text;
}

/** A number in few characters: 3 significant digits, no exponent for everyday magnitudes. */
export function num(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e9 || a < 1e-3)) return v.toExponential(2);
  if (Number.isInteger(v)) return String(v);
  return String(significant(v, a >= 1000 ? 6 : 3));
}

export function seriesLabel(name: string, tags: Record<string, string>): string {
  let inner = '';
  for (const k in tags) inner += `${inner ? ',' : ''}${k}=${tags[k]}`;
  return inner ? `${name}{${inner}}` : name;
}

/** A derived statistic (a mean, a rate, a quantile) as answers carry it (see precision.ts). */
export function stat<T extends number | null>(v: T): T {
  return (v === null ? v : measured(v)) as T;
}

/**
 * One series as answers carry it. Only what the kind gives meaning to: quantiles for
 * distributions (as in get_metric_history), `last` where it differs from the value, and no
 * "sum per second" for gauges (heap bytes summed per second reads like a growth rate and is
 * not one). The window's length is said once per answer, not per series.
 */
export function metricSummary(m: MetricSnapshot): MetricSummaryOut {
  const w = m.window;
  return {
    name: m.name,
    tags: m.tags,
    kind: m.kind,
    unit: m.unit,
    value: m.kind === 'gauge' ? m.value : stat(m.value),
    ...(m.kind !== 'gauge' ? { last: m.last } : {}),
    last_at: iso(m.lastTimestamp),
    count: w.count,
    mean: stat(w.mean),
    min: w.min,
    max: w.max,
    ...(m.kind === 'distribution' ? { p50: stat(w.p50), p90: stat(w.p90), p95: stat(w.p95), p99: stat(w.p99) } : {}),
    total_count: m.totalCount,
  };
}

/** `response_time{endpoint=/a} 12.5 ms  p50 11 p99 40 n=120` */
export function metricLine(m: MetricSummaryOut): string {
  const unit = m.unit && m.unit !== 'count' ? ` ${m.unit}` : '';
  let line = `${seriesLabel(m.name, m.tags)} ${num(m.value)}${m.kind === 'counter' ? '/s' : unit}`;
  if (m.kind === 'distribution' && m.count > 0) line += `  p50 ${num(m.p50)} p90 ${num(m.p90)} p99 ${num(m.p99)} max ${num(m.max)}`;
  line += `  n=${m.count}`;
  return line;
}

export function metricsText(metrics: MetricSummaryOut[], total: number, truncated: boolean, windowSeconds: number, lines: readonly string[] = metrics.map(metricLine)): string {
  if (total === 0) return 'no metrics with data yet';
  const head = `${total} series, last ${windowSeconds}s${truncated ? ` (showing ${metrics.length}; raise limit or filter by metric_types)` : ''}`;
  return `${head}\n${lines.join('\n')}`;
}

interface Summarized {
  snapshot: MetricSnapshot;
  summary: MetricSummaryOut;
  line: string;
  /** JSON.stringify(summary), made on first use. */
  json: string | undefined;
}

/**
 * The numbers a summary is made of, but a counter's value: equal ones make an equal summary
 * but for that value, a rate, which divides by the time since the window's first bucket and
 * so moves on every call even when no sample came.
 */
function sameNumbers(a: MetricSnapshot, b: MetricSnapshot): boolean {
  const x = a.window;
  const y = b.window;
  return (
    a.name === b.name &&
    a.tags === b.tags &&
    (a.kind === 'counter' || a.value === b.value) &&
    a.last === b.last &&
    a.lastTimestamp === b.lastTimestamp &&
    a.totalCount === b.totalCount &&
    x.seconds === y.seconds &&
    x.count === y.count &&
    x.sum === y.sum &&
    x.min === y.min &&
    x.max === y.max &&
    x.p50 === y.p50 &&
    x.p90 === y.p90 &&
    x.p95 === y.p95 &&
    x.p99 === y.p99
  );
}

/**
 * Summaries and text lines of series, kept from one call to the next: an agent or dashboard
 * polling every series finds most of them unchanged (the system metrics move once per
 * interval), and an unchanged series gets the summary it had, without rounding, dates and
 * text again. One per McpFront; a series is known by its id, name and tags object, so a new
 * monitor (new registry) starts afresh. Summaries are frozen, as answers share them and the
 * output check and the stdio transport rely on a summary seen before being unchanged.
 */
export class MetricSummaries {
  private readonly byId = new Map<number, Summarized>();

  of(snapshots: readonly MetricSnapshot[]): { metrics: MetricSummaryOut[]; lines: string[] } {
    const metrics: MetricSummaryOut[] = new Array(snapshots.length);
    const lines: string[] = new Array(snapshots.length);
    const jsons: string[] = new Array(snapshots.length);
    for (let i = 0; i < snapshots.length; i++) {
      const m = snapshots[i]!;
      let s = this.byId.get(m.id);
      if (s === undefined || !sameNumbers(s.snapshot, m)) {
        const summary = Object.freeze(metricSummary(m));
        s = { snapshot: m, summary, line: metricLine(summary), json: undefined };
        this.byId.set(m.id, s);
      } else if (m.kind === 'counter' && stat(m.value) !== s.summary.value) {
        // A new object, not an edit: an answer still on its way may hold the last one.
        const summary = Object.freeze({ ...s.summary, value: stat(m.value) });
        s = { snapshot: m, summary, line: metricLine(summary), json: undefined };
        this.byId.set(m.id, s);
      }
      metrics[i] = s.summary;
      lines[i] = s.line;
      jsons[i] = s.json ??= JSON.stringify(s.summary);
    }
    return { metrics: withJson(metrics, `[${jsons.join(',')}]`), lines };
  }
}

/** The metrics part of a status answer: get_monitoring_status with include_metrics, and perfwatch://status. */
export function statusMetrics(monitor: PerformanceMonitor, limit: number): { metrics_window_seconds: number; metrics: MetricSummaryOut[]; metrics_total: number; metrics_truncated: boolean } {
  const all = monitor.getMetrics({ windowSeconds: DEFAULT_WINDOW_SECONDS });
  return { metrics_window_seconds: DEFAULT_WINDOW_SECONDS, metrics: all.slice(0, limit).map(metricSummary), metrics_total: all.length, metrics_truncated: all.length > limit };
}

export function historyOut(h: MetricHistory, limit: number): z.output<typeof HistoryOutput> {
  const series = h.series.slice(0, limit).map((s) => ({
    tags: s.tags,
    resolution: s.resolution,
    step_seconds: s.stepMs / 1000,
    source_points: s.sourcePoints,
    points: s.points.map((p) => {
      const out: z.output<typeof HistoryOutput>['series'][number]['points'][number] = { t: new Date(p.t).toISOString(), value: p.value, count: p.count, min: p.min, max: p.max };
      if (p.p50 !== undefined) out.p50 = p.p50;
      if (p.p90 !== undefined) out.p90 = p.p90;
      if (p.p99 !== undefined) out.p99 = p.p99;
      return out;
    }),
  }));
  return {
    metric: h.metric,
    kind: h.kind,
    unit: h.unit,
    from: iso(h.from),
    to: iso(h.to)!,
    series,
    total_series: h.series.length,
    truncated: h.series.length > limit,
  };
}

/** Per series: its span, point count and the shape of its values (not every point). */
export function historyText(h: z.output<typeof HistoryOutput>): string {
  if (h.series.length === 0) return `${h.metric}: no data in the range`;
  const lines = h.series.map((s) => {
    const pts = s.points;
    if (pts.length === 0) return `${seriesLabel(h.metric, s.tags)}: no points`;
    let min = Infinity;
    let max = -Infinity;
    for (const p of pts) {
      if (p.min < min) min = p.min;
      if (p.max > max) max = p.max;
    }
    const step = s.resolution === 'raw' ? 'raw samples' : `${s.step_seconds}s points`;
    return `${seriesLabel(h.metric, s.tags)}: ${pts.length} ${step} (${s.source_points} before downsampling) ${pts[0]!.t} .. ${pts[pts.length - 1]!.t}; first ${num(pts[0]!.value)} last ${num(pts[pts.length - 1]!.value)} min ${num(min)} max ${num(max)}`;
  });
  const more = h.truncated ? `\n(${h.total_series - h.series.length} more series; filter by tags or raise limit)` : '';
  return `${h.metric} (${h.kind}${h.unit ? `, ${h.unit}` : ''})\n${lines.join('\n')}${more}`;
}

export function statusOut(s: MonitorStatus, endpoint?: EndpointStatus): z.output<typeof StatusOutput> {
  return {
    state: s.state,
    running: s.running,
    paused: s.paused,
    started_at: iso(s.startedAt),
    uptime_seconds: Math.round(s.uptimeMs / 1000),
    collection_interval: s.collectionIntervalMs / 1000,
    series: { count: s.series.count, limit: s.series.limit },
    ingestion: {
      ingested: s.ingestion.ingested,
      rate_per_second: Math.round(s.ingestion.ratePerSecond),
      dropped: s.ingestion.dropped,
      pending: s.ingestion.pending,
      overflow: s.ingestion.overflow,
    },
    collector: { state: s.collector.state, restarts: s.collector.restarts, lag_ms: s.collector.lagMs, heartbeat_age_ms: s.collector.heartbeatAgeMs },
    memory: { total_bytes: s.memory.totalBytes, series_in_use_bytes: s.memory.seriesInUseBytes, ring_bytes: s.memory.ringBytes },
    alerting: { state: s.alerts.actor, rules: s.alerts.rules, pending: s.alerts.pending, firing: s.alerts.firing },
    ...(endpoint ? { http: endpointOut(endpoint) } : {}),
  };
}

function endpointOut(e: EndpointStatus): NonNullable<z.output<typeof StatusOutput>['http']> {
  return {
    sessions: e.sessions.count,
    max_sessions: e.sessions.limit,
    session_idle_seconds: e.sessions.idleMs / 1000,
    sessions_expired: e.sessions.expired,
    sessions_refused: e.sessions.refused,
    buffered_bytes: e.bufferedBytes,
    max_buffered_bytes: e.maxBufferedBytes,
    max_body_bytes: e.maxBodyBytes,
    bodies_too_large: e.refusedBodies.tooLarge,
    bodies_refused_busy: e.refusedBodies.busy,
    state_changes: e.stateChanges,
    token: e.token,
  };
}

export function statusText(s: z.output<typeof StatusOutput>): string {
  const mb = (b: number): string => `${num(b / 1048576)} MiB`;
  return [
    `monitor ${s.state}${s.paused ? ' (own sampling paused)' : ''}${s.running ? `, up ${s.uptime_seconds}s` : ''}, interval ${s.collection_interval}s`,
    `series ${s.series.count}/${s.series.limit}; ingested ${s.ingestion.ingested} (${s.ingestion.rate_per_second}/s), dropped ${s.ingestion.dropped}, pending ${s.ingestion.pending}`,
    `collector ${s.collector.state}, restarts ${s.collector.restarts}, lag ${num(s.collector.lag_ms)} ms; memory ${mb(s.memory.total_bytes)} reserved, ${mb(s.memory.series_in_use_bytes)} in use`,
    `alerts: ${s.alerting.firing} firing, ${s.alerting.pending} pending, ${s.alerting.rules} rules`,
    ...(s.http
      ? [`http: ${s.http.sessions}/${s.http.max_sessions} sessions (${s.http.sessions_expired} expired, ${s.http.sessions_refused} refused), ${s.http.buffered_bytes}/${s.http.max_buffered_bytes} body bytes held; state changes ${s.http.state_changes ? 'allowed' : 'refused (read-only)'}`]
      : []),
  ].join('\n');
}
