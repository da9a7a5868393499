/**
 * get_monitoring_status after a start that left stored series out of the registry (the
 * catalog's headroom for the live series, docs/storage.md "Restoring the catalog"): the text
 * says how many were registered and left out and where their history is, where before it said
 * only `app series 0/16` and the older series were nowhere in the answer.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { PerformanceMonitor } from '../dist/src/index.js';
import { connectInMemory } from './mcp-helpers.js';

const monitors: PerformanceMonitor[] = [];
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

function monitor(dataDir: string): PerformanceMonitor {
  const m = new PerformanceMonitor({ storage: 'sqlite', dataDir, maxSeries: 16, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  monitors.push(m);
  return m;
}

const statusText = async (m: PerformanceMonitor, name: string): Promise<string> => {
  const client = await connectInMemory(m, name);
  clients.push(client);
  const r = (await client.callTool({ name: 'get_monitoring_status', arguments: {} })) as { content: { text: string }[] };
  return r.content[0]!.text;
};

describe("get_monitoring_status and the stored catalog's series left out at start", () => {
  it('says how many stored series the start registered and left out, and where their history is', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pw-status-catalog-')), 'data');
    const first = monitor(dir);
    await first.start();
    for (let i = 0; i < 16; i++) first.record('catalog_rt', 1, { pod: `p${i}` });
    await first.flush();
    await first.stop();
    monitors.pop();

    const second = monitor(dir);
    await second.start();
    const catalog = (second.status().storage as { catalog?: { stored: number; registered: number; leftOut: number } }).catalog!;
    // The 16 recorded, and the monitor's own series when the first monitor lived past a bucket's close.
    expect(catalog.stored).toBeGreaterThanOrEqual(16);
    expect(catalog.leftOut).toBeGreaterThan(0);
    const line = (await statusText(second, 'status-catalog')).split('\n').find((l) => l.startsWith('storage: '));
    expect(line).toBe(
      `storage: ${catalog.registered} of ${catalog.stored} stored series registered at start; ${catalog.leftOut} older ones left out to keep room for the live series: their history is still read from the database (get_metric_history), and raising maxSeries registers more at start`,
    );
  });

  it('says nothing of the catalog when the start registered every stored series', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pw-status-catalog-')), 'data');
    const first = monitor(dir);
    await first.start();
    first.record('catalog_rt', 1, { pod: 'a' });
    await first.flush();
    await first.stop();
    monitors.pop();
    const second = monitor(dir);
    await second.start();
    expect(await statusText(second, 'status-catalog-all')).not.toContain('storage: ');
  });
});
