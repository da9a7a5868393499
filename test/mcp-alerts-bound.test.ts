/**
 * get_performance_alerts within its 8 KB default bound whatever its items' size: a rule with a
 * long name, description and labels, and series with 16 long tags, made an answer of 8.9-19 KB,
 * since a page holds one item of each list at least. Such an item is cut to fit (`clipped`
 * names its fields cut) and the text says how to get it whole. The perfwatch://alerts resource
 * is that same answer (it showed no alert and no history while five fired), and every paged
 * tool says where its next page starts in structuredContent (`next_offset`), not in its text only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { PerformanceMonitor } from '../dist/src/index.js';
import { AlertsOutput } from '../dist/src/mcp/alerts-answer.js';
import { HistoryOutput } from '../dist/src/mcp/tools/get-metric-history.js';
import { MetricsOutput } from '../dist/src/mcp/tools/get-performance-metrics.js';
import { waitFor } from './helpers.js';
import { call, connectInMemory, ok, text, type AnyClient } from './mcp-helpers.js';

const KB = 1024;
/** 16 tags of 100-character names and 128-character values, for series `i`. */
const wide = (i: number): Record<string, string> => Object.fromEntries(Array.from({ length: 16 }, (_, j) => [`t${j}_`.padEnd(100, 'n'), String(i).padEnd(128, 'v')]));

describe('the alerts answer', () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  let client: AnyClient & Client;

  beforeAll(async () => {
    await monitor.start();
    client = (await connectInMemory(monitor, 'alerts-bound')) as never;
    const labels = Object.fromEntries(Array.from({ length: 20 }, (_, j) => [`l${j}`, 'x'.repeat(200)]));
    await monitor.createAlertRule({ metric: 'wide', operator: '>', threshold: 1, severity: 'info', name: 'N'.repeat(200), description: 'D'.repeat(1000), labels });
    for (let i = 0; i < 5; i++) monitor.record('wide', 5, wide(i));
    await monitor.flush();
    await waitFor(() => monitor.getAlerts({ state: 'firing' }).length === 5, 15_000, '5 firing alerts');
  }, 30_000);
  afterAll(async () => {
    await client.close();
    await monitor.stop();
  });

  it('stays within 8 KB with items too large for it, cutting them and saying how to get them whole', async () => {
    for (const args of [{}, { include_rules: true }, { include_history: true }, { include_rules: true, include_history: true }]) {
      const r = await call(client, 'get_performance_alerts', args);
      const what = JSON.stringify(args);
      expect(r.isError, what).toBeFalsy();
      AlertsOutput.parse(r.structuredContent);
      expect(Buffer.byteLength(text(r)) + Buffer.byteLength(JSON.stringify(r.structuredContent)), what).toBeLessThanOrEqual(8 * KB);
      const s = r.structuredContent as { alerts: { clipped?: string[]; tags: Record<string, string> }[]; history?: { clipped?: string[] }[] };
      expect(s.alerts, what).toHaveLength(1);
      expect(s.alerts[0]!.clipped, what).toEqual(['rule_name', 'tags']);
      for (const [k, v] of Object.entries(s.alerts[0]!.tags)) expect(k.endsWith('…') && v.endsWith('…'), what).toBe(true);
      if ('include_history' in args) expect(s.history?.[0]?.clipped, what).toEqual(['rule_name', 'tags']);
      expect(text(r), what).toMatch(/the alert( and the change)? at offset 0 (was|were) cut to fit 8 KB \(clipped names the fields cut, each ending in …\): pass offset 0 and limit 1 for (it|them) whole$/);
    }
    // As the text says: the item whole.
    const whole = await ok(client, 'get_performance_alerts', { include_history: true, offset: 0, limit: 1 }, AlertsOutput);
    expect(whole.alerts[0]!.clipped).toBeUndefined();
    expect(whole.alerts[0]!.tags).toEqual(monitor.getAlerts({ state: 'firing' }).find((a) => a.fingerprint === whole.alerts[0]!.fingerprint)!.tags);
    expect(whole.alerts[0]!.rule_name).toBe('N'.repeat(200));
  });

  it('is the same on the perfwatch://alerts resource as from the tool', async () => {
    const tool = (await call(client, 'get_performance_alerts', { include_rules: true, include_history: true })).structuredContent;
    const read = await client.readResource({ uri: 'perfwatch://alerts' });
    const resource = JSON.parse(read.contents[0]!.text!) as Record<string, unknown>;
    expect(resource).toEqual(tool);
    expect((resource.alerts as unknown[]).length).toBe(1);
    expect((resource.history as unknown[]).length).toBe(1);
  });

  it("names the next page's offset in structuredContent, on every paged tool", async () => {
    const alerts = await ok(client, 'get_performance_alerts', { include_history: true }, AlertsOutput);
    expect(alerts.next_offset).toBe(1);
    expect((await ok(client, 'get_performance_alerts', { offset: 1, limit: 2 }, AlertsOutput)).next_offset).toBe(3);
    expect((await ok(client, 'get_performance_alerts', { offset: 3, limit: 2 }, AlertsOutput)).next_offset).toBeUndefined();
    const metrics = await ok(client, 'get_performance_metrics', { metric_types: ['wide'], limit: 2 }, MetricsOutput);
    expect(metrics.next_offset).toBe(2);
    expect(text(await call(client, 'get_performance_metrics', { metric_types: ['wide'], limit: 2 }))).toContain('pass offset 2 for the next page');
    expect((await ok(client, 'get_performance_metrics', { metric_types: ['wide'], offset: 4 }, MetricsOutput)).next_offset).toBeUndefined();
    const history = await ok(client, 'get_metric_history', { metric_type: 'wide', limit: 3 }, HistoryOutput);
    expect(history.next_offset).toBe(3);
    expect((await ok(client, 'get_metric_history', { metric_type: 'wide', offset: 3, limit: 3 }, HistoryOutput)).next_offset).toBeUndefined();
  });
});

describe('the alerts answer of rules with long names', () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  afterAll(() => monitor.stop());

  it('cuts the names of its counts per rule to stay within 8 KB', async () => {
    await monitor.start();
    const client = (await connectInMemory(monitor, 'alerts-bound')) as unknown as AnyClient;
    // Ten rules of 200 two-byte characters: their names alone, in the counts' JSON and text, are 8 KB.
    for (let i = 0; i < 10; i++) await monitor.createAlertRule({ metric: 'x', operator: '>', threshold: i / 10, severity: 'info', name: `${i}${'é'.repeat(199)}` });
    monitor.record('x', 5);
    await monitor.flush();
    await waitFor(() => monitor.getAlerts({ state: 'firing' }).length === 10, 15_000, '10 firing alerts');
    const r = await call(client, 'get_performance_alerts', {});
    expect(Buffer.byteLength(text(r)) + Buffer.byteLength(JSON.stringify(r.structuredContent))).toBeLessThanOrEqual(8 * KB);
    const s = AlertsOutput.parse(r.structuredContent);
    expect(s.by_rule).toHaveLength(10);
    for (const c of s.by_rule) expect(c.rule_name).toMatch(/^\dé{31}…$/);
    expect(s.alerts.length).toBeGreaterThan(0);
  }, 30_000);
});
