/**
 * get_monitoring_status says what went wrong in the monitor's own work: its faults by kind and
 * the newest one, in a bounded answer. It left them out: a trial's status read as healthy
 * while every flush failed (the full-disk side is in test/storage-disk.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { PerformanceMonitor } from '../dist/src/index.js';
import { connectInMemory } from './mcp-helpers.js';

interface StatusAnswer {
  content: { text: string }[];
  structuredContent: { faults: { total: number; by_kind: Record<string, number>; kinds_not_shown: number; newest: { kind: string; message: string; age_seconds: number | null } | null; storage?: unknown } };
}

describe("get_monitoring_status's faults", () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  // The monitor's own fault log, as its parts report to it (a test may reach what the host cannot).
  const faults = (monitor as unknown as { faults: { report(kind: string, error: unknown): void } }).faults;
  let client: Client;
  const status = async (): Promise<StatusAnswer> => (await client.callTool({ name: 'get_monitoring_status', arguments: {} })) as StatusAnswer;

  beforeAll(async () => {
    client = await connectInMemory(monitor, 'status-faults');
    await monitor.start();
  });
  afterAll(async () => {
    await client.close();
    await monitor.stop();
  });

  it('says there are none, and with storage memory no storage line', async () => {
    const r = await status();
    expect(r.content[0]!.text.split('\n')).toContain('faults: none since the monitor was created');
    expect(r.content[0]!.text).not.toMatch(/^storage \(sqlite\): /m);
    expect(r.structuredContent.faults).toEqual({ total: 0, by_kind: {}, kinds_not_shown: 0, newest: null });
  });

  it('counts the faults by kind, names the newest with its age, and stays bounded however many kinds and however long their messages', async () => {
    const process = globalThis.process;
    const quiet = (): void => {};
    process.on('warning', quiet);
    try {
      for (let k = 0; k < 30; k++) for (let i = 0; i <= k; i++) faults.report(`kind-${String(k).padStart(2, '0')}`, new Error(`${'x'.repeat(5_000)} ${k}`));
      faults.report('export', new Error('http://collector:4318: connect ECONNREFUSED'));
    } finally {
      process.off('warning', quiet);
    }
    const r = await status();
    const f = r.structuredContent.faults;
    expect(f.total).toBe((30 * 31) / 2 + 1);
    // The most frequent eight, the rest counted.
    expect(Object.keys(f.by_kind)).toEqual(['kind-29', 'kind-28', 'kind-27', 'kind-26', 'kind-25', 'kind-24', 'kind-23', 'kind-22']);
    expect(f.by_kind['kind-29']).toBe(30);
    expect(f.kinds_not_shown).toBe(31 - 8);
    expect(f.newest).toEqual({ kind: 'export', message: 'http://collector:4318: connect ECONNREFUSED', age_seconds: 0 });
    const line = r.content[0]!.text.split('\n').find((l) => l.startsWith('faults: '));
    expect(line).toBe('faults: 466 since the monitor was created (kind-29 30, kind-28 29, kind-27 28, kind-26 27, kind-25 26, kind-24 25, kind-23 24, kind-22 23, 23 more kinds); newest export, 0 s ago: http://collector:4318: connect ECONNREFUSED');
    faults.report('kind-00', new Error('y'.repeat(5_000)));
    const again = (await status()).structuredContent.faults.newest!;
    expect(again.kind).toBe('kind-00');
    expect(again.message).toHaveLength(200);
    expect(again.message.endsWith('…')).toBe(true);
    expect(Buffer.byteLength(JSON.stringify((await status()).structuredContent.faults))).toBeLessThan(1_000);
  });
});
