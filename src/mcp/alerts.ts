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
import { limit, metricName, tagsSchema } from './schemas.js';
import type { LogLevel, McpFront } from './server.js';
import { READ, WRITE, defineTool } from './tools.js';

export const ALERTS_URI = 'perfwatch://alerts';

const shape = AlertRuleInputSchema.shape;

/** The engine's rule fields under their MCP names (metric_type, auto_resolve, resolve_threshold). */
export const AlertRuleArgs = z.strictObject({
  metric_type: metricName.describe('The metric the rule watches, e.g. response_time'),
  operator: shape.operator.describe(`Comparison of the aggregated value with threshold: ${OPERATORS.join(' ')}`),
  threshold: shape.threshold.describe('The value the aggregated metric is compared with (in the metric\'s unit)'),
  severity: shape.severity.unwrap().describe(`${SEVERITIES.join(', ')}`),
  aggregation: shape.aggregation.describe(`How the window is reduced: ${AGGREGATIONS.join(', ')} (default last: the latest value)`),
  window: shape.window.describe('Seconds of data the aggregation covers (default 60)'),
  duration: shape.duration.describe('Seconds the condition must hold before the alert fires (default 0)'),
  cooldown: shape.cooldown.describe('Seconds after a resolution before the same alert may fire again (default 0)'),
  tags: tagsSchema.optional().describe('Only series whose tags include these; each matching series is an alert of its own'),
  auto_resolve: shape.autoResolve.describe('Resolve by itself when the condition clears (default true)'),
  resolve_threshold: shape.resolveThreshold.describe('Hysteresis: resolve only once the value is past this on the good side'),
  name: shape.name.describe('A name for the rule (default: derived from it)'),
  description: shape.description.describe('What the alert means and what to do'),
  labels: shape.labels.describe('Labels passed on to notifications (Alertmanager, webhooks)'),
});

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
  active_since: z.string().nullable(),
  fired_at: z.string().nullable(),
  resolved_at: z.string().nullable(),
  description: z.string(),
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
    active_since: iso(a.activeSince),
    fired_at: iso(a.firedAt),
    resolved_at: iso(a.resolvedAt),
    description: a.description,
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
  state: z.enum(STATE_QUERY, { error: `must be one of ${STATE_QUERY.join(', ')}` }).default('active').describe('pending, firing, resolved, active (pending and firing; the default) or all'),
  severity: z.enum(SEVERITIES, { error: `must be one of ${SEVERITIES.join(', ')}` }).optional().describe('Only alerts of this severity'),
  include_rules: z.boolean({ error: 'must be true or false' }).default(false).describe('Add the alert rules'),
  include_history: z.boolean({ error: 'must be true or false' }).default(false).describe('Add the latest state changes (newest first)'),
  limit: limit(50, 1000, 'alerts')
    .describe('Most alerts (and rules, and history entries) to return (default 50); the answer says when there were more'),
});

export const AlertsOutput = z.object({
  alerts: z.array(AlertOut),
  total: z.number(),
  truncated: z.boolean(),
  counts: z.object({ pending: z.number(), firing: z.number(), rules: z.number() }),
  rules: z.array(RuleOut).optional(),
  rules_truncated: z.boolean().optional(),
  history: z.array(TransitionOut).optional(),
  history_truncated: z.boolean().optional(),
});

export type AlertsAnswer = z.output<typeof AlertsOutput>;

function alertLine(a: z.output<typeof AlertOut>): string {
  const since = a.state === 'resolved' ? `resolved ${a.resolved_at}` : a.state === 'firing' ? `firing since ${a.fired_at}` : `pending since ${a.active_since}`;
  return `${a.severity.toUpperCase()} ${a.rule_name}: ${seriesLabel(a.metric_type, a.tags)} = ${num(a.value)} (threshold ${num(a.threshold)}), ${since}`;
}

/**
 * The alerts answer shared by the tool, the status tool and the resource; `status`, the
 * alert counts, for a caller that has read the monitor's status already.
 */
export function alertsAnswer(
  monitor: PerformanceMonitor,
  args: z.output<typeof AlertsArgs>,
  status: { pending: number; firing: number; rules: number } = monitor.status().alerts,
): { structured: AlertsAnswer; text: string } {
  const all = monitor
    .getAlerts({ state: args.state, ...(args.severity ? { severity: args.severity } : {}) })
    .sort((a, b) => b.activeSince - a.activeSince);
  const alerts = all.slice(0, args.limit).map(alertOut);
  const structured: AlertsAnswer = { alerts, total: all.length, truncated: all.length > args.limit, counts: { pending: status.pending, firing: status.firing, rules: status.rules } };
  const lines = [`${status.firing} firing, ${status.pending} pending, ${status.rules} rules; ${all.length} ${args.state} alert${all.length === 1 ? '' : 's'}${args.severity ? ` of severity ${args.severity}` : ''}${structured.truncated ? ` (showing ${alerts.length})` : ''}`];
  for (const a of alerts) lines.push(alertLine(a));
  if (args.include_rules) {
    const rules = monitor.listAlertRules();
    structured.rules = rules.slice(0, args.limit).map(ruleOut);
    structured.rules_truncated = rules.length > args.limit;
    lines.push(`rules:`);
    for (const r of structured.rules) lines.push(`  ${r.id} ${r.name}: ${r.condition} (${r.severity}${r.duration ? `, for ${r.duration}s` : ''})`);
  }
  if (args.include_history) {
    const history = monitor.getAlertHistory();
    structured.history = history.slice(-args.limit).reverse().map(transitionOut);
    structured.history_truncated = history.length > args.limit;
    lines.push(`history (newest first):`);
    for (const t of structured.history) lines.push(`  ${t.at} ${t.rule_name} ${seriesLabel(t.metric_type, t.tags)}: ${t.from} → ${t.to} at ${num(t.value)}`);
  }
  return { structured, text: lines.join('\n') };
}

const CreateOutput = z.object({ rule: RuleOut });

export function registerAlertTools(server: McpServer, front: McpFront): void {
  const host = front.host;
  defineTool(
    server,
    'create_performance_alert_rule',
    {
      title: 'Create an alert rule',
      description:
        'Create a rule that raises an alert when a metric crosses a threshold, e.g. p99 of response_time over 60 s > 500 ms for 30 s. It applies to every series of the metric (narrow it with tags), now and later. Firing and resolved alerts show in get_performance_alerts and are sent to connected clients as notifications.',
      input: AlertRuleArgs,
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
      return { structured: { rule: out }, text: `created rule ${out.id} "${out.name}": ${out.condition} (${out.severity}${out.duration ? `, after ${out.duration}s` : ''})` };
    },
    front.limits,
  );

  defineTool(
    server,
    'get_performance_alerts',
    {
      title: 'Performance alerts',
      description:
        'Alerts raised by the alert rules: by default the active ones (pending and firing), or pending, firing, resolved or all; optionally by severity. include_rules adds the rules, include_history the latest state changes. Use it after create_performance_alert_rule, or when a notification said an alert changed.',
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
      description: 'Pending and firing alerts with the rules and the latest 50 state changes (as get_performance_alerts with include_rules and include_history); subscribe to be told when they change',
      mimeType: 'application/json',
    },
    (uri) => {
      const { structured } = alertsAnswer(host.monitor, { state: 'active', include_rules: true, include_history: true, limit: 50 });
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(structured) }] };
    },
  );
}

/** The log level of a transition: a firing alert at its severity, other changes at notice/info. */
export function levelOf(t: AlertTransition): LogLevel {
  if (t.to === 'firing') return t.severity;
  return t.severity === 'info' ? 'info' : 'notice';
}

/** Carries every alert transition of the host's monitor (and of later ones) to the clients. */
export function forwardAlerts(front: McpFront): () => void {
  return front.host.attach((monitor) => {
    const listener = (t: AlertTransition): void => {
      const data = { event: 'alert', message: `${t.to.toUpperCase()} ${t.severity} ${t.ruleName}: ${seriesLabel(t.metric, t.tags)} = ${num(t.value)} (threshold ${num(t.threshold)})`, ...transitionOut(t) };
      front.log(levelOf(t), 'perfwatch.alerts', data);
      front.resourceUpdated(ALERTS_URI);
    };
    monitor.on('alert', listener);
    return () => monitor.off('alert', listener);
  });
}
