/**
 * Rollups: per series, a rollup record for each complete rollup window (rollupMs) of its
 * closed buckets, into its rollup ring (T2_HEAD), with the window's sketch in the rollup log.
 * A window's sketch is its minute sketch (minutes.ts) where that stands for all the window's
 * records, else merged from the sketch log (sketchesLost counts the runs it had overwritten).
 * Series fed by closed records from outside (bucket-rows.ts, fedClosed) are rolled up an
 * interval later, to lateRolledTo.
 *
 * Invariants. A window is written once: the first window not written yet is the one after
 * both ROLLED_UPTO and the newest rollup record, since a writer killed between publishing a
 * record (T2_HEAD) and moving ROLLED_UPTO wrote it already. A minute sketch is taken only for
 * the records it was merged from, so exactly-once stays with the record's publication.
 */
import { BUCKET_COUNT, BUCKET_F64, BUCKET_LAST, BUCKET_MAX, BUCKET_MIN, BUCKET_SKETCH_LEN, BUCKET_SKETCH_POS, BUCKET_START, BUCKET_SUM, ROLLED_UPTO, T1_HEAD, T2_HEAD } from './layout.js';
import { BucketCloses } from './closes.js';
import { everRecorded } from './recorded.js';
import { BEAT_MASK } from './writer-state.js';

export class Rollups extends BucketCloses {
  /**
   * Writes rollup records for every complete rollup window before `bucketStart` (for series
   * fed by closed records, before `bucketStart` an interval ago: fedClosed). Called once the
   * boundary's last sweep slice has closed the buckets that ended (Engine), or after
   * advance(); cheap to call otherwise.
   *
   * `readTo`, a hub's: how far its main thread has read its members' links (HUB_READ_TO). The
   * series fed by closed records roll up no further than half an interval before it (the hub
   * reads them each half interval): the host can hold that thread (sync work, a long GC) while
   * this one closes buckets, and a member's last buckets of a minute waited unread in the
   * socket. Rolled up without them, they went into the open bucket of when they were read, and
   * the member's window before it held nothing (`rate < 10` fired with 0 on a member doing 100
   * a second, and resolved with 188.5 an interval later).
   */
  rollup(seriesCount: number, readTo = Infinity): number {
    const R = this.layout.rollupMs;
    const interval = this.layout.intervalMs;
    const windowEnd = Math.floor(this.bucketStart / R) * R;
    const lateEnd = Math.floor(Math.min(this.bucketStart - interval, readTo - interval / 2) / R) * R;
    const onTime = windowEnd > this.rolledTo;
    const late = lateEnd > this.lateRolledTo;
    if (!onTime && !late) return 0;
    let written = 0;
    for (let id = 0; id < seriesCount; id++) {
      if ((id & BEAT_MASK) === BEAT_MASK) this.beat();
      // A series never recorded has no buckets to roll up: its slot is not read (recorded.ts).
      if (!everRecorded(this.hot, this.hotI32, id)) continue;
      if (this.fedClosed[id] === 0) {
        if (onTime) written += this.rollupSeries(id, windowEnd);
      } else if (late) written += this.rollupSeries(id, lateEnd);
    }
    this.rolledTo = windowEnd;
    if (late) this.lateRolledTo = lateEnd;
    return written;
  }

  /**
   * Writes the rollup records of series `id` for its windows before `windowEnd` not written
   * yet. A window's sketch is the one merged as its records were written (minutes.ts) where
   * that stands for them all; the records it does not stand for (a writer that took over
   * within the window wrote none of them, or the sketch passed its memory bound) have their
   * runs merged from the sketch log, and those the log has overwritten are counted lost.
   */
  protected rollupSeries(id: number, windowEnd: number): number {
    const L = this.layout;
    const f = this.f64;
    const base = id * L.slotF64;
    const head = this.i32[base * 2 + T1_HEAD]!;
    if (head === 0) return 0;
    // The first window not written yet: after ROLLED_UPTO, and after the newest rollup record
    // (a writer that died between publishing a record and ROLLED_UPTO wrote it already).
    const t2Head = this.i32[base * 2 + T2_HEAD]!;
    const newest = t2Head > 0 ? f[base + L.t2OffsetF64 + ((t2Head - 1) % L.t2Cap) * BUCKET_F64 + BUCKET_START]! : 0;
    const rolled = Math.max(f[base + ROLLED_UPTO]!, newest);
    const lower = rolled > 0 ? rolled + L.rollupMs : -Infinity;
    const t1 = base + L.t1OffsetF64;
    // Newest first, back to the first bucket not yet rolled up: their indices in the bucket ring.
    const records: number[] = [];
    for (let k = head - 1; k >= 0 && k >= head - L.t1Cap; k--) {
      const start = f[t1 + (k % L.t1Cap) * BUCKET_F64 + BUCKET_START]!;
      if (start < lower) break;
      if (start < windowEnd) records.push(k);
    }
    let written = 0;
    let i = records.length - 1;
    while (i >= 0) {
      const firstK = records[i]!;
      const window = Math.floor(f[t1 + (firstK % L.t1Cap) * BUCKET_F64 + BUCKET_START]! / L.rollupMs) * L.rollupMs;
      let count = 0;
      let sum = 0;
      let min = Infinity;
      let max = -Infinity;
      let last = 0;
      for (; i >= 0; i--) {
        const rec = t1 + (records[i]! % L.t1Cap) * BUCKET_F64;
        if (!(f[rec + BUCKET_START]! < window + L.rollupMs)) break;
        count += f[rec + BUCKET_COUNT]!;
        sum += f[rec + BUCKET_SUM]!;
        min = Math.min(min, f[rec + BUCKET_MIN]!);
        max = Math.max(max, f[rec + BUCKET_MAX]!);
        last = f[rec + BUCKET_LAST]!;
      }
      // The window's records are [firstK, end) (the ring's records are in start order).
      const end = records[i + 1]! + 1;
      const from = this.minutes.coveredFrom(id, window, end);
      let pos: number;
      let wrote: number;
      if (from === firstK) {
        pos = this.rollupLog.reserve(this.minutes.encodedLength(id, window));
        wrote = this.minutes.encodeInto(id, window, this.rollupLog.data, pos % this.rollupLog.size);
      } else {
        const own = from > firstK;
        this.acc.reset();
        for (let k = firstK; k < (own ? from : end); k++) {
          const rec = t1 + (k % L.t1Cap) * BUCKET_F64;
          const at = f[rec + BUCKET_SKETCH_POS]!;
          if (this.log.holds(at)) this.acc.addEncoded(this.log.data, at % this.log.size);
          else if (f[rec + BUCKET_SKETCH_LEN]! > 0) this.counters.sketchesLost++;
        }
        if (own) this.minutes.addTo(id, window, this.acc);
        pos = this.rollupLog.reserve(this.acc.encodedLengthBound());
        wrote = this.acc.encodeInto(this.rollupLog.data, pos % this.rollupLog.size);
      }
      const t2 = this.i32[base * 2 + T2_HEAD]!;
      this.writeRecord(base + L.t2OffsetF64 + (t2 % L.t2Cap) * BUCKET_F64, window, count, sum, min, max, last, pos, wrote);
      Atomics.store(this.i32, base * 2 + T2_HEAD, t2 + 1);
      f[base + ROLLED_UPTO] = window;
      this.seriesRolled[id] = window;
      this.touchedPages.records(id, 2, t2 + 1);
      written++;
    }
    this.minutes.releaseBefore(id, windowEnd);
    return written;
  }
}
