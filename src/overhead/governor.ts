/**
 * The overhead budget: the monitor measures what it costs the host, and backs off when that
 * is more than the budget allows.
 *
 * CPU counts the monitor's own threads only: the collector thread and report-pool threads
 * each read their own clock (/proc/thread-self, see engine/thread-cpu.ts); the monitor's work on
 * the host's main thread (its tick: runtime sampling, ingestion rate, heartbeat) is timed
 * around it, and so is the main-thread time of profile captures (inspector calls, summary,
 * serialising the file: profilingMs; V8's sampling itself is the profiler's own cost, not
 * timed here), and so is a first serveHttp() or serveMcp() loading and starting its front
 * (frontsMs: the SDK's modules compiled and run, monitor/front-stages.ts); child processes (systeminformation's at the slow cadence) come from the
 * process's cutime/cstime, counted only in checks during which the collector started one,
 * since the host may spawn processes of its own. Memory is the shared memory the monitor
 * has touched (series slots in use, sketch logs up to their write position, sketch pages
 * in use, registry, rings) plus the heaps in use of the collector's thread and of the report
 * pool's (the last task's, once per thread). The other threads' heaps (watchdog, alert,
 * storage and exporter actors, the /metrics renderer) are not read from here, and not
 * counted: each is bounded by its heap limit instead (actors/thread-limits.ts, threadHeapMb).
 *
 * Over the CPU budget, each check raises the back-off level: ×4 the system sampling cadence
 * and the spawning sources' cadence per level, and from level 2 one report thread. Below
 * half the budget for two checks in a row, it steps back down. Over the memory budget it
 * caps the report pool at one thread (its heaps are the part that can shrink; the shared
 * buffers are fixed at construction) and says which buffers to lower.
 */
import { z } from 'zod';
import type { CollectorUsage } from '../actors/protocols.js';
import { toInvalidArgument } from '../schema-errors.js';
import { childrenCpuMs, threadCpuSource, type CpuSource } from '../engine/thread-cpu.js';
import type { CpuLimit } from '../engine/cpu-limit.js';
import { clearInterval, setInterval } from '../engine/real-timers.js';

const MiB = 1024 * 1024;
const MAX_LEVEL = 3;
/**
 * A back-off step is taken only when sampling at the base cadence would be at least this
 * share of the monitor's CPU: when the collector is busy draining what the host records,
 * slowing the system sampling would save nothing worth its lost detail.
 */
const MIN_REDUCIBLE_SHARE = 0.05;
/** The first seconds after start (JIT, first reads, V8 settling its heaps) are measured, not acted on. */
const WARMUP_MS = 2_000;
/**
 * The action over the CPU budget by ingestion, with what the service can do, since the
 * monitor can do nothing: the collector's cost is the samples it is given (docs/benchmarks.md,
 * "Chunks as large as the ring allows", for the ring's part at many series).
 */
const INGESTION_BOUND =
  'over the CPU budget by ingestion (draining the samples the host records): slowing the system sampling would save under 5%, so it is not slowed further; ' +
  "to cost less, record fewer samples (a hot loop's summed before record()), at thousands of series give the collector fewer wake-ups and larger chunks with a larger ringCapacity (1048576: about two points of a core less at 1M samples/s over 10,000 series), or raise overhead.cpuPercent";
/** The action over the memory budget: what to lower (fixed at construction), or the budget to raise. */
const MEMORY_OVER =
  'the shared buffers are fixed at construction: lower sketchLogBytes, rollupLogBytes, sketchPoolBytes or maxSeries (or record fewer and shorter tags, maxTags and maxTagValueLength, when status().memory.registryBytes is most of it) to use less memory, or raise overhead.memoryBytes';
/**
 * The action at the last back-off step still over the CPU budget (not by ingestion, which has
 * its own): the actions listed were all the monitor could do, and a trial's list of them read
 * as if more were coming.
 */
const LAST_STEP =
  `at its last back-off step (level ${MAX_LEVEL}) and still over the CPU budget: the monitor slows its sampling no further; ` +
  'status().overhead.breakdown says which of its threads costs what: turn off what is not needed (system: { enabled: false }, runtime: { enabled: false }), or raise overhead.cpuPercent';
/** The slowest cadence a back-off may reach (the range of system.slowCadenceMs). */
const MAX_CADENCE_MS = 3_600_000;

const intIn = (min: number, max: number, def: number, what = '') => {
  const range = `must be an integer from ${min} to ${max}${what}`;
  return z.number({ error: range }).int({ error: range }).min(min, { error: range }).max(max, { error: range }).default(def);
};

export const OverheadOptionsSchema = z.strictObject({
  enabled: z.boolean({ error: 'must be a boolean' }).default(true),
  /** CPU budget in percent of one core, all of the monitor's threads and child processes. */
  cpuPercent: z.number({ error: 'must be a number from 0.0001 to 1000' }).min(0.0001, { error: 'must be a number from 0.0001 to 1000' }).max(1000, { error: 'must be a number from 0.0001 to 1000' }).default(1),
  memoryBytes: intIn(MiB, 1024 * 1024 * MiB, 64 * MiB, ' bytes'),
  /** How often usage is measured and the back-off level reconsidered. */
  checkIntervalMs: intIn(100, 600_000, 10_000, ' ms'),
});

export type OverheadOptions = z.output<typeof OverheadOptionsSchema>;

/** What setOverheadBudget() accepts: the two limits, each optional. */
export const OverheadBudgetSchema = z.strictObject({
  cpuPercent: OverheadOptionsSchema.shape.cpuPercent.unwrap().optional(),
  memoryBytes: OverheadOptionsSchema.shape.memoryBytes.unwrap().optional(),
});

export interface OverheadDeps {
  intervalMs: number;
  slowCadenceMs: number;
  systemEnabled: boolean;
  collectorUsage(): Promise<CollectorUsage | undefined>;
  setCadence(systemMs: number, slowMs: number): Promise<void>;
  sharedBytesInUse(): number;
  reports(): { cpuMs: number; heapBytes: number };
  limitReports(cap: number | undefined): void;
  record(name: string, value: number): void;
  /** The wall clock its checks are dated by (default Date.now; the monitor gives Node's own, out of a test's fake timers' reach). */
  now?: () => number;
}

/** The process's cgroup CPU limit (engine/cpu-limit.ts), and whether `overhead.cpuPercent` was given. */
export interface CpuBudgetBasis {
  limit: CpuLimit | null;
  given: boolean;
}

export interface OverheadStatus {
  enabled: boolean;
  /** `cpuPercent` as the governor holds the monitor to: the one not given scaled to a limit below one core. */
  budget: { cpuPercent: number; memoryBytes: number };
  /** The cgroup's CPU limit, null when none is set: the budget not given is that share of it. */
  cpuLimit: CpuLimit | null;
  /** Over the last check window; null before the first. */
  cpuPercent: number | null;
  memoryBytes: number | null;
  /**
   * Where the CPU went in the last window. `samplingMs` is the part of the collector's time
   * spent in system sources, which a back-off reduces along with child processes; the rest
   * of the collector's time is ingestion (draining what the host records), which it cannot.
   */
  breakdown: { windowMs: number; collectorMs: number; samplingMs: number; mainThreadMs: number; profilingMs: number; frontsMs: number; reportsMs: number; childProcessesMs: number } | null;
  cpuSource: CpuSource;
  level: number;
  backedOff: boolean;
  overBudget: { cpu: boolean; memory: boolean };
  /** What the back-off does now, in words. */
  actions: string[];
  /** Over the CPU budget by ingestion (the host's samples), which a back-off cannot reduce. */
  ingestionBound: boolean;
  systemCadenceMs: number;
  slowCadenceMs: number;
  /** The cadence the collector reported using at the last check (it lags a change by one check). */
  collectorCadenceMs: number | null;
  lastCheck: number | null;
  levelChangedAt: number | null;
}

export class OverheadGovernor {
  private readonly deps: OverheadDeps;
  private budget: OverheadOptions;
  private readonly cpu: CpuBudgetBasis;
  private timer: NodeJS.Timeout | undefined;
  private level = 0;
  private under = 0;
  private mainMs = 0;
  private profilingMs = 0;
  private frontsMs = 0;
  private base = { cadenceMs: 0 };
  private last: { at: number; thread: number; collectorMs: number; samplingMs: number; childrenMs: number; spawnCalls: number; reportsMs: number } | undefined;
  private state: Omit<OverheadStatus, 'enabled' | 'budget' | 'cpuLimit' | 'level' | 'backedOff' | 'actions' | 'systemCadenceMs' | 'slowCadenceMs'>;
  private checking = false;
  private startedAt = 0;

  constructor(deps: OverheadDeps, budget: OverheadOptions, cpu: CpuBudgetBasis = { limit: null, given: false }) {
    this.deps = deps;
    this.budget = budget;
    this.cpu = { ...cpu };
    this.base.cadenceMs = deps.intervalMs;
    this.state = { cpuPercent: null, memoryBytes: null, breakdown: null, cpuSource: threadCpuSource(), overBudget: { cpu: false, memory: false }, ingestionBound: false, collectorCadenceMs: null, lastCheck: null, levelChangedAt: null };
  }

  /** The system sampling cadence before back-off (the `perfwatch.system_cadence_ms` tunable). */
  get baseCadenceMs(): number {
    return this.base.cadenceMs;
  }

  async setBaseCadence(ms: number): Promise<void> {
    this.base.cadenceMs = Math.max(this.deps.intervalMs, Math.round(ms / this.deps.intervalMs) * this.deps.intervalMs);
    await this.apply();
  }

  /** New limits while running (percent of one core, bytes), checked against OverheadBudgetSchema. */
  setBudget(budget: Partial<Pick<OverheadOptions, 'cpuPercent' | 'memoryBytes'>>): void {
    const parsed = OverheadBudgetSchema.safeParse(budget);
    if (!parsed.success) throw toInvalidArgument(parsed.error, budget, 'overhead', 'option', OverheadBudgetSchema);
    const valid: Partial<Pick<OverheadOptions, 'cpuPercent' | 'memoryBytes'>> = {};
    if (parsed.data.cpuPercent !== undefined) valid.cpuPercent = parsed.data.cpuPercent;
    if (parsed.data.cpuPercent !== undefined) this.cpu.given = true;
    if (parsed.data.memoryBytes !== undefined) valid.memoryBytes = parsed.data.memoryBytes;
    this.budget = { ...this.budget, ...valid };
  }

  /**
   * The CPU budget in percent of one core. One not given is that percent of the cgroup's limit
   * where it is below one core: 1% of one core is 4% of a quarter core's quota, taken from the
   * service, which the kernel throttles once the quota is spent. A limit of more than a core
   * keeps it: the budget is the monitor's cost to the service, which more cores do not lower.
   */
  private get cpuBudget(): number {
    const cores = this.cpu.limit?.cores ?? 1;
    return this.cpu.given || cores >= 1 ? this.budget.cpuPercent : this.budget.cpuPercent * cores;
  }

  get systemCadenceMs(): number {
    return Math.min(MAX_CADENCE_MS, this.base.cadenceMs * 4 ** this.level);
  }

  get slowCadenceMs(): number {
    return Math.min(MAX_CADENCE_MS, Math.max(this.deps.slowCadenceMs, this.deps.slowCadenceMs * 4 ** this.level));
  }

  start(): void {
    if (!this.budget.enabled || this.timer) return;
    this.last = undefined;
    this.startedAt = this.now();
    // A failed check is skipped, never an unhandled rejection in the host.
    this.timer = setInterval(() => void this.check().catch(() => {}), this.budget.checkIntervalMs);
    this.timer.unref();
    void this.check().catch(() => {});
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Time the monitor's own work took on the host's main thread. */
  mainBusy(ms: number): void {
    this.mainMs += ms;
  }

  /** Main-thread time a profile capture cost (counted apart in the breakdown, and in the total). */
  profilingBusy(ms: number): void {
    this.profilingMs += ms;
  }

  /** Main-thread time a first serveHttp() or serveMcp() spent loading and starting its front (monitor/front-stages.ts). */
  frontsBusy(ms: number): void {
    this.frontsMs += ms;
  }

  status(): OverheadStatus {
    const actions: string[] = [];
    if (this.level > 0) {
      actions.push(`system metrics every ${this.systemCadenceMs} ms instead of ${this.base.cadenceMs} ms`);
      if (this.deps.systemEnabled) actions.push(`slow system sources (the search for mounts; off Linux the ones that spawn processes) every ${this.slowCadenceMs} ms instead of ${this.deps.slowCadenceMs} ms`);
    }
    if (this.level >= 2 || this.state.overBudget.memory) actions.push('report pool capped at 1 thread');
    // Lowering the buffers cannot bring a monitor under a budget below what its defaults take
    // (13 MiB at 1 MiB, a trial's): the budget may be what is wrong, and the advice says so.
    if (this.state.overBudget.memory) actions.push(MEMORY_OVER);
    if (this.state.ingestionBound) actions.push(INGESTION_BOUND);
    else if (this.level === MAX_LEVEL && this.state.overBudget.cpu) actions.push(LAST_STEP);
    return {
      enabled: this.budget.enabled,
      budget: { cpuPercent: this.cpuBudget, memoryBytes: this.budget.memoryBytes },
      cpuLimit: this.cpu.limit,
      ...this.state,
      level: this.level,
      backedOff: this.level > 0 || this.state.overBudget.memory,
      actions,
      systemCadenceMs: this.systemCadenceMs,
      slowCadenceMs: this.slowCadenceMs,
    };
  }

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** Measures, then moves the back-off level by at most one step. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const usage = await this.deps.collectorUsage().catch(() => undefined);
      if (!usage) return;
      const now = this.now();
      const children = childrenCpuMs();
      const reports = this.deps.reports();
      const prev = this.last;
      this.last = { at: now, thread: usage.thread, collectorMs: usage.cpuMs, samplingMs: usage.samplingMs, childrenMs: children, spawnCalls: usage.spawnCalls, reportsMs: reports.cpuMs };
      const mainMs = this.mainMs;
      this.mainMs = 0;
      const profilingMs = this.profilingMs;
      this.profilingMs = 0;
      const frontsMs = this.frontsMs;
      this.frontsMs = 0;
      const memory = this.deps.sharedBytesInUse() + usage.heapUsed + reports.heapBytes;
      const memoryOver = memory > this.budget.memoryBytes;
      this.state.memoryBytes = memory;
      this.state.lastCheck = now;
      this.state.collectorCadenceMs = usage.systemCadenceMs;
      if (memoryOver !== this.state.overBudget.memory) {
        this.state.overBudget.memory = memoryOver;
        this.deps.limitReports(memoryOver || this.level >= 2 ? 1 : undefined);
      }
      if (!prev) return; // the first check only sets the starting points
      const windowMs = now - prev.at;
      const collectorMs = usage.thread === prev.thread ? usage.cpuMs - prev.collectorMs : usage.cpuMs;
      const samplingMs = usage.thread === prev.thread ? usage.samplingMs - prev.samplingMs : usage.samplingMs;
      const spawned = usage.spawnCalls > prev.spawnCalls || usage.thread !== prev.thread;
      const childMs = spawned && Number.isFinite(children - prev.childrenMs) ? children - prev.childrenMs : 0;
      const reportsMs = reports.cpuMs - prev.reportsMs;
      const known = Number.isFinite(collectorMs);
      const total = (known ? collectorMs : 0) + mainMs + profilingMs + frontsMs + (Number.isFinite(reportsMs) ? reportsMs : 0) + childMs;
      const cpuPercent = (100 * total) / Math.max(1, windowMs);
      this.state.cpuPercent = known ? cpuPercent : null;
      this.state.breakdown = { windowMs, collectorMs: known ? collectorMs : Number.NaN, samplingMs, mainThreadMs: mainMs, profilingMs, frontsMs, reportsMs, childProcessesMs: childMs };
      const cpuOver = known && cpuPercent > this.cpuBudget;
      this.state.overBudget.cpu = cpuOver;
      // What sampling costs at the base cadence in a window like this one, children included.
      const reducible = (usage.samplePassMs * windowMs) / this.base.cadenceMs + childMs * 4 ** this.level;
      const worthIt = reducible >= MIN_REDUCIBLE_SHARE * total;
      this.state.ingestionBound = cpuOver && !worthIt;
      const before = this.level;
      if (now - this.startedAt < WARMUP_MS) {
        // warming up: measured and shown, not acted on
      } else if (cpuOver && worthIt) {
        this.under = 0;
        if (this.level < MAX_LEVEL) this.level++;
      } else if (!known || !worthIt || cpuPercent < this.cpuBudget / 2) {
        // Under half the budget, or over it by ingestion that a back-off does not reduce.
        if (++this.under >= 2 && this.level > 0) {
          this.level--;
          this.under = 0;
        }
      } else {
        this.under = 0;
      }
      if (this.level !== before) {
        this.state.levelChangedAt = now;
        this.deps.limitReports(this.state.overBudget.memory || this.level >= 2 ? 1 : undefined);
      }
      if (this.level !== before || usage.systemCadenceMs !== this.systemCadenceMs || usage.slowCadenceMs !== this.slowCadenceMs) await this.apply();
      if (known) this.deps.record('monitor_overhead_cpu', cpuPercent);
      this.deps.record('monitor_overhead_memory', memory);
      this.deps.record('monitor_backoff_level', this.level);
    } finally {
      this.checking = false;
    }
  }

  private async apply(): Promise<void> {
    await this.deps.setCadence(this.systemCadenceMs, this.slowCadenceMs).catch(() => {});
  }
}
