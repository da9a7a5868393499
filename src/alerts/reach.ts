/**
 * Whether a rule's threshold lies where its metric's values can reach: a built-in metric whose
 * unit bounds its samples (builtinRange: error_rate is a ratio from 0 to 1, cpu_usage a
 * percentage from 0 to 100, a time is not negative) takes no value outside that range, and
 * neither does a sample's, a mean's, a minimum's, a maximum's or a quantile's of its samples.
 * `error_rate > 5`, written as a percentage, was taken without a word and could never fire;
 * `resolveThreshold: -1` on `error_rate > 0.05` kept a firing alert firing for good.
 */
import { builtinRange } from '../engine/metrics.js';

// The rule's words as strings, not schema.ts's types: schema.ts checks rules with this module,
// and importing its types back would make a cycle.
type Aggregation = string;
type Operator = string;

/** Aggregations whose value lies within the range of the samples it is made of (count, sum, rate and anomaly do not). */
const WITHIN: ReadonlySet<Aggregation> = new Set(['last', 'avg', 'min', 'max', 'p50', 'p90', 'p95', 'p99']);

interface Judged {
  metric: string;
  aggregation: Aggregation;
  operator: Operator;
}

/** Why `threshold` puts the rule's condition out of reach of its metric's values, or undefined. */
export function unreachableThreshold(rule: Judged, threshold: number): string | undefined {
  return unreachable(rule, rule.operator, threshold, 'the rule could never fire');
}

/** Why `resolveThreshold` leaves a firing alert of the rule no value to resolve on, or undefined. */
export function unreachableResolve(rule: Judged, resolveThreshold: number): string | undefined {
  // It resolves once the condition on resolveThreshold no longer holds: `> r` on a value at or below r.
  const clear = CLEARED[rule.operator];
  return clear === undefined ? undefined : unreachable(rule, clear, resolveThreshold, 'a firing alert of it could never resolve');
}

/** The condition a value meets where `op` on the same threshold no longer holds (hysteresis has none for == and !=). */
const CLEARED: Readonly<Record<Operator, Operator | undefined>> = { '>': '<=', '>=': '<', '<': '>=', '<=': '>' };

/** Why no value of the rule's metric meets `op` on `threshold` (`outcome`: what that makes of the rule), or undefined. */
function unreachable(rule: Judged, op: Operator, threshold: number, outcome: string): string | undefined {
  const range = rangeOf(rule);
  if (!range) return undefined;
  const [min, max] = range;
  let bound: string | undefined;
  if (op === '>' && !(threshold < max)) bound = `below ${max}`;
  else if (op === '>=' && !(threshold <= max)) bound = `at most ${max}`;
  else if (op === '<' && !(threshold > min)) bound = `above ${min}`;
  else if (op === '<=' && !(threshold >= min)) bound = `at least ${min}`;
  else if (op === '==' && !(threshold >= min && threshold <= max)) bound = bounded(max) ? `from ${min} to ${max}` : `at least ${min}`;
  if (bound === undefined) return undefined;
  return `must be ${bound} with operator ${rule.operator} on ${rangeText(rule.metric, min, max)}${percentHint(range, threshold)}: ${outcome}`;
}

/** The values the rule's aggregation of its metric can take, or undefined when they are not bounded. */
function rangeOf(rule: Judged): readonly [number, number] | undefined {
  if (!WITHIN.has(rule.aggregation)) return undefined;
  const range = builtinRange(rule.metric);
  return range ? [range.min, range.max] : undefined;
}

/** `error_rate, a ratio from 0 to 1`; `response_time, never negative`. */
function rangeText(metric: string, min: number, max: number): string {
  const range = builtinRange(metric)!;
  // The open-ended units' rule text names the magnitude limit of every sample: not what the reader needs here.
  return bounded(max) ? `${metric}, ${range.rule}` : `${metric}, which is never ${min === 0 ? 'negative' : `below ${min}`}`;
}

/** A ratio's or a percentage's range, not the magnitude limit of an open-ended unit. */
function bounded(max: number): boolean {
  return max === 1 || max === 100;
}

/** A ratio's threshold written as a percentage (`error_rate > 5`): what it meant. */
function percentHint(range: readonly [number, number], value: number): string {
  return range[1] === 1 && value > 1 && value <= 100 ? ` (${value}% is ${Number((value / 100).toPrecision(12))})` : '';
}
