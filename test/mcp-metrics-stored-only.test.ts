/**
 * get_performance_metrics after a restart, for metrics recorded only before it: their series
 * have no sample since the start, so the answer lists none, and it said only `no series
 * matches c, d, g yet: leave out metric_types …`, which an agent read as no data at all. It
 * says where their stored history is, as the covered seconds of a series that exists do.
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
  const m = new PerformanceMonitor({ storage: 'sqlite', dataDir, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  monitors.push(m);
  return m;
}

describe('get_performance_metrics after a restart, of metrics with stored history only', () => {
  it('says their samples from before the start are in get_metric_history', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pw-metrics-stored-')), 'data');
    const first = monitor(dir);
    await first.start();
    first.record('stored_only_q', 3);
    await first.flush();
    await first.stop();
    monitors.pop();

    const second = monitor(dir);
    await second.start();
    const client = await connectInMemory(second, 'metrics-stored-only');
    clients.push(client);
    const text = async (args: Record<string, unknown>): Promise<string> => ((await client.callTool({ name: 'get_performance_metrics', arguments: args })) as { content: { text: string }[] }).content[0]!.text;
    expect(await text({ metric_types: ['stored_only_q'] })).toBe('no series matches stored_only_q yet: leave out metric_types for the series there are; samples from before this monitor started are in get_metric_history when storage kept them');
    // And there they are.
    const history = (await client.callTool({ name: 'get_metric_history', arguments: { metric_type: 'stored_only_q', time_range: '1h' } })) as { content: { text: string }[] };
    expect(history.content[0]!.text).toMatch(/\nstored_only_q: 1 points .* first 3 last 3/);
  });
});
