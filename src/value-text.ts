/**
 * An alert's value as text: the one way perfwatch writes one, so that it reads the same in
 * the MCP front's alert lines and in the notifications' annotations (webhooks, Alertmanager).
 * The notifications rounded to 3 decimals until 2026-12-06: 0.000123 read `0` against a
 * threshold of 0.0001, and 100.0000001 read `100` against 100, a page that contradicted itself.
 */
import type { Aggregation } from './alerts/schema.js';
import { measured } from './engine/precision.js';

/**
 * A figure a sample had (a min, a max, a last value, a threshold given), in full: rounded to 3
 * significant digits, a max of 999.5 read `max 1000`, a value no sample had. The shortest text
 * that reads back as the same number (an exponent only past everyday magnitudes).
 */
export function exact(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e15 || a < 1e-6) ? v.toExponential() : String(v);
}

/**
 * The aggregations whose value is a sample's own (docs/reference.md: values recorded are shown
 * as given); the others derive theirs (a mean, a quantile, a rate, a sum), which answers give
 * to 6 significant digits.
 */
const SAMPLED: ReadonlySet<Aggregation> = new Set(['last', 'min', 'max']);

/** Whether a rule of this aggregation judges a value it derived (not a sample's): valueText's `derived`. */
export function derivedAggregation(aggregation: Aggregation): boolean {
  return !SAMPLED.has(aggregation);
}

/**
 * An alert's value in a line of text. A sample's value (a `last`, `min` or `max` rule's, or of
 * a rule no longer held) in full. A derived one (`derived`) to 6 significant digits, as answers
 * give means and quantiles (an avg printed `0.19905771495877503`); but in full where rounding
 * would move it onto or past the threshold it is judged against (0.1000001 read `0.1` against
 * 0.1), as 3 digits once read 999.46 as 999 against 999.45. No value: `no data`.
 */
export function valueText(value: number | undefined, threshold: number, derived: boolean): string {
  if (value === undefined || !Number.isFinite(value)) return 'no data';
  if (!derived) return exact(value);
  const rounded = measured(value);
  return Math.sign(rounded - threshold) === Math.sign(value - threshold) ? exact(rounded) : exact(value);
}
