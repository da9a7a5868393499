/**
 * Two rows of bench:ingest (bench/ingest.ts) about a full ring:
 *
 * - overload: three worker threads and the main thread record flat out for a few seconds,
 *   under each overflow policy; the figure is what the collector applied per second, end to
 *   end, beside what was offered and dropped (every sample is either applied or counted
 *   dropped: checked).
 * - burst on defaults: an idle, healthy monitor with default options takes 1M
 *   handle.record() calls in one tight loop; how many it stored (every other one counted
 *   dropped: checked), and how many it took in per second of the loop.
 */
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { PerformanceMonitor, type MonitorOptions } from '../src/index.js';

export interface OverloadResult {
  overflow: string;
  appliedPerSecond: number;
  offeredPerSecond: number;
  droppedShare: number;
}

/** Three workers and the main thread recording flat out for `ms` under one overflow policy. */
export async function overload(overflow: MonitorOptions['overflow'], ms: number): Promise<OverloadResult> {
  const m = new PerformanceMonitor({ storage: 'memory', overflow, system: { enabled: false }, runtime: { enabled: false } });
  await m.start();
  const handle = m.producer();
  const stop = new SharedArrayBuffer(4);
  const workers = Array.from({ length: 3 }, () => new Worker(new URL('./overload-worker.js', import.meta.url), { workerData: { handle, stop } }));
  const sent = workers.map((w) => new Promise<number>((resolve, reject) => w.once('message', resolve).once('error', reject)));
  const handles = Array.from({ length: 100 }, (_, i) => m.metric('bench_overload', { n: String(100 + i) }));
  const ingested0 = m.status().ingestion.ingested;
  const t0 = performance.now();
  let mainSent = 0;
  while (performance.now() - t0 < ms) {
    for (let i = 0; i < 4096; i++) handles[i % 100]!.record(i & 1023);
    mainSent += 4096;
  }
  Atomics.store(new Int32Array(stop), 0, 1);
  const offered = mainSent + (await Promise.all(sent)).reduce((a, b) => a + b, 0);
  await m.flush();
  const seconds = (performance.now() - t0) / 1000;
  const s = m.status();
  const applied = s.ingestion.ingested - ingested0;
  const stored = m.getMetrics({ names: ['bench_overload'] }).reduce((a, x) => a + x.totalCount, 0);
  await m.stop();
  if (stored + s.ingestion.dropped !== offered) throw new Error(`overload (${overflow}): offered ${offered}, stored ${stored}, dropped ${s.ingestion.dropped}`);
  return { overflow: overflow ?? 'default', appliedPerSecond: applied / seconds, offeredPerSecond: offered / seconds, droppedShare: s.ingestion.dropped / offered };
}

export interface BurstResult {
  stored: number[];
  /** Samples stored per second of the recording loop. */
  takenPerSecond: number[];
}

/** 1M handle.record() in one loop on an idle monitor with default options, `rounds` times (a fresh monitor each). */
export async function burstOnDefaults(rounds: number, idleMs: number): Promise<BurstResult> {
  const out: BurstResult = { stored: [], takenPerSecond: [] };
  for (let r = 0; r < rounds; r++) {
    const m = new PerformanceMonitor({ storage: 'memory' });
    await m.start();
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    const h = m.metric('bench_burst');
    const t0 = performance.now();
    for (let i = 0; i < 1_000_000; i++) h.record(i & 1023);
    const seconds = (performance.now() - t0) / 1000;
    await m.flush();
    const stored = m.getMetrics({ names: ['bench_burst'] })[0]!.totalCount;
    const dropped = m.status().ingestion.dropped;
    await m.stop();
    if (stored + dropped !== 1_000_000) throw new Error(`burst on defaults: recorded 1,000,000, stored ${stored}, dropped ${dropped}`);
    out.stored.push(stored);
    out.takenPerSecond.push(stored / seconds);
  }
  return out;
}
