/**
 * Alerts over MCP: the rule tool (snake_case mapped onto the engine's AlertRuleInputSchema, whose
 * fields and limits it reuses), the alerts tool, the perfwatch://alerts resource, and the
 * notifications of alert transitions (a log message to 2025-era clients, level by severity;
 * resources/updated to subscribers of perfwatch://alerts on every era).
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { AGGREGATIONS, ALERT_STATES, AlertRuleInputSchema, OPERATORS, SEVERITIES, describeRule, type Alert, type AlertRule, type AlertTransition } from '../alerts/schema.js';
import { InvalidArgumentError, PerfwatchError } from '../errors.js';
import type { PerformanceMonitor } from '../monitor.js';
import { iso, num, seriesLabel } from './format.js';
import { ANSWER_BYTES, jsonBytes, textBytes } from './budget.js';
import { intRange, metricName, perLimits, tagsFor, type TagLimits } from './schemas.js';
import type { LogLevel, McpFront } from './server.js';
import { READ, WRITE, defineTool } from './tools.js';

export const ALERTS_URI = 'perfwatch://alerts';

/** Rules listed in an alerts answer's counts per rule. */
const BY_RULE = 10;

const shape = AlertRuleInputSchema.shape;

/** The engine's rule fields under their MCP names (metric_type, auto_resolve, resolve_threshold). */
export const alertRuleArgsFor = perLimits((l: TagLimits) =>
  z.strictObject({
  metric_type: metricName,
  operator: shape.operator,
  threshold: shape.threshold.describe("in the metric's unit"),
  severity: shape.severity.unwrap(),
  aggregation: shape.aggregation.describe('Default last: each sample'),
  window: shape.window.describe('Seconds'),
  duration: shape.duration.describe('Seconds held before firing'),
  cooldown: shape.cooldown.describe('Seconds before re-firing'),
  tags: tagsFor(l).optional().describe('Series with these tags'),
  auto_resolve: shape.autoResolve,
  resolve_threshold: shape.resolveThreshold.describe('Hysteresis: resolve past this'),
  name: shape.name,
  description: shape.description,
  labels: shape.labels.describe('For notifications'),
  }),
);

const CAMEL_TO_SNAKE: Record<string, string> = { metric: 'metric_type', autoResolve: 'auto_resolve', resolveThreshold: 'resolve_threshold' };

/** An engine error about a rule field, with the field under its MCP name. */
function snakeError(error: unknown): unknown {
  if (!(error instanceof PerfwatchError) || error.field === undefined) return error;
  const base = error.field.split('.').pop()!;
  const mapped = CAMEL_TO_SNAKE[base];
  if (mapped === undefined) return error;
  const message = error.message.replace(new RegExp(`\\b${base}\\b`, 'g'), mapped);
  const rule = message.startsWith(`${error.field} `) ? message.slice(error.field.length + 1) : message;
  return new InvalidArgumentError(mapped, rule.replace(new RegExp(`^${mapped} `), ''));
}

const RuleOut = z.object({
  id: z.string(),
  name: z.string(),
  condition: z.string(),
  metric_type: z.string(),
  tags: z.record(z.string(), z.string()),
  aggregation: z.enum(AGGREGATIONS),
  window: z.number(),
  operator: z.enum(OPERATORS),
  threshold: z.number(),
  severity: z.enum(SEVERITIES),
  duration: z.number(),
  cooldown: z.number(),
  auto_resolve: z.boolean(),
  resolve_threshold: z.number().nullable(),
  description: z.string().nullable(),
  created_at: z.string(),
});

function ruleOut(r: AlertRule): z.output<typeof RuleOut> {
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
    created_at: iso(r.createdAt)!,
  };
}

const AlertOut = z.object({
  fingerprint: z.string(),
  rule_id: z.string(),
  rule_name: z.string(),
  metric_type: z.string(),
  tags: z.record(z.string(), z.string()),
  severity: z.enum(SEVERITIES),
  state: z.enum(['pending', 'firing', 'resolved']),
  value: z.number(),
  threshold: z.number(),
  since: z.string().nullable().describe('when it entered its state'),
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
    value: a.value,
    threshold: a.threshold,
    // The rule's description is in its rule (include_rules), not repeated per alert.
    since: iso(a.state === 'resolved' ? a.resolvedAt : a.state === 'firing' ? a.firedAt : a.activeSince),
  };
}

const TransitionOut = z.object({
  at: z.string(),
  rule_id: z.string(),
  rule_name: z.string(),
  fingerprint: z.string(),
  metric_type: z.string(),
  tags: z.record(z.string(), z.string()),
  severity: z.enum(SEVERITIES),
  from: z.enum(ALERT_STATES),
  to: z.enum(ALERT_STATES),
  value: z.number(),
  threshold: z.number(),
});

export function transitionOut(t: AlertTransition): z.output<typeof TransitionOut> {
  return { at: iso(t.at)!, rule_id: t.ruleId, rule_name: t.ruleName, fingerprint: t.fingerprint, metric_type: t.metric, tags: t.tags, severity: t.severity, from: t.from, to: t.to, value: t.value, threshold: t.threshold };
}

const STATE_QUERY = ['pending', 'firing', 'resolved', 'active', 'all'] as const;

export const AlertsArgs = z.strictObject({
  state: z.enum(STATE_QUERY, { error: `must be one of ${STATE_QUERY.join(', ')}` }).default('active').describe('active: pending and firing'),
  severity: z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` }).optional(),
  include_rules: z.boolean({ error: 'must be true or false' }).default(false),
  include_history: z.boolean({ error: 'must be true or false' }).default(false).describe('newest first'),
  limit: intRange(1, 1000).optional().describe('Per list (default: fits 8 KB)'),
});

const RuleCount = z.object({ rule_id: z.string(), rule_name: z.string(), severity: z.enum(SEVERITIES), firing: z.number(), pending: z.number() });

export const AlertsOutput = z.object({
  alerts: z.array(AlertOut),
  total: z.number(),
  truncated: z.boolean(),
  counts: z.object({ pending: z.number(), firing: z.number(), rules: z.number() }),
  by_rule: z.array(RuleCount).describe(`active alerts per rule (top ${BY_RULE})`),
  rules: z.array(z.record(z.string(), z.unknown())).optional().describe('as create_performance_alert_rule'),
  rules_truncated: z.boolean().optional(),
  history: z.array(z.record(z.string(), z.unknown())).optional().describe('as notifications'),
  history_truncated: z.boolean().optional(),
});

export type AlertsAnswer = z.output<typeof AlertsOutput>;

function alertLine(a: z.output<typeof AlertOut>): string {
  const since = a.state === 'resolved' ? `resolved ${a.since}` : `${a.state} since ${a.since}`;
  return `${a.severity.toUpperCase()} ${a.rule_name}: ${seriesLabel(a.metric_type, a.tags)} = ${num(a.value)} (threshold ${num(a.threshold)}), ${since}`;
}

function ruleLine(r: z.output<typeof RuleOut>): string {
  return `  ${r.id} ${r.name}: ${r.condition} (${r.severity}${r.duration ? `, for ${r.duration}s` : ''})`;
}

function transitionLine(t: z.output<typeof TransitionOut>): string {
  return `  ${t.at} ${t.rule_name} ${seriesLabel(t.metric_type, t.tags)}: ${t.from} → ${t.to} at ${num(t.value)}`;
}

/** Active alerts per rule, most first. */
function byRule(active: readonly Alert[]): z.output<typeof RuleCount>[] {
  const counts = new Map<string, z.output<typeof RuleCount>>();
  for (const a of active) {
    let c = counts.get(a.ruleId);
    if (!c) counts.set(a.ruleId, (c = { rule_id: a.ruleId, rule_name: a.ruleName, severity: a.severity, firing: 0, pending: 0 }));
    if (a.state === 'firing') c.firing++;
    else if (a.state === 'pending') c.pending++;
  }
  return [...counts.values()].sort((x, y) => y.firing + y.pending - (x.firing + x.pending));
}

/**
 * Items of a list that fit: `limit` when one was asked for, else as many as fit in `budget`
 * bytes (each item's JSON and text line).
 */
function take<T>(items: readonly T[], line: (x: T) => string, limitN: number | undefined, budget: number): { shown: T[]; lines: string[]; bytes: number } {
  const shown: T[] = [];
  const lines: string[] = [];
  let bytes = 0;
  for (const x of items) {
    if (limitN !== undefined && shown.length >= limitN) break;
    const l = line(x);
    const cost = jsonBytes(x) + textBytes(l) + 2;
    if (limitN === undefined && bytes + cost > budget) break;
    shown.push(x);
    lines.push(l);
    bytes += cost;
  }
  return { shown, lines, bytes };
}

/** What to do for the items an alerts answer left out. */
const MORE_ALERTS = 'pass limit (up to 1000) for more, or state and severity to choose';

/**
 * The alerts answer shared by the tool, the status tool and the resource; `status`, the
 * alert counts, for a caller that has read the monitor's status already. Without a limit,
 * the lists share `budget` bytes in order: alerts, rules, history.
 */
export function alertsAnswer(
  monitor: PerformanceMonitor,
  args: z.output<typeof AlertsArgs>,
  status: { pending: number; firing: number; rules: number } = monitor.status().alerts,
  budget = ANSWER_BYTES,
): { structured: AlertsAnswer; text: string } {
  const all = monitor
    .getAlerts({ state: args.state, ...(args.severity ? { severity: args.severity } : {}) })
    .sort((a, b) => b.activeSince - a.activeSince);
  const rules = byRule(args.state === 'active' || args.state === 'all' ? all : monitor.getAlerts({ state: 'active' }));
  const counts = rules.slice(0, BY_RULE);
  const head = `${status.firing} firing, ${status.pending} pending, ${status.rules} rules; ${all.length} ${args.state} alert${all.length === 1 ? '' : 's'}${args.severity ? ` of severity ${args.severity}` : ''}`;
  const countLine = counts.length ? `by rule: ${counts.map((c) => `${c.rule_name} (${c.severity}) ${c.firing} firing${c.pending ? `, ${c.pending} pending` : ''}`).join('; ')}${rules.length > counts.length ? `; ${rules.length - counts.length} more rules` : ''}` : '';
  // The fixed part (counts, the envelope) first; the lists share what is left.
  let left = budget - 600 - 2 * textBytes(head) - textBytes(countLine) - jsonBytes(counts);
  const lists = 1 + (args.include_rules ? 1 : 0) + (args.include_history ? 1 : 0);
  const alerts = take(all.map(alertOut), alertLine, args.limit, left / lists);
  left -= alerts.bytes;
  const structured: AlertsAnswer = { alerts: alerts.shown, total: all.length, truncated: alerts.shown.length < all.length, counts: { pending: status.pending, firing: status.firing, rules: status.rules }, by_rule: counts };
  const lines = [`${head}${structured.truncated ? ` (showing ${alerts.shown.length}: ${MORE_ALERTS})` : ''}`];
  if (countLine) lines.push(countLine);
  lines.push(...alerts.lines);
  if (args.include_rules) {
    const all = monitor.listAlertRules();
    const r = take(all.map(ruleOut), ruleLine, args.limit, left / (lists - 1));
    left -= r.bytes;
    structured.rules = r.shown;
    structured.rules_truncated = r.shown.length < all.length;
    lines.push(`rules${structured.rules_truncated ? ` (${r.shown.length} of ${all.length}: pass limit for more)` : ''}:`, ...r.lines);
  }
  if (args.include_history) {
    const all = monitor.getAlertHistory();
    const h = take(all.slice(-1000).reverse().map(transitionOut), transitionLine, args.limit, left);
    structured.history = h.shown;
    structured.history_truncated = h.shown.length < all.length;
    lines.push(`history, newest first${structured.history_truncated ? ` (${h.shown.length} of ${all.length}: pass limit for more)` : ''}:`, ...h.lines);
  }
  return { structured, text: lines.join('\n') };
}

const CreateOutput = z.object({ rule: RuleOut });

/**
 * `created rule <id>: p99(response_time[60s]) > 300 on response_time{endpoint=/pay} (critical, for 30s)`:
 * the condition once, the series it watches (its tag filter), and the name only when it is
 * not the condition itself.
 */
export function ruleCreatedText(r: z.output<typeof RuleOut>): string {
  const on = Object.keys(r.tags).length ? seriesLabel(r.metric_type, r.tags) : `every series of ${r.metric_type}`;
  const terms = [r.severity, ...(r.duration ? [`for ${r.duration}s`] : []), ...(r.cooldown ? [`cooldown ${r.cooldown}s`] : [])];
  return `created rule ${r.id}: ${r.condition} on ${on} (${terms.join(', ')})${r.name !== r.condition ? `, named "${r.name}"` : ''}`;
}

export function registerAlertTools(server: McpServer, front: McpFront): void {
  const host = front.host;
  defineTool(
    server,
    'create_performance_alert_rule',
    {
      title: 'Create alert rule',
      description:
        'Alert when a metric crosses a threshold, e.g. p99 of response_time over 60 s > 500 for 30 s; an alert per matching series, now and later. Changes are notified.',
      input: alertRuleArgsFor(front.tagLimits),
      output: CreateOutput,
      annotations: WRITE,
    },
    async (args) => {
      let rule: AlertRule;
      try {
        rule = await host.monitor.createAlertRule({
          metric: args.metric_type,
          operator: args.operator,
          threshold: args.threshold,
          severity: args.severity,
          aggregation: args.aggregation,
          window: args.window,
          duration: args.duration,
          cooldown: args.cooldown,
          autoResolve: args.auto_resolve,
          ...(args.tags !== undefined ? { tags: args.tags } : {}),
          ...(args.resolve_threshold !== undefined ? { resolveThreshold: args.resolve_threshold } : {}),
          ...(args.name !== undefined ? { name: args.name } : {}),
          ...(args.description !== undefined ? { description: args.description } : {}),
          ...(args.labels !== undefined ? { labels: args.labels } : {}),
        });
      } catch (error) {
        throw snakeError(error);
      }
      const out = ruleOut(rule);
      return { structured: { rule: out }, text: ruleCreatedText(out) };
    },
    front.limits,
  );

  defineTool(
    server,
    'get_performance_alerts',
    {
      title: 'Alerts',
      description:
        'Alerts by state and severity, with counts per rule; include_rules and include_history add rules and changes.',
      input: AlertsArgs,
      output: AlertsOutput,
      annotations: READ,
    },
    (args) => alertsAnswer(host.monitor, args),
    front.limits,
  );

  server.registerResource(
    'alerts',
    ALERTS_URI,
    {
      title: 'Active alerts',
      description: 'As get_performance_alerts with include_rules and include_history (within 8 KB); subscribe to be told of changes',
      mimeType: 'application/json',
    },
    (uri) => {
      const { structured } = alertsAnswer(host.monitor, { state: 'active', include_rules: true, include_history: true });
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(structured) }] };
    },
  );
}
