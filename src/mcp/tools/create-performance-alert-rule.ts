/**
 * create_performance_alert_rule: the engine's AlertRuleInputSchema under snake_case names,
 * whose fields and limits it reuses; an engine error about a field names it the MCP way.
 * (Alerts are read with get_performance_alerts; transitions are notified: alert-notices.ts.)
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { AlertRuleInputSchema, type AlertRule } from '../../alerts/schema.js';
import { CapacityError, PerfwatchError } from '../../errors.js';
import { RuleOut, ruleOut } from '../alert-shapes.js';
import { seriesLabel } from '../format.js';
import { isolated } from '../../isolate.js';
import type { Front } from '../front.js';
import { metricName, perLimits, tagsFor, type TagLimits } from '../schemas.js';
import { WRITE, defineTool } from './define.js';

const shape = AlertRuleInputSchema.shape;

/** The engine's rule fields under their MCP names (metric_type, auto_resolve, resolve_threshold). */
export const alertRuleArgsFor = perLimits((l: TagLimits) =>
  z.strictObject({
  metric_type: metricName,
  operator: shape.operator,
  threshold: shape.threshold.describe("in the metric's unit"),
  severity: shape.severity.unwrap(),
  aggregation: shape.aggregation.describe('last: each sample'),
  window: shape.window.describe('Seconds'),
  duration: shape.duration.describe('Seconds held to fire'),
  cooldown: shape.cooldown.describe('Seconds before re-firing'),
  tags: tagsFor(l).optional().describe('Series with these tags'),
  auto_resolve: shape.autoResolve,
  resolve_threshold: shape.resolveThreshold.describe('Hysteresis: resolve past this'),
  name: shape.name,
  description: shape.description,
  labels: shape.labels.describe('For notifications'),
  capture: shape.capture.describe('Profile on firing'),
  capture_seconds: shape.captureSeconds,
  }),
);

const CAMEL_TO_SNAKE: Record<string, string> = { metric: 'metric_type', autoResolve: 'auto_resolve', resolveThreshold: 'resolve_threshold', captureSeconds: 'capture_seconds' };

/**
 * The refusal at maxAlertRules advises deleting a rule by the library's method; over MCP the
 * tool that does it is the one to name.
 */
function mcpAdvice(error: unknown): unknown {
  if (!(error instanceof CapacityError) || error.field !== 'maxAlertRules') return error;
  return new CapacityError('maxAlertRules', error.rule.replace('(deleteAlertRule)', '(delete_performance_alert_rule)'));
}

/** An engine error about a rule field, with the field under its MCP name. */
function snakeError(error: unknown): unknown {
  if (!(error instanceof PerfwatchError) || error.field === undefined) return error;
  const mapped = CAMEL_TO_SNAKE[error.field.split('.').pop()!];
  return mapped === undefined ? error : error.withField(mapped);
}

/**
 * The rule is listed as a record: its fields are the arguments' (as applied, defaults filled
 * in) plus four, which the description names, so tools/list does not spell out the arguments
 * twice (its budget). The answer is still checked against RuleOut before it is sent.
 */
const CreateOutput = z.object({
  rule: z.record(z.string(), z.unknown()).describe('As applied, with id, name, condition, created_at'),
  // false: an identical rule was held, and is the one answered. Said in the structured answer
  // too, so that an agent reading only it can tell a rule it made from one held before. (No
  // description, nor the longer rule one it had: tools/list is at its 20 KB, mcp-budgets.)
  created: z.boolean(),
});

/**
 * `p99(response_time[60s]) > 300 on response_time{endpoint=/pay} (critical, for 30s)`: the
 * condition once, the series it watches (its tag filter), and the name only when it is not
 * the condition itself.
 */
export function ruleText(r: z.output<typeof RuleOut>): string {
  const on = Object.keys(r.tags).length ? seriesLabel(r.metric_type, r.tags) : `every series of ${r.metric_type}`;
  const terms = [r.severity, ...(r.duration ? [`for ${r.duration}s`] : []), ...(r.cooldown ? [`cooldown ${r.cooldown}s`] : [])];
  return `${r.condition} on ${on} (${terms.join(', ')})${r.name !== r.condition ? `, named "${isolated(r.name)}"` : ''}`;
}

/**
 * `created rule <id>: ` and the rule (ruleText). A rule identical to one held was not created
 * again: the text says that the rule answered is the one held, and since when.
 */
export function ruleCreatedText(r: z.output<typeof RuleOut>, created = true): string {
  return created ? `created rule ${r.id}: ${ruleText(r)}` : `rule ${r.id} exists with these same fields (created ${r.created_at}): none added. ${ruleText(r)}`;
}

export default function register(server: McpServer, front: Front): void {
  const host = front.host;
  defineTool(
    server,
    front,
    'create_performance_alert_rule',
    {
      title: 'Create alert rule',
      description:
        'Alert on each matching series, now and later, when a metric crosses a threshold: e.g. p99 of response_time over 60 s > 500 for 30 s. Changes notified.',
      input: alertRuleArgsFor(front.tagLimits),
      output: CreateOutput,
      annotations: WRITE,
    },
    async (args) => {
      let rule: AlertRule & { created: boolean; note?: string };
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
          ...(args.capture !== undefined ? { capture: args.capture } : {}),
          ...(args.capture_seconds !== undefined ? { captureSeconds: args.capture_seconds } : {}),
        });
      } catch (error) {
        throw mcpAdvice(snakeError(error));
      }
      const out = RuleOut.parse(ruleOut(rule));
      // The note goes in the text only: tools/list has few bytes left for output fields (mcp-budgets).
      return { structured: { rule: out, created: rule.created }, text: `${ruleCreatedText(out, rule.created)}${rule.note ? `; ${rule.note}` : ''}` };
    },
  );
}
