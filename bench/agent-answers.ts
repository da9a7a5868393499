/**
 * What an agent waits for at high cardinality: get_monitoring_status (plain, and with
 * include_baselines), getBaselines() of every series, get_performance_metrics with a
 * misspelt tag, one report and eight reports asked at once, and a report over the JSON API
 * (its first page, the next, the whole report: the bytes of each), on a monitor with 10,000
 * series. `npm run bench:agents`.
 *
 * A real monitor with storage 'sqlite' in a temporary dataDir (the default storage), filled
 * for BENCH_FILL_SECONDS (30) with one sample per series every 100 ms, each series a
 * request latency tagged as a service tags them (endpoint paths of ~50 characters, method,
 * status, region, service). The tools are called over the SDK's in-memory transport, one
 * call in flight but for the concurrent reports. The first status call with baselines is
 * timed apart: it starts the report pool's thread (~0.3 s of thread start and JIT warm-up).
 * The machine's other load falls on each case as it comes: compare builds on one machine,
 * one run after the other.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { PerformanceMonitor } from '../src/index.js';
import { MonitorHost } from '../src/mcp/host.js';
import { McpFront } from '../src/mcp/server.js';
import { median } from './median.js';

const SERIES = Number(process.env.BENCH_SERIES ?? 10_000);
const FILL_SECONDS = Number(process.env.BENCH_FILL_SECONDS ?? 30);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const CONCURRENT = 8;

const SERVICES = ['checkout-service', 'inventory-service', 'payments-gateway', 'user-profile-api', 'search-frontend'];
const REGIONS = ['eu-west-1', 'us-east-1', 'ap-southeast-2', 'sa-east-1'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE'];

function tagsOf(i: number): Record<string, string> {
  return {
    endpoint: `/api/v2/${SERVICES[i % 5]}/customers/{customerId}/orders/${i}/items`,
    method: METHODS[(i >> 2) % 4]!,
    status: String(200 + ((i >> 4) % 5)),
    region: REGIONS[(i >> 3) % 4]!,
    service: SERVICES[(i >> 5) % 5]!,
  };
}

async function fill(monitor: PerformanceMonitor): Promise<number> {
  const tags = Array.from({ length: SERIES }, (_, i) => tagsOf(i));
  const t0 = Date.now();
  let samples = 0;
  for (let round = 0; Date.now() - t0 < FILL_SECONDS * 1000; round++) {
    for (let i = 0; i < SERIES; i++) monitor.record('http_request_duration_ms', 20 + (i % 50) + ((round * 7919 + i) % 100) / 10, tags[i]);
    samples += SERIES;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await monitor.flush();
  return samples;
}

interface Row {
  name: string;
  ms: number[];
  /** The answer's size, for the cases that read one over HTTP. */
  bytes?: number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'perfwatch-bench-agents-'));
  const monitor = new PerformanceMonitor({ dataDir: join(dir, 'data'), system: { enabled: false } });
  await monitor.start();
  const server = new McpFront(new MonitorHost(monitor, false)).createServer('legacy');
  const client = new Client({ name: 'bench-agents', version: '1.0.0' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  await client.connect(b);
  const rows: Row[] = [];
  try {
    const samples = await fill(monitor);
    process.stderr.write(`filled ${SERIES} series, ${samples.toLocaleString('en-US')} samples over ${FILL_SECONDS} s\n`);
    const call = async (name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> => {
      const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: { text: string }[]; structuredContent: Record<string, unknown> };
      if (r.isError) throw new Error(`${name}: ${r.content[0]?.text}`);
      return r.structuredContent;
    };
    const time = async (name: string, runs: number, run: () => Promise<unknown>): Promise<void> => {
      const ms: number[] = [];
      let bytes: number | undefined;
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        const out = await run();
        ms.push(performance.now() - t0);
        if (typeof out === 'string') bytes = Buffer.byteLength(out);
      }
      rows.push({ name, ms, ...(bytes !== undefined ? { bytes } : {}) });
      process.stderr.write(`  ${name}: median ${median(ms).toFixed(0)} ms (${ms.map((x) => x.toFixed(0)).join(' ')})\n`);
    };
    await time('get_monitoring_status {}', RUNS, () => call('get_monitoring_status', {}));
    await time('get_monitoring_status { include_baselines }, first call (starts the pool thread)', 1, () => call('get_monitoring_status', { include_baselines: true }));
    await time('get_monitoring_status { include_baselines }', RUNS, () => call('get_monitoring_status', { include_baselines: true }));
    const shown = (await call('get_monitoring_status', { include_baselines: true })) as { baselines: unknown[]; baselines_total: number };
    process.stderr.write(`  (the answer shows ${shown.baselines.length} of ${shown.baselines_total} baselines)\n`);
    await time('get_monitoring_status { include_metrics, include_alerts, include_baselines }', RUNS, () => call('get_monitoring_status', { include_metrics: true, include_alerts: true, include_baselines: true }));
    await time('get_performance_metrics {} (its first page: 8 KB of series)', RUNS, () => call('get_performance_metrics', {}));
    await time('get_performance_metrics { tags: { endpont } } (a misspelt tag)', RUNS, () => call('get_performance_metrics', { tags: { endpont: tagsOf(42).endpoint } }));
    await time(`getBaselines() of every series`, 3, () => monitor.getBaselines());
    await time('generateReport() (JSON)', 3, () => monitor.generateReport());
    await time(`${CONCURRENT} generateReport() at once (all of them)`, 2, () => Promise.all(Array.from({ length: CONCURRENT }, () => monitor.generateReport())));
    // The JSON API's report, a page at a time (docs/http.md): the answer's bytes beside its time.
    const http = await monitor.serveHttp({ port: 0 });
    try {
      const text = async (path: string, init?: RequestInit): Promise<string> => {
        const res = await fetch(new URL(path, http.url), init);
        const body = await res.text();
        if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body.slice(0, 200)}`);
        return body;
      };
      await time('POST /api/reports (its first page, 200 series)', 3, () => text('/api/reports', { method: 'POST', body: '{}' }));
      await time('GET /api/reports/latest?offset=200 (the next page)', RUNS, () => text('/api/reports/latest?offset=200'));
      await time('GET /api/reports/latest?limit=100000 (the whole report)', 3, () => text('/api/reports/latest?limit=100000'));
    } finally {
      await http.close();
    }
  } finally {
    await client.close();
    await monitor.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nperfwatch agent answers benchmark — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
  console.log(`${SERIES.toLocaleString('en-US')} series, a sample each every 100 ms for ${FILL_SECONDS} s, storage sqlite; MCP over the in-memory transport\n`);
  console.log('| case | ms (median) | min – max | runs | bytes |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.name} | ${median(r.ms).toFixed(0)} | ${Math.min(...r.ms).toFixed(0)} – ${Math.max(...r.ms).toFixed(0)} | ${r.ms.length} | ${r.bytes?.toLocaleString('en-US') ?? ''} |`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
