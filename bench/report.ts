/**
 * Report benchmark: time to generate a report over 100 series × 100,000 points (one hour of
 * one-second buckets, ~28 samples each), and the main thread's event-loop lag p99 while it
 * runs. `npm run bench:report`.
 *
 * The store is filled with the real writer on synthetic time ending now, as the collector
 * would have over the last hour. The peer, in the same run, is the same report built on the
 * main thread: what the pool keeps off the event loop. Lag is a 1 ms timer histogram
 * (monitorEventLoopDelay) over each case's runs, less its 1 ms period.
 */
import { cpus } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Registry, createRegistry } from '../src/engine/registry.js';
import { buildReport } from '../src/reports/build.js';
import { ReportService } from '../src/reports/service.js';
import { SketchAccumulator } from '../src/engine/sketch.js';
import { createStore } from '../src/engine/store/layout.js';
import { StoreReader } from '../src/engine/store/reader.js';
import { drivenEngine } from './driven-engine.js';
import { median } from './median.js';

const SERIES = 100;
const POINTS = Number(process.env.BENCH_POINTS ?? 100_000);
const SECONDS = 3600;
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const MiB = 1024 * 1024;

function fill(): { store: ReturnType<typeof createStore>; registryBuffers: ReturnType<typeof createRegistry>; registry: Registry; samples: number } {
  const start = Math.floor((Date.now() - SECONDS * 1000) / 60_000) * 60_000;
  const { store, registryBuffers, registry, producer, drain } = drivenEngine({ maxSeries: 128, rawCapacity: 256, bucketCapacity: SECONDS, rollupCapacity: 120, intervalMs: 1000, rollupMs: 60_000, logBytes: 256 * MiB, rollupLogBytes: 32 * MiB, poolBytes: 8 * MiB }, start);
  // A service's mix: latency per endpoint and API, error and hit ratios, gauges, counters.
  const ids: { id: number; gen: (i: number) => number }[] = [];
  const table = new Float64Array(8192);
  let seed = 7;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed + 0.5) / 4294967296;
  };
  for (let i = 0; i < table.length; i++) table[i] = Math.exp(3 + 0.7 * Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand()));
  const add = (name: string, tags: Record<string, string>, gen: (i: number) => number): void => {
    ids.push({ id: registry.seriesId(name, tags), gen });
  };
  for (let k = 0; k < 40; k++) add('response_time', { endpoint: `/e${k}` }, (i) => table[(i * 31 + k) & 8191]!);
  for (let k = 0; k < 20; k++) add('api_response_time', { api: `a${k}` }, (i) => 2 * table[(i * 17 + k) & 8191]!);
  for (let k = 0; k < 10; k++) add('error_rate', { endpoint: `/e${k}` }, (i) => (i % 97 === k ? 1 : 0));
  for (let k = 0; k < 10; k++) add('throughput', { endpoint: `/e${k}` }, () => 1);
  for (let k = 0; k < 5; k++) add('cache_hit_rate', { cache: `c${k}` }, (i) => (i % 10 < 8 ? 1 : 0));
  for (let k = 0; k < 5; k++) add('queue_size', { queue: `q${k}` }, (i) => (i * 7 + k) % 50);
  for (const name of ['cpu_usage', 'memory_usage', 'event_loop_lag', 'heap_used', 'formula_calculation_time', 'database_connections', 'gc_pause', 'cpu_iowait', 'rss', 'active_connections']) {
    add(name, {}, (i) => table[(i * 13) & 8191]!);
  }
  let samples = 0;
  for (let s = 0; s < SECONDS; s++) {
    const lo = Math.floor((s * POINTS) / SECONDS);
    const hi = Math.floor(((s + 1) * POINTS) / SECONDS);
    for (const { id, gen } of ids) for (let i = lo; i < hi; i++) producer.push(id, gen(i));
    samples += drain(start + s * 1000 + 1);
  }
  // Close the last bucket.
  drain(start + SECONDS * 1000 + 1);
  return { store, registryBuffers, registry, samples };
}

interface Row {
  name: string;
  ms: number[];
  /** CPU time of the pool thread per task (what the pool reports; none for the main-thread peer). */
  cpuMs: number[];
  lagP99: number;
}

/** The pool thread's CPU time of each task the service ran since the last take(). */
const taskCpu: number[] = [];

async function measure(name: string, run: () => Promise<unknown> | unknown, runs = RUNS): Promise<Row> {
  const lag = monitorEventLoopDelay({ resolution: 1 });
  const ms: number[] = [];
  taskCpu.length = 0;
  lag.enable();
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
    // A breath between runs, as between real reports: the timer gets its samples.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  lag.disable();
  const row = { name, ms, cpuMs: taskCpu.splice(0), lagP99: Math.max(0, lag.percentile(99) / 1e6 - 1) };
  process.stderr.write(`  ${name}: median ${median(ms).toFixed(1)} ms (${ms.map((x) => x.toFixed(0)).join(' ')}), lag p99 ${row.lagP99.toFixed(2)} ms\n`);
  return row;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  const { store, registryBuffers, registry, samples } = fill();
  process.stderr.write(`filled ${SERIES} series, ${samples.toLocaleString('en-US')} samples in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  if (samples !== SERIES * POINTS) throw new Error(`expected ${SERIES * POINTS} samples in the store, got ${samples}`);

  const reader = new StoreReader(store);
  const service = new ReportService({
    monitorId: 'bench',
    store,
    registry: registryBuffers,
    threads: 1,
    timeoutMs: 600_000,
    alertHistory: undefined,
    onTask: (_kind, _wallMs, cpuMs) => void taskCpu.push(cpuMs),
    seriesWithData: () => Array.from({ length: registry.seriesCount() }, (_, id) => id).filter((id) => reader.totalCount(id) > 0),
  });
  const rows: Row[] = [];
  rows.push(await measure('pool, JSON, first report (thread start included)', () => service.generate({}), 1));
  const check = (await service.generate({})) as { summary: { samples: number; series: number } };
  if (check.summary.samples !== SERIES * POINTS || check.summary.series !== SERIES) throw new Error(`the report saw ${check.summary.series} series and ${check.summary.samples} samples`);
  rows.push(await measure('pool, JSON', () => service.generate({})));
  rows.push(await measure('pool, Markdown', () => service.generate({ format: 'markdown' })));
  let htmlBytes = 0;
  const html = await measure('pool, HTML with charts', async () => {
    htmlBytes = Buffer.byteLength((await service.generate({ format: 'html' })) as string);
  });
  html.name = `pool, HTML with charts (uPlot inlined; the page ${(htmlBytes / 1024).toFixed(0)} KB)`;
  rows.push(html);
  rows.push(await measure('pool, baselines of every series', () => service.baselines()));
  const acc = new SketchAccumulator();
  const metricAcc = new SketchAccumulator();
  const onMain = await measure('peer: the same JSON report built on the main thread', () =>
    buildReport({ registry, reader, acc, metricAcc }, { now: Date.now(), includeAlerts: true, includeRecommendations: true, alertHistory: [], alertHistoryAvailable: false }),
  );
  rows.push(onMain);
  await service.close();

  const peer = median(onMain.ms);
  console.log(`\nperfwatch report benchmark — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
  console.log(`${SERIES} series × ${POINTS.toLocaleString('en-US')} points (one hour of 1 s buckets), median of ${RUNS} runs; lag = main thread's event-loop delay p99 during the runs\n`);
  console.log('| case | ms (median) | min – max | × main-thread build | pool thread CPU ms (median) | main-thread lag p99 (ms) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const m = median(r.ms);
    const cpu = r.cpuMs.filter(Number.isFinite);
    console.log(`| ${r.name} | ${m.toFixed(1)} | ${Math.min(...r.ms).toFixed(1)} – ${Math.max(...r.ms).toFixed(1)} | ${(m / peer).toFixed(2)} | ${cpu.length ? median(cpu).toFixed(1) : '–'} | ${r.lagP99.toFixed(2)} |`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
