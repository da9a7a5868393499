/**
 * A series' raw samples, read lock-free (reader.ts): its raw ring's published samples (raw,
 * rawRange), its head and its oldest time. A copy keeps only the slots the writer cannot have
 * reused while they were read (RAW_AHEAD).
 */
import { HOT_F64, RAW_AHEAD, RAW_HEAD } from './layout.js';
import type { RawSamples } from './reader-state.js';
import { SeriesTotals } from './reader-totals.js';

export class RawReads extends SeriesTotals {
  /** Samples the last rawRange() call could not return (overwritten before they were read). */
  skipped = 0;

  /** Raw samples published so far (wraps at 2^31; compare with `(a - b) | 0`). */
  rawHead(id: number): number {
    return Atomics.load(this.hotI32, id * HOT_F64 * 2 + RAW_HEAD);
  }

  /**
   * Published raw samples with from <= t < to, in the order they arrived (the ring's). A
   * sample's own timestamp (recordBatch) may lie an interval before or 5 s after those that
   * arrived around it: every slot is read, not only those up to the first one before `from`
   * (which left out the samples after `from` that arrived before it). A reader that shows
   * them by time sorts them (history.ts).
   */
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
      if (ts === 0) break;
      if (ts < from || ts >= to) continue;
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
}

