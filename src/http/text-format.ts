/**
 * The pieces of the Prometheus text format (0.0.4) and OpenMetrics (1.0.0) that both share:
 * numbers, escaped label values and HELP text, and which one a scraper prefers by Accept.
 *
 * Label values escape backslash, double quote and line feed (the only three the formats
 * define); everything else, unicode included, is written as UTF-8. HELP escapes backslash
 * and line feed.
 */
import { labelValue } from '../series-text.js';

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const CONTENT_TYPES: Record<ExpositionFormat, string> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/**
 * OpenMetrics when Accept names it with a weight (q) above 0 and no lower than the text
 * format's (`text/plain`, else a wildcard's), else the text format. Prometheus 2.x asks
 * for OpenMetrics first; a scraper told to prefer the text format (Prometheus's
 * scrape_protocols) names both and weighs the text format higher, and got OpenMetrics when
 * any mention of it was taken for a choice.
 */
export function formatFor(accept: string | undefined): ExpositionFormat {
  if (accept === undefined) return 'prometheus';
  // Per media range the highest weight given; -1: not named. The most specific range named
  // decides the text format's weight, as RFC 9110 says.
  const q = { 'application/openmetrics-text': -1, 'text/plain': -1, 'text/*': -1, '*/*': -1 };
  for (const range of accept.split(',')) {
    const [type = '', ...params] = range.split(';');
    const media = type.trim().toLowerCase();
    if (Object.hasOwn(q, media)) q[media as keyof typeof q] = Math.max(q[media as keyof typeof q], weight(params));
  }
  const text = q['text/plain'] >= 0 ? q['text/plain'] : q['text/*'] >= 0 ? q['text/*'] : q['*/*'];
  const om = q['application/openmetrics-text'];
  return om > 0 && om >= text ? 'openmetrics' : 'prometheus';
}

/** A media range's q parameter: 1 when it has none (or one that is not a number). */
function weight(params: string[]): number {
  for (const p of params) {
    const [name = '', value = ''] = p.split('=');
    if (name.trim().toLowerCase() !== 'q') continue;
    const q = Number(value.trim());
    return value.trim() !== '' && Number.isFinite(q) ? q : 1;
  }
  return 1;
}

/** A sample value as both formats spell it (Go's ParseFloat reads JavaScript's exponents). */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** `k1="v1",k2="v2"` of a series' tags (canonical order), without braces. */
export function labelPairs(tags: Readonly<Record<string, string>>): string {
  let out = '';
  for (const key in tags) out += `${out === '' ? '' : ','}${key}="${labelValue(tags[key]!)}"`;
  return out;
}
