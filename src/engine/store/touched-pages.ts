/**
 * The series slots' pages written so far, kept by the writer as it writes: the figure that
 * status()'s memory touched needs (usage.ts), without a walk of every series on the host's
 * main thread (12-19 ms at 100,000 series at each dashboard poll, get_monitoring_status and
 * overhead check of a service whose collector writes every second).
 *
 * A series' reach only grows (its samples ever, its bucket and rollup records ever), so the
 * pages it reached are a set that only grows too: a bit a page of the series buffer, set as
 * a write reaches it, and a count of the bits set. The writer lists a series when it writes
 * it (grew()) and settles the list (settle()) before it tells readers it wrote (the epochs),
 * which then read the count from the control block (STORE_PAGES) in O(1). The same ranges as
 * the walk (seriesRanges), so the same figure.
 *
 * Crash safety: the set is this writer's own. A successor starts with none and lists every
 * series in its recover(), so a writer killed between a write and its settle leaves the count
 * short only until the next writer's start.
 */
import type { StoreLayout } from './layout.js';
import { PAGE_BYTES, seriesRanges } from './usage.js';

export class TouchedPages {
  private readonly bits: Uint32Array;
  private readonly listed: Uint8Array;
  private readonly ids: Int32Array;
  private count = 0;
  private pages = 0;
  private readonly add = (from: number, length: number): void => {
    if (length <= 0) return;
    const last = Math.floor((from + length - 1) / PAGE_BYTES);
    for (let p = Math.floor(from / PAGE_BYTES); p <= last; p++) {
      const bit = 1 << (p & 31);
      const w = p >>> 5;
      if ((this.bits[w]! & bit) === 0) {
        this.bits[w] = this.bits[w]! | bit;
        this.pages++;
      }
    }
  };

  constructor(private readonly layout: StoreLayout) {
    const pages = Math.ceil((layout.maxSeries * layout.slotBytes()) / PAGE_BYTES);
    this.bits = new Uint32Array((pages >>> 5) + 1);
    this.listed = new Uint8Array(layout.maxSeries);
    this.ids = new Int32Array(layout.maxSeries);
  }

  /** Lists a series the writer wrote (samples, a bucket or rollup record published). */
  grew(id: number): void {
    if (this.listed[id] !== 0) return;
    this.listed[id] = 1;
    this.ids[this.count++] = id;
  }

  /**
   * Adds the pages the listed series reached, read by `reach` (its samples ever, records of
   * tier 1 and 2 ever; `total` 0 for a series without data) with the writer between writes,
   * and returns the pages written so far.
   */
  settle(reach: (id: number, out: Float64Array) => void): number {
    const out = this.scratch;
    for (let i = 0; i < this.count; i++) {
      const id = this.ids[i]!;
      this.listed[id] = 0;
      reach(id, out);
      if (out[0]! > 0) seriesRanges(this.layout, id, out[0]!, out[1]!, out[2]!, this.add);
    }
    this.count = 0;
    return this.pages;
  }

  private readonly scratch = new Float64Array(3);
}
