/**
 * get_monitoring_status says when the monitor is over its own budget, what it costs and what
 * to do: nothing of its cost was in the answer (status().overhead and the monitor_overhead_*
 * series held it), so an agent asked whether the monitor costs the service much could not tell.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { PerformanceMonitor } from '../dist/src/index.js';
import { connectInMemory } from './mcp-helpers.js';

const opened: { client: Client; monitor: PerformanceMonitor }[] = [];
afterEach(async () => {
  for (const { client, monitor } of opened.splice(0)) {
    await client.close();
    await monitor.stop();
  }
});

interface OverheadOut {
  cpu_percent: number | null;
  memory_bytes: number | null;
  budget: { cpu_percent: number; memory_bytes: number };
  over_budget: { cpu: boolean; memory: boolean };
  level: number;
}

async function statusText(monitor: PerformanceMonitor, name: string): Promise<{ text: () => Promise<string>; overhead: () => Promise<OverheadOut> }> {
  const client = await connectInMemory(monitor, name);
  opened.push({ client, monitor });
  await monitor.start();
  const call = async () => (await client.callTool({ name: 'get_monitoring_status', arguments: {} })) as { content: { text: string }[]; structuredContent: { overhead: OverheadOut } };
  return { text: async () => (await call()).content[0]!.text, overhead: async () => (await call()).structuredContent.overhead };
}

describe("get_monitoring_status's overhead line", () => {
  it('names the budget passed, the cost by thread and what to do when the cost is ingestion', async () => {
    // A budget no monitor stays within, and the host recording steadily: over it by ingestion.
    const monitor = new PerformanceMonitor({ storage: 'memory', runtime: { enabled: false }, overhead: { cpuPercent: 0.0001, checkIntervalMs: 200 } });
    const { text, overhead } = await statusText(monitor, 'status-overhead');
    const h = monitor.metric('response_time', { route: '/busy' });
    const until = Date.now() + 30_000;
    while (!monitor.status().overhead.ingestionBound && Date.now() < until) {
      for (let i = 0; i < 10_000; i++) h.record(i & 1023);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(monitor.status().overhead.ingestionBound, JSON.stringify(monitor.status().overhead)).toBe(true);
    const line = (await text()).split('\n').find((l) => l.startsWith('overhead '));
    expect(line).toMatch(/^overhead over its budget \(overhead\.cpuPercent 0\.0001\): [\d.]+% of a core \(collector [\d.]+%, of which system sampling [\d.]+%; main thread [\d.]+%; reports [\d.]+%\), memory [\d.]+ MiB; back-off level \d: /);
    expect(line).toMatch(/over the CPU budget by ingestion .*; to cost less, record fewer samples .*a larger ringCapacity .*or raise overhead\.cpuPercent/);
    // The structured answer says the same for an agent that reads it and not the text.
    const o = await overhead();
    expect(o.over_budget.cpu).toBe(true);
    expect(o.budget.cpu_percent).toBe(0.0001);
    expect(o.cpu_percent).toBeGreaterThan(0.0001);
    expect(o.memory_bytes).toBeGreaterThan(0);
  }, 40_000);

  it('is left out within the budget, and with the budget off', async () => {
    const off = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
    const { text } = await statusText(off, 'status-overhead-off');
    off.record('response_time', 1);
    await off.flush();
    expect(await text()).not.toMatch(/^overhead /m);
    const within = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { cpuPercent: 1000, checkIntervalMs: 200 } });
    const second = await statusText(within, 'status-overhead-within');
    await new Promise((resolve) => setTimeout(resolve, 2_600));
    expect(within.status().overhead.lastCheck).not.toBeNull();
    expect(await second.text()).not.toMatch(/^overhead /m);
    // Within the budget the structured answer still gives the cost, measured, and says within.
    const o = await second.overhead();
    expect(o.over_budget).toEqual({ cpu: false, memory: false });
    expect(o.budget.cpu_percent).toBe(1000);
    expect(o.cpu_percent).toBeGreaterThanOrEqual(0);
    expect(o.level).toBe(0);
  });
});
