/**
 * The limit on alert rules (maxAlertRules): each front that adds a rule refuses one past it
 * with an error naming the option and the limit (the library, the MCP tool over stdio and over
 * HTTP; the JSON API adds none), concurrent creations do not slip past it, rules a database
 * holds beyond a lowered limit are kept, not dropped, and get_monitoring_status says the limit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CapacityError, InvalidArgumentError, PerformanceMonitor, type AlertRuleInput, type MonitorOptions } from '../dist/src/index.js';
import { MonitorHost } from '../dist/src/mcp/host.js';
import { McpFront } from '../dist/src/mcp/server.js';
import { caught, monitorStarter } from './helpers.js';
import { ChildTransport, call, fails, quietConfig, text, type AnyClient } from './mcp-helpers.js';

const started = monitorStarter();
const rule = (i: number): AlertRuleInput => ({ metric: 'queue_size', operator: '>', threshold: i, severity: 'warning' });
const args = (i: number) => ({ metric_type: 'queue_size', operator: '>', threshold: i, severity: 'warning' });

const dirs: string[] = [];
const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function onDisk(dataDir: string, options: MonitorOptions): PerformanceMonitor {
  const m = new PerformanceMonitor({ storage: 'sqlite', dataDir, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false }, ...options });
  monitors.push(m);
  return m;
}

describe('maxAlertRules', () => {
  it('refuses a rule past the limit through the library, naming the option and the limit, and takes one again once a rule is deleted', async () => {
    const m = await started({ maxAlertRules: 3 });
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await m.createAlertRule(rule(i)));
    const refused = await m.createAlertRule(rule(3)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CapacityError);
    expect(refused).toMatchObject({ code: 'PW_ERR_CAPACITY', field: 'maxAlertRules' });
    expect((refused as Error).message).toBe('maxAlertRules is 3 and 3 alert rules exist: delete one (deleteAlertRule) or start the monitor with a higher maxAlertRules');
    expect(m.listAlertRules().map((r) => r.id)).toEqual(made.map((r) => r.id));
    expect(m.status().alerts).toMatchObject({ rules: 3, maxRules: 3 });
    expect(await m.deleteAlertRule(made[0]!.id)).toBe(true);
    await m.createAlertRule(rule(4));
    expect(m.listAlertRules()).toHaveLength(3);
  });

  it('names the option and its range when the limit itself is bad', () => {
    const bad = caught<InvalidArgumentError>(() => new PerformanceMonitor({ storage: 'memory', maxAlertRules: 0 }));
    expect(bad).toBeInstanceOf(InvalidArgumentError);
    expect(bad.field).toBe('maxAlertRules');
    expect(bad.message).toMatch(/from 1 to 100000/);
  });

  it('lets no concurrent creation slip past the limit while earlier ones wait for their commit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-rule-limit-'));
    dirs.push(dir);
    const m = onDisk(dir, { maxAlertRules: 2 });
    await m.start();
    const outcomes = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => m.createAlertRule(rule(i))));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(2);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(CapacityError);
    expect(m.listAlertRules()).toHaveLength(2);
  });

  it('keeps every rule a database holds beyond a lowered limit, and refuses new ones until fewer remain', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-rule-limit-'));
    dirs.push(dir);
    const first = onDisk(dir, { maxAlertRules: 3 });
    await first.start();
    for (let i = 0; i < 3; i++) await first.createAlertRule(rule(i));
    const ids = first.listAlertRules().map((r) => r.id);
    await first.stop();

    const again = onDisk(dir, { maxAlertRules: 2 });
    await again.start();
    expect(again.listAlertRules().map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(again.status().alerts).toMatchObject({ rules: 3, maxRules: 2 });
    await expect(again.createAlertRule(rule(9))).rejects.toThrow('maxAlertRules is 2 and 3 alert rules exist');
    await again.deleteAlertRule(ids[0]!);
    await expect(again.createAlertRule(rule(9))).rejects.toThrow('maxAlertRules is 2 and 2 alert rules exist');
    await again.deleteAlertRule(ids[1]!);
    await again.createAlertRule(rule(9));
    expect(again.listAlertRules()).toHaveLength(2);
  });

  it('says how many rules must go when a lowered limit leaves more than one too many', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-rule-limit-'));
    dirs.push(dir);
    const first = onDisk(dir, { maxAlertRules: 5 });
    await first.start();
    for (let i = 0; i < 5; i++) await first.createAlertRule(rule(i));
    const ids = first.listAlertRules().map((r) => r.id);
    await first.stop();

    // 5 held, 2 allowed: 4 must go before a new one is taken ("delete one" read as if one would do).
    const again = onDisk(dir, { maxAlertRules: 2 });
    await again.start();
    await expect(again.createAlertRule(rule(9))).rejects.toThrow('maxAlertRules is 2 and 5 alert rules exist: delete 4 of them (deleteAlertRule) or start the monitor with a higher maxAlertRules');
    for (const id of ids.slice(0, 3)) await again.deleteAlertRule(id);
    await expect(again.createAlertRule(rule(9))).rejects.toThrow('maxAlertRules is 2 and 2 alert rules exist: delete one (deleteAlertRule)');
    await again.deleteAlertRule(ids[3]!);
    await again.createAlertRule(rule(9));
    expect(again.listAlertRules()).toHaveLength(2);
  });

  it('refuses the MCP tool past the limit over stdio (perfwatch mcp with the option in its config)', async () => {
    const client = new Client({ name: 'rule-limit', version: '1.0.0' });
    await client.connect(new ChildTransport(['mcp', '--config', quietConfig({ maxAlertRules: 1 })]));
    try {
      const c = client as unknown as AnyClient;
      const first = await call(c, 'create_performance_alert_rule', args(1));
      expect(first.isError, text(first)).toBeFalsy();
      // The advice names the tool that deletes a rule, not the library's method an agent cannot call.
      expect(await fails(c, 'create_performance_alert_rule', args(2))).toBe('PW_ERR_CAPACITY: maxAlertRules is 1 and 1 alert rules exist: delete one (delete_performance_alert_rule) or start the monitor with a higher maxAlertRules');
    } finally {
      await client.close();
    }
  });

  it('says the limit beside the rules held in get_monitoring_status, as it says the series limit', async () => {
    const m = await started({ maxAlertRules: 7 });
    for (let i = 0; i < 2; i++) await m.createAlertRule(rule(i));
    const server = new McpFront(new MonitorHost(m, false)).createServer('legacy');
    const client = new Client({ name: 'rule-limit-status', version: '1.0.0' });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    await client.connect(b);
    try {
      const status = await call(client as unknown as AnyClient, 'get_monitoring_status');
      expect(status.structuredContent).toMatchObject({ alerting: { rules: 2 }, series: { limit: 10_000 } });
      expect(text(status)).toMatch(/^alerts: 0 firing, 0 pending, 2\/7 rules \(maxAlertRules\)$/m);
      expect(text(status)).toMatch(/^app series \d+\/10000 \(maxSeries\) and \d+ of the monitor's own;/m);
    } finally {
      await client.close();
    }
  });

  it('refuses the MCP tool past the limit over HTTP (serveMcp, and the /mcp of serveHttp)', async () => {
    const token = 'rule-limit-token-0123456789';
    const m = await started({ maxAlertRules: 2 });
    const mcp = await m.serveMcp({ port: 0, token });
    const front = await m.serveHttp({ port: 0, token });
    try {
      for (const url of [mcp.url, `${front.url}mcp`]) {
        const client = new Client({ name: 'rule-limit-http', version: '1.0.0' });
        await client.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: { token: async () => token } }));
        try {
          const c = client as unknown as AnyClient;
          if (m.listAlertRules().length === 0) {
            for (const i of [1, 2]) expect((await call(c, 'create_performance_alert_rule', args(i))).isError).toBeFalsy();
          }
          expect(await fails(c, 'create_performance_alert_rule', args(3))).toMatch(/^PW_ERR_CAPACITY: maxAlertRules is 2 and 2 alert rules exist/);
        } finally {
          await client.close();
        }
      }
      expect(m.listAlertRules()).toHaveLength(2);
    } finally {
      await mcp.close();
      await front.close();
    }
  });
});
