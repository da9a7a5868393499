/**
 * Sketches, read lock-free (reader.ts): a record's sketch from the log (addSketch,
 * forEachBucketBin), a window's in place (addWindowSketch, the hot path of window alert
 * rules), and the open bucket's from its pages and the raw samples not binned yet
 * (forEachOpenBin). A log read is kept only if the writer's reservation did not reach it.
 */
import { KEY_COUNT, PAGE_BINS, PAGE_BITS, keyOf, type SketchAccumulator } from '../sketch.js';
import {
  BUCKET_COUNT,
  BUCKET_F64,
  BUCKET_MAX,
  BUCKET_MIN,
  BUCKET_SKETCH_LEN,
  BUCKET_SKETCH_POS,
  BUCKET_START,
  DIR_SELECT,
  DIR_USED_0,
  HOT_F64,
  OPEN_COUNT,
  PEND_BASE,
  PEND_CAP,
  PEND_COUNT,
  PEND_OFF,
  RAW_BINNED,
  RAW_HEAD,
  T1_HEAD,
} from './layout.js';
import { RecordReads } from './reader-records.js';
import type { BucketRecord, Tier, WindowAggregate } from './reader-state.js';

/** Reads of an open sketch before forEachOpenBin takes one the writer moved under. */
const OPEN_READ_ATTEMPTS = 4;

export class SketchReads extends RecordReads {
  /** forEachOpenBin's count per key of the raw samples not binned yet. */
  private readonly tailKeys = new Map<number, number>();
  /** The open bucket's bins as forEachOpenBin last gathered them. */
  private readonly binKeys: number[] = [];
  private readonly binCounts: number[] = [];
  private scratch = new Int32Array(1024);

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
   * Adds the sketches of the tier-1 buckets with from <= start < to; returns buckets whose
   * sketch was gone (and, into `out`, those and their samples, and the exact min and max of
   * the buckets whose sketch was added: a quantile of `acc` lies between them, and is
   * clamped to them, as the sketch's estimate may not). The hot path of window alert
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
    let min = Infinity;
    let max = -Infinity;
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
      if (f[rec + BUCKET_MIN]! < min) min = f[rec + BUCKET_MIN]!;
      if (f[rec + BUCKET_MAX]! > max) max = f[rec + BUCKET_MAX]!;
      if (pos < oldestPos) oldestPos = pos;
    }
    if (oldestPos < Number(Atomics.load(this.metaBig, log.cell)) - log.size) {
      // The writer overwrote a sketch while we added it: read the window again, the slow way.
      acc.reset();
      missing = 0;
      unsketched = 0;
      min = Infinity;
      max = -Infinity;
      for (const r of this.buckets(id, 1, from, to)) {
        if (this.addSketch(1, r, acc)) {
          if (r.min < min) min = r.min;
          if (r.max > max) max = r.max;
          continue;
        }
        missing++;
        unsketched += r.count;
      }
    }
    if (out) {
      out.sketchless += missing;
      out.unsketched += unsketched;
      if (min < out.min) out.min = min;
      if (max > out.max) out.max = max;
    }
    return missing;
  }
}
