/**
 * Rows of bench:ingest (bench/ingest.ts) about a steady load, the cost a busy service pays:
 *
 * - steady: a started monitor with default options takes 1M samples/s spread evenly over
 *   `series` series, recorded every 10 ms by the main thread; the collector's CPU is read
 *   from status().overhead's breakdown (its thread's own clock) over the last checks. The
 *   same bursts at a tenth of the rate split that cost into a part per burst (the wake-up,
 *   the pass's fixed work) and a part per sample.
 * - prom-client's in-thread cost for the same tagged load: Histogram.observe with one label
 *   over as many label values, ns per call, as a share of one core at 1M/s.
 */
import { performance } from 'node:perf_hooks';
import client from 'prom-client';
import { PerformanceMonitor } from '../src/index.js';

export interface SteadyResult {
  series: number;
  /** Samples recorded per second. */
  rate: number;
  /** The collector thread, % of one core, and its part spent sampling the system. */
  collectorPercent: number;
  samplingPercent: number;
  /** Samples applied per second over the measured window (should be ~1M). */
  appliedPerSecond: number;
  dropped: number;
}

const CHECK_MS = 1_000;

/**
 * `rate` samples/s (default 1M) over `series` series for `ms` (at least two checks) after a
 * warm-up of two checks: whatever the rate, one burst every 10 ms. `ringCapacity`: the main
 * thread's ring, else the default (2^16).
 */
export async function steady(series: number, ms: number, values: Float64Array, rate = 1_000_000, ringCapacity?: number): Promise<SteadyResult> {
  const m = new PerformanceMonitor({ storage: 'memory', overhead: { checkIntervalMs: CHECK_MS }, ...(ringCapacity === undefined ? {} : { ringCapacity }) });
  await m.start();
  const handles = Array.from({ length: series }, (_, i) => m.metric('bench_steady', { series: String(i) }));
  let sent = 0;
  const t0 = performance.now();
  let ingested0 = 0;
  let measuredFrom = 0;
  let collectorMs = 0;
  let samplingMs = 0;
  let windowMs = 0;
  let lastCheck: number | null = null;
  const span = 2 * CHECK_MS + Math.max(ms, 2 * CHECK_MS + CHECK_MS / 2);
  while (performance.now() - t0 < span) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const due = Math.floor(((performance.now() - t0) * rate) / 1000);
    for (; sent < due; sent++) handles[sent % series]!.record(values[sent & 4095]!);
    const o = m.status().overhead;
    if (o.lastCheck !== lastCheck && o.breakdown) {
      lastCheck = o.lastCheck;
      // The first two checks cover the start and the warm-up; the ones after, the load.
      if (performance.now() - t0 > 2 * CHECK_MS + CHECK_MS / 2) {
        collectorMs += o.breakdown.collectorMs;
        samplingMs += o.breakdown.samplingMs;
        windowMs += o.breakdown.windowMs;
      } else {
        ingested0 = m.status().ingestion.ingested;
        measuredFrom = performance.now();
      }
    }
  }
  const applied = (m.status().ingestion.ingested - ingested0) / ((performance.now() - measuredFrom) / 1000);
  const dropped = m.status().ingestion.dropped;
  await m.stop();
  return { series, rate, collectorPercent: (100 * collectorMs) / windowMs, samplingPercent: (100 * samplingMs) / windowMs, appliedPerSecond: applied, dropped };
}

/** prom-client Histogram.observe({series}, v) over `series` label values: ns per call. */
export function promTagged(series: number, values: Float64Array, calls = 2_000_000): number {
  const registry = new client.Registry();
  const h = new client.Histogram({ name: `steady_${series}`, help: 'h', labelNames: ['series'], registers: [registry] });
  const labels = Array.from({ length: series }, (_, i) => ({ series: String(i) }));
  for (let i = 0; i < Math.min(calls, 200_000); i++) h.observe(labels[i % series]!, values[i & 4095]!);
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) h.observe(labels[i % series]!, values[i & 4095]!);
  return ((performance.now() - t0) * 1e6) / calls;
}
