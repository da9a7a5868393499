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
import { BEAT_BY, CLOCK, INGESTED, BAD_SAMPLES, OWN_FAULTS, PAUSED, QUIET_AT, SKETCH_OVERFLOW, STARTED_AT, createControl, controlViews, type ControlViews } from '../engine/control.js';
import { DropWatch, type DropReport } from './drops.js';
import { Faults, type FaultStatus } from './faults.js';
import { allocating, checkMemory, type MemoryNeed } from '../engine/memory.js';
import { InvalidArgumentError, MonitorStoppedError, describeValue } from '../errors.js';
import { resolveOptions, rollupIntervalMs, type MonitorOptions, type ResolvedOptions } from './options.js';
import { Producer, type BatchSample, type MetricHandle, type MetricOptions, type ProducerHandle, type RequestSample, type SampleColumns } from '../engine/producer.js';
import { Query, type MetricQuery, type MetricSnapshot } from './query.js';
import { HistoryReader, type HistoryQuery, type MetricHistory } from './history.js';
import type { Watched } from '../analysis/watched.js';
import { SketchAccumulator } from '../engine/sketch.js';
import { MAIN_LOCK_TAG, OWN_SERIES, Registry, createRegistry, registryBytes, type RegistryBuffers, type Tags } from '../engine/registry.js';
import { RingWriter, bytesFor, closeRing, createRing, ringStats, type OverflowPolicy, type RingStats } from '../engine/ring.js';
import { RuntimeSampler } from './runtime.js';
import { StoreReader } from '../engine/store/reader.js';
import { createStore, storeBytes, storeSizes, type StoreBuffers, type StoreConfig } from '../engine/store/layout.js';
import { touchedBytes } from '../engine/store/usage.js';
import { collectorLag } from '../engine/pending-clock.js';
import { Supervisor, WatchdogLink, type ActorExit, type ActorState } from '../actors/supervisor.js';
import type { MetricKind, MetricUnit } from '../engine/metrics.js';
import type { CollectorApi, CollectorData, CollectorInfo, Fault } from '../actors/protocols.js';
import { Alerting, type AlertQuery, type AlertingStatus, type HistoryFilter } from '../alerts/alerting.js';
import type { Alert, AlertRule, AlertRuleInput, AlertTransition } from '../alerts/schema.js';
import type { McpHttpServer, ServeMcpOptions } from '../mcp/http-options.js';
import { ReportsFeature } from './features.js';
import type { OverheadOptions, OverheadStatus } from '../overhead/governor.js';
import type { ReportOptions } from '../reports/service.js';
import type { OptimizationLogEntry, OptimizationResult, OptimizationRun, OptimizeOptions } from '../optimizer/optimization.js';
import type { Tunable, TunableDefinition } from '../optimizer/tunables.js';
import type { Baseline, PerformanceReport } from '../reports/types.js';

export type MonitorState = 'stopped' | 'starting' | 'running' | 'stopping';

export interface RingStatus extends RingStats {
  owner: 'main' | 'worker';
}

export interface MonitorStatus {
  state: MonitorState;
  running: boolean;
  /** Running with its own sampling paused (pause()). */
  paused: boolean;
  startedAt: number | null;
  uptimeMs: number;
  collectionIntervalMs: number;
  /** The application's series against maxSeries; the monitor's own are counted apart. */
  series: { count: number; limit: number; own: { count: number; limit: number } };
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
    lastExit: { code: number; message: string | null } | null;
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
  };
  system: CollectorInfo['system'] | null;
  alerts: AlertingStatus & { heartbeatAgeMs: number | null };
  /** The monitor's own CPU and memory against its budget, and the back-off in effect. */
  overhead: OverheadStatus;
  /** Errors of the monitor's own work, caught and counted by kind (never thrown into the host). */
  faults: FaultStatus;
}

const TICK_MS = 1_000;
/** The tick runs this long before each whole second, where bucket boundaries fall. */
const TICK_LEAD_MS = 15;

function nextTickDelay(now: number): number {
  const delay = TICK_MS - (now % TICK_MS) - TICK_LEAD_MS;
  return delay > TICK_MS / 4 ? delay : delay + TICK_MS;
}

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
  private readonly collector: Supervisor<CollectorApi>;
  private readonly runtime: RuntimeSampler | undefined;
  private readonly alerting: Alerting;
  private readonly watchdog: WatchdogLink;
  private readonly faults: Faults;
  private readonly drops: DropWatch;
  private nextDropCheck = 0;
  private currentState: MonitorState = 'stopped';
  private closed = false;
  private pausedNow = false;
  /** The last start/stop/close queued: each runs after the one before it. */
  private lifecycle: Promise<unknown> = Promise.resolve();
  private startedAt: number | null = null;
  /** When the monitor first started and when it last stopped: the time its data covers (rates). */
  private firstStartedAt = Infinity;
  private stoppedAt = Infinity;
  private tick: NodeJS.Timeout | undefined;
  private nextRuntimeSample = 0;
  private tickCount = 0;
  private handleCount = 0;
  private rate = { at: 0, ingested: 0, perSecond: 0 };
  private collectorInfo: CollectorInfo | undefined;
  private sketchPagesPeak = 0;
  private readonly features: ReportsFeature;

  constructor(options?: MonitorOptions) {
    super();
    this.options = resolveOptions(options);
    const o = this.options;
    const limits = { maxSeries: o.maxSeries, maxTags: o.maxTags, maxTagValueLength: o.maxTagValueLength };
    const storeConfig: StoreConfig = {
      maxSeries: o.maxSeries + OWN_SERIES,
      rawCapacity: o.rawCapacity,
      bucketCapacity: o.bucketCapacity,
      rollupCapacity: o.rollupCapacity,
      intervalMs: o.collectionIntervalMs,
      rollupMs: rollupIntervalMs(o.collectionIntervalMs),
      logBytes: o.sketchLogBytes,
      rollupLogBytes: o.rollupLogBytes,
      poolBytes: o.sketchPoolBytes,
    };
    // Every buffer's size is known before the first is allocated: a configuration the
    // machine cannot hold fails here, naming its options.
    const sizes = storeSizes(storeConfig);
    const seriesNeed: MemoryNeed = {
      what: `series store (maxSeries ${o.maxSeries} + ${OWN_SERIES} own series × ${sizes.slotBytes.toLocaleString('en-US')} bytes each, sized by rawCapacity ${o.rawCapacity}, bucketCapacity ${o.bucketCapacity}, rollupCapacity ${o.rollupCapacity})`,
      option: 'maxSeries',
      bytes: sizes.meta + sizes.hot + sizes.series + 8 * storeConfig.maxSeries,
    };
    const needs: MemoryNeed[] = [
      seriesNeed,
      { what: `registry (maxSeries ${o.maxSeries})`, option: 'maxSeries', bytes: registryBytes(limits) },
      { what: `sketch log (sketchLogBytes ${o.sketchLogBytes})`, option: 'sketchLogBytes', bytes: sizes.log },
      { what: `rollup sketch log (rollupLogBytes ${o.rollupLogBytes})`, option: 'rollupLogBytes', bytes: sizes.rollupLog },
      { what: `sketch pool (sketchPoolBytes ${o.sketchPoolBytes})`, option: 'sketchPoolBytes', bytes: sizes.pool },
      { what: `main thread's ring (ringCapacity ${o.ringCapacity})`, option: 'ringCapacity', bytes: bytesFor(o.ringCapacity) },
    ];
    checkMemory(needs);
    this.control = createControl();
    this.ctl = controlViews(this.control);
    this.registryBuffers = allocating(needs[1]!, () => createRegistry(limits));
    this.store = allocating(seriesNeed, () => createStore(storeConfig));
    this.mainRing = allocating(needs[5]!, () => createRing(o.ringCapacity));
    closeRing(this.mainRing, true);
    this.registry = new Registry(this.registryBuffers, MAIN_LOCK_TAG);
    this.reader = new StoreReader(this.store);
    // One accumulator (3 MB) for the two: they run one at a time on this thread.
    const acc = new SketchAccumulator();
    this.query = new Query(this.registry, this.reader, () => this.watched(), acc);
    this.history = new HistoryReader(this.registry, this.reader, acc, () => this.watched());
    this.faults = new Faults((kind) => this.main.ownMetric('monitor_faults', { kind }).record(1));
    this.drops = new DropWatch(Date.now());
    this.main = new Producer(new RingWriter(this.mainRing, this.control, o.overflow, o.stallTimeoutMs), this.registry);
    this.watchdog = new WatchdogLink((error) => this.faults.report('watchdog', error));
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
      { control: this.control, at: CLOCK, by: BEAT_BY },
    );
    this.runtime = o.runtime.enabled ? new RuntimeSampler(this.main, o.runtime.eventLoopResolutionMs, this.faults) : undefined;
    const { historyLimit, ...notifier } = o.alerts;
    this.alerting = new Alerting({
      control: this.control,
      views: this.ctl,
      registry: this.registryBuffers,
      store: this.store,
      seriesCapacity: storeConfig.maxSeries,
      intervalMs: o.collectionIntervalMs,
      historyLimit,
      notifier: { ...notifier, webhooks: notifier.webhooks.map((w) => (typeof w === 'string' ? { url: w } : w)) },
      watchdog: this.watchdog,
      emit: (event, ...args) => this.emitSafe(event, ...args),
      fault: (kind, error) => this.faults.report(kind, error),
    });
    this.features = new ReportsFeature({
      monitorId: this.id,
      options: o,
      store: this.store,
      registryBuffers: this.registryBuffers,
      registry: this.registry,
      reader: this.reader,
      collector: this.collector,
      touchedBytes: () => this.touchedBytes(),
      record: (name, value) => this.main.ownMetric(name).record(value),
      flush: () => this.flush(),
      running: () => this.running,
      // Reports analyse the alert engine's history of transitions.
      alertHistory: (q) => this.getAlertHistory(q),
      watched: () => this.watched(),
    });
  }

  get state(): MonitorState {
    return this.currentState;
  }

  get running(): boolean {
    return this.currentState === 'running';
  }

  /**
   * Starts the collector and the runtime sampler; recording works once this resolves.
   * start(), stop() and close() run one at a time in call order, each resolving once done.
   */
  start(): Promise<void> {
    return this.serially(() => this.startNow());
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
   * deliveries are dropped, the Alertmanager resend ends). For a monitor being discarded;
   * its data stays readable, and start() refuses.
   */
  close(): Promise<void> {
    return this.serially(async () => {
      this.closed = true;
      await this.stopNow();
      this.alerting.close();
    });
  }

  /** Runs a lifecycle step after the ones called before it, whatever became of them. */
  private serially(step: () => Promise<void>): Promise<void> {
    const run = this.lifecycle.then(step, step);
    this.lifecycle = run.catch(() => {});
    return run;
  }

  private async startNow(): Promise<void> {
    if (this.closed) throw new MonitorStoppedError('the monitor was closed: build a new one to monitor again');
    if (this.currentState !== 'stopped') return;
    this.currentState = 'starting';
    try {
      await this.collector.start();
      await this.alerting.start();
    } catch (error) {
      await this.collector.stop();
      await this.alerting.stop();
      this.currentState = 'stopped';
      throw error;
    }
    for (const sab of [this.mainRing, ...this.handleRings]) closeRing(sab, false);
    this.main.ring.setClosed(false);
    this.startedAt = Date.now();
    if (this.firstStartedAt === Infinity) this.firstStartedAt = this.startedAt;
    this.rate = { at: Date.now(), ingested: this.ctl.f64[INGESTED]!, perSecond: 0 };
    this.setPaused(false);
    if (this.runtime) this.faults.guard('runtime-start', () => this.runtime!.start());
    this.nextRuntimeSample = 0;
    this.nextDropCheck = Date.now() + this.options.collectionIntervalMs;
    this.currentState = 'running';
    this.onTick();
    this.features.start();
    this.emitSafe('start');
  }

  private async stopNow(): Promise<void> {
    if (this.currentState !== 'running') return;
    this.currentState = 'stopping';
    this.stoppedAt = Date.now();
    clearTimeout(this.tick);
    this.tick = undefined;
    if (this.runtime) {
      this.faults.guard('runtime-sample', () => this.runtime!.sample());
      this.runtime.stop();
    }
    this.main.flush();
    for (const sab of [this.mainRing, ...this.handleRings]) closeRing(sab, true);
    this.main.ring.setClosed(true);
    await this.collector.stop();
    await this.alerting.stop();
    await this.features.stop();
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
    this.nextRuntimeSample = 0;
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

  /** Declares a custom metric's kind and unit (undeclared names are distributions). */
  define(definition: { name: string; kind: MetricKind; unit?: MetricUnit }): void {
    if (definition === null || typeof definition !== 'object') throw new InvalidArgumentError('definition', `must be an object, got ${describeValue(definition)}`);
    this.registry.define(definition.name, definition.kind, definition.unit ?? '');
  }

  /**
   * A handle for recording from other threads: post it to a worker (or pass it in a piscina
   * task) and call attachProducer(handle) there. Each of up to `producerThreads` threads
   * gets its own ring.
   */
  producer(): ProducerHandle {
    const { producerThreads, ringCapacity } = this.options;
    const need: MemoryNeed = { what: `${producerThreads} rings of ${ringCapacity} samples (producerThreads × ringCapacity)`, option: 'producerThreads', bytes: producerThreads * bytesFor(ringCapacity) };
    checkMemory([need]);
    const rings = allocating(need, () => Array.from({ length: producerThreads }, () => createRing(ringCapacity)));
    for (const sab of rings) closeRing(sab, !this.running);
    this.handleRings.push(...rings);
    // Collectors started from now on get them with their data; the running one by a call.
    this.collector.updateData();
    if (this.currentState === 'running' || this.currentState === 'starting') {
      void this.collector.call((c) => c.addRings(rings), true).catch(() => {});
    }
    return {
      type: 'perfwatch.producer',
      key: `${this.id}:${++this.handleCount}`,
      control: this.control,
      registry: this.registryBuffers,
      rings,
      overflow: this.options.overflow,
      stallMs: this.options.stallTimeoutMs,
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
   * with no data yet is fine, the rule waits for it. Resolves once the rule is evaluating.
   */
  createAlertRule(rule: AlertRuleInput): Promise<AlertRule> {
    return this.alerting.createRule(rule);
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

  /** Every series with data: current value, totals and a summary of the recent window. */
  getMetrics(query?: MetricQuery): MetricSnapshot[] {
    return this.query.metrics(query);
  }

  /** Samples or buckets of one metric over a time range, downsampled to maxPoints. */
  getMetricHistory(query: HistoryQuery): MetricHistory {
    return this.history.read(query);
  }

  status(): MonitorStatus {
    const now = Date.now();
    const rings: RingStatus[] = [this.mainRing, ...this.handleRings].map((sab, i) => ({ owner: i === 0 ? 'main' : 'worker', ...ringStats(sab) }));
    const clock = this.ctl.f64[CLOCK]!;
    const c = this.collector;
    const seriesCount = this.registry.seriesCount();
    const store = storeBytes(this.store);
    const ringBytes = this.ringBytes();
    const pending = rings.reduce((a, r) => a + r.fill, 0);
    return {
      state: this.currentState,
      running: this.running,
      paused: this.paused,
      startedAt: this.startedAt,
      uptimeMs: this.startedAt && this.running ? now - this.startedAt : 0,
      collectionIntervalMs: this.options.collectionIntervalMs,
      series: { count: this.registry.applicationSeriesCount(), limit: this.options.maxSeries, own: { count: this.registry.ownSeriesCount(), limit: OWN_SERIES } },
      ingestion: {
        ingested: this.ctl.f64[INGESTED]!,
        ratePerSecond: this.running ? this.rate.perSecond : null,
        dropped: rings.reduce((a, r) => a + r.dropped, 0),
        lastDrops: this.drops.last,
        badSamples: this.ctl.f64[BAD_SAMPLES]!,
        pending,
        overflow: this.options.overflow,
        stallTimeoutMs: this.options.stallTimeoutMs,
        rings: rings.filter((r) => r.owner === 'main' || r.claimedBy !== 0),
      },
      collector: {
        state: c.state,
        restarts: c.restarts,
        lastExit: c.lastExit ? { code: c.lastExit.code, message: c.lastExit.error?.message ?? null } : null,
        heartbeatAgeMs: clock > 0 && this.running ? Math.max(0, now - clock) : null,
        startedAt: this.running ? this.ctl.f64[STARTED_AT]! : null,
        lagMs: collectorLag(this.ctl, now, pending),
        openSeries: this.collectorInfo?.openSeries ?? null,
        freeSketchPages: this.reader.freePages(),
        sketchOverflow: this.ctl.f64[SKETCH_OVERFLOW]!,
      },
      memory: {
        touchedBytes: this.touchedBytes(),
        addressSpaceBytes: store + this.registry.bytes() + ringBytes + this.control.byteLength,
        storeBytes: store,
        registryBytes: this.registry.bytes(),
        ringBytes,
      },
      system: this.collectorInfo?.system ?? null,
      alerts: { ...this.alerting.status(), heartbeatAgeMs: this.alerting.heartbeatAge(now) },
      overhead: this.features.overhead.status(),
      faults: this.faultStatus(),
    };
  }

  /** This thread's faults, with the collector's own readings it could not record. */
  private faultStatus(): FaultStatus {
    const status = this.faults.status();
    const own = this.ctl.f64[OWN_FAULTS]!;
    if (own > 0) {
      status.byKind['collector-own-reading'] = { count: own, lastMessage: "a reading of the monitor's own could not be registered (see the collector)", lastAt: 0 };
      status.total += own;
    }
    return status;
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
    const { serveMonitorMcp } = await import('../mcp/index.js');
    return serveMonitorMcp(this, options);
  }

  /**
   * A report over [from, to) (default: all data held, up to now), built in the report pool
   * from the shared store: JSON (an object), or Markdown or one self-contained HTML file (a
   * string). onProgress reports series done; an aborted signal cancels the task.
   */
  generateReport(options?: ReportOptions & { format?: 'json' }): Promise<PerformanceReport>;
  generateReport(options: ReportOptions & { format: 'markdown' | 'html' }): Promise<string>;
  generateReport(options?: ReportOptions): Promise<PerformanceReport | string>;
  generateReport(options?: ReportOptions): Promise<PerformanceReport | string> {
    return this.features.reports.generate(options);
  }

  /** The last report generated (as JSON), whatever format it was asked in. */
  getLatestReport(): PerformanceReport | undefined {
    return this.features.reports.latest();
  }

  /** Per-series baselines learned from the history held (built in the report pool). */
  getBaselines(options?: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void }): Promise<Baseline[]> {
    return this.features.reports.baselines(options);
  }

  /** Registers a knob for optimize(): how to read and set it, its range and step, and the metric it should improve. */
  registerTunable(definition: TunableDefinition): void {
    this.features.optimizer.register(definition);
  }

  unregisterTunable(name: string): boolean {
    return this.features.optimizer.unregister(name);
  }

  /** Every registered tunable, the monitor's own included (perfwatch.*). */
  getTunables(): Omit<Tunable, 'get' | 'set'>[] {
    return this.features.optimizer.list();
  }

  /**
   * Plans one step per tunable of `type`; with dryRun false (or autoApply) applies each,
   * verifies its target over a window and rolls back what did not help.
   */
  optimize(options?: OptimizeOptions): Promise<OptimizationResult> {
    return this.features.optimizer.optimize(options);
  }

  /**
   * optimize() without the wait: plans, starts applying in the background (unless a dry
   * run), and returns the run at once; read it with getOptimizationRun(runId).
   */
  startOptimization(options?: OptimizeOptions): OptimizationRun {
    return this.features.optimizer.start(options);
  }

  /** A run's progress, result so far and state (running, done, cancelled, failed); the last 20 are kept. */
  getOptimizationRun(runId: number): OptimizationRun | undefined {
    return this.features.optimizer.run(runId);
  }

  /** Stops a run: the change being verified is rolled back; resolves with the run once stopped. */
  cancelOptimization(runId: number): Promise<OptimizationRun | undefined> {
    return this.features.optimizer.cancel(runId);
  }

  /** Every plan, change, verification, keep and rollback, oldest first (the last 1,000). */
  getOptimizationLog(): OptimizationLogEntry[] {
    return this.features.optimizer.getLog();
  }

  /** Changes the overhead budget while running (percent of one core, bytes). */
  setOverheadBudget(budget: Partial<Pick<OverheadOptions, 'cpuPercent' | 'memoryBytes'>>): void {
    this.features.setOverheadBudget(budget);
  }

  /**
   * Fault injection, for tests and drills: the collector throws, exits, hangs (inside), or is
   * killed from outside ('kill': the worker is terminated wherever it is, as an OOM kill
   * would). The watchdog must heal each without losing a sample. 'hang' on 'reports' runs a
   * report task that never ends (resolving once a pool thread runs it): reports.timeoutMs
   * ends it.
   */
  async injectFault(fault: Fault | 'kill', actor: 'collector' | 'alerts' | 'reports' = 'collector'): Promise<void> {
    if (actor === 'reports') {
      if (fault !== 'hang') throw new InvalidArgumentError('fault', 'of the report pool can only be hang');
      await this.features.reports.hang();
      return;
    }
    const target = actor === 'alerts' ? this.alerting.actor : this.collector;
    if (fault === 'kill') {
      await target.kill();
      return;
    }
    if (actor === 'alerts') {
      if (fault === 'hang') throw new InvalidArgumentError('fault', 'hang is a collector fault');
      await this.alerting.actor.call((a) => a.injectFault(fault));
      return;
    }
    await this.collector.call((c) => c.injectFault(fault));
  }

  /** When the monitor watched: from its first start, to now while running or to when it stopped. */
  private watched(): Watched {
    return { from: this.firstStartedAt, to: this.running ? Infinity : this.stoppedAt };
  }

  private ringBytes(): number {
    return [this.mainRing, ...this.handleRings].reduce((a, r) => a + r.byteLength, 0);
  }

  /** See MonitorStatus.memory.touchedBytes; the sketch pages' peak is what this thread has seen. */
  private touchedBytes(): number {
    this.sketchPagesPeak = Math.max(this.sketchPagesPeak, this.reader.layout.poolPages - this.reader.freePages());
    return touchedBytes(this.reader, this.registry.seriesCount(), this.sketchPagesPeak) + this.registry.bytes() + this.ringBytes() + this.control.byteLength;
  }

  private collectorData(): CollectorData {
    return {
      control: this.control,
      registry: this.registryBuffers,
      store: this.store,
      rings: [this.mainRing, ...this.handleRings],
      intervalMs: this.options.collectionIntervalMs,
      system: this.options.system,
    };
  }

  /**
   * Once a second, just before the collector's bucket boundary: runtime samples (every
   * interval), the ingestion rate, the drop report (every interval). The runtime samples are
   * published without waking the collector: it wakes for the boundary a few ms later anyway,
   * and an idle monitor then costs one collector wake-up per interval. The time of that
   * publish tells the collector how long they waited (monitor_collector_lag). Supervision is
   * not here: the watchdog thread does it, so a busy or blocked main thread delays nothing.
   */
  private onTick(): void {
    if (this.currentState !== 'running') return;
    const busyFrom = performance.now();
    const now = Date.now();
    this.tick = setTimeout(() => this.onTick(), nextTickDelay(now));
    this.tick.unref();
    this.faults.guard('tick', () => this.tickWork(now));
    this.features.overhead.mainBusy(performance.now() - busyFrom);
  }

  private tickWork(now: number): void {
    if (this.runtime && now >= this.nextRuntimeSample) {
      this.nextRuntimeSample = now + this.options.collectionIntervalMs - TICK_MS / 2;
      const quiet = this.main.ring.unpublished() === 0;
      this.faults.guard('runtime-sample', () => this.runtime!.sample());
      if (quiet) this.ctl.f64[QUIET_AT] = Date.now();
      this.main.ring.publish(!quiet);
    }
    const ingested = this.ctl.f64[INGESTED]!;
    if (now - this.rate.at >= 2_000) {
      this.rate = { at: now, ingested, perSecond: ((ingested - this.rate.ingested) * 1000) / (now - this.rate.at) };
    }
    if (now >= this.nextDropCheck) {
      this.nextDropCheck = now + this.options.collectionIntervalMs - TICK_MS / 2;
      const rings = [this.mainRing, ...this.handleRings].map((sab, i) => ({ owner: i === 0 ? ('main' as const) : ('worker' as const), ...ringStats(sab) }));
      const report = this.drops.check(rings, now);
      if (report) this.emitSafe('drops', report);
    }
    if (this.collector.state === 'running' && this.tickCount++ % 5 === 0) {
      this.collector
        .call((c) => c.info())
        .then((info) => {
          this.collectorInfo = info;
        })
        .catch(() => {});
    }
  }

  /** The pause flag, here and in shared memory (the collector skips system sampling while it is set). */
  private setPaused(paused: boolean): void {
    this.pausedNow = paused;
    Atomics.store(this.ctl.i32, PAUSED, paused ? 1 : 0);
  }

  /** Emits without ever throwing into the caller: a listener's error becomes a warning. */
  private emitSafe(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (error) {
      process.emitWarning(`perfwatch: a '${event}' listener threw: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

export type { ActorExit };
