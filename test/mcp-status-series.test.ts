/**
 * get_monitoring_status says which series its count and limit are of: the application's,
 * against maxSeries, beside the monitor's own (runtime, system, monitor_*), which
 * get_performance_metrics lists too. A bare `series 0/10000` beside 14 listed series read
 * as series gone missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { PerformanceMonitor } from '../dist/src/index.js';
import { connectInMemory } from './mcp-helpers.js';

describe("get_monitoring_status's series count", () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, overhead: { enabled: false } });
  let client: Client;

  beforeAll(async () => {
    client = await connectInMemory(monitor, 'status-series');
    await monitor.start();
    for (const endpoint of ['/a', '/b', '/c']) monitor.record('checkout_ms', 1, { endpoint });
    await monitor.flush();
  });
  afterAll(async () => {
    await client.close();
    await monitor.stop();
  });

  it("says the application's series against maxSeries, and the monitor's own apart", async () => {
    // The monitor's own series gain their first samples now and then (runtime sampling, its
    // readings): the answer's count lies between those read just before and just after it.
    const before = monitor.status().series.own.count;
    const r = (await client.callTool({ name: 'get_monitoring_status', arguments: {} })) as { content: { text: string }[]; structuredContent: { series: { count: number } } };
    const after = monitor.status().series.own.count;
    expect(before).toBeGreaterThan(0); // runtime sampling is on: the monitor has series of its own
    expect(r.structuredContent.series.count).toBe(3);
    const line = r.content[0]!.text.split('\n')[1]!;
    const said = /^app series 3\/10000 \(maxSeries\) and (\d+) of the monitor's own; ingested /.exec(line);
    expect(said, line).not.toBeNull();
    expect(Number(said![1])).toBeGreaterThanOrEqual(before);
    expect(Number(said![1])).toBeLessThanOrEqual(after);
  });
});
