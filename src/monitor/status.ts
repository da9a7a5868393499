/**
 * What status() answers: the monitor's state, ingestion, collector, memory, alerting,
 * overhead and faults, read from the parts the monitor owns and from shared memory (the
 * collector's cells of the control block), so that it is current without a round trip to
 * any actor.
 */
import type { InstrumentStatus } from '../instrument/instrumentation.js';
import type { ProfilerStatus } from '../profiling/profiler.js';
import type { CollectorApi, CollectorInfo, SystemInfo } from '../actors/protocols.js';
import { exitReason, type ActorState, type Supervisor } from '../actors/supervisor.js';
import type { Alerting, AlertingStatus } from '../alerts/alerting.js';
import { BAD_SAMPLES, CLOCK, CLOCK_OFFSET, CLOCK_STEPPED_AT, CLOCK_STEPS, INGESTED, MINUTE_SKETCH_BYTES, OWN_FAULTS, SKETCH_LOG_REACH, SKETCH_OVERFLOW, SKETCHES_LOST, STARTED_AT, type ControlViews } from '../engine/control.js';
import { collectorLag } from '../engine/pending-clock.js';
import { OWN_SERIES, type Registry } from '../engine/registry.js';
import { ringStats, type OverflowPolicy, type RingStats } from '../engine/ring.js';
import type { StoreReader } from '../engine/store/reader.js';
import { storeBytes, type StoreBuffers } from '../engine/store/layout.js';
import { bindingLimit, type BindingLimit, type MemoryFit } from './memory-fit.js';
import { readAddressSpace } from '../actors/thread-room.js';
import { memoryInUse } from '../engine/memory-limit.js';
import type { SourceCost } from '../engine/system.js';
import type { OverheadGovernor, OverheadStatus } from '../overhead/governor.js';
import type { DropReport, DropWatch } from './drops.js';
import type { FaultStatus, Faults } from './faults.js';
import type { SeriesRefusalStatus, SeriesRefusals } from './series-refusals.js';
import type { ResolvedOptions } from './options.js';
import type { ControlLogStatus } from './control-log.js';
import type { ControlState } from './control-state.js';
import type { StorageLink, StorageStatusView } from './storage-link.js';
import type { HubLinkStatus, HubRole } from '../hub/role.js';
import type { ExportLink, ExportStatus } from './export-link.js';

export type MonitorState = 'stopped' | 'starting' | 'running' | 'stopping';

export interface RingStatus extends RingStats {
  owner: 'main' | 'worker';
}

export interface MonitorStatus {
  /** Auto-instrumentation (instrument()): its sources, and values that fell into `other`; null when off. */
  instrument: InstrumentStatus | null;
  /** Profile captures: the one running, taken, refused (busy, rate-limited), failed with the last error, and the files against their bounds. */
  profiling: ProfilerStatus;
  state: MonitorState;
  /**
   * Why this monitor never runs, or null: one built on a thread of perfwatch's own (a preload of
   * the host's run there by threadPreloads: 'inherit') makes no thread, its start() resolves
   * with the monitor stopped and its records are dropped (src/actors/own-thread.ts).
   */
  inert: string | null;
  running: boolean;
  /** Running with its own sampling paused (pause()). */
  paused: boolean;
  startedAt: number | null;
  uptimeMs: number;
  collectionIntervalMs: number;
  /**
   * The monitor's clock (monitor.now(), engine/monitor-clock.ts) against the wall clock:
   * `aheadMs` how far it runs ahead of Date.now(), after `steps` steps back of the wall clock
   * (the last found at `lastStepAt`, in the monitor's clock; null: none). Every time the monitor
   * gives or takes is in its clock.
   */
  clock: { aheadMs: number; steps: number; lastStepAt: number | null };
  /**
   * The application's series against maxSeries; the monitor's own are counted apart.
   * `lockTakeovers`: registry locks taken from a thread that ended holding one (a worker
   * terminated while it added a series), each after a 100 ms wait of the thread that took it.
   */
  /** `refused`: new series refused at maxSeries, on this thread by name, in producer() threads by count (monitor/series-refusals.ts). */
  series: { count: number; limit: number; own: { count: number; limit: number }; lockTakeovers: number; refused: SeriesRefusalStatus };
  ingestion: {
    /** Samples applied to the store since the monitor was created. */
    ingested: number;
    /** Samples per second over the last few seconds while running; null when stopped. */
    ratePerSecond: number | null;
    dropped: number;
    /** The latest collection interval with drops (the 'drops' event's report), or null. */
    lastDrops: DropReport | null;
    /** Samples whose series id was unknown (should stay 0). */
    badSamples: number;
    /** Samples published and waiting in rings. */
    pending: number;
    overflow: OverflowPolicy;
    stallTimeoutMs: number;
    rings: RingStatus[];
  };
  collector: {
    state: ActorState;
    restarts: number;
    /** The last exit: `reason` without the actor's name, `hung` when it stopped beating, `at` when it was heard of (epoch ms). */
    lastExit: { code: number; message: string | null; reason: string; hung: boolean; at: number } | null;
    /**
     * Read from shared memory, so current even while this thread has not yet heard of a
     * replacement: the age of the running collector's last beat, and when it started.
     */
    heartbeatAgeMs: number | null;
    startedAt: number | null;
    /**
     * How long the oldest sample waiting in a ring has waited (0 when none waits): since the
     * collector first saw it published, or, for one published after its last pass, since
     * that pass (or the doorbell or quiet publish that announced it).
     */
    lagMs: number;
    openSeries: number | null;
    freeSketchPages: number;
    sketchOverflow: number;
    /**
     * Closed buckets whose sketch the log had overwritten when their minute's rollup read
     * it, since the collector started: those rollups' quantiles stand for part of their
     * minute (counts and sums are whole). A rollup reads the log only where the collector's
     * minute sketch does not stand for the whole minute: a collector that replaced a dead one
     * within it, or a minute past the minute sketches' bound (minuteSketchBytes). Above 0:
     * raise sketchLogBytes (docs/reference.md).
     */
    sketchesLost: number;
    /**
     * Seconds of closed buckets' sketches the sketch log holds at the rate of the last
     * interval that wrote some (null before the first): a window read that merges older
     * buckets' sketches reads part of them, and so does a minute's rollup that falls back to
     * the log (sketchesLost). sketchLogBytes scales it.
     */
    sketchLogReachSeconds: number | null;
    /**
     * Bytes of the collector's minute sketches at the last bucket boundary: per series, its
     * closed buckets' sketches of the minute merged as they close, so that each minute's
     * rollup takes all of them whatever the sketch log's reach. Collector heap, not shared
     * memory; at most twice sketchLogBytes (past that, a minute's rollup reads the log, and
     * what the log lost counts in sketchesLost).
     */
    minuteSketchBytes: number;
  };
  memory: {
    /**
     * Shared memory written so far: the store's pages that data reached, the rings, the
     * registry and the control block. What the monitor's buffers add to the resident size.
     */
    touchedBytes: number;
    /**
     * Address space the buffers reserve, by configuration: not memory in use (a page costs
     * memory once written). Of which the series store, the registry and the rings.
     */
    addressSpaceBytes: number;
    storeBytes: number;
    registryBytes: number;
    ringBytes: number;
    /**
     * The memory this process may use, which the buffers were sized and checked against:
     * the machine's (source 'os.totalmem()'), or its cgroup's limit in a container (source
     * names the file, e.g. 'cgroup v2 /sys/fs/cgroup/memory.max'). `scale`: the factor
     * maxSeries and the sketch buffers, where not given, were scaled by to fit about a
     * quarter of it (1: as documented; docs/reference.md, "Memory limits").
     */
    limit: MemoryFit;
    /**
     * The limit the process meets first, read at each status(): its address space under
     * `ulimit -v` (kind 'address-space'), its cgroup's memory limit ('cgroup') or the machine's
     * memory ('physical'), whichever has the least left (freeBytes). `limit` above stays what the
     * buffers were sized against: under `ulimit -v` alone it is the machine's memory, which
     * is not the room the process has.
     */
    binding: BindingLimit;
  };
  system: SystemInfo | null;
  alerts: AlertingStatus & { heartbeatAgeMs: number | null };
  /** The monitor's own CPU and memory against its budget, and the back-off in effect. */
  overhead: OverheadStatus;
  /** Errors of the monitor's own work, caught and counted by kind (never thrown into the host). */
  faults: FaultStatus;
  /**
   * Where the data is kept: 'memory', or 'sqlite' with the dataDir, the storage actor, and its
   * last report (file size, oldest data, last flush, last error; see StorageStatus).
   */
  storage: StorageStatusView & { control?: ControlLogStatus };
  /**
   * The hub link (options.hub; docs/cluster.md), null without one: a member's link (sent,
   * failed, dropped, queue depth, lag, last error), or a hub's members, each with the same.
   */
  hub: HubLinkStatus | null;
  /**
   * The exporter actor and each remote_write and OTLP endpoint: samples sent, failed
   * (refused with a 4xx), dropped (a full queue), retries, requests waiting, the last error
   * and the lag (the age of the oldest export not yet sent). No endpoint: an empty list.
   */
  export: ExportStatus;
}

/** The parts status() reads that live as long as the monitor. */
export interface StatusParts {
  options: ResolvedOptions;
  memoryFit: MemoryFit;
  control: SharedArrayBuffer;
  ctl: ControlViews;
  store: StoreBuffers;
  registry: Registry;
  reader: StoreReader;
  collector: Supervisor<CollectorApi>;
  alerting: Alerting;
  overhead: OverheadGovernor;
  faults: Faults;
  refusals: SeriesRefusals;
  drops: DropWatch;
  storage: StorageLink | undefined;
  /** The control state's queue to the database: changes the disk has not taken yet (control.unsaved). */
  controlState: ControlState | undefined;
  hub: HubRole | undefined;
  exporter: ExportLink;
}

/** What changes as the monitor runs. */
export interface LiveState {
  state: MonitorState;
  inert: string | null;
  paused: boolean;
  startedAt: number | null;
  /** The main thread's ring first, then those of producer() handles. */
  rings: readonly SharedArrayBuffer[];
  ratePerSecond: number;
  collectorInfo: CollectorInfo | undefined;
  touchedBytes: number;
  instrument: InstrumentStatus | null;
  profiling: ProfilerStatus;
}

/** The rings' headers, the main thread's first. */
export function ringStatuses(rings: readonly SharedArrayBuffer[]): RingStatus[] {
  return rings.map((sab, i) => ({ owner: i === 0 ? 'main' : 'worker', ...ringStats(sab) }));
}

export function ringBytes(rings: readonly SharedArrayBuffer[]): number {
  return rings.reduce((a, r) => a + r.byteLength, 0);
}

/**
 * See MonitorStatus.memory.touchedBytes: the store's pages written (`storeTouched`, engine/
 * store/usage.ts' touchedBytes, read through monitor/touched-memory.ts), and the other buffers whole.
 */
export function touchedSharedBytes(p: Pick<StatusParts, 'registry' | 'control'>, rings: readonly SharedArrayBuffer[], storeTouched: number): number {
  return storeTouched + p.registry.bytes() + ringBytes(rings) + p.control.byteLength;
}

export function monitorStatus(p: StatusParts, live: LiveState, now: number): MonitorStatus {
  const running = live.state === 'running';
  const rings = ringStatuses(live.rings);
  const clock = p.ctl.f64[CLOCK]!;
  const c = p.collector;
  const store = storeBytes(p.store);
  const ringsBytes = ringBytes(live.rings);
  const pending = rings.reduce((a, r) => a + r.fill, 0);
  return {
    instrument: live.instrument,
    profiling: live.profiling,
    state: live.state,
    inert: live.inert,
    running,
    paused: live.paused,
    startedAt: live.startedAt,
    uptimeMs: live.startedAt && running ? now - live.startedAt : 0,
    collectionIntervalMs: p.options.collectionIntervalMs,
    clock: { aheadMs: p.ctl.f64[CLOCK_OFFSET]!, steps: p.ctl.f64[CLOCK_STEPS]!, lastStepAt: p.ctl.f64[CLOCK_STEPPED_AT]! > 0 ? p.ctl.f64[CLOCK_STEPPED_AT]! : null },
    series: { count: p.registry.applicationSeriesCount(), limit: p.options.maxSeries, own: { count: p.registry.ownSeriesCount(), limit: OWN_SERIES }, lockTakeovers: p.registry.lockTakeovers(), refused: p.refusals.status() },
    ingestion: {
      ingested: p.ctl.f64[INGESTED]!,
      ratePerSecond: running ? live.ratePerSecond : null,
      dropped: rings.reduce((a, r) => a + r.dropped, 0),
      lastDrops: p.drops.last,
      badSamples: p.ctl.f64[BAD_SAMPLES]!,
      pending,
      overflow: p.options.overflow,
      stallTimeoutMs: p.options.stallTimeoutMs,
      rings: rings.filter((r) => r.owner === 'main' || r.claimedBy !== 0),
    },
    collector: {
      state: c.state,
      restarts: c.restarts,
      lastExit: c.lastExit ? { code: c.lastExit.code, message: c.lastExit.error?.message ?? null, reason: exitReason(c.lastExit), hung: c.lastExit.hung === true, at: c.lastExit.at } : null,
      heartbeatAgeMs: clock > 0 && running ? Math.max(0, now - clock) : null,
      startedAt: running ? p.ctl.f64[STARTED_AT]! : null,
      lagMs: collectorLag(p.ctl, now, pending),
      openSeries: live.collectorInfo?.openSeries ?? null,
      freeSketchPages: p.reader.freePages(),
      sketchOverflow: p.ctl.f64[SKETCH_OVERFLOW]!,
      sketchesLost: p.ctl.f64[SKETCHES_LOST]!,
      sketchLogReachSeconds: p.ctl.f64[SKETCH_LOG_REACH]! > 0 ? p.ctl.f64[SKETCH_LOG_REACH]! : null,
      minuteSketchBytes: p.ctl.f64[MINUTE_SKETCH_BYTES]!,
    },
    memory: {
      touchedBytes: live.touchedBytes,
      addressSpaceBytes: store + p.registry.bytes() + ringsBytes + p.control.byteLength,
      storeBytes: store,
      registryBytes: p.registry.bytes(),
      ringBytes: ringsBytes,
      limit: { ...p.memoryFit },
      binding: bindingLimit(p.memoryFit, readAddressSpace(), memoryInUse(p.memoryFit)),
    },
    system: live.collectorInfo?.system ?? null,
    alerts: { ...p.alerting.status(), heartbeatAgeMs: p.alerting.heartbeatAge(now) },
    overhead: p.overhead.status(),
    faults: faultStatus(p, live.collectorInfo),
    storage: p.storage ? { ...p.storage.status(), ...(p.controlState ? { control: p.controlState.status() } : {}) } : { mode: 'memory' },
    hub: p.hub?.status() ?? null,
    export: p.exporter.status(),
  };
}

/**
 * This thread's faults, with the collector's own readings it could not record and the failed
 * reads of its system sources (kind `system-source`: the latest failure's source and error;
 * system.sources says which fail now).
 */
function faultStatus(p: StatusParts, collector: CollectorInfo | undefined): FaultStatus {
  const status = p.faults.status();
  const own = p.ctl.f64[OWN_FAULTS]!;
  if (own > 0) {
    status.byKind['collector-own-reading'] = { count: own, lastMessage: "a reading of the monitor's own could not be registered (see the collector)", lastAt: 0 };
    status.total += own;
  }
  let failed = 0;
  let last: SourceCost | undefined;
  for (const s of collector?.system.sources ?? []) {
    failed += s.errors;
    if (s.errors > 0 && (last === undefined || (s.lastErrorAt ?? 0) > (last.lastErrorAt ?? 0))) last = s;
  }
  if (last) {
    status.byKind['system-source'] = { count: failed, lastMessage: `${last.source}: ${last.lastError ?? 'failed'}`, lastAt: last.lastErrorAt ?? 0 };
    status.total += failed;
  }
  return status;
}
