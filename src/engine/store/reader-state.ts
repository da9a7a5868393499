/**
 * The state of the store's reader (StoreReader, reader.ts): its views of the shared buffers
 * and the shapes of what it answers.
 *
 * The reader is one class over several files, one concept each, in a line of subclasses, as
 * the writer is (writer-state.ts): ReaderState (here) ← SeriesTotals (reader-totals.ts) ←
 * RawReads (reader-raw.ts) ← RecordReads (reader-records.ts) ← SketchReads
 * (reader-sketches.ts) ← StoreReader (reader.ts). Each file's methods reach those of the files
 * before it as methods of `this`. The views are `protected`: only the reader's files use them.
 */
import { PAGE_BINS } from '../sketch.js';
import { LOG_RESERVED, POOL_FREE_COUNT, ROLLUP_LOG_RESERVED, StoreLayout, type StoreBuffers } from './layout.js';

/** Tier 1: buckets of one collection interval; tier 2: rollups of rollupMs. */
export type Tier = 1 | 2;

export interface BucketRecord {
  start: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  sketchPos: number;
  sketchLen: number;
}

export interface SeriesSnapshot {
  totalCount: number;
  totalSum: number;
  firstTs: number;
  lastTs: number;
  lastValue: number;
  openStart: number;
  openCount: number;
  openSum: number;
  openMin: number;
  openMax: number;
  openLast: number;
}

export interface RawSamples {
  t: number[];
  v: number[];
}

/** Aggregate of a series over a time range. */
export interface WindowAggregate {
  count: number;
  sum: number;
  min: number;
  max: number;
  /** Newest value in the range and its time (bucket start for bucketed data). */
  last: number;
  lastTs: number;
  /** Buckets whose sketch was no longer in the log (their samples count, not their shape). */
  sketchless: number;
  /**
   * Samples of those buckets: the quantiles of `acc` stand for count - unsketched samples
   * (0 when they stand for all, or when no sketch was asked for).
   */
  unsketched: number;
}

export interface LogView {
  data: Int32Array;
  size: number;
  cell: number;
}


export class ReaderState {
  readonly layout: StoreLayout;
  readonly buffers: StoreBuffers;
  protected readonly hot: Float64Array;
  protected readonly hotI32: Int32Array;
  protected readonly f64: Float64Array;
  protected readonly i32: Int32Array;
  protected readonly meta: Int32Array;
  protected readonly metaBig: BigInt64Array;
  protected readonly logs: [LogView, LogView];
  protected readonly pages: Uint32Array;
  protected readonly front: Uint8Array;

  constructor(buffers: StoreBuffers) {
    this.buffers = buffers;
    this.meta = new Int32Array(buffers.meta);
    this.metaBig = new BigInt64Array(buffers.meta);
    this.layout = new StoreLayout(this.meta);
    this.hot = new Float64Array(buffers.hot);
    this.hotI32 = new Int32Array(buffers.hot);
    this.f64 = new Float64Array(buffers.series);
    this.i32 = new Int32Array(buffers.series);
    const log = new Int32Array(buffers.log);
    const rollupLog = new Int32Array(buffers.rollupLog);
    this.logs = [
      { data: log, size: log.length, cell: LOG_RESERVED },
      { data: rollupLog, size: rollupLog.length, cell: ROLLUP_LOG_RESERVED },
    ];
    this.pages = new Uint32Array(buffers.pool, this.layout.poolPagesOffsetBytes, this.layout.poolPages * PAGE_BINS);
    this.front = new Uint8Array(buffers.pool, this.layout.poolFrontOffsetBytes, this.layout.poolPages * PAGE_BINS);
  }

  /** Free sketch pages in the open-bucket pool. */
  freePages(): number {
    return Atomics.load(this.meta, POOL_FREE_COUNT);
  }
}
