/**
 * Window quantiles of distributions, kept between reads. A poll of every series (a dashboard,
 * an agent's get_performance_metrics) found each series' window changed (new samples in its
 * open bucket, or a bucket closed) and merged its ~60 closed bucket sketches again: 40 ms
 * for 1,000 series on the host's main thread. Here each series keeps the merged histogram of
 * the closed buckets in its window, sorted in value order; a read adds the buckets closed
 * since and subtracts those the window left (sketch counts are additive), then walks it
 * together with the open bucket's bins for the quantiles.
 *
 * Exact: the same bins and counts as merging every sketch again (test/window-sketches.test.ts
 * checks it against the accumulator). When a record or sketch the state depends on is no
 * longer held, the series is rebuilt from what is. At most MAX_SERIES series are kept per
 * window length (about 5 KB each for a wide distribution); past it reads merge afresh.
 */
import { KEY_COUNT, keyOfOrder, orderOf, rankOf, valueOf } from './sketch.js';
import type { StoreReader } from './store/reader.js';

const MAX_SERIES = 4096;
const WINDOW_LENGTHS = 4;

/** A histogram in value order: bin orders ascending, with their counts. */
class Sorted {
  orders = new Int32Array(64);
  counts = new Float64Array(64);
  n = 0;
  total = 0;

  clear(): void {
    this.n = 0;
    this.total = 0;
  }

  /**
   * Sorts a run collected unsorted: short ones (an open bucket, a bucket or two) by
   * insertion, long ones (a window rebuilt from its buckets) through a typed sort of
   * order·2^21 + index, which orders (at most 2^18) and indices (under 2^21) fit in exactly.
   */
  sortRun(): void {
    const o = this.orders;
    const c = this.counts;
    if (this.n > 64 && this.n < 1 << 21) {
      const keyed = new Float64Array(this.n);
      for (let i = 0; i < this.n; i++) keyed[i] = o[i]! * 2097152 + i;
      keyed.sort();
      const orders = new Int32Array(this.orders.length);
      const counts = new Float64Array(this.counts.length);
      for (let i = 0; i < this.n; i++) {
        const from = keyed[i]! % 2097152;
        orders[i] = o[from]!;
        counts[i] = c[from]!;
      }
      this.orders = orders;
      this.counts = counts;
      return;
    }
    for (let i = 1; i < this.n; i++) {
      const ko = o[i]!;
      const kc = c[i]!;
      let j = i - 1;
      while (j >= 0 && o[j]! > ko) {
        o[j + 1] = o[j]!;
        c[j + 1] = c[j]!;
        j--;
      }
      o[j + 1] = ko;
      c[j + 1] = kc;
    }
  }

  push(order: number, count: number): void {
    if (this.n === this.orders.length) this.grow(this.n * 2);
    this.orders[this.n] = order;
    this.counts[this.n++] = count;
    this.total += count;
  }

  grow(capacity: number): void {
    const orders = new Int32Array(capacity);
    const counts = new Float64Array(capacity);
    orders.set(this.orders.subarray(0, this.n));
    counts.set(this.counts.subarray(0, this.n));
    this.orders = orders;
    this.counts = counts;
  }
}

/**
 * Adds `run` (sorted by order, duplicates allowed, counts signed: a bucket leaving the
 * window counts negative) into `into`, merging through `scratch`, whose arrays it then
 * takes (the two swap, so nothing is copied back).
 */
function mergeRun(into: Sorted, run: Sorted, scratch: Sorted): void {
  scratch.clear();
  if (scratch.orders.length < into.n + run.n) scratch.grow(into.n + run.n);
  const so = scratch.orders;
  const sc = scratch.counts;
  let m = 0;
  let total = 0;
  let i = 0;
  let j = 0;
  while (i < into.n || j < run.n) {
    const a = i < into.n ? into.orders[i]! : Infinity;
    const b = j < run.n ? run.orders[j]! : Infinity;
    let order: number;
    let count = 0;
    if (a <= b) {
      order = a;
      count = into.counts[i++]!;
    } else order = b;
    while (j < run.n && run.orders[j] === order) count += run.counts[j++]!;
    if (count > 0) {
      so[m] = order;
      sc[m++] = count;
      total += count;
    }
  }
  scratch.orders = into.orders;
  scratch.counts = into.counts;
  into.orders = so;
  into.counts = sc;
  into.n = m;
  into.total = total;
}

interface State {
  sketch: Sorted;
  /** Record numbers [first, next) of the closed buckets in the sketch. */
  first: number;
  next: number;
}

export class WindowSketches {
  private readonly reader: StoreReader;
  private readonly byLength = new Map<number, Map<number, State>>();
  private readonly run = new Sorted();
  private readonly open = new Sorted();
  private readonly scratch = new Sorted();
  /** +1 while adding records to `run`, -1 while taking them out. */
  private sign: 1 | -1 = 1;
  private readonly collect = (key: number, count: number): void => {
    if (key >>> 0 < KEY_COUNT) this.run.push(orderOf(key), this.sign * count);
  };
  private readonly collectOpen = (key: number, count: number): void => {
    if (key >>> 0 < KEY_COUNT) this.open.push(orderOf(key), count);
  };

  constructor(reader: StoreReader) {
    this.reader = reader;
  }

  /**
   * Quantiles `qs` (ascending) of a series over the buckets starting at or after `spanStart`
   * and its open bucket when `withOpen`, into `out`; false when the bucket ring does not
   * reach back to spanStart (the caller merges from rollups instead).
   */
  quantiles(id: number, windowMs: number, spanStart: number, withOpen: boolean, qs: readonly number[], out: number[]): boolean {
    const closed = this.closed(id, windowMs, spanStart);
    if (closed === undefined) return false;
    this.open.clear();
    if (withOpen) {
      // An open bucket's bins are distinct keys: sorting them is enough.
      this.reader.forEachOpenBin(id, this.collectOpen);
      this.open.sortRun();
    }
    walk(closed, this.open, qs, out);
    return true;
  }

  /** The closed part of a series' window, brought up to date; undefined when the ring does not reach spanStart. */
  private closed(id: number, windowMs: number, spanStart: number): Sorted | undefined {
    const reader = this.reader;
    const head = reader.bucketCount(id, 1);
    let states = this.byLength.get(windowMs);
    if (!states) {
      if (this.byLength.size >= WINDOW_LENGTHS) this.byLength.delete(this.byLength.keys().next().value!);
      states = new Map();
      this.byLength.set(windowMs, states);
    }
    let state = states.get(id);
    if (state && this.advance(id, state, head, spanStart)) return state.sketch;
    // New, or a record it depends on is gone: rebuild from the window's first record.
    let k = head - 1;
    while (k >= 0) {
      const start = reader.bucketStartAt(id, k);
      if (Number.isNaN(start)) return undefined; // the ring no longer reaches back to spanStart
      if (start < spanStart) break;
      k--;
    }
    const sketch = state?.sketch ?? new Sorted();
    sketch.clear();
    state = { sketch, first: k + 1, next: k + 1 };
    if (!this.advance(id, state, head, spanStart)) return undefined;
    if (states.size < MAX_SERIES || states.has(id)) states.set(id, state);
    return sketch;
  }

  /**
   * Adds records [next, head) and takes out those now before spanStart, in one merge; false
   * when one of them is no longer held (the state is then rebuilt).
   */
  private advance(id: number, state: State, head: number, spanStart: number): boolean {
    const reader = this.reader;
    if (head < state.next) return false;
    this.run.clear();
    this.sign = 1;
    for (; state.next < head; state.next++) if (!reader.forEachBucketBin(id, state.next, this.collect)) return false;
    this.sign = -1;
    while (state.first < state.next) {
      const start = reader.bucketStartAt(id, state.first);
      if (Number.isNaN(start)) return false;
      if (start >= spanStart) break;
      if (!reader.forEachBucketBin(id, state.first, this.collect)) return false;
      state.first++;
    }
    if (this.run.n === 0) return true;
    this.run.sortRun();
    mergeRun(state.sketch, this.run, this.scratch);
    return true;
  }
}

/** Quantiles of two sorted histograms together (nearest rank, as SketchAccumulator.quantiles). */
function walk(a: Sorted, b: Sorted, qs: readonly number[], out: number[]): void {
  const total = a.total + b.total;
  for (let q = 0; q < qs.length; q++) out[q] = Number.NaN;
  if (total === 0) return;
  let i = 0;
  let j = 0;
  let cumulative = 0;
  let qi = 0;
  while (qi < qs.length && (i < a.n || j < b.n)) {
    const oa = i < a.n ? a.orders[i]! : Infinity;
    const ob = j < b.n ? b.orders[j]! : Infinity;
    let order: number;
    if (oa <= ob) {
      order = oa;
      cumulative += a.counts[i++]!;
      if (oa === ob) cumulative += b.counts[j++]!;
    } else {
      order = ob;
      cumulative += b.counts[j++]!;
    }
    while (qi < qs.length && cumulative > rankOf(qs[qi]!, total)) out[qi++] = valueOf(keyOfOrder(order));
  }
}
