/**
 * Opening and closing a series' buckets: open() starts its open bucket (in the hot line), and
 * close() writes the bucket's record (its sketch's run into the log, then the record into the
 * bucket ring, published by T1_HEAD) and resets the open bucket (resetOpen), which moves its
 * totals to the closed ones and empties or frees its pages. closeBefore() closes every open
 * bucket that ended (after a takeover); writer.ts's sweep() closes them in slices.
 *
 * Invariants. A bucket is closed by publishing its record before resetting the open bucket,
 * and recover() recognises a bucket that was published but not reset (its newest record
 * starts where the open bucket does) and finishes it with resetOpen, which is idempotent. A
 * bucket whose samples all still wait in the raw ring is encoded from its raw slots
 * (countRaw, emitRaw), one that holds pending runs (pending-runs.ts) from those merged with
 * its pages, else from its pages (encodePages); each writes the run's keys with their counts,
 * so a killed close done again from the same slots, runs or pages writes the same.
 * The record is merged into the series' minute sketch (minutes.ts) after it is published.
 */
import { PAGE_BINS, keyAt as sketchKeyAt, PAGE_BITS as SKETCH_PAGE_BITS } from '../sketch.js';
import { BUCKET_F64, CLOSED_COUNT, CLOSED_COUNT_AT, CLOSED_LAST, CLOSED_SUM, FIRST_TS, HOT_F64, OPEN_COUNT, OPEN_LAST, OPEN_MAX, OPEN_MIN, OPEN_START, OPEN_SUM, PEND_COUNT, RAW_BINNED, RAW_WRITTEN, T1_HEAD, TOTALS_SEQ } from './layout.js';
import { PendingRuns } from './pending-runs.js';
import { BEAT_MASK, BLOCK as STATE_BLOCK, BLOCK_BITS as STATE_BLOCK_BITS, HI_WORD as STATE_HI_WORD } from './writer-state.js';

// The sketch's key function and constants and the writer's as this module's own (V8 folds a module's const into
// the code, where it loads an imported binding from its cell: pages.ts).
const keyAt = sketchKeyAt;
const PAGE_BITS = SKETCH_PAGE_BITS;
const BLOCK_BITS = STATE_BLOCK_BITS;
const BLOCK = STATE_BLOCK;
const HI_WORD = STATE_HI_WORD;
/** From a value's high word to its low word. */
const LO_WORD = 1 - 2 * HI_WORD;
/** The directory of a series without pages (resetOpen). */
const NO_PAGES = new Int32Array(0);

export class BucketCloses extends PendingRuns {
  /** Opens the bucket of `id` at `start` (the open one's, or a hub's cluster-wide bucket's at its member's start plus an interval: bucket-rows.ts). */
  protected open(id: number, now: number, start = this.bucketStart): void {
    const base = id * this.layout.slotF64;
    const hb = id * HOT_F64;
    if (this.f64[base + FIRST_TS] === 0) this.f64[base + FIRST_TS] = now;
    // Within the sequence as a move is (resetOpen): the new start with the closed bucket's sum
    // still in OPEN_SUM read as an open bucket holding it (a counter's total counted it twice).
    const seq = this.i32[base * 2 + TOTALS_SEQ]!;
    this.i32[base * 2 + TOTALS_SEQ] = (seq + 1) | 1;
    this.hot[hb + OPEN_SUM] = 0;
    this.hot[hb + OPEN_MIN] = Infinity;
    this.hot[hb + OPEN_MAX] = -Infinity;
    this.hot[hb + OPEN_START] = start;
    this.i32[base * 2 + TOTALS_SEQ] = ((seq + 1) | 1) + 1;
    this.openIds[this.openCount++] = id;
  }

  /**
   * Whether the ended open bucket of `id` is a hub's cluster-wide bucket still awaited: a live
   * member has not sent its bucket for it (its start after clusterAwaited), within the hold
   * (clusterHoldMs past its end) and its minute (the minute's rollup would miss it).
   */
  protected heldOpen(id: number): boolean {
    if (this.clusterFed[id] === 0) return false;
    const start = this.hot[id * HOT_F64 + OPEN_START]!;
    const R = this.layout.rollupMs;
    return start > this.clusterAwaited && this.bucketStart - start <= this.clusterHoldMs && Math.floor(start / R) === Math.floor(this.bucketStart / R);
  }

  protected closeBefore(start: number): void {
    let kept = 0;
    const L = this.layout;
    for (let i = 0; i < this.openCount; i++) {
      if ((i & BEAT_MASK) === BEAT_MASK) this.beat();
      const id = this.openIds[i]!;
      const hb = id * HOT_F64;
      if (this.hot[hb + OPEN_START]! < start && this.hot[hb + OPEN_COUNT]! > 0) this.close(id, id * L.slotF64);
      else if (this.hot[hb + OPEN_COUNT]! > 0) this.openIds[kept++] = id;
    }
    this.openCount = kept;
  }

  /**
   * Closes the open bucket of `id`: its record (the sketch's run into the log, then the
   * record, published by T1_HEAD) and the reset of the open bucket. A bucket whose samples
   * all still wait in the raw ring (RAW_BINNED: none in its pages, which are then empty) is
   * encoded from the raw slots and its pages are freed untouched; at 10,000 series, 100
   * samples a second each, binning them into the pool's cold page lines at the close, then
   * reading and zeroing those lines, was half of the collector's time (docs/benchmarks.md,
   * issue 16's eighth pass). A killed close is done again from the same raw slots (recover).
   */
  protected close(id: number, base: number): void {
    const L = this.layout;
    const hot = this.hot;
    const hb = id * HOT_F64;
    const pending = this.pendHeld[id] === 0 ? 0 : this.i32[base * 2 + PEND_COUNT]!;
    // Room for the longest run this close can write: its pages, its raw slots and its pending runs.
    const used = this.pagesUsed(base);
    const longest = 1 + 2 * (used * PAGE_BINS + L.rawCap) + (pending > 0 ? this.pendInts : 0);
    this.minutes.keepReach(longest, this.logReach());
    if (this.pendInts > 0) this.keepPending(longest);
    const written = this.hotI32[hb * 2 + RAW_WRITTEN]!;
    const binned = this.hotI32[hb * 2 + RAW_BINNED]!;
    const waiting = (written - binned) | 0;
    let pos: number;
    let at: number;
    let freeIdle: boolean;
    if (pending > 0) {
      // Its pages (where samples or runs that found no room went) and its pending runs, merged by key.
      this.binTail(id);
      let d = 0;
      freeIdle = false;
      if (used > 0) {
        this.encodePages(base);
        d = this.mergeRun(this.scratch, 0, 0);
        freeIdle = this.idlePages > 0;
      }
      d = this.mergePending(base, d);
      at = 1 + 2 * d;
      pos = this.log.reserve(at);
      this.emitMerged(d, pos % this.log.size);
    } else if (waiting === hot[hb + OPEN_COUNT] && waiting <= L.rawCap) {
      // Counted first, so that the run goes straight into the log at its length.
      const keys = this.countRaw(base, binned, written);
      at = 1 + 2 * keys;
      pos = this.log.reserve(at);
      this.emitRaw(keys, pos % this.log.size);
      freeIdle = true;
    } else {
      this.binTail(id);
      at = this.encodePages(base);
      pos = this.log.reserve(at);
      const data = this.log.data;
      const to = pos % this.log.size;
      const out = this.scratch;
      for (let k = 0; k < at; k++) data[to + k] = out[k]!;
      freeIdle = this.idlePages > 0;
    }
    const head = this.i32[base * 2 + T1_HEAD]!;
    this.writeRecord(base + L.t1OffsetF64 + (head % L.t1Cap) * BUCKET_F64, hot[hb + OPEN_START]!, hot[hb + OPEN_COUNT]!, hot[hb + OPEN_SUM]!, hot[hb + OPEN_MIN]!, hot[hb + OPEN_MAX]!, hot[hb + OPEN_LAST]!, pos, at);
    Atomics.store(this.i32, base * 2 + T1_HEAD, head + 1);
    this.t1Heads[id] = head + 1;
    // A close with pending runs is a hub's cluster-wide bucket: its ~20 bins spread as a member's.
    this.minutes.add(id, head, hot[hb + OPEN_START]!, pos, pending > 0);
    this.newestStart[id] = hot[hb + OPEN_START]!;
    this.resetOpen(id, base, used > 0 ? this.livePages(base) : NO_PAGES, freeIdle);
    // Once the close is done: no call of ours between its record and its totals' move.
    this.touchedPages.records(id, 1, head + 1);
  }

  /** Counts the sketch keys of raw slots [from, to) of the series at `base` in rawBins, each key met listed in rawKeys; returns the keys met. */
  protected countRaw(base: number, from: number, to: number): number {
    const i32 = this.i32;
    const bins = this.rawBins;
    const keys = this.rawKeys;
    const keyWord = 2 * (base + this.layout.rawOffsetF64 + 1) + HI_WORD;
    const rawMask = this.layout.rawCap - 1;
    let d = 0;
    for (let k = from; k !== to; k = (k + 1) | 0) {
      const key = keyAt(i32, keyWord + 4 * (k & rawMask), keyWord + LO_WORD + 4 * (k & rawMask));
      const c = bins[key]!;
      if (c === 0) keys[d++] = key;
      bins[key] = c + 1;
    }
    return d;
  }

  /**
   * Writes the run of the `d` keys countRaw() listed into the log at `to`, leaving rawBins
   * zero again. Keys come in the order first met: a run's readers take its keys in any order
   * (engine/sketch.ts).
   */
  protected emitRaw(d: number, to: number): void {
    this.emitKeys(this.rawKeys, d, to);
  }

  /** Encodes into scratch the open sketch in the pages of the series at `base`, page by page; returns the run's length, and counts its idle pages in idlePages. */
  protected encodePages(base: number): number {
    const dir = this.livePages(base);
    const out = this.scratch;
    const pages = this.pages;
    const front = this.front;
    let at = 1;
    let n = 0;
    let idle = 0;
    for (let e = 0; e < dir.length; e += 2) {
      const keyBase = dir[e]! << PAGE_BITS;
      const pageId = dir[e + 1]!;
      const pageBase = pageId * PAGE_BINS;
      const front32 = this.front32;
      const backs = this.backs[pageId]!;
      let any = false;
      // Blocks lowest first: the run's keys stay ascending. A sketch has few bins in a block:
      // four are tested at once (one word of front bins), most quads are empty.
      for (let m = this.blocks[pageId]!; m !== 0; m &= m - 1) {
        const block = 31 - Math.clz32(m & -m);
        const from = pageBase + (block << BLOCK_BITS);
        const back = (backs >>> block) & 1;
        for (let q = from; q < from + BLOCK; q += 4) {
          if (back === 0 ? front32[q >>> 2] === 0 : (pages[q]! | pages[q + 1]! | pages[q + 2]! | pages[q + 3]! | front32[q >>> 2]!) === 0) continue;
          for (let k = q; k < q + 4; k++) {
            let c = back === 0 ? front[k]! : pages[k]! + front[k]!;
            if (c === 0) continue;
            any = true;
            const key = keyBase | (k - pageBase);
            while (c > 0) {
              const part = Math.min(c, 0xffffffff);
              out[at++] = key;
              out[at++] = part | 0;
              c -= part;
              n++;
            }
          }
        }
      }
      if (!any) idle++;
    }
    out[0] = n;
    this.idlePages = idle;
    return at;
  }

  /** Empties a closed bucket's pages (`dir`, its live directory), and with `freeIdle` gives those that held no bin back to the pool. */
  protected emptyPages(id: number, base: number, dir: Int32Array, freeIdle: boolean): void {
    const kept: number[] | undefined = freeIdle ? [] : undefined;
    const freed: number[] = [];
    for (let e = 0; e < dir.length; e += 2) {
      const pageId = dir[e + 1]!;
      if (kept && !this.holdsBins(pageId)) freed.push(pageId);
      else {
        this.clearBins(pageId);
        kept?.push(dir[e]!, pageId);
      }
      this.blocks[pageId] = 0;
      this.backs[pageId] = 0;
    }
    if (kept && freed.length > 0) this.replaceDirectory(id, base, kept, freed);
  }

  /**
   * Empties the open bucket of a series whose record (the newest tier-1 one) is published,
   * moving its totals to the closed ones. Idempotent: the totals move only while the open
   * bucket still holds them.
   */
  protected resetOpen(id: number, base: number, dir: Int32Array, freeIdle = false): void {
    if (dir.length > 0) this.emptyPages(id, base, dir, freeIdle);
    const f = this.f64;
    const hot = this.hot;
    const hb = id * HOT_F64;
    // Odd from the move's first store to the open bucket's emptying: a reader that met the
    // closed totals with the bucket and the open one still holding it counted it twice
    // (reader-totals.ts). Plain stores, as the rest of the run: an Atomics call is a point
    // where a terminated writer stops (hub-apply-kill.test.ts applied a row twice).
    const seq = this.i32[base * 2 + TOTALS_SEQ]!;
    this.i32[base * 2 + TOTALS_SEQ] = (seq + 1) | 1;
    if (f[base + CLOSED_COUNT_AT] !== hot[hb + OPEN_START]) {
      f[base + CLOSED_COUNT]! += hot[hb + OPEN_COUNT]!;
      f[base + CLOSED_SUM]! += hot[hb + OPEN_SUM]!;
      f[base + CLOSED_LAST] = hot[hb + OPEN_LAST]!;
      f[base + CLOSED_COUNT_AT] = hot[hb + OPEN_START]!;
    }
    if (this.pendHeld[id] !== 0) {
      this.i32[base * 2 + PEND_COUNT] = 0;
      this.pendHeld[id] = 0;
    }
    // A bucket encoded from its raw slots leaves them past RAW_BINNED until here.
    this.hotI32[hb * 2 + RAW_BINNED] = this.hotI32[hb * 2 + RAW_WRITTEN]!;
    hot[hb + OPEN_COUNT] = 0;
    this.i32[base * 2 + TOTALS_SEQ] = ((seq + 1) | 1) + 1;
  }
}
