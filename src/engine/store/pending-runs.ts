/**
 * An open bucket's pending sketch runs: a hub row's member bucket whose sketch run is already
 * in the sketch log (bucket-rows.ts copies it there for the member's record) goes into an
 * open bucket as that run's position (PEND_BASE, PEND_OFF, PEND_COUNT in the series' slot),
 * not bin by bin into the open sketch's pages; the bucket's close merges its runs, and its
 * pages if it has some, into its record's run (closes.ts). Adding a member's ~20 bins touched
 * a page line for each power of two they spread over, and the close read and cleared those
 * lines again: most of a hub's cluster-wide series' cost (docs/cluster.md, Cost). Readers add
 * the pending runs to the open sketch (StoreReader.forEachOpenBin).
 *
 * Invariants. A run is pending from the commit that moves PEND_COUNT past it (one run of
 * straight-line stores with the bucket's other open cells: bucket-rows.ts, intoOpen) until
 * the reset after the bucket's record is published (resetOpen), so a writer killed anywhere
 * leaves each run in the open bucket once or not at all, and a close done again merges the
 * same runs. A pending run must still be in the log when its bucket closes: an open bucket
 * takes runs only while the pending ones total at most an eighth of the log's reach (pendInts), and
 * before the writer reserves log space that could reach the oldest pending run it merges
 * every open bucket's runs into one new run at the log's head (compactPending), in the same
 * kind of commit (PEND_BASE, PEND_OFF, PEND_COUNT together). Where does the oldest pending
 * run lie? The writer keeps the first position taken in the bucket open now and in the one
 * before (pendFloor, pendFloorBefore): after a boundary's sweep every bucket older than those
 * two is closed. All three are the writer's own: recover() rebuilds them from the slots.
 */
import { KEY_COUNT } from '../sketch.js';
import { HOT_F64, LOG_BLOCK, OPEN_COUNT, PEND_BASE, PEND_CAP as LAYOUT_PEND_CAP, PEND_COUNT, PEND_OFF } from './layout.js';
import { SketchPages } from './pages.js';
import { BEAT_MASK } from './writer-state.js';

// The layout's constant as this module's own (V8 folds a module's const: pages.ts).
const PEND_CAP = LAYOUT_PEND_CAP;
/** Offsets past PEND_BASE are i32. */
const MAX_OFFSET = 0x7fffffff;

export class PendingRuns extends SketchPages {
  /**
   * Lists the run of `len` i32 at absolute log position `at` as the next pending run of the
   * series at `base`, past PEND_COUNT (nothing a reader or a successor takes until the caller's
   * commit stores the index returned + 1 there); -1 when the open bucket takes no more runs
   * (its list is full, or the pending runs' total would pass an eighth of the log's reach).
   */
  protected pendRun(base: number, at: number, len: number): number {
    const ib = base * 2;
    const n = this.i32[ib + PEND_COUNT]!;
    if (n >= PEND_CAP || this.pendInts + len > this.logReach() / 8) return -1;
    if (n === 0) {
      this.f64[base + PEND_BASE] = at;
      this.i32[ib + PEND_OFF] = 0;
      if (at < this.pendFloor) this.pendFloor = at;
      return 0;
    }
    const offset = at - this.f64[base + PEND_BASE]!;
    if (!(offset >= 0 && offset <= MAX_OFFSET)) return -1;
    this.i32[ib + PEND_OFF + n] = offset;
    return n;
  }

  /**
   * Called before the writer reserves up to `len` i32 of the log: when that could reach the
   * oldest pending run (more than half the log past it), merges every open bucket's pending
   * runs into one run each at the log's head first (compactPending).
   */
  protected keepPending(len: number): void {
    if (this.pendInts === 0) return;
    const floor = Math.min(this.pendFloor, this.pendFloorBefore);
    if (this.log.pos + 2 * len - floor <= this.logReach() / 2) return;
    this.compactPending();
  }

  /** How far back the log holds a run for certain: its size less a block (LogCursor reserves a block ahead). */
  protected logReach(): number {
    return this.log.size - LOG_BLOCK;
  }

  /** Merges the pending runs of every open bucket that has some into one new run at the log's head (kept pending: the same bins, one run). */
  protected compactPending(): void {
    const from = this.log.pos;
    const ids = this.openIds;
    for (let i = 0; i < this.openCount; i++) {
      if ((i & BEAT_MASK) === BEAT_MASK) this.beat();
      const id = ids[i]!;
      const base = id * this.layout.slotF64;
      // A series listed twice (closed by a sweep and open again) is merged once.
      if (this.pendHeld[id] === 0 || this.i32[base * 2 + PEND_COUNT] === 0 || this.f64[base + PEND_BASE]! >= from) continue;
      const d = this.mergePending(base, 0);
      const len = 1 + 2 * d;
      const at = this.log.reserve(len);
      this.emitMerged(d, at % this.log.size);
      // The commit: straight-line stores, all or none of them.
      this.f64[base + PEND_BASE] = at;
      this.i32[base * 2 + PEND_OFF] = 0;
      this.i32[base * 2 + PEND_COUNT] = 1;
      this.pendInts += len;
    }
    this.pendFloor = from;
    this.pendFloorBefore = Infinity;
  }

  /**
   * Adds the pending runs of the series at `base` into rawBins (the close's counts by key,
   * zero between closes), each key met first listed in mergeKeys from index `d` on; returns
   * the keys listed. A run the log no longer holds (keepPending prevents it) is counted in
   * sketchOverflow, as bins a sketch could not take.
   */
  protected mergePending(base: number, d: number): number {
    const ib = base * 2;
    const n = Math.min(this.i32[ib + PEND_COUNT]!, PEND_CAP);
    const first = this.f64[base + PEND_BASE]!;
    const data = this.log.data;
    let keys = d;
    for (let j = 0; j < n; j++) {
      const at = first + this.i32[ib + PEND_OFF + j]!;
      if (!this.log.holds(at)) {
        this.counters.sketchOverflow++;
        continue;
      }
      const pos = at % this.log.size;
      this.pendInts -= 1 + 2 * data[pos]!;
      keys = this.mergeRun(data, pos, keys);
    }
    if (this.pendInts < 0) this.pendInts = 0;
    return keys;
  }

  /** Adds the run at `data[pos]` (engine/sketch.ts) into rawBins, listing keys met first in mergeKeys from index `d`; returns the keys listed. */
  protected mergeRun(data: Int32Array, pos: number, d: number): number {
    const bins = this.rawBins;
    const n = data[pos]!;
    if (this.mergeKeys.length < d + n) {
      const wider = new Int32Array(Math.min(KEY_COUNT, Math.max(2 * this.mergeKeys.length, d + n)));
      wider.set(this.mergeKeys.subarray(0, d));
      this.mergeKeys = wider;
    }
    const keys = this.mergeKeys;
    for (let i = 0; i < n; i++) {
      const key = data[pos + 1 + 2 * i]!;
      const count = data[pos + 2 + 2 * i]!;
      if (key >>> 0 >= KEY_COUNT || count === 0) continue;
      const c = bins[key]!;
      if (c === 0 && d < keys.length) keys[d++] = key;
      // u32 counts as i32 bits: a bin stays under 2^32 (a bucket sketches at most MAX_SKETCHED samples).
      bins[key] = (c + count) | 0;
    }
    return d;
  }

  /** Writes the run of the `d` keys in mergeKeys with their rawBins counts into the log at `to`, leaving rawBins zero again. */
  protected emitMerged(d: number, to: number): void {
    this.emitKeys(this.mergeKeys, d, to);
  }

  /** Writes the run of the first `d` of `keys` with their rawBins counts into the log at `to`, leaving rawBins zero again. */
  protected emitKeys(keys: Int32Array, d: number, to: number): void {
    const out = this.log.data;
    const bins = this.rawBins;
    out[to] = d;
    let at = to + 1;
    for (let j = 0; j < d; j++) {
      const key = keys[j]!;
      out[at++] = key;
      out[at++] = bins[key]!;
      bins[key] = 0;
    }
  }

  /** recover(): counts the open bucket of `id`'s pending runs in the writer's own figures (pendInts, pendFloor). */
  protected notePending(id: number, base: number): void {
    const ib = base * 2;
    const n = Math.min(this.i32[ib + PEND_COUNT]!, PEND_CAP);
    if (n === 0 || this.hot[id * HOT_F64 + OPEN_COUNT] === 0) return;
    const first = this.f64[base + PEND_BASE]!;
    if (first < this.pendFloor) this.pendFloor = first;
    for (let j = 0; j < n; j++) {
      const at = first + this.i32[ib + PEND_OFF + j]!;
      // A run already overwritten is lost (its close counts it): nothing left to keep.
      if (this.log.holds(at)) this.pendInts += 1 + 2 * this.log.data[at % this.log.size]!;
    }
  }
}
