/**
 * Wires reports, baselines, the optimisation engine and the overhead budget into a monitor:
 * the coordinator holds one ReportsFeature and calls its report service, optimiser and
 * overhead governor directly, so the monitor's own file only gains one-line methods. Everything here runs on the main thread;
 * the heavy work goes to the report pool (service.ts).
 */
import { availableParallelism } from 'node:os';
import type { CollectorApi } from '../actors/protocols.js';
import { toInvalidArgument } from '../errors.js';
import type { ResolvedOptions } from './options.js';
import type { Registry, RegistryBuffers } from '../engine/registry.js';
import type { Watched } from '../analysis/watched.js';
import type { StoreBuffers } from '../engine/store/layout.js';
import type { StoreReader } from '../engine/store/reader.js';
import type { Supervisor } from '../actors/supervisor.js';
import { Optimizer } from '../optimizer/optimizer.js';
import { OverheadBudgetSchema, OverheadGovernor, type OverheadOptions } from '../overhead/governor.js';
import { ReportService, type AlertHistoryQuery } from '../reports/service.js';
import { measureTarget } from '../optimizer/tunables.js';
import type { AlertTransition } from '../reports/types.js';

export interface FeatureDeps {
  monitorId: string;
  options: ResolvedOptions;
  store: StoreBuffers;
  registryBuffers: RegistryBuffers;
  registry: Registry;
  reader: StoreReader;
  collector: Supervisor<CollectorApi>;
  /** Shared memory the monitor has touched: the store's pages written, rings, registry, control block. */
  touchedBytes: () => number;
  record: (name: string, value: number) => void;
  flush: () => Promise<void>;
  running: () => boolean;
  alertHistory: ((query: AlertHistoryQuery) => AlertTransition[]) | undefined;
  /** When the monitor watched (rates in reports). */
  watched: () => Watched;
}

/** The monitor's own metrics of this feature, defined with their kinds at construction. */
const OWN_METRICS = [
  { name: 'monitor_overhead_cpu', kind: 'gauge', unit: 'percent' },
  { name: 'monitor_overhead_memory', kind: 'gauge', unit: 'bytes' },
  { name: 'monitor_backoff_level', kind: 'gauge', unit: 'count' },
  { name: 'monitor_report_ms', kind: 'distribution', unit: 'ms' },
] as const;

export class ReportsFeature {
  readonly reports: ReportService;
  readonly optimizer: Optimizer;
  readonly overhead: OverheadGovernor;
  private readonly deps: FeatureDeps;
  private reportCpuMs = 0;
  private reportHeap = 0;

  constructor(deps: FeatureDeps) {
    this.deps = deps;
    const o = deps.options;
    for (const m of OWN_METRICS) deps.registry.define(m.name, m.kind, m.unit);
    this.reports = new ReportService({
      monitorId: deps.monitorId,
      store: deps.store,
      registry: deps.registryBuffers,
      threads: o.reports.threads,
      timeoutMs: o.reports.timeoutMs,
      alertHistory: deps.alertHistory,
      watched: deps.watched,
      onTask: (_kind, wallMs, cpuMs, heapBytes) => {
        if (Number.isFinite(cpuMs)) this.reportCpuMs += cpuMs;
        this.reportHeap = heapBytes;
        this.recordOwn('monitor_report_ms', wallMs);
      },
    });
    this.overhead = new OverheadGovernor(
      {
        intervalMs: o.collectionIntervalMs,
        slowCadenceMs: o.system.slowCadenceMs,
        systemEnabled: o.system.enabled,
        collectorUsage: async () => (deps.collector.state === 'running' ? deps.collector.call((c) => c.usage()) : undefined),
        setCadence: async (systemMs, slowMs) => {
          if (deps.collector.state === 'running') await deps.collector.call((c) => c.setSystemCadence(systemMs, slowMs));
        },
        sharedBytesInUse: () => this.sharedBytesInUse(),
        reports: () => ({ cpuMs: this.reportCpuMs, heapBytes: this.reportHeap * Math.max(1, this.reports.effectiveThreads) }),
        limitReports: (cap) => this.reports.limit(cap),
        record: (name, value) => this.recordOwn(name, value),
      },
      o.overhead,
    );
    this.optimizer = new Optimizer({
      measure: (t, from, to) => measureTarget(deps.registry, deps.reader, t.target, t.targetTags, from, to),
      flush: deps.flush,
      verificationWindowMs: () => o.reports.verificationWindowMs,
      notes: () => [
        `collectionIntervalMs (${o.collectionIntervalMs}) and rawCapacity (${o.rawCapacity}) size the shared store and are fixed at construction: they are not tunables; construct a monitor with other values to change them.`,
      ],
    });
    this.optimizer.register(
      {
        name: 'perfwatch.report_threads',
        type: 'concurrency',
        get: () => this.reports.threads,
        set: (n) => this.reports.setThreads(n),
        min: 1,
        max: Math.max(2, availableParallelism()),
        step: 1,
        target: 'monitor_report_ms',
        goal: 'decrease',
        description: 'Threads of the report pool; more serve concurrent reports, each costs a heap and two 3 MB sketches.',
      },
      true,
    );
    if (o.system.enabled) {
      this.optimizer.register(
        {
          name: 'perfwatch.system_cadence_ms',
          type: 'cpu',
          get: () => this.overhead.baseCadenceMs,
          set: (ms) => this.overhead.setBaseCadence(ms),
          min: o.collectionIntervalMs,
          max: o.collectionIntervalMs * 60,
          step: o.collectionIntervalMs,
          target: 'monitor_overhead_cpu',
          goal: 'decrease',
          prefer: 'up',
          description: 'How often the collector samples system metrics (cpu, memory, disk, network); slower costs less CPU and shows less detail.',
        },
        true,
      );
    }
  }

  start(): void {
    this.overhead.start();
    // A restarted collector begins at the default cadence: the next check puts it back.
  }

  async stop(): Promise<void> {
    // A change under verification on a stopping monitor could not be judged: roll it back now.
    await this.optimizer.cancelAll();
    this.overhead.stop();
    await this.reports.close();
  }

  setOverheadBudget(budget: Partial<Pick<OverheadOptions, 'cpuPercent' | 'memoryBytes'>>): void {
    const parsed = OverheadBudgetSchema.safeParse(budget);
    if (!parsed.success) throw toInvalidArgument(parsed.error, budget, 'overhead');
    const valid: Partial<Pick<OverheadOptions, 'cpuPercent' | 'memoryBytes'>> = {};
    if (parsed.data.cpuPercent !== undefined) valid.cpuPercent = parsed.data.cpuPercent;
    if (parsed.data.memoryBytes !== undefined) valid.memoryBytes = parsed.data.memoryBytes;
    this.overhead.setBudget(valid);
  }

  /** Records one of the monitor's own readings; a stop racing with it skips the reading. */
  private recordOwn(name: string, value: number): void {
    if (!this.deps.running()) return;
    try {
      this.deps.record(name, value);
    } catch {
      // stopped between the check and the record: the reading is dropped, not thrown
    }
  }

  /** Shared memory the monitor has touched (see MonitorStatus.memory.touchedBytes). */
  private sharedBytesInUse(): number {
    return this.deps.touchedBytes();
  }
}
