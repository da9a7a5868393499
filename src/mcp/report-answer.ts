/**
 * A report and baselines as MCP answers: the answer of generate_performance_report, also the
 * perfwatch://report/latest resource's for the last report, and the baselines of
 * get_monitoring_status. Answers are bounded: lists take `limit` and say when they were cut.
 */
import { z } from 'zod';
import type { PerformanceMonitor } from '../monitor/monitor.js';
import type { Baseline, PerformanceReport, Recommendation, SeriesStats } from '../reports/types.js';
import { iso, num, seriesLabel, stat } from './format.js';
import { REPORT_BYTES, fitting, jsonBytes, textBytes } from './budget.js';
import { renderMarkdown } from '../reports/markdown.js';
import { NOT_ENOUGH_DATA } from '../reports/diagnoses.js';

const Evidence = z.object({ metric: z.string(), statistic: z.string(), value: z.number().nullable() }).passthrough();
const Listed = z.array(z.record(z.string(), z.unknown()));

export const ReportAnswer = z.object({
  format: z.enum(['json', 'markdown']),
  generated_at: z.string(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  summary: z.object({ series: z.number(), samples: z.number(), score: z.number().nullable(), diagnoses: z.number(), anomalies: z.number() }),
  notes: z.array(z.string()),
  truncated: z.boolean(),
  score: z.object({ overall: z.number().nullable(), formula: z.string(), parts: z.array(z.object({ name: z.string(), score: z.number().nullable(), weight: z.number(), metric: z.string(), value: z.number().nullable(), unit: z.string(), note: z.string().optional() })) }).optional().describe('json: this and below'),
  diagnoses: z.array(z.object({ id: z.string(), title: z.string(), severity: z.string(), summary: z.string(), actions: z.array(z.string()), evidence: z.array(Evidence) })).optional(),
  recommendations: z.array(z.object({ id: z.string(), title: z.string(), priority: z.string(), source: z.string(), actions: z.array(z.string()).optional(), evidence: z.array(Evidence).optional() })).nullable().optional().describe('from a diagnosis: its actions are there'),
  alerts: z.record(z.string(), z.unknown()).nullable().optional(),
  metrics: Listed.optional(),
  series: Listed.optional(),
  anomalies: Listed.optional(),
});

/** As tools/list shows it: the score's parts by their field names only (its budget); answers have ReportAnswer's type. */
export const ReportOutput = ReportAnswer.extend({
  score: z.object({ overall: z.number().nullable(), formula: z.string(), parts: z.array(z.record(z.string(), z.unknown()).describe('name, score, weight, metric, value, unit, note')) }).optional().describe('json: this and below'),
});

export type ReportOut = z.output<typeof ReportAnswer>;

/** JSON has no NaN or Infinity: such numbers become null, recursively. */
function finite(v: unknown): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (Array.isArray(v)) return v.map(finite);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, finite(x)]));
  return v;
}

function finiteEvidence(e: { metric: string; statistic: string; value: number }): z.output<typeof Evidence> {
  return finite(e) as z.output<typeof Evidence>;
}

/** A recommendation; one made from a diagnosis points at it instead of repeating its actions and evidence. */
function recommendationOut(x: Recommendation, r: PerformanceReport): NonNullable<ReportOut['recommendations']>[number] {
  const out = { id: x.id, title: x.title, priority: x.priority, source: x.source };
  const fromDiagnosis = r.diagnoses.some((d) => x.source === `diagnosis ${d.id}` && d.actions === x.actions);
  return fromDiagnosis ? out : { ...out, actions: x.actions, evidence: x.evidence.map(finiteEvidence) };
}

const metricOut = (m: PerformanceReport['metrics'][number]): Record<string, unknown> =>
  finite({ name: m.name, kind: m.kind, unit: m.unit, series: m.series, count: m.count, mean: stat(m.mean), min: m.min, max: m.max, p50: stat(m.p50), p95: stat(m.p95), p99: stat(m.p99), ...(m.quantileCount !== undefined ? { quantile_count: m.quantileCount } : {}), rate: stat(m.rate) }) as Record<string, unknown>;

const seriesOut = (s: SeriesStats): Record<string, unknown> =>
  finite({
    name: s.name, tags: s.tags, kind: s.kind, unit: s.unit, count: s.count, min: s.min, max: s.max, mean: stat(s.mean), median: stat(s.median), p90: stat(s.p90), p95: stat(s.p95), p99: stat(s.p99),
    ...(s.quantileCount !== undefined ? { quantile_count: s.quantileCount } : {}),
    // Held for less than the range: its figures and rate stand for these seconds, not the report's.
    ...(s.coveredSeconds !== undefined ? { covered_seconds: s.coveredSeconds } : {}),
    stddev: stat(s.stddev), stddev_method: s.stddevMethod, rate: stat(s.rate), trend_per_hour: s.trend ? stat(s.trend.slopePerHour) : null, ...(s.trend ? {} : { trend_note: s.trendNote }), change: s.change?.relative ?? null,
    // From a baseline of 0 no share can be taken: the two means say what changed (null alone read as no data).
    ...(s.change && s.change.relative === null ? { change_from: s.change.baselineMean, change_to: s.change.currentMean } : {}),
  }) as Record<string, unknown>;

const anomalyOut = (a: PerformanceReport['anomalies'][number]): Record<string, unknown> =>
  finite({ metric: a.metric, tags: a.tags, kind: a.kind, direction: a.direction, start: iso(a.start), end: iso(a.end), value: stat(a.value), baseline_median: stat(a.baselineMedian), size: stat(a.size), peak_score: stat(a.peakScore), ...(a.scoreCapped ? { peak_score_capped: true } : {}) }) as Record<string, unknown>;

/** The items of a list that fit `budget` bytes, or `limit` of them when one was asked for. */
function fit(items: Record<string, unknown>[], limitN: number | undefined, budget: number): Record<string, unknown>[] {
  if (limitN !== undefined) return items.slice(0, limitN);
  return items.slice(0, fitting(items.length, (i) => jsonBytes(items[i]) + 1, budget));
}

/**
 * The JSON answer: the score, diagnoses and recommendations whole; metrics, anomalies and
 * series as many as fit in `budget` (in that order of priority), or `limitN` of each.
 */
export function reportOut(r: PerformanceReport, limitN: number | undefined, budget = REPORT_BYTES): ReportOut {
  const out: ReportOut = {
    format: 'json',
    generated_at: new Date(r.generatedAt).toISOString(),
    from: iso(r.window.from),
    to: iso(r.window.to),
    summary: r.summary,
    notes: r.notes,
    truncated: false,
    score: { overall: r.score.overall, formula: r.score.formula, parts: r.score.parts.map((p) => ({ name: p.name, score: p.score, weight: p.weight, metric: p.metric, value: p.value, unit: p.unit, ...(p.note ? { note: p.note } : {}) })) },
    diagnoses: r.diagnoses.map((d) => ({ id: d.id, title: d.title, severity: d.severity, summary: d.summary, actions: d.actions, evidence: d.evidence.map(finiteEvidence) })),
    recommendations: r.recommendations ? r.recommendations.map((x) => recommendationOut(x, r)) : null,
    alerts: r.alerts ? (finite(r.alerts) as Record<string, unknown>) : null,
  };
  let left = budget - 800 - jsonBytes(out) - textBytes(reportText(out));
  out.metrics = fit(r.metrics.map(metricOut), limitN, left * 0.4);
  left -= jsonBytes(out.metrics);
  out.anomalies = fit(r.anomalies.map(anomalyOut), limitN, left * 0.3);
  left -= jsonBytes(out.anomalies);
  out.series = fit(r.series.map(seriesOut), limitN, left);
  out.truncated = out.metrics.length < r.metrics.length || out.series.length < r.series.length || out.anomalies.length < r.anomalies.length;
  return out;
}

/** The Markdown answer's structured part: what the report covers, not the document again. */
export function markdownOut(r: PerformanceReport, truncated: boolean): ReportOut {
  return { format: 'markdown', generated_at: new Date(r.generatedAt).toISOString(), from: iso(r.window.from), to: iso(r.window.to), summary: r.summary, notes: r.notes, truncated };
}

/**
 * The report as Markdown within `budget` bytes: rendered with its lists cut until it fits
 * (whole tables, fewer rows), and a note in the document saying so; or with `limitN` rows
 * per list when one was asked for.
 */
export function markdownWithin(r: PerformanceReport, limitN: number | undefined, budget: number): { text: string; truncated: boolean } {
  const cut = (n: number): PerformanceReport => {
    const over = r.series.length > n || r.metrics.length > n || r.anomalies.length > n;
    const note = limitN === undefined ? `Lists cut to fit the 16 KB answer: ${Math.min(n, r.series.length)} of ${r.series.length} series, ${Math.min(n, r.metrics.length)} of ${r.metrics.length} metrics; pass limit (up to 500) for more, or ask for format json.` : `Lists cut to limit ${n}: ${r.series.length} series in all.`;
    return { ...r, series: r.series.slice(0, n), metrics: r.metrics.slice(0, n), anomalies: r.anomalies.slice(0, n), notes: over ? [...r.notes, note] : r.notes };
  };
  if (limitN !== undefined) return { text: renderMarkdown(cut(limitN)), truncated: r.series.length > limitN || r.metrics.length > limitN || r.anomalies.length > limitN };
  let n = Math.max(r.series.length, r.metrics.length, r.anomalies.length);
  for (;;) {
    const text = renderMarkdown(cut(n));
    const bytes = textBytes(text);
    if (bytes <= budget || n === 0) return { text, truncated: n < Math.max(r.series.length, r.metrics.length, r.anomalies.length) };
    n = Math.min(n - 1, Math.floor((n * budget) / bytes));
  }
}

/** The most rows a list of generate_performance_report's answer may be asked for (its `limit`). */
export const MAX_REPORT_LIMIT = 500;

/**
 * Where the series past the report's lists are: the report takes no offset (tools/list has no
 * room for one more argument), and the tools that page series do.
 */
const SERIES_ELSEWHERE = "get_performance_metrics pages every series (offset; its figures are over its window, up to 86400 s), get_metric_history a metric's series over a range (offset)";

/**
 * The report's text. `limitN`: the limit asked for, if any: a cut answer says what cut it (the
 * 16 KB budget, or the limit) and only what would give more (a limit at its most gives no more).
 */
export function reportText(out: ReportOut, limitN?: number): string {
  const lines = [`report ${out.from ?? 'start'} → ${out.to}: score ${num(out.summary.score)}/100, ${out.summary.series} series, ${out.summary.samples} samples`];
  for (const p of out.score?.parts ?? []) lines.push(`  ${p.name}: ${num(p.score)} (${p.metric} ${num(p.value)}${p.value === null ? '' : ` ${p.unit}`}${p.note ? `; ${p.note}` : ''})`);
  for (const d of out.diagnoses ?? []) lines.push(`diagnosis [${d.severity}] ${d.title}: ${d.summary}`);
  for (const note of out.notes) if (note.startsWith(NOT_ENOUGH_DATA)) lines.push(note);
  // A recommendation made from a diagnosis carries no actions of its own in structuredContent
  // (they are the diagnosis'), but the text is what a model reads: it says the first of them.
  const actions = new Map((out.diagnoses ?? []).map((d) => [`diagnosis ${d.id}`, d.actions]));
  for (const r of out.recommendations ?? []) lines.push(`recommend [${r.priority}] ${r.title}: ${(r.actions ?? actions.get(r.source))?.[0] ?? `see ${r.source}`}`);
  if (out.summary.anomalies) lines.push(`${out.summary.anomalies} anomalies`);
  if (out.truncated) {
    // A shorter time_range is no way to more: it leaves out few series, if any.
    const more: string[] = [];
    if ((limitN ?? 0) < MAX_REPORT_LIMIT) more.push(`pass limit (up to ${MAX_REPORT_LIMIT}) for more`);
    if (out.summary.series > (limitN ?? 0) && out.summary.series > MAX_REPORT_LIMIT) more.push(`past ${MAX_REPORT_LIMIT} series, ${SERIES_ELSEWHERE}`);
    const cut = limitN === undefined ? 'to fit 16 KB' : `cut to the limit ${limitN} asked`;
    lines.push(`structuredContent holds ${out.metrics?.length} of the metrics, ${out.series?.length} of ${out.summary.series} series and ${out.anomalies?.length} of ${Math.min(out.summary.anomalies, 100)} anomalies ${cut}${more.length > 0 ? `: ${more.join('; ')}` : ''}`);
  }
  return lines.join('\n');
}

function baselineOut(b: Baseline): Record<string, unknown> {
  // Quantiles of fewer samples than the mean's (a gauge's minutes stored before a restart) say so, as a report's series do.
  const partial = b.quantileCount !== undefined ? { count: b.count, quantile_count: b.quantileCount } : {};
  return finite({ metric: b.metric, tags: b.tags, unit: b.unit, mean: stat(b.mean), stddev: stat(b.stddev), p50: stat(b.p50), p99: stat(b.p99), ...partial, bucket_median: stat(b.bucketMedian), bucket_mad: stat(b.bucketMad), buckets: b.buckets, by_hour_of_week: b.hourOfWeek !== null }) as Record<string, unknown>;
}

/** What a baseline costs an answer: its JSON and a line of text of about the same size. */
const baselineBytes = (out: Record<string, unknown>): number => 2 * jsonBytes(out);

/** The least a baseline costs (a one-letter name, no tags, no figures): more than budget / this never fit. */
const LEAST_BASELINE_BYTES = baselineBytes(baselineOut({ metric: 'x', tags: {}, mean: Number.NaN, stddev: Number.NaN, p50: Number.NaN, p99: Number.NaN, bucketMedian: Number.NaN, bucketMad: Number.NaN, buckets: 0, hourOfWeek: null } as unknown as Baseline));

/** How many baselines to learn for an answer: `n`, or as many as could fit in `budget`. */
export function baselinesWanted(n: number | undefined, budget: number): number {
  return n ?? Math.max(1, Math.floor(budget / LEAST_BASELINE_BYTES));
}

/** The first baselines of `total` (`page`: the first baselinesWanted() of them), `n` or those that fit in `budget`. */
export function baselinesOut(page: Baseline[], total: number, n: number | undefined, budget = Infinity): { baselines: Record<string, unknown>[]; total: number; truncated: boolean } {
  const all = page.map(baselineOut);
  const shown = n !== undefined ? all.slice(0, n) : all.slice(0, fitting(all.length, (i) => baselineBytes(all[i]!), budget));
  return { baselines: shown, total, truncated: shown.length < total };
}

export function baselinesText(b: { baselines: Record<string, unknown>[]; total: number; truncated: boolean }): string {
  // The status answer's limit goes up to 1000; past it the library pages (the tool list has no room for an offset).
  const more = b.baselines.length < 1000 ? 'pass limit (up to 1000) for more' : `the rest: getBaselines({ offset: ${b.baselines.length} }) in the library`;
  const head = `${b.total} baselines${b.truncated ? ` (showing the first ${b.baselines.length}, in series order: ${more})` : ''}`;
  // Each figure with its unit, as a metric's line has: `heap_used mean 22124300 p99 28966300` left an agent to guess bytes.
  const line = (x: Record<string, unknown>): string => {
    const unit = x.unit && x.unit !== 'count' ? ` ${String(x.unit)}` : '';
    const partial = x.quantile_count !== undefined ? ` (quantiles of ${String(x.quantile_count)} of the ${String(x.count)} samples)` : '';
    return `${seriesLabel(String(x.metric), x.tags as Record<string, string>)} mean ${num(x.mean as number)}${unit} p99 ${num(x.p99 as number)}${unit}${partial}`;
  };
  return [head, ...b.baselines.map(line)].join('\n');
}

export function latestReportBody(monitor: PerformanceMonitor): ReportOut | { report: null; reason: string } {
  const r = monitor.getLatestReport();
  return r ? reportOut(r, undefined) : { report: null, reason: 'no report generated yet: call generate_performance_report' };
}
