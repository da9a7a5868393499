/**
 * Alerts, rules and transitions as the MCP front answers them (snake_case, times as ISO
 * strings): the alerts tool, the rule tool and the notifications share these shapes.
 */
import { z } from 'zod';
import { ALERT_STATES, describeRule, type Alert, type AlertRule, type AlertTransition } from '../alerts/schema.js';
import { derivedAggregation, valueText } from '../value-text.js';
import { exact, iso } from './format.js';

/** Aggregation, operator and severity are the input schema's words; listed there, not again here (tools/list's budget). */
export const RuleOut = z.object({
  id: z.string(),
  name: z.string(),
  condition: z.string(),
  metric_type: z.string(),
  tags: z.record(z.string(), z.string()),
  aggregation: z.string(),
  window: z.number(),
  operator: z.string(),
  threshold: z.number(),
  severity: z.string(),
  duration: z.number(),
  cooldown: z.number(),
  auto_resolve: z.boolean(),
  resolve_threshold: z.number().nullable(),
  description: z.string().nullable(),
  capture: z.string().nullable(),
  created_at: z.string(),
});

export function ruleOut(r: AlertRule): z.output<typeof RuleOut> {
  return {
    id: r.id,
    name: r.name,
    condition: describeRule(r),
    metric_type: r.metric,
    tags: r.tags ?? {},
    aggregation: r.aggregation,
    window: r.window,
    operator: r.operator,
    threshold: r.threshold,
    severity: r.severity,
    duration: r.duration,
    cooldown: r.cooldown,
    auto_resolve: r.autoResolve,
    resolve_threshold: r.resolveThreshold ?? null,
    description: r.description ?? null,
    capture: r.capture ? `${r.capture} ${r.captureSeconds ?? 10}s` : null,
    created_at: iso(r.createdAt)!,
  };
}

/** An alert's value for an answer: none when the window it was judged on had no data. */
function valueOf(value: number): { value?: number } {
  return Number.isFinite(value) ? { value } : {};
}

/** The ids of the rules whose alerts' values are derived (not a sample's), for valueText. */
export function derivedRules(rules: readonly AlertRule[]): ReadonlySet<string> {
  return new Set(rules.filter((r) => derivedAggregation(r.aggregation)).map((r) => r.id));
}

/** An alert's value in a line of text (value-text.ts): the notifications write it the same way. */
export { valueText };

export const AlertOut = z.object({
  fingerprint: z.string(),
  rule_id: z.string(),
  rule_name: z.string(),
  metric_type: z.string(),
  tags: z.record(z.string(), z.string()),
  severity: z.string(),
  state: z.enum(['pending', 'firing', 'resolved']),
  /** Left out when there is none: an alert resolved by a window that emptied (NaN in the library, which JSON cannot carry). */
  value: z.number().optional(),
  threshold: z.number(),
  since: z.string().nullable().describe('when it entered its state'),
  /** The fields cut to fit the answer's budget (see clipItem): the text says how to get it whole. */
  clipped: z.array(z.string()).optional(),
});

export function alertOut(a: Alert): z.output<typeof AlertOut> {
  return {
    fingerprint: a.fingerprint,
    rule_id: a.ruleId,
    rule_name: a.ruleName,
    metric_type: a.metric,
    tags: a.tags,
    severity: a.severity,
    state: a.state,
    ...valueOf(a.value),
    threshold: a.threshold,
    // The rule's description is in its rule (include_rules), not repeated per alert.
    since: iso(a.state === 'resolved' ? a.resolvedAt : a.state === 'firing' ? a.firedAt : a.activeSince),
  };
}

export const TransitionOut = z.object({
  at: z.string(),
  rule_id: z.string(),
  rule_name: z.string(),
  fingerprint: z.string(),
  metric_type: z.string(),
  tags: z.record(z.string(), z.string()),
  severity: z.string(),
  from: z.enum(ALERT_STATES),
  to: z.enum(ALERT_STATES),
  /** Left out when there is none, as an alert's. */
  value: z.number().optional(),
  threshold: z.number(),
  profile: z.object({ id: z.number(), headline: z.string(), file: z.string().nullable() }).optional(),
  /** Why the alert ended with no value: its series had no sample for the rule's window. */
  reason: z.string().optional(),
});

export function transitionOut(t: AlertTransition): z.output<typeof TransitionOut> {
  const p = t.profile;
  return {
    at: iso(t.at)!,
    rule_id: t.ruleId,
    rule_name: t.ruleName,
    fingerprint: t.fingerprint,
    metric_type: t.metric,
    tags: t.tags,
    severity: t.severity,
    from: t.from,
    to: t.to,
    ...valueOf(t.value),
    threshold: t.threshold,
    ...(p ? { profile: { id: p.id, headline: p.headline, file: p.file } } : {}),
    ...(t.reason !== undefined ? { reason: t.reason } : {}),
  };
}
