/**
 * Ingestion benchmark: perfwatch beside prom-client, OpenTelemetry and a bare SharedArrayBuffer
 * ring, in one process, one table. `npm run bench:ingest`.
 *
 * Each case records PASS_SAMPLES values (from a precomputed log-normal table, so the random
 * generator is not measured) per pass; the figure is the median over PASSES passes after a
 * warm-up. The perfwatch recording-thread cases run on a started monitor whose ring holds a
 * pass, so they measure the recording thread, not back-pressure; a rate counts the samples the
 * ring took in (a dropped one does not count), and the series must hold every one of them
 * (checked: the benchmark fails otherwise). The end-to-end case measures the sustained rate
 * through the collector with overflow 'block', over 100 series (zero loss, checked) and over
 * 10,000 (every sample stored or counted dropped, checked).
 *
 * The bare ring is shown two ways: storing its write index with Atomics.store after every
 * sample, and every 64 samples, as perfwatch's producer does. The second is the ceiling of
 * this design (the same slots and publication, without validation, series lookup or a
 * consumer); the "× raw ring" column is against it.
 *
 * Two rows from bench/overload.ts follow: three workers and the main thread recording flat
 * out under each overflow policy (interleaved rounds, medians), and a burst of 1M records on
 * an idle monitor with default options. Last, the steady-load table (bench/steady.ts): the
 * collector's CPU at 1M samples/s over 100, 1,000 and 10,000 series from status().overhead,
 * beside prom-client's in-thread cost for the same tagged load, and the 10,000 series again
 * with a ring of 2^20 (WIDE_RING), whose chunks are eight times as large.
 */
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import client from 'prom-client';
import { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { PerformanceMonitor, type MetricHandle } from '../src/index.js';
import { burstOnDefaults, overload, type OverloadResult } from './overload.js';
import { promTagged, steady, type SteadyResult } from './steady.js';
import { values } from './values.js';
import { median } from './median.js';

const PASS_SAMPLES = Number(process.env.BENCH_SAMPLES ?? 1_000_000);
const PASSES = Number(process.env.BENCH_PASSES ?? 9);
const E2E_SAMPLES = Number(process.env.BENCH_E2E_SAMPLES ?? 20_000_000);
const OVERLOAD_MS = Number(process.env.BENCH_OVERLOAD_MS ?? 2_000);
const OVERLOAD_ROUNDS = Number(process.env.BENCH_OVERLOAD_ROUNDS ?? 3);
const BURST_ROUNDS = Number(process.env.BENCH_BURST_ROUNDS ?? 3);
const E2E_WIDE_SAMPLES = Number(process.env.BENCH_E2E_WIDE_SAMPLES ?? 5_000_000);
const STEADY_MS = Number(process.env.BENCH_STEADY_MS ?? 4_000);
/** The main thread's ring of the steady table's last row: 2^20 slots (12 MiB), for chunks of 262,144 (store/writer-state.ts). */
const WIDE_RING = 1 << 20;
/** BENCH_STEADY_ONLY=1: the steady-load table alone (for paired runs of two builds). */
const STEADY_ONLY = process.env.BENCH_STEADY_ONLY === '1';
const STEADY_SERIES = [100, 1_000, 10_000];

const routes = Array.from({ length: 16 }, (_, i) => `/route/${i}`);
const methods = ['GET', 'POST'];

let peakRss = 0;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 20);

/** Samples a pass offered and did not take in (perfwatch's drops); 0 for the peers. */
type Dropped = () => number;
const NONE: Dropped = () => 0;

const WARM_UP = Math.min(PASS_SAMPLES, 1_000_000);

async function measure(name: string, pass: (n: number) => void | Promise<void>, between?: () => Promise<void>, dropped: Dropped = NONE): Promise<number> {
  await pass(WARM_UP); // warm-up: let the JIT settle
  if (between) await between();
  const rates: number[] = [];
  for (let p = 0; p < PASSES; p++) {
    const before = dropped();
    const t0 = performance.now();
    await pass(PASS_SAMPLES);
    const ms = performance.now() - t0;
    // What the pass took in: a sample dropped on a full ring is not ingested.
    rates.push((PASS_SAMPLES - (dropped() - before)) / ms / 1000);
    if (between) await between();
  }
  const m = median(rates);
  process.stderr.write(`  ${name}: ${m.toFixed(1)} M/s (passes ${rates.map((r) => r.toFixed(0)).join(' ')})\n`);
  return m;
}

// ---- a bare SharedArrayBuffer ring of [id, value] slots, with no consumer ------------------
function ringViews(): { hdr: Int32Array; ids: Int32Array; vals: Float64Array; mask: number } {
  const cap = 1 << 16;
  const sab = new SharedArrayBuffer(64 + 12 * cap);
  return { hdr: new Int32Array(sab, 0, 16), ids: new Int32Array(sab, 64, cap), vals: new Float64Array(sab, 64 + 4 * cap, cap), mask: cap - 1 };
}

/** Atomics.store of the write index after every sample. */
function rawRingPerSample(): (n: number) => void {
  const { hdr, ids, vals, mask } = ringViews();
  let w = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const at = w & mask;
      ids[at] = 7;
      vals[at] = values[i & 4095]!;
      w = (w + 1) | 0;
      Atomics.store(hdr, 0, w);
    }
  };
}

/** Atomics.store of the write index every 64 samples and at the end, as perfwatch's producer publishes. */
function rawRingPer64(): (n: number) => void {
  const { hdr, ids, vals, mask } = ringViews();
  let w = 0;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const at = w & mask;
      ids[at] = 7;
      vals[at] = values[i & 4095]!;
      w = (w + 1) | 0;
      if ((w & 63) === 0) Atomics.store(hdr, 0, w);
    }
    Atomics.store(hdr, 0, w);
  };
}

/** Stops the benchmark when a series holds other than every sample its passes took in. */
function checkCounted(what: string, held: number, offered: number, dropped: number): void {
  if (held !== offered - dropped) {
    throw new Error(`${what}: offered ${offered}, dropped ${dropped}, so ${offered - dropped} taken in, but the series hold ${held}`);
  }
}

async function main(): Promise<void> {
  const rows: [string, number, string][] = [];
  const add = (name: string, rate: number, note = ''): void => {
    rows.push([name, rate, note]);
  };

  // ---- steady load first, in a fresh process: 1M samples/s, the collector's CPU; prom-client's
  // in-thread cost for the same tagged load ------------------------------------------------
  const steadyRuns: SteadyResult[] = [];
  const promNs = new Map<number, number>();
  for (const series of STEADY_SERIES) {
    const r = await steady(series, STEADY_MS, values);
    steadyRuns.push(r);
    promNs.set(series, promTagged(series, values));
    process.stderr.write(`  steady ${series} series: collector ${r.collectorPercent.toFixed(2)}% of a core (sampling ${r.samplingPercent.toFixed(2)}%), applied ${(r.appliedPerSecond / 1e6).toFixed(2)}M/s; prom-client ${promNs.get(series)!.toFixed(0)} ns/call\n`);
  }
  const tenth = await steady(STEADY_SERIES[0]!, STEADY_MS, values, 100_000);
  process.stderr.write(`  steady ${tenth.series} series at 100k/s: collector ${tenth.collectorPercent.toFixed(2)}% of a core\n`);
  // The widest row again with a ring of 2^20 (12 MiB): chunks of 262,144 slots instead of 32,768.
  const wideRing = await steady(STEADY_SERIES.at(-1)!, STEADY_MS, values, 1_000_000, WIDE_RING);
  process.stderr.write(`  steady ${wideRing.series} series, ringCapacity ${WIDE_RING}: collector ${wideRing.collectorPercent.toFixed(2)}% of a core\n`);
  if (STEADY_ONLY) {
    printSteady(steadyRuns, tenth, promNs, wideRing);
    // The stopped monitors leave a handle open on this path (not traced yet): end here.
    process.exit(0);
  }

  // ---- perfwatch, recording thread ------------------------------------------------------
  // A ring that holds a whole pass (1M samples, 12 MB): the pass measures the recording
  // thread while the collector drains beside it, and flush() empties the ring between passes.
  const ringCapacity = 1 << 21;
  const monitor = new PerformanceMonitor({ storage: 'memory', ringCapacity, system: { enabled: false }, runtime: { enabled: false } });
  await monitor.start();
  const handle: MetricHandle = monitor.metric('response_time', { route: '/bench' });
  const flush = (): Promise<void> => monitor.flush();
  const droppedNow: Dropped = () => monitor.status().ingestion.dropped;
  const offered = WARM_UP + PASSES * PASS_SAMPLES;
  const boundDropped = droppedNow();
  const bound = await measure(
    'perfwatch bound handle',
    (n) => {
      for (let i = 0; i < n; i++) handle.record(values[i & 4095]!);
    },
    flush,
    droppedNow,
  );
  const namedDropped = droppedNow();
  checkCounted('perfwatch handle.record', monitor.getMetrics({ names: ['response_time'] })[0]!.totalCount, offered, namedDropped - boundDropped);
  add('perfwatch handle.record(v)', bound, `dropped ${namedDropped - boundDropped}`);
  const named = await measure(
    'perfwatch record(name, v, tags)',
    (n) => {
      for (let i = 0; i < n; i++) monitor.record('api_response_time', values[i & 4095]!, { route: routes[i & 15]!, method: methods[i & 1]! });
    },
    flush,
    droppedNow,
  );
  const namedHeld = monitor.getMetrics({ names: ['api_response_time'] }).reduce((a, x) => a + x.totalCount, 0);
  checkCounted('perfwatch record(name, v, tags)', namedHeld, offered, droppedNow() - namedDropped);
  add('perfwatch record(name, v, {route, method})', named, `32 series, dropped ${droppedNow() - namedDropped}`);
  await monitor.stop();

  // ---- the raw ring, both ways --------------------------------------------------------------
  const rawPerSample = await measure('raw SAB ring, Atomics.store per sample', rawRingPerSample());
  add('raw SAB ring write, Atomics.store per sample (no consumer)', rawPerSample);
  const raw = await measure('raw SAB ring, Atomics.store every 64', rawRingPer64());
  add('raw SAB ring write, Atomics.store every 64 samples (no consumer)', raw, "the ceiling: perfwatch's slots and publication, nothing else");

  // ---- prom-client --------------------------------------------------------------------
  const registry = new client.Registry();
  const promPlain = new client.Histogram({ name: 'rt_plain', help: 'h', registers: [registry] });
  add(
    'prom-client Histogram.observe(v)',
    await measure('prom-client observe', (n) => {
      for (let i = 0; i < n; i++) promPlain.observe(values[i & 4095]!);
    }),
  );
  const promLabels = new client.Histogram({ name: 'rt_labels', help: 'h', labelNames: ['route', 'method'], registers: [registry] });
  add(
    'prom-client Histogram.observe({route, method}, v)',
    await measure('prom-client observe labels', (n) => {
      for (let i = 0; i < n; i++) promLabels.observe({ route: routes[i & 15]!, method: methods[i & 1]! }, values[i & 4095]!);
    }),
    '32 series',
  );

  // ---- OpenTelemetry ---------------------------------------------------------------------
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ readers: [reader] });
  const otel = provider.getMeter('bench').createHistogram('rt');
  const otelRate = await measure('OpenTelemetry record', (n) => {
    for (let i = 0; i < n; i++) otel.record(values[i & 4095]!);
  });
  add('OpenTelemetry Histogram.record(v), reader attached', otelRate);
  const otelAttr = provider.getMeter('bench').createHistogram('rt_attr');
  add(
    'OpenTelemetry Histogram.record(v, {route, method})',
    await measure('OpenTelemetry record attrs', (n) => {
      for (let i = 0; i < n; i++) otelAttr.record(values[i & 4095]!, { route: routes[i & 15]!, method: methods[i & 1]! });
    }),
    '32 series',
  );
  await provider.shutdown();

  // ---- end to end through the collector, zero loss ------------------------------------------
  const e2e = await endToEnd(100, E2E_SAMPLES);
  if (e2e.dropped !== 0) throw new Error(`end to end over 100 series dropped ${e2e.dropped} samples under overflow 'block'`);
  add('perfwatch end to end through the collector, 100 series, zero loss', e2e.rate, `3 × ${(E2E_SAMPLES / 1e6).toFixed(0)}M samples, every one counted`);
  const wide = await endToEnd(10_000, E2E_WIDE_SAMPLES);
  add('perfwatch end to end through the collector, 10,000 series (overflow block)', wide.rate, `3 × ${(E2E_WIDE_SAMPLES / 1e6).toFixed(0)}M samples; ${wide.dropped.toLocaleString('en-US')} dropped (stalls past stallTimeoutMs), the rest stored`);

  // ---- overload: 3 workers + main flat out, each policy in turn, rounds interleaved ---------
  const policies = ['drop', 'block', 'wait'] as const;
  const runs = new Map<string, OverloadResult[]>(policies.map((p) => [p, []]));
  for (let r = 0; r < OVERLOAD_ROUNDS; r++) for (const p of policies) runs.get(p)!.push(await overload(p, OVERLOAD_MS));
  const applied = new Map<string, number>();
  for (const p of policies) {
    const rs = runs.get(p)!;
    const a = median(rs.map((x) => x.appliedPerSecond / 1e6));
    applied.set(p, a);
    process.stderr.write(`  overload ${p}: applied ${rs.map((x) => (x.appliedPerSecond / 1e6).toFixed(1)).join(' ')} M/s\n`);
    const note = `offered ${median(rs.map((x) => x.offeredPerSecond / 1e6)).toFixed(0)}M/s, dropped ${(100 * median(rs.map((x) => x.droppedShare))).toFixed(0)}%; every sample applied or counted`;
    add(`overload: 3 workers + main flat out, overflow '${p}', applied end to end${p === 'wait' ? ' (the default)' : ''}`, a, note);
  }

  // ---- a burst of 1M on an idle monitor with default options ---------------------------------
  const burst = await burstOnDefaults(BURST_ROUNDS, 1_500);
  process.stderr.write(`  burst on defaults: stored ${burst.stored.join(' ')}; taken in ${burst.takenPerSecond.map((x) => (x / 1e6).toFixed(1)).join(' ')} M/s\n`);
  add('burst of 1M handle.record() on an idle monitor, default options (taken in over the loop, waits included)', median(burst.takenPerSecond) / 1e6, `stored ${burst.stored.map((n) => n.toLocaleString('en-US')).join(' / ')} of 1,000,000, the rest dropped and counted`);

  clearInterval(rssTimer);
  peakRss = Math.max(peakRss, process.memoryUsage.rss());

  console.log(`\nperfwatch ingest benchmark — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
  console.log(`median of ${PASSES} passes of ${(PASS_SAMPLES / 1e6).toFixed(0)}M samples per case\n`);
  console.log('| case | M samples/s | × OpenTelemetry | × raw ring, every 64 | note |');
  console.log('|---|---:|---:|---:|---|');
  for (const [name, rate, note] of rows) {
    console.log(`| ${name} | ${rate.toFixed(1)} | ${(rate / otelRate).toFixed(2)} | ${(rate / raw).toFixed(2)} | ${note} |`);
  }
  console.log(`\npeak RSS of the whole run: ${(peakRss / 1048576).toFixed(0)} MiB`);
  printSteady(steadyRuns, tenth, promNs, wideRing);
  console.log(`overload, applied end to end: drop / block = ${(applied.get('drop')! / applied.get('block')!).toFixed(2)}, wait / block = ${(applied.get('wait')! / applied.get('block')!).toFixed(2)} (medians of ${OVERLOAD_ROUNDS} interleaved rounds of ${OVERLOAD_MS} ms)`);
}

/** The steady-load table, and the collector's cost split into per burst and per sample. */
function printSteady(steadyRuns: SteadyResult[], tenth: SteadyResult, promNs: Map<number, number>, wideRing: SteadyResult): void {
  console.log(`\nsteady load: 1M samples/s recorded every 10 ms by the main thread, spread evenly over the series; default options; ${STEADY_MS} ms measured after a warm-up\n`);
  console.log('| steady load | collector CPU, % of one core (status().overhead) | of which system sampling | ingestion per sample | applied | prom-client Histogram.observe({series}, v), in-thread, % of one core at 1M/s |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of steadyRuns) {
    const ingestNs = ((r.collectorPercent - r.samplingPercent) / 100) * 1e9 / r.appliedPerSecond;
    console.log(`| 1M samples/s over ${r.series.toLocaleString('en-US')} series | ${r.collectorPercent.toFixed(2)}% | ${r.samplingPercent.toFixed(2)}% | ${ingestNs.toFixed(0)} ns | ${(r.appliedPerSecond / 1e6).toFixed(2)}M/s${r.dropped > 0 ? `, ${r.dropped} dropped` : ''} | ${(promNs.get(r.series)! / 10).toFixed(1)}% |`);
  }
  console.log(`| 100k samples/s over ${tenth.series.toLocaleString('en-US')} series (the same 100 bursts a second) | ${tenth.collectorPercent.toFixed(2)}% | ${tenth.samplingPercent.toFixed(2)}% | | ${(tenth.appliedPerSecond / 1e6).toFixed(2)}M/s | |`);
  const wideNs = ((wideRing.collectorPercent - wideRing.samplingPercent) / 100) * 1e9 / wideRing.appliedPerSecond;
  console.log(`| 1M samples/s over ${wideRing.series.toLocaleString('en-US')} series, \`ringCapacity: ${WIDE_RING}\` (a ring of 12 MiB, chunks of 262,144 slots) | ${wideRing.collectorPercent.toFixed(2)}% | ${wideRing.samplingPercent.toFixed(2)}% | ${wideNs.toFixed(0)} ns | ${(wideRing.appliedPerSecond / 1e6).toFixed(2)}M/s${wideRing.dropped > 0 ? `, ${wideRing.dropped} dropped` : ''} | |`);
  const full = steadyRuns[0]!;
  const perSample = (((full.collectorPercent - full.samplingPercent) - (tenth.collectorPercent - tenth.samplingPercent)) / 100) * 1e9 / (full.rate - tenth.rate);
  const perBurst = (((full.collectorPercent - full.samplingPercent) / 100) * 1e9 - perSample * full.rate) / 100 / 1000;
  console.log(`\nthe collector's cost over ${full.series} series split by the two rates: ${perSample.toFixed(0)} ns per sample, ${perBurst.toFixed(0)} µs per 10 ms burst (its wake-up, the pass's fixed work, the event loop)`);
}

/**
 * Samples per second (M) through the collector over `series` series, overflow 'block'
 * (which still drops past stallTimeoutMs without progress); every sample is stored or
 * counted dropped (checked).
 */
async function endToEnd(series: number, samples: number): Promise<{ rate: number; dropped: number }> {
  const e2e = new PerformanceMonitor({ storage: 'memory', overflow: 'block', system: { enabled: false }, runtime: { enabled: false } });
  await e2e.start();
  const handles = Array.from({ length: series }, (_, i) => e2e.metric('bench_e2e', { series: String(i) }));
  const pass = (n: number): void => {
    for (let i = 0; i < n; i++) handles[i % series]!.record(values[i & 4095]!);
  };
  pass(1_000_000); // warm-up of both threads
  await e2e.flush();
  const rates: number[] = [];
  for (let p = 0; p < 3; p++) {
    const t0 = performance.now();
    pass(samples);
    await e2e.flush();
    rates.push(samples / (performance.now() - t0) / 1000);
  }
  const dropped = e2e.status().ingestion.dropped;
  const stored = e2e.getMetrics({ names: ['bench_e2e'] }).reduce((a, m) => a + m.totalCount, 0);
  await e2e.stop();
  const expected = 3 * samples + 1_000_000;
  if (stored + dropped !== expected) throw new Error(`end to end over ${series} series lost samples: recorded ${expected}, in the series ${stored}, dropped ${dropped}`);
  const rate = median(rates);
  process.stderr.write(`  end to end, ${series} series: ${rate.toFixed(1)} M/s (passes ${rates.map((r) => r.toFixed(0)).join(' ')}), dropped ${dropped}\n`);
  return { rate, dropped };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
