/**
 * The collector's engine: every producer ring drained into the series store (its only
 * writer), buckets closed on the interval and rolled up by the minute, the age of what waits
 * in the rings, and the collector's own readings (the system's and monitor_*), which go
 * through a ring of their own so that the store has one apply path.
 *
 * No threads and no timers here: whoever drives it says when. The collector actor
 * (workers/collector.ts) calls pass() in its loop on the wall clock and sleeps between;
 * tests and benchmarks call it on a synthetic clock, with samples pushed into a ring just
 * before, and read the store as the other actors do.
 *
 * It writes the collector's cells of the control block (control.ts): its clock and the
 * promise of its next beat, the counters status() reads, the drain and bucket epochs the
 * alert actor waits on. start() resumes from the rings' APPLIED cells and the store's own
 * state (StoreWriter.recover), so that an engine started after a crash loses no sample and
 * applies none twice.
 */
import {
  APPLIED_EPOCH,
  BAD_SAMPLES,
  BEAT_BY,
  BUCKET_EPOCH,
  CLOCK,
  CLOSED_BUCKET_START,
  HUB_READ_TO,
  DRAIN_EPOCH,
  MEMBER_LISTENING,
  DRAIN_LISTENING,
  DRAIN_PASSES,
  INGESTED,
  INGESTED_AT_READING,
  OWN_FAULTS,
  PAUSED,
  PENDING_SINCE,
  QUIET_AT,
  RUNG_AT,
  SKETCH_OVERFLOW,
  SKETCHES_LOST,
  SKETCH_LOG_REACH,
  MINUTE_SKETCH_BYTES,
  STORE_PAGES,
  STARTED_AT,
  controlViews,
  type ControlViews,
} from './control.js';
import { PendingClock } from './pending-clock.js';
import { measured } from './precision.js';
import { COLLECTOR_LOCK_TAG, Registry, withoutStaleLocks, type RegistryBuffers } from './registry.js';
import { RingReader, RingWriter, WRITE, createRing, ringStats } from './ring.js';
import type { StoreBuffers } from './store/layout.js';
import { StoreWriter } from './store/writer.js';
import type { SystemReading } from './system.js';

/** Samples taken from one ring per pass before moving to the next. */
const BATCH = 1 << 16;
/** Buckets a pass closes at a boundary before it drains (about 5 ms of closes at 10,000 series). */
const CLOSE_SLICE = 1024;
/** applyBuckets() beats once per this many buckets (a power of two, minus one). */
const BEAT_EVERY_BUCKETS = 256 - 1;
/** Slots of the ring that carries the collector's own readings. */
const OWN_RING_CAPACITY = 4096;

/** What samples the system (SystemSampler); the engine calls it at its sampling cadence. */
export interface ReadingSource {
  sample(t: number): SystemReading[];
  setSlowCadence(ms: number): void;
}

export interface EngineOptions {
  control: SharedArrayBuffer;
  registry: RegistryBuffers;
  store: StoreBuffers;
  rings: readonly SharedArrayBuffer[];
  intervalMs: number;
  /** The system sampler; none: no system metrics. */
  system?: ReadingSource;
  /**
   * Record the monitor's own readings (monitor_ingested, monitor_dropped, ...) at each
   * sampling. Default true; a test that reads a store of its own series alone turns it off.
   */
  ownReadings?: boolean;
  /** The clock a pass's end is read from, and a long pass beats by (default Date.now). */
  clock?: () => number;
  /** StoreWriter's `pendingRuns` (default true): false keeps a hub row's cluster-wide bins in pages, for the tests of that path. */
  pendingRuns?: boolean;
}

/**
 * Buckets for Engine.applyBuckets (a hub's members' closed buckets), in columns: per bucket
 * two series ids at 2i and 2i + 1 (the member's own series, the cluster-wide one), the start
 * the bucket had where it was recorded, five stats (count, sum, min, max, last) and the
 * position in `runs` of its sketch run ([n, key, count, …]). `key` (a positive number for one
 * member epoch) and `seq` name the batch: sent again, with the same rows, it is the same batch.
 */
export interface AppliedBuckets {
  key: number;
  seq: number;
  ids: Int32Array;
  starts: Float64Array;
  stats: Float64Array;
  runs: Int32Array;
  runAt: Int32Array;
  /**
   * The lowest `closedTo` of the hub's live members (their buckets before it all applied,
   * this batch's included), and how long past its interval a cluster-wide bucket is held open
   * for the rest (StoreWriter.holdCluster). Absent: the cluster-wide series takes the batch's
   * buckets into its open bucket of now, and holds none (bucket-rows.ts, clusterStart).
   */
  awaited?: number;
  holdMs?: number;
  /**
   * The batch's rows before these, given in earlier calls with the same `key` and `seq`: a hub
   * applies a batch that spans intervals one interval at a time, in turn with the other
   * members' batches (Hub.ingest). Row i here is the batch's row `offset + i`. Absent: 0.
   */
  offset?: number;
}

export class Engine {
  readonly intervalMs: number;
  private readonly ctl: ControlViews;
  private readonly registry: Registry;
  private readonly writer: StoreWriter;
  private readonly rings: RingReader[];
  private readonly own: RingWriter;
  private readonly ownReader: RingReader;
  private readonly ownIds = new Map<string, number>();
  private readonly system: ReadingSource | undefined;
  private readonly ownReadings: boolean;
  private readonly clock: () => number;
  /** The control block's INGESTED, where the application's rings count what the store's writer applies (appRing). */
  private readonly ingested: Float64Array;
  /** Per ring: when the samples waiting in it were first seen (see PendingClock). */
  private readonly clocks = new Map<RingReader, PendingClock>();
  private lastPassEnd = 0;
  private lagMax = 0;
  private droppedSinceSample = 0;
  private nextSystemSample = 0;
  /** The sketch log's write position at the last bucket boundary (SKETCH_LOG_REACH). */
  private logWrittenAt: number;
  /** How often the system and the collector's own metrics are sampled (setSystemCadence). */
  private cadenceMs: number;

  constructor(options: EngineOptions) {
    this.intervalMs = options.intervalMs;
    this.cadenceMs = options.intervalMs;
    this.ctl = controlViews(options.control);
    // A collector killed while it added a series (the watchdog's replacement of a hung one)
    // held the registry's lock for good: every thread's next new series was refused.
    this.registry = withoutStaleLocks(new Registry(options.registry, COLLECTOR_LOCK_TAG));
    this.system = options.system;
    this.ownReadings = options.ownReadings ?? true;
    this.clock = options.clock ?? Date.now;
    this.writer = new StoreWriter(options.store, () => this.beat(this.clock()), { pendingRuns: options.pendingRuns ?? true });
    // A replacement collector carries on its predecessors' counts: status() reads these cells
    // as totals over the monitor's life, and a restart must not set them back to 0.
    const counters = this.writer.counters;
    counters.badSamples = this.ctl.f64[BAD_SAMPLES]!;
    counters.sketchOverflow = this.ctl.f64[SKETCH_OVERFLOW]!;
    counters.sketchesLost = this.ctl.f64[SKETCHES_LOST]!;
    this.logWrittenAt = this.writer.sketchLogWritten();
    this.ingested = new Float64Array(options.control, INGESTED * Float64Array.BYTES_PER_ELEMENT, 1);
    this.rings = options.rings.map((sab) => this.appRing(sab));
    // The collector's own readings: drained in the same pass that fills them.
    const ownRing = createRing(OWN_RING_CAPACITY);
    this.own = new RingWriter(ownRing, options.control, 'drop');
    this.ownReader = new RingReader(ownRing);
    this.rings.push(this.ownReader);
  }

  /** Resumes from what the rings and the store hold, and takes the first system readings. */
  start(t: number): void {
    const series = this.registry.seriesCount();
    this.writer.recover(t, series);
    this.writer.rollup(series, this.hubReadTo());
    this.beat(t);
    this.ctl.f64[STORE_PAGES] = this.writer.slotPagesWritten();
    this.ctl.f64[STARTED_AT] = t;
    this.lastPassEnd = t;
    // The first readings: gauges now, and the baselines that cpu and network deltas need.
    if (this.system) for (const r of this.system.sample(t)) this.recordOwn(r.name, r.tags, r.value);
    this.own.publish(false);
  }

  /**
   * One round at time t: the bucket boundary if t passed it (rollups, the collector's own
   * readings when due), then one pass over every ring. Returns the samples moved.
   */
  pass(t: number): number {
    this.boundary(t, CLOSE_SLICE);
    const moved = this.drainPass(t);
    this.afterPass(moved);
    this.lastPassEnd = this.clock();
    return moved;
  }

  /** True while buckets that ended are being closed, a slice a pass: the next pass is due at once. */
  get closing(): boolean {
    return this.writer.sweeping;
  }

  /** Start (ms) of the open bucket. */
  get bucketStart(): number {
    return this.writer.bucketStart;
  }

  /** A heartbeat: alive at t, and beating again by `by`. */
  beat(t: number, by = t): void {
    this.ctl.f64[CLOCK] = t;
    this.ctl.f64[BEAT_BY] = by;
  }

  /** The time by which the next beat is due, promised before a wait. */
  promiseBeat(by: number): void {
    this.ctl.f64[BEAT_BY] = by;
  }

  anyPending(): boolean {
    for (const ring of this.rings) if (ring.available() > 0) return true;
    return false;
  }

  /** Adds the rings it does not drain yet (one may come twice: from its data and by a call). */
  addRings(list: readonly SharedArrayBuffer[]): void {
    for (const sab of list) {
      const id = ringStats(sab).id;
      if (!this.rings.some((r) => r.id === id)) this.rings.push(this.appRing(sab));
    }
  }

  /**
   * A reader of one of the application's rings, which counts what it applies in INGESTED:
   * the store's writer adds each chunk there as it commits it, so that a collector killed
   * after a commit (injectFault, the watchdog) has counted it. The collector's own ring
   * counts in a cell of its own reader: its readings are not the application's samples.
   */
  private appRing(sab: SharedArrayBuffer): RingReader {
    const reader = new RingReader(sab);
    reader.counted = this.ingested;
    return reader;
  }

  /**
   * Adds whole buckets recorded elsewhere (a hub's members), stamped `t`, and publishes them.
   * Returns the buckets applied now. A member's own series takes its bucket as the closed
   * record it is, at its start, or, where that record would break the store's order, into its
   * open bucket; the cluster-wide series merges every member's bucket into its bucket of the
   * interval after the member's (held open for a late member: `awaited`), with what the hub records itself (StoreWriter.applyRow). Each row is applied exactly once:
   * a batch resent after a collector died inside it (its `key` and `seq` as before) goes on
   * after the rows applied, its row in flight finished by the successor's start (recover).
   */
  applyBuckets(batch: AppliedBuckets, t: number): number {
    this.boundary(t, Infinity);
    const { ids, starts, stats, runs, runAt } = batch;
    const w = this.writer;
    w.holdCluster(batch.awaited ?? Infinity, batch.holdMs ?? 0);
    const offset = batch.offset ?? 0;
    // The batch's rows applied before (by this call's earlier part, or a collector killed in it): skipped.
    const from = Math.max(0, w.beginBatch(batch.key, batch.seq) - offset);
    for (let i = from; i < starts.length; i++) {
      // A large batch on a starved thread still beats, or the watchdog replaces a working collector.
      if ((i & BEAT_EVERY_BUCKETS) === BEAT_EVERY_BUCKETS) this.beat(this.clock());
      const s = 5 * i;
      w.applyRow(offset + i, ids[2 * i]!, ids[2 * i + 1]!, starts[i]!, t, stats[s]!, stats[s + 1]!, stats[s + 2]!, stats[s + 3]!, stats[s + 4]!, runs, runAt[i]!);
    }
    w.publish();
    // Window rules on a member's series judge its window once the member's bucket is in (the
    // alert actor, AlertEvaluator.onMemberBuckets): judged at the hub's own close alone, the
    // window never held the member's newest bucket, which arrives a moment after that close.
    // Woken only while it has window rules: a hub with none paid for the wakes all the same,
    // 29–34 ms a second of CPU against 26–27 at 4 members (bench:cluster, BENCH_HUB_ONLY=1).
    const ctl = this.ctl;
    ctl.f64[STORE_PAGES] = this.writer.slotPagesWritten();
    Atomics.add(ctl.i32, APPLIED_EPOCH, 1);
    if (Atomics.load(ctl.i32, MEMBER_LISTENING) !== 0) {
      Atomics.add(ctl.i32, DRAIN_EPOCH, 1);
      Atomics.notify(ctl.i32, DRAIN_EPOCH);
    }
    return Math.max(0, starts.length - from);
  }

  /** Samples the system (and its own metrics) every `systemMs`, rounded up to whole intervals; `slowMs` for the spawning sources. */
  setSystemCadence(systemMs: number, slowMs?: number): void {
    if (Number.isFinite(systemMs) && systemMs > 0) {
      this.cadenceMs = Math.max(1, Math.ceil(systemMs / this.intervalMs)) * this.intervalMs;
      // A longer cadence applies from the last sample on; a shorter one at the next boundary.
      this.nextSystemSample = Math.min(this.nextSystemSample, this.writer.bucketStart + this.cadenceMs);
    }
    if (this.system && slowMs !== undefined && Number.isFinite(slowMs) && slowMs > 0) this.system.setSlowCadence(slowMs);
  }

  get systemCadenceMs(): number {
    return this.cadenceMs;
  }

  info(): { rings: number; openSeries: number; freeSketchPages: number } {
    return { rings: this.rings.length, openSeries: this.writer.openSeries(), freeSketchPages: this.writer.freePages() };
  }

  /** Records one of the collector's own readings into its ring (applied in the same pass). */
  private recordOwn(name: string, tags: Record<string, string> | undefined, value: number): void {
    const key = tags ? `${name}\u0000${JSON.stringify(tags)}` : name;
    let id = this.ownIds.get(key);
    if (id === undefined) {
      try {
        id = this.registry.ownSeriesId(name, tags);
      } catch {
        // The monitor's share of series is used up, or a mount name is no valid tag: the
        // reading is skipped, not the loop, and counted (status().faults).
        this.ctl.f64[OWN_FAULTS]! += 1;
        return;
      }
      this.ownIds.set(key, id);
    }
    if (Number.isFinite(value)) this.own.push(id, measured(value));
  }

  private sampleOwn(t: number): void {
    let fill = 0;
    for (const ring of this.rings) {
      this.droppedSinceSample += ring.takeDropped();
      fill = Math.max(fill, ring.fill() / ring.capacity);
    }
    const ingested = this.ctl.f64[INGESTED]!;
    if (this.ownReadings) {
      // From the last reading's total in the control block: a successor (a collector replaced,
      // the monitor started again) that counted from 0 read the monitor's whole total once.
      this.recordOwn('monitor_ingested', undefined, ingested - this.ctl.f64[INGESTED_AT_READING]!);
      this.recordOwn('monitor_dropped', undefined, this.droppedSinceSample);
      this.recordOwn('monitor_ring_fill', undefined, fill);
      this.recordOwn('monitor_collector_lag', undefined, this.lagMax);
    }
    this.droppedSinceSample = 0;
    this.lagMax = 0;
    // A paused monitor (pause()) samples no system metrics; its ingestion metrics go on.
    if (this.system && Atomics.load(this.ctl.i32, PAUSED) === 0) for (const r of this.system.sample(t)) this.recordOwn(r.name, r.tags, r.value);
    // Applied here and now: the collector's own readings never count as a busy pass.
    this.own.publish(false);
    this.writer.drain(this.ownReader, t, BATCH);
    // Once the reading is applied: a collector killed before it is read again by its successor.
    this.ctl.f64[INGESTED_AT_READING] = ingested;
    this.writer.publish();
  }

  /**
   * When data found waiting in a ring that was empty at the last pass was published: a
   * producer that rang the sleeping collector, or the monitor's runtime samples, published
   * without a ring just before a boundary, say when; otherwise it came after the last pass.
   */
  private publishedSince(): number {
    const rungAt = this.ctl.f64[RUNG_AT]!;
    const quietAt = this.ctl.f64[QUIET_AT]!;
    const known = Math.min(rungAt > this.lastPassEnd ? rungAt : Infinity, quietAt > this.lastPassEnd ? quietAt : Infinity);
    return known === Infinity ? this.lastPassEnd : known;
  }

  /**
   * Drains every ring once, and keeps the age of what waits: each ring's clock notes the
   * write index seen now, the lag of this pass is the age of the oldest sample waiting before
   * it, and PENDING_SINCE says since when the oldest sample still waiting after it has waited.
   */
  private drainPass(t: number): number {
    let moved = 0;
    let oldest = Infinity;
    const since = this.publishedSince();
    for (const ring of this.rings) {
      let clock = this.clocks.get(ring);
      if (!clock) this.clocks.set(ring, (clock = new PendingClock()));
      const write = Atomics.load(ring.hdr, WRITE);
      if (((write - ring.r) | 0) > 0) clock.see(write, clock.empty ? since : t);
      const lag = t - clock.oldest();
      if (lag > this.lagMax) this.lagMax = lag;
      moved += this.writer.drain(ring, t, BATCH);
      clock.consumed(ring.r);
      const left = clock.oldest();
      if (left < oldest) oldest = left;
    }
    this.ctl.f64[PENDING_SINCE] = oldest === Infinity ? 0 : oldest;
    return moved;
  }

  private afterPass(moved: number): void {
    const ctl = this.ctl;
    if (moved > 0) {
      this.writer.publish();
      ctl.f64[DRAIN_PASSES]! += 1;
      ctl.f64[STORE_PAGES] = this.writer.slotPagesWritten();
      Atomics.add(ctl.i32, DRAIN_EPOCH, 1);
      // A notify that finds a waiter costs this thread 100-400 us (measured, docs/benchmarks.md):
      // more than applying the samples of a pass. Only `last` rules need every drain; the
      // alert actor raises DRAIN_LISTENING while it has some. Both cells are sequentially
      // consistent: either this load sees the flag, or the actor's read of the epoch after
      // raising it sees the bump and it does not wait.
      if (Atomics.load(ctl.i32, DRAIN_LISTENING) !== 0) Atomics.notify(ctl.i32, DRAIN_EPOCH);
    }
    ctl.f64[BAD_SAMPLES] = this.writer.counters.badSamples;
    ctl.f64[SKETCH_OVERFLOW] = this.writer.counters.sketchOverflow;
  }

  /**
   * Moves to the bucket holding t and closes up to `slice` of the buckets that ended; the
   * boundary's work (rollups, epochs, own readings) follows the last slice.
   */
  private boundary(t: number, slice: number): void {
    const began = this.writer.begin(t);
    if ((began || this.writer.sweeping) && this.writer.sweep(slice)) this.onBucketBoundary(t);
  }

  /** How far a hub's main thread has read its members' links (HUB_READ_TO), Infinity before its first turn and on any other monitor. */
  private hubReadTo(): number {
    const read = this.ctl.f64[HUB_READ_TO]!;
    return read > 0 ? read : Infinity;
  }

  private onBucketBoundary(t: number): void {
    const ctl = this.ctl;
    this.writer.rollup(this.registry.seriesCount(), this.hubReadTo());
    ctl.f64[SKETCHES_LOST] = this.writer.counters.sketchesLost;
    ctl.f64[MINUTE_SKETCH_BYTES] = this.writer.minuteSketchBytes();
    // How far back the sketch log reaches at the rate of the interval that just closed.
    const written = this.writer.sketchLogWritten();
    const rate = written - this.logWrittenAt;
    this.logWrittenAt = written;
    if (rate > 0) ctl.f64[SKETCH_LOG_REACH] = (this.writer.sketchLogSize / rate) * (this.intervalMs / 1000);
    ctl.f64[CLOSED_BUCKET_START] = this.writer.bucketStart - this.intervalMs;
    Atomics.add(ctl.i32, BUCKET_EPOCH, 1);
    // Readers wait on DRAIN_EPOCH alone; a closed bucket is news for them too.
    ctl.f64[STORE_PAGES] = this.writer.slotPagesWritten();
    Atomics.add(ctl.i32, DRAIN_EPOCH, 1);
    Atomics.notify(ctl.i32, DRAIN_EPOCH);
    if (t >= this.nextSystemSample) {
      this.nextSystemSample = this.writer.bucketStart + this.cadenceMs;
      this.sampleOwn(t);
      // Its readings moved the store after the bump above: a reader that caches by the epochs
      // (status()'s memory touched, monitor/touched-memory.ts) reads again. No notify: they
      // are not news for the alert actor's `last` rules, which the bump above woke.
      ctl.f64[STORE_PAGES] = this.writer.slotPagesWritten();
      Atomics.add(ctl.i32, DRAIN_EPOCH, 1);
    }
  }
}
