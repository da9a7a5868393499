/**
 * The open sketches' pages in the shared pool: binning a series' raw samples into them
 * (binTail), finding or taking a page for a sketch key (page, with the two pages each series
 * used last cached), emptying them (holdsBins, clearBins), and giving them back to the pool
 * (replaceDirectory, reclaimIdle).
 *
 * Invariants. A page's bins are a u8 front bin and a u32 back bin that holds multiples of 256
 * (layout.ts); `blocks` marks per page the blocks of 32 bins added to since it was last
 * emptied and `backs` those whose back bins were, so that emptying a page reads the marked
 * blocks alone (writer-state.ts). Crash safety: a page is popped from the free list before a
 * directory points at it, and a directory is replaced by writing the idle copy and flipping
 * DIR_SELECT, then the freed pages go back on the free list: a writer killed in between leaks
 * at worst a page, never shares one. A sample's bin and RAW_BINNED are plain stores between
 * two loop back-edges (binTail).
 */
import { KEY_SHIFT as SKETCH_KEY_SHIFT, PAGE_BINS, PAGE_BITS as SKETCH_PAGE_BITS } from '../sketch.js';
import { DIR_SELECT, DIR_USED_0, HOT_F64, OPEN_COUNT, POOL_FREE_COUNT, POOL_FREE_HEAD, RAW_BINNED, RAW_WRITTEN } from './layout.js';
import {
  BEAT_MASK,
  BLOCK as STATE_BLOCK,
  BLOCK_BITS as STATE_BLOCK_BITS,
  HI_WORD as STATE_HI_WORD,
  MAX_SKETCHED as STATE_MAX_SKETCHED,
  WriterState,
} from './writer-state.js';

// The sketch's constants as this module's own: V8 folds a module's const into the code, but
// loads an imported binding from its cell and checks it on every use (in binTail, twice a
// sample: docs/benchmarks.md, issue 16's seventh pass). The writer's (writer-state.ts) likewise.
const KEY_SHIFT = SKETCH_KEY_SHIFT;
const BELOW_KEY = (1 << KEY_SHIFT) - 1;
const PAGE_BITS = SKETCH_PAGE_BITS;
const PAGE_MASK = PAGE_BINS - 1;
const BLOCK_BITS = STATE_BLOCK_BITS;
const BLOCK = STATE_BLOCK;
const MAX_SKETCHED = STATE_MAX_SKETCHED;
const HI_WORD = STATE_HI_WORD;
/** From a value's high word to its low word. */
const LO_WORD = 1 - 2 * HI_WORD;

export class SketchPages extends WriterState {
  /**
   * Adds the series' raw samples past RAW_BINNED (all in its open bucket) to its open
   * sketch, in ring order. Each sample's bin and RAW_BINNED are plain stores between two
   * loop back-edges, so a writer killed here leaves every sample binned once or waiting.
   */
  protected binTail(id: number): void {
    const hb = id * HOT_F64;
    const bi = hb * 2 + RAW_BINNED;
    const hotI32 = this.hotI32;
    const written = hotI32[hb * 2 + RAW_WRITTEN]!;
    let binned = hotI32[bi]!;
    if (binned === written) return;
    const i32 = this.i32;
    const pages = this.pages;
    const front = this.front;
    const blocks = this.blocks;
    const pageCache = this.pageCache;
    const base = id * this.layout.slotF64;
    // The i32 holding the high word (sign, exponent, top of the mantissa: the key) of raw slot 0's value.
    const keyWord = 2 * (base + this.layout.rawOffsetF64 + 1) + HI_WORD;
    const rawMask = this.layout.rawCap - 1;
    const c = id << 2;
    let key0 = pageCache[c]!;
    let base0 = pageCache[c + 1]!;
    let key1 = pageCache[c + 2]!;
    let base1 = pageCache[c + 3]!;
    // The blocks each cached page's bins went into, kept in registers (blocks is the writer's own).
    let mask0 = 0;
    let mask1 = 0;
    // A bucket stops sketching at its MAX_SKETCHED-th sample: the samples from `end` on are
    // counted, not binned.
    const pending = (written - binned) | 0;
    const room = MAX_SKETCHED - (this.hot[hb + OPEN_COUNT]! - pending);
    const end = room >= pending ? written : room > 0 ? (binned + room) | 0 : binned;
    while (binned !== end) {
      let at = keyWord + 4 * (binned & rawMask);
      let high = i32[at]!;
      // sketch.ts keyAt, written out: an exact positive edge keys into the bin below.
      let key = (high & BELOW_KEY) === 0 && high > 0 && i32[at + LO_WORD] === 0 ? (high >>> KEY_SHIFT) - 1 : high >>> KEY_SHIFT;
      const pageKey = key >>> PAGE_BITS;
      if (pageKey !== key0) {
        if (pageKey === key1) {
          // The other cached page: swapped into the registers the run below uses.
          key1 = key0;
          key0 = pageKey;
          const b = base1;
          base1 = base0;
          base0 = b;
          const m = mask1;
          mask1 = mask0;
          mask0 = m;
        } else {
          if (base0 >= 0) blocks[base0 >>> PAGE_BITS]! |= mask0;
          if (base1 >= 0) blocks[base1 >>> PAGE_BITS]! |= mask1;
          const pageBase = this.page(id, base, pageKey);
          key0 = pageCache[c]!;
          base0 = pageCache[c + 1]!;
          key1 = pageCache[c + 2]!;
          base1 = pageCache[c + 3]!;
          mask0 = 0;
          mask1 = 0;
          if (pageBase < 0) {
            // No page to be had (page() counted it in sketchOverflow): counted, not binned.
            binned = (binned + 1) | 0;
            hotI32[bi] = binned;
            continue;
          }
        }
      }
      // The run of samples on page 0: few registers, one test of the key a sample.
      for (;;) {
        const bin = base0 + (key & PAGE_MASK);
        mask0 |= 1 << ((key & PAGE_MASK) >>> BLOCK_BITS);
        // A front bin holds up to 255: the u8 store of 256 leaves 0, and the 256 go to the back bin.
        const b = front[bin]! + 1;
        front[bin] = b;
        if (b === 256) {
          pages[bin]! += 256;
          this.backs[base0 >>> PAGE_BITS]! |= 1 << ((key & PAGE_MASK) >>> BLOCK_BITS);
        }
        binned = (binned + 1) | 0;
        hotI32[bi] = binned;
        if (binned === end) break;
        at = keyWord + 4 * (binned & rawMask);
        high = i32[at]!;
        key = (high & BELOW_KEY) === 0 && high > 0 && i32[at + LO_WORD] === 0 ? (high >>> KEY_SHIFT) - 1 : high >>> KEY_SHIFT;
        if (key >>> PAGE_BITS !== key0) break;
      }
    }
    if (end !== written) hotI32[bi] = written;
    if (base0 >= 0) blocks[base0 >>> PAGE_BITS]! |= mask0;
    if (base1 >= 0) blocks[base1 >>> PAGE_BITS]! |= mask1;
  }

  /** Finds or allocates the sketch page of `pageKey`; -1 when there is none to be had. */
  protected page(id: number, base: number, pageKey: number): number {
    const L = this.layout;
    const sel = this.i32[base * 2 + DIR_SELECT]!;
    const used = this.i32[base * 2 + DIR_USED_0 + sel]!;
    const dir = L.dirIndex(base, sel);
    for (let e = 0; e < used; e++) {
      if (this.i32[dir + 2 * e] === pageKey) return this.cache(id, pageKey, this.i32[dir + 2 * e + 1]!);
    }
    if (used >= L.dirEntries) {
      this.counters.sketchOverflow++;
      return -1;
    }
    let pageId = this.meta[POOL_FREE_HEAD]!;
    // Series go idle only when a bucket closes: a second scan in the same bucket would free
    // nothing, and with the pool spent it would run for every sample that needs a page.
    if (pageId < 0 && this.reclaimedIn !== this.bucketStart) {
      this.reclaimedIn = this.bucketStart;
      this.reclaimIdle(id);
      pageId = this.meta[POOL_FREE_HEAD]!;
    }
    if (pageId < 0) {
      this.counters.sketchOverflow++;
      return -1;
    }
    // Pop first, then point the directory at it: a crash in between leaks the page.
    this.meta[POOL_FREE_HEAD] = this.links[pageId]!;
    this.meta[POOL_FREE_COUNT]!--;
    this.i32[dir + 2 * used] = pageKey;
    this.i32[dir + 2 * used + 1] = pageId;
    this.i32[base * 2 + DIR_USED_0 + sel] = used + 1;
    return this.cache(id, pageKey, pageId);
  }

  protected cache(id: number, pageKey: number, pageId: number): number {
    const pageBase = pageId * PAGE_BINS;
    const c = id << 2;
    this.pageCache[c + 2] = this.pageCache[c]!;
    this.pageCache[c + 3] = this.pageCache[c + 1]!;
    this.pageCache[c] = pageKey;
    this.pageCache[c + 1] = pageBase;
    return pageBase;
  }

  /** Pages in the live directory of the series at `base` (livePages' entries, without a view of them). */
  protected pagesUsed(base: number): number {
    return this.i32[base * 2 + DIR_USED_0 + this.i32[base * 2 + DIR_SELECT]!]!;
  }

  protected livePages(base: number): Int32Array {
    const sel = this.i32[base * 2 + DIR_SELECT]!;
    const used = this.i32[base * 2 + DIR_USED_0 + sel]!;
    const dir = this.layout.dirIndex(base, sel);
    return this.i32.subarray(dir, dir + 2 * used);
  }

  /** Whether a page has a bin above 0 (in its marked blocks: the others are 0). */
  protected holdsBins(pageId: number): boolean {
    const pageBase = pageId * PAGE_BINS;
    const backs = this.backs[pageId]!;
    for (let m = this.blocks[pageId]!; m !== 0; m &= m - 1) {
      const block = 31 - Math.clz32(m & -m);
      const from = pageBase + (block << BLOCK_BITS);
      for (let w = from >>> 2; w < (from + BLOCK) >>> 2; w++) if (this.front32[w] !== 0) return true;
      if (((backs >>> block) & 1) !== 0) for (let k = from; k < from + BLOCK; k++) if (this.pages[k] !== 0) return true;
    }
    return false;
  }

  /** Zeroes a page's marked blocks: their front bins, and their back bins where some were added to. */
  protected clearBins(pageId: number): void {
    const pageBase = pageId * PAGE_BINS;
    const backs = this.backs[pageId]!;
    const front32 = this.front32;
    for (let m = this.blocks[pageId]!; m !== 0; m &= m - 1) {
      const block = 31 - Math.clz32(m & -m);
      const from = pageBase + (block << BLOCK_BITS);
      for (let w = from >>> 2; w < (from + BLOCK) >>> 2; w++) front32[w] = 0;
      if (((backs >>> block) & 1) !== 0) this.pages.fill(0, from, from + BLOCK);
    }
  }

  /** Writes the idle directory, flips to it, then returns `freed` pages to the pool. */
  protected replaceDirectory(id: number, base: number, entries: number[], freed: number[]): void {
    const sel = this.i32[base * 2 + DIR_SELECT]!;
    const next = 1 - sel;
    const dir = this.layout.dirIndex(base, next);
    for (let i = 0; i < entries.length; i++) this.i32[dir + i] = entries[i]!;
    this.i32[base * 2 + DIR_USED_0 + next] = entries.length / 2;
    Atomics.store(this.i32, base * 2 + DIR_SELECT, next);
    this.pageCache.fill(-1, id << 2, (id << 2) + 4);
    for (const pageId of freed) {
      this.links[pageId] = this.meta[POOL_FREE_HEAD]!;
      this.meta[POOL_FREE_HEAD] = pageId;
      this.meta[POOL_FREE_COUNT]!++;
    }
  }

  /**
   * Takes back every page held by series with no open data (their pages are all zero), but
   * `asking`'s: a bucket from outside fills its pages before it counts in OPEN_COUNT (intoOpen).
   * Runs when the pool is empty, so pages follow the series that are active now.
   */
  protected reclaimIdle(asking: number): void {
    const L = this.layout;
    const n = L.maxSeries;
    for (let id = 0; id < n; id++) {
      if ((id & BEAT_MASK) === BEAT_MASK) this.beat();
      const base = id * L.slotF64;
      if (this.hot[id * HOT_F64 + OPEN_COUNT] !== 0 || id === asking) continue;
      const dir = this.livePages(base);
      if (dir.length === 0) continue;
      const freed: number[] = [];
      for (let e = 1; e < dir.length; e += 2) freed.push(dir[e]!);
      this.replaceDirectory(id, base, [], freed);
    }
  }
}
