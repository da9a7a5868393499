/**
 * getMetrics() benchmark: what reading the current value and the 60 s window summary (count,
 * mean, min, max, p50–p99) of 1,000 series costs the host's main thread, which is where
 * getMetrics() runs. `npm run bench:metrics`.
 *
 * The store is filled by the real writer on synthetic time (two minutes of one-second
 * buckets, ~20 samples a second a series, as the collector would have), then read the way a
 * dashboard or an agent polls: with every series changed since the last read (new samples in
 * each open bucket), with the window moved on by a closed bucket, and with nothing changed.
 * A page of 200 series with the count of them all (what GET /api/metrics reads) is timed beside
 * them. The peers, in the same run, are prom-client collecting 1,000 label sets of a Summary (its
 * quantiles over a 60 s window: the same answer) and of a Histogram (bucket counts only).
 * BENCH_NO_PEERS=1 leaves them out (for profiling).
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import client from 'prom-client';
import { Query } from '../src/monitor/query.js';
import { drivenEngine } from './driven-engine.js';
import { seriesValues } from './values.js';
import { median } from './median.js';

const SERIES = Number(process.env.BENCH_SERIES ?? 1000);
const SECONDS = 120;
const PER_SECOND = 20;
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const MiB = 1024 * 1024;

/** A log-normal-ish latency per series and sample (the same values for perfwatch and the peer). */
const value = seriesValues(0.8);

async function main(): Promise<void> {
  const start = Math.floor((Date.now() - SECONDS * 1000) / 60_000) * 60_000;
  const { registry, reader, producer, drain } = drivenEngine({ maxSeries: SERIES + 16, rawCapacity: 256, bucketCapacity: 300, rollupCapacity: 60, intervalMs: 1000, rollupMs: 60_000, logBytes: 64 * MiB, rollupLogBytes: 8 * MiB, poolBytes: 16 * MiB }, start);
  const ids = Array.from({ length: SERIES }, (_, k) => registry.seriesId('response_time', { endpoint: `/e${k}` }));
  let i = 0;
  /** Applies one round of samples (PER_SECOND per series) at time t. */
  const write = (t: number, perSeries = PER_SECOND): void => {
    for (let n = 0; n < perSeries; n++, i++) for (let k = 0; k < SERIES; k++) producer.push(ids[k]!, value(k, i));
    drain(t);
  };
  for (let s = 0; s < SECONDS; s++) write(start + s * 1000 + 1);
  const query = new Query(registry, reader, () => ({ from: start, to: Infinity }));
  let now = start + SECONDS * 1000 + 1;
  const check = query.metrics({}, now);
  if (check.length !== SERIES || check.some((m) => m.window.count !== 59 * PER_SECOND)) throw new Error(`unexpected window counts: ${check[0]?.window.count}`);

  const rows: { name: string; ms: number[] }[] = [];
  const time = (name: string, before: () => void, run: () => unknown): void => {
    const ms: number[] = [];
    for (let r = 0; r < RUNS + 2; r++) {
      before();
      const t0 = performance.now();
      run();
      if (r >= 2) ms.push(performance.now() - t0);
    }
    rows.push({ name, ms });
    process.stderr.write(`  ${name}: median ${median(ms).toFixed(2)} ms\n`);
  };
  time(`perfwatch getMetrics(), ${SERIES} series, every series changed since the last read`, () => write(now, 1), () => query.metrics({}, now));
  time(`perfwatch getMetrics(), ${SERIES} series, the window moved on by one bucket`, () => write((now += 1000), 1), () => query.metrics({}, now));
  time(`perfwatch getMetrics(), ${SERIES} series, nothing changed`, () => {}, () => query.metrics({}, now));
  // What /api/metrics does for one page: the page summarised, every series counted.
  time(`perfwatch getMetrics({ offset, limit: 200 }) and countMetrics(), ${SERIES} series, every series changed`, () => write(now, 1), () => (query.metrics({ offset: Math.floor(SERIES / 2), limit: 200 }, now), query.count({})));

  // The peer: prom-client's collect of the same number of label sets and samples per window.
  if (process.env.BENCH_NO_PEERS) return;
  const registryP = new client.Registry();
  const summary = new client.Summary({ name: 'response_time_summary', help: 'h', labelNames: ['endpoint'], percentiles: [0.5, 0.9, 0.95, 0.99], maxAgeSeconds: 60, ageBuckets: 5, registers: [registryP] });
  const histogram = new client.Histogram({ name: 'response_time_histogram', help: 'h', labelNames: ['endpoint'], registers: [] });
  const registryH = new client.Registry();
  registryH.registerMetric(histogram);
  const children = Array.from({ length: SERIES }, (_, k) => ({ s: summary.labels({ endpoint: `/e${k}` }), h: histogram.labels({ endpoint: `/e${k}` }) }));
  for (let n = 0; n < 60 * PER_SECOND; n++) for (let k = 0; k < SERIES; k++) {
    children[k]!.s.observe(value(k, n));
    children[k]!.h.observe(value(k, n));
  }
  const observeRound = (): void => {
    for (let k = 0; k < SERIES; k++) {
      children[k]!.s.observe(value(k, i));
      children[k]!.h.observe(value(k, i++));
    }
  };
  const asyncRows: [string, () => Promise<unknown>][] = [
    [`peer: prom-client Summary (p50–p99, 60 s window), ${SERIES} label sets, getMetricsAsJSON()`, () => registryP.getMetricsAsJSON()],
    [`peer: prom-client Histogram, ${SERIES} label sets, getMetricsAsJSON()`, () => registryH.getMetricsAsJSON()],
  ];
  for (const [name, run] of asyncRows) {
    const ms: number[] = [];
    for (let r = 0; r < RUNS + 2; r++) {
      observeRound();
      const t0 = performance.now();
      await run();
      if (r >= 2) ms.push(performance.now() - t0);
    }
    rows.push({ name, ms });
    process.stderr.write(`  ${name}: median ${median(ms).toFixed(2)} ms\n`);
  }

  const peer = median(rows.find((r) => r.name.includes('Summary'))!.ms);
  const histogramMs = median(rows.find((r) => r.name.includes('Histogram'))!.ms);
  console.log(`\nperfwatch getMetrics() benchmark — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
  console.log(`${SERIES} series of a distribution, ${PER_SECOND} samples/s each for ${SECONDS} s (1 s buckets), 60 s window; median of ${RUNS} reads on the calling thread\n`);
  console.log('| case | ms (median) | min – max | × prom-client Summary | × prom-client Histogram |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.name} | ${median(r.ms).toFixed(2)} | ${Math.min(...r.ms).toFixed(2)} – ${Math.max(...r.ms).toFixed(2)} | ${(median(r.ms) / peer).toFixed(3)} | ${(median(r.ms) / histogramMs).toFixed(2)} |`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
