/**
 * Buckets recorded elsewhere, applied whole: a hub's members' closed buckets (Engine.
 * applyBuckets). applyBucket() adds one into a series' open bucket, writeClosed() writes one
 * as a closed record of its series where that keeps the store's order (takesClosed), and a
 * hub batch's rows (beginBatch, applyRow) do both, exactly once: a member's bucket into its
 * member series (a closed record, or its open bucket) and into the cluster-wide series' bucket
 * at its start plus an interval (clusterStart). Each such bucket's last value goes in as one raw sample (rawSlot), so `last` readers
 * and rules see it.
 *
 * Invariants. A hub batch's row is announced in the meta cells (HUB_ROW_*: its numbers, and
 * its sketch run copied into the log first, where the member's record points) and carried
 * step by step (HUB_ROW_STEP), each step committed in one run of straight-line stores with
 * the row's next step, and each bin added to an open sketch stores its progress
 * (HUB_ROW_BINS) beside the bin: recover() and beginBatch() finish a row in flight
 * (resumeRow). A closed record is published (T1_HEAD) before the closed totals take it, as a
 * close publishes (readers rely on that order: StoreReader.closedTotals). The batch table
 * (batch-table.ts) says which rows of a batch are in, so a resent batch skips them.
 */
import { PAGE_BINS, PAGE_BITS as SKETCH_PAGE_BITS } from '../sketch.js';
import {
  BUCKET_F64,
  BUCKET_START,
  CLOSED_COUNT,
  CLOSED_COUNT_AT,
  CLOSED_LAST,
  CLOSED_SUM,
  FIRST_TS,
  HOT_F64,
  HUB_ROW_AT,
  HUB_ROW_BINS,
  HUB_ROW_CLUSTER,
  HUB_ROW_COUNT,
  HUB_ROW_ENTRY,
  HUB_ROW_INDEX,
  HUB_ROW_LAST,
  HUB_ROW_MAX,
  HUB_ROW_MEMBER,
  HUB_ROW_MIN,
  HUB_ROW_RUN,
  HUB_ROW_START,
  HUB_ROW_STEP,
  HUB_ROW_SUM,
  OPEN_COUNT,
  OPEN_LAST,
  OPEN_MAX,
  OPEN_MIN,
  OPEN_START,
  OPEN_SUM,
  PEND_COUNT,
  RAW_AHEAD,
  RAW_BINNED,
  RAW_WRITTEN,
  ROLLED_UPTO,
  T1_HEAD,
  T2_HEAD,
  TOTALS_SEQ,
} from './layout.js';
import { Rollups } from './rollups.js';
import { BLOCK_BITS as STATE_BLOCK_BITS, MAX_SKETCHED as STATE_MAX_SKETCHED } from './writer-state.js';

// The sketch's and the writer's constants as this module's own (V8 folds a module's const into
// the code, where it loads an imported binding from its cell: pages.ts).
const PAGE_BITS = SKETCH_PAGE_BITS;
const PAGE_MASK = PAGE_BINS - 1;
const BLOCK_BITS = STATE_BLOCK_BITS;
const MAX_SKETCHED = STATE_MAX_SKETCHED;
// HUB_ROW_STEP: the step a hub batch's row in flight is at (applyRow), and PLAIN for an apply that is no row.
export const ROW_NONE = 0;
const ROW_MEMBER = 1;
const ROW_MEMBER_OPEN = 2;
const ROW_CLUSTER = 3;
const PLAIN = -1;

export class BucketRows extends Rollups {
  /**
   * Adds a whole bucket recorded elsewhere (a hub member's closed bucket) into the open bucket
   * of series `id`: its count, sum, min, max and last, and its sketch, the run at `run[pos]`
   * (engine/sketch.ts), bin by bin, so that the store's merge stays exact. Its last value goes
   * in as one raw sample at `now`, so `last` readers and rules see it. Crash-safe only as a
   * hub batch's row (applyRow): alone, a writer killed inside it may leave part of the bucket applied.
   */
  applyBucket(id: number, now: number, count: number, sum: number, min: number, max: number, last: number, run: Int32Array, pos: number): void {
    if (count > 0) this.intoOpen(id, now, count, sum, min, max, last, run, pos, -1, 0, PLAIN);
  }

  /**
   * Writes a whole bucket recorded elsewhere (a hub member's closed bucket, into that member's
   * own series) as a closed record of series `id` that starts at `start`: its stats, and its
   * sketch run copied into the log as it is (engine/sketch.ts), with no open sketch pages and
   * no close. Only where such a record keeps the store's order (takesClosed); false otherwise,
   * and nothing written (the caller adds the bucket to the open one, applyBucket). Its last
   * value goes in as one raw sample at `now`, as applyBucket's does.
   */
  writeClosed(id: number, start: number, now: number, count: number, sum: number, min: number, max: number, last: number, run: Int32Array, pos: number): boolean {
    if (!(count > 0)) return true;
    if (!this.takesClosed(id, start)) return false;
    this.commitClosed(id, start, now, count, sum, min, max, last, this.logRun(run, pos), PLAIN);
    return true;
  }

  /**
   * Begins batch `seq` of the hub member epoch `key` (a positive number the hub gives each
   * member epoch), or resumes it: returns its rows already applied, which the caller skips.
   * A row a dead writer left half applied was finished by recover() (or is finished here).
   */
  beginBatch(key: number, seq: number): number {
    if (this.meta[HUB_ROW_STEP] !== ROW_NONE) this.resumeRow();
    const done = this.batches.begin(key, seq);
    this.batchEntry = this.batches.entry;
    return done;
  }

  /**
   * Applies row `row` of the batch begun last (beginBatch): a member's closed bucket into its
   * member series (a closed record at `start`, or its open bucket where a record would break
   * the store's order) and into the cluster-wide series' bucket at its start plus an interval
   * (clusterStart). Exactly once, whatever
   * point a writer is killed at: the row is announced in the meta cells (its numbers, and its
   * sketch run copied into the log, where the member's record points), each of its two series
   * takes it in one run of straight-line stores that also moves the row's step (and, for the
   * cluster-wide one, the batch's rows applied, in the batch table), and the bins it adds to an
   * open sketch each store their progress beside the bin. recover() finishes a row in flight.
   */
  applyRow(row: number, member: number, cluster: number, start: number, now: number, count: number, sum: number, min: number, max: number, last: number, run: Int32Array, pos: number): void {
    const meta = this.meta;
    const m = this.metaF64;
    if (!(count > 0)) {
      m[this.batches.doneCell(this.batchEntry)] = row + 1;
      return;
    }
    const at = this.logRun(run, pos);
    meta[HUB_ROW_MEMBER] = member;
    meta[HUB_ROW_CLUSTER] = cluster;
    meta[HUB_ROW_INDEX] = row;
    meta[HUB_ROW_ENTRY] = this.batchEntry;
    meta[HUB_ROW_BINS] = 0;
    m[HUB_ROW_RUN] = at;
    m[HUB_ROW_START] = start;
    m[HUB_ROW_AT] = now;
    m[HUB_ROW_COUNT] = count;
    m[HUB_ROW_SUM] = sum;
    m[HUB_ROW_MIN] = min;
    m[HUB_ROW_MAX] = max;
    m[HUB_ROW_LAST] = last;
    meta[HUB_ROW_STEP] = ROW_MEMBER;
    this.finishRow(member, cluster, start, now, count, sum, min, max, last, at);
  }

  /** Finishes the row announced in the meta cells (applyRow) that a dead writer left at its step. */
  protected resumeRow(): void {
    const meta = this.meta;
    const m = this.metaF64;
    this.finishRow(meta[HUB_ROW_MEMBER]!, meta[HUB_ROW_CLUSTER]!, m[HUB_ROW_START]!, m[HUB_ROW_AT]!, m[HUB_ROW_COUNT]!, m[HUB_ROW_SUM]!, m[HUB_ROW_MIN]!, m[HUB_ROW_MAX]!, m[HUB_ROW_LAST]!, m[HUB_ROW_RUN]!);
  }

  /** Carries the row announced in the meta cells (applyRow), whose numbers these are (applyRow's own, or read back from the cells: resumeRow), from its step to its end. */
  protected finishRow(member: number, cluster: number, start: number, now: number, count: number, sum: number, min: number, max: number, last: number, at: number): void {
    const meta = this.meta;
    // A run the log has overwritten since (a log too small for one batch's runs) adds no bins.
    const run = this.log.data;
    const pos = this.log.holds(at) ? at % this.log.size : -1;
    if (meta[HUB_ROW_STEP] === ROW_MEMBER) {
      if (pos >= 0 && this.takesClosed(member, start)) this.commitClosed(member, start, now, count, sum, min, max, last, at, ROW_CLUSTER);
      else meta[HUB_ROW_STEP] = ROW_MEMBER_OPEN;
    }
    const held = pos >= 0 ? at : -1;
    if (meta[HUB_ROW_STEP] === ROW_MEMBER_OPEN) this.intoOpen(member, now, count, sum, min, max, last, run, pos, held, meta[HUB_ROW_BINS]!, ROW_CLUSTER);
    if (meta[HUB_ROW_STEP] === ROW_CLUSTER) {
      const from = meta[HUB_ROW_BINS]!;
      // A row resumed with bins in goes on in the bucket that holds them.
      const at = from === 0 ? this.clusterStart(cluster, start + this.layout.intervalMs) : this.hot[cluster * HOT_F64 + OPEN_START]!;
      this.intoOpen(cluster, now, count, sum, min, max, last, run, pos, held, from, ROW_NONE, at);
    }
  }

  /**
   * Where the cluster-wide series `id` takes a member's bucket that started an interval before
   * `target`: at `target`, the interval after the one the member recorded it in (as a punctual
   * member's arrives), also when it comes late (a starved or stopped member: its bucket landed
   * in the interval it arrived in, a dip and a spike no member recorded), where that keeps the
   * store's order: after the series' newest record, in a minute not rolled up, and within the
   * minute of now. Else in its open bucket, the one of now or a later one still held open for
   * a late member (StoreWriter.heldOpen). The bucket the row goes in is held from then on. A
   * batch that does not say which members it awaits (no `awaited`: hand-made, or from before
   * 2026-12-07) goes into the open bucket of now, as all did before.
   */
  protected clusterStart(id: number, target: number): number {
    const hot = this.hot;
    const hb = id * HOT_F64;
    const now = this.bucketStart;
    if (this.clusterAwaited === Infinity) return now;
    this.clusterFed[id] = 1;
    const open = hot[hb + OPEN_START]!;
    if (hot[hb + OPEN_COUNT]! > 0 && open >= target) return open;
    if (!(target < now)) return now;
    const R = this.layout.rollupMs;
    if (Math.floor(target / R) !== Math.floor(now / R)) return now;
    if (!(target > this.newestRecord(id)) || !(target >= this.rolledEnd(id))) return now;
    return target;
  }

  /** The start of the newest record of series `id` (-Infinity: none), as this writer wrote or first read it. */
  protected newestRecord(id: number): number {
    let newest = this.newestStart[id]!;
    if (newest !== newest) {
      const L = this.layout;
      const base = id * L.slotF64;
      const head = this.i32[base * 2 + T1_HEAD]!;
      newest = head > 0 ? this.f64[base + L.t1OffsetF64 + ((head - 1) % L.t1Cap) * BUCKET_F64 + BUCKET_START]! : -Infinity;
      this.newestStart[id] = newest;
    }
    return newest;
  }

  /** The end of the newest rollup window written of series `id` (0: none), as this writer wrote or first read it. */
  protected rolledEnd(id: number): number {
    const L = this.layout;
    let rolled = this.seriesRolled[id]!;
    if (rolled !== rolled) {
      const base = id * L.slotF64;
      const t2 = this.i32[base * 2 + T2_HEAD]!;
      rolled = Math.max(this.f64[base + ROLLED_UPTO]!, t2 > 0 ? this.f64[base + L.t2OffsetF64 + ((t2 - 1) % L.t2Cap) * BUCKET_F64 + BUCKET_START]! : 0);
      this.seriesRolled[id] = rolled;
    }
    return rolled > 0 ? rolled + L.rollupMs : 0;
  }

  /**
   * Adds a bucket into the open bucket of `id` from bin `from` of its run on (a row resumed
   * after a kill: the bins before are in), and commits it in straight-line stores: the open
   * cells, its last value as a raw sample, and for a hub row (`next`, not PLAIN) the row's next
   * step and, at its end (ROW_NONE), the batch's rows applied. `pos` -1: no sketch run. A hub
   * row's run in the log (at absolute position `logAt`, -1 otherwise) goes in as a pending run
   * where the open bucket takes one (pending-runs.ts), its bins untouched until the close.
   */
  protected intoOpen(id: number, now: number, count: number, sum: number, min: number, max: number, last: number, run: Int32Array, pos: number, logAt: number, from: number, next: number, at = this.bucketStart): void {
    const hot = this.hot;
    const hb = id * HOT_F64;
    const base = id * this.layout.slotF64;
    // A row resumed with bins in goes on in the bucket that holds them, ended or not. `at`: the
    // open bucket of now, or the cluster-wide bucket a member's goes in (clusterStart).
    if (from === 0 && hot[hb + OPEN_START]! < at && hot[hb + OPEN_COUNT]! > 0) this.close(id, base);
    if (hot[hb + OPEN_COUNT] === 0) this.open(id, now, at);
    // Its last value is no sample of this sketch: the samples before it are binned, and it is not.
    this.binTail(id);
    const bins = pos >= 0 ? run[pos]! : 0;
    const meta = this.meta;
    let pend = -1;
    // The cluster-wide series' step of a row (ROW_NONE next), started afresh: a member series'
    // open bucket (a rare row) and a row resumed with bins in take the bins.
    if (this.pendingRuns && next === ROW_NONE && from === 0 && logAt >= 0 && bins > 0 && hot[hb + OPEN_COUNT]! + count <= MAX_SKETCHED) pend = this.pendRun(base, logAt, 1 + 2 * bins);
    if (pend < 0 && hot[hb + OPEN_COUNT]! + count <= MAX_SKETCHED) {
      const pages = this.pages;
      const front = this.front;
      const pageCache = this.pageCache;
      const c = id << 2;
      for (let i = from; i < bins; i++) {
        const key = run[pos + 1 + 2 * i]!;
        const pageKey = key >>> PAGE_BITS;
        const pageBase = pageCache[c] === pageKey ? pageCache[c + 1]! : pageCache[c + 2] === pageKey ? pageCache[c + 3]! : this.page(id, base, pageKey);
        if (pageBase >= 0) {
          // Into the front bin while it holds the sum (a bucket's bins are mostly small): its
          // line covers 64 bins where the back's covers 16 (layout.ts).
          const bin = pageBase + (key & PAGE_MASK);
          const sum = front[bin]! + (run[pos + 2 + 2 * i]! >>> 0);
          const block = 1 << ((key & PAGE_MASK) >>> BLOCK_BITS);
          if (sum <= 255) front[bin] = sum;
          else {
            pages[bin]! += sum;
            front[bin] = 0;
            this.backs[pageBase >>> PAGE_BITS]! |= block;
          }
          this.blocks[pageBase >>> PAGE_BITS]! |= block;
        }
        // With the bin, between the same two back-edges: a successor goes on from the next.
        meta[HUB_ROW_BINS] = i + 1;
      }
    }
    const written = this.rawSlot(id, base, now, last);
    const row = meta[HUB_ROW_INDEX]!;
    const done = this.batches.doneCell(meta[HUB_ROW_ENTRY]!);
    // The commit: straight-line stores, all or none of them.
    const hi = hb * 2;
    this.hotI32[hi + RAW_WRITTEN] = (written + 1) | 0;
    this.hotI32[hi + RAW_BINNED] = (written + 1) | 0;
    hot[hb + OPEN_COUNT]! += count;
    hot[hb + OPEN_SUM]! += sum;
    if (min < hot[hb + OPEN_MIN]!) hot[hb + OPEN_MIN] = min;
    if (max > hot[hb + OPEN_MAX]!) hot[hb + OPEN_MAX] = max;
    hot[hb + OPEN_LAST] = last;
    if (pend >= 0) {
      this.pendHeld[id] = 1;
      this.i32[base * 2 + PEND_COUNT] = pend + 1;
    }
    if (next !== PLAIN) {
      meta[HUB_ROW_BINS] = 0;
      if (next === ROW_NONE) this.metaF64[done] = row + 1;
      meta[HUB_ROW_STEP] = next;
    }
    if (pend >= 0) this.pendInts += 1 + 2 * bins;
    this.touch(id);
  }

  /**
   * Whether series `id` takes a bucket that started at `start` as a closed record: `start`
   * before the open bucket, after the series' newest record and in a rollup window not written
   * yet, and the series holding no open data (an open bucket that ended is closed first).
   */
  protected takesClosed(id: number, start: number): boolean {
    const L = this.layout;
    const f = this.f64;
    const hot = this.hot;
    const hb = id * HOT_F64;
    const base = id * L.slotF64;
    if (hot[hb + OPEN_START]! < this.bucketStart && hot[hb + OPEN_COUNT]! > 0) this.close(id, base);
    if (hot[hb + OPEN_COUNT] !== 0 || !(start < this.bucketStart)) return false;
    if (!(start > this.newestRecord(id))) return false;
    // A rollup window is written once: a record in one already written would never be rolled up.
    return start >= this.rolledEnd(id);
  }

  /** Copies the sketch run at `run[pos]` into the log; returns its absolute position there. */
  protected logRun(run: Int32Array, pos: number): number {
    const len = 1 + 2 * run[pos]!;
    this.minutes.keepReach(len, this.logReach());
    this.keepPending(len);
    const at = this.log.reserve(len);
    // A record never straddles the log's end (LogCursor.reserve).
    const data = this.log.data;
    const to = at % this.log.size;
    for (let k = 0; k < len; k++) data[to + k] = run[pos + k]!;
    return at;
  }

  /**
   * Publishes a closed record of `id` whose run is in the log at `at`, with its totals and its
   * last value as a raw sample, in one run of straight-line stores (with a hub row's next step,
   * `next`; PLAIN: no row): the record before the closed totals take it, as a close publishes
   * (readers rely on that order: StoreReader.closedTotals).
   */
  protected commitClosed(id: number, start: number, now: number, count: number, sum: number, min: number, max: number, last: number, at: number, next: number): void {
    const L = this.layout;
    const f = this.f64;
    const base = id * L.slotF64;
    let head = this.t1Heads[id]!;
    if (head < 0) head = this.i32[base * 2 + T1_HEAD]!;
    this.writeRecord(base + L.t1OffsetF64 + (head % L.t1Cap) * BUCKET_F64, start, count, sum, min, max, last, at, 1 + 2 * this.log.data[at % this.log.size]!);
    const written = this.rawSlot(id, base, now, last);
    const meta = this.meta;
    // The commit: straight-line stores, all or none of them (the record first, as a close publishes).
    Atomics.store(this.i32, base * 2 + T1_HEAD, head + 1);
    this.t1Heads[id] = head + 1;
    // Odd while the totals move (closes.ts, resetOpen): a reader met them half moved.
    const seq = this.i32[base * 2 + TOTALS_SEQ]!;
    this.i32[base * 2 + TOTALS_SEQ] = (seq + 1) | 1;
    f[base + CLOSED_COUNT]! += count;
    f[base + CLOSED_SUM]! += sum;
    f[base + CLOSED_LAST] = last;
    // The open bucket is empty here (takesClosed), but a close leaves its sum until the next
    // open: readers count that sum once CLOSED_COUNT_AT no longer names its start, which this
    // record's start moves it off, and a member series' total (a counter's) had the bucket it
    // closed before twice, until it opened again.
    this.hot[id * HOT_F64 + OPEN_SUM] = 0;
    f[base + CLOSED_COUNT_AT] = start;
    this.i32[base * 2 + TOTALS_SEQ] = ((seq + 1) | 1) + 1;
    if (f[base + FIRST_TS] === 0) f[base + FIRST_TS] = start;
    const hi = id * HOT_F64 * 2;
    this.hotI32[hi + RAW_WRITTEN] = (written + 1) | 0;
    this.hotI32[hi + RAW_BINNED] = (written + 1) | 0;
    if (next !== PLAIN) {
      meta[HUB_ROW_BINS] = 0;
      meta[HUB_ROW_STEP] = next;
    }
    this.fedClosed[id] = 1;
    this.newestStart[id] = start;
    this.touch(id);
    // After the commit: a call inside its straight-line stores is a point a kill can land at (a
    // record counted twice in the windows of a series whose writer was killed there).
    this.touchedPages.records(id, 1, head + 1);
    this.minutes.add(id, head, start, at, true);
  }

  /**
   * Writes a bucket's last value into the raw slot past RAW_WRITTEN, at `now` (RAW_AHEAD first
   * says readers must distrust it); returns RAW_WRITTEN, which the caller's commit moves past
   * it, counted as binned (it is no sample of the bucket's sketch), so `last` readers and rules see it.
   */
  protected rawSlot(id: number, base: number, now: number, last: number): number {
    const hi = id * HOT_F64 * 2;
    const written = this.hotI32[hi + RAW_WRITTEN]!;
    const slot = base + this.layout.rawOffsetF64 + 2 * (written & (this.layout.rawCap - 1));
    if (((written + 1 - this.hotI32[hi + RAW_AHEAD]!) | 0) > 0) this.hotI32[hi + RAW_AHEAD] = (written + 1) | 0;
    this.f64[slot] = now;
    this.f64[slot + 1] = last;
    return written;
  }
}
