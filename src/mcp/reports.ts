/**
 * Reports and baselines over MCP: generate_performance_report (progress notifications when
 * the client asks, cancellation when it cancels) and the perfwatch://report/latest resource
 * (the same answer as the tool's, for the last report). Answers are bounded: lists take
 * `limit` and say when they were cut.
 */
import type { McpServer, ServerContext } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import type { PerformanceMonitor } from '../monitor.js';
import type { Baseline, PerformanceReport } from '../reports/types.js';
import { iso, num, seriesLabel } from './format.js';
import type { MonitorHost } from './host.js';
import { limit, parseTimeRange, timeRange } from './schemas.js';
import type { McpFront } from './server.js';
import { READ, defineTool } from './tools.js';

export const REPORT_URI = 'perfwatch://report/latest';

/** Longest Markdown report returned in one answer (characters). */
const MAX_MARKDOWN = 100_000;

export const ReportInput = z.strictObject({
  time_range: timeRange.optional().describe('The span the report covers, ending now (default: all data held)'),
  include_recommendations: z.boolean({ error: 'must be true or false' }).default(true).describe('Add recommendations with their evidence (default true)'),
  include_alerts: z.boolean({ error: 'must be true or false' }).default(true).describe('Add the alert analysis (default true)'),
  format: z.enum(['json', 'markdown'], { error: 'must be json or markdown' }).default('json').describe('json: structured; markdown: a readable document in the text'),
  limit: limit(30, 500, 'metrics, series and anomalies'),
});

const Evidence = z.object({ metric: z.string(), statistic: z.string(), value: z.number().nullable() }).passthrough();

export const ReportOutput = z.object({
  format: z.enum(['json', 'markdown']),
  generated_at: z.string(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  summary: z.object({ series: z.number(), samples: z.number(), score: z.number().nullable(), diagnoses: z.number(), anomalies: z.number() }),
  score: z.object({ overall: z.number().nullable(), formula: z.string(), parts: z.array(z.object({ name: z.string(), score: z.number().nullable(), weight: z.number(), metric: z.string(), value: z.number().nullable() })) }),
  diagnoses: z.array(z.object({ id: z.string(), title: z.string(), severity: z.string(), summary: z.string(), actions: z.array(z.string()), evidence: z.array(Evidence) })),
  recommendations: z.array(z.object({ id: z.string(), title: z.string(), priority: z.string(), actions: z.array(z.string()), evidence: z.array(Evidence) })).nullable(),
  alerts: z.record(z.string(), z.unknown()).nullable(),
  metrics: z.array(z.record(z.string(), z.unknown())),
  series: z.array(z.record(z.string(), z.unknown())),
  anomalies: z.array(z.record(z.string(), z.unknown())),
  notes: z.array(z.string()),
  truncated: z.boolean().describe('true when a list was cut to limit (or the Markdown to 100,000 characters)'),
  markdown: z.string().optional(),
});

export type ReportOut = z.output<typeof ReportOutput>;

export function reportOut(r: PerformanceReport, limitN: number, format: 'json' | 'markdown', markdown?: string): ReportOut {
  const cut = <T>(xs: T[]): T[] => xs.slice(0, limitN);
  const cutMarkdown = markdown !== undefined && markdown.length > MAX_MARKDOWN;
  const out: ReportOut = {
    format,
    generated_at: new Date(r.generatedAt).toISOString(),
    from: iso(r.window.from),
    to: iso(r.window.to),
    summary: r.summary,
    score: { overall: r.score.overall, formula: r.score.formula, parts: r.score.parts.map((p) => ({ name: p.name, score: p.score, weight: p.weight, metric: p.metric, value: p.value })) },
    diagnoses: r.diagnoses.map((d) => ({ id: d.id, title: d.title, severity: d.severity, summary: d.summary, actions: d.actions, evidence: d.evidence.map(finiteEvidence) })),
    recommendations: r.recommendations ? r.recommendations.map((x) => ({ id: x.id, title: x.title, priority: x.priority, actions: x.actions, evidence: x.evidence.map(finiteEvidence) })) : null,
    alerts: r.alerts ? (finite(r.alerts) as Record<string, unknown>) : null,
    metrics: cut(r.metrics).map((m) => finite(m) as Record<string, unknown>),
    series: cut(r.series).map((s) => finite({ name: s.name, tags: s.tags, kind: s.kind, unit: s.unit, count: s.count, min: s.min, max: s.max, mean: s.mean, median: s.median, p90: s.p90, p95: s.p95, p99: s.p99, stddev: s.stddev, stddev_method: s.stddevMethod, rate: s.rate, trend_per_hour: s.trend?.slopePerHour ?? null, change: s.change?.relative ?? null }) as Record<string, unknown>),
    anomalies: cut(r.anomalies).map((a) => finite({ metric: a.metric, tags: a.tags, kind: a.kind, direction: a.direction, start: iso(a.start), end: iso(a.end), value: a.value, baseline_median: a.baselineMedian, size: a.size, peak_score: a.peakScore }) as Record<string, unknown>),
    notes: r.notes,
    truncated: r.metrics.length > limitN || r.series.length > limitN || r.anomalies.length > limitN || cutMarkdown,
  };
  if (markdown !== undefined) {
    out.markdown = cutMarkdown ? `${markdown.slice(0, MAX_MARKDOWN)}\n\n… (cut at ${MAX_MARKDOWN} characters; ask for format json with a limit)` : markdown;
  }
  return out;
}

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

export function reportText(out: ReportOut): string {
  const lines = [`report ${out.from ?? 'start'} → ${out.to}: score ${num(out.summary.score)}/100, ${out.summary.series} series, ${out.summary.samples} samples`];
  for (const p of out.score.parts) lines.push(`  ${p.name}: ${num(p.score)} (${p.metric} ${num(p.value)})`);
  for (const d of out.diagnoses) lines.push(`diagnosis [${d.severity}] ${d.title}: ${d.summary}`);
  for (const r of out.recommendations ?? []) lines.push(`recommend [${r.priority}] ${r.title}: ${r.actions[0] ?? ''}`);
  if (out.anomalies.length) lines.push(`${out.summary.anomalies} anomalies`);
  if (out.truncated) lines.push('(lists cut to limit)');
  return lines.join('\n');
}

/** Progress notifications for a request whose client sent a progress token. */
function progressReporter(ctx: ServerContext): ((done: number, total: number) => void) | undefined {
  const token = ctx.mcpReq._meta?.progressToken;
  if (token === undefined) return undefined;
  let last = -1;
  return (done, total) => {
    if (done === last) return;
    last = done;
    void ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: done, total, message: `${done} of ${total} series` } }).catch(() => {});
  };
}

export function baselinesOut(baselines: Baseline[], n: number): { baselines: Record<string, unknown>[]; total: number; truncated: boolean } {
  return {
    baselines: baselines.slice(0, n).map((b) => finite({ metric: b.metric, tags: b.tags, mean: b.mean, stddev: b.stddev, p50: b.p50, p99: b.p99, bucket_median: b.bucketMedian, bucket_mad: b.bucketMad, buckets: b.buckets, by_hour_of_week: b.hourOfWeek !== null }) as Record<string, unknown>),
    total: baselines.length,
    truncated: baselines.length > n,
  };
}

export function baselinesText(b: { baselines: Record<string, unknown>[]; total: number; truncated: boolean }): string {
  const head = `${b.total} baselines${b.truncated ? ` (showing ${b.baselines.length})` : ''}`;
  return [head, ...b.baselines.map((x) => `${seriesLabel(String(x.metric), x.tags as Record<string, string>)} mean ${num(x.mean as number)} p99 ${num(x.p99 as number)}`)].join('\n');
}

export function latestReportBody(monitor: PerformanceMonitor): ReportOut | { report: null; reason: string } {
  const r = monitor.getLatestReport();
  return r ? reportOut(r, 30, 'json') : { report: null, reason: 'no report generated yet: call generate_performance_report' };
}

export function registerReportTools(server: McpServer, front: McpFront): void {
  const host: MonitorHost = front.host;
  defineTool(
    server,
    'generate_performance_report',
    {
      title: 'Performance report',
      description:
        'A report over time_range (default all data held): a 0-100 score with its parts, per-metric statistics (count, mean, median, p90/p95/p99, stddev, rate, trend, change against baseline), anomalies, diagnoses (event loop blocked, GC pressure, leak, CPU saturation, I/O wait, error bursts, low cache hit rate, pool saturation, slow formulas) and recommendations with evidence, and an alert analysis. Use it to explain how the service did and what to change; it sends progress notifications when asked and stops when cancelled.',
      input: ReportInput,
      output: ReportOutput,
      annotations: READ,
      onDeadline: 'ask for a shorter time_range',
    },
    async (args, ctx, work) => {
      await host.readable();
      const monitor = host.monitor;
      const onProgress = progressReporter(ctx);
      const common = {
        ...(args.time_range !== undefined ? { from: Date.now() - parseTimeRange(args.time_range) } : {}),
        includeRecommendations: args.include_recommendations,
        includeAlerts: args.include_alerts,
        signal: work.signal,
        ...(onProgress ? { onProgress } : {}),
      };
      if (args.format === 'markdown') {
        const markdown = await monitor.generateReport({ ...common, format: 'markdown' });
        const json = monitor.getLatestReport();
        if (!json) throw new InvalidArgumentError('format', 'markdown report has no JSON twin');
        const out = reportOut(json, args.limit, 'markdown', markdown);
        return { structured: out, text: out.markdown! };
      }
      const report = await monitor.generateReport({ ...common, format: 'json' });
      const out = reportOut(report, args.limit, 'json');
      front.resourceUpdated(REPORT_URI);
      return { structured: out, text: reportText(out) };
    },
    front.limits,
  );

  server.registerResource(
    'report-latest',
    REPORT_URI,
    { title: 'Latest performance report', description: 'The last report generate_performance_report built (its JSON answer, lists cut to 30)', mimeType: 'application/json' },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(latestReportBody(front.host.monitor)) }] }),
  );
}
