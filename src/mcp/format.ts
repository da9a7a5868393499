/**
 * Shaping library answers for an agent: snake_case structured content that matches the output
 * schemas, and a compact text rendering of the same facts (one line per series, numbers
 * rounded to what a reader needs), since many clients show the model only the text.
 */
import { measured, significant } from '../engine/precision.js';
import { seriesText } from '../series-text.js';
import { exact } from '../value-text.js';
import { withJson } from './prebuilt.js';
import type { MetricSnapshot } from '../monitor/query.js';
import type { z } from 'zod';
import type { MetricSummary } from './schemas.js';

/** A figure a sample had, in full (value-text.ts: an alert's value reads the same wherever it is shown). */
export { exact };

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

/**
 * A figure of a series' line (metricLine): its value, mean or rate, quantiles and max, all to
 * MEASURED_DIGITS (6) significant digits, the precision answers carry derived statistics in
 * (stat()), so the text says what the structured answer says. One rule for the whole line: the
 * mean went through num() (3 digits) and the max through exact() (every binary digit), so a
 * mean of 997.5 read `998` beside `max 998`, while a single sample of 0.1 + 0.2 read
 * `p50 0.30000000000000004 … max 0.30000000000000004` beside its mean `0.3`. Six digits keep
 * a figure a sample had as it was recorded (999.5 stays 999.5, never 1000) and drop only the
 * float noise past them. Lines elsewhere that show a figure against a threshold (alerts, a
 * history's first/last/min/max) keep exact().
 */
export function figure(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '-' : exact(measured(v));
}

/**
 * A quantile beside the min and max it lies within: as figure() gives it, a sketch's estimate
 * past a bound taken as the bound. Rounding is monotone, so the quantile shown never reads
 * past the max shown (`p99 91.3 max 91.2956` once did, at 3 digits against the max in full).
 */
export function quantile(v: number | null | undefined, min: number | null, max: number | null): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  return figure(max !== null && v > max ? max : min !== null && v < min ? min : v);
}

/**
 * A series in an answer's text: `name{k="v",…}`, each value quoted, escaped and isolated as
 * series-text.ts writes it. Written `name{k=v}`, {route:'a', x:'1'} and {route:'a,x=1'} read
 * alike, and a right-to-left override in a value turned the rest of the line around.
 */
export function seriesLabel(name: string, tags: Readonly<Record<string, string>>): string {
  return seriesText(name, tags);
}

/** A derived statistic (a mean, a rate, a quantile) as answers carry it (see engine/precision.ts). */
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
    ...(w.quantileCount !== undefined ? { quantile_count: w.quantileCount } : {}),
    total_count: m.totalCount,
  };
}

/** `response_time{endpoint=/a} 12.5 ms  p50 11 p99 40 n=120` */
export function metricLine(m: MetricSummaryOut): string {
  const unit = m.unit && m.unit !== 'count' ? ` ${m.unit}` : '';
  // A gauge's value is its last sample; a counter's a rate and a distribution's a mean: every figure by one rule (figure()).
  let line = `${seriesLabel(m.name, m.tags)} ${figure(m.value)}${m.kind === 'counter' ? '/s' : unit}`;
  if (m.kind === 'distribution' && m.count > 0) line += `  p50 ${quantile(m.p50, m.min, m.max)} p90 ${quantile(m.p90, m.min, m.max)} p99 ${quantile(m.p99, m.min, m.max)} max ${figure(m.max)}`;
  if (m.quantile_count !== undefined) line += ` (quantiles of ${m.quantile_count})`;
  line += `  n=${m.count}`;
  return line;
}

/**
 * A metrics answer's text. `offset` is where its page starts (get_performance_metrics pages;
 * the status answer shows the first series only, and says where the rest are); `idle` how
 * many of the total had no sample in the window, listed after the others (metrics-page.ts).
 */
export function metricsText(metrics: MetricSummaryOut[], total: number, truncated: boolean, windowSeconds: number, lines: readonly string[] = metrics.map(metricLine), coveredSeconds?: number, offset?: number, idle = 0): string {
  if (total === 0) return 'no metrics with data yet';
  const covered = coveredSeconds !== undefined ? ` (this monitor watched ${coveredSeconds}s of it: ${EARLIER})` : '';
  // Said, as where they are: a page of series recorded once (a request id in a tag) read as the service now.
  const quiet = idle === 0 ? '' : idle === total ? `; none had a sample in it` : `; ${idle} had no sample in it, listed after the ${total - idle} that did (from offset ${total - idle})`;
  const from = offset ? ` from offset ${offset}` : '';
  const page = metrics.length === 0 ? ` (none${from || ' from offset 0'}: offset counts from 0 to ${total - 1})` : truncated ? ` (showing ${metrics.length}${from}: ${offset === undefined ? MORE_SERIES : moreSeries(offset + metrics.length)})` : from ? ` (showing ${metrics.length}${from})` : '';
  return `${total} series, last ${windowSeconds}s${covered}${quiet}${page}\n${lines.join('\n')}`;
}

/** Where the samples before a monitor's start are, when a window reaches past it. */
export const EARLIER = 'samples from before it started are in get_metric_history when storage kept them';

/** What to do for the series the status answer left out. */
export const MORE_SERIES = 'pass limit (up to 1000) for more, get_performance_metrics (offset) for every series, or metric_types or tags to choose';

/** What to do for the series after a page of get_performance_metrics. */
function moreSeries(next: number): string {
  return `pass offset ${next} for the next page (limit: up to 1000 a page), or metric_types or tags to choose`;
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

  /**
   * The summaries and text lines of `snapshots`, in order, as many as fit in `budget` bytes
   * (each summary's JSON and its line; at least one).
   */
  of(snapshots: readonly MetricSnapshot[], budget = Infinity): { metrics: MetricSummaryOut[]; lines: string[] } {
    const metrics: MetricSummaryOut[] = [];
    const lines: string[] = [];
    const jsons: string[] = [];
    let used = 0;
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
      const json = (s.json ??= JSON.stringify(s.summary));
      used += json.length + s.line.length + 2;
      if (used > budget && i > 0) break;
      metrics.push(s.summary);
      lines.push(s.line);
      jsons.push(json);
    }
    return { metrics: withJson(metrics, `[${jsons.join(',')}]`), lines };
  }
}
