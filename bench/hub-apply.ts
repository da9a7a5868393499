/**
 * The hub's collector work alone (`node dist/bench/hub-apply.js`), driven on this thread and
 * its own clock: bench:cluster's load (4 members × 1,000 distributions, 20 samples a second a
 * series, 1 s buckets) as the hub's collector gets it, a batch a member a second, each member
 * bucket a row (StoreWriter.applyRow) written as a closed record of its member series (at the
 * start it had on the member: the second before) and added into the cluster-wide one, as
 * Engine.applyBuckets does, then every second's close of the series with open buckets (the
 * 1,000 cluster-wide ones; advance) and every minute's rollups of all 5,000. Thread CPU per part,
 * so two builds compare on a loaded machine far better than through bench:cluster's whole
 * process, whose other threads and 4 workers share the cores. The thread clock moves in steps
 * of a few ms here, so each part is its total over the measured seconds, per second (a median
 * of per-second readings would be one of those steps).
 *
 * BENCH_PACED=1 runs one simulated second per real second (the thread waits out the rest of
 * each), as a hub's collector gets its batches, and prints every 20 s the mean ms a second of
 * the 20 s before: how the same work's cost moves with the store's age in real time
 * (docs/cluster.md, "The hub over its first minutes"). Flat out, every second finds the lines
 * of the second before in the caches.
 */
import { loadavg } from 'node:os';
import { SketchAccumulator } from '../src/engine/sketch.js';
import { createStore } from '../src/engine/store/layout.js';
import { StoreWriter } from '../src/engine/store/writer.js';
import { threadCpuMs } from '../src/engine/thread-cpu.js';

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 4);
const SERIES = Number(process.env.BENCH_SERIES ?? 1000);
const RATE = Number(process.env.BENCH_RATE ?? 20);
/** Simulated seconds measured (two rollup windows at the default), after WARM_S. */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 120);
const WARM_S = 10;
const PACED = process.env.BENCH_PACED === '1';
/** Simulated seconds per line of the paced timeline. */
const TIMELINE_S = 20;
/** Distinct seconds of member buckets, cycled. */
const SHAPES = 10;
const T0 = 1_800_000_000_000;

// bench:cluster's values: series k's i-th sample.
const value = (k: number, i: number) => 1 + ((k * 7919 + i * 104729) % 997) * (1 + (k % 5));

interface Bucket {
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  at: number;
}

/** Per shape, per member, per series its bucket; runs in one array. */
function buckets(): { runs: Int32Array; rows: Bucket[][][] } {
  const chunks: Int32Array[] = [];
  let size = 0;
  const rows: Bucket[][][] = [];
  const acc = new SketchAccumulator();
  for (let s = 0; s < SHAPES; s++) {
    const perMember: Bucket[][] = [];
    for (let m = 0; m < MEMBERS; m++) {
      const perSeries: Bucket[] = [];
      for (let k = 0; k < SERIES; k++) {
        acc.reset();
        let sum = 0;
        let min = Infinity;
        let max = -Infinity;
        let last = 0;
        for (let j = 0; j < RATE; j++) {
          // Members differ: each its own stretch of the sequence.
          const v = value(k, (s * MEMBERS + m) * RATE + j);
          acc.add(v);
          sum += v;
          min = Math.min(min, v);
          max = Math.max(max, v);
          last = v;
        }
        const run = new Int32Array(acc.encodedLengthBound());
        const len = acc.encodeInto(run, 0);
        chunks.push(run.subarray(0, len));
        perSeries.push({ count: RATE, sum, min, max, last, at: size });
        size += len;
      }
      perMember.push(perSeries);
    }
    rows.push(perMember);
  }
  const runs = new Int32Array(size);
  let at = 0;
  for (const c of chunks) {
    runs.set(c, at);
    at += c.length;
  }
  return { runs, rows };
}

const MiB = 1024 * 1024;
const load0 = loadavg()[0]!.toFixed(2);
const { runs, rows } = buckets();
const writer = new StoreWriter(
  createStore({ maxSeries: (MEMBERS + 1) * SERIES + 64, rawCapacity: 256, bucketCapacity: 300, rollupCapacity: 360, intervalMs: 1000, rollupMs: 60_000, logBytes: 32 * MiB, rollupLogBytes: 32 * MiB, poolBytes: 40 * MiB }),
);
writer.recover(T0, 0);
const seriesCount = (MEMBERS + 1) * SERIES;
const apply: number[] = [];
const close: number[] = [];
let rollup = 0;
let rollups = 0;
/** The paced timeline's CPU ms since its last line. */
let lineMs = 0;
const pause = new Int32Array(new SharedArrayBuffer(4));
for (let s = 1; s <= WARM_S + SECONDS; s++) {
  const t = T0 + s * 1000;
  const wall0 = performance.now();
  const c0 = threadCpuMs();
  writer.advance(t);
  const c1 = threadCpuMs();
  const wrote = writer.rollup(seriesCount);
  const c2 = threadCpuMs();
  const shape = rows[s % SHAPES]!;
  for (let m = 0; m < MEMBERS; m++) {
    // One batch a member a second, a row a series: member m's series k, then the cluster-wide one (ids from MEMBERS × SERIES on).
    writer.beginBatch(m + 1, s);
    for (let k = 0; k < SERIES; k++) {
      const b = shape[m]![k]!;
      writer.applyRow(k, m * SERIES + k, MEMBERS * SERIES + k, t - 1000, t, b.count, b.sum, b.min, b.max, b.last, runs, b.at);
    }
  }
  writer.publish();
  const c3 = threadCpuMs();
  if (PACED) {
    lineMs += c3 - c0;
    if (s % TIMELINE_S === 0) {
      process.stdout.write(`paced: simulated seconds ${s - TIMELINE_S + 1}–${s}: ${(lineMs / TIMELINE_S).toFixed(2)} ms a second (advance, rollups and applies)\n`);
      lineMs = 0;
    }
    const left = 1000 - (performance.now() - wall0);
    if (left > 0) Atomics.wait(pause, 0, 0, left);
  }
  if (s <= WARM_S) continue;
  close.push(c1 - c0);
  apply.push(c3 - c2);
  if (wrote > 0) {
    rollup += c2 - c1;
    rollups++;
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const total = mean(apply) + mean(close) + rollup / SECONDS;
process.stdout.write(`bench:hub-apply ${new Date().toISOString()}, load ${load0} → ${loadavg()[0]!.toFixed(2)}, ${MEMBERS} members × ${SERIES} series, ${RATE} samples a bucket, ${SECONDS} s simulated\n`);
process.stdout.write(`apply ${MEMBERS * SERIES} buckets a second as records and merged (mean ms, one second's min–max)  ${mean(apply).toFixed(2)} (${Math.min(...apply).toFixed(1)}–${Math.max(...apply).toFixed(1)})\n`);
process.stdout.write(`close ${writer.openSeries() > 0 ? SERIES : 0} series a second (mean ms, one second's min–max)     ${mean(close).toFixed(2)} (${Math.min(...close).toFixed(1)}–${Math.max(...close).toFixed(1)})\n`);
process.stdout.write(`rollups: ${rollups} passes, ms each; per second                ${rollups ? (rollup / rollups).toFixed(1) : '-'}; ${(rollup / SECONDS).toFixed(2)}\n`);
process.stdout.write(`collector ms per second of the cluster's data                 ${total.toFixed(2)}\n`);
