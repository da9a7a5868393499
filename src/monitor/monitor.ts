/**
 * PerformanceMonitor, the coordinator on the host's main thread. It owns the shared memory
 * (control block, registry, series store, rings), starts and supervises the collector actor,
 * samples the runtime metrics of the main thread, and answers queries by reading the store
 * in place. Recording goes through the main thread's ring; other threads get their own with
 * producer() + attachProducer().
 *
 * Faults degrade and heal, never throw into the host: the actors are children of a watchdog
 * thread that replaces a dead or stuck one without this thread's help (events 'actor-exit',
 * 'actor-restart'), samples wait in the rings meanwhile, and errors in what the monitor runs
 * on its own here (observers, samplers, its timer, actors' callbacks) are caught and counted
 * (status().faults, monitor_faults). start(), stop() and close() run one at a time, in the
 * order they were called.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import * as Comlink from 'comlink';
import type { CollectorApi, CollectorData, Fault, HistoryRequest } from '../actors/protocols.js';
import { Supervisor, WatchdogLink, type ActorExit } from '../actors/supervisor.js';
import { holdHost, holding } from '../actors/hold.js';
import { Alerting, type AlertQuery, type HistoryFilter } from '../alerts/alerting.js';
import type { Alert, AlertRule, AlertRuleInput, AlertTransition } from '../alerts/schema.js';
import { BEAT_BY, CLOCK, CLOSED_BUCKET_START, PAUSED, THREAD_ARENA_REFUSED, THREAD_NAMES_REFUSED, THREAD_REFUSED, TID, controlViews, markHubRead, ringMail, type ControlViews } from '../engine/control.js';
import type { MetricKind, MetricUnit } from '../engine/metrics.js';
import { Producer, type BatchSample, type MetricHandle, type MetricOptions, type ProducerHandle, type RequestSample, type SampleColumns } from '../engine/producer.js';
import { MAIN_LOCK_TAG, NAMES_ADVICE, Registry, arenaFitAdvice, formatSeries, nameCapacity, type RefusalCause, type RegistryBuffers, type Tags } from '../engine/registry.js';
import { SeriesRefusals } from './series-refusals.js';
import { ProducerHandles } from './producer-handles.js';
import { RestoredPlaces } from './restored-places.js';
import { CLOSED_RULE, RingWriter, closeRing, ringStats } from '../engine/ring.js';
import { monitorNow, resumeClock } from '../engine/monitor-clock.js';
import { lastFreeze } from '../engine/freeze-watch.js';
import { SketchAccumulator } from '../engine/sketch.js';
import type { StoreBuffers } from '../engine/store/layout.js';
import type { StoredRollups } from '../storage/rollups.js';
import { StoreReader } from '../engine/store/reader.js';
import type { Watched, WatchedSpan } from '../analysis/watched.js';
import { ActorError, InvalidArgumentError, MonitorStoppedError } from '../errors.js';
import { isNoRoom, noRoomFor, readAddressSpace, threadsThatFit } from '../actors/thread-room.js';
import { INERT_RULE, inOwnThread } from '../actors/own-thread.js';
import { checkKeys } from '../known-keys.js';
import { checkEvent, type EmitterEvent, type MonitorEvents } from './events.js';
import type { McpHttpServer, ServeMcpOptions } from '../mcp/http-options.js';
import type { HttpServer } from '../http/types.js';
import type { ServeHttpOptions } from '../http/options.js';
import { Instrumentation } from '../instrument/instrumentation.js';
import { resolveInstrumentOptions, type InstrumentOptions } from '../instrument/options.js';
import { Optimizer } from '../optimizer/optimizer.js';
import type { OptimizationLogEntry, OptimizationResult, OptimizationRun, OptimizeOptions } from '../optimizer/optimization.js';
import { measureTarget, type Tunable, type TunableDefinition } from '../optimizer/tunables.js';
import { OverheadGovernor, type OverheadOptions } from '../overhead/governor.js';
import { cpuLimit } from '../engine/cpu-limit.js';
import { nextTickFaked, wallNow } from '../engine/real-timers.js';
import { ReportService, type BaselineOptions, type ReportOptions } from '../reports/service.js';
import { ProfileFiles } from '../profiling/files.js';
import { ownTempDir } from '../profiling/temp-dirs.js';
import { Profiler, type ProfilerStatus } from '../profiling/profiler.js';
import type { Capture, ProfileRequest } from '../profiling/schema.js';
import { annotationsOf } from '../profiling/text.js';
import type { Baseline, PerformanceReport } from '../reports/types.js';
import { allocateBuffers, allocateRings } from './buffers.js';
import { DropWatch, dropAdvice } from './drops.js';
import { Faults } from './faults.js';
import { httpFront, mcpFront } from './fronts.js';
import { ServedFronts } from './served.js';
import { timedOwn } from './front-stages.js';
import { HistoryReader, storedHourly, type HistoryQuery, type MetricHistory, type PlannedSeries } from './history.js';
import type { MonitorOptions, ResolvedOptions } from './options.js';
import { threadHeapLimits, type ThreadKind } from '../actors/thread-limits.js';
import { noMemoryFor, resolveForMemory, startThreads, type MemoryFit } from './memory-fit.js';
import { defineOwnMetrics, registerOwnTunables, sampledNames } from './own.js';
import { ReservedNames } from '../engine/reserved.js';
import { Query, type MetricName, type MetricQuery, type MetricSnapshot } from './query.js';
import { unmatchedTagsNote, unseenMetricNote } from './names.js';
import { RUNTIME_SERIES, RuntimeSampler } from './runtime.js';
import { StorageLink } from './storage-link.js';
import { ExportLink, type ExportStatus } from './export-link.js';
import { ControlState, deleteDatabase, type StoredData } from './control-state.js';
import { Tick } from './tick.js';
import { releaseAtHostExit, stopAtHostExit } from './host-exit.js';
import { inOwnContext } from './own-context.js';
import { hubRole, isHubSide, type HubRole } from '../hub/role.js';
import { checkListenPath } from '../hub/socket-path.js';
import { TouchedMemory } from './touched-memory.js';
import { monitorStatus, touchedSharedBytes, type MonitorState, type MonitorStatus, type StatusParts } from './status.js';
import { VERSION } from '../version.js';

/**
 * A front called while a test's fake clock holds process.nextTick is refused, where it hung:
 * Node's listen() calls back through it, and the call never settled (a test suite's timeout,
 * or a process that ended with it pending).
 */
function refuseFakedTicks(call: string): void {
  if (!nextTickFaked()) return;
  throw new InvalidArgumentError('process.nextTick', `is a test's fake timer (sinon's useFakeTimers() fakes it by default): Node's sockets call back through it, so ${call}() would never listen while it is faked; call ${call}() before installing the fake timers, or leave nextTick and queueMicrotask real (sinon: a toFake list without them)`);
}

export type { MonitorState, MonitorStatus, RingStatus } from './status.js';
export type { StoredData } from './control-state.js';

export class PerformanceMonitor extends EventEmitter {
  readonly options: ResolvedOptions;
  readonly id = randomUUID();
  private readonly control: SharedArrayBuffer;
  private readonly ctl: ControlViews;
  private readonly registryBuffers: RegistryBuffers;
  private readonly store: StoreBuffers;
  private readonly mainRing: SharedArrayBuffer;
  private readonly handleRings: SharedArrayBuffer[] = [];
  private readonly registry: Registry;
  private readonly reader: StoreReader;
  private readonly query: Query;
  private readonly history: HistoryReader;
  private readonly main: Producer;
  /** The main thread's ring, under `main`. */
  private readonly mainWriter: RingWriter;
  private readonly collector: Supervisor<CollectorApi>;
  private readonly runtime: RuntimeSampler | undefined;
  private readonly alerting: Alerting;
  private readonly watchdog: WatchdogLink;
  private readonly faults: Faults;
  /** Places of maxSeries held by series restored from the database and not recorded since (restored-places.ts). */
  private readonly restoredPlaces: RestoredPlaces;
  /** New series refused: status().series.refused, a fault of kind series-limit (series-arena, series-names), a report's note, monitor_series_refused. */
  private readonly refusals = new SeriesRefusals();
  private readonly drops: DropWatch;
  /** The fronts serveHttp() and serveMcp() made that are up: close() closes them (served.ts). */
  private readonly served = new ServedFronts();
  private currentState: MonitorState = 'stopped';
  private closed = false;
  private pausedNow = false;
  /** The last start/stop/close queued: each runs after the one before it. */
  private lifecycle: Promise<unknown> = Promise.resolve();
  private startedAt: number | null = null;
  /** When the monitor first started (what the alerts' windows and OTLP's cumulative points count from). */
  private firstStartedAt = Infinity;
  /** When this run began (the time rates count from, with the runs before it). */
  private runFrom = Infinity;
  /** This object's runs that ended (a stop(), then a start() again): the time between them is not watched. */
  private readonly runs: WatchedSpan[] = [];
  private readonly handles = new ProducerHandles();
  private sketchPagesPeak = 0;
  /** The store's memory touched, walked again only when the collector wrote since (touched-memory.ts). */
  private touchedMemory: TouchedMemory | undefined;
  private readonly reports: ReportService;
  private readonly optimizer: Optimizer;
  /** For the spread of a tunable's target read from buckets (3 MB): made at the first such reading. */
  private targetSketches: SketchAccumulator | undefined;
  private readonly overhead: OverheadGovernor;
  private readonly statusParts: StatusParts;
  private readonly tick: Tick;
  /** The database behind options.storage 'sqlite' (see storage-link.ts); undefined with 'memory'. */
  private readonly storage: StorageLink | undefined;
  /** The rules, alerts, baselines and optimisation state in that database (see control-state.ts). */
  private readonly controlState: ControlState | undefined;
  /** The auto-instrumentation (instrument()): subscribed while running, none when undefined. */
  private instrumentation: Instrumentation | undefined;
  /** This monitor's side of a hub (options.hub, docs/cluster.md); undefined without one. */
  private readonly hub: HubRole | undefined;
  private readonly profiler: Profiler;
  /** The exporter actor behind options.export (see export-link.ts); idle with no endpoint. */
  private readonly exporter: ExportLink;
  /** The memory limit the buffers were sized and checked against (memory-fit.ts; status().memory.limit). */
  private readonly memoryFit: MemoryFit;
  /** Each of its threads' heap limit (MB; actors/thread-limits.ts). */
  private readonly threadHeap: Record<ThreadKind, number>;
  /**
   * Why this monitor never runs (status().inert): it was built on one of perfwatch's own
   * threads, by a preload of the host's (threadPreloads: 'inherit'). Started, it would make
   * threads that run the preload again, each building one more (src/actors/own-thread.ts);
   * so it makes none, and its records are dropped as after the host's exit, not thrown at
   * the preload, whose error would end our thread.
   */
  private readonly inert: string | undefined = inOwnThread() ? INERT_RULE : undefined;

  constructor(options?: MonitorOptions) {
    super();
    const resolved = resolveForMemory(options);
    this.options = resolved.options;
    this.memoryFit = resolved.memory;
    const o = this.options;
    const buffers = allocateBuffers(o, this.memoryFit);
    this.control = buffers.control;
    this.ctl = controlViews(this.control);
    this.registryBuffers = buffers.registry;
    this.store = buffers.store;
    this.mainRing = buffers.mainRing;
    this.registry = new Registry(this.registryBuffers, MAIN_LOCK_TAG);
    this.reader = new StoreReader(this.store);
    // One accumulator (3 MB) for the two: they run one at a time on this thread.
    const acc = new SketchAccumulator();
    this.query = new Query(this.registry, this.reader, () => this.watched(), acc);
    this.history = new HistoryReader(this.registry, this.reader, acc, () => this.watched(), o.hub !== undefined && isHubSide(o.hub));
    this.faults = new Faults((kind) => this.main.ownMetric('monitor_faults', { kind }).record(1), () => this.now());
    // This thread's registrations (record(), batches, instrument(), a hub's members' series),
    // by name; a producer() thread's are counted in the control block (THREAD_REFUSED), taken
    // by takeThreadRefusals() at each tick and each look at them.
    // The fault once a cause (maxSeries, the arena, the name table), at its first refusal: a
    // fault a refusal was one a request under instrument() at the limit;
    // status().series.refused counts them all, and monitor_series_refused says as many
    // (recordRefusals).
    // Series restored from the database and not recorded since hold places too: said in the
    // refusal, the fault and status().series.refused (restored-places.ts).
    this.restoredPlaces = new RestoredPlaces(this.reader);
    this.registry.refusalNote = () => this.restoredPlaces.note(this.now(), o.maxSeries);
    this.registry.onRefused = (refused, cause) => {
      this.takeThreadRefusals();
      const restored = this.restoredPlaces.unrecorded(this.now());
      const fault = this.refusalFault(cause);
      this.refusals.note(refused.name, refused.pairs, this.now(), restored, cause);
      // A series the arena refused has long tags (only they fill it): said by its size, not its values.
      // A name the name table refused is said as a name: its series' tags are not why.
      fault?.(cause === 'arena' ? `a new series of ${refused.name} (${refused.pairs.length} tags, ${Buffer.byteLength(refused.key).toLocaleString('en-US')} bytes of name and tags)` : cause === 'names' ? `the metric name "${refused.name}"` : formatSeries(refused.name, Object.fromEntries(refused.pairs)), restored);
    };
    this.drops = new DropWatch(monitorNow(this.ctl));
    this.mainWriter = new RingWriter(this.mainRing, this.control, o.overflow, o.stallTimeoutMs);
    this.main = new Producer(this.mainWriter, this.registry, new ReservedNames(sampledNames(o)));
    if (this.inert !== undefined) closeRing(this.mainRing, true, true);
    // Each thread's heap limit: one that runs away ends alone, reported, instead of the host (actors/thread-limits.ts).
    this.threadHeap = threadHeapLimits({ maxSeries: o.maxSeries, maxAlertRules: o.maxAlertRules, historyLimit: o.alerts.historyLimit }, o.threadHeapMb, this.memoryFit);
    this.watchdog = new WatchdogLink((error, kind = 'watchdog') => this.faults.report(kind, error), o.threadPreloads, undefined, this.threadHeap);
    this.collector = new Supervisor<CollectorApi>(
      'collector',
      new URL('../../workers/collector.js', import.meta.url),
      () => this.collectorData(),
      {
        exit: (info) => this.emitSafe('actor-exit', info),
        restart: (info) => this.emitSafe('actor-restart', info),
        // A successor gets the rings handed out while it started, whatever its data held.
        ready: (remote) => remote.addRings(this.handleRings),
      },
      this.watchdog,
      { control: this.control, at: CLOCK, by: BEAT_BY, tid: TID },
      { posted: () => ringMail(this.ctl), stopWork: () => this.leftInRings() },
    );
    // A hub on a database drives its flushes (between its applies, with its members' numbers: hub/durable.ts).
    const hubOnDisk = o.storage === 'sqlite' && o.hub !== undefined && isHubSide(o.hub);
    this.storage =
      o.storage === 'sqlite'
        ? new StorageLink({ options: o, control: this.control, registryBuffers: this.registryBuffers, store: this.store, watchdog: this.watchdog, faults: this.faults, emit: (event, ...args) => this.emitSafe(event, ...args), reopened: () => this.controlState?.rewrite(), attached: () => this.openControl(), retained: (before) => this.alerting.forgetBefore(before), wrote: (startedAt) => this.controlState?.log.storageWrote(startedAt - (this.now() - Date.now())), restored: (ids) => this.restoredPlaces.add(ids), driven: hubOnDisk })
        : undefined;
    this.controlState = this.storage ? new ControlState(this.storage, (error) => this.faults.report('storage-control', error), (work) => this.visitStopped(work)) : undefined;
    const cs = this.controlState;
    this.runtime = o.runtime.enabled ? new RuntimeSampler(this.main, o.runtime.eventLoopResolutionMs, this.faults, { ctl: this.ctl, now: () => this.now() }) : undefined;
    const { historyLimit, ...notifier } = o.alerts;
    this.alerting = new Alerting({
      control: this.control,
      views: this.ctl,
      registry: this.registryBuffers,
      store: this.store,
      seriesCapacity: buffers.seriesCapacity,
      intervalMs: o.collectionIntervalMs,
      watchedFrom: () => (this.firstStartedAt === Infinity ? this.now() : this.firstStartedAt),
      // Asked as the actor starts, after this run's start is known: the run goes on while the actor runs.
      watched: () => (this.splitAtFreeze(), { from: this.runFrom === Infinity ? this.now() : this.runFrom, to: Infinity, ...(this.runs.length > 0 ? { earlier: [...this.runs] } : {}) }),
      historyLimit,
      maxRules: o.maxAlertRules,
      notifier: { ...notifier, webhooks: notifier.webhooks.map((w) => (typeof w === 'string' ? { url: w } : w)) },
      watchdog: this.watchdog,
      emit: (event, ...args) => this.emitSafe(event, ...args),
      fault: (kind, error) => this.faults.report(kind, error),
      onFiring: (t, rule) => this.profiler.onFiring(t, rule),
      ...(cs ? { persist: cs.alerts } : {}),
    });
    defineOwnMetrics(this.registry);
    this.exporter = new ExportLink({
      options: o,
      control: this.control,
      registryBuffers: this.registryBuffers,
      store: this.store,
      seriesCapacity: buffers.seriesCapacity,
      watchdog: this.watchdog,
      faults: this.faults,
      emit: (event, ...args) => this.emitSafe(event, ...args),
      record: (name, value, tags) => this.recordOwn(name, value, tags),
    });
    this.reports = new ReportService({
      monitorId: this.id,
      now: () => this.now(),
      store: this.store,
      registry: this.registryBuffers,
      threads: o.reports.threads,
      threadPreloads: o.threadPreloads,
      heapMb: this.threadHeap.reports,
      timeoutMs: o.reports.timeoutMs,
      // Reports analyse the alert engine's history of transitions.
      alertHistory: (q) => this.alerting.getHistory(q),
      watched: () => this.watched(),
      onTask: (_kind, wallMs) => this.recordOwn('monitor_report_time', wallMs),
      seriesWithData: () => Array.from({ length: this.registry.seriesCount() }, (_, id) => id).filter((id) => this.reader.totalCount(id) > 0),
      profiles: (from, to) => this.profiler.notes(from, to),
      fault: (error, kind = 'reports') => this.faults.report(kind, error),
      ...(o.hub !== undefined && isHubSide(o.hub) ? { hub: true } : {}),
      ...(cs ? { persistBaseline: cs.baseline } : {}),
      ...(this.storage ? { storagePort: () => (this.currentState === 'running' ? this.storage!.port() : Promise.resolve(null)) } : {}),
      // The stored series the start left out are read by histories, not by reports: a report
      // over time before this monitor started says so (their rows are all from before it).
      ...(this.storage ? { leftOut: (from: number) => (from >= this.firstStartedAt ? undefined : this.storage!.leftOutNote()) } : {}),
      seriesRefused: () => this.takeThreadRefusals().reportNote(o.maxSeries),
      samplesDropped: () => this.drops.reportNote(dropAdvice(o.overflow, o.stallTimeoutMs, o.ringCapacity)),
    });
    this.overhead = new OverheadGovernor(
      {
        intervalMs: o.collectionIntervalMs,
        slowCadenceMs: o.system.slowCadenceMs,
        systemEnabled: o.system.enabled,
        collectorUsage: async () => (this.collector.state === 'running' ? this.collector.call((c) => c.usage()) : undefined),
        setCadence: async (systemMs, slowMs) => {
          if (this.collector.state === 'running') await this.collector.call((c) => c.setSystemCadence(systemMs, slowMs));
        },
        sharedBytesInUse: () => this.touchedBytes(),
        reports: () => this.reports.usage(),
        limitReports: (cap) => this.reports.limit(cap),
        record: (name, value) => this.recordOwn(name, value),
        now: wallNow,
      },
      o.overhead,
      { limit: cpuLimit(), given: options?.overhead?.cpuPercent !== undefined },
    );
    this.optimizer = new Optimizer({
      now: () => this.now(),
      measure: (t, from, to) => measureTarget(this.registry, this.reader, t.target, t.targetTags, from, to, () => (this.targetSketches ??= new SketchAccumulator())),
      flush: () => this.flush(),
      verificationWindowMs: () => o.reports.verificationWindowMs,
      notes: () => [
        `collectionIntervalMs (${o.collectionIntervalMs}) and rawCapacity (${o.rawCapacity}) size the shared store and are fixed at construction: they are not tunables; construct a monitor with other values to change them.`,
      ],
      ...(cs ? { persist: cs.optimizer } : {}),
    });
    registerOwnTunables(this.optimizer, this.reports, this.overhead, o);
    // <dataDir>/profiles only while this monitor holds the dataDir's lock: a monitor that could
    // not take it (another process's) must neither write there nor prune that one's files.
    const ownDir = ownTempDir();
    const dataDirProfiles = resolve(o.dataDir, 'profiles');
    const storage = this.storage;
    const profileDir = o.profiling.dir !== undefined ? resolve(o.profiling.dir) : storage ? () => (storage.holdsLock ? dataDirProfiles : ownDir) : ownDir;
    this.profiler = new Profiler({
      options: o.profiling,
      files: new ProfileFiles(profileDir, o.profiling),
      mainBusy: (ms) => this.overhead.profilingBusy(ms),
      captured: (capture) => this.emitSafe('profile', capture),
      attach: (t, note, capture) => this.alerting.attachProfile(t, note, capture ? annotationsOf(capture) : null),
      pruned: (t, why) => this.alerting.profileFilePruned(t, why),
      fault: (kind, error) => this.faults.report(kind, error),
    });
    this.tick = new Tick({
      intervalMs: o.collectionIntervalMs,
      ctl: this.ctl,
      mainWriter: this.mainWriter,
      runtime: this.runtime,
      faults: this.faults,
      drops: this.drops,
      dropAdvice: () => dropAdvice(o.overflow, o.stallTimeoutMs, o.ringCapacity),
      collector: this.collector,
      overhead: this.overhead,
      rings: () => this.rings(),
      running: () => this.running,
      emit: (event, ...args) => this.emitSafe(event, ...args),
      seriesRefusals: () => this.recordRefusals(),
    });
    if (o.instrument !== undefined) this.instrumentation = this.newInstrumentation(o.instrument);
    this.hub = o.hub
      ? hubRole(o.hub, {
          registry: this.registry,
          reader: this.reader,
          intervalMs: o.collectionIntervalMs,
          // The columns move to the collector, not copied: the hub builds them for this call alone.
          apply: (batch) => this.collector.call((c) => c.applyBuckets(Comlink.transfer(batch, [batch.ids.buffer, batch.starts.buffer, batch.stats.buffer, batch.runs.buffer, batch.runAt.buffer] as ArrayBuffer[]))),
          fault: (kind, error) => this.faults.report(kind, error),
          clock: () => this.now(),
          readTo: (at) => markHubRead(this.ctl, at, o.collectionIntervalMs),
          record: (name, value, tags) => this.recordOwn(name, value, tags),
          perProcess: new Set(RUNTIME_SERIES),
          // Its first run's start; before the first run accepts records (a hello at start()), now.
          watchedFrom: () => this.runs[0]?.from ?? (this.runFrom === Infinity ? this.now() : this.runFrom),
          closedTo: () => this.ctl.f64[CLOSED_BUCKET_START]! + o.collectionIntervalMs,
          ...(this.exporter.instance !== undefined ? { exportInstance: this.exporter.instance } : {}),
          ...(hubOnDisk && this.storage ? { disk: this.storage.seqDisk() } : {}),
        })
      : undefined;
    this.statusParts = {
      options: o,
      memoryFit: this.memoryFit,
      control: this.control,
      ctl: this.ctl,
      store: this.store,
      registry: this.registry,
      reader: this.reader,
      collector: this.collector,
      alerting: this.alerting,
      overhead: this.overhead,
      faults: this.faults,
      refusals: this.refusals,
      drops: this.drops,
      storage: this.storage,
      controlState: this.controlState,
      hub: this.hub,
      exporter: this.exporter,
    };
  }

  get state(): MonitorState {
    return this.currentState;
  }

  get running(): boolean {
    return this.currentState === 'running';
  }

  /**
   * What JSON.stringify() makes of a monitor: its id and state. A monitor put into a JSON
   * logger's context (a common slip) was walked whole, its views over hundreds of MiB of shared
   * memory as objects of numbered keys: the host's thread held for minutes. status() is the
   * monitor's state in full.
   */
  toJSON(): { perfwatch: 'PerformanceMonitor'; id: string; state: MonitorState } {
    return { perfwatch: 'PerformanceMonitor', id: this.id, state: this.currentState };
  }

  /**
   * Starts the collector and the runtime sampler; recording works once this resolves.
   * start(), stop() and close() run one at a time in call order, each resolving once done.
   */
  start(): Promise<void> {
    // Its threads, timers and ports outlive the call: not in the caller's async context (own-context.ts).
    return this.serially(() => inOwnContext(() => this.startNow()));
  }

  /**
   * Stops recording (record() throws from now on), lets the collector drain what the rings
   * hold, and stops it. The data stays readable; start() resumes on it.
   */
  stop(): Promise<void> {
    return this.serially(() => this.stopNow());
  }

  /**
   * Stops for good: stop(), then no alert notification goes out any more (queued webhook
   * deliveries are dropped, the Alertmanager resend ends), and the fronts serveHttp() and
   * serveMcp() made that are still up are closed (their ports, threads and listeners). For a
   * monitor being discarded; its data stays readable, and start() refuses.
   */
  close(): Promise<void> {
    return this.serially(async () => {
      this.closed = true;
      this.profiler.stopEarly();
      try {
        await this.stopNow();
      } finally {
        // After the stop, so that a front's last answers (the dashboard's "stopped") are served
        // while the monitor drains; a front that fails to close is a fault, not the host's error.
        await this.served.closeAll((error) => this.faults.report('fronts', error));
      }
      // Stopped before (by stop(), or by the host's exit) or now: a record from here on is
      // told the monitor was closed, where it was told to call the start() that refuses.
      for (const sab of this.rings()) closeRing(sab, true, false, true);
      this.alerting.close();
    });
  }

  /** The fault of the first series refused at maxSeries (`what`: the series), in any thread. */
  /** The series-limit fault, once, at the first refusal of `what`; `restored`: places held then by series restored from the database and not recorded since. */
  private seriesLimitFault(what: string, restored = 0): void {
    const held = restored === 0 ? '' : `; ${this.restoredPlaces.note(this.now(), this.options.maxSeries)}`;
    this.faults.report('series-limit', new Error(`maxSeries (${this.options.maxSeries}) reached: ${what} was refused, and every new series after it is (counted in status().series.refused)${held}; series never expire in a running monitor: raise maxSeries or reduce tag values`));
  }

  /**
   * The fault a refusal of `cause` comes with, when it is the first of its cause: one of the
   * limit, one of the arena, one of the name table (what to do differs), each once.
   */
  private refusalFault(cause: RefusalCause): ((what: string, restored?: number) => void) | undefined {
    if (this.refusals.of(cause) > 0) return undefined;
    if (cause === 'names') return (what) => this.seriesNamesFault(what);
    return cause === 'arena' ? (what) => this.seriesArenaFault(what) : (what, restored) => this.seriesLimitFault(what, restored);
  }

  /** The series-names fault, once, at the first new metric name the registry's full name table refused (`what`). */
  private seriesNamesFault(what: string): void {
    const max = this.options.maxSeries;
    this.faults.report('series-names', new Error(`the registry's name table is full at ${nameCapacity(max).toLocaleString('en-US')} metric names of the application's (as many as maxSeries ${max}; the built-in names and the monitor's own are apart; define() adds a name without a series): ${what} was refused, and every new metric name after it is (counted in status().series.refused.names); ${NAMES_ADVICE}`));
  }

  /** The series-arena fault, once, at the first series the registry's full string arena refused (`what`). */
  private seriesArenaFault(what: string): void {
    const l = this.options;
    this.faults.report('series-arena', new Error(`the registry's string arena, which holds every series' name and tags, is full below maxSeries (${l.maxSeries}): ${what} was refused, and every new series that does not fit is (counted in status().series.refused.arena); ${arenaFitAdvice(l)}, or shorten the tags`));
  }

  /** Counts the series producer() threads had refused since the last look (the fault at the first of each cause); returns the counts. */
  private takeThreadRefusals(): SeriesRefusals {
    const r = this.refusals;
    const limit = r.of('maxSeries');
    const arena = r.of('arena');
    const names = r.of('names');
    // The causes' counts read first: a thread adds to them after the total, so they are never ahead.
    const threadsArena = Atomics.load(this.ctl.i32, THREAD_ARENA_REFUSED);
    const threadsNames = Atomics.load(this.ctl.i32, THREAD_NAMES_REFUSED);
    if (!r.takeThreads(Atomics.load(this.ctl.i32, THREAD_REFUSED), this.now(), threadsArena, threadsNames)) return r;
    if (limit === 0 && r.of('maxSeries') > 0) this.seriesLimitFault('a new series of a producer() thread');
    if (arena === 0 && r.of('arena') > 0) this.seriesArenaFault('a new series of a producer() thread');
    if (names === 0 && r.of('names') > 0) this.seriesNamesFault('a new metric name of a producer() thread');
    return r;
  }

  /**
   * Takes producer() threads' refusals and records those not yet in monitor_series_refused, from
   * the count status().series.refused.total gives, so that /metrics says as many: one sample an
   * interval at most, however many were refused (a service at its limit refuses at its rate).
   */
  private recordRefusals(): void {
    const fresh = this.takeThreadRefusals().unrecorded();
    if (fresh > 0 && this.recordOwn('monitor_series_refused', fresh)) this.refusals.markRecorded(fresh);
  }

  /** An inert monitor (see `inert`) serves nothing: a front would make threads, and bind the port of the host's monitor. */
  private refuseInert(call: string): void {
    if (this.inert !== undefined) throw new MonitorStoppedError(`${call}: ${this.inert}`);
  }

  /** Runs a lifecycle step after the ones called before it, whatever became of them. */
  private serially(step: () => Promise<void>): Promise<void> {
    const run = this.lifecycle.then(step, step);
    this.lifecycle = run.catch(() => {});
    return run;
  }

  private async startNow(): Promise<void> {
    if (this.closed) throw new MonitorStoppedError(CLOSED_RULE);
    // Resolved with nothing started: the preload that awaits it goes on, and our thread with it.
    if (this.inert !== undefined) return;
    if (this.currentState !== 'stopped') return;
    this.currentState = 'starting';
    this.profiler.monitorStopping(false);
    // Our threads and ports do not keep the host alive, so a host awaiting start() and nothing
    // else would end with it unsettled while a thread that could not start is replaced: until
    // start() settles, a port does (hold.ts: a test's fake timers hold nothing).
    const release = holdHost();
    // The first start's beginning is when the counts begin: the collector records the
    // monitor's own series before start() resolves. The exporter is handed the same instant at
    // every start (OTLP's start time of the cumulative points): one read here and another once
    // started moved it at the second start while the counts went on, which a receiver reads
    // as a reset.
    let beginning = this.firstStartedAt;
    try {
      // Every thread this start makes is checked against the address-space limit before the
      // first is made: one by one, the first ones took the room the heaps needed, and a start
      // that failed halfway left them running (thread-room.ts).
      this.ensureRoomForThreads();
      // A hub's socket path that cannot be used fails start() before storage makes its dataDir
      // (the listen itself comes after the collector, below).
      if (this.options.hub?.listen !== undefined) await checkListenPath(this.options.hub.listen, 'hub.listen');
      // Storage first: a dataDir that cannot be used fails start() before anything runs (a
      // disk with no room does not: the database is attached once there is, openControl then).
      await this.storage?.start();
      // The lock is ours now: profiles go to <dataDir>/profiles, which holds the earlier runs' files.
      if (this.storage) await this.profiler.refreshFiles();
      // The clock goes on from the data the database holds (src/storage/stored-until.ts): a
      // wall clock behind the runs before stamped this run's samples behind theirs, and they
      // were never written. Read before the collector starts and counts.
      const from = this.storage?.attached ? resumeClock(this.ctl, await this.storage.storedUntil().catch(() => -Infinity)) : this.now();
      if (beginning === Infinity) beginning = from;
      // This run on the file, which later reports count as watched (storage/watched-runs.ts):
      // one row each, so that the time this object was stopped is in none.
      await this.storage?.setRun(from);
      this.runFrom = from;
      // The stored rules and alert states go into alerting before its actor starts.
      if (this.storage?.attached) await this.openControl();
      else this.controlState?.refuse(this.storage?.waiting ?? null);
      await this.collector.start();
      await this.alerting.start();
      await this.hub?.start();
      await this.exporter.start(beginning);
    } catch (error) {
      // A thread refused for want of address space is a fault, counted and warned once, as the
      // watchdog's own is (its kind: the watchdog link counts that one).
      if (isNoRoom(error) && !(error instanceof ActorError && error.actor === 'watchdog')) this.faults.report('address-space', error as Error);
      await this.collector.stop();
      await this.alerting.stop();
      await this.exporter.stop();
      await this.controlState?.close();
      await this.storage?.stop(this.hub?.lastSeqs?.());
      if (this.storage) await this.profiler.refreshFiles();
      this.currentState = 'stopped';
      throw error;
    } finally {
      release();
    }
    for (const sab of this.rings()) closeRing(sab, false);
    this.mainWriter.setClosed(false);
    this.startedAt = this.now();
    // The run is watched from here, where records are accepted, not from where start() read
    // the clock: its threads started in between (0.2–0.5 s), and a window reaching back over
    // that time counted it as watched while nothing could be recorded in it. Rates over it
    // read low (a window rule's `rate < x` fired at starts), and alerts took such a window as whole.
    // (The database's row of the run keeps its start: a second start would be a second row.)
    this.runFrom = Math.max(this.runFrom, this.startedAt);
    this.alerting.watching();
    this.firstStartedAt = beginning;
    this.setPaused(false);
    if (this.runtime) this.faults.guard('runtime-start', () => this.runtime!.start());
    this.currentState = 'running';
    this.instrumentation?.attach();
    this.tick.start();
    this.overhead.start();
    stopAtHostExit(this, () => this.serially(() => this.stopNow(true)));
    this.emitSafe('start');
  }

  /**
   * Throws an ActorError, counted as a fault, when the threads start() makes do not fit the
   * address-space limit (naming the first that does not) or the cgroup's memory limit less
   * what it holds now (naming the watchdog, the first made): read at each start, as the use changes.
   */
  private ensureRoomForThreads(): void {
    const names = startThreads(this.options);
    const fewer = this.storage ? "storage: 'memory' (no storage thread: one fewer)" : undefined;
    const space = readAddressSpace();
    const noSpace = noRoomFor(names, space, fewer);
    if (noSpace !== undefined) throw new ActorError(names[Math.min(threadsThatFit(space), names.length - 1)]!, noSpace);
    const noMemory = noMemoryFor(names, this.memoryFit, undefined, fewer);
    if (noMemory !== undefined) {
      const error = new ActorError(names[0]!, noMemory);
      this.faults.report('memory', error);
      throw error;
    }
  }

  /**
   * The database is attached (start(), or later: a start that found no room): its control
   * state goes into the features, and what they kept in memory meanwhile into it. A late one
   * that finds the monitor stopping leaves that to the next start().
   */
  private async openControl(): Promise<void> {
    if (!this.controlState || (this.currentState !== 'starting' && this.currentState !== 'running')) return;
    this.controlState.refuse(null);
    // The transitions retention is to delete are not restored (its first pass comes at the first
    // flush). Now is the run's start at the earliest: a clock resumed from the file's data
    // (resumeClock) runs ahead of the wall clock only once the collector reads it.
    const now = this.runFrom === Infinity ? this.now() : Math.max(this.now(), this.runFrom);
    const since = now - this.options.retentionMs;
    await this.controlState.open({ alerting: this.alerting, optimizer: this.optimizer, reports: this.reports, registry: this.registry, historyLimit: this.options.alerts.historyLimit, since });
  }

  /**
   * Runs `work` (a commit of the control state) with the database open, after the lifecycle
   * steps called before it: a stopped monitor's is opened for it and let go after
   * (StorageLink.visit), so that a rule created or deleted while stopped is on disk when the
   * call answers; one started meanwhile has it open already.
   */
  private visitStopped(work: () => Promise<void>): Promise<void> {
    return this.serially(async () => {
      const log = this.controlState!.log;
      if (this.currentState !== 'stopped') return work();
      // Our threads do not keep the host alive: a host awaiting the change and nothing else
      // ended with it unsettled, the actor half started (as start() holds it: startNow).
      const release = holdHost();
      try {
        await this.storage!.visit(async () => {
          await log.opened();
          try {
            await work();
          } finally {
            await log.close(true);
          }
        });
      } finally {
        release();
      }
    });
  }

  /** `atExit`: stopped by the host's exit (host-exit.ts), so records made meanwhile drop instead of throwing. */
  private async stopNow(atExit = false): Promise<void> {
    if (this.currentState !== 'running') return;
    this.currentState = 'stopping';
    this.instrumentation?.detach();
    // A capture running (an alert's, or one asked for) ends now, its summary covering what it
    // sampled: its timer would hold the host's event loop up to 120 s past a shutdown's stop().
    this.profiler.stopEarly();
    this.profiler.monitorStopping(true);
    this.runs.push({ from: this.runFrom, to: this.now() });
    this.tick.stop();
    if (this.runtime) {
      this.faults.guard('runtime-sample', () => this.runtime!.sample());
      this.runtime.stop();
    }
    this.main.flush();
    for (const sab of this.rings()) closeRing(sab, true, atExit);
    this.mainWriter.setClosed(true);
    // A hub on a database stops while its collector runs: it applies what its members queued
    // and finishes a batch cut by a failed apply; the storage's last flush writes its numbers.
    const hubFirst = this.hub?.flushStorage !== undefined;
    if (hubFirst) await this.hub!.stop();
    await this.collector.stop();
    // After the collector drained the rings: a member sends its open buckets too, and the last
    // export carries everything recorded. The two at once: each waits on a peer (the hub's
    // last acks, the receiver's answer) up to its own bound, and one after the other a member
    // whose hub and receiver were both away held its host's shutdown for their sum.
    const ended = await Promise.allSettled([hubFirst ? undefined : this.hub?.stop(), this.exporter.stop()]);
    for (const end of ended) if (end.status === 'rejected') throw end.reason;
    await this.alerting.stop();
    // A change under verification on a stopping monitor could not be judged: roll it back now.
    await this.optimizer.cancelAll();
    // The control state's changes (the rollback's audit entries too), then the rollups: after
    // the collector drained the rings, the last flush holds everything recorded. A late attach
    // of the database under way (a start that found no room) ends first, its control state in.
    await this.storage?.settle();
    // A run on its database (not one that waited for room to the end): what changes while
    // stopped is committed to it at once (visitStopped).
    await this.controlState?.close(this.storage?.attached === true);
    await this.storage?.stop(this.hub?.lastSeqs?.());
    // The lock went with it: profiles go to this process's own directory again.
    if (this.storage) await this.profiler.refreshFiles();
    this.overhead.stop();
    await this.reports.close();
    releaseAtHostExit(this);
    this.currentState = 'stopped';
    this.emitSafe('stop');
  }

  /** Whether the monitor runs with its own sampling paused (see pause()). */
  get paused(): boolean {
    return this.pausedNow && this.running;
  }

  /**
   * Pauses what the monitor samples by itself (system metrics, and the runtime's: event
   * loop, GC, heap) while it keeps running: what the host records is still taken, stored,
   * evaluated by alert rules and readable, and no record() throws because of a pause. It is
   * what a front that does not own the monitor does when asked to stop it (an agent's
   * stop_performance_monitoring on a monitor embedded in a service). resume() ends it, and
   * so does a start() after a stop(). False when there was nothing to pause.
   */
  pause(): boolean {
    if (!this.running || this.pausedNow) return false;
    this.setPaused(true);
    if (this.runtime) this.faults.guard('runtime-stop', () => this.runtime!.stop());
    this.emitSafe('pause');
    return true;
  }

  /** Ends a pause(): the monitor samples the system and the runtime again. */
  resume(): boolean {
    if (!this.paused) return false;
    this.setPaused(false);
    if (this.runtime) this.faults.guard('runtime-start', () => this.runtime!.start());
    this.tick.sampleRuntimeNext();
    this.emitSafe('resume');
    return true;
  }

  /** Records a sample by metric name and tags (repeated shapes are cheap; see metric()). */
  record(name: string, value: number, tags?: Tags): void {
    this.main.record(name, value, tags);
  }

  /** A bound handle: resolve a series once, then handle.record(value) costs a ring push. */
  metric(name: string, tags?: Tags, options?: MetricOptions): MetricHandle {
    return this.main.metric(name, tags, options);
  }

  /**
   * Records many samples at once, all or nothing (errors name the sample: `samples[3].value`).
   * A sample's `timestamp` may lie at most one collection interval in the past.
   */
  recordBatch(samples: readonly BatchSample[]): number {
    return this.main.recordBatch(samples, this.options.collectionIntervalMs);
  }

  /**
   * recordBatch for a batch in columns (see SampleColumns): the series once, then indexes,
   * values and optional timestamps, without an object per sample. Same rules and errors.
   */
  recordColumns(columns: SampleColumns): number {
    return this.main.recordColumns(columns, this.options.collectionIntervalMs);
  }

  /** Records a handled request: response_time, throughput and error_rate, tagged by endpoint. */
  recordRequest(sample: RequestSample): void {
    this.main.recordRequest(sample);
  }

  /**
   * Auto-instrumentation through node:diagnostics_channel, without patching a module:
   * incoming HTTP (node:http and the frameworks over it; Fastify's and Express 5's route
   * templates), outgoing node:http and fetch, and the piscina pools given. With no argument
   * or true (as the monitor option `instrument: true`), every HTTP source is on. Subscribed
   * while the monitor runs (from now if it does, else from start()), and replaces an earlier instrument(): a source on in both keeps the
   * requests in flight, the routes and hosts met and the counts of status().instrument. See
   * docs/instrument.md for the metrics and their tags. Throws InvalidArgumentError naming the
   * field of a bad option.
   */
  instrument(options?: InstrumentOptions | true): { uninstrument(): boolean } {
    // It would never attach (start() refuses): a handle that records nothing, said as nothing.
    if (this.closed) throw new MonitorStoppedError('the monitor was closed: instrument() would never record; build a new one to monitor again');
    const next = this.newInstrumentation(resolveInstrumentOptions(options), this.instrumentation);
    this.instrumentation?.detach();
    this.instrumentation = next;
    if (this.running) next.attach();
    return { uninstrument: () => this.instrumentation === next && this.uninstrument() };
  }

  /** Ends the auto-instrumentation: every subscription is removed. False when there was none. */
  uninstrument(): boolean {
    const current = this.instrumentation;
    if (current === undefined) return false;
    current.detach();
    this.instrumentation = undefined;
    return true;
  }

  private newInstrumentation(options: NonNullable<ResolvedOptions['instrument']>, previous?: Instrumentation): Instrumentation {
    const recorder = {
      metric: (name: string, tags: Tags) => this.main.metric(name, tags),
      metrics: (series: readonly { name: string; tags: Tags }[]) => this.main.metrics(series),
      maxTagValueLength: this.options.maxTagValueLength,
      fault: (kind: string, error: unknown) => this.faults.report(kind, error),
    };
    // The alert notifications it posts (fetch, on this thread) are the monitor's calls, not the service's.
    return new Instrumentation(recorder, options, this.options.collectionIntervalMs, previous);
  }

  /** Declares a custom metric's kind and unit (undeclared names are distributions). */
  define(definition: { name: string; kind: MetricKind; unit?: MetricUnit }): void {
    if (definition === null || typeof definition !== 'object') throw new InvalidArgumentError('definition', 'must be an object', { value: definition });
    checkKeys(definition, ['name', 'kind', 'unit'], 'definition field');
    this.registry.define(definition.name, definition.kind, definition.unit ?? '');
  }

  /**
   * A handle for recording from other threads: post it to a worker (or pass it in a piscina
   * task) and call attachProducer(handle) there. Each of up to `producerThreads` threads
   * gets its own ring. Past MAX_HANDLES handles, one no thread needs any more is handed out
   * again (monitor/producer-handles.ts).
   */
  producer(): ProducerHandle {
    // Its rings would never open (start() refuses): said now, as instrument() says it.
    if (this.closed) throw new MonitorStoppedError('the monitor was closed: producer() would never record; build a new one to monitor again');
    let rings: SharedArrayBuffer[];
    if (this.handles.roomForNew) {
      rings = allocateRings(this.options, this.memoryFit);
      for (const sab of rings) closeRing(sab, !this.running, this.inert !== undefined);
      this.handles.add(rings);
      this.handleRings.push(...rings);
      // Collectors started from now on get them with their data; the running one by a call.
      this.collector.updateData();
      if (this.currentState === 'running' || this.currentState === 'starting') {
        void this.collector.call((c) => c.addRings(rings), true).catch(() => {});
      }
    } else {
      rings = this.handles.reuse(this.options.producerThreads);
    }
    return {
      type: 'perfwatch.producer',
      version: VERSION,
      key: this.id,
      control: this.control,
      registry: this.registryBuffers,
      rings,
      overflow: this.options.overflow,
      stallMs: this.options.stallTimeoutMs,
      reserved: sampledNames(this.options),
    };
  }

  /**
   * Resolves when everything recorded on this thread so far is in the store. Worker threads
   * flush their own producer first (producer.flush()) for their samples to be included.
   */
  async flush(): Promise<void> {
    if (this.currentState !== 'running') return;
    this.main.flush();
    await this.collector.call((c) => c.flush(), true);
  }

  /**
   * Adds an alert rule (see AlertRuleInputSchema for the fields and their limits). It applies
   * to every series of the metric whose tags include the rule's, present and future; a metric
   * with no data yet is fine, the rule waits for it. Resolves once the rule is evaluating, to
   * the rule and, when no metric has its name yet, a `note` that says so and names the known
   * metric a typo most likely meant; likewise when the metric has series but none with the
   * rule's tags (the tag key or value a typo most likely meant). A rule identical to one held
   * (every field as applied, defaults filled in) is not created again: the answer is the rule
   * held, with `created` false.
   */
  async createAlertRule(rule: AlertRuleInput): Promise<AlertRule & { created: boolean; note?: string }> {
    const { rule: held, created } = await this.alerting.createRule(rule);
    const note = unseenMetricNote(held.metric, this.query.knownNames()) ?? unmatchedTagsNote(held.metric, held.tags, this.registry.find(held.metric).map((id) => this.registry.info(id).tags));
    return note === undefined ? { ...held, created } : { ...held, created, note };
  }

  listAlertRules(): AlertRule[] {
    return this.alerting.listRules();
  }

  /** Deletes a rule; its firing alerts resolve. False when there is no such rule. */
  deleteAlertRule(id: string): Promise<boolean> {
    return this.alerting.deleteRule(id);
  }

  /** Resolves a firing alert by hand (the way to close alerts of rules with autoResolve off). */
  resolveAlert(fingerprint: string): Promise<boolean> {
    return this.alerting.resolve(fingerprint);
  }

  /** Alerts by state (default: active, i.e. pending and firing) and severity. */
  getAlerts(query?: AlertQuery): Alert[] {
    return this.alerting.getAlerts(query);
  }

  /** Every transition of every alert, oldest first, optionally by time range and rule id. */
  getAlertHistory(filter?: HistoryFilter): AlertTransition[] {
    return this.alerting.getHistory(filter);
  }

  /**
   * The monitor's clock (ms since the epoch): the wall clock, except that it never goes back.
   * After a step back of the wall clock (NTP, `date -s`) it runs that far ahead of Date.now(),
   * for as long as this monitor lives (status().clock); every time the monitor gives or takes
   * (samples, history, alerts, `from` and `to`) is in it, so a range to ask for is best made
   * from it: `{ from: monitor.now() - 60_000 }`.
   */
  now(): number {
    return monitorNow(this.ctl);
  }

  /** Every series with data (or a page of them: offset, limit): current value, totals and a summary of the recent window. */
  getMetrics(query?: MetricQuery): MetricSnapshot[] {
    return this.query.metrics(query, this.now());
  }

  /**
   * How many series with data match `query` (names, tags, sampled: with or without a sample
   * in the window of windowSeconds): the pages of getMetrics() together. getMetrics()'s offset
   * and limit, which would not change the count, are refused (InvalidArgumentError), not
   * ignored, and so is windowSeconds without sampled.
   */
  countMetrics(query?: MetricQuery): number {
    return this.query.count(query, this.now());
  }

  /** Every metric name with a series with data, by name: its kind, unit and number of such series. */
  getMetricNames(): MetricName[] {
    return this.query.names();
  }

  /**
   * For a query whose tags match no series with data (getMetrics() is empty): the tags a typo
   * of a tag name or value most likely meant (`{ endpont: '/x' }` → `{ endpoint: '/x' }`), or
   * undefined when a series matches or no typo explains the miss.
   */
  suggestTags(query: MetricQuery): Record<string, string> | undefined {
    return this.query.suggestTags(query);
  }

  /**
   * Samples, buckets or rollups of one metric over a time range, downsampled to maxPoints;
   * with storage 'sqlite', the rollups on disk come first (a history spans restarts and the
   * retention period). Rejects with InvalidArgumentError on a bad query; while the database
   * is not attached (a start on a full disk), with StorageError for a metric this process has
   * not recorded, whose stored history is unread until it is.
   *
   * `away` wraps each wait for the storage actor: the fronts pass their call gate's
   * (Place.away), so that a read of a large file gives the request's place back meanwhile and
   * the dashboard and other calls are answered; as it is by default.
   */
  async getMetricHistory(query: HistoryQuery, away: <T>(work: Promise<T>) => Promise<T> = (work) => work): Promise<MetricHistory> {
    const storage = this.storage;
    // A start on a full disk has not restored the stored catalog yet: a metric only the file
    // holds is unknown to the registry, and "not a known metric" would say it does not exist.
    const plan = this.history.plan(query, this.now(), storage && !storage.attached ? (name, known) => storage.unattachedMetricError(name, known) : undefined);
    const stored = new Map<PlannedSeries, StoredRollups>();
    let counted: Set<PlannedSeries> | undefined;
    let unread: MetricHistory['unread'];
    let runs: WatchedSpan[] | undefined;
    if (storage) {
      const noteUnread = (error: unknown, series = 1): void => {
        unread = { series: (unread?.series ?? 0) + series, error: unread?.error ?? (error instanceof Error ? error.message : String(error)) };
      };
      // The stored series of the metric this process did not register (the oldest, left out at
      // start for the live ones: src/storage/restore.ts), after its own: their history is the
      // file's, all of it from before this monitor first started (one monitor a dataDir).
      if (!(plan.from >= this.firstStartedAt)) {
        try {
          this.history.addStored(plan, await away(storage.storedOnly(plan.metric, plan.match)));
        } catch (error) {
          noteUnread(error);
        }
      }
      const memoryOnly = plan.resolution === 'raw' && Number.isFinite(plan.from) && plan.ids.every((s) => s.memoryFrom <= plan.from);
      // What is read of a series from the file: its rows up to where the memory's begin.
      const request = (entry: PlannedSeries): HistoryRequest => {
        const to = Math.min(plan.to, entry.memoryFrom);
        return { name: plan.metric, tags: { ...entry.tags }, from: plan.from, to, hourly: storedHourly(plan.resolution, plan.from, to, plan.maxPoints) };
      };
      const fetch = async (entry: PlannedSeries): Promise<void> => {
        const r = request(entry);
        try {
          const rows = await storage.history(r.name, r.tags, r.from, r.to, r.hourly);
          if (rows && rows.start.length > 0) stored.set(entry, rows);
        } catch (error) {
          // Said in the answer: a series left out, or cut to its memory's part, read as all there was.
          noteUnread(error);
        }
      };
      if (!memoryOnly && plan.limit === Infinity) await away(Promise.all(plan.ids.map(fetch)));
      else if (!memoryOnly) {
        // A page: which of the series the memory does not hold have rows on disk in the range
        // (a seek each, no rows read), so that every series with data counts in totalSeries,
        // those past the page too; then the rows of the page's series alone. Counting only the
        // series read up to the page's end, a restarted monitor (its series on disk only until
        // recorded again) answered 10 of 150 series with totalSeries 10, and no next page.
        const diskOnly = plan.ids.filter((s) => !this.history.inMemory(s.id));
        counted = new Set();
        if (diskOnly.length > 0) {
          try {
            const found = await away(storage.storedIn(diskOnly.map(request)));
            diskOnly.forEach((s, i) => found[i] === 1 && counted!.add(s));
          } catch (error) {
            noteUnread(error, diskOnly.length);
          }
        }
        const page: PlannedSeries[] = [];
        let index = 0;
        for (const s of plan.ids) {
          if (index >= plan.offset + plan.limit) break;
          if (!this.history.inMemory(s.id) && !counted.has(s)) continue;
          if (index++ >= plan.offset) page.push(s);
        }
        await away(Promise.all(page.map(fetch)));
      }
      // One fault for the read, not one per series: the series fail alike (a damaged file, an
      // actor that cannot answer), and a history of hundreds counted hundreds.
      if (unread) this.faults.report('storage', new Error(`the stored history of ${unread.series} series of ${plan.metric} could not be read: ${unread.error}`));
      // A counter's stored minute is per second of the time a process watched of it.
      if (plan.kind === 'counter' && stored.size > 0) {
        const from = Math.min(...Array.from(stored.values(), (rows) => rows.start[0]!));
        runs = await away(storage.runs(from, plan.to)).catch(() => undefined);
      }
    }
    return this.history.build(plan, stored, this.now(), unread, runs, counted);
  }

  /**
   * Pushes the series to every export endpoint (options.export) now, besides each one's own
   * interval; resolves with export's status once every queue is empty or waits for a retry.
   * Call flush() first for what was just recorded to be included. Nothing to do while
   * stopped or with no endpoint.
   */
  async exportNow(): Promise<ExportStatus> {
    if (this.currentState !== 'running') return this.exporter.status();
    return this.exporter.exportNow();
  }

  /**
   * Writes the rollups recorded so far to disk now (the storage actor also does it every
   * storageFlushMs); resolves with whether it committed. False with storage 'memory' or
   * while stopped.
   */
  async flushStorage(): Promise<boolean> {
    if (!this.storage || this.currentState !== 'running') return false;
    // What this thread recorded waits in the rings until the collector's next pass (up to its
    // doze, 250 ms, on a busy service): the flush reads the store, so without this drain it
    // answered true with none of those samples on disk (a trial: 8 of 8 after a burst). A
    // collector that cannot answer (being replaced) leaves the flush what the store holds.
    await this.flush().catch(() => {});
    // A hub's flushes are its own: between its applies, with its members' numbers.
    if (this.hub?.flushStorage) return this.hub.flushStorage();
    return this.storage.flush();
  }

  /**
   * What the database of this monitor's dataDir holds (storage 'sqlite'): rollup rows, rules,
   * transitions, alert states, baselines, audit entries and kept tunable values, and the file.
   * Null with storage 'memory', while the monitor is not running (the database is closed), or
   * while a start that found no room on the disk waits to attach it.
   */
  async storedData(): Promise<StoredData | null> {
    if (!this.controlState || !this.storage?.attached || this.currentState !== 'running') return null;
    return { dataDir: this.storage.dir, file: this.storage.file, ...(await this.controlState.counts()) };
  }

  /**
   * Closes the monitor for good (close()) and deletes its database: the dataDir's
   * perfwatch.db with its WAL, under the dataDir's lock; the directory stays. What it held is
   * gone for every later monitor on that dataDir. With storage 'memory' it only closes.
   */
  async discardData(): Promise<void> {
    await this.close();
    if (!this.storage) return;
    this.controlState?.log.discard();
    await deleteDatabase(this.storage.dir, this.storage.file);
  }

  status(): MonitorStatus {
    this.takeThreadRefusals();
    const live = {
      state: this.currentState,
      inert: this.inert ?? null,
      paused: this.paused,
      startedAt: this.startedAt,
      rings: this.rings(),
      ratePerSecond: this.tick.ratePerSecond,
      collectorInfo: this.tick.collectorInfo,
      touchedBytes: this.touchedBytes(),
      instrument: this.instrumentation?.status() ?? null,
      profiling: this.profiler.status(),
    };
    return monitorStatus(this.statusParts, live, this.now());
  }

  /**
   * Serves this monitor's MCP tools and resources over Streamable HTTP at
   * `http://127.0.0.1:PORT/mcp`, so that an agent can reach the service it runs in. The
   * monitor stays the service's: the tools can start it and pause its own sampling, not stop,
   * replace or discard it. Without a token (option or PERFWATCH_TOKEN) the endpoint is
   * read-only unless allowStateChanges, and only a loopback address may be bound; see
   * ServeMcpOptions for the limits. Close the returned server to stop serving.
   */
  async serveMcp(options: ServeMcpOptions): Promise<McpHttpServer> {
    this.refuseInert('serveMcp');
    refuseFakedTicks('serveMcp');
    const front = await mcpFront(this.faults, this.frontWork);
    return this.served.add(await inOwnContext(() => timedOwn(this.frontWork, () => front.serveMonitorMcp(this, options))));
  }

  /** The /metrics renderer's heap limit (MB): the option's, or sized to the largest body it may build. */
  private exposeHeapMb(maxMetricsBytes: number): number {
    const o = this.options;
    return threadHeapLimits({ maxSeries: o.maxSeries, maxAlertRules: o.maxAlertRules, historyLimit: o.alerts.historyLimit, maxMetricsBytes }, o.threadHeapMb, this.memoryFit).exposition;
  }

  /**
   * Serves this monitor over HTTP on one port (127.0.0.1 by default): the MCP endpoint at
   * /mcp (as serveMcp), Prometheus /metrics and the JSON API at /api/*, all under the
   * policy of ServeMcpOptions (a token whenever it binds beyond the loopback), plus the
   * options of ServeHttpOptions (histogram bounds, event-stream limits). Close the returned
   * server to stop serving.
   */
  async serveHttp(options: ServeHttpOptions): Promise<HttpServer> {
    this.refuseInert('serveHttp');
    refuseFakedTicks('serveHttp');
    const front = await httpFront(this.faults, this.frontWork);
    return this.served.add(await inOwnContext(() => timedOwn(this.frontWork, () => front.serveMonitorHttp(this, { control: this.control, registry: this.registryBuffers, store: this.store }, this.options.threadPreloads, options, (kind, error) => this.faults.report(kind, error), (maxMetricsBytes) => this.exposeHeapMb(maxMetricsBytes)))));
  }

  /**
   * Main-thread time a front's load and synchronous start took (fronts.ts): the monitor's
   * own, in status().overhead, and no part of the service's event-loop lag.
   */
  private readonly frontWork = (ms: number): void => {
    this.overhead.frontsBusy(ms);
    this.runtime?.ownWork(ms);
  };

  /**
   * A report over [from, to) (default: all data held, up to now or its newest sample), built in the report pool
   * from the shared store: JSON (an object), or Markdown or one self-contained HTML file (a
   * string). onProgress reports series done; an aborted signal cancels the task.
   */
  generateReport(options?: ReportOptions & { format?: 'json' }): Promise<PerformanceReport>;
  generateReport(options: ReportOptions & { format: 'markdown' | 'html' }): Promise<string>;
  generateReport(options?: ReportOptions): Promise<PerformanceReport | string>;
  generateReport(options?: ReportOptions): Promise<PerformanceReport | string> {
    if (this.inert !== undefined) return Promise.reject(new MonitorStoppedError(`generateReport: ${this.inert}`));
    return this.reports.generate(options);
  }

  /** The last report generated (as JSON), whatever format it was asked in. */
  getLatestReport(): PerformanceReport | undefined {
    return this.reports.latest();
  }

  /**
   * Per-series baselines learned from the history held (built in the report pool): the
   * series with data in id order, then those a database kept; from `offset`, at most
   * `limit`, and only those are learned.
   */
  getBaselines(options?: BaselineOptions): Promise<Baseline[]> {
    return this.reports.baselines(options);
  }

  /** How many baselines getBaselines() pages through, learned by none: its pages together. */
  countBaselines(): number {
    return this.reports.countBaselines();
  }

  /** Registers a knob for optimize(): how to read and set it, its range and step, and the metric it should improve. */
  registerTunable(definition: TunableDefinition): void {
    this.optimizer.register(definition);
  }

  unregisterTunable(name: string): boolean {
    return this.optimizer.unregister(name);
  }

  /** Every registered tunable, the monitor's own included (perfwatch.*). */
  getTunables(): Omit<Tunable, 'get' | 'set'>[] {
    return this.optimizer.list();
  }

  /**
   * Plans one step per tunable of `type`; with dryRun false (or autoApply) applies each,
   * verifies its target over a window and rolls back what did not help.
   */
  optimize(options?: OptimizeOptions): Promise<OptimizationResult> {
    // Its caller waits on the run, whose waits do not hold the host by themselves (a run of startOptimization() must not).
    return holding(this.optimizer.optimize(options));
  }

  /**
   * optimize() without the wait: plans, starts applying in the background (unless a dry
   * run), and returns the run at once; read it with getOptimizationRun(runId). Nothing waits
   * on it, so it does not hold the host: the stop at 'beforeExit' cancels it.
   */
  startOptimization(options?: OptimizeOptions): OptimizationRun {
    return this.optimizer.start(options);
  }

  /** A run's progress, result so far and state (running, done, cancelled, failed); the last 20 are kept. */
  getOptimizationRun(runId: number): OptimizationRun | undefined {
    return this.optimizer.run(runId);
  }

  /** Stops a run: the change being verified is rolled back; resolves with the run once stopped. */
  cancelOptimization(runId: number): Promise<OptimizationRun | undefined> {
    return this.optimizer.cancel(runId);
  }

  /** Every plan, change, verification, keep and rollback, oldest first (the last 1,000). */
  getOptimizationLog(): OptimizationLogEntry[] {
    return this.optimizer.getLog();
  }

  /**
   * Profiles the host's main thread for `seconds` (1 to 120, default 10) through node:inspector:
   * kind 'cpu' (default) a CPU profile, 'heap' a sampling heap profile of the allocations still
   * live at the end. Resolves with the summary (top functions by self and total time with
   * file:line, hottest stacks, idle/GC/program shares; heap: top allocation sites with bytes)
   * and the path of the .cpuprofile / .heapprofile (Chrome DevTools opens it). One capture at a
   * time: another asked for meanwhile rejects with ProfileBusyError (PW_ERR_BUSY); the
   * inspector failing rejects with ProfileError (PW_ERR_PROFILE); a file that cannot be
   * written leaves `file` null and says why in `fileError`. Works whether the monitor runs or not.
   */
  profile(request?: ProfileRequest): Promise<Capture> {
    return this.profiler.capture(request);
  }

  /**
   * profile() without the wait: starts the capture and answers its id and end at once; `done`
   * settles as profile() does, and `stop()` ends it early (its summary covers what it sampled),
   * for a caller that no longer wants it. Throws what profile() rejects with, except the
   * inspector's failure. It holds the host until its end, as a timer does; `unref()` lets the
   * host end before (a capture no caller waits on), the stop at 'beforeExit' then ending it
   * early (src/monitor/host-exit.ts).
   */
  startProfile(request?: ProfileRequest): { id: number; endsAt: number; done: Promise<Capture>; stop: () => void; unref: () => void } {
    return this.profiler.begin(request);
  }

  /** A recent capture by id (the last profiling.keep are kept); for the one running, the promise of it. */
  getProfile(id: number): Capture | Promise<Capture> | undefined {
    return this.profiler.get(id) ?? this.profiler.running(id);
  }

  getProfiles(): Capture[] {
    return this.profiler.list();
  }

  /** The capture running (if any), counts of captures, failures and skipped alert captures, and the files' directory. */
  profilingStatus(): ProfilerStatus {
    return this.profiler.status();
  }

  /** Changes the overhead budget while running (percent of one core, bytes). */
  setOverheadBudget(budget: Partial<Pick<OverheadOptions, 'cpuPercent' | 'memoryBytes'>>): void {
    this.overhead.setBudget(budget);
  }

  /**
   * Fault injection, for tests and drills: the collector throws, exits, hangs (inside), or is
   * killed from outside ('kill': the worker is terminated wherever it is, as an OOM kill
   * would). The watchdog must heal each without losing a sample. 'hang' on 'reports' runs a
   * report task that never ends (resolving once a pool thread runs it): reports.timeoutMs
   * ends it. 'storage' takes 'exit', 'hang' (it runs SQLite statements back to back and beats
   * no more: the watchdog replaces it storageFlushMs + 10 s on), 'stall' (one statement of
   * seconds) and 'kill' (its successor writes what the store holds);
   * 'exporter' takes 'throw', 'exit' and 'kill' (its successor exports at the next interval);
   * 'alerts' takes 'throw', 'exit', 'hang' (a busy loop: its beat stops, and the watchdog
   * declares it hung as it does the collector) and 'kill'.
   */
  async injectFault(fault: Fault | 'kill' | 'stall', actor: 'collector' | 'alerts' | 'reports' | 'storage' | 'exporter' = 'collector'): Promise<void> {
    if (actor === 'exporter') {
      if (!this.exporter.configured) throw new InvalidArgumentError('actor', 'exporter runs only with an endpoint in options.export');
      if (fault === 'kill') await this.exporter.actor.kill();
      else if (fault === 'exit' || fault === 'throw') await this.exporter.actor.call((a) => a.injectFault(fault));
      else throw new InvalidArgumentError('fault', 'of the exporter can be throw, exit or kill');
      return;
    }
    if (actor === 'storage') {
      if (!this.storage) throw new InvalidArgumentError('actor', 'storage has no actor with storage "memory"');
      if (fault === 'kill') await this.storage.actor.kill();
      else if (fault === 'exit' || fault === 'hang' || fault === 'stall') await this.storage.actor.call((a) => a.injectFault(fault));
      else throw new InvalidArgumentError('fault', 'of the storage actor can be exit, hang, stall or kill');
      return;
    }
    if (actor === 'reports') {
      if (fault !== 'hang') throw new InvalidArgumentError('fault', 'of the report pool can only be hang');
      await this.reports.hang();
      return;
    }
    const target = actor === 'alerts' ? this.alerting.actor : this.collector;
    if (fault === 'kill') {
      await target.kill();
      return;
    }
    if (fault === 'stall') throw new InvalidArgumentError('fault', 'stall is a storage actor fault');
    let injected: Promise<void>;
    if (actor === 'alerts') {
      injected = this.alerting.actor.call((a) => a.injectFault(fault));
    } else injected = this.collector.call((c) => c.injectFault(fault));
    // The actor dies a few ms after it replies; on a loaded machine its exit can overtake the
    // reply and fail the call with the very fault asked for, which is then done, not an error.
    await injected.catch((error: unknown) => {
      if (fault === 'hang' || !(error instanceof ActorError)) throw error;
    });
  }

  /**
   * When the monitor watched: this run, from its start to now while running, else the last
   * run, to when it stopped; the runs before it (a stop() and a start() again) are `earlier`.
   */
  private watched(): Watched {
    this.splitAtFreeze();
    if (this.running) return this.runs.length > 0 ? { from: this.runFrom, to: Infinity, earlier: this.runs } : { from: this.runFrom, to: Infinity };
    const last = this.runs[this.runs.length - 1];
    if (!last) return { from: Infinity, to: Infinity };
    return this.runs.length > 1 ? { ...last, earlier: this.runs.slice(0, -1) } : { ...last };
  }

  /**
   * A stop of the whole process the collector found in this run (SIGSTOP, a VM suspended:
   * engine/freeze-watch.ts) ends the run there and begins another where it ended: nobody
   * watched the gap, and rates, history and rules count it as the time between a stop() and
   * a start().
   */
  private splitAtFreeze(): void {
    if (!this.running) return;
    const freeze = lastFreeze(this.ctl);
    if (!freeze || !(freeze.from > this.runFrom)) return;
    this.runs.push({ from: this.runFrom, to: freeze.from });
    this.runFrom = freeze.to;
  }

  /** What a collector's stop that could not finish lost: the samples it left in the rings, counted once it is gone. */
  private leftInRings(): string {
    const left = this.rings().reduce((n, sab) => n + ringStats(sab).fill, 0);
    return left === 0 ? 'nothing is lost (the rings were drained)' : `the ${left} samples left in the rings are lost (not applied to the store, nor stored)`;
  }

  /** The main thread's ring, then those handed out by producer(). */
  private rings(): SharedArrayBuffer[] {
    return [this.mainRing, ...this.handleRings];
  }

  /** See MonitorStatus.memory.touchedBytes; the sketch pages' peak is what this thread has seen. */
  private touchedBytes(): number {
    this.sketchPagesPeak = Math.max(this.sketchPagesPeak, this.reader.layout.poolPages - this.reader.freePages());
    const store = (this.touchedMemory ??= new TouchedMemory(this.reader, this.ctl)).read(this.registry.seriesCount(), this.sketchPagesPeak);
    return touchedSharedBytes(this.statusParts, this.rings(), store);
  }

  /**
   * Records one of the monitor's own readings, never waiting on a full ring (Producer.ownMetric);
   * false when it was not recorded: dropped for want of room (counted), or the monitor records
   * no more (a stop racing with it skips the reading). Counters' callers give the increment
   * again with their next reading then (monitor_series_refused, monitor_export_*).
   */
  private recordOwn(name: string, value: number, tags?: Record<string, string>): boolean {
    if (!this.running) return false;
    try {
      return this.main.recordOwn(name, value, tags);
    } catch {
      // stopped between the check and the record: the reading is dropped, not thrown
      return false;
    }
  }

  private collectorData(): CollectorData {
    return {
      control: this.control,
      registry: this.registryBuffers,
      store: this.store,
      rings: this.rings(),
      intervalMs: this.options.collectionIntervalMs,
      system: this.options.system,
    };
  }

  /** The pause flag, here and in shared memory (the collector skips system sampling while it is set). */
  private setPaused(paused: boolean): void {
    this.pausedNow = paused;
    Atomics.store(this.ctl.i32, PAUSED, paused ? 1 : 0);
  }

  /**
   * Adds a listener of one of the monitor's events (MONITOR_EVENTS); another name is an
   * InvalidArgumentError naming the event meant. once() and prependOnceListener() come here
   * through on() and prependListener().
   */
  override on<E extends keyof MonitorEvents>(event: E, listener: (...args: MonitorEvents[E]) => void): this;
  override on(event: EmitterEvent | symbol, listener: (...args: any[]) => void): this;
  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.on(checkEvent(event), listener);
  }

  override addListener<E extends keyof MonitorEvents>(event: E, listener: (...args: MonitorEvents[E]) => void): this;
  override addListener(event: EmitterEvent | symbol, listener: (...args: any[]) => void): this;
  override addListener(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.addListener(checkEvent(event), listener);
  }

  override prependListener<E extends keyof MonitorEvents>(event: E, listener: (...args: MonitorEvents[E]) => void): this;
  override prependListener(event: EmitterEvent | symbol, listener: (...args: any[]) => void): this;
  override prependListener(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.prependListener(checkEvent(event), listener);
  }

  // once() and prependOnceListener() are EventEmitter's, which add through on() and
  // prependListener() above; declared here for their listeners' types only.
  override once<E extends keyof MonitorEvents>(event: E, listener: (...args: MonitorEvents[E]) => void): this;
  override once(event: EmitterEvent | symbol, listener: (...args: any[]) => void): this;
  override once(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.once(event, listener);
  }

  override prependOnceListener<E extends keyof MonitorEvents>(event: E, listener: (...args: MonitorEvents[E]) => void): this;
  override prependOnceListener(event: EmitterEvent | symbol, listener: (...args: any[]) => void): this;
  override prependOnceListener(event: string | symbol, listener: (...args: any[]) => void): this {
    return super.prependOnceListener(event, listener);
  }

  /**
   * Emits without ever throwing into the caller: a listener's error, or its promise's
   * rejection, becomes a warning. Each listener is called on its own, so one that throws does
   * not keep the event from those after it (emit() stops at the first: a logging listener's
   * bug silenced the paging listener added after it).
   */
  private emitSafe(event: string, ...args: unknown[]): void {
    const warn = (error: unknown): void => {
      process.emitWarning(`perfwatch: a '${event}' listener threw: ${error instanceof Error ? error.message : String(error)}`);
    };
    // The raw listeners: a once() wrapper removes itself when called, as emit() would.
    for (const listener of this.rawListeners(event)) {
      try {
        const result: unknown = listener.apply(this, args);
        if (result instanceof Promise) result.catch(warn);
      } catch (error) {
        warn(error);
      }
    }
  }
}

export type { ActorExit };
