/**
 * Read-only access to the series store, for any thread. Reads are lock-free: a reader copies
 * what it needs, then re-reads the writer's cursor and discards anything the writer may have
 * overwritten meanwhile (ring records older than head − capacity, sketches older than the
 * log reservation − log size). Nothing a reader does can disturb the writer.
 */
import { KEY_COUNT, PAGE_BINS, PAGE_BITS, keyOf, type SketchAccumulator } from '../sketch.js';
import {
  BUCKET_COUNT,
  BUCKET_F64,
  BUCKET_LAST,
  BUCKET_MAX,
  BUCKET_MIN,
  BUCKET_SKETCH_LEN,
  BUCKET_SKETCH_POS,
  BUCKET_START,
  BUCKET_SUM,
  DIR_SELECT,
  DIR_USED_0,
  CLOSED_COUNT,
  CLOSED_COUNT_AT,
  CLOSED_LAST,
  CLOSED_SUM,
  FIRST_TS,
  HOT_F64,
  LOG_RESERVED,
  OPEN_COUNT,
  OPEN_LAST,
  OPEN_MAX,
  OPEN_MIN,
  OPEN_START,
  OPEN_SUM,
  PEND_BASE,
  PEND_CAP,
  PEND_COUNT,
  PEND_OFF,
  POOL_FREE_COUNT,
  RAW_AHEAD,
  RAW_BINNED,
  RAW_HEAD,
  ROLLUP_LOG_RESERVED,
  StoreLayout,
  T1_HEAD,
  T2_HEAD,
  type StoreBuffers,
} from './layout.js';

/** Tier 1: buckets of one collection interval; tier 2: rollups of rollupMs. */
export type Tier = 1 | 2;

export interface BucketRecord {
  start: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  sketchPos: number;
  sketchLen: number;
}

export interface SeriesSnapshot {
  totalCount: number;
  totalSum: number;
  firstTs: number;
  lastTs: number;
  lastValue: number;
  openStart: number;
  openCount: number;
  openSum: number;
  openMin: number;
  openMax: number;
  openLast: number;
}

export interface RawSamples {
  t: number[];
  v: number[];
}

/** Aggregate of a series over a time range. */
export interface WindowAggregate {
  count: number;
  sum: number;
  min: number;
  max: number;
  /** Newest value in the range and its time (bucket start for bucketed data). */
  last: number;
  lastTs: number;
  /** Buckets whose sketch was no longer in the log (their samples count, not their shape). */
  sketchless: number;
  /**
   * Samples of those buckets: the quantiles of `acc` stand for count - unsketched samples
   * (0 when they stand for all, or when no sketch was asked for).
   */
  unsketched: number;
}

interface LogView {
  data: Int32Array;
  size: number;
  cell: number;
}

/** Reads of an open sketch before forEachOpenBin takes one the writer moved under. */
const OPEN_READ_ATTEMPTS = 4;

export class StoreReader {
  readonly layout: StoreLayout;
  readonly buffers: StoreBuffers;
  private readonly hot: Float64Array;
  private readonly hotI32: Int32Array;
  private readonly f64: Float64Array;
  private readonly i32: Int32Array;
  private readonly meta: Int32Array;
  private readonly metaBig: BigInt64Array;
  private readonly logs: [LogView, LogView];
  private readonly pages: Uint32Array;
  private readonly front: Uint8Array;
  /** forEachOpenBin's count per key of the raw samples not binned yet. */
  private readonly tailKeys = new Map<number, number>();
  /** The open bucket's bins as forEachOpenBin last gathered them. */
  private readonly binKeys: number[] = [];
  private readonly binCounts: number[] = [];
  private scratch = new Int32Array(1024);
  private readonly stats = new Float64Array(6);
  /** Samples the last rawRange() call could not return (overwritten before they were read). */
  skipped = 0;

  constructor(buffers: StoreBuffers) {
    this.buffers = buffers;
    this.meta = new Int32Array(buffers.meta);
    this.metaBig = new BigInt64Array(buffers.meta);
    this.layout = new StoreLayout(this.meta);
    this.hot = new Float64Array(buffers.hot);
    this.hotI32 = new Int32Array(buffers.hot);
    this.f64 = new Float64Array(buffers.series);
    this.i32 = new Int32Array(buffers.series);
    const log = new Int32Array(buffers.log);
    const rollupLog = new Int32Array(buffers.rollupLog);
    this.logs = [
      { data: log, size: log.length, cell: LOG_RESERVED },
      { data: rollupLog, size: rollupLog.length, cell: ROLLUP_LOG_RESERVED },
    ];
    this.pages = new Uint32Array(buffers.pool, this.layout.poolPagesOffsetBytes, this.layout.poolPages * PAGE_BINS);
    this.front = new Uint8Array(buffers.pool, this.layout.poolFrontOffsetBytes, this.layout.poolPages * PAGE_BINS);
  }

  /**
   * Totals and the open bucket of a series. The writer moves a closed bucket's totals into
   * CLOSED_* and marks CLOSED_COUNT_AT before it empties the open bucket, so a bucket whose
   * start equals CLOSED_COUNT_AT is counted once, on the closed side.
   */
  snapshot(id: number): SeriesSnapshot {
    const f = this.f64;
    const hot = this.hot;
    const b = id * this.layout.slotF64;
    const hb = id * HOT_F64;
    const openStart = hot[hb + OPEN_START]!;
    const counted = f[b + CLOSED_COUNT_AT] === openStart;
    const openCount = counted ? 0 : hot[hb + OPEN_COUNT]!;
    const openSum = counted ? 0 : hot[hb + OPEN_SUM]!;
    return {
      totalCount: f[b + CLOSED_COUNT]! + openCount,
      totalSum: f[b + CLOSED_SUM]! + openSum,
      firstTs: f[b + FIRST_TS]!,
      lastTs: this.newestRawTime(id),
      lastValue: openCount > 0 ? hot[hb + OPEN_LAST]! : f[b + CLOSED_LAST]!,
      openStart,
      openCount,
      openSum,
      openMin: hot[hb + OPEN_MIN]!,
      openMax: hot[hb + OPEN_MAX]!,
      openLast: hot[hb + OPEN_LAST]!,
    };
  }

  /** snapshot()'s lastValue alone (a gauge's reading), for readers of every series at once. */
  lastValue(id: number): number {
    const b = id * this.layout.slotF64;
    const hb = id * HOT_F64;
    const open = this.f64[b + CLOSED_COUNT_AT] === this.hot[hb + OPEN_START] ? 0 : this.hot[hb + OPEN_COUNT]!;
    return open > 0 ? this.hot[hb + OPEN_LAST]! : this.f64[b + CLOSED_LAST]!;
  }

  /** snapshot()'s totalSum alone (a counter's total). */
  totalSum(id: number): number {
    const b = id * this.layout.slotF64;
    const hb = id * HOT_F64;
    return this.f64[b + CLOSED_SUM]! + (this.f64[b + CLOSED_COUNT_AT] === this.hot[hb + OPEN_START] ? 0 : this.hot[hb + OPEN_SUM]!);
  }

  /** Total samples of a series; cheap, for change detection. */
  totalCount(id: number): number {
    const f = this.f64;
    const b = id * this.layout.slotF64;
    const hb = id * HOT_F64;
    return f[b + CLOSED_COUNT]! + (f[b + CLOSED_COUNT_AT] === this.hot[hb + OPEN_START] ? 0 : this.hot[hb + OPEN_COUNT]!);
  }

  /** Time (ms) of the newest published raw sample, or NaN. */
  newestRawTime(id: number): number {
    const L = this.layout;
    const base = id * L.slotF64;
    const head = Atomics.load(this.hotI32, id * HOT_F64 * 2 + RAW_HEAD);
    const t = this.f64[base + L.rawOffsetF64 + 2 * ((head - 1) & (L.rawCap - 1))]!;
    return t > 0 ? t : Number.NaN;
  }

  /** Raw samples published so far (wraps at 2^31; compare with `(a - b) | 0`). */
  rawHead(id: number): number {
    return Atomics.load(this.hotI32, id * HOT_F64 * 2 + RAW_HEAD);
  }

  /** Published raw samples with from <= t < to, oldest first. */
  raw(id: number, from = -Infinity, to = Infinity, limit = this.layout.rawCap): RawSamples {
    const L = this.layout;
    const base = id * L.slotF64;
    const head = Atomics.load(this.hotI32, id * HOT_F64 * 2 + RAW_HEAD);
    const n = Math.min(L.rawCap, this.totalCount(id), limit);
    const t: number[] = [];
    const v: number[] = [];
    const idx: number[] = [];
    for (let j = 1; j <= n; j++) {
      const k = (head - j) | 0;
      const at = base + L.rawOffsetF64 + 2 * (k & (L.rawCap - 1));
      const ts = this.f64[at]!;
      if (ts < from || ts === 0) break;
      if (ts >= to) continue;
      t.push(ts);
      v.push(this.f64[at + 1]!);
      idx.push(k);
    }
    // Keep only entries the writer cannot have reused while we copied (RAW_AHEAD, as in rawRange).
    const written = this.hotI32[id * HOT_F64 * 2 + RAW_AHEAD]!;
    let keep = t.length;
    while (keep > 0 && ((written - idx[keep - 1]!) | 0) > L.rawCap) keep--;
    t.length = keep;
    v.length = keep;
    t.reverse();
    v.reverse();
    return { t, v };
  }

  /** Oldest time still held in the raw ring, or NaN. */
  rawOldest(id: number): number {
    const L = this.layout;
    const base = id * L.slotF64;
    const total = this.totalCount(id);
    if (total === 0) return Number.NaN;
    const head = Atomics.load(this.hotI32, id * HOT_F64 * 2 + RAW_HEAD);
    const n = Math.min(L.rawCap, total);
    // One slot of margin: the writer may be rewriting the oldest slot now.
    const k = (head - n + (n === L.rawCap ? 1 : 0)) | 0;
    return this.f64[base + L.rawOffsetF64 + 2 * (k & (L.rawCap - 1))]!;
  }

  /** Bucket (tier 1) or rollup (tier 2) records with from <= start < to, oldest first. */
  buckets(id: number, tier: Tier, from = -Infinity, to = Infinity): BucketRecord[] {
    const L = this.layout;
    const base = id * L.slotF64;
    const headCell = base * 2 + (tier === 1 ? T1_HEAD : T2_HEAD);
    const cap = tier === 1 ? L.t1Cap : L.t2Cap;
    const offset = base + (tier === 1 ? L.t1OffsetF64 : L.t2OffsetF64);
    const head = Atomics.load(this.i32, headCell);
    const out: BucketRecord[] = [];
    const ks: number[] = [];
    for (let k = head - 1; k >= 0 && k >= head - cap; k--) {
      const rec = offset + (k % cap) * BUCKET_F64;
      const f = this.f64;
      const start = f[rec + BUCKET_START]!;
      if (start < from) break;
      if (start >= to) continue;
      out.push({
        start,
        count: f[rec + BUCKET_COUNT]!,
        sum: f[rec + BUCKET_SUM]!,
        min: f[rec + BUCKET_MIN]!,
        max: f[rec + BUCKET_MAX]!,
        last: f[rec + BUCKET_LAST]!,
        sketchPos: f[rec + BUCKET_SKETCH_POS]!,
        sketchLen: f[rec + BUCKET_SKETCH_LEN]!,
      });
      ks.push(k);
    }
    const after = Atomics.load(this.i32, headCell);
    let keep = out.length;
    while (keep > 0 && ks[keep - 1]! < after - cap) keep--;
    out.length = keep;
    return out.reverse();
  }

  /** The time a record covers: an interval for a bucket, rollupMs for a rollup. */
  recordWidth(tier: Tier, _record: BucketRecord): number {
    return tier === 1 ? this.layout.intervalMs : this.layout.rollupMs;
  }

  /** Start (ms) of tier-1 record number k (counted from the first ever written), or NaN when the ring no longer holds it. */
  bucketStartAt(id: number, k: number): number {
    const L = this.layout;
    const base = id * L.slotF64;
    const head = Atomics.load(this.i32, base * 2 + T1_HEAD);
    // One record of margin: the writer may be rewriting the oldest one now.
    if (k < 0 || k >= head || k <= head - L.t1Cap) return Number.NaN;
    return this.f64[base + L.t1OffsetF64 + (k % L.t1Cap) * BUCKET_F64 + BUCKET_START]!;
  }

  /**
   * Calls fn(key, count) for each bin of the sketch of tier-1 record k; false (after calling
   * it for what it read, which the caller then discards) when the record or its sketch was
   * no longer held or was overwritten while read.
   */
  forEachBucketBin(id: number, k: number, fn: (key: number, count: number) => void): boolean {
    const L = this.layout;
    const base = id * L.slotF64;
    const headCell = base * 2 + T1_HEAD;
    if (k < 0 || k >= Atomics.load(this.i32, headCell) || k <= Atomics.load(this.i32, headCell) - L.t1Cap) return false;
    const rec = base + L.t1OffsetF64 + (k % L.t1Cap) * BUCKET_F64;
    const pos = this.f64[rec + BUCKET_SKETCH_POS]!;
    const len = this.f64[rec + BUCKET_SKETCH_LEN]!;
    if (len <= 0) return true;
    const log = this.logs[0];
    const oldest = (): number => Number(Atomics.load(this.metaBig, log.cell)) - log.size;
    if (pos < oldest()) return false;
    const at = pos % log.size;
    const n = Math.min(log.data[at]!, (log.size - at - 1) >> 1);
    for (let i = 0; i < n; i++) {
      const key = log.data[at + 1 + 2 * i]!;
      if (key >>> 0 < KEY_COUNT) fn(key, log.data[at + 2 + 2 * i]! >>> 0);
    }
    return pos >= oldest() && k > Atomics.load(this.i32, headCell) - L.t1Cap;
  }

  /**
   * Calls fn(key, count) for each bin of the open bucket's sketch: its pages, plus its
   * published raw samples that the writer has not binned yet (layout.ts), plus its pending
   * runs in the log (a hub's rows: pending-runs.ts; read again if they were merged meanwhile). The bins are
   * gathered first and read again if the writer binned meanwhile (RAW_BINNED moved), so a
   * sample is not counted both waiting and binned. What is left is a moment's view, as
   * addOpenSketch: a bin read in the few stores while the writer moves its front's 256 to
   * the back may count high or low for that moment.
   */
  forEachOpenBin(id: number, fn: (key: number, count: number) => void): void {
    const hb = id * HOT_F64;
    if (this.hot[hb + OPEN_COUNT] === 0) return;
    const binnedCell = hb * 2 + RAW_BINNED;
    const base = id * this.layout.slotF64;
    for (let attempt = 1; ; attempt++) {
      const binned = Atomics.load(this.hotI32, binnedCell);
      const pendBase = this.f64[base + PEND_BASE]!;
      this.gatherOpenBins(id, binned);
      if ((Atomics.load(this.hotI32, binnedCell) === binned && this.f64[base + PEND_BASE] === pendBase) || attempt === OPEN_READ_ATTEMPTS) break;
    }
    const keys = this.binKeys;
    const counts = this.binCounts;
    for (let i = 0; i < keys.length; i++) fn(keys[i]!, counts[i]!);
  }

  /** forEachOpenBin's one read into binKeys/binCounts, with `binned` read before it. */
  private gatherOpenBins(id: number, binned: number): void {
    const L = this.layout;
    const base = id * L.slotF64;
    const hb = id * HOT_F64;
    const keys = this.binKeys;
    const counts = this.binCounts;
    keys.length = 0;
    counts.length = 0;
    const waiting = this.tailKeys;
    waiting.clear();
    const head = Atomics.load(this.hotI32, hb * 2 + RAW_HEAD);
    const n = (head - binned) | 0;
    if (n > 0 && n <= L.rawCap) {
      const raw = base + L.rawOffsetF64 + 1;
      for (let k = binned; k !== head; k = (k + 1) | 0) {
        const key = keyOf(this.f64[raw + 2 * (k & (L.rawCap - 1))]!);
        waiting.set(key, (waiting.get(key) ?? 0) + 1);
      }
    }
    this.gatherPending(base, waiting);
    const sel = Atomics.load(this.i32, base * 2 + DIR_SELECT);
    const used = this.i32[base * 2 + DIR_USED_0 + sel]!;
    const dir = L.dirIndex(base, sel);
    for (let e = 0; e < used; e++) {
      const keyBase = this.i32[dir + 2 * e]! << PAGE_BITS;
      const pageBase = this.i32[dir + 2 * e + 1]! * PAGE_BINS;
      for (let j = 0; j < PAGE_BINS; j++) {
        let c = this.pages[pageBase + j]! + this.front[pageBase + j]!;
        if (waiting.size > 0) {
          const more = waiting.get(keyBase | j);
          if (more !== undefined) {
            c += more;
            waiting.delete(keyBase | j);
          }
        }
        if (c > 0) {
          keys.push(keyBase | j);
          counts.push(c);
        }
      }
    }
    for (const [key, c] of waiting) {
      keys.push(key);
      counts.push(c);
    }
  }

  /**
   * Adds the open bucket's pending sketch runs (hub rows whose runs the writer merges at the
   * close: pending-runs.ts) of the series at `base` into `into`, those the log still holds.
   */
  private gatherPending(base: number, into: Map<number, number>): void {
    const n = Math.min(this.i32[base * 2 + PEND_COUNT]!, PEND_CAP);
    if (n <= 0) return;
    const first = this.f64[base + PEND_BASE]!;
    const log = this.logs[0];
    const oldest = Number(Atomics.load(this.metaBig, log.cell)) - log.size;
    for (let j = 0; j < n; j++) {
      const at = first + this.i32[base * 2 + PEND_OFF + j]!;
      if (!(at >= oldest)) continue;
      const pos = at % log.size;
      const bins = Math.min(log.data[pos]!, (log.size - pos - 1) >> 1);
      for (let i = 0; i < bins; i++) {
        const key = log.data[pos + 1 + 2 * i]!;
        const count = log.data[pos + 2 + 2 * i]! >>> 0;
        if (key >>> 0 < KEY_COUNT && count > 0) into.set(key, (into.get(key) ?? 0) + count);
      }
    }
  }

  /**
   * The totals of the closed buckets: out[0] count, out[1] sum, out[2] the start of the
   * newest bucket they include. The writer publishes a bucket's record before it adds the
   * bucket to these totals, so a reader that reads them first, then the head, knows whether
   * the newest record it sees is in them (its start equals out[2]) or not yet.
   */
  closedTotals(id: number, out: Float64Array): void {
    const b = id * this.layout.slotF64;
    out[0] = this.f64[b + CLOSED_COUNT]!;
    out[1] = this.f64[b + CLOSED_SUM]!;
    out[2] = this.f64[b + CLOSED_COUNT_AT]!;
  }

  /** Records ever written to a tier. */
  bucketCount(id: number, tier: Tier): number {
    return Atomics.load(this.i32, id * this.layout.slotF64 * 2 + (tier === 1 ? T1_HEAD : T2_HEAD));
  }

  /**
   * Statistics of the tier-1 buckets with from <= start < to, without allocating: writes
   * count, sum, min, max, last and the newest bucket's start into out[0..5]. Returns false
   * when the bucket ring no longer reaches back to `from` (the caller then uses aggregate(),
   * which adds rollups).
   */
  windowStats(id: number, from: number, to: number, out: Float64Array): boolean {
    const L = this.layout;
    const base = id * L.slotF64;
    const headCell = base * 2 + T1_HEAD;
    const offset = base + L.t1OffsetF64;
    const head = Atomics.load(this.i32, headCell);
    const f = this.f64;
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    let last = Number.NaN;
    let lastStart = -Infinity;
    let reached = head <= L.t1Cap; // the ring holds every bucket ever written
    let oldest = head - 1;
    for (let k = head - 1; k >= 0 && k >= head - L.t1Cap; k--) {
      const rec = offset + (k % L.t1Cap) * BUCKET_F64;
      const start = f[rec + BUCKET_START]!;
      if (start < from) {
        reached = true;
        break;
      }
      oldest = k;
      if (start >= to) continue;
      count += f[rec + BUCKET_COUNT]!;
      sum += f[rec + BUCKET_SUM]!;
      const lo = f[rec + BUCKET_MIN]!;
      const hi = f[rec + BUCKET_MAX]!;
      if (lo < min) min = lo;
      if (hi > max) max = hi;
      if (start > lastStart) {
        lastStart = start;
        last = f[rec + BUCKET_LAST]!;
      }
    }
    out[0] = count;
    out[1] = sum;
    out[2] = min;
    out[3] = max;
    out[4] = last;
    out[5] = lastStart;
    // Records older than head - capacity may have been rewritten while we read.
    return reached && oldest >= Atomics.load(this.i32, headCell) - L.t1Cap;
  }

  /**
   * Adds the sketches of the tier-1 buckets with from <= start < to; returns buckets whose
   * sketch was gone (and, into `out`, those and their samples). The hot path of window alert
   * rules: it reads the log in place, without copies or objects, and checks afterwards that
   * the writer did not reach what it read.
   */
  addWindowSketch(id: number, from: number, to: number, acc: SketchAccumulator, out?: WindowAggregate): number {
    const L = this.layout;
    const log = this.logs[0];
    const base = id * L.slotF64;
    const offset = base + L.t1OffsetF64;
    const head = Atomics.load(this.i32, base * 2 + T1_HEAD);
    const f = this.f64;
    let oldestPos = Infinity;
    let missing = 0;
    let unsketched = 0;
    for (let k = head - 1; k >= 0 && k >= head - L.t1Cap; k--) {
      const rec = offset + (k % L.t1Cap) * BUCKET_F64;
      const start = f[rec + BUCKET_START]!;
      if (start < from) break;
      if (start >= to) continue;
      const pos = f[rec + BUCKET_SKETCH_POS]!;
      if (pos < Number(Atomics.load(this.metaBig, log.cell)) - log.size) {
        missing++;
        unsketched += f[rec + BUCKET_COUNT]!;
        continue;
      }
      acc.addEncoded(log.data, pos % log.size);
      if (pos < oldestPos) oldestPos = pos;
    }
    if (oldestPos < Number(Atomics.load(this.metaBig, log.cell)) - log.size) {
      // The writer overwrote a sketch while we added it: read the window again, the slow way.
      acc.reset();
      missing = 0;
      unsketched = 0;
      for (const r of this.buckets(id, 1, from, to)) {
        if (this.addSketch(1, r, acc)) continue;
        missing++;
        unsketched += r.count;
      }
    }
    if (out) {
      out.sketchless += missing;
      out.unsketched += unsketched;
    }
    return missing;
  }

  /**
   * Copies the raw samples of a series numbered from `from` up to `head` (raw heads, as
   * rawHead() gives them) into `outT`/`outV`, oldest first, and returns how many. Samples the
   * ring no longer holds (more than rawCap back, or rewritten by the writer while they were
   * copied) are left out and counted in `skipped`.
   */
  rawRange(id: number, from: number, head: number, outT: Float64Array, outV: Float64Array): number {
    const L = this.layout;
    const cap = L.rawCap;
    let n = (head - from) | 0;
    this.skipped = 0;
    if (n <= 0) return 0;
    if (n > cap) {
      this.skipped = n - cap;
      n = cap;
    }
    const start = (head - n) | 0;
    const ring = id * L.slotF64 + L.rawOffsetF64;
    const f = this.f64;
    for (let j = 0; j < n; j++) {
      const at = ring + 2 * (((start + j) | 0) & (cap - 1));
      outT[j] = f[at]!;
      outV[j] = f[at + 1]!;
    }
    // Slot k is rewritten once the writer writes sample k + cap: drop what it may have reached
    // (RAW_AHEAD: set before it writes a part's slots, so it covers the slots being written).
    const written = this.hotI32[id * HOT_F64 * 2 + RAW_AHEAD]!;
    const lost = Math.min(n, ((written - start) | 0) - cap);
    if (lost > 0) {
      outT.copyWithin(0, lost, n);
      outV.copyWithin(0, lost, n);
      n -= lost;
      this.skipped += lost;
    }
    return n;
  }

  /** Start of the oldest record held in a tier, or NaN. */
  oldestBucket(id: number, tier: Tier): number {
    const L = this.layout;
    const base = id * L.slotF64;
    const head = Atomics.load(this.i32, base * 2 + (tier === 1 ? T1_HEAD : T2_HEAD));
    if (head === 0) return Number.NaN;
    const cap = tier === 1 ? L.t1Cap : L.t2Cap;
    // One record of margin: the writer may be rewriting the oldest one now.
    const k = head > cap ? head - cap + 1 : 0;
    return this.f64[base + (tier === 1 ? L.t1OffsetF64 : L.t2OffsetF64) + (k % cap) * BUCKET_F64 + BUCKET_START]!;
  }

  /** Adds a record's sketch to `acc`. False when the log no longer holds it. */
  addSketch(tier: Tier, record: BucketRecord, acc: SketchAccumulator): boolean {
    const log = this.logs[tier - 1]!;
    const len = record.sketchLen;
    if (len <= 0) return true;
    if (record.sketchPos < Number(Atomics.load(this.metaBig, log.cell)) - log.size) return false;
    if (this.scratch.length < len) this.scratch = new Int32Array(Math.max(len, this.scratch.length * 2));
    const start = record.sketchPos % log.size;
    this.scratch.set(log.data.subarray(start, start + len));
    if (record.sketchPos < Number(Atomics.load(this.metaBig, log.cell)) - log.size) return false;
    acc.addEncoded(this.scratch, 0);
    return true;
  }

  /**
   * Adds the open bucket's sketch. The writer may be adding to it at the same time, so the
   * result is a moment's view, not a consistent cut; the bucket's record will be exact.
   */
  addOpenSketch(id: number, acc: SketchAccumulator): void {
    this.forEachOpenBin(id, (key, count) => acc.addKey(key, count));
  }

  /**
   * Aggregates a series over [from, to), taking records by their start time: whole rollup
   * windows inside the range from tier 2 (up to the newest rollup written), the rest from
   * tier 1 buckets, and the open bucket when it starts in the range. Each sample is counted
   * once. When `acc` is given, the sketches of the pieces are added to it.
   */
  aggregate(id: number, from: number, to: number, acc?: SketchAccumulator): WindowAggregate {
    const L = this.layout;
    const R = L.rollupMs;
    const headCell = id * L.slotF64 * 2 + T1_HEAD;
    for (let attempt = 0; ; attempt++) {
      const head = Atomics.load(this.i32, headCell);
      const out: WindowAggregate = { count: 0, sum: 0, min: Infinity, max: -Infinity, last: Number.NaN, lastTs: Number.NaN, sketchless: 0, unsketched: 0 };
      acc?.reset();
      const wFrom = Math.ceil(from / R) * R;
      const wTo = Math.min(Math.floor(to / R) * R, this.newestRollupEnd(id));
      // A short recent range (no whole rollup inside it) that the bucket ring holds: read it
      // in place. Longer ranges take whole minutes from the rollups, 60 times fewer records.
      const s = this.stats;
      if (wFrom >= wTo && this.windowStats(id, from, to, s)) {
        out.count = s[0]!;
        out.sum = s[1]!;
        out.min = s[2]!;
        out.max = s[3]!;
        if (s[0]! > 0) {
          out.last = s[4]!;
          out.lastTs = s[5]!;
        }
        if (acc) this.addWindowSketch(id, from, to, acc, out);
        this.addOpen(id, from, to, out, acc);
        if (Atomics.load(this.i32, headCell) === head || attempt === 2) return out;
        continue;
      }
      const add = (r: BucketRecord, tier: Tier): void => {
        out.count += r.count;
        out.sum += r.sum;
        if (r.min < out.min) out.min = r.min;
        if (r.max > out.max) out.max = r.max;
        if (!(r.start < out.lastTs)) {
          out.last = r.last;
          out.lastTs = r.start;
        }
        if (acc && !this.addSketch(tier, r, acc)) {
          out.sketchless++;
          out.unsketched += r.count;
        }
      };
      if (wFrom < wTo) {
        for (const r of this.buckets(id, 1, from, wFrom)) add(r, 1);
        for (const r of this.buckets(id, 2, wFrom, wTo)) add(r, 2);
        for (const r of this.buckets(id, 1, wTo, to)) add(r, 1);
      } else {
        for (const r of this.buckets(id, 1, from, to)) add(r, 1);
      }
      this.addOpen(id, from, to, out, acc);
      // A bucket that closed while we read would be missed (or counted twice): read again.
      if (Atomics.load(this.i32, headCell) === head || attempt === 2) return out;
    }
  }

  /** Adds the open bucket to an aggregate when it starts in [from, to). */
  private addOpen(id: number, from: number, to: number, out: WindowAggregate, acc?: SketchAccumulator): void {
    const s = this.snapshot(id);
    if (s.openCount > 0 && s.openStart >= from && s.openStart < to) {
      out.count += s.openCount;
      out.sum += s.openSum;
      if (s.openMin < out.min) out.min = s.openMin;
      if (s.openMax > out.max) out.max = s.openMax;
      out.last = s.openLast;
      out.lastTs = s.openStart;
      if (acc) this.addOpenSketch(id, acc);
    }
  }

  private newestRollupEnd(id: number): number {
    const L = this.layout;
    const base = id * L.slotF64;
    const head = Atomics.load(this.i32, base * 2 + T2_HEAD);
    if (head === 0) return -Infinity;
    return this.f64[base + L.t2OffsetF64 + ((head - 1) % L.t2Cap) * BUCKET_F64 + BUCKET_START]! + L.rollupMs;
  }

  /** Free sketch pages in the open-bucket pool. */
  freePages(): number {
    return Atomics.load(this.meta, POOL_FREE_COUNT);
  }
}
