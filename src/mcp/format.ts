/**
 * Shaping library answers for an agent: snake_case structured content that matches the output
 * schemas, and a compact text rendering of the same facts (one line per series, numbers
 * rounded to what a reader needs), since many clients show the model only the text.
 */
import type { MonitorStatus } from '../monitor.js';
import type { MetricHistory, MetricSnapshot } from '../query.js';
import type { z } from 'zod';
import type { HistoryOutput, MetricSummary, StatusOutput } from './schemas.js';

export type MetricSummaryOut = z.output<typeof MetricSummary>;

export const iso = (ms: number | null): string | null => (ms === null || !Number.isFinite(ms) ? null : new Date(ms).toISOString());

/** A number in few characters: 3 significant digits, no exponent for everyday magnitudes. */
export function num(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e9 || a < 1e-3)) return v.toExponential(2);
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(a >= 1000 ? 6 : 3)));
}

export function seriesLabel(name: string, tags: Record<string, string>): string {
  let inner = '';
  for (const k in tags) inner += `${inner ? ',' : ''}${k}=${tags[k]}`;
  return inner ? `${name}{${inner}}` : name;
}

export function metricSummary(m: MetricSnapshot): MetricSummaryOut {
  const w = m.window;
  return {
    name: m.name,
    tags: m.tags,
    kind: m.kind,
    unit: m.unit,
    value: m.value,
    last: m.last,
    last_at: iso(m.lastTimestamp),
    window: { seconds: w.seconds, count: w.count, mean: w.mean, min: w.min, max: w.max, rate: w.rate, p50: w.p50, p90: w.p90, p95: w.p95, p99: w.p99 },
    total_count: m.totalCount,
  };
}

/** `response_time{endpoint=/a} 12.5 ms  p50 11 p99 40 n=120/60s` */
export function metricLine(m: MetricSummaryOut): string {
  const unit = m.unit && m.unit !== 'count' ? ` ${m.unit}` : '';
  const w = m.window;
  let line = `${seriesLabel(m.name, m.tags)} ${num(m.value)}${m.kind === 'counter' ? '/s' : unit}`;
  if (m.kind === 'distribution' && w.count > 0) line += `  p50 ${num(w.p50)} p90 ${num(w.p90)} p99 ${num(w.p99)} max ${num(w.max)}`;
  line += `  n=${w.count}/${w.seconds}s`;
  return line;
}

export function metricsText(metrics: MetricSummaryOut[], total: number, truncated: boolean): string {
  if (total === 0) return 'no metrics with data yet';
  const head = `${total} series${truncated ? ` (showing ${metrics.length}; raise limit or filter by metric_types)` : ''}`;
  return `${head}\n${metrics.map(metricLine).join('\n')}`;
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

export function statusOut(s: MonitorStatus): z.output<typeof StatusOutput> {
  return {
    state: s.state,
    running: s.running,
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
  };
}

export function statusText(s: z.output<typeof StatusOutput>): string {
  const mb = (b: number): string => `${num(b / 1048576)} MiB`;
  return [
    `monitor ${s.state}${s.running ? `, up ${s.uptime_seconds}s` : ''}, interval ${s.collection_interval}s`,
    `series ${s.series.count}/${s.series.limit}; ingested ${s.ingestion.ingested} (${s.ingestion.rate_per_second}/s), dropped ${s.ingestion.dropped}, pending ${s.ingestion.pending}`,
    `collector ${s.collector.state}, restarts ${s.collector.restarts}, lag ${num(s.collector.lag_ms)} ms; memory ${mb(s.memory.total_bytes)} reserved, ${mb(s.memory.series_in_use_bytes)} in use`,
    `alerts: ${s.alerting.firing} firing, ${s.alerting.pending} pending, ${s.alerting.rules} rules`,
  ].join('\n');
}
