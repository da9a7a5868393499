/**
 * An alert that resolved because its window emptied has no value: its value is NaN in the
 * library (the webhook says "no data"). The MCP answers that list it gave an output
 * validation error instead of the alerts (get_performance_alerts with state resolved or all).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { PerformanceMonitor } from '../dist/src/index.js';
import { MonitorHost } from '../dist/src/mcp/host.js';
import { McpFront } from '../dist/src/mcp/server.js';
import { waitFor } from './helpers.js';

describe('alerts resolved by an empty window, over MCP', () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  const server = new McpFront(new MonitorHost(monitor, false)).createServer('legacy');
  const client = new Client({ name: 'alerts-no-data', version: '1.0.0' });

  beforeAll(async () => {
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    await client.connect(b);
    await monitor.start();
    await monitor.createAlertRule({ metric: 'queue_size', aggregation: 'max', window: 1, operator: '>', threshold: 5, name: 'deep queue' });
    monitor.record('queue_size', 10);
    await monitor.flush();
    await waitFor(() => monitor.getAlerts({ state: 'resolved' }).length === 1, 20_000, 'the alert resolved by its empty window');
  }, 30_000);
  afterAll(async () => {
    await client.close();
    await monitor.stop();
  });

  it('lists the resolved alert and its history, without a value, said as no data', async () => {
    expect(Number.isNaN(monitor.getAlerts({ state: 'resolved' })[0]!.value)).toBe(true);
    const r = (await client.callTool({ name: 'get_performance_alerts', arguments: { state: 'all', include_history: true } })) as { isError?: boolean; content: { text: string }[]; structuredContent: { alerts: { value?: number; state: string }[]; history: { value: unknown; to: string }[] } };
    const text = r.content.map((c) => c.text).join('\n');
    expect(r.isError, text).toBeFalsy();
    expect(r.structuredContent.alerts).toHaveLength(1);
    expect(r.structuredContent.alerts[0]).toMatchObject({ state: 'resolved' });
    expect(r.structuredContent.alerts[0]).not.toHaveProperty('value');
    expect(r.structuredContent.history.map((t) => [t.to, t.value])).toEqual([['resolved', undefined], ['firing', 10]]);
    expect(text).toMatch(/deep queue: queue_size = no data \(threshold 5\), resolved /);
    expect(text).toMatch(/firing → resolved at no data/);
  });
});
