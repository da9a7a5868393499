/**
 * The application may not record into the monitor's own series: every monitor_* name, and the
 * system and runtime series while their sampler runs (src/engine/reserved.ts). Refused where
 * the name is resolved (record's first sight of a shape, metric(), a batch's new series, a
 * worker's producer, MCP record_performance_metric), with the metric and the reason; the
 * monitor's own readings stay its own.
 */
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { InvalidArgumentError, type PerformanceMonitor } from '../dist/src/index.js';
import { MonitorHost } from '../dist/src/mcp/host.js';
import { McpFront } from '../dist/src/mcp/server.js';
import { caught, monitorStarter, waitFor } from './helpers.js';

const started = monitorStarter();
const OWN = `name "monitor_dropped" is reserved for the monitor's own readings (every name starting monitor_ is); record under another name`;
const SYSTEM = `name "cpu_usage" is reserved for the monitor's own readings while its sampler is on (system.enabled); record under another name, or turn system.enabled off to record it yourself`;
const RUNTIME = `"heap_used" is reserved for the monitor's own readings while its sampler is on (runtime.enabled); record under another name, or turn runtime.enabled off to record it yourself`;

/** Records under `name` in a worker thread through monitor.producer(); the worker's error message, or 'recorded'. */
function recordInWorker(m: PerformanceMonitor, name: string): Promise<string> {
  const url = new URL('../dist/src/engine/producer.js', import.meta.url).href;
  const code = `const { parentPort, workerData } = require('node:worker_threads');
import(${JSON.stringify(url)}).then(({ attachProducer }) => {
  try { attachProducer(workerData).record(${JSON.stringify(name)}, 5); parentPort.postMessage('recorded'); } catch (e) { parentPort.postMessage(e.message); }
});`;
  const worker = new Worker(code, { eval: true, workerData: m.producer() });
  return new Promise((resolve, reject) => {
    worker.once('message', (msg: string) => void worker.terminate().then(() => resolve(msg)));
    worker.once('error', reject);
  });
}

describe("the monitor's own series", () => {
  it('are refused to record(), metric() and recordBatch(), naming the metric and why', async () => {
    const m = await started({ system: { enabled: true }, runtime: { enabled: true } });
    const own = caught<InvalidArgumentError>(() => m.record('monitor_dropped', 1000));
    expect(own).toBeInstanceOf(InvalidArgumentError);
    expect(own.field).toBe('name');
    expect(own.message).toBe(OWN);
    expect(caught(() => m.record('cpu_usage', 5, { host: 'a' })).message).toBe(SYSTEM);
    expect(caught(() => m.metric('heap_used')).message).toBe(`name ${RUNTIME}`);
    expect(caught(() => m.metric('monitor_export_sent', {}, { kind: 'counter' })).message).toBe(OWN.replace('monitor_dropped', 'monitor_export_sent'));
    // A batch refuses the sample by index, and records none of it.
    const batch = caught(() => m.recordBatch([{ name: 'queue_depth', value: 3 }, { name: 'heap_used', value: 1 }]));
    expect(batch.message).toBe(`samples[1].name ${RUNTIME}`);
    expect(() => m.getMetrics({ names: ['queue_depth'] })).toThrow('names[0] "queue_depth" is not a known metric');
    // A name that only resembles the monitor's is the application's.
    m.record('cpu_usage_app', 5);
    m.record('my_monitor_dropped', 1);
  });

  it("keep only the monitor's readings: status and the series agree", async () => {
    const m = await started({ system: { enabled: true }, runtime: { enabled: true } });
    for (const name of ['monitor_dropped', 'cpu_usage']) expect(() => m.record(name, 1000)).toThrow(InvalidArgumentError);
    await m.flush();
    const [dropped] = await waitFor(() => { const d = m.getMetrics({ names: ['monitor_dropped'] }); return d.length > 0 && d; }, 10_000, "the collector's monitor_dropped");
    expect(dropped!.window.sum).toBe(m.status().ingestion.dropped);
    const cpu = await waitFor(() => { const c = m.getMetrics({ names: ['cpu_usage'] }); return c.length > 0 && c; }, 10_000, "the sampler's cpu_usage");
    expect(cpu.map((s) => s.tags)).toEqual([{}]);
  });

  it('are refused to a worker thread\'s producer too', async () => {
    const m = await started({ system: { enabled: true } });
    expect(await recordInWorker(m, 'cpu_usage')).toBe(SYSTEM);
    expect(await recordInWorker(m, 'monitor_ring_fill')).toBe(OWN.replace('monitor_dropped', 'monitor_ring_fill'));
    expect(await recordInWorker(m, 'queue_depth')).toBe('recorded');
  });

  it("leave the sampled names to the application when their sampler is off; monitor_* never", async () => {
    const m = await started({ system: { enabled: false }, runtime: { enabled: false } });
    m.record('cpu_usage', 5);
    m.record('heap_used', 1e6);
    expect(caught(() => m.record('monitor_dropped', 1000)).message).toBe(OWN);
    await m.flush();
    expect(m.getMetrics({ names: ['cpu_usage', 'heap_used'] }).map((s) => [s.name, s.last])).toEqual([
      ['cpu_usage', 5],
      ['heap_used', 1e6],
    ]);
  });

  it('are refused to record_performance_metric, about metric_type', async () => {
    const m = await started({ system: { enabled: true }, runtime: { enabled: true } });
    const server = new McpFront(new MonitorHost(m, false), {}).createServer('legacy');
    const client = new Client({ name: 'reserved', version: '1.0.0' });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    await client.connect(b);
    try {
      const call = async (args: Record<string, unknown>): Promise<[boolean, string]> => {
        const r = (await client.callTool({ name: 'record_performance_metric', arguments: args })) as { isError?: boolean; content: { text: string }[] };
        return [r.isError === true, r.content[0]!.text];
      };
      expect(await call({ metric_type: 'cpu_usage', value: 5 })).toEqual([true, `PW_ERR_INVALID_ARG: metric_type ${SYSTEM.slice('name '.length)}`]);
      expect(await call({ metric_type: 'monitor_dropped', value: 5 })).toEqual([true, `PW_ERR_INVALID_ARG: metric_type ${OWN.slice('name '.length)}`]);
      expect(await call({ samples: [{ metric_type: 'queue_depth', value: 1 }, { metric_type: 'heap_used', value: 1 }] })).toEqual([true, `PW_ERR_INVALID_ARG: samples[1].metric_type ${RUNTIME}`]);
      expect(await call({ metric_type: 'queue_depth', value: 1 })).toEqual([false, 'recorded 1 sample of queue_depth']);
    } finally {
      await client.close();
    }
  });
});
