/**
 * A series' totals and its open bucket, read lock-free (reader.ts): snapshot() and the
 * single figures readers of every series take (lastValue, totalSum, totalCount), the closed
 * totals a reader matches against the records it sees, and the newest raw sample's time.
 *
 * A close moves the open bucket into the closed totals in several stores (closes.ts,
 * resetOpen), on the collector's thread while these run on another: a read that fell between
 * them counted the bucket twice or not at all (a hub's 3,000 series summed 3,001 samples, a
 * counter's total went up, then down). The writer keeps the series' TOTALS_SEQ odd during a
 * move, and these read again until they read between two moves (settled()).
 */
import { CLOSED_COUNT, CLOSED_COUNT_AT, CLOSED_LAST, CLOSED_SUM, FIRST_TS, HOT_F64, OPEN_COUNT, OPEN_LAST, OPEN_MAX, OPEN_MIN, OPEN_START, OPEN_SUM, RAW_HEAD, TOTALS_SEQ } from './layout.js';
import { everRecorded } from './recorded.js';
import { ReaderState, type SeriesSnapshot } from './reader-state.js';

export class SeriesTotals extends ReaderState {
  /** When settled() began to look at the clock for the read in progress. */
  private settleFrom = 0;

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
    for (let tries = 0; ; tries++) {
      const seq = Atomics.load(this.i32, b * 2 + TOTALS_SEQ);
      const openStart = hot[hb + OPEN_START]!;
      const counted = f[b + CLOSED_COUNT_AT] === openStart;
      const openCount = counted ? 0 : hot[hb + OPEN_COUNT]!;
      const openSum = counted ? 0 : hot[hb + OPEN_SUM]!;
      const snap = {
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
      if (this.settled(b, seq, tries)) return snap;
    }
  }

  /** snapshot()'s lastValue alone (a gauge's reading), for readers of every series at once. */
  lastValue(id: number): number {
    const b = id * this.layout.slotF64;
    const hb = id * HOT_F64;
    for (let tries = 0; ; tries++) {
      const seq = Atomics.load(this.i32, b * 2 + TOTALS_SEQ);
      const open = this.f64[b + CLOSED_COUNT_AT] === this.hot[hb + OPEN_START] ? 0 : this.hot[hb + OPEN_COUNT]!;
      const value = open > 0 ? this.hot[hb + OPEN_LAST]! : this.f64[b + CLOSED_LAST]!;
      if (this.settled(b, seq, tries)) return value;
    }
  }

  /** snapshot()'s totalSum alone (a counter's total). */
  totalSum(id: number): number {
    const b = id * this.layout.slotF64;
    const hb = id * HOT_F64;
    for (let tries = 0; ; tries++) {
      const seq = Atomics.load(this.i32, b * 2 + TOTALS_SEQ);
      const sum = this.f64[b + CLOSED_SUM]! + (this.f64[b + CLOSED_COUNT_AT] === this.hot[hb + OPEN_START] ? 0 : this.hot[hb + OPEN_SUM]!);
      if (this.settled(b, seq, tries)) return sum;
    }
  }

  /**
   * The start of the newest bucket holding a sample of the series (the open one when it holds
   * any), or 0 before its first: whether a window, which takes the buckets starting in it, has
   * any of the series' samples, read without summarising the window (query.ts, `sampled`).
   */
  newestBucketStart(id: number): number {
    const b = id * this.layout.slotF64;
    const hb = id * HOT_F64;
    for (let tries = 0; ; tries++) {
      const seq = Atomics.load(this.i32, b * 2 + TOTALS_SEQ);
      const closed = this.f64[b + CLOSED_COUNT_AT]!;
      const start = this.hot[hb + OPEN_COUNT]! > 0 ? Math.max(closed, this.hot[hb + OPEN_START]!) : closed;
      if (this.settled(b, seq, tries)) return start;
    }
  }

  /** Whether the series has had data in this store, from its hot line alone (recorded.ts). */
  everRecorded(id: number): boolean {
    return everRecorded(this.hot, this.hotI32, id);
  }

  /** Total samples of a series; cheap, for change detection. */
  totalCount(id: number): number {
    const b = id * this.layout.slotF64;
    for (let tries = 0; ; tries++) {
      const seq = Atomics.load(this.i32, b * 2 + TOTALS_SEQ);
      const count = this.roughCount(id);
      if (this.settled(b, seq, tries)) return count;
    }
  }

  /**
   * totalCount()'s read, without waiting out a move (settled()): a bucket being closed may count twice
   * or not at all for that instant. For estimates over every series at once that tolerate it,
   * such as the memory touched (usage.ts), which status() reads at each call: the two reads of
   * TOTALS_SEQ a series took status() from 0.99 to 1.30 ms at 10,000 series.
   */
  roughCount(id: number): number {
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
    for (let tries = 0; ; tries++) {
      const seq = Atomics.load(this.i32, b * 2 + TOTALS_SEQ);
      out[0] = this.f64[b + CLOSED_COUNT]!;
      out[1] = this.f64[b + CLOSED_SUM]!;
      out[2] = this.f64[b + CLOSED_COUNT_AT]!;
      if (this.settled(b, seq, tries)) return;
    }
  }

  /**
   * Whether a read of the totals of the series whose slot is at `b`, begun when its
   * TOTALS_SEQ read `seq`, fell between two moves (the sequence even, and the same after).
   * A move is a few stores, but the writer's thread may be descheduled inside one for a
   * time slice of a crowded machine (4,096 tries of a reader took a torn read there): past
   * SETTLE_TRIES the clock is looked at, and after SETTLE_MS the read is taken as it is (a
   * writer that ended inside one, which its straight-line stores leave no room for; its
   * successor's recover() evens the sequence).
   */
  protected settled(b: number, seq: number, tries: number): boolean {
    if ((seq & 1) === 0 && Atomics.load(this.i32, b * 2 + TOTALS_SEQ) === seq) return true;
    if (tries < SETTLE_TRIES) return false;
    const now = performance.now();
    if (tries === SETTLE_TRIES) this.settleFrom = now;
    return now - this.settleFrom > SETTLE_MS;
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

/** Reads of a series' totals while a move is under way before settled() looks at the clock, and the time after which it takes the read as it is. */
const SETTLE_TRIES = 4096;
const SETTLE_MS = 50;
