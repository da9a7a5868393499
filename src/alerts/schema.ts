/**
 * Alert rules, alerts and transitions: the zod schema of a rule is the single source of its
 * fields, defaults and limits (the MCP and HTTP fronts map onto it), and the types come from it.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import { toInvalidArgument } from '../schema-errors.js';
import { MAX_NAME_LENGTH, NAME_PATTERN, TAG_KEY_PATTERN } from '../engine/registry.js';
import { DEFAULT_SECONDS, captureKind, captureSeconds, type CaptureNote } from '../profiling/schema.js';
import { unreachableResolve, unreachableThreshold } from './reach.js';
import { AGGREGATIONS, ALERT_STATES, OPERATORS, SEVERITIES, type Aggregation, type AlertState, type Operator, type Severity } from './vocabulary.js';

export { AGGREGATIONS, ALERT_STATES, OPERATORS, SEVERITIES };
export type { Aggregation, AlertState, Operator, Severity };

/** zod 4's number() refuses NaN and ±Infinity with this message too. */
const finite = () => z.number({ error: 'must be a finite number' });
const seconds = (max: number) =>
  z
    .number({ error: `must be a number of seconds from 0 to ${max}` })
    .min(0, { error: `must be a number of seconds from 0 to ${max}` })
    .max(max, { error: `must be a number of seconds from 0 to ${max}` });
/** Entries a rule's tags or labels may have. */
const MAX_LABELS = 32;
const labelMap = (what: string) =>
  z
    .record(
      z
        .string()
        .regex(TAG_KEY_PATTERN, { error: `is not a valid ${what} name: it must match [a-zA-Z_][a-zA-Z0-9_]*` })
        // Reserved (no series is recorded with such a tag, and Alertmanager keeps __ labels to
        // itself): a rule filtered on one could never match, and was taken without a word.
        .refine((k) => !k.startsWith('__'), { error: `is not a valid ${what} name: names starting with __ are reserved` })
        .max(100, { error: `is a ${what} name longer than 100 characters` }),
      // Said after the entry's path (tags.route): "tags.route tag values must be strings" said the field twice.
      z.string({ error: 'must be a string' }).max(1024, { error: 'must be at most 1024 characters' }),
      { error: `must be an object of ${what} names to string values` },
    )
    .refine((r) => Object.keys(r).length <= MAX_LABELS, { error: `must have at most ${MAX_LABELS} entries` })
    // The refinement is not JSON Schema: the limit is listed too, so a client knows it before it is refused.
    .meta({ maxProperties: MAX_LABELS });

export const AlertRuleInputSchema = z
  .strictObject({
    /** Shown in notifications (Alertmanager's alertname); default: derived from the rule. */
    name: z
      .string({ error: 'must be a string of 1 to 200 characters' })
      .min(1, { error: 'must be 1 to 200 characters' })
      .max(200, { error: 'must be 1 to 200 characters' })
      .optional(),
    metric: z
      .string({ error: 'must be a metric name' })
      // Said with its limit: the string's own error ("must be a metric name") said only that a 300-character name was not one.
      .max(MAX_NAME_LENGTH, { error: `must be a metric name of at most ${MAX_NAME_LENGTH} characters` })
      .regex(NAME_PATTERN, { error: 'must match [a-zA-Z_:][a-zA-Z0-9_:]*' }),
    /** The rule applies to every series of the metric whose tags include these. */
    tags: labelMap('tag').optional(),
    aggregation: z.enum(AGGREGATIONS, { error: `must be one of ${AGGREGATIONS.join(', ')}` }).default('last'),
    /** Seconds of closed buckets a window aggregation covers. */
    window: z
      .number({ error: 'must be a number of seconds from 1 to 86400' })
      .min(1, { error: 'must be a number of seconds from 1 to 86400' })
      .max(86_400, { error: 'must be a number of seconds from 1 to 86400' })
      .default(60),
    operator: z.enum(OPERATORS, { error: `must be one of ${OPERATORS.join(' ')}` }),
    threshold: finite(),
    severity: z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` }).default('warning'),
    /** Seconds the condition must hold before the alert fires (Prometheus's `for`). */
    duration: seconds(86_400).default(0),
    /** Seconds after a resolution during which the same alert does not fire again. */
    cooldown: seconds(86_400).default(0),
    /** Resolve by itself when the condition clears; otherwise it stays firing until resolveAlert(). */
    autoResolve: z.boolean({ error: 'must be a boolean' }).default(true),
    /** Hysteresis: a firing alert resolves only once the value is past this, on the good side. */
    resolveThreshold: finite().optional(),
    description: z.string({ error: 'must be a string of at most 1000 characters' }).max(1000, { error: 'must be at most 1000 characters' }).optional(),
    labels: labelMap('label').optional(),
    /**
     * A profile of the main thread taken when an alert of the rule fires: 'cpu' (a CPU profile)
     * or 'heap' (a sampling heap profile); its summary goes on the firing's history entry and
     * into the notifications. At most one per profiling.ruleIntervalMs per rule.
     */
    capture: captureKind.optional(),
    /** The capture's length (default 10). */
    captureSeconds: captureSeconds.optional(),
  })
  .superRefine((rule, ctx) => {
    if (rule.captureSeconds !== undefined && rule.capture === undefined) {
      ctx.addIssue({ code: 'custom', path: ['captureSeconds'], message: "needs capture ('cpu' or 'heap'): it is the length of the rule's capture" });
    }
    // A threshold its metric's values cannot reach (`error_rate > 5`, a ratio's as a percentage)
    // is a rule that never fires; one they cannot leave (`cache_hit_rate < 80`), one that fires
    // at its first sample and never resolves.
    const unreached = unreachableThreshold(rule, rule.threshold);
    if (unreached) ctx.addIssue({ code: 'custom', path: ['threshold'], message: unreached });
    const unresolved = rule.autoResolve ? unreachableResolve(rule, rule.resolveThreshold ?? rule.threshold) : undefined;
    if (unresolved) ctx.addIssue({ code: 'custom', path: [rule.resolveThreshold === undefined ? 'threshold' : 'resolveThreshold'], message: unresolved });
    if (rule.resolveThreshold === undefined) return;
    const { operator: op, threshold: t, resolveThreshold: r } = rule;
    if (op === '==' || op === '!=') {
      ctx.addIssue({ code: 'custom', path: ['resolveThreshold'], message: `has no meaning with operator ${op}: hysteresis needs <, <=, > or >=` });
    } else if ((op === '>' || op === '>=') && r > t) {
      ctx.addIssue({ code: 'custom', path: ['resolveThreshold'], message: `must be at or below threshold ${t} for operator ${op} (the alert resolves when the value falls back past it)` });
    } else if ((op === '<' || op === '<=') && r < t) {
      ctx.addIssue({ code: 'custom', path: ['resolveThreshold'], message: `must be at or above threshold ${t} for operator ${op} (the alert resolves when the value climbs back past it)` });
    }
  });

export type AlertRuleInput = z.input<typeof AlertRuleInputSchema>;

export interface AlertRule extends z.output<typeof AlertRuleInputSchema> {
  id: string;
  name: string;
  createdAt: number;
}

/** One alert: a rule applied to one series. */
export interface Alert {
  fingerprint: string;
  ruleId: string;
  ruleName: string;
  metric: string;
  tags: Record<string, string>;
  severity: Severity;
  state: Exclude<AlertState, 'inactive'>;
  /** The value of the latest evaluation. */
  value: number;
  threshold: number;
  /** When the current episode began (pending, or firing with no duration). */
  activeSince: number;
  firedAt: number | null;
  resolvedAt: number | null;
  description: string;
  labels: Record<string, string>;
}

/** An entry of the alert history: one state change of one alert. */
export interface AlertTransition {
  at: number;
  ruleId: string;
  ruleName: string;
  fingerprint: string;
  metric: string;
  tags: Record<string, string>;
  severity: Severity;
  from: AlertState;
  to: AlertState;
  value: number;
  threshold: number;
  /** On a firing of a rule with `capture`: the capture's note, or why there is none (set when the capture ends). */
  profile?: CaptureNote;
  /** Why the alert ended without a judged value: its series had no sample for the rule's window (see goneReason), or its rule was deleted (deletedReason). */
  reason?: string;
}

export function parseAlertRule(input: unknown): z.output<typeof AlertRuleInputSchema> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidArgumentError('rule', 'must be an object with metric, operator and threshold');
  }
  const parsed = AlertRuleInputSchema.safeParse(input);
  if (!parsed.success) {
    // A misspelt field is named as one, before what its absence made wrong: `operater` read
    // "operator must be one of > < >= <= == !=, got undefined".
    const unknown = parsed.error.issues.filter((issue) => issue.code === 'unrecognized_keys');
    throw toInvalidArgument(unknown.length > 0 ? new z.ZodError(unknown) : parsed.error, input, '', 'rule field', AlertRuleInputSchema);
  }
  return withDefaults(parsed.data);
}

/**
 * A rule as applied where zod has no default to fill: a capture's length, when not given,
 * is its default (the rule lists it). Run on rules stored before it was filled too, so that
 * ruleKey finds one created again at a start the same rule.
 */
export function withDefaults<R extends { capture?: unknown; captureSeconds?: number | undefined }>(rule: R): R {
  if (rule.capture !== undefined) rule.captureSeconds ??= DEFAULT_SECONDS;
  return rule;
}

/**
 * What makes two rules the same: every field as applied (defaults filled in, the name given or
 * derived), tags and labels in key order, an empty map as none. Two such rules judge the same
 * series alike, so they fire together and notify every alert twice.
 */
export function ruleKey(rule: AlertRule): string {
  const fields: [string, unknown][] = [];
  for (const key of Object.keys(rule).sort()) {
    if (key === 'id' || key === 'createdAt') continue;
    let value: unknown = rule[key as keyof AlertRule];
    if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      value = entries.length ? entries : undefined;
    }
    if (value !== undefined) fields.push([key, value]);
  }
  return JSON.stringify(fields);
}

export function describeRule(rule: Pick<AlertRule, 'metric' | 'aggregation' | 'window' | 'operator' | 'threshold'>): string {
  return `${ruleSubject(rule)} ${rule.operator} ${rule.threshold}`;
}

/** What a rule judges: `p99(response_time[60s])`, or the metric itself for a `last` rule. */
export function ruleSubject(rule: Pick<AlertRule, 'metric' | 'aggregation' | 'window'>): string {
  return rule.aggregation === 'last' ? rule.metric : `${rule.aggregation}(${rule.metric}[${rule.window}s])`;
}
