/**
 * A report pool task that times out, or whose thread dies, is a fault of the monitor's own
 * work: counted by kind in status().faults and monitor_faults, warned once, said by
 * get_monitoring_status, its message naming the task, the limit and what to do. A timeout was
 * the caller's ReportTimeoutError alone: a team reading status, or an agent that asked over
 * MCP, could not see that reports were timing out, nor why.
 */
import type { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor, ReportTimeoutError } from '../dist/src/index.js';
import { connectInMemory } from './mcp-helpers.js';
import { waitFor } from './helpers.js';

const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

function monitor(options: Record<string, unknown> = {}): PerformanceMonitor {
  const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false }, ...options });
  monitors.push(m);
  return m;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('report pool tasks that fail, as faults', () => {
  it('counts a baselines task stopped at reports.timeoutMs as a report-timeout fault naming the task, the limit and what to do, on /metrics and in get_monitoring_status', async () => {
    // 10,000 series take the baselines task seconds (1.5-3.2 s measured), far past 100 ms.
    const SERIES = 10_000;
    const m = monitor({ maxSeries: 12_000, reports: { timeoutMs: 100 } });
    const client = await connectInMemory(m, 'report-timeout');
    try {
      await m.start();
      for (let s = 0; s < SERIES; s++) for (let i = 0; i < 4; i++) m.record('checkout_ms', s + i, { endpoint: `/api/v2/orders/${s}/items` });
      await m.flush();
      expect(await rejection(m.getBaselines())).toBeInstanceOf(ReportTimeoutError);
      const f = m.status().faults.byKind['report-timeout'];
      expect(f?.count).toBe(1);
      expect(f?.lastMessage).toBe(
        "a baselines task (getBaselines(), get_monitoring_status's baselines) ran for more than reports.timeoutMs (100 ms) and was stopped, its thread replaced; the caller got ReportTimeoutError: raise reports.timeoutMs (up to 3600000) for this much data, or ask for fewer at a time (limit)",
      );
      const r = (await client.callTool({ name: 'get_monitoring_status', arguments: {} })) as { content: { text: string }[]; structuredContent: { faults: { by_kind: Record<string, number>; newest: { kind: string } | null } } };
      expect(r.structuredContent.faults.by_kind['report-timeout']).toBeGreaterThanOrEqual(1);
      expect(r.content[0]!.text).toMatch(/report-timeout/);
      await m.flush();
      expect(m.getMetrics({ names: ['monitor_faults'] }).find((x) => x.tags.kind === 'report-timeout')?.totalSum).toBeGreaterThanOrEqual(1);
    } finally {
      await client.close();
    }
  }, 60_000);

  it('counts a task stopped at reports.timeoutMs, and the reports after it run', async () => {
    const m = monitor({ reports: { threads: 1, timeoutMs: 500 } });
    await m.start();
    m.record('queue_size', 3);
    await m.flush();
    // A task that never ends, as a report stuck in a loop would be.
    await m.injectFault('hang', 'reports');
    await m.generateReport();
    await waitFor(() => m.status().faults.byKind['report-timeout'], 10_000, 'the timeout counted');
    expect(m.status().faults.byKind['report-timeout']?.lastMessage).toMatch(/^a drill task \(injectFault\('hang', 'reports'\)\) ran for more than reports\.timeoutMs \(500 ms\) and was stopped/);
  });

  it('counts a task whose thread died (as one out of memory is ended) as a report-failed fault naming the task and the cause', async () => {
    const m = monitor({ reports: { threads: 1 } });
    await m.start();
    m.record('queue_size', 3);
    await m.flush();
    await m.injectFault('hang', 'reports');
    // The thread running it ends from outside, as Node ends a thread out of memory.
    const pool = (m as unknown as { reports: { pool: { threads: Worker[] } } }).reports.pool;
    expect(pool.threads).toHaveLength(1);
    await pool.threads[0]!.terminate();
    const f = await waitFor(() => m.status().faults.byKind['report-failed'], 10_000, 'the failure counted');
    expect(f.count).toBe(1);
    expect(f.lastMessage).toMatch(/^a drill task \(injectFault\('hang', 'reports'\)\) failed on its thread \(.+\); the caller got ReportFailedError: a thread out of memory asks for a shorter range \(from, to\) or fewer series at a time/);
    // The next report runs, on a thread of its own.
    expect(await m.generateReport()).toMatchObject({ series: expect.any(Array) });
  });
});
