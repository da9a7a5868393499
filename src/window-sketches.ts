/**
 * Window aggregates and quantiles, kept between reads. A poll of every series (a dashboard,
 * an agent's get_performance_metrics) found each series' window changed (new samples in its
 * open bucket, or a bucket closed) and merged its ~60 closed bucket sketches again: 25-40 ms
 * for 1,000 series on the host's main thread. Here each series keeps the merged histogram of
 * the closed buckets in its window, sorted in value order with running totals, and their
 * count, sum, min and max; a read adds the buckets closed since and subtracts those the
 * window left (sketch counts are additive), then finds each quantile by binary search over
 * that histogram and the open bucket's bins together. `npm run bench:metrics` measures it.
 *
 * Exact: the same bins and counts as merging every sketch again (test/query.test.ts checks
 * it against the accumulator). When a record or sketch the state depends on is no longer
 * held, the series is rebuilt from what is. At most MAX_SERIES series are kept per window
 * length (about 5 KB each for a wide distribution); past it reads merge afresh.
 */
import { KEY_COUNT, keyOfOrder, orderOf, rankOf, valueOf } from './sketch.js';
import type { SeriesSnapshot, StoreReader } from './store/reader.js';

const MAX_SERIES = 4096;
const WINDOW_LENGTHS = 4;

/** A histogram in value order: bin orders ascending, with their counts. */
class Sorted {
  orders = new Int32Array(64);
  counts = new Float64Array(64);
  /** Running totals of counts (cumulative[i]: counts[0..i]), valid when !stale. */
  cumulative = new Float64Array(64);
  stale = true;
  n = 0;
  total = 0;
  /** Bins left at zero by a bucket leaving the window (see mergeRun). */
  zeros = 0;

  clear(): void {
    this.n = 0;
    this.total = 0;
    this.zeros = 0;
    this.stale = true;
  }

  /** Brings the running totals up to date (after a merge or a new run). */
  accumulate(): void {
    if (!this.stale) return;
    if (this.cumulative.length < this.n) this.cumulative = new Float64Array(this.orders.length);
    let sum = 0;
    for (let i = 0; i < this.n; i++) this.cumulative[i] = sum += this.counts[i]!;
    this.stale = false;
  }

  /** Samples at orders <= `order` (needs accumulate()). */
  atOrBelow(order: number): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.orders[mid]! <= order) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : this.cumulative[lo - 1]!;
  }

  /**
   * The smallest order here at which this and `other` together hold more than `rank`
   * samples, or Infinity (needs accumulate() on both).
   */
  firstPast(rank: number, other: Sorted): number {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid]! + other.atOrBelow(this.orders[mid]!) > rank) hi = mid;
      else lo = mid + 1;
    }
    return lo < this.n ? this.orders[lo]! : Infinity;
  }

  /**
   * Sorts a run collected unsorted: short ones (an open bucket, a bucket or two) by
   * insertion, long ones (a window rebuilt from its buckets) through a typed sort of
   * order·2^21 + index, which orders (at most 2^18) and indices (under 2^21) fit in exactly.
   */
  sortRun(): void {
    this.stale = true;
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
    this.stale = true;
  }
}

/**
 * Adds `run` (sorted by order, duplicates allowed, counts signed: a bucket leaving the
 * window counts negative) into `into`. A short run (a bucket in, a bucket out: tens of bins
 * against hundreds) is applied in place, by binary search, leaving emptied bins at zero until
 * they are a quarter of the histogram; a long one is merged through `scratch`, whose arrays
 * `into` then takes (the two swap, so nothing is copied back).
 */
function mergeRun(into: Sorted, run: Sorted, scratch: Sorted): void {
  if (run.n * 8 < into.n && applyInPlace(into, run)) return;
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
  into.zeros = 0;
  into.stale = true;
}

/** mergeRun for a short run; false (nothing changed) when it would leave too many empty bins. */
function applyInPlace(into: Sorted, run: Sorted): boolean {
  let inserts = 0;
  for (let j = 0; j < run.n; j++) if (find(into, run.orders[j]!) < 0) inserts++;
  if (into.n + inserts > into.orders.length) into.grow(Math.max(into.n + inserts, into.orders.length * 2));
  for (let j = 0; j < run.n; j++) {
    const order = run.orders[j]!;
    const count = run.counts[j]!;
    let at = find(into, order);
    if (at < 0) {
      at = -at - 1;
      into.orders.copyWithin(at + 1, at, into.n);
      into.counts.copyWithin(at + 1, at, into.n);
      into.orders[at] = order;
      into.counts[at] = 0;
      into.n++;
    }
    const before = into.counts[at]!;
    const after = before + count;
    into.counts[at] = after > 0 ? after : 0;
    into.total += into.counts[at]! - before;
    if (before > 0 && after <= 0) into.zeros++;
    else if (before <= 0 && after > 0) into.zeros--;
  }
  into.stale = true;
  return into.zeros * 4 <= into.n || (compact(into), true);
}

/** Index of `order` in a histogram, or -(insertion point) - 1. */
function find(h: Sorted, order: number): number {
  let lo = 0;
  let hi = h.n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const o = h.orders[mid]!;
    if (o < order) lo = mid + 1;
    else if (o > order) hi = mid - 1;
    else return mid;
  }
  return -lo - 1;
}

/** Drops the bins at zero. */
function compact(h: Sorted): void {
  let m = 0;
  for (let i = 0; i < h.n; i++) {
    if (h.counts[i]! > 0) {
      h.orders[m] = h.orders[i]!;
      h.counts[m++] = h.counts[i]!;
    }
  }
  h.n = m;
  h.zeros = 0;
  h.stale = true;
}

interface State {
  sketch: Sorted;
  /** Record numbers [first, next) of the closed buckets in the sketch. */
  first: number;
  next: number;
  /** Count, sum, min and max of those buckets (from their records), kept with the sketch. */
  stats: Float64Array;
}

/** A window's aggregate: its closed buckets and, when it starts in the window, the open one. */
export interface WindowStats {
  count: number;
  sum: number;
  min: number;
  max: number;
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
   * The aggregate of a series over the buckets starting at or after `spanStart` and its open
   * bucket (from `open`, a snapshot, when it starts there), with quantiles `qs` (ascending)
   * into `out`; undefined when the bucket ring does not reach back to spanStart (the caller
   * merges from rollups instead).
   */
  read(id: number, windowMs: number, spanStart: number, open: SeriesSnapshot, qs: readonly number[], out: number[]): WindowStats | undefined {
    const state = this.closed(id, windowMs, spanStart);
    if (state === undefined) return undefined;
    const [count, sum, min, max] = state.stats as unknown as [number, number, number, number];
    const stats: WindowStats = { count, sum, min, max };
    this.open.clear();
    if (open.openCount > 0 && open.openStart >= spanStart) {
      stats.count += open.openCount;
      stats.sum += open.openSum;
      if (open.openMin < stats.min) stats.min = open.openMin;
      if (open.openMax > stats.max) stats.max = open.openMax;
      // An open bucket's bins are distinct keys: sorting them is enough.
      this.reader.forEachOpenBin(id, this.collectOpen);
      this.open.sortRun();
    }
    quantilesOf(state.sketch, this.open, qs, out);
    return stats;
  }

  /** The closed part of a series' window, brought up to date; undefined when the ring does not reach spanStart. */
  private closed(id: number, windowMs: number, spanStart: number): State | undefined {
    const reader = this.reader;
    const head = reader.bucketCount(id, 1);
    let states = this.byLength.get(windowMs);
    if (!states) {
      if (this.byLength.size >= WINDOW_LENGTHS) this.byLength.delete(this.byLength.keys().next().value!);
      states = new Map();
      this.byLength.set(windowMs, states);
    }
    let state = states.get(id);
    if (state && this.advance(id, state, head, spanStart)) return state;
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
    state = { sketch, first: k + 1, next: k + 1, stats: new Float64Array(6) };
    if (!this.advance(id, state, head, spanStart, true)) return undefined;
    if (states.size < MAX_SERIES || states.has(id)) states.set(id, state);
    return state;
  }

  /**
   * Adds records [next, head) and takes out those now before spanStart, in one merge; false
   * when one of them is no longer held (the state is then rebuilt).
   */
  private advance(id: number, state: State, head: number, spanStart: number, fresh = false): boolean {
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
    if (this.run.n === 0 && !fresh) return true;
    // The buckets changed: their count, sum, min and max from their records, without sketches.
    if (!reader.windowStats(id, spanStart, Infinity, state.stats)) return false;
    if (this.run.n === 0) return true;
    this.run.sortRun();
    mergeRun(state.sketch, this.run, this.scratch);
    return true;
  }
}

/**
 * Quantiles of two sorted histograms together (nearest rank, as SketchAccumulator.quantiles):
 * for each, the smallest order at which the two hold more than its rank, by binary search on
 * their running totals instead of a walk through every bin.
 */
function quantilesOf(a: Sorted, b: Sorted, qs: readonly number[], out: number[]): void {
  const total = a.total + b.total;
  for (let q = 0; q < qs.length; q++) out[q] = Number.NaN;
  if (total === 0) return;
  a.accumulate();
  b.accumulate();
  for (let q = 0; q < qs.length; q++) {
    const rank = rankOf(qs[q]!, total);
    const order = Math.min(a.firstPast(rank, b), b.firstPast(rank, a));
    if (order !== Infinity) out[q] = valueOf(keyOfOrder(order));
  }
}
