/**
 * The writer's minute sketches: per series, the sketch runs of the closed buckets of its
 * rollup window merged as each bucket's record is written, so that the window's rollup takes
 * every bucket's bins however far back the sketch log reaches (a 32 MiB log holds 17 s of
 * closes at 1M samples a second over 1,000 series, 5 s over 10,000: docs/benchmarks.md, "The
 * sketch log's reach").
 *
 * A hub's record (a member's, or a cluster-wide close with pending runs: add's `defer`) waits
 * to be merged until DEFER records of its series do (or its rollup comes, or the
 * log's head nears the oldest waiting run: keepReach, called before every reservation of the
 * sketch log), and then reads their runs back from the log one after another into the same
 * pages: a hub's record, ~20 bins over some 13 powers of two, touched 13 cold page lines of
 * its series' minute, now once for up to DEFER records (docs/cluster.md, Cost).
 *
 * Writer-local, never shared: a writer that takes over (recover) starts with none, and a
 * rollup uses a window's sketch only for the records it was built from, which it names (the
 * bucket ring's indices [first, first + records)), so exactly-once stays with the rollup
 * record's publication (ROLLED_UPTO, T2_HEAD), as before. The records of a window this writer
 * did not merge (its predecessor's, or all of them past a page it could not have) are read
 * from the log, as before, and what the log lost there is counted (sketchesLost).
 *
 * Memory: dense pages of PAGE_KEYS bins (one power of two of the sketch: a cache line of u8
 * front bins, and u32 back bins only where a front bin passed 255), a series holding a page
 * for each power of two its window's values span (about 10 for a latency's spread, under
 * 1 KB), in arrays that grow by doubling up to `maxBytes`. Pages were chosen over a sorted
 * sparse run per series: at 10,000 series a close's merge took 0.5–1 µs against 3.9 µs for
 * the run (a scratch benchmark, 2026-11-30 17:40 UTC), and u8 front bins and a directory per
 * slot (no linked list) took bench:minute-rollup's closes from +12.6 to +6–10 ms a second.
 * A series has two windows at most (the one closing and the next: a hub's member series take
 * the next window's first records before the last ones of the window before); a third takes
 * the oldest one's place, which its rollup then reads from the log.
 */
import { KEY_COUNT, SUB_BITS, type SketchAccumulator } from '../sketch.js';
import { widened } from '../typed-arrays.js';
import type { LogCursor } from './log-cursor.js';

/** Bins per page: one power of two of the sketch's keys. */
const PAGE_BITS = SUB_BITS;
const PAGE_KEYS = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_KEYS - 1;
/** Bytes a page takes: its front bins (u8, one cache line), its back page and its free-list link. */
const PAGE_BYTES = PAGE_KEYS + 8;
/** Bytes a back page takes: its bins (u32) and its free-list link. */
const BACK_BYTES = PAGE_KEYS * 4 + 4;
const FIRST_PAGES = 4096;
const FIRST_BACKS = 256;
const FIRST_DIR_INTS = 1 << 14;
/** A slot's first directory holds this many pages; each next one twice as many, up to every page key. */
const DIR_FIRST = 8;
const DIR_CLASSES = Math.log2(KEY_COUNT >>> PAGE_BITS) - Math.log2(DIR_FIRST) + 1;

/** Records of a series whose merges wait at most (add). */
const DEFER = 8;
/** Windows per series. */
const SLOTS = 2;
const MAX_FRONT = 255;
const MAX_BIN = 0xffffffff;

export class MinuteSketches {
  private readonly rollupMs: number;
  private readonly maxBytes: number;
  /**
   * Per slot (series id × SLOTS + j): its window's start (NaN: free), its first record's index
   * in the bucket ring, its records, its page directory (where in `dirs`, -1: none; its pages;
   * its class), 1 once it cannot stand for its records.
   */
  private readonly window: Float64Array;
  private readonly first: Int32Array;
  private readonly records: Int32Array;
  private readonly dirAt: Int32Array;
  private readonly dirUsed: Int32Array;
  private readonly dirClass: Int8Array;
  private readonly broken: Uint8Array;
  /**
   * The slots' page directories: (page key, page) pairs, DIR_FIRST << class of them a
   * directory, one after another, so that a merge finds a slot's pages with loads that do not
   * wait on each other (a linked list of pages cost a miss after a miss). Freed directories
   * are kept per class.
   */
  private dirs = new Int32Array(0);
  private dirTop = 0;
  private readonly dirFree: number[][] = Array.from({ length: DIR_CLASSES }, () => []);
  /**
   * The pages: per page its front bins and its back page (-1: none). A bin's count is its
   * front bin plus its back bin; a front bin that would pass 255 moves its sum to the back
   * bin, as the store's pool does (layout.ts): at 10,000 series a minute's bins hold a few
   * hundred at most, and a page in one cache line is what a close's merge misses on.
   */
  private front = new Uint8Array(0);
  /** The front bins as u32, four at a time (encode tests a word before its bytes). */
  private front32 = new Uint32Array(0);
  private back = new Int32Array(0);
  private nextFree = new Int32Array(0);
  private pages = 0;
  private pagesTaken = 0;
  private freePage = -1;
  /** The back pages: per back page its bins, and the next free one. */
  private backBins = new Uint32Array(0);
  private backNext = new Int32Array(0);
  private backs = 0;
  private backsTaken = 0;
  private freeBack = -1;
  /** Per page key, the slot's page during one merge (-1: none); left all -1. */
  private readonly map = new Int32Array(KEY_COUNT >>> PAGE_BITS).fill(-1);

  /** The sketch log the records' runs are in (their merges wait: DEFER). */
  private readonly log: LogCursor;
  /**
   * Per series, its records whose merge waits (up to DEFER, consecutive in its bucket ring
   * from waitFirst): each one's rollup window (in windows past waitBase, the first one's) and
   * its run's absolute position in the log. The series with some are listed (once) in `queued`, and `oldest` is
   * the lowest position of a run that waits (Infinity: none). Empty until a record waits
   * (a hub's: add's `defer`), so that a monitor that is not a hub does not hold them.
   */
  private waiting = new Uint8Array(0);
  private waitFirst = new Int32Array(0);
  private waitBase = new Float64Array(0);
  private waitWindow = new Int32Array(0);
  private waitAt = new Float64Array(0);
  private queued = new Int32Array(0);
  private listed = new Uint8Array(0);
  private queuedCount = 0;
  private oldest = Infinity;
  private readonly maxSeries: number;
  /** The position of a run merged at once while no record waits (merge's `runs`). */
  private readonly runAt = new Float64Array(1);

  constructor(maxSeries: number, rollupMs: number, maxBytes: number, log: LogCursor) {
    this.rollupMs = rollupMs;
    this.maxBytes = maxBytes;
    this.log = log;
    this.maxSeries = maxSeries;
    this.window = new Float64Array(maxSeries * SLOTS).fill(Number.NaN);
    this.first = new Int32Array(maxSeries * SLOTS);
    this.records = new Int32Array(maxSeries * SLOTS);
    this.dirAt = new Int32Array(maxSeries * SLOTS).fill(-1);
    this.dirUsed = new Int32Array(maxSeries * SLOTS);
    this.dirClass = new Int8Array(maxSeries * SLOTS);
    this.broken = new Uint8Array(maxSeries * SLOTS);
  }

  /** Bytes held: the per-series tables, and the pages and directories as grown so far. */
  bytes(): number {
    const tables = this.window.byteLength + this.first.byteLength + this.records.byteLength + this.dirAt.byteLength + this.dirUsed.byteLength + this.dirClass.byteLength + this.broken.byteLength + this.map.byteLength;
    const waits = this.waiting.byteLength + this.waitFirst.byteLength + this.waitBase.byteLength + this.waitWindow.byteLength + this.waitAt.byteLength + this.queued.byteLength + this.listed.byteLength;
    return tables + waits + this.arenaBytes();
  }

  /**
   * Takes record `k` of series `id`, a bucket that started at `start` whose sketch run is at
   * absolute position `at` of the log, for its window's sketch. Records come in ring order.
   * The merge waits until DEFER of the series' records do (or its rollup, or the log's head
   * nearing the run: keepReach), then reads their runs one after another into the same pages:
   * a record's ~20 bins over some 13 powers of two touched 13 cold page lines, now once for
   * DEFER records (docs/cluster.md, Cost). `defer` false merges it now, with those waiting
   * before it: a record the writer closed from its own samples, whose run is still in the
   * cache, costs less merged now than read back cold (docs/cluster.md, Cost).
   */
  add(id: number, k: number, start: number, at: number, defer: boolean): void {
    if (!defer && (this.waiting.length === 0 || this.waiting[id] === 0)) {
      this.runAt[0] = at;
      this.merge(id, k, Math.floor(start / this.rollupMs) * this.rollupMs, this.runAt, 0, 1);
      return;
    }
    if (this.waiting.length === 0) this.holdWaits();
    let n = this.waiting[id]!;
    // Not the next record of those waiting (none is, while every writer of a record calls this): they go in first.
    if (n > 0 && k !== this.waitFirst[id]! + n) {
      this.flush(id);
      n = 0;
    }
    const window = Math.floor(start / this.rollupMs);
    if (n === 0) {
      this.waitFirst[id] = k;
      this.waitBase[id] = window;
    }
    const q = id * DEFER + n;
    this.waitWindow[q] = window - this.waitBase[id]!;
    this.waitAt[q] = at;
    this.waiting[id] = n + 1;
    if (n === 0) {
      if (this.listed[id] === 0) {
        this.listed[id] = 1;
        this.queued[this.queuedCount++] = id;
      }
      if (at < this.oldest) this.oldest = at;
    }
    if (n + 1 === DEFER || !defer) this.flush(id);
  }

  /** Allocates the tables of the records that wait, at the first one. */
  private holdWaits(): void {
    const n = this.maxSeries;
    this.waiting = new Uint8Array(n);
    this.waitFirst = new Int32Array(n);
    this.waitBase = new Float64Array(n);
    this.waitWindow = new Int32Array(n * DEFER);
    this.waitAt = new Float64Array(n * DEFER);
    this.queued = new Int32Array(n);
    this.listed = new Uint8Array(n);
  }

  /**
   * Called before the writer reserves up to `len` i32 of the sketch log (`reach`: how far
   * back it holds a run for certain): merges every record that waits when its run could be
   * overwritten otherwise (the oldest more than half the reach behind).
   */
  keepReach(len: number, reach: number): void {
    if (this.queuedCount === 0 || this.log.pos + 2 * len - this.oldest <= reach / 2) return;
    for (let i = 0; i < this.queuedCount; i++) {
      const id = this.queued[i]!;
      this.listed[id] = 0;
      this.flush(id);
    }
    this.queuedCount = 0;
    this.oldest = Infinity;
  }

  /** Merges the records of series `id` that wait, in order, those of one window at a time. */
  private flush(id: number): void {
    const n = this.waiting.length === 0 ? 0 : this.waiting[id]!;
    if (n === 0) return;
    this.waiting[id] = 0;
    const q0 = id * DEFER;
    for (let j = 0; j < n; ) {
      const window = this.waitWindow[q0 + j]!;
      let to = j + 1;
      while (to < n && this.waitWindow[q0 + to] === window) to++;
      this.merge(id, this.waitFirst[id]! + j, (this.waitBase[id]! + window) * this.rollupMs, this.waitAt, q0 + j, to - j);
      j = to;
    }
  }

  /**
   * Merges the runs of `count` consecutive records of series `id` from record `k`, at the log
   * positions runs[q, q + count), into its sketch of window `w`, the slot's pages looked up once for
   * them all. A record whose run the log no longer holds, or past the memory bound, leaves
   * the sketch standing for no run of records.
   */
  private merge(id: number, k: number, w: number, runs: Float64Array, q: number, count: number): void {
    let s = id * SLOTS;
    if (this.window[s] !== w) s = this.window[s + 1] === w ? s + 1 : this.claim(id * SLOTS, w, k);
    if (this.broken[s] !== 0) return;
    // A record missed (none is, while every writer of a record calls add): the slot no longer stands for a run of records.
    if (k !== this.first[s]! + this.records[s]!) {
      this.breakSlot(s);
      return;
    }
    const map = this.map;
    let dirs = this.dirs;
    let at = this.dirAt[s]!;
    let used = this.dirUsed[s]!;
    for (let j = 0; j < used; j++) map[dirs[at + 2 * j]!] = dirs[at + 2 * j + 1]!;
    let front = this.front;
    const data = this.log.data;
    let ok = true;
    for (let r = q; r < q + count && ok; r++) {
      const runAt = runs[r]!;
      if (!this.log.holds(runAt)) {
        ok = false;
        break;
      }
      this.records[s]!++;
      const pos = runAt % this.log.size;
      const n = data[pos]!;
      for (let i = 0; i < n; i++) {
        const key = data[pos + 1 + 2 * i]!;
        if (key >>> 0 >= KEY_COUNT) continue;
        let p = map[key >>> PAGE_BITS]!;
        if (p < 0) {
          p = this.page(s, key >>> PAGE_BITS);
          if (p < 0) {
            ok = false;
            break;
          }
          map[key >>> PAGE_BITS] = p;
          front = this.front;
        }
        const bin = (p << PAGE_BITS) | (key & PAGE_MASK);
        const sum = front[bin]! + (data[pos + 2 + 2 * i]! >>> 0);
        if (sum <= MAX_FRONT) front[bin] = sum;
        else if (this.toBack(p, key & PAGE_MASK, sum)) front[bin] = 0;
        else {
          ok = false;
          break;
        }
      }
    }
    dirs = this.dirs;
    at = this.dirAt[s]!;
    used = this.dirUsed[s]!;
    for (let j = 0; j < used; j++) map[dirs[at + 2 * j]!] = -1;
    if (!ok) this.breakSlot(s);
  }

  /**
   * The index of the first record from which series `id`'s sketch of `window` stands for
   * every record up to `end` (exclusive), or -1 when it stands for none (no sketch, or one
   * that missed some: the rollup reads those records' runs from the log).
   */
  coveredFrom(id: number, window: number, end: number): number {
    this.flush(id);
    const s = this.slotOf(id, window);
    if (s < 0 || this.broken[s] !== 0 || this.first[s]! + this.records[s]! !== end) return -1;
    return this.first[s]!;
  }

  /** i32 of the encoded form of series `id`'s sketch of `window` (one whose coveredFrom is not -1). */
  encodedLength(id: number, window: number): number {
    return 1 + 2 * this.encode(this.slotOf(id, window), null, 0);
  }

  /** Writes the encoded form of series `id`'s sketch of `window` into `out` at `pos`; returns the i32 written. */
  encodeInto(id: number, window: number, out: Int32Array, pos: number): number {
    const n = this.encode(this.slotOf(id, window), out, pos + 1);
    out[pos] = n;
    return 1 + 2 * n;
  }

  /**
   * Writes slot `s`'s bins above 0 as (key, count) pairs into `out` from `at` (null: counts
   * them only); returns how many. Four front bins are tested at once (a word), and a page's
   * back bins read only where it has them: most of a page's 64 bins are 0.
   */
  private encode(s: number, out: Int32Array | null, at: number): number {
    const front = this.front;
    const front32 = this.front32;
    const backBins = this.backBins;
    const dirs = this.dirs;
    const dir = this.dirAt[s]!;
    let n = 0;
    for (let e = 0; e < this.dirUsed[s]!; e++) {
      const keyBase = dirs[dir + 2 * e]! << PAGE_BITS;
      const p = dirs[dir + 2 * e + 1]!;
      const from = p << PAGE_BITS;
      const b = this.back[p]!;
      for (let q = 0; q < PAGE_KEYS; q += 4) {
        if (b < 0 && front32[(from + q) >>> 2] === 0) continue;
        for (let j = q; j < q + 4; j++) {
          const c = front[from + j]! + (b >= 0 ? backBins[(b << PAGE_BITS) + j]! : 0);
          if (c === 0) continue;
          if (out !== null) {
            out[at++] = keyBase | j;
            out[at++] = c | 0;
          }
          n++;
        }
      }
    }
    return n;
  }

  /** Adds series `id`'s sketch of `window` into `acc`. */
  addTo(id: number, window: number, acc: SketchAccumulator): void {
    this.forEachBin(this.slotOf(id, window), (key, count) => acc.addKey(key, count));
  }

  /** Drops series `id`'s sketches of windows before `end` (rolled up, or never to be). */
  releaseBefore(id: number, end: number): void {
    this.flush(id);
    for (let s = id * SLOTS; s < id * SLOTS + SLOTS; s++) if (this.window[s]! < end) this.release(s);
  }

  /** Calls fn(key, count) for every bin above 0 of slot `s`. */
  private forEachBin(s: number, fn: (key: number, count: number) => void): void {
    const front = this.front;
    const backBins = this.backBins;
    const dirs = this.dirs;
    const at = this.dirAt[s]!;
    for (let e = 0; e < this.dirUsed[s]!; e++) {
      const keyBase = dirs[at + 2 * e]! << PAGE_BITS;
      const p = dirs[at + 2 * e + 1]!;
      const from = p << PAGE_BITS;
      const b = this.back[p]!;
      for (let j = 0; j < PAGE_KEYS; j++) {
        const c = front[from + j]! + (b >= 0 ? backBins[(b << PAGE_BITS) + j]! : 0);
        if (c !== 0) fn(keyBase | j, c);
      }
    }
  }

  private slotOf(id: number, window: number): number {
    const s = id * SLOTS;
    return this.window[s] === window ? s : this.window[s + 1] === window ? s + 1 : -1;
  }

  /** A slot of series slots [s0, s0 + SLOTS) for window `w` from record `k`: a free one, or the oldest window's. */
  private claim(s0: number, w: number, k: number): number {
    let s = s0;
    for (let j = s0; j < s0 + SLOTS; j++) {
      if (this.window[j] !== this.window[j]) {
        s = j;
        break;
      }
      if (this.window[j]! < this.window[s]!) s = j;
    }
    this.release(s);
    this.window[s] = w;
    this.first[s] = k;
    return s;
  }

  private release(s: number): void {
    const at = this.dirAt[s]!;
    if (at >= 0) {
      for (let e = 0; e < this.dirUsed[s]!; e++) {
        const p = this.dirs[at + 2 * e + 1]!;
        const b = this.back[p]!;
        if (b >= 0) {
          this.backNext[b] = this.freeBack;
          this.freeBack = b;
        }
        this.nextFree[p] = this.freePage;
        this.freePage = p;
      }
      this.dirFree[this.dirClass[s]!]!.push(at);
    }
    this.dirAt[s] = -1;
    this.dirUsed[s] = 0;
    this.window[s] = Number.NaN;
    this.records[s] = 0;
    this.broken[s] = 0;
  }

  /** Marks a slot as standing for no run of records, and gives its pages back. */
  private breakSlot(s: number): void {
    const w = this.window[s]!;
    this.release(s);
    this.window[s] = w;
    this.broken[s] = 1;
  }

  /** Adds `sum` to bin `j` of page `p`'s back page (taken if it has none); false when none is to be had or the bin would pass 2^32 - 1. */
  private toBack(p: number, j: number, sum: number): boolean {
    let b = this.back[p]!;
    if (b < 0) {
      b = this.freeBack;
      if (b >= 0) this.freeBack = this.backNext[b]!;
      else {
        if (this.backsTaken === this.backs && !this.growBacks()) return false;
        b = this.backsTaken++;
      }
      this.backBins.fill(0, b << PAGE_BITS, (b + 1) << PAGE_BITS);
      this.back[p] = b;
    }
    const bin = (b << PAGE_BITS) + j;
    const total = this.backBins[bin]! + sum;
    if (total > MAX_BIN) return false;
    this.backBins[bin] = total;
    return true;
  }

  /** A page with empty front bins for page key `key`, listed in slot `s`'s directory; -1 when the memory bound is reached. */
  private page(s: number, key: number): number {
    const used = this.dirUsed[s]!;
    if (this.dirAt[s]! < 0 || used === DIR_FIRST << this.dirClass[s]!) {
      const c = this.dirAt[s]! < 0 ? 0 : this.dirClass[s]! + 1;
      const at = c < DIR_CLASSES ? this.dirBlock(c) : -1;
      if (at < 0) return -1;
      if (used > 0) this.dirs.copyWithin(at, this.dirAt[s]!, this.dirAt[s]! + 2 * used);
      if (this.dirAt[s]! >= 0) this.dirFree[this.dirClass[s]!]!.push(this.dirAt[s]!);
      this.dirAt[s] = at;
      this.dirClass[s] = c;
    }
    let p = this.freePage;
    if (p >= 0) this.freePage = this.nextFree[p]!;
    else {
      if (this.pagesTaken === this.pages && !this.growPages()) return -1;
      p = this.pagesTaken++;
    }
    this.front.fill(0, p << PAGE_BITS, (p + 1) << PAGE_BITS);
    this.back[p] = -1;
    const at = this.dirAt[s]! + 2 * used;
    this.dirs[at] = key;
    this.dirs[at + 1] = p;
    this.dirUsed[s] = used + 1;
    return p;
  }

  /** A free directory of class `c`; -1 when the memory bound is reached. */
  private dirBlock(c: number): number {
    const free = this.dirFree[c]!;
    if (free.length > 0) return free.pop()!;
    const ints = 2 * (DIR_FIRST << c);
    if (this.dirTop + ints > this.dirs.length) {
      const length = this.grown(this.dirs.length, this.dirTop + ints, FIRST_DIR_INTS, 4);
      if (length < 0) return -1;
      this.dirs = widened(this.dirs, length);
    }
    const at = this.dirTop;
    this.dirTop += ints;
    return at;
  }

  private growPages(): boolean {
    const pages = this.grown(this.pages, this.pages + 1, FIRST_PAGES, PAGE_BYTES);
    if (pages < 0) return false;
    this.front = widened(this.front, pages << PAGE_BITS);
    this.front32 = new Uint32Array(this.front.buffer);
    this.back = widened(this.back, pages);
    this.nextFree = widened(this.nextFree, pages);
    this.pages = pages;
    return true;
  }

  private growBacks(): boolean {
    const backs = this.grown(this.backs, this.backs + 1, FIRST_BACKS, BACK_BYTES);
    if (backs < 0) return false;
    this.backBins = widened(this.backBins, backs << PAGE_BITS);
    this.backNext = widened(this.backNext, backs);
    this.backs = backs;
    return true;
  }

  /** A new size for an array of `current` units of `unitBytes` that needs `need`: twice as many (at least `first`), as many as maxBytes leaves room for; -1 when that is under `need`. */
  private grown(current: number, need: number, first: number, unitBytes: number): number {
    const room = current + Math.floor((this.maxBytes - this.arenaBytes()) / unitBytes);
    const size = Math.min(Math.max(first, 2 * current, need), room);
    return size >= need ? size : -1;
  }

  private arenaBytes(): number {
    return this.pages * PAGE_BYTES + this.backs * BACK_BYTES + this.dirs.byteLength;
  }
}
