/**
 * The floor under the collector's targets: `node dist/bench/collector-floor.js` (after
 * `npm run build`).
 *
 * Issue 16 asks the collector for at most 1.5% of a core at 1M samples/s over 100 series
 * (15 ns a sample, everything included) and 3% over 10,000. This bench measures what the
 * least a collector can do costs on this machine under the same load, beside perfwatch's
 * collector in the same run:
 *
 * - the load is bench/steady.ts's: the main thread records 1M samples/s in bursts every
 *   10 ms, round-robin over the series, the values of bench/values.ts;
 * - a ring of the same shape as the engine's (65,536 slots of an i32 id and an f64 value in a
 *   SharedArrayBuffer, the write index published once a burst), read by a worker thread that
 *   sleeps until the ring is half full or 250 ms have passed, as the collector dozes;
 * - per sample, `hot`: the series' count, sum, min, max and last in one 64-byte line, and one
 *   bin of a log histogram (the float's exponent and top 6 mantissa bits: bins 1.1% wide,
 *   coarser than the store's sketch) incremented, a byte a bin spilling into a u32 every
 *   256 as the store's front bins do; `raw`: the same and the value copied into
 *   a ring of 256 values of its series, as the store keeps for exact quantiles and `last`
 *   rules; `grouped`: what `raw` does, each drained span first sorted by series (a counting
 *   sort into a scratch array), then applied a series at a time, as the engine groups a
 *   chunk. Nothing else: no crash safety (no applied counter, no chunk records), no buckets
 *   closed, no time stamps, no readers, no watchdog beat.
 * - `log`: what a collector that moves binning to the bucket's close would pay: each drained
 *   span copied as it is into a log of the second (the raw values stay there, in time
 *   order), and at each second's close the log sorted by series as `grouped` sorts a span,
 *   each series' hot line and bins then updated from its run (no raw ring: the sorted second
 *   is the series' raw values, contiguous).
 * - `perfwatch`: steady() of bench/steady.ts, the started monitor with default options, its
 *   collector thread's CPU from status().overhead.
 *
 * The floor's figure is the consumer thread's CPU (/proc/self/task/<tid>/schedstat) over
 * BENCH_STEADY_MS (4000) after 2 s; the cases alternate, BENCH_ROUNDS (3) rounds each, and
 * the table gives the median and range. BENCH_SERIES (default 100,10000).
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { steady } from './steady.js';
import { values } from './values.js';

const CAPACITY = 65_536;
const HALF = CAPACITY / 2;
const DOZE_MS = 250;
const RAW = 256;
const BINS = 2048;
/** The high word of 1.0's bits, shifted as the bins are: bin 0 is [1, 1.011). */
const BIN_BASE = 0x3ff00000 >>> 14;

/** Control cells (i32 indices), each on a line of its own. */
const WRITE = 0;
const READ = 16;
const BELL = 32;
const SLEEPING = 48;
const STOP = 64;
const CTL_I32 = 80;

type Kind = 'hot' | 'raw' | 'grouped' | 'log';
/** The `log` case's per-second log: room for two seconds at 1M samples/s. */
const LOG = 1 << 21;
const CLOSE_MS = 1000;
interface FloorData {
  kind: Kind;
  series: number;
  ctl: SharedArrayBuffer;
  ids: SharedArrayBuffer;
  vals: SharedArrayBuffer;
}

/** The consumer: drains the ring into the series' lines (and raw rings), sleeps as the collector dozes. */
function consume({ kind, series, ctl: ctlBuf, ids: idsBuf, vals: valsBuf }: FloorData): void {
  const ctl = new Int32Array(ctlBuf);
  const ids = new Int32Array(idsBuf);
  const vals = new Float64Array(valsBuf);
  // count, sum, min, max, last, raw head: one 64-byte line a series.
  const hot = new Float64Array(series * 8);
  for (let s = 0; s < series; s++) (hot[s * 8 + 2] = Infinity), (hot[s * 8 + 3] = -Infinity);
  // A byte a bin, spilling into a u32 back bin every 256, as the store's sketch pages keep
  // their front bins (64 bins a cache line).
  const front = new Uint8Array(series * BINS);
  const back = new Uint32Array(series * BINS);
  const raw = kind === 'hot' || kind === 'log' ? new Float64Array(0) : new Float64Array(series * RAW);
  const bits = new Float64Array(1);
  const hi = new Uint32Array(bits.buffer, 4, 1);
  const withRaw = kind === 'raw';
  const counts = new Int32Array(series + 1);
  const logging = kind === 'log';
  const sorted = new Float64Array(logging ? LOG : CAPACITY);
  const logIds = new Int32Array(logging ? LOG : 0);
  const logVals = new Float64Array(logging ? LOG : 0);
  let logged = 0;
  let closeAt = performance.now() + CLOSE_MS;
  parentPort!.postMessage({ tid: Number(readlinkSync('/proc/thread-self').split('/').pop()) });
  let r = 0;
  for (;;) {
    const bell = Atomics.load(ctl, BELL);
    const w = Atomics.load(ctl, WRITE);
    if (w !== r && kind === 'grouped') {
      grouped(ids, vals, CAPACITY - 1, r, w, true);
      r = w;
      Atomics.store(ctl, READ, r);
      continue;
    }
    if (logging && (w !== r || performance.now() >= closeAt)) {
      for (; r !== w && logged < LOG; r = (r + 1) | 0, logged++) {
        const at = r & (CAPACITY - 1);
        logIds[logged] = ids[at]!;
        logVals[logged] = vals[at]!;
      }
      Atomics.store(ctl, READ, r);
      if (logged === LOG || performance.now() >= closeAt) {
        grouped(logIds, logVals, LOG - 1, 0, logged, false);
        logged = 0;
        closeAt += CLOSE_MS;
      }
      continue;
    }
    if (w !== r) {
      for (; r !== w; r = (r + 1) | 0) {
        const at = r & (CAPACITY - 1);
        const s = ids[at]!;
        const v = vals[at]!;
        const h = s * 8;
        hot[h] = hot[h]! + 1;
        hot[h + 1] = hot[h + 1]! + v;
        if (v < hot[h + 2]!) hot[h + 2] = v;
        if (v > hot[h + 3]!) hot[h + 3] = v;
        hot[h + 4] = v;
        bin(s * BINS, v);
        if (withRaw) {
          const head = hot[h + 5]!;
          raw[s * RAW + (head & (RAW - 1))] = v;
          hot[h + 5] = head + 1;
        }
      }
      Atomics.store(ctl, READ, r);
      continue;
    }
    if (Atomics.load(ctl, STOP) === 1) break;
    Atomics.store(ctl, SLEEPING, 1);
    if (Atomics.load(ctl, WRITE) === r) Atomics.wait(ctl, BELL, bell, DOZE_MS);
    Atomics.store(ctl, SLEEPING, 0);
  }
  if (logged > 0) grouped(logIds, logVals, LOG - 1, 0, logged, false);
  let total = 0;
  for (let s = 0; s < series; s++) total += hot[s * 8]!;
  parentPort!.postMessage({ applied: total });

  /** Counts `v` in the bins from `binAt`: a byte a bin, 256 of them carried into the u32 behind it. */
  function bin(binAt: number, v: number): void {
    bits[0] = v;
    const b = binAt + (((hi[0]! >>> 14) - BIN_BASE) & (BINS - 1));
    const c = front[b]! + 1;
    if (c === 256) {
      front[b] = 0;
      back[b]! += 256;
    } else front[b] = c;
  }

  /**
   * Slots [from, to) of `srcIds`/`srcVals` (indices masked by `mask`): counted by series,
   * scattered in series order, applied a series at a time; `copyRaw` also copies each value
   * into its series' raw ring (the `log` case keeps its sorted second as the raw values).
   */
  function grouped(srcIds: Int32Array, srcVals: Float64Array, mask: number, from: number, to: number, copyRaw: boolean): void {
    counts.fill(0);
    for (let i = from; i !== to; i = (i + 1) | 0) counts[srcIds[i & mask]! + 1]!++;
    for (let s = 0; s < series; s++) counts[s + 1] = counts[s + 1]! + counts[s]!;
    for (let i = from; i !== to; i = (i + 1) | 0) {
      const at = i & mask;
      sorted[counts[srcIds[at]!]!++] = srcVals[at]!;
    }
    // counts[s] is now the end of series s's values, counts[s - 1] (or 0) their start.
    let start = 0;
    for (let s = 0; s < series; s++) {
      const end = counts[s]!;
      if (end === start) continue;
      const h = s * 8;
      let n = hot[h]!;
      let sum = hot[h + 1]!;
      let min = hot[h + 2]!;
      let max = hot[h + 3]!;
      let head = hot[h + 5]!;
      const binAt = s * BINS;
      const rawAt = s * RAW;
      for (let j = start; j < end; j++) {
        const v = sorted[j]!;
        n++;
        sum += v;
        if (v < min) min = v;
        if (v > max) max = v;
        bin(binAt, v);
        if (copyRaw) {
          raw[rawAt + (head & (RAW - 1))] = v;
          head++;
        }
      }
      hot[h] = n;
      hot[h + 1] = sum;
      hot[h + 2] = min;
      hot[h + 3] = max;
      hot[h + 4] = sorted[end - 1]!;
      hot[h + 5] = head;
      start = end;
    }
  }
}

function threadNs(tid: number): number {
  return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
}

/** One floor run: the consumer thread's % of a core at 1M samples/s over `series`. */
async function floor(kind: Kind, series: number, ms: number): Promise<{ percent: number; dropped: number }> {
  const ctlBuf = new SharedArrayBuffer(CTL_I32 * 4);
  const idsBuf = new SharedArrayBuffer(CAPACITY * 4);
  const valsBuf = new SharedArrayBuffer(CAPACITY * 8);
  const ctl = new Int32Array(ctlBuf);
  const ids = new Int32Array(idsBuf);
  const vals = new Float64Array(valsBuf);
  const worker = new Worker(new URL(import.meta.url), { workerData: { kind, series, ctl: ctlBuf, ids: idsBuf, vals: valsBuf } satisfies FloorData });
  const tid = await new Promise<number>((resolve) => worker.once('message', (m: { tid: number }) => resolve(m.tid)));
  const done = new Promise<number>((resolve) => worker.on('message', (m: { applied?: number }) => m.applied !== undefined && resolve(m.applied)));
  const rate = 1_000_000;
  let sent = 0;
  let w = 0;
  let dropped = 0;
  let lost = 0;
  let k = 0;
  const t0 = performance.now();
  const warm = 2000;
  let cpu0 = 0;
  let at0 = 0;
  while (performance.now() - t0 < warm + ms) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    if (cpu0 === 0 && performance.now() - t0 >= warm) (cpu0 = threadNs(tid)), (at0 = performance.now());
    const due = Math.floor(((performance.now() - t0) * rate) / 1000);
    const read = Atomics.load(ctl, READ);
    for (; sent < due; sent++) {
      if (((w - read) | 0) >= CAPACITY) {
        lost++;
        if (cpu0 !== 0) dropped++;
        continue;
      }
      const at = w & (CAPACITY - 1);
      ids[at] = k;
      vals[at] = values[sent & 4095]!;
      w = (w + 1) | 0;
      if (++k === series) k = 0;
    }
    Atomics.store(ctl, WRITE, w);
    if (((w - Atomics.load(ctl, READ)) | 0) >= HALF && Atomics.load(ctl, SLEEPING) === 1) {
      Atomics.add(ctl, BELL, 1);
      Atomics.notify(ctl, BELL);
    }
  }
  const cpu = threadNs(tid) - cpu0;
  const wall = performance.now() - at0;
  Atomics.store(ctl, STOP, 1);
  Atomics.add(ctl, BELL, 1);
  Atomics.notify(ctl, BELL);
  const applied = await done;
  await worker.terminate();
  if (applied + lost !== sent) throw new Error(`floor ${kind}: ${applied} applied + ${lost} dropped of ${sent} sent`);
  return { percent: cpu / 1e4 / wall, dropped };
}

const fmt = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `${s[Math.floor(s.length / 2)]!.toFixed(2)}% (${s[0]!.toFixed(2)}–${s[s.length - 1]!.toFixed(2)})`;
};

async function main(): Promise<void> {
  const ms = Number(process.env.BENCH_STEADY_MS ?? 4000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const seriesList = (process.env.BENCH_SERIES ?? '100,10000').split(',').map(Number);
  const load0 = loadavg()[0]!.toFixed(2);
  const started = new Date().toISOString();
  const rows: [string, string][] = [];
  for (const series of seriesList) {
    const got = { hot: [] as number[], raw: [] as number[], grouped: [] as number[], log: [] as number[], perfwatch: [] as number[] };
    const dropped = { hot: 0, raw: 0, grouped: 0, log: 0, perfwatch: 0 };
    for (let round = 0; round < rounds; round++) {
      for (const kind of ['hot', 'raw', 'grouped', 'log'] as const) {
        const f = await floor(kind, series, ms);
        got[kind].push(f.percent);
        dropped[kind] += f.dropped;
      }
      const p = await steady(series, ms, values);
      got.perfwatch.push(p.collectorPercent);
      dropped.perfwatch += p.dropped;
    }
    rows.push(
      [`floor, hot line and a bin a sample: consumer thread, % of a core (${series} series)`, fmt(got.hot)],
      [`floor, and a raw copy a sample: consumer thread, % of a core (${series} series)`, fmt(got.raw)],
      [`floor, the same grouped by series first: consumer thread, % of a core (${series} series)`, fmt(got.grouped)],
      [`floor, a log a drain, grouped and binned at each second's close: consumer thread, % of a core (${series} series)`, fmt(got.log)],
      [`perfwatch's collector thread, % of a core (${series} series)`, fmt(got.perfwatch)],
      [`samples dropped, all runs: the floors' in their measured windows, perfwatch's in its whole run (${series} series)`, Object.entries(dropped).map(([k, n]) => `${k} ${n}`).join(', ')],
    );
  }
  const w = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(`bench:collector-floor ${started}, load ${load0} → ${loadavg()[0]!.toFixed(2)}, 1M samples/s, ${rounds} rounds of ${ms} ms, median (min–max)\n`);
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
}

if (isMainThread) await main();
else consume(workerData as FloorData);
