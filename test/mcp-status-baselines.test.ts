/**
 * get_monitoring_status with include_baselines at many series: it shows the first baselines
 * in series order, the same ones getBaselines() lists first, with the count of all of them,
 * and says how to get more. At 10,000 series it learned every series' baseline (seconds)
 * to show the few that fit; it learns only those it can show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { PerformanceMonitor } from '../dist/src/index.js';
import { connectInMemory } from './mcp-helpers.js';

type Answer = { content: { text: string }[]; structuredContent: { baselines: Record<string, unknown>[]; baselines_total: number; baselines_truncated: boolean } };

describe("get_monitoring_status's baselines at many series", () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  const SERIES = 2500;
  let client: Client;
  const status = async (args: Record<string, unknown>) => (await client.callTool({ name: 'get_monitoring_status', arguments: { include_baselines: true, ...args } })) as Answer;

  /**
   * An answer with the whole list of baselines as it was while the answer was made: the
   * monitor's own series keep gaining their first samples now and then (a series with data
   * has a baseline), and one that did between the two reads would shift the list compared.
   */
  const steady = async <T>(answer: () => Promise<T>): Promise<[T, Awaited<ReturnType<PerformanceMonitor['getBaselines']>>]> => {
    for (let attempt = 0; ; attempt++) {
      const before = await monitor.getBaselines();
      const r = await answer();
      const after = await monitor.getBaselines();
      if (after.length === before.length || attempt === 4) return [r, after];
    }
  };

  beforeAll(async () => {
    client = await connectInMemory(monitor, 'status-baselines');
    await monitor.start();
    // A series of a metric with a unit among the first baselines, before the checkouts'.
    monitor.record('api_response_time', 42);
    for (let s = 0; s < SERIES; s++) for (let i = 0; i < 3; i++) monitor.record('checkout_ms', 10 + s + i, { endpoint: `/api/v2/customers/{id}/orders/${s}/items`, region: 'eu-west-1' });
    // The monitor's own series with data (monitor_report_time has its first after a task) stay
    // the same from here, so that the counts compared are of one set of series.
    await monitor.getBaselines();
    await monitor.flush();
  });
  afterAll(async () => {
    await client.close();
    await monitor.stop();
  });

  it('names the first baselines of the whole list, counts them all, and says how to get more', async () => {
    const [r, all] = await steady(() => status({}));
    const shown = r.structuredContent.baselines;
    expect(shown.length).toBeGreaterThan(3);
    expect(r.structuredContent.baselines_total).toBe(all.length);
    expect(r.structuredContent.baselines_truncated).toBe(true);
    expect(shown.map((b) => [b.metric, b.tags])).toEqual(all.slice(0, shown.length).map((b) => [b.metric, b.tags]));
    for (const [i, b] of shown.entries()) if (b.metric === 'checkout_ms') expect(b.mean).toBe(all[i]!.mean);
    const text = r.content[0]!.text;
    expect(text).toContain(`\n${all.length} baselines (showing the first ${shown.length}, in series order: pass limit (up to 1000) for more)\n`);
    expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThanOrEqual(8 * 1024);
  });

  it("says each baseline's unit, in its figures and its text", async () => {
    const [r, all] = await steady(() => status({ limit: 10 }));
    const shown = r.structuredContent.baselines;
    expect(shown.map((b) => b.unit)).toEqual(all.slice(0, shown.length).map((b) => b.unit));
    expect(shown.find((b) => b.metric === 'api_response_time')).toMatchObject({ unit: 'ms', mean: 42, p99: 42 });
    expect(r.content[0]!.text).toContain('\napi_response_time mean 42 ms p99 42 ms');
  });

  it('shows as many as the limit asks, and past the last limit names the library call for the rest', async () => {
    const [ten, all] = await steady(() => status({ limit: 10 }));
    expect(ten.structuredContent.baselines.map((b) => b.tags)).toEqual(all.slice(0, 10).map((b) => b.tags));
    // Compared with the list as it stood for this answer: the monitor's own series may have
    // gained their first samples since the first (2,502 baselines then, 2,506 now, in a CI run).
    const [most, now] = await steady(() => status({ limit: 1000 }));
    expect(most.structuredContent.baselines).toHaveLength(1000);
    expect(most.structuredContent.baselines.at(-1)).toMatchObject({ metric: now[999]!.metric, tags: now[999]!.tags });
    expect(most.content[0]!.text).toContain(`${now.length} baselines (showing the first 1000, in series order: the rest: getBaselines({ offset: 1000 }) in the library)`);
  });
});
