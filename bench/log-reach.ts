/**
 * `npm run bench:log-reach`: how many seconds of closed buckets' sketches the sketch log holds
 * (status().collector.sketchLogReachSeconds) under the steady loads of bench:ingest (1M samples
 * a second spread evenly over 100, 1,000 and 10,000 series, recorded every 10 ms, default
 * options), the sketchLogBytes that would hold a minute (60 s plus an interval, with a quarter
 * to spare) at that rate, and what a minute's rollup lost across the first minute's end that
 * comes at least 30 s after the start: since each closed bucket's sketch is merged into its
 * minute as it closes (store/minutes.ts), none, whatever the reach; the collector's minute
 * sketches' bytes (status().collector.minuteSketchBytes) beside it. The reach still bounds a
 * window read that merges older buckets' sketches from the log.
 *
 * BENCH_SERIES (comma-separated counts), BENCH_RATE (samples/s), BENCH_MINUTE_SECONDS (the
 * least part of the minute recorded, 30 by default; 0: no minute's end, 5 s a case).
 */
import { performance } from 'node:perf_hooks';
import { PerformanceMonitor } from '../src/index.js';
import { values } from './values.js';

const SERIES = (process.env.BENCH_SERIES ?? '100,1000,10000').split(',').map(Number);
const RATE = Number(process.env.BENCH_RATE ?? 1_000_000);
const MINUTE_SECONDS = Number(process.env.BENCH_MINUTE_SECONDS ?? 30);
const MiB = 1024 * 1024;
const LOG_BYTES = 32 * MiB;
/** Past a minute's end: its last bucket closes an interval later, and the rollup follows. */
const AFTER_END_MS = 2500;

async function reach(series: number): Promise<{ reach: number | null; lost: number; minuteBytes: number; recorded: number | null }> {
  const m = new PerformanceMonitor({ storage: 'memory', sketchLogBytes: LOG_BYTES });
  await m.start();
  const handles = Array.from({ length: series }, (_, i) => m.metric('bench_reach', { series: String(i) }));
  const t0 = performance.now();
  const startedAt = Date.now();
  const minuteEnd = Math.ceil((startedAt + MINUTE_SECONDS * 1000) / 60_000) * 60_000;
  const runMs = MINUTE_SECONDS > 0 ? minuteEnd + AFTER_END_MS - startedAt : 5000;
  let sent = 0;
  while (performance.now() - t0 < runMs) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const due = Math.floor(((performance.now() - t0) * RATE) / 1000);
    for (; sent < due; sent++) handles[sent % series]!.record(values[sent & 4095]!);
  }
  const c = m.status().collector;
  await m.stop();
  return { reach: c.sketchLogReachSeconds, lost: c.sketchesLost, minuteBytes: c.minuteSketchBytes, recorded: MINUTE_SECONDS > 0 ? (minuteEnd - startedAt) / 1000 : null };
}

const rows = [];
for (const series of SERIES) {
  const r = await reach(series);
  rows.push({
    series,
    'samples/s': RATE,
    'reach s (32 MiB log)': r.reach === null ? '-' : Number(r.reach.toFixed(1)),
    'sketchLogBytes for 75 s, MiB': r.reach === null ? '-' : Math.ceil((LOG_BYTES * 75) / r.reach / MiB),
    'minute recorded, s': r.recorded === null ? '-' : Number(r.recorded.toFixed(1)),
    'buckets its rollup lost (sketchesLost)': r.lost,
    'minute sketches, MB': Number((r.minuteBytes / 1e6).toFixed(1)),
  });
}
console.table(rows);
console.log(`values: bench/values.ts's log-normal draws (median ~20); ${new Date().toISOString()}; each case runs past the end of the first minute at least ${MINUTE_SECONDS} s after its start`);
