/**
 * The state of the store's writer (StoreWriter, writer.ts): its views of the shared buffers,
 * its writer-local arrays, its construction (which initialises a new store's page pool), and
 * the two steps every one of its concepts uses (touch, writeRecord).
 *
 * The writer is one class over several files, one concept each, in a line of subclasses:
 * WriterState (here) ← SketchPages (pages.ts) ← PendingRuns (pending-runs.ts) ← BucketCloses (closes.ts) ← Rollups
 * (rollups.ts) ← BucketRows (bucket-rows.ts) ← SamplePath (samples.ts) ← StoreWriter
 * (writer.ts). Each file's methods reach the steps of the files before it as methods of `this`,
 * as when they were one class: V8 calls and inlines them the same, and the kill tests stop a
 * writer at a step's entry or return by replacing it on the instance. Fields and steps are
 * `protected`: only the store's writer files use them. No subclass declares a field, so every
 * writer has the one shape built here.
 *
 * All that a successor needs is in shared memory (writer.ts says in what order it is
 * written); the writer-local arrays below (blocks, backs, fedClosed, newestStart, ...) are
 * each started so that a writer that takes over (recover) is right without its predecessor's.
 */
import { KEY_COUNT, PAGE_BINS, SketchAccumulator } from '../sketch.js';
import { BatchTable } from './batch-table.js';
import { LogCursor } from './log-cursor.js';
import { MinuteSketches } from './minutes.js';
import { TouchedPages } from './touched-pages.js';
import type { RawRings } from './raw-first.js';
import {
  BUCKET_COUNT,
  BUCKET_LAST,
  BUCKET_MAX,
  BUCKET_MIN,
  BUCKET_SKETCH_LEN,
  BUCKET_SKETCH_POS,
  BUCKET_START,
  BUCKET_SUM,
  HOT_F64,
  INITIALIZED,
  LOG_RESERVED,
  POOL_FREE_COUNT,
  POOL_FREE_HEAD,
  RAW_WRITTEN,
  ROLLUP_LOG_RESERVED,
  StoreLayout,
  type StoreBuffers,
} from './layout.js';

/** A page's bins in blocks of 32 for its touched mask (16 blocks, one u16 a page). */
export const BLOCK_BITS = 5;
export const BLOCK = 1 << BLOCK_BITS;
const ALL_BLOCKS = (1 << (PAGE_BINS >>> BLOCK_BITS)) - 1;
/** A bucket's sketch stops counting here, so that no u32 bin can overflow. */
export const MAX_SKETCHED = 0xffffffff;
/** Passes over all series call the beat hook once per this many series (a power of two, minus one). */
export const BEAT_MASK = 1024 - 1;
/**
 * drain() applies samples in chunks, grouped by series, and frees their slots after each: of
 * CHUNK_PER_SERIES slots a series in the ring's last chunk, at most half the ring, and at
 * least CHUNK_MIN and at most CHUNK_MAX slots. At 10,000 series a chunk of 4,096 gave each
 * series one sample or none, each a cold hot line and a raw slot on a page of its own; in
 * chunks of 32,768 a series' few samples share them (docs/benchmarks.md, issue 16's eighth
 * pass), and in the chunks of 131,072 and 262,144 slots a larger ring allows, more of them
 * (the collector at 1M samples/s over 10,000 series from a ring of 2^20: 5.3-7.2% of a core
 * in chunks of 262,144 against 5.8-9.6% in chunks of 32,768, lower in 7 of 8 pairs;
 * docs/benchmarks.md, "Chunks as large as the ring allows"). At 100 series
 * that size costs instead: the collector wakes to a cold core (its caches lost while it
 * slept), and a chunk's values grouped by series (8 bytes a slot: 256 KiB at 32,768) come
 * back cold in every pass, where those of chunks of 6,400 slots stay warm from one chunk to
 * the next (issue 16's wake-up pass). Half the ring: a producer never waits on a whole ring
 * in flight. CHUNK_MAX bounds the grouping's buffers (12 bytes a slot: 3 MiB).
 */
export const CHUNK_MIN = 4096;
export const CHUNK_MAX = 262_144;
/** The grouping's buffers at first: a chunk of the default ring (2^16) at most; they grow to a larger ring's chunks when one comes. */
export const CHUNK_FIRST = 32_768;
export const CHUNK_PER_SERIES = 64;
/** Which i32 of an f64 holds its high word (the sketch key's bits). */
export const HI_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

export interface WriterCounters {
  badSamples: number;
  sketchOverflow: number;
  /**
   * Closed buckets whose sketch run the log had overwritten when their rollup came to read
   * it: their counts and sums went in, their bins did not, so that rollup's quantiles stand
   * for part of its window. A rollup reads the log only for the records its window's minute
   * sketch does not stand for (minutes.ts): a predecessor's, after a writer took over within
   * the window, or all of them, for a sketch past its memory bound.
   */
  sketchesLost: number;
}

export class WriterState {
  readonly layout: StoreLayout;
  readonly counters: WriterCounters = { badSamples: 0, sketchOverflow: 0, sketchesLost: 0 };
  protected readonly hot: Float64Array;
  /** The hot lines as i32, for RAW_HEAD: published beside the cells just written, so a pass's publish touches no cold line. */
  protected readonly hotI32: Int32Array;
  protected readonly f64: Float64Array;
  protected readonly i32: Int32Array;
  protected readonly meta: Int32Array;
  protected readonly metaF64: Float64Array;
  /** Hub batches' progress (beginBatch), and the entry of the batch begun last. */
  protected readonly batches: BatchTable;
  protected batchEntry = 0;
  protected readonly log: LogCursor;
  protected readonly rollupLog: LogCursor;
  protected readonly links: Int32Array;
  protected readonly pages: Uint32Array;
  /** The front bins (layout.ts): a sample adds to its key's u8 here, a full one moves 256 to `pages`. */
  protected readonly front: Uint8Array;
  /** Raw samples a series' sketch may lag by (half its raw ring): binTail() runs at this many. */
  protected readonly binEvery: number;
  /** Whether a hub row's cluster-wide bucket takes its run as a pending run (pending-runs.ts) rather than bin by bin. */
  protected readonly pendingRuns: boolean;
  /**
   * Per pool page, the blocks of bins added to since the page was last emptied (binTail and
   * applyBucket mark them): a close reads and resets those few blocks, not 512 bins a page,
   * which at 10,000 series was most of the collector's time. The writer's own: a new one
   * (after a crash) cannot know what its predecessor wrote, and starts with every block marked.
   */
  protected readonly blocks: Uint16Array;
  /**
   * Per pool page, the blocks of `blocks` where a back bin was added to (a front bin passed
   * 255): elsewhere the back bins are 0, so a close reads and clears the front bins alone,
   * a cache line per 64 bins, where front and back together were five. Bucket sketches rarely
   * pass 255 in a bin (a hub's cluster-wide series: about 80 samples over 50 bins), a busy
   * series' often. The writer's own, all marked at its start, like `blocks`.
   */
  protected readonly backs: Uint16Array;
  /** The front bins as u32, four at a time (a close tests a word before its bytes). */
  protected readonly front32: Uint32Array;
  /** Start (ms) of the bucket that is open now. */
  bucketStart = 0;
  /** End of the newest rollup window written, for all series (those fed by closed records: lateRolledTo). */
  protected rolledTo = 0;
  /**
   * Per series, 1 once it took a closed record from outside (writeClosed). Such records come
   * after their interval ended, the last of a window an interval after the window did, so
   * these series are rolled up an interval later (rollup()), to lateRolledTo. The writer's
   * own: a successor rolls them on time until they take a record again, and a bucket that
   * comes for a window rolled meanwhile goes into the open bucket (writeClosed).
   */
  protected readonly fedClosed: Uint8Array;
  /**
   * Per series, 1 once a hub row's cluster-wide step placed a bucket in it at the member's
   * start plus an interval (bucket-rows.ts, clusterStart): its open bucket may be held past its
   * end for a late member (heldOpen). The writer's own: a successor closes what ended (recover).
   */
  protected readonly clusterFed: Uint8Array;
  /** The hub's lowest member closedTo at its last batch (Infinity: none awaited), and how long a cluster-wide bucket is held for it (holdCluster). */
  protected clusterAwaited = Infinity;
  protected clusterHoldMs = 0;
  /**
   * Per series, the start of its newest bucket record (-Infinity: none) and of its newest
   * rollup window written (0: none), as this writer wrote or first read them; NaN until then.
   * The writer's own (only it writes records), so takesClosed() tests a member's record against
   * them without reading two cold lines of the series' slot for each (most of its time).
   */
  protected readonly newestStart: Float64Array;
  /**
   * Per series, its bucket records published (T1_HEAD) as this writer wrote or first read
   * them; -1 until then. The writer's own (only it publishes records): a member's record is
   * placed without waiting on a cold line of the slot for its index.
   */
  protected readonly t1Heads: Int32Array;
  protected readonly seriesRolled: Float64Array;
  protected lateRolledTo = 0;
  protected readonly openIds: Int32Array;
  protected openCount = 0;
  /** openIds[sweepAt, sweepEnd): series whose bucket ended, still to look at (begin(), sweep()). */
  protected sweepAt = 0;
  protected sweepEnd = 0;
  protected readonly touched: Int32Array;
  protected touchedCount = 0;
  /** The series slots' pages written, for status()'s memory touched (touched-pages.ts). */
  protected readonly touchedPages: TouchedPages;
  protected readonly touchMark: Int32Array;
  protected pass = 1;
  /** A chunk's grouping: per series its count, then its cursor; the series in order seen; the values by series. */
  protected readonly groupCounts: Int32Array;
  protected groupIds = new Int32Array(CHUNK_FIRST);
  protected groupValues = new Float64Array(CHUNK_FIRST);
  /** The bucket in which the pool was last found empty and idle series' pages taken back. */
  protected reclaimedIn = Number.NaN;
  /** Samples the last chunk() applied. */
  protected grouped = 0;
  /** Where writeRawFirst() writes, and per series 1 while its group's raw slots are written and not yet committed (applyWritten). */
  protected readonly rawRings: RawRings;
  protected readonly rawWritten: Uint8Array;
  /**
   * Per series, the two sketch pages used last: [key, base, key, base]. A distribution
   * spanning up to 16 powers of two (0.1 ms to 6 s, say) never leaves it.
   */
  protected readonly pageCache: Int32Array;
  protected readonly scratch: Int32Array;
  /**
   * A close's counts by sketch key when it encodes its bucket from the raw ring (countRaw),
   * all zero between closes, and the keys it met. The writer's own, reused by every close, so
   * their lines stay in cache where the pool's pages of 10,000 series do not.
   */
  protected readonly rawBins = new Int32Array(KEY_COUNT);
  protected readonly rawKeys: Int32Array;
  /** Keys a close or a compaction of pending runs met first, in order (pending-runs.ts; grows). */
  protected mergeKeys = new Int32Array(1024);
  /**
   * The writer's own figures of the open buckets' pending sketch runs (pending-runs.ts): i32
   * they take in the log (at least), and the first log position taken by a bucket opened in
   * the bucket now open and in the one before (Infinity: none); recover() rebuilds them.
   */
  protected pendInts = 0;
  protected pendFloor = Infinity;
  protected pendFloorBefore = Infinity;
  /**
   * Per series, 1 while its open bucket may hold pending runs (PEND_COUNT not 0): a close of
   * a series that never took one (every series of a monitor that is not a hub) does not read
   * or write the slot's third line for PEND_COUNT. The writer's own: recover() rebuilds it.
   */
  protected readonly pendHeld: Uint8Array;
  /** Pages the last encodePages() found with no count (the close frees them). */
  protected idlePages = 0;
  protected readonly acc = new SketchAccumulator();
  /** Each series' closed buckets of its rollup window, merged as their records are written (minutes.ts). */
  protected readonly minutes: MinuteSketches;

  /** Called every BEAT_EVERY series of a pass over all series, so a long pass still beats. */
  protected readonly beat: () => void;

  /**
   * `binEvery`: raw samples a series' open sketch may lag by before they are binned (at
   * most, and by default, half its raw ring); 1 bins each sample as it is applied.
   * `pendingRuns` false: a hub row's cluster-wide bucket adds its run bin by bin into its
   * pages, as it did before pending runs (the tests of that path; default true).
   */
  constructor(buffers: StoreBuffers, beat: () => void = () => {}, options: { binEvery?: number; pendingRuns?: boolean } = {}) {
    this.beat = beat;
    this.meta = new Int32Array(buffers.meta);
    this.metaF64 = new Float64Array(buffers.meta);
    this.batches = new BatchTable(buffers.meta);
    this.layout = new StoreLayout(this.meta);
    const L = this.layout;
    this.hot = new Float64Array(buffers.hot);
    this.hotI32 = new Int32Array(buffers.hot);
    this.f64 = new Float64Array(buffers.series);
    this.i32 = new Int32Array(buffers.series);
    const metaBig = new BigInt64Array(buffers.meta);
    this.log = new LogCursor(new Int32Array(buffers.log), metaBig, LOG_RESERVED);
    this.rollupLog = new LogCursor(new Int32Array(buffers.rollupLog), metaBig, ROLLUP_LOG_RESERVED);
    this.links = new Int32Array(buffers.pool, 0, L.poolPages);
    this.pages = new Uint32Array(buffers.pool, L.poolPagesOffsetBytes, L.poolPages * PAGE_BINS);
    this.front = new Uint8Array(buffers.pool, L.poolFrontOffsetBytes, L.poolPages * PAGE_BINS);
    this.pendingRuns = options.pendingRuns ?? true;
    this.binEvery = Math.min(Math.max(1, options.binEvery ?? L.rawCap), Math.max(1, L.rawCap >>> 1));
    this.blocks = new Uint16Array(L.poolPages).fill(ALL_BLOCKS);
    this.backs = new Uint16Array(L.poolPages).fill(ALL_BLOCKS);
    this.front32 = new Uint32Array(buffers.pool, L.poolFrontOffsetBytes, (L.poolPages * PAGE_BINS) >>> 2);
    this.openIds = new Int32Array(L.maxSeries);
    this.fedClosed = new Uint8Array(L.maxSeries);
    this.clusterFed = new Uint8Array(L.maxSeries);
    this.newestStart = new Float64Array(L.maxSeries).fill(Number.NaN);
    this.t1Heads = new Int32Array(L.maxSeries).fill(-1);
    this.pendHeld = new Uint8Array(L.maxSeries);
    this.seriesRolled = new Float64Array(L.maxSeries).fill(Number.NaN);
    this.touched = new Int32Array(L.maxSeries);
    this.touchedPages = new TouchedPages(L);
    this.touchMark = new Int32Array(L.maxSeries);
    this.groupCounts = new Int32Array(L.maxSeries);
    this.pageCache = new Int32Array(L.maxSeries * 4).fill(-1);
    this.scratch = new Int32Array(1 + 4 * L.dirEntries * PAGE_BINS);
    this.rawKeys = new Int32Array(L.rawCap);
    // Bounded by twice the sketch log: the memory its users gave the sketches of closed buckets.
    this.minutes = new MinuteSketches(L.maxSeries, L.rollupMs, 2 * 4 * L.logInts, this.log);
    this.rawRings = { hotI32: this.hotI32, f64: this.f64, slotF64: L.slotF64, rawOffsetF64: L.rawOffsetF64, rawCap: L.rawCap, binEvery: this.binEvery };
    this.rawWritten = new Uint8Array(L.maxSeries);
    if (Atomics.load(this.meta, INITIALIZED) === 0) {
      for (let p = 0; p < L.poolPages; p++) this.links[p] = p + 1 < L.poolPages ? p + 1 : -1;
      this.meta[POOL_FREE_HEAD] = 0;
      this.meta[POOL_FREE_COUNT] = L.poolPages;
      Atomics.store(this.meta, INITIALIZED, 1);
    }
  }

  /** Lists `id` among the series whose raw head the next publish() moves. */
  protected touch(id: number): void {
    this.touchedPages.sampled(id, this.hotI32[id * HOT_F64 * 2 + RAW_WRITTEN]!);
    if (this.touchMark[id] !== this.pass) {
      this.touchMark[id] = this.pass;
      this.touched[this.touchedCount++] = id;
    }
  }

  /** The cells of a bucket or rollup record at f64 index `rec`, before its ring's head publishes it. */
  protected writeRecord(rec: number, start: number, count: number, sum: number, min: number, max: number, last: number, sketchPos: number, sketchLen: number): void {
    const f = this.f64;
    f[rec + BUCKET_START] = start;
    f[rec + BUCKET_COUNT] = count;
    f[rec + BUCKET_SUM] = sum;
    f[rec + BUCKET_MIN] = min;
    f[rec + BUCKET_MAX] = max;
    f[rec + BUCKET_LAST] = last;
    f[rec + BUCKET_SKETCH_POS] = sketchPos;
    f[rec + BUCKET_SKETCH_LEN] = sketchLen;
  }
}
