/**
 * The fast lane is an optimisation, never a second judge, and can be turned off: the same
 * lines sent to a front over stdio with the lane on and with it off (McpFront's fastLane
 * option, `perfwatch mcp --no-fast-lane`) get the same answers and leave the same samples.
 */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { MonitorHost } from '../dist/src/mcp/host.js';
import { McpFront } from '../dist/src/mcp/server.js';
import { serveFrontOverStdio } from '../dist/src/mcp/serve-stdio.js';

const hosts: MonitorHost[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) await h.close();
});

/** Sends each line to a fresh front over stdio and returns the answers, by id. */
async function answers(fastLane: boolean, lines: unknown[]): Promise<Map<unknown, unknown>> {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
  await monitor.start();
  const host = new MonitorHost(monitor, true);
  hosts.push(host);
  const front = new McpFront(host, { fastLane });
  expect(front.lane.enabled).toBe(fastLane);
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const serving = serveFrontOverStdio(front, { stdin, stdout });
  const got = new Map<unknown, unknown>();
  let buffered = '';
  let waiting: (() => void) | undefined;
  stdout.setEncoding('utf8');
  stdout.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
      const m = JSON.parse(buffered.slice(0, nl)) as { id?: unknown };
      buffered = buffered.slice(nl + 1);
      if (m.id !== undefined) got.set(m.id, m);
      waiting?.();
    }
  });
  for (const line of lines) {
    const id = (line as { id?: unknown }).id;
    const answered = new Promise<void>((resolve) => (waiting = () => (id === undefined || got.has(id)) && resolve()));
    stdin.write(`${JSON.stringify(line)}\n`);
    if (id !== undefined) await answered;
  }
  await serving.close();
  return got;
}

const call = (id: number, name: string, args: unknown) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

describe('the MCP fast lane', () => {
  it('answers as the ordinary path does, and leaves the same samples, on or off', async () => {
    const plain = Array.from({ length: 2000 }, (_, i) => ({ metric_type: 'lane_plain', value: (i % 97) + 0.25 }));
    const tagged = Array.from({ length: 2000 }, (_, i) => ({ metric_type: 'lane_tagged', value: i, tags: { shard: String(i % 3) } }));
    const escaped = Array.from({ length: 200 }, () => ({ metric_type: 'lane_escaped', value: 1, tags: { q: 'say "hi"' } }));
    const lines = [
      { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      call(1, 'record_performance_metric', { samples: plain }),
      call(2, 'record_performance_metric', { samples: tagged }),
      call(3, 'record_performance_metric', { samples: escaped }),
      call(4, 'record_performance_metric', { samples: [...plain.slice(0, 100), { metric_type: 'lane_plain', value: 'x' }] }),
      call(5, 'record_performance_metric', { samples: plain, metric_type: 'lane_plain' }),
      call(6, 'get_performance_metrics', { metric_types: ['lane_plain', 'lane_tagged', 'lane_escaped'], limit: 100 }),
    ];
    const on = await answers(true, lines);
    const off = await answers(false, lines);
    for (const id of [1, 2, 3, 4, 5]) expect(on.get(id), `answer ${id}`).toEqual(off.get(id));
    expect(on.get(4)).toMatchObject({ result: { isError: true, content: [{ text: 'PW_ERR_INVALID_ARG: samples[100].value must be a finite number, got "x"' }] } });
    // The stored series alike: counts, sums and quantiles (the answer's time and ages aside).
    const metrics = (m: unknown) => (m as { result: { structuredContent: { metrics: { last_at: unknown }[] } } }).result.structuredContent.metrics.map(({ last_at: _at, ...rest }) => rest);
    expect(metrics(on.get(6))).toEqual(metrics(off.get(6)));
    const counts = (metrics(on.get(6)) as { name: string; tags: Record<string, string>; total_count: number }[]).map((m) => `${m.name}${JSON.stringify(m.tags)} ${m.total_count}`).sort();
    expect(counts).toEqual(['lane_escaped{"q":"say \\"hi\\""} 200', 'lane_plain{} 2000', 'lane_tagged{"shard":"0"} 667', 'lane_tagged{"shard":"1"} 667', 'lane_tagged{"shard":"2"} 666']);
  });
});
