/**
 * Read-only access to the series store, for any thread. Reads are lock-free: a reader copies
 * what it needs, then re-reads the writer's cursor and discards anything the writer may have
 * overwritten meanwhile (ring records older than head − capacity, sketches older than the
 * log reservation − log size). Nothing a reader does can disturb the writer.
 *
 * One class over several files, one concept each (reader-state.ts says how): here, the
 * aggregate of a range, which takes whole rollups, buckets and the open bucket, each sample once.
 */
import type { SketchAccumulator } from '../sketch.js';
import { T1_HEAD } from './layout.js';
import { SketchReads } from './reader-sketches.js';
import type { BucketRecord, Tier, WindowAggregate } from './reader-state.js';

export type { BucketRecord, RawSamples, SeriesSnapshot, Tier, WindowAggregate } from './reader-state.js';

export class StoreReader extends SketchReads {
  private readonly stats = new Float64Array(6);

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
}
