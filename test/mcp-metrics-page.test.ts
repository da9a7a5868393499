/**
 * The metrics an agent's answer summarises (get_performance_metrics, get_monitoring_status
 * with include_metrics): those it can show, never every series, whose window summaries at
 * 20,000 series held the host's event loop for a second; its total still counts them all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { PerformanceMonitor } from '../dist/src/index.js';
import { MonitorHost } from '../dist/src/mcp/host.js';
import { McpFront } from '../dist/src/mcp/server.js';

const SERIES = 600;

describe('the series an answer summarises', () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  const server = new McpFront(new MonitorHost(monitor, false)).createServer('legacy');
  const client = new Client({ name: 'pages', version: '1.0.0' });
  /** How many series each getMetrics() call summarised. */
  const summarised: number[] = [];

  beforeAll(async () => {
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    await client.connect(b);
    await monitor.start();
    for (let s = 0; s < SERIES; s++) monitor.record('response_time', s, { endpoint: `/e${s}` });
    await monitor.flush();
    const getMetrics = monitor.getMetrics.bind(monitor);
    monitor.getMetrics = (query) => {
      const out = getMetrics(query);
      summarised.push(out.length);
      return out;
    };
  });
  afterAll(async () => {
    await client.close();
    await monitor.stop();
  });

  const call = async (name: string, args: Record<string, unknown> = {}) => {
    summarised.length = 0;
    const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: { text: string }[]; structuredContent: Record<string, unknown> };
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    return r.structuredContent;
  };

  it('get_performance_metrics: a page, not every series; its total and truncation are of them all', async () => {
    // The monitor's own readings are series too: metric_types keeps the count exact.
    const d = await call('get_performance_metrics', { metric_types: ['response_time'] });
    expect(d).toMatchObject({ total: SERIES, truncated: true });
    expect(summarised).toEqual([200]);
    const limited = await call('get_performance_metrics', { metric_types: ['response_time'], limit: 250 });
    expect((limited.metrics as unknown[]).length).toBe(250);
    expect(limited).toMatchObject({ total: SERIES, truncated: true });
    expect(summarised).toEqual([250]);
  });

  it('get_performance_metrics pages through every series with offset, each cut naming the offset of the next page', async () => {
    // With 600 series and limit at its 1000 an agent could not reach the rest, and the text
    // said to pass limit (up to 1000) for more to one that had.
    const seen = new Set<string>();
    let offset = 0;
    for (let page = 0; page < 3; page++) {
      const r = (await client.callTool({ name: 'get_performance_metrics', arguments: { metric_types: ['response_time'], limit: 250, ...(offset ? { offset } : {}) } })) as { isError?: boolean; content: { text: string }[]; structuredContent: { metrics: { tags: { endpoint: string } }[]; total: number; truncated: boolean } };
      const text = r.content[0]!.text;
      expect(r.isError, text).toBeFalsy();
      const shown = r.structuredContent.metrics.map((m) => m.tags.endpoint);
      expect(shown).toHaveLength(Math.min(250, SERIES - offset));
      for (const e of shown) seen.add(e);
      expect(r.structuredContent).toMatchObject({ total: SERIES, truncated: offset + shown.length < SERIES });
      if (r.structuredContent.truncated) expect(text).toContain(`pass offset ${offset + shown.length} for the next`);
      else expect(text).not.toMatch(/pass offset/);
      offset += shown.length;
    }
    expect(seen.size).toBe(SERIES);
    // The default page says where the next begins too.
    const first = (await client.callTool({ name: 'get_performance_metrics', arguments: { metric_types: ['response_time'] } })) as { content: { text: string }[]; structuredContent: { metrics: unknown[] } };
    expect(first.content[0]!.text).toContain(`pass offset ${first.structuredContent.metrics.length} for the next`);
    // Past the end: no series, and the total to page within.
    const past = (await client.callTool({ name: 'get_performance_metrics', arguments: { metric_types: ['response_time'], offset: SERIES } })) as { content: { text: string }[]; structuredContent: { metrics: unknown[]; total: number } };
    expect(past.structuredContent).toMatchObject({ metrics: [], total: SERIES });
    expect(past.content[0]!.text).toMatch(new RegExp(`^${SERIES} series, .*none from offset ${SERIES}`));
  });

  it('get_metric_history pages through every series with offset, each cut naming the offset of the next page', async () => {
    // limit stops at 100: past it an agent could reach the rest only through a tag filter,
    // and the text told it to raise the limit it had raised.
    const seen = new Set<string>();
    let offset = 0;
    for (let page = 0; page < 6; page++) {
      const r = (await client.callTool({ name: 'get_metric_history', arguments: { metric_type: 'response_time', limit: 100, max_points: 1, ...(offset ? { offset } : {}) } })) as { isError?: boolean; content: { text: string }[]; structuredContent: { series: { tags: { endpoint: string } }[]; total_series: number; truncated: boolean } };
      const text = r.content[0]!.text;
      expect(r.isError, text).toBeFalsy();
      const shown = r.structuredContent.series.map((x) => x.tags.endpoint);
      expect(shown).toHaveLength(100);
      for (const e of shown) seen.add(e);
      expect(r.structuredContent).toMatchObject({ total_series: SERIES, truncated: offset + 100 < SERIES });
      if (r.structuredContent.truncated) expect(text).toContain(`pass offset ${offset + 100} for the next`);
      else expect(text).not.toMatch(/more series/);
      offset += shown.length;
    }
    expect(seen.size).toBe(SERIES);
    const past = (await client.callTool({ name: 'get_metric_history', arguments: { metric_type: 'response_time', offset: SERIES } })) as { content: { text: string }[]; structuredContent: { series: unknown[]; total_series: number } };
    expect(past.structuredContent).toMatchObject({ series: [], total_series: SERIES });
    expect(past.content[0]!.text).toContain(`no series from offset ${SERIES}: there are ${SERIES}`);
  });

  it('get_monitoring_status with include_metrics: the same', async () => {
    const d = await call('get_monitoring_status', { include_metrics: true });
    expect(d).toMatchObject({ metrics_truncated: true });
    expect(d.metrics_total).toBeGreaterThanOrEqual(SERIES);
    expect(summarised).toEqual([200]);
  });
});
