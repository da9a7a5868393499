/**
 * The store's single writer. It lives in the collector actor; it is a plain class, driven by
 * a clock passed in, so tests can run it on synthetic time.
 *
 * Crash safety: all state that a successor needs is in shared memory, and each step is
 * ordered so that a writer terminated between any two JavaScript statements (V8 stops a
 * worker only at function entries and loop back-edges) leaves state that recover() can
 * finish: a series' part of a chunk is committed in straight-line stores, and a chunk left
 * in flight is finished from the ring's header (drain); a bucket is closed by publishing its
 * record before resetting the open bucket, and recover() recognises a bucket that was
 * published but not reset; a hub batch's row is announced in the meta cells and carried step
 * by step, each step committed with the row's next step, and recover() finishes it (applyRow).
 * Pages are popped from the free list before a directory points at them, and directories are
 * replaced by writing the idle copy and flipping DIR_SELECT, so a crash leaks at worst a page,
 * never shares one. The minute sketches (minutes.ts) are the writer's own, merged after a
 * record is published: a successor starts with none, and a rollup takes one only for the
 * records it was merged from, so exactly-once stays with the rollup record's publication.
 *
 * One class over several files, one concept each (writer-state.ts says how they chain): its
 * state and construction (writer-state.ts), the open sketches' pages (pages.ts), opening and
 * closing buckets (closes.ts), rollups (rollups.ts), buckets applied whole from a hub's
 * members (bucket-rows.ts), the sample path (samples.ts), and here the takeover (recover),
 * the bucket boundary (advance, begin, sweep) and the small glue (publish, figures).
 */
import { ROW_NONE } from './bucket-rows.js';
import { BUCKET_F64, BUCKET_START, CLOSED_COUNT, CLOSED_COUNT_AT, HOT_F64, HUB_ROW_STEP, OPEN_COUNT, OPEN_START, PEND_BASE, PEND_COUNT, POOL_FREE_COUNT, RAW_HEAD, RAW_WRITTEN, T1_HEAD, T2_HEAD, TOTALS_SEQ } from './layout.js';
import { everRecorded } from './recorded.js';
import { SamplePath } from './samples.js';
import { BEAT_MASK } from './writer-state.js';

export class StoreWriter extends SamplePath {
  /**
   * Takes over from a previous writer (or starts fresh): publishes raw samples it wrote,
   * finishes a bucket close and a hub batch's row it left half done, and rebuilds the list of
   * open series.
   * `seriesCount` is the number of registered series.
   */
  recover(now: number, seriesCount: number): void {
    const L = this.layout;
    this.bucketStart = Math.floor(now / L.intervalMs) * L.intervalMs;
    // Every series is checked for windows a previous writer did not roll up.
    this.rolledTo = -Infinity;
    this.lateRolledTo = -Infinity;
    this.openCount = 0;
    this.sweepAt = this.sweepEnd = 0;
    this.pendInts = 0;
    this.pendFloor = this.pendFloorBefore = Infinity;
    for (let id = 0; id < seriesCount; id++) {
      if ((id & BEAT_MASK) === BEAT_MASK) this.beat();
      // Counted anew from what the store holds (touched-pages.ts): a predecessor's count died with it.
      this.touchedPages.grew(id);
      const base = id * L.slotF64;
      const ib = base * 2;
      const hb = id * HOT_F64;
      Atomics.store(this.hotI32, hb * 2 + RAW_HEAD, this.hotI32[hb * 2 + RAW_WRITTEN]!);
      // A writer ended between a move's two marks (closes.ts, resetOpen): readers stop waiting on it.
      const seq = this.i32[ib + TOTALS_SEQ]!;
      if ((seq & 1) !== 0) Atomics.store(this.i32, ib + TOTALS_SEQ, (seq + 1) | 0);
      this.pendHeld[id] = 0;
      if (this.hot[hb + OPEN_COUNT] === 0) continue;
      // Before the close finished below: its reset must clear PEND_COUNT too.
      if (this.i32[ib + PEND_COUNT] !== 0) this.pendHeld[id] = 1;
      const head = this.i32[ib + T1_HEAD]!;
      if (head > 0) {
        const rec = base + L.t1OffsetF64 + ((head - 1) % L.t1Cap) * BUCKET_F64;
        if (this.f64[rec + BUCKET_START] === this.hot[hb + OPEN_START]) {
          // Published but not reset: finish the close.
          this.resetOpen(id, base, this.livePages(base));
          continue;
        }
      }
      this.openIds[this.openCount++] = id;
      this.notePending(id, base);
    }
    // A hub batch's row left half applied: finished into the buckets that hold its part.
    if (this.meta[HUB_ROW_STEP] !== ROW_NONE) {
      this.resumeRow();
      this.publish();
    }
    // Buckets left open from before the crash close now; their windows roll up later.
    this.closeBefore(this.bucketStart);
  }

  /** Moves the open bucket to the one holding `now` and closes those that ended; true when it moved. */
  advance(now: number): boolean {
    if (!this.begin(now)) return false;
    this.sweep(Infinity);
    return true;
  }

  /**
   * Moves the open bucket to the one holding `now` (finishing a sweep still under way first)
   * and leaves the buckets that ended to sweep(), which closes them in slices: a collector
   * closing 10,000 series (tens of ms) drains its rings between slices, so that producers do
   * not find them full. A series that takes data before the sweep reaches it is closed then
   * (applyGroup, applyBucket). True when the bucket moved.
   */
  begin(now: number): boolean {
    const start = Math.floor(now / this.layout.intervalMs) * this.layout.intervalMs;
    if (start <= this.bucketStart) return false;
    this.sweep(Infinity);
    // Every bucket that ended before the one that ends now is closed: their pending runs too.
    this.pendFloorBefore = this.pendFloor;
    this.pendFloor = Infinity;
    this.bucketStart = start;
    this.sweepAt = 0;
    this.sweepEnd = this.openCount;
    return true;
  }

  /** True while buckets that ended wait for sweep(). */
  get sweeping(): boolean {
    return this.sweepAt < this.sweepEnd;
  }

  /**
   * Closes up to `max` of the buckets that ended before the open one; true when none is left.
   * Every series listed before sweepEnd had data in a bucket that ended: it is closed here or
   * was closed when it took data, and then opened again, which listed it after sweepEnd. So
   * once the sweep is through, the series listed after sweepEnd are the open list.
   */
  sweep(max: number): boolean {
    if (this.sweepAt >= this.sweepEnd) return true;
    const start = this.bucketStart;
    const slot = this.layout.slotF64;
    let closed = 0;
    while (this.sweepAt < this.sweepEnd && closed < max) {
      const id = this.openIds[this.sweepAt++]!;
      const hb = id * HOT_F64;
      if (this.hot[hb + OPEN_START]! < start && this.hot[hb + OPEN_COUNT]! > 0) {
        // A cluster-wide bucket a late member's is still due in stays open, listed again.
        if (this.heldOpen(id)) {
          this.openIds[this.openCount++] = id;
          // Its pending runs stay in the log past the next boundary too (pending-runs.ts).
          if (this.pendHeld[id] !== 0 && this.f64[id * slot + PEND_BASE]! < this.pendFloor) this.pendFloor = this.f64[id * slot + PEND_BASE]!;
          continue;
        }
        if ((++closed & BEAT_MASK) === 0) this.beat();
        this.close(id, id * slot);
      }
    }
    if (this.sweepAt < this.sweepEnd) return false;
    this.openIds.copyWithin(0, this.sweepEnd, this.openCount);
    this.openCount -= this.sweepEnd;
    this.sweepAt = this.sweepEnd = 0;
    return true;
  }

  /**
   * What a hub's batch says of its members (AppliedBuckets): the lowest closedTo of those it
   * waits for (Infinity: none), and how long past its end a cluster-wide bucket is held for them.
   */
  holdCluster(awaited: number, holdMs: number): void {
    this.clusterAwaited = awaited === awaited ? awaited : Infinity;
    this.clusterHoldMs = holdMs > 0 ? holdMs : 0;
  }

  /** i32 of the sketch log written so far (closed buckets' runs), and the log's size: how far back it reaches. */
  sketchLogWritten(): number {
    return this.log.pos;
  }

  get sketchLogSize(): number {
    return this.log.size;
  }

  /** Bytes the minute sketches hold (minutes.ts): writer-local memory, beside the store's buffers. */
  minuteSketchBytes(): number {
    return this.minutes.bytes();
  }

  /** Publishes the raw samples written since the last call. Returns the series touched. */
  publish(): number {
    const n = this.touchedCount;
    for (let i = 0; i < n; i++) {
      const hb = this.touched[i]! * HOT_F64;
      Atomics.store(this.hotI32, hb * 2 + RAW_HEAD, this.hotI32[hb * 2 + RAW_WRITTEN]!);
    }
    this.touchedCount = 0;
    this.pass = (this.pass + 1) | 0 || 1;
    return n;
  }

  /**
   * The series slots' pages written so far (touched-pages.ts), with the series written since
   * the last call added: called between writes, before the epochs tell readers of them.
   */
  slotPagesWritten(): number {
    return this.touchedPages.settle(this.reach);
  }

  /** A series' samples ever (0 without data), its bucket and rollup records ever, as usage.ts reads them. */
  private readonly reach = (id: number, out: Float64Array): void => {
    const hb = id * HOT_F64;
    const base = id * this.layout.slotF64;
    out[0] = everRecorded(this.hot, this.hotI32, id) ? this.f64[base + CLOSED_COUNT]! + (this.f64[base + CLOSED_COUNT_AT] === this.hot[hb + OPEN_START] ? 0 : this.hot[hb + OPEN_COUNT]!) : 0;
    out[1] = this.i32[base * 2 + T1_HEAD]!;
    out[2] = this.i32[base * 2 + T2_HEAD]!;
  };

  /** Series with data in the open bucket. */
  openSeries(): number {
    return this.openCount;
  }

  freePages(): number {
    return this.meta[POOL_FREE_COUNT]!;
  }
}
