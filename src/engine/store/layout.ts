/**
 * Layout of the series store: six SharedArrayBuffers with a single writer, the collector.
 * Readers (the coordinator, the alert actor, report tasks) read them in place.
 *
 * meta — configuration and the writer's shared cursors:
 * | bytes | cell                | type | meaning                                              |
 * |-------|---------------------|------|------------------------------------------------------|
 * | 0..40 | config              | i32  | MAX_SERIES … DIR_ENTRIES (see below)                 |
 * | 64    | POOL_FREE_HEAD      | i32  | first free sketch page, -1 when none                 |
 * | 68    | POOL_FREE_COUNT     | i32  | free sketch pages                                    |
 * | 72    | INITIALIZED         | i32  | 1 once the pool's free list is built                 |
 * | 128   | LOG_RESERVED        | i64  | log position up to which the writer may overwrite    |
 * | 136   | ROLLUP_LOG_RESERVED | i64  | the same for the rollup log                          |
 *
 * hot — the state every sample touches, one 64-byte line per series id, all series side by
 * side so that the lines of the busy ones stay in cache:
 * | bytes | cell        | type | meaning                                                    |
 * |-------|-------------|------|------------------------------------------------------------|
 * | 0..32 | OPEN_COUNT… | f64  | count, sum, min, max, last of the open bucket              |
 * | 40    | OPEN_START  | f64  | start (ms) of the open bucket                              |
 * | 48    | RAW_WRITTEN | f64  | raw samples written (the writer's own count; RAW_HEAD lags)|
 *
 * series — one fixed slot per series id (slotBytes()):
 * | bytes        | field            | type | meaning                                           |
 * |--------------|------------------|------|---------------------------------------------------|
 * | 0            | CLOSED_COUNT     | f64  | samples in closed buckets (+ open = all ever)     |
 * | 8            | CLOSED_SUM       | f64  | their sum (+ open sum = a counter's total)        |
 * | 16           | CLOSED_LAST      | f64  | last value of the newest closed bucket            |
 * | 24           | CLOSED_COUNT_AT  | f64  | start of the newest bucket moved into CLOSED_*    |
 * | 32           | ROLLED_UPTO      | f64  | start of the newest rollup window written, or 0   |
 * | 40           | FIRST_TS         | f64  | time (ms) of the first sample                     |
 * | 64           | RAW_HEAD         | i32  | raw samples published (Atomics, wraps)            |
 * | 68           | T1_HEAD          | i32  | bucket records published                          |
 * | 72           | T2_HEAD          | i32  | rollup records published                          |
 * | 76           | DIR_SELECT       | i32  | which page directory is live (0 or 1)             |
 * | 80, 84       | DIR_USED_0/1     | i32  | entries in each directory                         |
 * | 128          | DIR_0, DIR_1     | i32  | DIR_ENTRIES × (page key, page id) each            |
 * | RAW_OFFSET   | raw ring         | f64  | RAW_CAP × (time, value)                           |
 * | T1_OFFSET    | bucket ring      | f64  | T1_CAP × BUCKET_F64 (see BUCKET_*)                |
 * | T2_OFFSET    | rollup ring      | f64  | T2_CAP × BUCKET_F64                               |
 *
 * log, rollupLog — circular i32 logs of encoded sketches (engine/sketch.ts), one per closed bucket,
 *   addressed by absolute position (a record never straddles the end).
 * pool — sketch pages of open buckets: POOL_PAGES i32 free-list links, then POOL_PAGES ×
 *   PAGE_BINS u32 counts. A page holds 512 consecutive sketch keys (8 powers of two). A bin
 *   cannot overflow: it counts at most its bucket's samples, and a bucket stops adding to
 *   its sketch at 2^32 - 1 samples.
 *
 * Per-sample work touches only the series' hot line, its raw ring and a sketch page; totals
 * and the newest value are derived (closed + open), so a sample costs about a dozen stores.
 *
 * The slot memory of a series id is first touched when that series gets data, so the
 * resident size grows with the series in use; `reservedBytes` is the bound.
 */
import { PAGE_BINS } from '../sketch.js';

// meta, i32 cells
export const MAX_SERIES = 0;
export const RAW_CAP = 1;
export const T1_CAP = 2;
export const T2_CAP = 3;
export const INTERVAL_MS = 4;
export const ROLLUP_MS = 5;
export const LOG_INTS = 6;
export const ROLLUP_LOG_INTS = 7;
export const POOL_PAGES = 8;
export const DIR_ENTRIES = 9;
export const POOL_FREE_HEAD = 16;
export const POOL_FREE_COUNT = 17;
export const INITIALIZED = 18;
// meta, i64 cells
export const LOG_RESERVED = 16;
export const ROLLUP_LOG_RESERVED = 17;
export const META_BYTES = 256;

// hot, f64 cells
export const OPEN_COUNT = 0;
export const OPEN_SUM = 1;
export const OPEN_MIN = 2;
export const OPEN_MAX = 3;
export const OPEN_LAST = 4;
export const OPEN_START = 5;
export const RAW_WRITTEN = 6;
export const HOT_F64 = 8;

// slot, f64 cells
export const CLOSED_COUNT = 0;
export const CLOSED_SUM = 1;
export const CLOSED_LAST = 2;
export const CLOSED_COUNT_AT = 3;
export const ROLLED_UPTO = 4;
export const FIRST_TS = 5;
// slot, i32 cells
export const RAW_HEAD = 16;
export const T1_HEAD = 17;
export const T2_HEAD = 18;
export const DIR_SELECT = 19;
export const DIR_USED_0 = 20;
export const DIR_OFFSET_BYTES = 128;

// bucket record, f64 cells
export const BUCKET_START = 0;
export const BUCKET_COUNT = 1;
export const BUCKET_SUM = 2;
export const BUCKET_MIN = 3;
export const BUCKET_MAX = 4;
export const BUCKET_LAST = 5;
export const BUCKET_SKETCH_POS = 6;
export const BUCKET_SKETCH_LEN = 7;
export const BUCKET_F64 = 8;

/** Log space is reserved in blocks of this many i32 (one i64 store per block). */
export const LOG_BLOCK = 1 << 16;
/** Directory entries per series: page keys a series can use at once (64 powers of two). */
export const DEFAULT_DIR_ENTRIES = 8;

export interface StoreConfig {
  maxSeries: number;
  rawCapacity: number;
  bucketCapacity: number;
  rollupCapacity: number;
  intervalMs: number;
  rollupMs: number;
  logBytes: number;
  rollupLogBytes: number;
  poolBytes: number;
}

export interface StoreBuffers {
  meta: SharedArrayBuffer;
  hot: SharedArrayBuffer;
  series: SharedArrayBuffer;
  log: SharedArrayBuffer;
  rollupLog: SharedArrayBuffer;
  pool: SharedArrayBuffer;
}

/** Offsets of one configuration, computed once and shared by writer and readers. */
export class StoreLayout {
  readonly maxSeries: number;
  readonly rawCap: number;
  readonly t1Cap: number;
  readonly t2Cap: number;
  readonly intervalMs: number;
  readonly rollupMs: number;
  readonly logInts: number;
  readonly rollupLogInts: number;
  readonly poolPages: number;
  readonly dirEntries: number;
  /** Slot size in f64 units; the slot of id starts at f64 index id * slotF64. */
  readonly slotF64: number;
  readonly rawOffsetF64: number;
  readonly t1OffsetF64: number;
  readonly t2OffsetF64: number;
  /** Where the pages start in the pool buffer (after the i32 page links). */
  readonly poolPagesOffsetF64: number;
  readonly poolPagesOffsetBytes: number;

  constructor(meta: Int32Array) {
    this.maxSeries = meta[MAX_SERIES]!;
    this.rawCap = meta[RAW_CAP]!;
    this.t1Cap = meta[T1_CAP]!;
    this.t2Cap = meta[T2_CAP]!;
    this.intervalMs = meta[INTERVAL_MS]!;
    this.rollupMs = meta[ROLLUP_MS]!;
    this.logInts = meta[LOG_INTS]!;
    this.rollupLogInts = meta[ROLLUP_LOG_INTS]!;
    this.poolPages = meta[POOL_PAGES]!;
    this.dirEntries = meta[DIR_ENTRIES]!;
    const dirBytes = 2 * this.dirEntries * 8;
    this.rawOffsetF64 = Math.ceil((DIR_OFFSET_BYTES + dirBytes) / 64) * 8;
    this.t1OffsetF64 = this.rawOffsetF64 + 2 * this.rawCap;
    this.t2OffsetF64 = this.t1OffsetF64 + BUCKET_F64 * this.t1Cap;
    this.slotF64 = Math.ceil((this.t2OffsetF64 + BUCKET_F64 * this.t2Cap) / 8) * 8;
    this.poolPagesOffsetF64 = Math.ceil(this.poolPages / 2 / 8) * 8;
    this.poolPagesOffsetBytes = this.poolPagesOffsetF64 * 8;
  }

  slotBytes(): number {
    return this.slotF64 * 8;
  }

  /** i32 index of directory `which` (0/1) of the slot at f64 index `base`. */
  dirIndex(base: number, which: number): number {
    return base * 2 + DIR_OFFSET_BYTES / 4 + which * this.dirEntries * 2;
  }
}

function powerOfTwoAtMost(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

function metaFor(config: StoreConfig, meta: Int32Array): StoreLayout {
  meta[MAX_SERIES] = config.maxSeries;
  meta[RAW_CAP] = config.rawCapacity;
  meta[T1_CAP] = config.bucketCapacity;
  meta[T2_CAP] = config.rollupCapacity;
  meta[INTERVAL_MS] = config.intervalMs;
  meta[ROLLUP_MS] = config.rollupMs;
  meta[LOG_INTS] = Math.max(LOG_BLOCK, powerOfTwoAtMost(config.logBytes / 4));
  meta[ROLLUP_LOG_INTS] = Math.max(LOG_BLOCK, powerOfTwoAtMost(config.rollupLogBytes / 4));
  meta[POOL_PAGES] = Math.max(16, Math.floor(config.poolBytes / (PAGE_BINS * 4 + 4)));
  meta[DIR_ENTRIES] = DEFAULT_DIR_ENTRIES;
  meta[POOL_FREE_HEAD] = -1;
  return new StoreLayout(meta);
}

/** Bytes of each of the store's buffers for a configuration, computed without allocating them. */
export function storeSizes(config: StoreConfig): Record<keyof StoreBuffers, number> & { slotBytes: number } {
  const layout = metaFor(config, new Int32Array(META_BYTES / 4));
  return {
    meta: META_BYTES,
    hot: HOT_F64 * 8 * layout.maxSeries,
    series: layout.slotBytes() * layout.maxSeries,
    log: layout.logInts * 4,
    rollupLog: layout.rollupLogInts * 4,
    pool: layout.poolPagesOffsetBytes + layout.poolPages * PAGE_BINS * 4,
    slotBytes: layout.slotBytes(),
  };
}

export function createStore(config: StoreConfig): StoreBuffers {
  const meta = new SharedArrayBuffer(META_BYTES);
  metaFor(config, new Int32Array(meta));
  const size = storeSizes(config);
  return {
    meta,
    hot: new SharedArrayBuffer(size.hot),
    series: new SharedArrayBuffer(size.series),
    log: new SharedArrayBuffer(size.log),
    rollupLog: new SharedArrayBuffer(size.rollupLog),
    pool: new SharedArrayBuffer(size.pool),
  };
}

/** Bytes reserved by the store's buffers. */
export function storeBytes(buffers: StoreBuffers): number {
  return buffers.meta.byteLength + buffers.hot.byteLength + buffers.series.byteLength + buffers.log.byteLength + buffers.rollupLog.byteLength + buffers.pool.byteLength;
}
