/**
 * Metric names an agent or a user may have meant: an unknown name is an error that names the
 * nearest known ones (edit distance), not an answer that looks like empty data.
 */
import { InvalidArgumentError } from '../errors.js';
import { closeName, nearestNames } from '../suggest.js';

/** The error for a metric name no series or definition has. */
export function unknownMetricError(field: string, name: string, known: readonly string[]): InvalidArgumentError {
  const near = nearestNames(name, known);
  return new InvalidArgumentError(field, `"${name}" is not a known metric${near.length ? `; the nearest known: ${near.join(', ')}` : ''}`);
}

/**
 * What an alert rule on a metric no one has named yet should say: the rule is kept (rules may
 * come before their metric), and a typo of a known name is pointed out. Undefined for a
 * known name.
 */
export function unseenMetricNote(name: string, known: readonly string[]): string | undefined {
  if (known.includes(name)) return undefined;
  const near = closeName(name, known);
  return `no metric is named ${name} yet: the rule waits for its first series${near ? `; did you mean ${near}?` : ''}`;
}
