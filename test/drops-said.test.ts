/**
 * Samples dropped at full rings are said where a team reads, with what to do: a fault of kind
 * `samples-dropped` (one process warning, counted by interval with drops), a note of every
 * report, and a line of get_monitoring_status. They were counted (status().ingestion.dropped,
 * the 'drops' event, monitor_dropped) and said nowhere else: a trial's run that lost 5.7% of
 * its samples had a report scoring 100 with no word of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { PerformanceMonitor, type PerformanceReport } from '../dist/src/index.js';
import type { DropReport } from '../dist/src/monitor/drops.js';
import { waitFor } from './helpers.js';
import { connectInMemory } from './mcp-helpers.js';

describe('samples dropped at full rings', () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', ringCapacity: 1024, overflow: 'drop', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }): void => {
    if (w.code === 'PERFWATCH_FAULT') warnings.push(w.message);
  };
  const reports: DropReport[] = [];
  let client: Client;

  beforeAll(async () => {
    process.on('warning', onWarning);
    client = await connectInMemory(monitor, 'drops-said');
    await monitor.start();
    monitor.on('drops', (r: DropReport) => reports.push(r));
    // The main thread records far faster than the collector drains a ring of 1,024 slots:
    // under overflow 'drop' the samples past a full ring are dropped, in two intervals at least.
    const h = monitor.metric('queue_size');
    for (let round = 0; round < 2; round++) {
      const until = Date.now() + 300;
      while (Date.now() < until) for (let i = 0; i < 10_000; i++) h.record(i);
      await new Promise((resolve) => setTimeout(resolve, 1_200));
    }
    await monitor.flush();
    await waitFor(() => reports.length >= 1 && reports.reduce((a, r) => a + r.samples, 0) === monitor.status().ingestion.dropped, 5_000, 'every drop announced');
  }, 30_000);

  afterAll(async () => {
    process.off('warning', onWarning);
    await client.close();
    await monitor.stop();
  });

  it('are a fault of kind samples-dropped, warned once, saying how many, what share and what to do', () => {
    const fault = monitor.status().faults.byKind['samples-dropped'];
    expect(fault?.count).toBe(reports.length);
    expect(fault!.lastMessage).toMatch(/^[\d,]+ samples \([\d.]+% of those recorded\) dropped at full rings between \S+Z and \S+Z: overflow 'drop' drops a sample whenever its ring is full: a larger ringCapacity \(now 1,024\) holds longer bursts, and overflow 'wait' \(the default\) lets the recording thread wait up to stallTimeoutMs for the collector first$/);
    // The latest interval's count and share, as its 'drops' event's.
    const last = reports.at(-1)!;
    expect(fault!.lastMessage.startsWith(`${last.samples.toLocaleString('en-US')} samples (`)).toBe(true);
    expect(last.applied).toBeGreaterThan(0);
    expect(warnings.filter((w) => w.includes('samples-dropped'))).toHaveLength(1);
  });

  it('are not monitor_faults samples, which would go into the full ring (monitor_dropped counts them)', async () => {
    await monitor.flush();
    expect(monitor.getMetrics({ names: ['monitor_faults'] }).filter((f) => f.tags.kind === 'samples-dropped')).toEqual([]);
    expect(monitor.getMetrics({ names: ['monitor_dropped'] })[0]?.totalSum).toBe(monitor.status().ingestion.dropped);
  });

  it("are a note of the report, since the first, with the latest interval and what to do", async () => {
    const report = (await monitor.generateReport()) as PerformanceReport;
    const note = report.notes.find((n) => n.includes('dropped at full rings'));
    expect(note).toBeDefined();
    expect(note).toMatch(new RegExp(`^${monitor.status().ingestion.dropped.toLocaleString('en-US')} samples dropped at full rings since \\S+Z \\(the latest interval with drops: [\\d,]+ samples \\([\\d.]+% of those recorded\\) dropped at full rings between \\S+Z and \\S+Z\\): the figures here lack them; overflow 'drop' drops a sample`));
  });

  it('are a line of get_monitoring_status with what to do', async () => {
    const text = ((await client.callTool({ name: 'get_monitoring_status', arguments: {} })) as { content: { text: string }[] }).content[0]!.text;
    const line = text.split('\n').find((l) => l.startsWith('samples dropped: '));
    expect(line).toMatch(new RegExp(`^samples dropped: ${monitor.status().ingestion.dropped.toLocaleString('en-US')} at full rings \\(the latest interval with drops: .*\\); overflow 'drop' drops a sample whenever its ring is full: a larger ringCapacity \\(now 1,024\\) holds longer bursts`));
  });
});

describe('a monitor that drops nothing', () => {
  it('says nothing of drops: no fault, no note, no line', async () => {
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
    const client = await connectInMemory(m, 'drops-none');
    await m.start();
    try {
      m.record('queue_size', 1);
      await m.flush();
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      expect(m.status().faults.byKind['samples-dropped']).toBeUndefined();
      expect(((await m.generateReport()) as PerformanceReport).notes.some((n) => n.includes('dropped'))).toBe(false);
      const text = ((await client.callTool({ name: 'get_monitoring_status', arguments: {} })) as { content: { text: string }[] }).content[0]!.text;
      expect(text).not.toMatch(/^samples dropped/m);
    } finally {
      await client.close();
      await m.stop();
    }
  });
});
