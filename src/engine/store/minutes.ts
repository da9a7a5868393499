/**
 * The writer's minute sketches: per series, the sketch runs of the closed buckets of its
 * rollup window merged as each bucket's record is written, so that the window's rollup takes
 * every bucket's bins however far back the sketch log reaches (a 32 MiB log holds 17 s of
 * closes at 1M samples a second over 1,000 series, 5 s over 10,000: docs/benchmarks.md, "The
 * sketch log's reach").
 *
 * Writer-local, never shared: a writer that takes over (recover) starts with none, and a
 * rollup uses a window's sketch only for the records it was built from, which it names (the
 * bucket ring's indices [first, first + records)), so exactly-once stays with the rollup
 * record's publication (ROLLED_UPTO, T2_HEAD), as before. The records of a window this writer
 * did not merge (its predecessor's, or all of them past a page it could not have) are read
 * from the log, as before, and what the log lost there is counted (sketchesLost).
 *
 * Memory: dense pages of PAGE_KEYS bins (one power of two of the sketch, u32 counts, 256
 * bytes), a series holding a page for each power of two its window's values span (about 10
 * for a latency's spread, 2.6 KB), in one arena that grows by doubling up to `maxBytes`.
 * Pages were chosen over a sorted sparse run per series: at 10,000 series a close's merge took
 * 0.5–1 µs against 3.9 µs for the run, at the same memory (a scratch benchmark, 17:40 UTC).
 * A series has two windows at most (the one closing and the next: a hub's member series take
 * the next window's first records before the last ones of the window before); a third takes
 * the oldest one's place, which its rollup then reads from the log.
 */
import { KEY_COUNT, SUB_BITS, type SketchAccumulator } from '../sketch.js';

/** Bins per page: one power of two of the sketch's keys. */
const PAGE_BITS = SUB_BITS;
const PAGE_KEYS = 1 << PAGE_BITS;
const PAGE_MASK = PAGE_KEYS - 1;
const PAGE_BYTES = PAGE_KEYS * 4;
/** Bytes a page takes beside its bins: its key and its link. */
const PAGE_META_BYTES = 8;
const FIRST_PAGES = 1024;
/** Windows per series. */
const SLOTS = 2;
const MAX_BIN = 0xffffffff;

export class MinuteSketches {
  private readonly rollupMs: number;
  private readonly maxPages: number;
  /** Per slot (series id × SLOTS + j): its window's start (NaN: free), its first record's index in the bucket ring, its records, its bins above 0, its first page (-1: none), 1 once it cannot stand for its records. */
  private readonly window: Float64Array;
  private readonly first: Int32Array;
  private readonly records: Int32Array;
  private readonly used: Int32Array;
  private readonly head: Int32Array;
  private readonly broken: Uint8Array;
  /** The arena: per page its bins, its page key (key >>> PAGE_BITS), and the next page of its slot or of the free list. */
  private bins = new Uint32Array(0);
  private pageKey = new Int32Array(0);
  private next = new Int32Array(0);
  private capacity = 0;
  private taken = 0;
  private freeHead = -1;
  /** Per page key, the bin offset of the slot's page during one merge (-1: none); left all -1. */
  private readonly map = new Int32Array(KEY_COUNT >>> PAGE_BITS).fill(-1);

  constructor(maxSeries: number, rollupMs: number, maxBytes: number) {
    this.rollupMs = rollupMs;
    this.maxPages = Math.max(1, Math.floor(maxBytes / (PAGE_BYTES + PAGE_META_BYTES)));
    this.window = new Float64Array(maxSeries * SLOTS).fill(Number.NaN);
    this.first = new Int32Array(maxSeries * SLOTS);
    this.records = new Int32Array(maxSeries * SLOTS);
    this.used = new Int32Array(maxSeries * SLOTS);
    this.head = new Int32Array(maxSeries * SLOTS).fill(-1);
    this.broken = new Uint8Array(maxSeries * SLOTS);
  }

  /** Bytes held: the per-series tables and the arena as grown so far. */
  bytes(): number {
    return this.window.byteLength + this.first.byteLength + this.records.byteLength + this.used.byteLength + this.head.byteLength + this.broken.byteLength + this.capacity * (PAGE_BYTES + PAGE_META_BYTES) + this.map.byteLength;
  }

  /** Pages in use now (for tests and the reach benchmark). */
  pagesInUse(): number {
    let free = 0;
    for (let p = this.freeHead; p >= 0; p = this.next[p]!) free++;
    return this.taken - free;
  }

  /** Forgets every window (a writer taking over knows none). */
  clear(): void {
    for (let s = 0; s < this.window.length; s++) if (this.window[s] === this.window[s]) this.release(s);
  }

  /**
   * Merges the sketch run at `data[pos]` (engine/sketch.ts) of record `k` of series `id`, a
   * bucket that started at `start`, into its window's sketch. Records come in ring order.
   */
  add(id: number, k: number, start: number, data: Int32Array, pos: number): void {
    const w = Math.floor(start / this.rollupMs) * this.rollupMs;
    let s = id * SLOTS;
    if (this.window[s] !== w) s = this.window[s + 1] === w ? s + 1 : this.claim(id * SLOTS, w, k);
    if (this.broken[s] !== 0) return;
    // A record missed (none is, while every writer of a record calls this): the slot no longer stands for a run of records.
    if (k !== this.first[s]! + this.records[s]!) {
      this.breakSlot(s);
      return;
    }
    this.records[s]!++;
    const map = this.map;
    const pageKey = this.pageKey;
    const next = this.next;
    for (let p = this.head[s]!; p >= 0; p = next[p]!) map[pageKey[p]!] = p << PAGE_BITS;
    let bins = this.bins;
    let used = this.used[s]!;
    let ok = true;
    const n = data[pos]!;
    for (let i = 0; i < n; i++) {
      const key = data[pos + 1 + 2 * i]!;
      if (key >>> 0 >= KEY_COUNT) continue;
      let at = map[key >>> PAGE_BITS]!;
      if (at < 0) {
        const p = this.page(s, key >>> PAGE_BITS);
        if (p < 0) {
          ok = false;
          break;
        }
        at = p << PAGE_BITS;
        map[key >>> PAGE_BITS] = at;
        bins = this.bins;
      }
      const bin = at + (key & PAGE_MASK);
      const was = bins[bin]!;
      const sum = was + (data[pos + 2 + 2 * i]! >>> 0);
      if (sum > MAX_BIN) {
        ok = false;
        break;
      }
      if (was === 0 && sum !== 0) used++;
      bins[bin] = sum;
    }
    for (let p = this.head[s]!; p >= 0; p = next[p]!) map[pageKey[p]!] = -1;
    this.used[s] = used;
    if (!ok) this.breakSlot(s);
  }

  /**
   * The index of the first record from which series `id`'s sketch of `window` stands for
   * every record up to `end` (exclusive), or -1 when it stands for none (no sketch, or one
   * that missed some: the rollup reads those records' runs from the log).
   */
  coveredFrom(id: number, window: number, end: number): number {
    const s = this.slotOf(id, window);
    if (s < 0 || this.broken[s] !== 0 || this.first[s]! + this.records[s]! !== end) return -1;
    return this.first[s]!;
  }

  /** i32 of the encoded form of series `id`'s sketch of `window` (one whose coveredFrom is not -1). */
  encodedLength(id: number, window: number): number {
    return 1 + 2 * this.used[this.slotOf(id, window)]!;
  }

  /** Writes the encoded form of series `id`'s sketch of `window` into `out` at `pos`; returns the i32 written. */
  encodeInto(id: number, window: number, out: Int32Array, pos: number): number {
    const s = this.slotOf(id, window);
    const bins = this.bins;
    let at = pos + 1;
    for (let p = this.head[s]!; p >= 0; p = this.next[p]!) {
      const from = p << PAGE_BITS;
      const keyBase = this.pageKey[p]! << PAGE_BITS;
      for (let b = 0; b < PAGE_KEYS; b++) {
        const c = bins[from + b]!;
        if (c === 0) continue;
        out[at++] = keyBase | b;
        out[at++] = c | 0;
      }
    }
    out[pos] = (at - pos - 1) >>> 1;
    return at - pos;
  }

  /** Adds series `id`'s sketch of `window` into `acc`. */
  addTo(id: number, window: number, acc: SketchAccumulator): void {
    const s = this.slotOf(id, window);
    const bins = this.bins;
    for (let p = this.head[s]!; p >= 0; p = this.next[p]!) {
      const from = p << PAGE_BITS;
      const keyBase = this.pageKey[p]! << PAGE_BITS;
      for (let b = 0; b < PAGE_KEYS; b++) if (bins[from + b] !== 0) acc.addKey(keyBase | b, bins[from + b]!);
    }
  }

  /** Drops series `id`'s sketches of windows before `end` (rolled up, or never to be). */
  releaseBefore(id: number, end: number): void {
    for (let s = id * SLOTS; s < id * SLOTS + SLOTS; s++) if (this.window[s]! < end) this.release(s);
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
    let p = this.head[s]!;
    while (p >= 0) {
      const after = this.next[p]!;
      this.next[p] = this.freeHead;
      this.freeHead = p;
      p = after;
    }
    this.head[s] = -1;
    this.window[s] = Number.NaN;
    this.records[s] = 0;
    this.used[s] = 0;
    this.broken[s] = 0;
  }

  /** Marks a slot as standing for no run of records, and gives its pages back. */
  private breakSlot(s: number): void {
    const w = this.window[s]!;
    this.release(s);
    this.window[s] = w;
    this.broken[s] = 1;
  }

  /** A zeroed page for page key `key` in slot `s`'s list; -1 when the arena is at its bound. */
  private page(s: number, key: number): number {
    let p = this.freeHead;
    if (p >= 0) this.freeHead = this.next[p]!;
    else {
      if (this.taken === this.capacity && !this.grow()) return -1;
      p = this.taken++;
    }
    this.bins.fill(0, p << PAGE_BITS, (p + 1) << PAGE_BITS);
    this.pageKey[p] = key;
    this.next[p] = this.head[s]!;
    this.head[s] = p;
    return p;
  }

  private grow(): boolean {
    if (this.capacity >= this.maxPages) return false;
    const capacity = Math.min(this.maxPages, Math.max(FIRST_PAGES, this.capacity * 2));
    const bins = new Uint32Array(capacity << PAGE_BITS);
    bins.set(this.bins);
    const pageKey = new Int32Array(capacity);
    pageKey.set(this.pageKey);
    const next = new Int32Array(capacity);
    next.set(this.next);
    this.bins = bins;
    this.pageKey = pageKey;
    this.next = next;
    this.capacity = capacity;
    return true;
  }
}
