/**
 * Metric names an agent or a user may have meant: an unknown name is an error that names the
 * nearest known ones (edit distance), not an answer that looks like empty data.
 */
import { InvalidArgumentError } from '../errors.js';
import { closeName, didYouMean, nearestNames } from '../suggest.js';
import { tagsText } from '../series-text.js';

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

/** Values of a tag listed in a note: enough to see the spelling, not every endpoint. */
const VALUES_SHOWN = 5;

/**
 * What an alert rule on a known metric should say when none of its series has the rule's tags:
 * the rule is kept (a series may come), and the tag key or value a typo most likely meant is
 * pointed out — a rule on {endpont="/slow"} was created without a word and never fired.
 * `series` are the tags of the metric's series; undefined when one matches or there are none.
 */
export function unmatchedTagsNote(name: string, tags: Readonly<Record<string, string>> | undefined, series: readonly Readonly<Record<string, string>>[]): string | undefined {
  if (!tags || series.length === 0) return undefined;
  const pairs = Object.entries(tags);
  if (pairs.length === 0 || series.some((s) => pairs.every(([k, v]) => s[k] === v))) return undefined;
  const keys = [...new Set(series.flatMap((s) => Object.keys(s)))];
  const head = `no series of ${name} has {${tagsText(tags)}} yet: the rule waits for one`;
  const missing = pairs.find(([k]) => !keys.includes(k));
  if (missing) return `${head}; its series have the tag${keys.length === 1 ? '' : 's'} ${keys.join(', ') || '(none)'}${didYouMean(missing[0], keys)}`;
  // Every key exists: the first value no series has, with the values there are.
  const [key, value] = pairs.find(([k, v]) => !series.some((s) => s[k] === v)) ?? pairs[0]!;
  const values = [...new Set(series.map((s) => s[key]).filter((v): v is string => v !== undefined))];
  const shown = values.slice(0, VALUES_SHOWN).join(', ') + (values.length > VALUES_SHOWN ? `, … (${values.length})` : '');
  return `${head}; ${key} is ${shown} on its series${didYouMean(value, values)}`;
}

/**
 * The tags filter that a typo in `tags` most likely meant, given the tags of the series it
 * was to match: each tag name no series has becomes the close one they have (did you mean),
 * then each value none has the close value of that tag. Undefined when a series matches
 * `tags` as given, or when no typo explains the miss (the filter so mended matches none).
 */
export function meantTags(tags: Readonly<Record<string, string>>, series: readonly Readonly<Record<string, string>>[]): Record<string, string> | undefined {
  const pairs = Object.entries(tags);
  const fits = (filter: Readonly<Record<string, string>>): boolean => series.some((s) => Object.entries(filter).every(([k, v]) => s[k] === v));
  if (pairs.length === 0 || series.length === 0 || fits(tags)) return undefined;
  const keys = [...new Set(series.flatMap((s) => Object.keys(s)))];
  const meant: Record<string, string> = {};
  for (const [k, v] of pairs) {
    const key = keys.includes(k) ? k : closeName(k, keys);
    if (key === undefined) return undefined;
    const values = [...new Set(series.map((s) => s[key]).filter((x): x is string => x !== undefined))];
    const value = values.includes(v) ? v : closeName(v, values);
    if (value === undefined) return undefined;
    meant[key] = value;
  }
  return fits(meant) ? meant : undefined;
}
