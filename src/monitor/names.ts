/**
 * Metric names an agent or a user may have meant: an unknown name is an error that names the
 * nearest known ones (edit distance), not an answer that looks like empty data.
 */
import { distance } from 'fastest-levenshtein';
import { InvalidArgumentError } from '../errors.js';

/** The `n` known names nearest to `name`, nearest first (ties in the given order). */
export function nearestNames(name: string, known: readonly string[], n = 3): string[] {
  return known
    .map((k, i) => ({ k, i, d: distance(name, k) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .slice(0, n)
    .map((x) => x.k);
}

/** The error for a metric name no series or definition has. */
export function unknownMetricError(field: string, name: string, known: readonly string[]): InvalidArgumentError {
  const near = nearestNames(name, known);
  return new InvalidArgumentError(field, `"${name}" is not a known metric${near.length ? `; the nearest known: ${near.join(', ')}` : ''}`);
}
