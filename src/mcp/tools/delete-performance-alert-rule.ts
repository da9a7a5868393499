/**
 * delete_performance_alert_rule: takes back a rule, so that an agent that made a wrong or
 * noisy one need not ask a human (to change a rule, it deletes it and creates the new one).
 * A tool of its own rather than an argument of create_performance_alert_rule: its
 * annotations say it destroys and may be repeated, which a client asks its user about, and
 * the creation's say neither. Deleting is idempotent: an id no rule has is answered
 * `deleted: false` in words, not as an error, so a retried call reads as what it is.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { RuleOut, ruleOut } from '../alert-shapes.js';
import type { Front } from '../front.js';
import { ruleText } from './create-performance-alert-rule.js';
import { defineTool } from './define.js';

/** Longest id taken: rule ids are UUIDs (36 characters); the rest is room, not a use. */
const MAX_RULE_ID = 64;

export const DeleteRuleInput = z.strictObject({
  rule_id: z
    .string({ error: 'must be a rule id (a string)' })
    .min(1, { error: `must be 1 to ${MAX_RULE_ID} characters`, abort: true })
    .max(MAX_RULE_ID, { error: `must be 1 to ${MAX_RULE_ID} characters`, abort: true }),
});

export const DeleteRuleOutput = z.object({ deleted: z.boolean(), rule_id: z.string() });

const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

export default function register(server: McpServer, front: Front): void {
  const host = front.host;
  defineTool(
    server,
    front,
    'delete_performance_alert_rule',
    {
      title: 'Delete alert rule',
      description: 'Delete a rule by id (its firing alerts resolve); to change one, delete and create anew.',
      input: DeleteRuleInput,
      output: DeleteRuleOutput,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async ({ rule_id: id }) => {
      const monitor = host.monitor;
      // The rule and its firing alerts are looked up for the answer's words only; the
      // deletion's own answer says whether there was one to delete.
      const rules = monitor.listAlertRules();
      const rule = rules.find((r) => r.id === id);
      const firing = rule ? monitor.getAlerts({ state: 'firing' }).filter((a) => a.ruleId === id).length : 0;
      const deleted = await monitor.deleteAlertRule(id);
      const structured = { deleted, rule_id: id };
      if (deleted) {
        // A rule made between the look-up and the deletion is deleted all the same, unnamed.
        const what = rule ? `: ${ruleText(RuleOut.parse(ruleOut(rule)))}` : '';
        return { structured, text: `deleted rule ${id}${what}${firing ? `; its ${plural(firing, 'firing alert')} resolved` : ''}` };
      }
      const named = rules.find((r) => r.name === id);
      return {
        structured,
        text: `no rule has id "${id}" (deleted before, or never made): nothing deleted; get_performance_alerts { include_rules: true } lists the ${plural(rules.length, 'rule')} held${named ? `; the rule named "${id}" has id ${named.id}` : ''}`,
      };
    },
  );
}
