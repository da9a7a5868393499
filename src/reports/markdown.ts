/**
 * The report as Markdown: the score and its parts, diagnoses with their evidence and
 * actions, recommendations, anomalies, alerts, per-metric and per-series tables.
 */
import { isolated } from '../isolate.js';
import { seriesText } from '../series-text.js';
import { noScore } from './score.js';
import type { Anomaly, Evidence, PerformanceReport, SeriesStats } from './types.js';

/** Four significant digits, thousands kept whole; a dash for no value. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (Math.abs(x) >= 10_000) return Math.round(x).toLocaleString('en-US');
  if (x === 0) return '0';
  return String(Number(x.toPrecision(4)));
}

export function iso(t: number): string {
  return Number.isFinite(t) ? new Date(t).toISOString().replace('.000Z', 'Z') : '–';
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${fmt(ms / 1000)} s`;
  if (ms < 2 * 3_600_000) return `${fmt(ms / 60_000)} min`;
  return `${fmt(ms / 3_600_000)} h`;
}

/**
 * A series as the report's tables, evidence lines and charts show it: `name{k="v",…}`, each tag
 * value escaped as Prometheus escapes a label value and isolated for direction
 * (series-text.ts): an evidence line is one paragraph wherever it is shown, and a right-to-left
 * override in an endpoint's name turned the figures after it around (`p99 = 1500 ms` read
 * `sm 0051 = 99p`). Plain text, for the HTML report to escape as HTML; the Markdown report
 * writes a series with markdownSeries().
 */
export function seriesLabel(name: string, tags: Readonly<Record<string, string>>): string {
  return seriesText(name, tags);
}

/**
 * Text of the service's (a tag value, an alert rule's name, a diagnosis' sentence naming them)
 * as Markdown that renders it as it is: a backslash before each ASCII punctuation character that
 * can open or close an inline construct (code, emphasis, strikethrough, a link, raw HTML, an
 * entity or character reference, a hard line break, a table's cell), the backslash itself first.
 * A tag value `<script>alert(1)</script>&amp;` was raw HTML in the report, `&amp;` read `&` and
 * `` `code`*bold* `` code and bold. (`|` is the table cell's to escape: cell().)
 *
 * GFM also makes a link of a bare URL, `www.` host or address with no markup around it: a tag
 * value `https://evil.example/x` was a link in the report to wherever the service's callers
 * said, one a reader follows trusting the report. An escaped character breaks each where GFM
 * starts one (the `:` of `://`, the `.` after `www`, the `@`): rendered, the text reads the
 * same, and is no link. (A renderer that links bare host names besides, as markdown-it's
 * linkify does, still may: only a code span stops that, and the report writes names as text.)
 */
export function markdownText(text: string): string {
  return text.replace(/[\\`*_[\]<>&~!@]|:(?=\/\/)|(?<=www)\./gi, (c) => `\\${c}`);
}

/** seriesLabel() in Markdown: each tag value also escaped for Markdown (markdownText). Metric and tag names are [a-zA-Z0-9_:] (the registry's rule), and an underscore inside a word opens no emphasis. */
export function markdownSeries(name: string, tags: Readonly<Record<string, string>>): string {
  return seriesText(name, tags, markdownText);
}

/**
 * An evidence line: the series (`label`), then its statistic and unit in `text`. Plain text by
 * default; the Markdown report passes markdownSeries and markdownText, since a statistic may
 * name what a profile found (`share of samples in *foo* at src/a.js:3`: a function of the
 * service's, named as it likes).
 */
export function evidenceLine(e: Evidence, label: (name: string, tags: Readonly<Record<string, string>>) => string = seriesLabel, text: (s: string) => string = (s) => s): string {
  return `${label(e.metric, e.tags ?? {})} ${text(e.statistic)} = ${fmt(e.value)} ${text(e.unit)} (threshold ${fmt(e.threshold)}), ${iso(e.window.from)} – ${iso(e.window.to)}`;
}

/** An evidence line in Markdown: the series and the statistic each escaped (evidenceLine). */
const markdownEvidence = (e: Evidence): string => evidenceLine(e, markdownSeries, markdownText);

/** An anomaly's peak score as the tables show it: a capped one as the bound it passed (Anomaly.scoreCapped). */
export function scoreText(a: Anomaly): string {
  if (!a.scoreCapped) return fmt(a.peakScore);
  return `${a.peakScore > 0 ? '≥' : '≤'}${fmt(a.peakScore)} (capped)`;
}

/**
 * A series' change against its baseline: `+12% (vs before)`; from a baseline of 0, where no
 * share can be taken, the two means (`0 → 0.0992 (vs before)`: an error rate from none to 9.9%
 * read "–", as a series without data does). A dash only for no baseline.
 */
export function changeText(s: SeriesStats): string {
  const c = s.change;
  if (!c) return '–';
  const basis = c.basis === 'before-range' ? 'vs before' : 'last vs first quarter';
  if (c.relative === null) return `${fmt(c.baselineMean)} → ${fmt(c.currentMean)} (${basis})`;
  const sign = c.relative >= 0 ? '+' : '';
  return `${sign}${fmt(c.relative * 100)}% (${basis})`;
}

/** Escapes the characters that would break a Markdown table cell. */
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(r: PerformanceReport): string {
  const out: string[] = [];
  const row = (cells: (string | number)[]): void => {
    out.push(`| ${cells.map((c) => cell(String(c))).join(' | ')} |`);
  };
  out.push('# Performance report', '');
  out.push(`Window: ${iso(r.window.from)} – ${iso(r.window.to)} (${duration(r.window.durationMs)}); generated ${iso(r.generatedAt)}; ${r.summary.series} series, ${fmt(r.summary.samples)} samples.`, '');
  for (const note of r.notes) out.push(`> ${note}`, '');

  out.push(`## Score: ${r.score.overall === null ? noScore(r.score) : `${fmt(r.score.overall)} / 100`}`, '');
  row(['part', 'metric', 'statistic', 'unit', 'value', '100 at', '0 at', 'weight', 'score']);
  row(['---', '---', '---', '---', '---:', '---:', '---:', '---:', '---:']);
  for (const p of r.score.parts) row([p.name, p.metric, p.statistic, p.unit, fmt(p.value), fmt(p.good), fmt(p.bad), p.weight, p.score === null ? (p.note ?? 'no data') : fmt(p.score)]);
  out.push('', `Formula: ${r.score.formula}`, '');

  out.push('## Diagnoses', '');
  if (r.diagnoses.length === 0) out.push('No rule fired: nothing crossed a diagnosis threshold in this window.', '');
  // A diagnosis' title, sentence and actions are plain text, shared by every format, and name
  // the service's series, alert rules and profiled functions as they are: escaped here, whole,
  // as the tables' values are. (They hold no markup of their own to keep.)
  for (const d of r.diagnoses) {
    out.push(`### [${d.severity}] ${markdownText(d.title)}`, '', markdownText(d.summary), '', 'Evidence:');
    for (const e of d.evidence) out.push(`- ${markdownEvidence(e)}`);
    out.push('', 'Actions:');
    d.actions.forEach((a, i) => out.push(`${i + 1}. ${markdownText(a)}`));
    out.push('');
  }

  if (r.recommendations) {
    out.push('## Recommendations', '');
    if (r.recommendations.length === 0) out.push('None: no diagnosis or alert finding calls for a change.', '');
    for (const rec of r.recommendations) {
      // A flapping rule's recommendation names the rule in its title: plain text too.
      out.push(`- **${markdownText(rec.title)}** (${rec.priority} priority, ${rec.category}; from ${markdownText(rec.source)}): ${markdownText(rec.actions[0] ?? '')}`);
      for (const e of rec.evidence) out.push(`  - evidence: ${markdownEvidence(e)}`);
    }
    out.push('');
  }

  out.push('## Anomalies', '');
  if (r.anomalies.length === 0) out.push('None: no bucket deviated from its baseline (robust z ≥ 3.5) long or far enough.', '');
  else {
    row(['series', 'kind', 'start', 'buckets', 'value', 'baseline median', 'size', 'peak z']);
    row(['---', '---', '---', '---:', '---:', '---:', '---:', '---:']);
    for (const a of r.anomalies) {
      row([markdownSeries(a.metric, a.tags), `${a.kind} ${a.direction}`, iso(a.start), a.buckets, fmt(a.value), fmt(a.baselineMedian), `${a.size >= 0 ? '+' : ''}${fmt(a.size)}${a.relativeSize === null ? '' : ` (${fmt(a.relativeSize * 100)}%)`}`, scoreText(a)]);
    }
    out.push('');
  }

  if (r.alerts) {
    const a = r.alerts;
    out.push('## Alerts', '');
    if (!a.available) out.push('No alert history available.', '');
    else {
      out.push(`${a.firings} firings (${Object.entries(a.bySeverity).map(([s, n]) => `${s} ${n}`).join(', ')}); ${a.unresolved} still firing at the end.`);
      out.push(`Time to resolve: ${a.timeToResolve.episodes} episodes, mean ${a.timeToResolve.meanMs === null ? '–' : duration(a.timeToResolve.meanMs)}, median ${a.timeToResolve.medianMs === null ? '–' : duration(a.timeToResolve.medianMs)}, max ${a.timeToResolve.maxMs === null ? '–' : duration(a.timeToResolve.maxMs)}.`);
      if (a.flapping.length) out.push(`Flapping: ${a.flapping.map((f) => `${markdownText(isolated(f.ruleName))} (${f.fingerprint}, ${f.firings} firings in ${duration(f.windowMs)})`).join('; ')}.`);
      out.push('');
    }
  }

  out.push('## Metrics', '');
  row(['metric', 'kind', 'unit', 'series', 'count', 'mean', 'p50', 'p95', 'p99', 'max', 'rate/s']);
  row(['---', '---', '---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']);
  for (const m of r.metrics) row([m.name, m.kind, m.unit, m.series, fmt(m.count), fmt(m.mean), fmt(m.p50), fmt(m.p95), fmt(m.p99), fmt(m.max), fmt(m.rate)]);
  out.push('');

  out.push('## Series', '');
  row(['series', 'count', 'min', 'mean', 'median', 'p90', 'p95', 'p99', 'max', 'stddev', 'rate/s', 'trend per hour (r²)', 'change']);
  row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']);
  for (const s of r.series) {
    row([
      markdownSeries(s.name, s.tags),
      fmt(s.count),
      fmt(s.min),
      fmt(s.mean),
      fmt(s.median),
      fmt(s.p90),
      fmt(s.p95),
      fmt(s.p99),
      fmt(s.max),
      `${fmt(s.stddev)} (${s.stddevMethod})`,
      fmt(s.rate),
      s.trend ? `${fmt(s.trend.slopePerHour)} (${fmt(s.trend.r2)})` : '–',
      changeText(s),
    ]);
  }
  out.push('', `Built in ${fmt(r.timing.buildMs)} ms.`, '');
  return out.join('\n');
}
