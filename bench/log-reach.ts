/**
 * `npm run bench:log-reach`: how many seconds of closed buckets' sketches the sketch log holds
 * (status().collector.sketchLogReachSeconds) under the steady loads of bench:ingest (1M samples
 * a second spread evenly over 100, 1,000 and 10,000 series, recorded every 10 ms, default
 * options), and the sketchLogBytes a minute's rollup needs (60 s plus an interval, with a
 * quarter to spare) at that rate. A reach under a minute means each minute's rollup takes the
 * counts of all its buckets and the bins of the last `reach` seconds only (sketchesLost).
 *
 * BENCH_SERIES (comma-separated counts), BENCH_RATE (samples/s), BENCH_SECONDS (per case, at
 * least 3: the reach is read after the second boundary).
 */
import { performance } from 'node:perf_hooks';
import { PerformanceMonitor } from '../src/index.js';
import { values } from './values.js';

const SERIES = (process.env.BENCH_SERIES ?? '100,1000,10000').split(',').map(Number);
const RATE = Number(process.env.BENCH_RATE ?? 1_000_000);
const SECONDS = Math.max(3, Number(process.env.BENCH_SECONDS ?? 5));
const MiB = 1024 * 1024;
const LOG_BYTES = 32 * MiB;

async function reach(series: number): Promise<{ reach: number | null; lost: number }> {
  const m = new PerformanceMonitor({ storage: 'memory', sketchLogBytes: LOG_BYTES });
  await m.start();
  const handles = Array.from({ length: series }, (_, i) => m.metric('bench_reach', { series: String(i) }));
  const t0 = performance.now();
  let sent = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const due = Math.floor(((performance.now() - t0) * RATE) / 1000);
    for (; sent < due; sent++) handles[sent % series]!.record(values[sent & 4095]!);
  }
  const c = m.status().collector;
  await m.stop();
  return { reach: c.sketchLogReachSeconds, lost: c.sketchesLost };
}

const rows = [];
for (const series of SERIES) {
  const r = await reach(series);
  rows.push({
    series,
    'samples/s': RATE,
    'reach s (32 MiB log)': r.reach === null ? '-' : Number(r.reach.toFixed(1)),
    'sketchLogBytes for 75 s, MiB': r.reach === null ? '-' : Math.ceil((LOG_BYTES * 75) / r.reach / MiB),
    'sketchesLost in the run': r.lost,
  });
}
console.table(rows);
console.log(`values: bench/values.ts's log-normal draws (median ~20); ${SECONDS} s a case; a minute's rollup needs a reach of 60 s plus an interval`);
