/**
 * Layout of the series store: six SharedArrayBuffers with a single writer, the collector.
 * Readers (the coordinator, the alert actor, report tasks) read them in place.
 *
 * meta — configuration (set by the creator before the store is shared), the writer's
 *   shared cursors, the hub batch row in flight (HUB_ROW_*: StoreWriter.applyRow): STORE_META
 *   below; then from HUB_BATCHES_BYTE the hub's batch table (batch-table.ts).
 * hot — the state every sample touches, one 64-byte line per series id (SERIES_HOT below),
 *   all series side by side so that the lines of the busy ones stay in cache.
 * series — one fixed slot per series id (slotBytes()): the cells of SERIES_SLOT below, then
 *   from DIR_OFFSET_BYTES two page directories of DIR_ENTRIES × (page key, page id) i32 each,
 *   then (StoreLayout's offsets) the raw ring of RAW_CAP × (time, value) f64, the bucket
 *   ring of T1_CAP records and the rollup ring of T2_CAP records (BUCKET_RECORD below).
 * log, rollupLog — circular i32 logs of encoded sketches (engine/sketch.ts), one per closed
 *   bucket, addressed by absolute position (a record never straddles the end).
 * pool — sketch pages of open buckets: POOL_PAGES i32 free-list links, then POOL_PAGES ×
 *   PAGE_BINS u32 counts (the back bins), then POOL_PAGES × PAGE_BINS u8 counts (the front
 *   bins). A page holds 512 consecutive sketch keys (8 powers of two); a key's count is its
 *   back bin plus its front bin. A sample goes into the front bin, and a front bin that
 *   would pass 255 moves 256 into the back one: a page's front is 8 cache lines where its
 *   back is 32, and in the collector's thread those lines are cold at every pass (another
 *   core, other processes), so the dense front takes about half the sketch's misses away
 *   (docs/benchmarks.md). A bin cannot overflow: it counts at most its bucket's samples,
 *   and a bucket stops adding to its sketch at 2^32 - 1 samples.
 *
 * Per-sample work touches only the series' hot line and its raw ring; totals and the newest
 * value are derived (closed + open). A series' samples of a drained chunk are written to its
 * raw ring past RAW_WRITTEN (RAW_AHEAD first says how far readers must distrust the ring),
 * summed in registers, and committed in one run of straight-line stores: the hot cells and
 * RAW_WRITTEN (samples.ts, drain). The open sketch is
 * binned lazily from the raw ring: a series' samples past RAW_BINNED go into its pages in
 * one run when half its raw ring waits, and at the bucket's close, so that the run's keys
 * hit the same few page lines instead of one cold line a sample (docs/benchmarks.md);
 * readers add the samples past RAW_BINNED to the pages. A bucket none of whose samples went
 * into its pages is closed from the raw slots alone, its pages freed untouched, and its
 * reset moves RAW_BINNED past them (closes.ts, close).
 *
 * The slot memory of a series id is first touched when that series gets data, so the
 * resident size grows with the series in use; `reservedBytes` is the bound.
 */
import { PAGE_BINS } from '../sketch.js';
import { defineLayout } from '../layout.js';

/** Member batches of a hub whose progress the store keeps (HUB_BATCHES_BYTE): one entry a member epoch, the least recently begun replaced. */
export const HUB_BATCH_ENTRIES = 32;
/** Where the hub's batch table starts in the meta buffer: per entry four f64, the batch's key, its seq, its rows applied and when it was begun (a count). */
export const HUB_BATCHES_BYTE = 320;

export const STORE_META = defineLayout({
  name: 'store meta',
  bytes: HUB_BATCHES_BYTE + HUB_BATCH_ENTRIES * 32,
  oneWriterPerLine: true,
  cells: {
    MAX_SERIES: { offset: 0, type: 'i32', writer: 'creator', meaning: 'series slots' },
    RAW_CAP: { offset: 4, type: 'i32', writer: 'creator', meaning: 'raw samples kept per series' },
    T1_CAP: { offset: 8, type: 'i32', writer: 'creator', meaning: 'closed buckets kept per series' },
    T2_CAP: { offset: 12, type: 'i32', writer: 'creator', meaning: 'rollups kept per series' },
    INTERVAL_MS: { offset: 16, type: 'i32', writer: 'creator', meaning: 'bucket width (ms)' },
    ROLLUP_MS: { offset: 20, type: 'i32', writer: 'creator', meaning: 'rollup width (ms)' },
    LOG_INTS: { offset: 24, type: 'i32', writer: 'creator', meaning: 'i32 of the sketch log' },
    ROLLUP_LOG_INTS: { offset: 28, type: 'i32', writer: 'creator', meaning: 'i32 of the rollup sketch log' },
    POOL_PAGES: { offset: 32, type: 'i32', writer: 'creator', meaning: 'sketch pages in the pool' },
    DIR_ENTRIES: { offset: 36, type: 'i32', writer: 'creator', meaning: 'entries of a page directory' },
    POOL_FREE_HEAD: { offset: 64, type: 'i32', writer: 'collector', meaning: 'first free sketch page, -1 when none' },
    POOL_FREE_COUNT: { offset: 68, type: 'i32', writer: 'collector', meaning: 'free sketch pages' },
    INITIALIZED: { offset: 72, type: 'i32', writer: 'collector', meaning: "1 once the pool's free list is built" },
    LOG_RESERVED: { offset: 128, type: 'i64', writer: 'collector', meaning: 'log position up to which the writer may overwrite' },
    ROLLUP_LOG_RESERVED: { offset: 136, type: 'i64', writer: 'collector', meaning: 'the same for the rollup log' },
    HUB_ROW_STEP: { offset: 192, type: 'i32', writer: 'collector', meaning: "a hub batch's row in flight: 0 none, 1 its member series next, 2 the member series' open bucket taking it, 3 the cluster-wide series' open bucket taking it" },
    HUB_ROW_BINS: { offset: 196, type: 'i32', writer: 'collector', meaning: 'bins of its sketch run added to the open bucket that takes it' },
    HUB_ROW_MEMBER: { offset: 200, type: 'i32', writer: 'collector', meaning: 'its member series' },
    HUB_ROW_CLUSTER: { offset: 204, type: 'i32', writer: 'collector', meaning: 'its cluster-wide series' },
    HUB_ROW_INDEX: { offset: 208, type: 'i32', writer: 'collector', meaning: 'its row in the batch' },
    HUB_ROW_ENTRY: { offset: 212, type: 'i32', writer: 'collector', meaning: "its batch's entry in the batch table" },
    HUB_ROW_RUN: { offset: 216, type: 'f64', writer: 'collector', meaning: 'absolute position in the log of its sketch run' },
    HUB_ROW_START: { offset: 224, type: 'f64', writer: 'collector', meaning: 'its start on the member (ms)' },
    HUB_ROW_AT: { offset: 232, type: 'f64', writer: 'collector', meaning: 'the time (ms) it is applied at' },
    HUB_ROW_COUNT: { offset: 240, type: 'f64', writer: 'collector', meaning: 'its count' },
    HUB_ROW_SUM: { offset: 248, type: 'f64', writer: 'collector', meaning: 'its sum' },
    HUB_ROW_MIN: { offset: 256, type: 'f64', writer: 'collector', meaning: 'its minimum' },
    HUB_ROW_MAX: { offset: 264, type: 'f64', writer: 'collector', meaning: 'its maximum' },
    HUB_ROW_LAST: { offset: 272, type: 'f64', writer: 'collector', meaning: 'its last value' },
  },
});

export const SERIES_HOT = defineLayout({
  name: 'hot line of a series',
  bytes: 64,
  oneWriterPerLine: true,
  cells: {
    OPEN_COUNT: { offset: 0, type: 'f64', writer: 'collector', meaning: 'samples in the open bucket' },
    OPEN_SUM: { offset: 8, type: 'f64', writer: 'collector', meaning: 'their sum' },
    OPEN_MIN: { offset: 16, type: 'f64', writer: 'collector', meaning: 'their minimum' },
    OPEN_MAX: { offset: 24, type: 'f64', writer: 'collector', meaning: 'their maximum' },
    OPEN_LAST: { offset: 32, type: 'f64', writer: 'collector', meaning: 'the last of them' },
    OPEN_START: { offset: 40, type: 'f64', writer: 'collector', meaning: 'start (ms) of the open bucket' },
    RAW_WRITTEN: { offset: 48, type: 'i32', writer: 'collector', meaning: "raw samples committed (the writer's own count, wraps; RAW_HEAD lags)" },
    RAW_AHEAD: { offset: 52, type: 'i32', writer: 'collector', meaning: 'raw slots the writer may have rewritten up to (wraps; at or past RAW_WRITTEN)' },
    RAW_HEAD: { offset: 56, type: 'i32', writer: 'collector', meaning: 'raw samples published (Atomics, wraps)' },
    RAW_BINNED: { offset: 60, type: 'i32', writer: 'collector', meaning: 'raw samples counted in the open sketch (wraps; the rest of the open bucket is binned later)' },
  },
});

export const SERIES_SLOT = defineLayout({
  name: 'series slot (fixed part)',
  bytes: 192,
  oneWriterPerLine: true,
  cells: {
    CLOSED_COUNT: { offset: 0, type: 'f64', writer: 'collector', meaning: 'samples in closed buckets (+ open = all ever)' },
    CLOSED_SUM: { offset: 8, type: 'f64', writer: 'collector', meaning: "their sum (+ open sum = a counter's total)" },
    CLOSED_LAST: { offset: 16, type: 'f64', writer: 'collector', meaning: 'last value of the newest closed bucket' },
    CLOSED_COUNT_AT: { offset: 24, type: 'f64', writer: 'collector', meaning: 'start of the newest bucket moved into CLOSED_*' },
    ROLLED_UPTO: { offset: 32, type: 'f64', writer: 'collector', meaning: 'start of the newest rollup window written, or 0' },
    FIRST_TS: { offset: 40, type: 'f64', writer: 'collector', meaning: 'time (ms) of the first sample' },
    TOTALS_SEQ: { offset: 48, type: 'i32', writer: 'collector', meaning: 'odd while the writer moves a bucket into CLOSED_* or opens one (plain stores within its straight-line commits; readers of the totals load it with Atomics and read again: reader-totals.ts)' },
    T1_HEAD: { offset: 68, type: 'i32', writer: 'collector', meaning: 'bucket records published' },
    T2_HEAD: { offset: 72, type: 'i32', writer: 'collector', meaning: 'rollup records published' },
    DIR_SELECT: { offset: 76, type: 'i32', writer: 'collector', meaning: 'which page directory is live (0 or 1)' },
    DIR_USED_0: { offset: 80, type: 'i32', writer: 'collector', meaning: 'entries in directory 0' },
    DIR_USED_1: { offset: 84, type: 'i32', writer: 'collector', meaning: 'entries in directory 1' },
    PEND_BASE: { offset: 128, type: 'f64', writer: 'collector', meaning: "absolute log position of the open bucket's first pending sketch run (pending-runs.ts)" },
    PEND_COUNT: { offset: 136, type: 'i32', writer: 'collector', meaning: "sketch runs in the log that the open bucket holds beside its pages (hub rows)" },
    PEND_OFF: { offset: 140, type: 'i32', writer: 'collector', meaning: 'the first of PEND_CAP i32: each pending run past PEND_BASE' },
  },
});

/** Pending sketch runs an open bucket holds at most (PEND_OFF's i32, to the slot's fixed part's end). */
export const PEND_CAP = (SERIES_SLOT.bytes - SERIES_SLOT.cells.PEND_OFF.offset) / 4;

export const BUCKET_RECORD = defineLayout({
  name: 'bucket record',
  bytes: 64,
  oneWriterPerLine: true,
  cells: {
    BUCKET_START: { offset: 0, type: 'f64', writer: 'collector', meaning: 'start (ms)' },
    BUCKET_COUNT: { offset: 8, type: 'f64', writer: 'collector', meaning: 'samples' },
    BUCKET_SUM: { offset: 16, type: 'f64', writer: 'collector', meaning: 'their sum' },
    BUCKET_MIN: { offset: 24, type: 'f64', writer: 'collector', meaning: 'their minimum' },
    BUCKET_MAX: { offset: 32, type: 'f64', writer: 'collector', meaning: 'their maximum' },
    BUCKET_LAST: { offset: 40, type: 'f64', writer: 'collector', meaning: 'the last of them' },
    BUCKET_SKETCH_POS: { offset: 48, type: 'f64', writer: 'collector', meaning: "absolute position of its sketch in the log" },
    BUCKET_SKETCH_LEN: { offset: 56, type: 'f64', writer: 'collector', meaning: 'i32 of its sketch, 0 when it has none' },
  },
});

// meta, i32 cells
export const MAX_SERIES = STORE_META.index.MAX_SERIES;
export const RAW_CAP = STORE_META.index.RAW_CAP;
export const T1_CAP = STORE_META.index.T1_CAP;
export const T2_CAP = STORE_META.index.T2_CAP;
export const INTERVAL_MS = STORE_META.index.INTERVAL_MS;
export const ROLLUP_MS = STORE_META.index.ROLLUP_MS;
export const LOG_INTS = STORE_META.index.LOG_INTS;
export const ROLLUP_LOG_INTS = STORE_META.index.ROLLUP_LOG_INTS;
export const POOL_PAGES = STORE_META.index.POOL_PAGES;
export const DIR_ENTRIES = STORE_META.index.DIR_ENTRIES;
export const POOL_FREE_HEAD = STORE_META.index.POOL_FREE_HEAD;
export const POOL_FREE_COUNT = STORE_META.index.POOL_FREE_COUNT;
export const INITIALIZED = STORE_META.index.INITIALIZED;
export const HUB_ROW_STEP = STORE_META.index.HUB_ROW_STEP;
export const HUB_ROW_BINS = STORE_META.index.HUB_ROW_BINS;
export const HUB_ROW_MEMBER = STORE_META.index.HUB_ROW_MEMBER;
export const HUB_ROW_CLUSTER = STORE_META.index.HUB_ROW_CLUSTER;
export const HUB_ROW_INDEX = STORE_META.index.HUB_ROW_INDEX;
export const HUB_ROW_ENTRY = STORE_META.index.HUB_ROW_ENTRY;
// meta, f64 cells
export const HUB_ROW_RUN = STORE_META.index.HUB_ROW_RUN;
export const HUB_ROW_START = STORE_META.index.HUB_ROW_START;
export const HUB_ROW_AT = STORE_META.index.HUB_ROW_AT;
export const HUB_ROW_COUNT = STORE_META.index.HUB_ROW_COUNT;
export const HUB_ROW_SUM = STORE_META.index.HUB_ROW_SUM;
export const HUB_ROW_MIN = STORE_META.index.HUB_ROW_MIN;
export const HUB_ROW_MAX = STORE_META.index.HUB_ROW_MAX;
export const HUB_ROW_LAST = STORE_META.index.HUB_ROW_LAST;
// meta, i64 cells
export const LOG_RESERVED = STORE_META.index.LOG_RESERVED;
export const ROLLUP_LOG_RESERVED = STORE_META.index.ROLLUP_LOG_RESERVED;
export const META_BYTES = STORE_META.bytes;

// hot, f64 cells (the i32 ones are with the slot's below)
export const OPEN_COUNT = SERIES_HOT.index.OPEN_COUNT;
export const OPEN_SUM = SERIES_HOT.index.OPEN_SUM;
export const OPEN_MIN = SERIES_HOT.index.OPEN_MIN;
export const OPEN_MAX = SERIES_HOT.index.OPEN_MAX;
export const OPEN_LAST = SERIES_HOT.index.OPEN_LAST;
export const OPEN_START = SERIES_HOT.index.OPEN_START;
export const HOT_F64 = SERIES_HOT.bytes / 8;

// slot, f64 cells
export const CLOSED_COUNT = SERIES_SLOT.index.CLOSED_COUNT;
export const CLOSED_SUM = SERIES_SLOT.index.CLOSED_SUM;
export const CLOSED_LAST = SERIES_SLOT.index.CLOSED_LAST;
export const CLOSED_COUNT_AT = SERIES_SLOT.index.CLOSED_COUNT_AT;
export const ROLLED_UPTO = SERIES_SLOT.index.ROLLED_UPTO;
export const FIRST_TS = SERIES_SLOT.index.FIRST_TS;
export const TOTALS_SEQ = SERIES_SLOT.index.TOTALS_SEQ;
export const PEND_BASE = SERIES_SLOT.index.PEND_BASE;
// hot and slot, i32 cells
export const RAW_WRITTEN = SERIES_HOT.index.RAW_WRITTEN;
export const RAW_AHEAD = SERIES_HOT.index.RAW_AHEAD;
export const RAW_HEAD = SERIES_HOT.index.RAW_HEAD;
export const RAW_BINNED = SERIES_HOT.index.RAW_BINNED;
export const T1_HEAD = SERIES_SLOT.index.T1_HEAD;
export const T2_HEAD = SERIES_SLOT.index.T2_HEAD;
export const DIR_SELECT = SERIES_SLOT.index.DIR_SELECT;
export const DIR_USED_0 = SERIES_SLOT.index.DIR_USED_0;
export const PEND_COUNT = SERIES_SLOT.index.PEND_COUNT;
export const PEND_OFF = SERIES_SLOT.index.PEND_OFF;
/** Where the page directories start in a slot: past its fixed cells. */
export const DIR_OFFSET_BYTES = SERIES_SLOT.bytes;

// bucket record, f64 cells
export const BUCKET_START = BUCKET_RECORD.index.BUCKET_START;
export const BUCKET_COUNT = BUCKET_RECORD.index.BUCKET_COUNT;
export const BUCKET_SUM = BUCKET_RECORD.index.BUCKET_SUM;
export const BUCKET_MIN = BUCKET_RECORD.index.BUCKET_MIN;
export const BUCKET_MAX = BUCKET_RECORD.index.BUCKET_MAX;
export const BUCKET_LAST = BUCKET_RECORD.index.BUCKET_LAST;
export const BUCKET_SKETCH_POS = BUCKET_RECORD.index.BUCKET_SKETCH_POS;
export const BUCKET_SKETCH_LEN = BUCKET_RECORD.index.BUCKET_SKETCH_LEN;
export const BUCKET_F64 = BUCKET_RECORD.bytes / 8;

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
  /** Byte offset in the pool of the front bins (u8), indexed as the back bins are. */
  readonly poolFrontOffsetBytes: number;

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
    this.poolFrontOffsetBytes = this.poolPagesOffsetBytes + this.poolPages * PAGE_BINS * 4;
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
  meta[POOL_PAGES] = Math.max(16, Math.floor(config.poolBytes / (PAGE_BINS * 5 + 4)));
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
    pool: layout.poolFrontOffsetBytes + layout.poolPages * PAGE_BINS,
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
