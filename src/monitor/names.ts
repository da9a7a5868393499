/**
 * Metric names an agent or a user may have meant: an unknown name is an error that names the
 * nearest known ones (edit distance), not an answer that looks like empty data.
 */
import { InvalidArgumentError } from '../errors.js';
import { nearestNames } from '../suggest.js';

/** The error for a metric name no series or definition has. */
export function unknownMetricError(field: string, name: string, known: readonly string[]): InvalidArgumentError {
  const near = nearestNames(name, known);
  return new InvalidArgumentError(field, `"${name}" is not a known metric${near.length ? `; the nearest known: ${near.join(', ')}` : ''}`);
}
