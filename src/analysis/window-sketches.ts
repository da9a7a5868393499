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
import { KEY_COUNT, orderOf } from '../engine/sketch.js';
import { Sorted, mergeRun, quantilesOf } from './sorted-histogram.js';
import type { SeriesSnapshot, StoreReader } from '../engine/store/reader.js';

const MAX_SERIES = 4096;
const WINDOW_LENGTHS = 4;

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
    // Whether a record came or went, not whether a bin did: a record may hold no bins (a
    // hub's member counters and gauges travel without sketches), and its stats still count.
    const before = state.first + state.next;
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
    if (state.first + state.next === before && !fresh) return true;
    // The buckets changed: their count, sum, min and max from their records, without sketches.
    if (!reader.windowStats(id, spanStart, Infinity, state.stats)) return false;
    if (this.run.n === 0) return true;
    this.run.sortRun();
    mergeRun(state.sketch, this.run, this.scratch);
    return true;
  }
}
