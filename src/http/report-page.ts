/**
 * A report as the JSON API answers it: its per-series and per-metric lists a page at a time.
 * A report lists every series it read, and at 10,000 series `POST /api/reports` answered 6.9 MB
 * (bench/agent-answers.ts; the dashboard loads the latest on every page view); the other list routes answer 200 rows
 * a page and say how to get more, and so does this one. The library's `generateReport()` and
 * the report kept as the latest stay whole: the next page is read from it, not built again.
 */
import type { PerformanceReport } from '../reports/types.js';
import { renderMarkdown } from '../reports/markdown.js';
import { renderHtml } from '../reports/html.js';
import { HttpError } from './router.js';

/** Rows of each list a page holds by default, as `/api/metrics` answers. */
export const REPORT_PAGE_ROWS = 200;
/** The most rows of each list one page may ask for. */
export const MAX_REPORT_PAGE_ROWS = 100_000;

export type ReportFormat = 'json' | 'markdown' | 'html';

export interface ReportPageAsk {
  /** The first row of each list (series, metrics) this page holds. */
  offset: number;
  /** The most rows of each list. */
  limit: number;
  format: ReportFormat;
}

/** What a page says of its lists, in the JSON answer's `page`. */
export interface ReportPageInfo {
  offset: number;
  limit: number;
  /** Rows in the whole report. */
  series: number;
  metrics: number;
  /** The next page of the same report, while it is the latest one kept. */
  next?: string;
}

/** `limit` and `offset` of a report request's body (JSON numbers), refused naming the field. */
export function bodyRow(value: unknown, name: 'limit' | 'offset'): number | undefined {
  if (value === undefined) return undefined;
  const [min, max] = name === 'limit' ? [1, MAX_REPORT_PAGE_ROWS] : [0, Number.MAX_SAFE_INTEGER];
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new HttpError(400, `${name} must be an integer from ${min} to ${max}, got ${String(JSON.stringify(value)).slice(0, 64)}`, name);
  }
  return value;
}

/** The address of the page after this one, of the latest report; undefined on the last page. */
function nextOf(report: PerformanceReport, ask: ReportPageAsk): string | undefined {
  const end = ask.offset + ask.limit;
  if (end >= report.series.length && end >= report.metrics.length) return undefined;
  const q = new URLSearchParams({ offset: String(end), limit: String(ask.limit) });
  if (ask.format !== 'json') q.set('format', ask.format);
  return `/api/reports/latest?${q}`;
}

/**
 * The report with its series and metrics from `offset`, `limit` of each. A cut page's
 * documents (markdown, html) say so in their notes, and where the next page is.
 */
export function reportPage(report: PerformanceReport, ask: ReportPageAsk): { body: PerformanceReport & { page: ReportPageInfo } } | { text: string; type: string } {
  const next = nextOf(report, ask);
  const page: ReportPageInfo = { offset: ask.offset, limit: ask.limit, series: report.series.length, metrics: report.metrics.length, ...(next ? { next } : {}) };
  const rows = (total: number): string => {
    const shown = Math.max(0, Math.min(total, ask.offset + ask.limit) - ask.offset);
    return shown === 0 ? `none of ${total}` : `${ask.offset + 1}–${ask.offset + shown} of ${total}`;
  };
  const cut = ask.offset > 0 || next !== undefined;
  const note = `Listed: series ${rows(report.series.length)}, metrics ${rows(report.metrics.length)} (limit ${ask.limit} from offset ${ask.offset})${next ? `; the next page of this report: GET ${next}` : ''}.`;
  const paged: PerformanceReport = {
    ...report,
    series: report.series.slice(ask.offset, ask.offset + ask.limit),
    metrics: report.metrics.slice(ask.offset, ask.offset + ask.limit),
    ...(cut ? { notes: [...report.notes, note] } : {}),
  };
  if (ask.format === 'markdown') return { text: renderMarkdown(paged), type: 'text/markdown; charset=utf-8' };
  if (ask.format === 'html') return { text: renderHtml(paged), type: 'text/html; charset=utf-8' };
  return { body: { ...paged, page } };
}
