/**
 * The pieces of the Prometheus text format (0.0.4) and OpenMetrics (1.0.0) that both share:
 * numbers, escaped label values and HELP text, and which one a scraper asked for in Accept.
 *
 * Label values escape backslash, double quote and line feed (the only three the formats
 * define); everything else, unicode included, is written as UTF-8. HELP escapes backslash
 * and line feed.
 */

export type ExpositionFormat = 'prometheus' | 'openmetrics';

export const CONTENT_TYPES: Record<ExpositionFormat, string> = {
  prometheus: 'text/plain; version=0.0.4; charset=utf-8',
  openmetrics: 'application/openmetrics-text; version=1.0.0; charset=utf-8',
};

/** OpenMetrics when Accept names it (Prometheus asks for it first), else the text format. */
export function formatFor(accept: string | undefined): ExpositionFormat {
  return accept !== undefined && /application\/openmetrics-text/i.test(accept) ? 'openmetrics' : 'prometheus';
}

/** A sample value as both formats spell it (Go's ParseFloat reads JavaScript's exponents). */
export function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** `k1="v1",k2="v2"` of a series' tags (canonical order), without braces. */
export function labelPairs(tags: Readonly<Record<string, string>>): string {
  let out = '';
  for (const key in tags) out += `${out === '' ? '' : ','}${key}="${escapeLabelValue(tags[key]!)}"`;
  return out;
}
