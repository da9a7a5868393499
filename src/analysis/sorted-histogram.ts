/**
 * A histogram of sketch bins kept in value order (bin orders ascending, with their counts and
 * running totals), for window histograms that change by whole buckets: a bucket's bins come
 * in as a run and merge in (counts signed: a bucket leaving counts negative), and quantiles
 * are binary searches over running totals. Used by window-sketches.ts.
 */
import { keyOfOrder, rankOf, valueOf } from '../engine/sketch.js';

/** A histogram in value order: bin orders ascending, with their counts. */
export class Sorted {
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
export function mergeRun(into: Sorted, run: Sorted, scratch: Sorted): void {
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

/**
 * Quantiles of two sorted histograms together (nearest rank, as SketchAccumulator.quantiles):
 * for each, the smallest order at which the two hold more than its rank, by binary search on
 * their running totals instead of a walk through every bin.
 */
export function quantilesOf(a: Sorted, b: Sorted, qs: readonly number[], out: number[]): void {
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
