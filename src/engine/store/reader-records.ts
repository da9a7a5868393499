/**
 * A series' closed records, read lock-free (reader.ts): buckets (tier 1) and rollups (tier
 * 2) as objects, a window's statistics in place (windowStats), and where the rings begin and
 * end. A read keeps only the records the writer cannot have rewritten while they were read
 * (head − capacity, read again after).
 */
import { BUCKET_COUNT, BUCKET_F64, BUCKET_LAST, BUCKET_MAX, BUCKET_MIN, BUCKET_SKETCH_LEN, BUCKET_SKETCH_POS, BUCKET_START, BUCKET_SUM, T1_HEAD, T2_HEAD } from './layout.js';
import { RawReads } from './reader-raw.js';
import type { BucketRecord, Tier } from './reader-state.js';

export class RecordReads extends RawReads {
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

  /**
   * The time before which a record's samples lie: the end of its interval or minute; a stored
   * row's the end of the run that wrote it when sooner (a report's SpanReader).
   */
  recordEnd(tier: Tier, record: BucketRecord): number {
    return record.start + this.recordWidth(tier, record);
  }

  /** Start of the oldest record read from disk, not from this memory (a report's SpanReader), or NaN. */
  oldestStored(_id: number): number {
    return Number.NaN;
  }

  /** Whether a record was read from disk, not from this memory (a report's SpanReader): no bucket of the memory repeats its samples. */
  isStored(_record: BucketRecord): boolean {
    return false;
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

  /** Records ever written to a tier. */
  bucketCount(id: number, tier: Tier): number {
    return Atomics.load(this.i32, id * this.layout.slotF64 * 2 + (tier === 1 ? T1_HEAD : T2_HEAD));
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

  protected newestRollupEnd(id: number): number {
    const L = this.layout;
    const base = id * L.slotF64;
    const head = Atomics.load(this.i32, base * 2 + T2_HEAD);
    if (head === 0) return -Infinity;
    return this.f64[base + L.t2OffsetF64 + ((head - 1) % L.t2Cap) * BUCKET_F64 + BUCKET_START]! + L.rollupMs;
  }
}
