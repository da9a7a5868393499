/**
 * A series' totals and its open bucket, read lock-free (reader.ts): snapshot() and the
 * single figures readers of every series take (lastValue, totalSum, totalCount), the closed
 * totals a reader matches against the records it sees, and the newest raw sample's time.
 */
import { CLOSED_COUNT, CLOSED_COUNT_AT, CLOSED_LAST, CLOSED_SUM, FIRST_TS, HOT_F64, OPEN_COUNT, OPEN_LAST, OPEN_MAX, OPEN_MIN, OPEN_START, OPEN_SUM, RAW_HEAD } from './layout.js';
import { everRecorded } from './recorded.js';
import { ReaderState, type SeriesSnapshot } from './reader-state.js';

export class SeriesTotals extends ReaderState {
  /**
   * Totals and the open bucket of a series. The writer moves a closed bucket's totals into
   * CLOSED_* and marks CLOSED_COUNT_AT before it empties the open bucket, so a bucket whose
   * start equals CLOSED_COUNT_AT is counted once, on the closed side.
   */
  snapshot(id: number): SeriesSnapshot {
    const f = this.f64;
    const hot = this.hot;
    const b = id * this.layout.slotF64;
    const hb = id * HOT_F64;
    const openStart = hot[hb + OPEN_START]!;
    const counted = f[b + CLOSED_COUNT_AT] === openStart;
    const openCount = counted ? 0 : hot[hb + OPEN_COUNT]!;
    const openSum = counted ? 0 : hot[hb + OPEN_SUM]!;
    return {
      totalCount: f[b + CLOSED_COUNT]! + openCount,
      totalSum: f[b + CLOSED_SUM]! + openSum,
      firstTs: f[b + FIRST_TS]!,
      lastTs: this.newestRawTime(id),
      lastValue: openCount > 0 ? hot[hb + OPEN_LAST]! : f[b + CLOSED_LAST]!,
      openStart,
      openCount,
      openSum,
      openMin: hot[hb + OPEN_MIN]!,
      openMax: hot[hb + OPEN_MAX]!,
      openLast: hot[hb + OPEN_LAST]!,
    };
  }

  /** snapshot()'s lastValue alone (a gauge's reading), for readers of every series at once. */
  lastValue(id: number): number {
    const b = id * this.layout.slotF64;
    const hb = id * HOT_F64;
    const open = this.f64[b + CLOSED_COUNT_AT] === this.hot[hb + OPEN_START] ? 0 : this.hot[hb + OPEN_COUNT]!;
    return open > 0 ? this.hot[hb + OPEN_LAST]! : this.f64[b + CLOSED_LAST]!;
  }

  /** snapshot()'s totalSum alone (a counter's total). */
  totalSum(id: number): number {
    const b = id * this.layout.slotF64;
    const hb = id * HOT_F64;
    return this.f64[b + CLOSED_SUM]! + (this.f64[b + CLOSED_COUNT_AT] === this.hot[hb + OPEN_START] ? 0 : this.hot[hb + OPEN_SUM]!);
  }

  /** Whether the series has had data in this store, from its hot line alone (recorded.ts). */
  everRecorded(id: number): boolean {
    return everRecorded(this.hot, this.hotI32, id);
  }

  /** Total samples of a series; cheap, for change detection. */
  totalCount(id: number): number {
    const f = this.f64;
    const b = id * this.layout.slotF64;
    const hb = id * HOT_F64;
    return f[b + CLOSED_COUNT]! + (f[b + CLOSED_COUNT_AT] === this.hot[hb + OPEN_START] ? 0 : this.hot[hb + OPEN_COUNT]!);
  }

  /**
   * The totals of the closed buckets: out[0] count, out[1] sum, out[2] the start of the
   * newest bucket they include. The writer publishes a bucket's record before it adds the
   * bucket to these totals, so a reader that reads them first, then the head, knows whether
   * the newest record it sees is in them (its start equals out[2]) or not yet.
   */
  closedTotals(id: number, out: Float64Array): void {
    const b = id * this.layout.slotF64;
    out[0] = this.f64[b + CLOSED_COUNT]!;
    out[1] = this.f64[b + CLOSED_SUM]!;
    out[2] = this.f64[b + CLOSED_COUNT_AT]!;
  }

  /** Time (ms) of the newest published raw sample, or NaN. */
  newestRawTime(id: number): number {
    const L = this.layout;
    const base = id * L.slotF64;
    const head = Atomics.load(this.hotI32, id * HOT_F64 * 2 + RAW_HEAD);
    const t = this.f64[base + L.rawOffsetF64 + 2 * ((head - 1) & (L.rawCap - 1))]!;
    return t > 0 ? t : Number.NaN;
  }
}
