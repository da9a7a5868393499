/**
 * HTTP front benchmark (`npm run bench:http`): what /metrics costs.
 *
 * 1. Render: the exposition of 10,000 series (histograms with the 15 default bounds, and
 *    gauges), from a store filled by the real writer on synthetic time, against prom-client's
 *    `register.metrics()` for the same label sets and the same samples, in the same run.
 * 2. Scrape cost on the host: a real monitor with 10,000 series, the host's main thread
 *    recording into them in turns of 2,000 samples (and, apart, idle), with and without a
 *    scrape of /metrics every second (by a child process, as Prometheus would), in short
 *    alternating phases: samples recorded per second and the event loop's delay p99
 *    (monitorEventLoopDelay). The peer: prom-client's register.metrics() on the main thread
 *    every second, the way it serves.
 */
import { fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import client from 'prom-client';
import { PerformanceMonitor } from '../src/monitor/monitor.js';
import { DEFAULT_BUCKETS, Exposition } from '../src/http/exposition.js';
import { threadCpuMs } from '../src/engine/thread-cpu.js';
import { drivenEngine } from './driven-engine.js';
import { seriesValues } from './values.js';
import { median } from './median.js';

const SERIES = Number(process.env.BENCH_SERIES ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 2_000);
const PHASES = Number(process.env.BENCH_PHASES ?? 6);
const MiB = 1024 * 1024;

/** A log-normal-ish latency per series and sample (the same values for perfwatch and the peer). */
const value = seriesValues(1.2, 10);

interface Row {
  name: string;
  ms: number[];
  /** CPU time of this thread per render: what the wall time is, less waiting for a core on a shared machine. */
  cpu: number[];
  bytes: number;
}

/** `before` runs untimed ahead of each render (new values for the gauges). */
async function timeAsync(name: string, run: () => unknown, before?: () => void): Promise<Row> {
  const ms: number[] = [];
  const cpu: number[] = [];
  let bytes = 0;
  for (let r = 0; r < RUNS + 2; r++) {
    before?.();
    const c0 = threadCpuMs();
    const t0 = performance.now();
    const out = await run();
    if (r >= 2) {
      ms.push(performance.now() - t0);
      cpu.push(threadCpuMs() - c0);
    }
    bytes = typeof out === 'string' ? Buffer.byteLength(out) : (out as Uint8Array).byteLength;
  }
  process.stderr.write(`  ${name}: median ${median(ms).toFixed(1)} ms, CPU ${median(cpu).toFixed(1)} ms\n`);
  return { name, ms, cpu, bytes };
}

async function renderRows(kind: 'histogram' | 'gauge'): Promise<Row[]> {
  const start = Math.floor((Date.now() - 60_000) / 60_000) * 60_000;
  const { registry, reader, producer, drain } = drivenEngine({ maxSeries: SERIES + 16, rawCapacity: 16, bucketCapacity: 300, rollupCapacity: 60, intervalMs: 1000, rollupMs: 60_000, logBytes: 256 * MiB, rollupLogBytes: 8 * MiB, poolBytes: 64 * MiB }, start);
  const ids = Array.from({ length: SERIES }, (_, k) => registry.seriesId(kind === 'histogram' ? 'response_time' : 'queue_size', { endpoint: `/e${k}` }));
  let i = 0;
  for (let s = 0; s < 30; s++) {
    for (let n = 0; n < 5; n++, i++) for (let k = 0; k < SERIES; k++) producer.push(ids[k]!, value(k, i));
    drain(start + s * 1000 + 1);
  }
  const exposition = new Exposition(registry, reader, DEFAULT_BUCKETS);
  // Gauges get a new value each before every render, as a second of recording would give
  // them: a render then formats 10,000 numbers V8 has not formatted before (its number-string
  // cache would otherwise halve the cost of the digits, which are most of a gauge's line).
  let second = 30;
  // The value table repeats every 8,192 draws: a second's shift keeps every value new.
  const fresh = (k: number, s: number): number => value(k, i + s) + s / 1024;
  const newGauges = kind === 'gauge' ? () => {
    for (let k = 0; k < SERIES; k++) producer.push(ids[k]!, fresh(k, second));
    drain(start + second++ * 1000 + 1);
  } : undefined;
  const ours = await timeAsync(`perfwatch /metrics render, ${SERIES} ${kind} series (in its worker)${newGauges ? ', every value new' : ''}`, () => exposition.render('prometheus'), newGauges);

  const reg = new client.Registry();
  let peer: Row;
  if (kind === 'histogram') {
    const h = new client.Histogram({ name: 'response_time', help: 'h', labelNames: ['endpoint'], buckets: [...DEFAULT_BUCKETS], registers: [reg] });
    for (let k = 0; k < SERIES; k++) {
      const child = h.labels({ endpoint: `/e${k}` });
      for (let n = 0; n < i; n++) child.observe(value(k, n));
    }
    peer = await timeAsync(`peer: prom-client register.metrics(), ${SERIES} Histogram label sets, same bounds`, () => reg.metrics());
  } else {
    const g = new client.Gauge({ name: 'queue_size', help: 'h', labelNames: ['endpoint'], registers: [reg] });
    const gauges = Array.from({ length: SERIES }, (_, k) => g.labels({ endpoint: `/e${k}` }));
    second = 30;
    const newPeerGauges = (): void => {
      for (let k = 0; k < SERIES; k++) gauges[k]!.set(fresh(k, second));
      second++;
    };
    peer = await timeAsync(`peer: prom-client register.metrics(), ${SERIES} Gauge label sets, every value new`, () => reg.metrics(), newPeerGauges);
  }
  return [ours, peer];
}

/**
 * The host: records into SERIES series in turns of 2,000 samples (busy), or only waits (idle:
 * the loop delay then shows what a scrape itself blocks, apart from the recording's turns);
 * returns samples per second and loop delay p99 (ms) over the phase.
 */
async function hostPhase(handles: { record(v: number): void }[], ms: number, busy = true): Promise<{ rate: number; lagP99: number; lagMax: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let recorded = 0;
  let next = 0;
  const end = performance.now() + ms;
  if (!busy) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    h.disable();
    return { rate: 0, lagP99: h.percentile(99) / 1e6, lagMax: h.max / 1e6 };
  }
  await new Promise<void>((resolve) => {
    const turn = (): void => {
      for (let j = 0; j < 2000; j++) {
        handles[next]!.record(value(next, recorded++));
        if (++next === handles.length) next = 0;
      }
      if (performance.now() < end) setImmediate(turn);
      else resolve();
    };
    turn();
  });
  h.disable();
  return { rate: recorded / (ms / 1000), lagP99: h.percentile(99) / 1e6, lagMax: h.max / 1e6 };
}

interface PhaseRow {
  name: string;
  rate: number[];
  lag: number[];
  /** The longest delay: a stall once a second is 0.1% of a 1 ms-resolution histogram, below its p99. */
  max: number[];
}

async function scrapeCost(): Promise<PhaseRow[]> {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, maxSeries: SERIES + 100 });
  await monitor.start();
  const handles = Array.from({ length: SERIES }, (_, k) => monitor.metric('response_time', { endpoint: `/e${k}` }));
  const server = await monitor.serveHttp({ port: 0 });
  // The prom-client peer: the same series, served the way prom-client serves, on this thread.
  const reg = new client.Registry();
  const ph = new client.Histogram({ name: 'response_time', help: 'h', labelNames: ['endpoint'], buckets: [...DEFAULT_BUCKETS], registers: [reg] });
  const children = Array.from({ length: SERIES }, (_, k) => ph.labels({ endpoint: `/e${k}` }));
  for (let k = 0; k < SERIES; k++) for (let n = 0; n < 50; n++) children[k]!.observe(value(k, n));
  await hostPhase(handles, 2000);
  const names = ['no scrape', 'perfwatch: GET /metrics every second (child process scraper)', 'peer: prom-client register.metrics() every second on the main thread'];
  const rows: PhaseRow[] = [...names.map((name) => ({ name: `recording: ${name}`, rate: [], lag: [], max: [] })), ...names.map((name) => ({ name: `idle: ${name}`, rate: [], lag: [], max: [] }))];
  const scraper = fork(new URL('./http-scraper.js', import.meta.url), [server.metricsUrl], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let scrapedBytes = 0;
  scraper.on('message', (m: { bytes: number }) => (scrapedBytes = m.bytes));
  const note = (row: PhaseRow, r: { rate: number; lagP99: number; lagMax: number }): void => {
    row.rate.push(r.rate);
    row.lag.push(r.lagP99);
    row.max.push(r.lagMax);
  };
  for (let p = 0; p < PHASES; p++) {
    for (const busy of [true, false]) {
      const at = busy ? 0 : 3;
      note(rows[at]!, await hostPhase(handles, PHASE_MS, busy));
      scraper.send('start');
      note(rows[at + 1]!, await hostPhase(handles, PHASE_MS, busy));
      scraper.send('stop');
      const timer = setInterval(() => void reg.metrics(), 1000);
      note(rows[at + 2]!, await hostPhase(handles, PHASE_MS, busy));
      clearInterval(timer);
    }
    process.stderr.write(`  round ${p + 1}/${PHASES}: ${rows.map((r) => `p99 ${r.lag.at(-1)!.toFixed(2)} ms`).join(' | ')}\n`);
  }
  scraper.kill();
  process.stderr.write(`  a scrape is ${(scrapedBytes / 1e6).toFixed(1)} MB; ${server.status().scrapes} scrapes served\n`);
  await server.close();
  await monitor.stop();
  return rows;
}

async function main(): Promise<void> {
  const load = loadavg().map((l) => l.toFixed(2)).join(', ');
  const rows = [...(await renderRows('histogram')), ...(await renderRows('gauge'))];
  const phases = await scrapeCost();
  console.log(`\nperfwatch HTTP benchmark — ${new Date().toISOString().slice(0, 16)}Z, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average at start ${load}`);
  console.log(`\n/metrics for ${SERIES} series: median of ${RUNS} renders (target: < 50 ms, ≥ 5× faster than prom-client)\n`);
  console.log('| case | wall ms (median) | min – max | CPU ms (median) | MB | prom-client ÷ perfwatch, wall / CPU |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (let r = 0; r < rows.length; r += 2) {
    const ours = rows[r]!;
    const peer = rows[r + 1]!;
    for (const row of [ours, peer]) {
      const ratio = `${(median(peer.ms) / median(ours.ms)).toFixed(1)} / ${(median(peer.cpu) / median(ours.cpu)).toFixed(1)}`;
      console.log(`| ${row.name} | ${median(row.ms).toFixed(1)} | ${Math.min(...row.ms).toFixed(1)} – ${Math.max(...row.ms).toFixed(1)} | ${median(row.cpu).toFixed(1)} | ${(row.bytes / 1e6).toFixed(1)} | ${row === ours ? ratio : ''} |`);
    }
  }
  console.log(`\nThe host recording into ${SERIES} series on its main thread, ${PHASES} rounds of the three cases in turn, ${PHASE_MS / 1000} s each (targets: < 5% throughput lost, < 1 ms added to the loop delay p99)\n`);
  console.log('| case | samples/s (median) | vs no scrape | loop delay p99 ms (median) | added ms | longest delay ms (median of phases) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [i, row] of phases.entries()) {
    const base = phases[i < 3 ? 0 : 3]!;
    const rate = median(row.rate);
    const lag = median(row.lag);
    const vs = i < 3 ? `${(rate / 1e6).toFixed(2)}M | ${(((rate - median(base.rate)) / median(base.rate)) * 100).toFixed(1)}%` : '– | –';
    console.log(`| ${row.name} | ${vs} | ${lag.toFixed(2)} | ${row === base ? '' : (lag - median(base.lag)).toFixed(2)} | ${median(row.max).toFixed(1)} |`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
