/**
 * A rule identical to one held (every field as applied, defaults filled in, tags and labels in
 * any order) is answered as that rule, not created again: two such rules fire together on
 * every breach and page twice. The library says so with `created: false`, the MCP tool in its
 * text; an agent that retries a call it saw time out finds its rule, not a second one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decode } from '@msgpack/msgpack';
import { PerformanceMonitor, type AlertRule, type AlertRuleInput, type AlertTransition } from '../dist/src/index.js';
import { openDatabase } from '../dist/src/storage/driver.js';
import { statementsOf } from '../dist/src/storage/control.js';
import { monitorStarter, waitFor } from './helpers.js';
import { call, connectInMemory, text, type AnyClient } from './mcp-helpers.js';

const started = monitorStarter();
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const slowPay: AlertRuleInput = { metric: 'response_time', tags: { endpoint: '/pay', method: 'POST' }, aggregation: 'p99', window: 60, operator: '>', threshold: 300, severity: 'critical' };

describe('identical alert rules', () => {
  it('answers the rule held for an identical one, with created false, and creates one that differs in any field', async () => {
    const m = await started();
    const first = await m.createAlertRule(slowPay);
    expect(first.created).toBe(true);
    // The same rule, its tags in another order and its defaults given.
    const again = await m.createAlertRule({ ...slowPay, tags: { method: 'POST', endpoint: '/pay' }, duration: 0, cooldown: 0, autoResolve: true, name: 'p99(response_time[60s]) > 300' });
    expect(again).toMatchObject({ id: first.id, created: false, createdAt: first.createdAt });
    expect(m.listAlertRules().map((r) => r.id)).toEqual([first.id]);
    for (const differs of [{ threshold: 301 }, { severity: 'warning' as const }, { name: 'pay is slow' }, { tags: { endpoint: '/pay' } }, { labels: { team: 'payments' } }]) {
      const other = await m.createAlertRule({ ...slowPay, ...differs });
      expect(other.created, JSON.stringify(differs)).toBe(true);
      expect(other.id).not.toBe(first.id);
    }
    expect(m.listAlertRules()).toHaveLength(6);
    // One breach, one alert of the rule: not two that page together.
    m.record('response_time', 900, { endpoint: '/pay', method: 'POST' });
    await m.flush();
    await waitFor(() => m.getAlerts().some((a) => a.ruleId === first.id) || undefined, 10_000, 'the firing');
    expect(m.getAlerts().filter((a) => a.ruleId === first.id)).toHaveLength(1);
    // Once deleted, the rule is created anew.
    expect(await m.deleteAlertRule(first.id)).toBe(true);
    const anew = await m.createAlertRule(slowPay);
    expect(anew.created).toBe(true);
    expect(anew.id).not.toBe(first.id);
  });

  it('answers an identical rule at the limit as the rule held, not as a refusal', async () => {
    const m = await started({ maxAlertRules: 1 });
    const first = await m.createAlertRule(slowPay);
    await expect(m.createAlertRule(slowPay)).resolves.toMatchObject({ id: first.id, created: false });
    await expect(m.createAlertRule({ ...slowPay, threshold: 1 })).rejects.toMatchObject({ code: 'PW_ERR_CAPACITY' });
  });

  it('creates one rule for identical creations in flight at once, each waiting for its commit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-rule-identical-'));
    dirs.push(dir);
    const m = new PerformanceMonitor({ storage: 'sqlite', dataDir: dir, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
    await m.start();
    try {
      const answers = await Promise.all(Array.from({ length: 5 }, () => m.createAlertRule(slowPay)));
      expect(new Set(answers.map((r) => r.id)).size).toBe(1);
      expect(answers.filter((r) => r.created)).toHaveLength(1);
      expect(m.listAlertRules()).toHaveLength(1);
    } finally {
      await m.stop();
    }
    // What the database keeps is that one rule, and a restarted monitor knows it as held.
    const again = new PerformanceMonitor({ storage: 'sqlite', dataDir: dir, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
    await again.start();
    try {
      expect(again.listAlertRules()).toHaveLength(1);
      await expect(again.createAlertRule(slowPay)).resolves.toMatchObject({ id: again.listAlertRules()[0]!.id, created: false });
    } finally {
      await again.stop();
    }
  });

  it('keeps one rule for a service that creates it before start() at each boot, whose id answers for the stored one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-rule-boots-'));
    dirs.push(dir);
    const boot = async (): Promise<{ m: PerformanceMonitor; id: string }> => {
      const m = new PerformanceMonitor({ storage: 'sqlite', dataDir: dir, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
      const rule = await m.createAlertRule({ name: 'slow', metric: 'lat', operator: '>', threshold: 100 });
      await m.start();
      return { m, id: rule.id };
    };
    const first = await boot();
    const stored = first.m.listAlertRules().map((r) => r.id);
    expect(stored).toEqual([first.id]);
    await first.m.stop();
    for (let i = 0; i < 2; i++) {
      const { m, id } = await boot();
      try {
        // Each boot used to add the rule again: a breach paged once per boot, each under its own fingerprint.
        expect(m.listAlertRules().map((r) => r.id)).toEqual(stored);
        m.record('lat', 500);
        await waitFor(() => m.getAlerts().length > 0 || undefined, 10_000, 'the firing');
        await m.flush();
        expect(m.getAlerts().map((a) => a.ruleId)).toEqual(stored);
        expect(m.getAlertHistory({ rule: id }).map((t) => t.ruleId)).toContain(stored[0]);
        if (i === 1) {
          // The id its creation answered deletes the rule it became.
          expect(await m.deleteAlertRule(id)).toBe(true);
          expect(m.listAlertRules()).toEqual([]);
        }
      } finally {
        await m.stop();
      }
    }
  });

  it('deletes at start the copies of a rule an earlier perfwatch stored at each boot, keeping the oldest, and ends their firing alerts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-rule-copies-'));
    dirs.push(dir);
    const file = join(dir, 'perfwatch.db');
    const options = { storage: 'sqlite' as const, dataDir: dir, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } };
    const a = new PerformanceMonitor(options);
    await a.start();
    const rule = await a.createAlertRule({ name: 'slow', metric: 'lat', operator: '>', threshold: 100 });
    a.record('lat', 500);
    const [alert] = await waitFor(() => a.getAlerts({ state: 'firing' }).length > 0 && a.getAlerts({ state: 'firing' }), 10_000, 'the firing');
    await a.stop();
    // What a release before 2026-12-05 left after two more boots: the same rule twice more, each firing on the breach.
    const db = openDatabase(file);
    const stored = decode(db.prepare('SELECT body FROM alert_rule').get()![0] as Uint8Array) as AlertRule;
    const copies = ['copy-1', 'copy-2'];
    copies.forEach((id, i) => {
      const copy = { ...stored, id, createdAt: stored.createdAt + 1000 * (i + 1) };
      const firing = { ...alert!, ruleId: id, fingerprint: `${id}-fingerprint` };
      for (const s of [...statementsOf({ op: 'put-rule', rule: copy }), ...statementsOf({ op: 'put-alert', alert: firing })]) db.prepare(s.sql).run(s.params);
    });
    db.close();

    const b = new PerformanceMonitor(options);
    const events: AlertTransition[] = [];
    b.on('alert', (t: AlertTransition) => events.push(t));
    await b.start();
    try {
      expect(b.listAlertRules().map((r) => r.id)).toEqual([rule.id]);
      // Each copy's firing alert resolves, saying why: a receiver that was paged for it hears its end.
      const ended = await waitFor(() => events.length >= 2 && events, 10_000, "the copies' resolutions");
      expect(ended.map((t) => [t.ruleId, t.from, t.to])).toEqual(copies.map((id) => [id, 'firing', 'resolved']));
      for (const t of ended) expect(t.reason).toBe(`its rule was a copy of rule ${rule.id} (the same fields, stored again by an earlier perfwatch), deleted at start: the alert ends with it, and rule ${rule.id} goes on judging the series`);
      expect(b.getAlerts({ state: 'all' }).map((x) => [x.ruleId, x.state])).toEqual([[rule.id, 'firing']]);
      // A breach is one alert: not one a copy.
      b.record('lat', 600);
      await b.flush();
      expect(b.getAlerts({ state: 'all' }).map((x) => x.ruleId)).toEqual([rule.id]);
      // A copy's id names the rule kept.
      expect(b.getAlertHistory({ rule: 'copy-1' }).some((t) => t.ruleId === rule.id)).toBe(true);
    } finally {
      await b.stop();
    }
    const after = openDatabase(file);
    try {
      expect(after.prepare('SELECT id FROM alert_rule').all()).toEqual([[rule.id]]);
      expect(after.prepare('SELECT DISTINCT rule_id FROM alert_state').all()).toEqual([[rule.id]]);
    } finally {
      after.close();
    }
  });

  it('tells an MCP client that retries a creation that its rule exists, and answers that rule', async () => {
    const m = await started();
    const client = await connectInMemory(m, 'identical-rules');
    try {
      const args = { metric_type: 'response_time', tags: { endpoint: '/pay' }, aggregation: 'p99', window: 60, operator: '>', threshold: 300, severity: 'critical' };
      const first = await call(client as unknown as AnyClient, 'create_performance_alert_rule', args);
      const id = (first.structuredContent!.rule as { id: string }).id;
      expect(text(first)).toBe(`created rule ${id}: p99(response_time[60s]) > 300 on response_time{endpoint="/pay"} (critical)`);
      const again = await call(client as unknown as AnyClient, 'create_performance_alert_rule', args);
      expect(again.isError).toBeFalsy();
      expect(again.structuredContent!.rule).toEqual(first.structuredContent!.rule);
      const at = (first.structuredContent!.rule as { created_at: string }).created_at;
      expect(text(again)).toBe(`rule ${id} exists with these same fields (created ${at}): none added. p99(response_time[60s]) > 300 on response_time{endpoint="/pay"} (critical)`);
      expect(m.listAlertRules()).toHaveLength(1);
    } finally {
      await client.close();
    }
  });

  it('says in its structured answer whether the rule was created or an identical one was held', async () => {
    const m = await started();
    const client = await connectInMemory(m, 'identical-rules-structured');
    try {
      // An agent reading only structuredContent could not tell the two apart (the text said it).
      const listed = (await client.listTools()).tools.find((t) => t.name === 'create_performance_alert_rule')!;
      expect((listed.outputSchema!.properties as Record<string, unknown>).created).toEqual({ type: 'boolean' });
      const args = { metric_type: 'queue_depth', operator: '>', threshold: 10, severity: 'warning' };
      const first = await call(client as unknown as AnyClient, 'create_performance_alert_rule', args);
      expect(first.structuredContent!.created).toBe(true);
      const again = await call(client as unknown as AnyClient, 'create_performance_alert_rule', args);
      expect(again.structuredContent!.created).toBe(false);
      expect(again.structuredContent!.rule).toEqual(first.structuredContent!.rule);
    } finally {
      await client.close();
    }
  });
});
