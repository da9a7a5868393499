/**
 * delete_performance_alert_rule: an agent that made a wrong or noisy rule takes it back
 * itself. Deleting is idempotent (a rule already gone is said so, not an error), an unknown
 * id is answered in bounded words, and the rule's firing alerts resolve as the library's
 * deleteAlertRule() resolves them.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { monitorStarter, waitFor } from './helpers.js';
import { call, connectInMemory, fails, ok, text, type AnyClient } from './mcp-helpers.js';

const started = monitorStarter();
const Deleted = z.object({ deleted: z.boolean(), rule_id: z.string() });

describe('delete_performance_alert_rule', () => {
  it('deletes a rule an agent made, resolves its alerts, and says a second deletion found none', async () => {
    const m = await started();
    const client = (await connectInMemory(m, 'rule-delete')) as unknown as AnyClient;
    const created = await call(client, 'create_performance_alert_rule', { metric_type: 'checkout_ms', operator: '>', threshold: 100, severity: 'critical', tags: { endpoint: '/pay' }, name: 'slow pay' });
    const id = (created.structuredContent as { rule: { id: string } }).rule.id;
    m.record('checkout_ms', 500, { endpoint: '/pay' });
    await m.flush();
    await waitFor(() => m.getAlerts({ state: 'firing' }).some((a) => a.ruleId === id) || undefined, 10_000, 'the firing');

    const gone = await ok(client, 'delete_performance_alert_rule', { rule_id: id }, Deleted);
    expect(gone).toEqual({ deleted: true, rule_id: id });
    expect(text(await call(client, 'delete_performance_alert_rule', { rule_id: id }))).toMatch(new RegExp(`^no rule has id "${id}"`));
    expect(m.listAlertRules()).toEqual([]);
    expect(m.getAlerts()).toEqual([]);
    expect(m.getAlertHistory({ rule: id }).at(-1)).toMatchObject({ from: 'firing', to: 'resolved' });
  });

  it('names the rule it deleted and the alerts that resolved with it', async () => {
    const m = await started();
    const client = (await connectInMemory(m, 'rule-delete-text')) as unknown as AnyClient;
    const rule = await m.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 10, severity: 'warning', name: 'queue backs up' });
    for (const q of ['a', 'b']) m.record('queue_size', 50, { queue: q });
    await m.flush();
    await waitFor(() => m.getAlerts({ state: 'firing' }).filter((a) => a.ruleId === rule.id).length === 2 || undefined, 10_000, 'two firings');
    const r = await call(client, 'delete_performance_alert_rule', { rule_id: rule.id });
    expect(r.isError).toBeFalsy();
    expect(text(r)).toBe(`deleted rule ${rule.id}: queue_size > 10 on every series of queue_size (warning), named "queue backs up"; its 2 firing alerts resolved`);
  });

  it('answers an unknown id, and a rule name given for an id, without an error, in bounded words', async () => {
    const m = await started();
    const client = (await connectInMemory(m, 'rule-delete-unknown')) as unknown as AnyClient;
    const rule = await m.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 10, severity: 'warning', name: 'queue backs up' });
    const unknown = await ok(client, 'delete_performance_alert_rule', { rule_id: 'no-such-rule' }, Deleted);
    expect(unknown).toEqual({ deleted: false, rule_id: 'no-such-rule' });
    expect(text(await call(client, 'delete_performance_alert_rule', { rule_id: 'no-such-rule' }))).toBe(
      'no rule has id "no-such-rule" (deleted before, or never made): nothing deleted; get_performance_alerts { include_rules: true } lists the 1 rule held',
    );
    // A name is not an id, but the answer says which rule has it.
    expect(text(await call(client, 'delete_performance_alert_rule', { rule_id: 'queue backs up' }))).toMatch(new RegExp(`; the rule named "queue backs up" has id ${rule.id}$`));
    expect(m.listAlertRules()).toHaveLength(1);
    // A megabyte of id is refused by its length, not echoed.
    const long = await fails(client, 'delete_performance_alert_rule', { rule_id: 'x'.repeat(1 << 20) });
    expect(long).toBe('PW_ERR_INVALID_ARG: rule_id must be 1 to 64 characters, got a string of 1048576 characters');
    expect(await fails(client, 'delete_performance_alert_rule', {})).toMatch(/^PW_ERR_INVALID_ARG: rule_id is required/);
  });

  it('is served over HTTP to a client with the token, listed as destructive and idempotent', async () => {
    const m = await started();
    const rule = await m.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 10, severity: 'warning' });
    const token = 'delete-token-0123456789abcdef';
    const server = await m.serveMcp({ port: 0, token });
    try {
      const withToken = new Client({ name: 'rule-delete-http', version: '1.0.0' });
      await withToken.connect(new StreamableHTTPClientTransport(new URL(server.url), { authProvider: { token: async () => token } }));
      const tools = (await withToken.listTools()).tools;
      expect(tools.find((t) => t.name === 'delete_performance_alert_rule')?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true, idempotentHint: true });
      expect(await ok(withToken as unknown as AnyClient, 'delete_performance_alert_rule', { rule_id: rule.id }, Deleted)).toEqual({ deleted: true, rule_id: rule.id });
      await withToken.close();
    } finally {
      await server.close();
    }
  });
});
