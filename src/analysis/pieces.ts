/**
 * The closed records (buckets and rollups) of one series over a range, as typed columns:
 * a report reads thousands per series, and columns keep that loop monomorphic and free of
 * per-record objects (the first version spread one object per record and spent most of a
 * report's time there).
 */
import type { MetricKind } from '../engine/metrics.js';
import type { BucketRecord, StoreReader } from '../engine/store/reader.js';

/** A bucket record with the width it covers (interval or rollup window). */
export interface Piece extends BucketRecord {
  widthMs: number;
  tier: 1 | 2;
}

/**
 * Closed records of one series as columns. One instance per thread is reused from series to
 * series (reset()), so a caller that keeps pieces past the next series copies them (clone()).
 */
export class Pieces {
  n = 0;
  start = new Float64Array(1024);
  count = new Float64Array(1024);
  sum = new Float64Array(1024);
  min = new Float64Array(1024);
  max = new Float64Array(1024);
  last = new Float64Array(1024);
  width = new Float64Array(1024);
  sketchPos = new Float64Array(1024);
  sketchLen = new Float64Array(1024);
  tier = new Uint8Array(1024);

  reset(): this {
    this.n = 0;
    return this;
  }

  push(r: BucketRecord, widthMs: number, tier: 1 | 2): void {
    if (this.n === this.start.length) this.grow();
    const i = this.n++;
    this.start[i] = r.start;
    this.count[i] = r.count;
    this.sum[i] = r.sum;
    this.min[i] = r.min;
    this.max[i] = r.max;
    this.last[i] = r.last;
    this.width[i] = widthMs;
    this.sketchPos[i] = r.sketchPos;
    this.sketchLen[i] = r.sketchLen;
    this.tier[i] = tier;
  }

  /** The kind's reading of piece i (see pieceValue). */
  value(kind: MetricKind, i: number): number {
    if (kind === 'counter') return this.sum[i]! / (this.width[i]! / 1000);
    const c = this.count[i]!;
    return c > 0 ? this.sum[i]! / c : Number.NaN;
  }

  record(i: number): BucketRecord {
    return { start: this.start[i]!, count: this.count[i]!, sum: this.sum[i]!, min: this.min[i]!, max: this.max[i]!, last: this.last[i]!, sketchPos: this.sketchPos[i]!, sketchLen: this.sketchLen[i]! };
  }

  /** A copy that survives reset() (for the few series whose pieces the diagnoses read). */
  clone(): Pieces {
    const out = new Pieces();
    out.n = this.n;
    for (const k of ['start', 'count', 'sum', 'min', 'max', 'last', 'width', 'sketchPos', 'sketchLen'] as const) out[k] = this[k].slice(0, this.n);
    out.tier = this.tier.slice(0, this.n);
    return out;
  }

  private grow(): void {
    const size = this.start.length * 2;
    for (const k of ['start', 'count', 'sum', 'min', 'max', 'last', 'width', 'sketchPos', 'sketchLen'] as const) {
      const next = new Float64Array(size);
      next.set(this[k]);
      this[k] = next;
    }
    const tier = new Uint8Array(size);
    tier.set(this.tier);
    this.tier = tier;
  }
}

/**
 * Closed records of a series over [from, to), oldest first: one-minute rollups for the part
 * older than the oldest bucket still held, then the buckets. Stored rows (a process's before
 * a restart, SpanReader) are all taken, up to the oldest bucket: no bucket repeats them, even
 * one of their minute (a process that stopped at 12:01:10 and one that started at 12:01:14),
 * where the memory's own rollup of that minute holds those buckets' samples.
 */
export function readPieces(reader: StoreReader, id: number, from: number, to: number, out: Pieces = new Pieces()): Pieces {
  const L = reader.layout;
  const oldest = reader.oldestBucket(id, 1);
  out.reset();
  if (Number.isNaN(oldest) || from < oldest) {
    const rollTo = Number.isNaN(oldest) ? to : Math.min(to, Math.floor(oldest / L.rollupMs) * L.rollupMs);
    let after = from;
    for (const r of reader.buckets(id, 2, from, Number.isNaN(oldest) ? to : Math.min(to, oldest))) {
      const stored = reader.isStored(r);
      if (!stored && r.start >= rollTo) continue;
      const width = reader.recordWidth(2, r);
      out.push(r, width, 2);
      if (!stored) after = r.start + width;
    }
    for (const r of reader.buckets(id, 1, Math.max(from, after), to)) out.push(r, L.intervalMs, 1);
    return out;
  }
  for (const r of reader.buckets(id, 1, from, to)) out.push(r, L.intervalMs, 1);
  return out;
}

