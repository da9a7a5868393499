/**
 * The coordinator's side of reports: validates options, runs report and baseline tasks on a
 * piscina pool that reads the shared store in place, relays progress, cancels through an
 * AbortSignal, and keeps the latest report. The main thread only posts the task (the
 * buffers are shared, not copied) and receives the finished report.
 *
 * The pool starts no thread until the first report and lets idle threads go after
 * IDLE_TIMEOUT_MS; its size is a tunable (setThreads recreates it once running tasks end,
 * since piscina fixes maxThreads at construction), and the overhead governor may cap it.
 *
 * A task may run for at most `timeoutMs` from when a pool thread takes it (the task says so
 * on its port): past it, the task is aborted, which terminates its thread, and the reports
 * queued behind it run on a new one. The timeout, and a task whose thread died under it, are
 * faults (report-timeout, report-failed) as well as the caller's error: a team reading status,
 * or an agent asking over MCP, saw nothing of reports timing out.
 *
 * A pool thread that cannot start (EMFILE, ENOMEM) before it took a task is piscina's 'error'
 * event, which unheard would throw into the host; and piscina starts no thread after such a
 * failure, so the tasks queued would wait for ever (their timeout starts when a thread takes
 * them). The pool is dropped then: its queued tasks fail naming the cause, and the next task
 * makes a new pool.
 *
 * Each pool thread takes about 600 MB of the address space, and piscina makes one whenever a
 * task finds no thread free, up to maxThreads, with no check of ours between: reports asked at
 * once under `ulimit -v` with room for one made two, and the host's heap then had no room to
 * grow (thread-room.ts). So a task that would make a thread is given to the pool only when the
 * thread fits (counting the threads made and not yet online, as each new pool thread is held
 * until it is); one that does not fit waits for a thread of the pool to be free, so that the
 * pool runs on the threads that fit, and fails naming the limit only when the pool has none.
 */
import { createRequire } from 'node:module';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { z } from 'zod';
import { InvalidArgumentError, ReportAbortedError, ReportFailedError, ReportTimeoutError } from '../errors.js';
import { toInvalidArgument } from '../schema-errors.js';
import { MAX_TIME_MS } from '../analysis/time-arg.js';
import type { Watched } from '../analysis/watched.js';
import type { RegistryBuffers } from '../engine/registry.js';
import type { StoreBuffers } from '../engine/store/layout.js';
import type { ReportTask, ReportTaskResult } from '../actors/protocols.js';
import { missingFile } from '../actors/package-files.js';
import { describeError, threadsRefused } from '../actors/thread-error.js';
import { ensureRoomForThread, holdUntilOnline, roomForThread } from '../actors/thread-room.js';
import { hostThreadOptions, type ThreadPreloads } from '../actors/worker-argv.js';
import { isOutOfMemory, outOfMemoryMessage, resourceLimitsFor } from '../actors/thread-limits.js';
import type { AlertTransition, Baseline, PerformanceReport, ReportFormat } from './types.js';
import type { CaptureNote } from '../profiling/schema.js';
import { clearTimeout, monoNow, setTimeout } from '../engine/real-timers.js';

/**
 * The report pool's thread file: a CommonJS entry that import()s the task's ES module
 * (POOL_MODULE), since piscina require()s its file and a thread terminated while require()
 * linked an ES module aborted the process (workers/reports-entry.cts). A bundled service has
 * neither beside its code (actors/package-files.ts).
 */
export const POOL_FILE = new URL('../../workers/reports-entry.cjs', import.meta.url);
const POOL_MODULE = new URL('../../workers/reports.js', import.meta.url);

/** An idle pool thread is kept this long: a new one pays thread start and JIT warm-up (~0.3 s). */
const IDLE_TIMEOUT_MS = 10 * 60_000;
/** Why a report fails that stop() ended (close()). */
const STOPPED_RULE = "the monitor was stopped while the report ran or waited: stop() ends the report threads. Ask again: a stopped monitor's data stays readable";
const TIME_ERROR = 'must be a Date or a finite number of ms since the epoch';
const TIME_RANGE_ERROR = 'must be within ±8.64e15 ms of the epoch (the range of a Date)';

const time = z.union(
  [
    z
      .number({ error: TIME_ERROR })
      .refine(Number.isFinite, { error: TIME_ERROR, abort: true })
      .refine((t) => Math.abs(t) <= MAX_TIME_MS, { error: TIME_RANGE_ERROR }),
    z.date({ error: TIME_ERROR }),
  ],
  { error: TIME_ERROR },
);

const signal = z.custom<AbortSignal>((v) => v instanceof AbortSignal, { error: 'must be an AbortSignal' }).optional();
const onProgress = z.custom<(done: number, total: number) => void>((v) => typeof v === 'function', { error: 'must be a function (done, total)' }).optional();

export const ReportOptionsSchema = z.strictObject({
  from: time.optional(),
  to: time.optional(),
  includeRecommendations: z.boolean({ error: 'must be a boolean' }).default(true),
  includeAlerts: z.boolean({ error: 'must be a boolean' }).default(true),
  format: z.enum(['json', 'markdown', 'html'], { error: 'must be one of json, markdown, html' }).default('json'),
  signal,
  onProgress,
});

const count = (least: number) => z.int({ error: `must be an integer of at least ${least}` }).min(least, { error: `must be an integer of at least ${least}` });

/** getBaselines()'s options, checked as generateReport()'s are. */
export const BaselineOptionsSchema = z.strictObject({ offset: count(0).optional(), limit: count(1).optional(), signal, onProgress });

export type BaselineOptions = z.input<typeof BaselineOptionsSchema>;

export type ReportOptions = z.input<typeof ReportOptionsSchema>;

export interface AlertHistoryQuery {
  from?: number;
  to?: number;
}

export interface ReportServiceDeps {
  monitorId: string;
  /** The monitor's clock (engine/monitor-clock.ts), which its buckets and windows are in (default Date.now). */
  now?: () => number;
  store: StoreBuffers;
  registry: RegistryBuffers;
  threads: number;
  /** Whether its threads run the host's preloads (MonitorOptions.threadPreloads; default 'skip'). */
  threadPreloads?: ThreadPreloads;
  /** Each report thread's heap limit (MB; actors/thread-limits.ts), or undefined for V8's default. */
  heapMb?: number;
  /** Longest a task may run once a thread took it. */
  timeoutMs: number;
  /** The alert engine's history; undefined when the monitor has none. */
  alertHistory: ((query: AlertHistoryQuery) => AlertTransition[]) | undefined;
  /** When the monitor watched: report rates are per second of the part of the range it covers. */
  watched?: () => Watched;
  /** Called after each finished task with its wall time and its thread's CPU time. */
  onTask?: (kind: ReportTask['kind'], wallMs: number, cpuMs: number, heapBytes: number) => void;
  /** A port to the storage actor, for a task to read the stored rollups (none: memory only; null: not now; an Error: why the actor could not give one). */
  storagePort?: () => Promise<MessagePort | Error | null>;
  /** The series with samples in the memory, in id order: the ones a baseline is learned for. */
  seriesWithData: () => number[];
  /** Keeps each baseline learned in the monitor's database (none: memory only). */
  persistBaseline?: (key: string, baseline: Baseline) => void;
  /** Notes of the profile captures started in [from, to]: evidence for the report's diagnoses. */
  profiles?: (from: number, to: number) => CaptureNote[];
  /** The monitor is a hub (docs/cluster.md): a metric's summary counts each member's samples once. */
  hub?: boolean;
  /** What a report from `from` should say of the stored series it leaves out (not registered at start), if any. */
  leftOut?: (from: number) => string | undefined;
  /** What a report says of the new series refused at maxSeries, if any were (monitor/series-refusals.ts). */
  seriesRefused?: () => string | undefined;
  /** What a report says of the samples dropped at full rings since the start, if any were (monitor/drops.ts). */
  samplesDropped?: () => string | undefined;
  /**
   * A fault of the pool's work, of kind `kind` ('reports' when none is given: a pool thread
   * could not start, the pool is dropped and its queued tasks fail), 'report-timeout' (a task
   * ran past timeoutMs) or 'report-failed' (a task's thread died: out of memory, a bug).
   */
  fault?: (error: Error, kind?: string) => void;
}

/** A series' identity across restarts (series ids are per process): its name and sorted tags. */
export function seriesKey(metric: string, tags: Record<string, string>): string {
  return `${metric}${JSON.stringify(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))}`;
}

const require = createRequire(import.meta.url);

/**
 * Where piscina is, found with the library (a few stats, nothing read): resolved at the first
 * report by a host out of file descriptors, its stats fail silently and the error read "Cannot
 * find module 'piscina'"; loaded from its path, the error says EMFILE.
 */
const PISCINA = ((): string => {
  try {
    return require.resolve('piscina');
  } catch {
    return 'piscina';
  }
})();

/**
 * piscina, loaded at the first task: a service that never asks for a report or a baseline
 * does not load it (40-60 ms of CPU at import, `node dist/bench/startup.js`). By require(), not
 * import(): Node keeps a module import() could not read (EMFILE, the host out of file
 * descriptors) with its error for the life of the process, and no report would run again;
 * require() keeps nothing of a load that failed (monitor/fronts.ts says the same of the fronts).
 */
function loadPiscina(): typeof Piscina {
  return (require(PISCINA) as typeof import('piscina')).Piscina;
}

/** What a task of `kind` is to the caller who asked for it, for the faults that name it. */
const TASKS: Record<ReportTask['kind'], string> = {
  report: 'a report task (generateReport(), generate_performance_report, a report page)',
  baselines: "a baselines task (getBaselines(), get_monitoring_status's baselines)",
  hang: "a drill task (injectFault('hang', 'reports'))",
  noop: 'a task starting a report thread',
};

/**
 * The fault of a task stopped at timeoutMs: the caller's ReportTimeoutError is theirs alone,
 * and a team reading status (or an agent asking over MCP) saw nothing of reports timing out.
 */
function timedOut(kind: ReportTask['kind'], timeoutMs: number): string {
  const fewer = kind === 'baselines' ? 'ask for fewer at a time (limit)' : 'ask for a shorter range (from, to)';
  return `${TASKS[kind]} ran for more than reports.timeoutMs (${timeoutMs} ms) and was stopped, its thread replaced; the caller got ReportTimeoutError: raise reports.timeoutMs (up to 3600000) for this much data, or ${fewer}`;
}

/** The fault of a task whose thread failed it (ran out of memory, died, or a bug of ours): the caller's ReportFailedError is theirs alone. */
function taskFailed(kind: ReportTask['kind'], cause: string): string {
  return `${TASKS[kind]} failed on its thread (${cause}); the caller got ReportFailedError: a thread out of memory asks for a shorter range (from, to) or fewer series at a time; anything else is a bug of perfwatch's, to report`;
}

const toMs = (t: number | Date | undefined): number | undefined => (t instanceof Date ? t.getTime() : t);

export class ReportService {
  private readonly deps: ReportServiceDeps;
  private readonly now: () => number;
  private pool: Piscina<ReportTask, ReportTaskResult> | undefined;
  private poolThreads = 0;
  /** Pools dropped because a thread could not start, with the error that said so. */
  private readonly failedPools = new WeakMap<Piscina<ReportTask, ReportTaskResult>, Error>();
  /** Pools close() ended: their tasks fail with STOPPED_RULE, not the pool's "Terminating worker thread". */
  private readonly closedPools = new WeakSet<Piscina<ReportTask, ReportTaskResult>>();
  /** Tasks given to each pool and not yet settled: with its threads, whether the next would make one. */
  private readonly given = new WeakMap<Piscina<ReportTask, ReportTaskResult>, number>();
  /** Tasks waiting for a thread of the pool to be free (no room for another): woken when a task settles or the pool ends. */
  private waiting: Array<() => void> = [];
  private configured: number;
  private cap: number | undefined;
  private latestReport: PerformanceReport | undefined;
  private running = 0;
  /** CPU time of every finished task, and the heap a pool thread had after the last one. */
  private cpuMs = 0;
  private heapBytes = 0;
  /** Baselines of series with no data since a restart, as the database kept them. */
  private readonly stored = new Map<string, Baseline>();
  /** This process's id of a stored baseline's series, -1 while it is not registered (restoreBaselines). */
  private seriesOf: (b: Baseline) => number = () => -1;
  /** The latest baseline of each series written to the database by this process. */
  private readonly persisted = new Map<string, Baseline>();

  constructor(deps: ReportServiceDeps) {
    this.now = deps.now ?? Date.now;
    this.deps = deps;
    this.configured = deps.threads;
  }

  /** Threads the pool may use (the tunable's value). */
  get threads(): number {
    return this.configured;
  }

  /** Threads in effect: the configured number, or the overhead governor's cap when lower. */
  get effectiveThreads(): number {
    return Math.min(this.configured, this.cap ?? Infinity);
  }

  setThreads(n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('threads', 'must be an integer from 1 to 64', { value: n });
    this.configured = n;
    this.resize();
  }

  /** The overhead governor's cap on threads (undefined lifts it). */
  limit(cap: number | undefined): void {
    this.cap = cap;
    this.resize();
  }

  latest(): PerformanceReport | undefined {
    return this.latestReport;
  }

  /** What the pool has cost (the overhead budget counts it): CPU of all tasks, and the heaps of its threads. */
  usage(): { cpuMs: number; heapBytes: number } {
    return { cpuMs: this.cpuMs, heapBytes: this.heapBytes * Math.max(1, this.effectiveThreads) };
  }

  async generate(input: ReportOptions | undefined): Promise<PerformanceReport | string> {
    const parsed = ReportOptionsSchema.safeParse(input ?? {});
    if (!parsed.success) throw toInvalidArgument(parsed.error, input ?? {}, '', 'option', ReportOptionsSchema);
    const o = parsed.data;
    const from = toMs(o.from);
    const to = toMs(o.to);
    if (from !== undefined && to !== undefined && from > to) {
      throw new InvalidArgumentError('from', `(${new Date(from).toISOString()}) must not be after to (${new Date(to).toISOString()})`);
    }
    const now = this.now();
    const history = this.deps.alertHistory ? this.deps.alertHistory({ ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) }) : [];
    const notes = [this.deps.leftOut?.(from ?? -Infinity), this.deps.seriesRefused?.(), this.deps.samplesDropped?.()].filter((n): n is string => n !== undefined);
    const result = await this.run(
      {
        kind: 'report',
        now,
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
        includeAlerts: o.includeAlerts,
        includeRecommendations: o.includeRecommendations,
        alertHistory: history,
        alertHistoryAvailable: this.deps.alertHistory !== undefined,
        profiles: this.deps.profiles?.(from ?? -Infinity, to ?? now) ?? [],
        format: o.format as ReportFormat,
        ...(this.deps.watched ? { watched: this.deps.watched() } : {}),
        ...(this.deps.hub ? { hub: true } : {}),
        ...(notes.length > 0 ? { notes } : {}),
      },
      o.signal,
      o.onProgress,
    );
    const report = result.report!;
    this.latestReport = report;
    return o.format === 'json' ? report : result.rendered!;
  }

  /**
   * Baselines learned from the history held, those from `offset` on, at most `limit`: the
   * series with data in id order, then, with a database, the stored baselines of series with
   * no data since a restart (their `window` says when they were learned). Only the page is
   * learned: a status answer that shows a few baselines does not read the history of 10,000
   * series. With a database, each baseline learned is kept.
   */
  async baselines(options?: BaselineOptions): Promise<Baseline[]> {
    const parsed = BaselineOptionsSchema.safeParse(options ?? {});
    if (!parsed.success) throw toInvalidArgument(parsed.error, options ?? {}, '', 'option', BaselineOptionsSchema);
    const { offset = 0, limit = Infinity } = parsed.data;
    const withData = this.deps.seriesWithData();
    const ids = withData.slice(offset, offset + limit);
    const result = await this.run({ kind: 'baselines', now: this.now(), ids }, parsed.data.signal, parsed.data.onProgress);
    const fresh = result.baselines!;
    if (!this.deps.persistBaseline) return fresh;
    for (const b of fresh) {
      const key = seriesKey(b.metric, b.tags);
      this.stored.delete(key);
      this.persisted.set(key, b);
      this.deps.persistBaseline(key, b);
    }
    const from = Math.max(0, offset - withData.length);
    return [...fresh, ...this.storedWithoutData(withData).slice(from, from + limit - ids.length)];
  }

  /** How many baselines baselines() pages through, learning none. */
  countBaselines(): number {
    const withData = this.deps.seriesWithData();
    return withData.length + this.storedWithoutData(withData).length;
  }

  /**
   * The stored baselines of series with no data since the restart: the fresh one stands for a
   * series with data. A baseline whose series was not registered at the restart (the catalog
   * restored leaves the oldest series out: src/storage/restore.ts) is bound to its series once
   * the service records it, so that it is not listed beside the series' own.
   */
  private storedWithoutData(withData: readonly number[]): Baseline[] {
    if (this.stored.size === 0) return [];
    const has = new Set(withData);
    const out: Baseline[] = [];
    for (const [key, b] of this.stored) {
      let kept = b;
      if (b.seriesId < 0) {
        const id = this.seriesOf(b);
        if (id >= 0) {
          kept = { ...b, seriesId: id };
          this.stored.set(key, kept);
        }
      }
      if (!has.has(kept.seriesId)) out.push(kept);
    }
    return out;
  }

  /** Every baseline the database should hold, by series key (for a new database: the file was removed while running). */
  keptBaselines(): Map<string, Baseline> {
    return new Map([...this.stored, ...this.persisted]);
  }

  /**
   * The baselines a restarted monitor's database held, kept by series key; `seriesId` finds a
   * series' id in this process, -1 for one not registered: asked again for those until their
   * series is (storedWithoutData).
   */
  restoreBaselines(baselines: Baseline[], seriesId: (b: Baseline) => number): void {
    this.seriesOf = seriesId;
    for (const b of baselines) this.stored.set(seriesKey(b.metric, b.tags), { ...b, seriesId: seriesId(b) });
  }

  /**
   * A drill: runs a task that never ends, as a report stuck in a loop would; resolves once a
   * thread runs it. It fails with ReportTimeoutError after timeoutMs, and later reports run.
   */
  hang(): Promise<void> {
    return new Promise((resolve) => {
      this.run({ kind: 'hang', now: this.now() }, undefined, undefined, resolve).catch(() => {});
    });
  }

  /** stop(): ends the pool's threads; the reports running or queued on it fail saying so. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (!pool) return;
    this.closedPools.add(pool);
    this.wakeWaiting();
    await pool.destroy();
  }

  private ensurePool(Pool: typeof Piscina): Piscina<ReportTask, ReportTaskResult> {
    if (!this.pool) {
      this.poolThreads = this.effectiveThreads;
      const pool = new Pool<ReportTask, ReportTaskResult>({
        filename: POOL_FILE.href,
        minThreads: 0,
        maxThreads: this.poolThreads,
        idleTimeout: IDLE_TIMEOUT_MS,
        name: 'default',
        ...hostThreadOptions(this.deps.threadPreloads ?? 'skip'),
        ...(this.deps.heapMb === undefined ? {} : { resourceLimits: resourceLimitsFor('reports', this.deps.heapMb) }),
      });
      pool.on('error', (error: Error) => this.poolFailed(pool, error));
      this.pool = pool;
    }
    return this.pool;
  }

  /** A thread of `pool` could not start: its queued tasks fail with `error`, the next task makes a new pool. */
  private poolFailed(pool: Piscina<ReportTask, ReportTaskResult>, error: Error): void {
    this.failedPools.set(pool, error);
    if (this.pool === pool) this.pool = undefined;
    void pool.destroy().catch(() => {});
    this.wakeWaiting();
    this.deps.fault?.(error);
  }

  /**
   * new Worker() threw inside pool.run(): the process is at its limit on threads (ulimit -u,
   * a container's pids.max: EAGAIN). piscina had queued the task already and throws before
   * it returns the task's promise, which its destroy() would then reject with no handler
   * (an unhandled rejection that ended the host at the next stop()). So the pool is left
   * as it is, not destroyed: the next task makes a new one; its threads, if it has any, are
   * unref'd and end at their idle timeout, running its queued task first.
   */
  private threadNotMade(pool: Piscina<ReportTask, ReportTaskResult>, error: Error): ReportFailedError {
    if (this.pool === pool) this.pool = undefined;
    this.wakeWaiting();
    const refused = threadsRefused(error);
    if (refused !== undefined) return new ReportFailedError(`a report thread could not start: ${refused}`);
    this.deps.fault?.(error);
    const limit = (error as { code?: unknown }).code === 'EAGAIN' || error.message === 'EAGAIN' ? ': the process is at its limit on threads (ulimit -u, RLIMIT_NPROC, a container\'s pids.max) or out of memory' : '';
    return new ReportFailedError(`a report thread could not start (${describeError(error)}${limit}); the next report tries again`);
  }

  /** A pool of the wrong size is replaced; its running tasks finish first (close waits). */
  private resize(): void {
    if (!this.pool || this.poolThreads === this.effectiveThreads) return;
    const old = this.pool;
    this.pool = undefined;
    this.wakeWaiting();
    void old.close().catch(() => {});
  }

  /**
   * piscina terminates the thread of an aborted running task but starts another only up to
   * minThreads (0 here): the tasks queued behind it would wait for a run() call. A task that
   * does nothing is that call.
   */
  private replaceAbortedThread(pool: Piscina<ReportTask, ReportTaskResult>): void {
    if (this.running <= 1 || this.pool !== pool || !this.threadFits(pool)) return;
    try {
      this.runHeld(pool, { kind: 'noop', now: this.now(), monitorId: this.deps.monitorId, store: this.deps.store, registry: this.deps.registry }).catch(() => {});
    } catch {
      // No thread could be made: the tasks queued fail as threadNotMade says at their own run.
    }
  }

  /**
   * Whether a task given to `pool` now runs on a thread it has, or would make one that fits the
   * address space: a pool whose tasks given are fewer than its threads has one free (piscina
   * gives the task to it), and one at maxThreads makes none (the task waits in its queue).
   */
  private threadFits(pool: Piscina<ReportTask, ReportTaskResult>): boolean {
    const threads = pool.threads.length;
    return (this.given.get(pool) ?? 0) < threads || threads >= this.poolThreads || roomForThread();
  }

  /**
   * pool.run(), with each thread piscina made for it (in the call: new Worker() returns before
   * the thread reserves its space) held as made and not yet online, so that the next check of
   * the address space, for a report or an actor's thread, counts it.
   */
  private runHeld(pool: Piscina<ReportTask, ReportTaskResult>, task: ReportTask, options?: Parameters<Piscina<ReportTask, ReportTaskResult>['run']>[1]): Promise<ReportTaskResult> {
    const before = new Set<Worker>(pool.threads);
    this.given.set(pool, (this.given.get(pool) ?? 0) + 1);
    let pending: Promise<ReportTaskResult>;
    try {
      pending = pool.run(task, options);
    } catch (error) {
      this.settled(pool);
      throw error;
    } finally {
      for (const thread of pool.threads) if (!before.has(thread)) holdUntilOnline(thread);
    }
    return pending.finally(() => this.settled(pool));
  }

  /** A task given to `pool` settled: a thread of it may be free for a task waiting for one. */
  private settled(pool: Piscina<ReportTask, ReportTaskResult>): void {
    this.given.set(pool, Math.max(0, (this.given.get(pool) ?? 0) - 1));
    this.wakeWaiting();
  }

  private wakeWaiting(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }

  /**
   * Gives a task to the pool (`give`, which calls runHeld) once it fits: at once when it runs on
   * a thread the pool has or one that fits is made for it; else, when the pool has tasks (so
   * threads) of its own, after one of them settles, as many times as it takes (the pool runs on
   * the threads that fit); else it fails, naming the limit. A pool closed meanwhile (stop())
   * fails the task as its queued ones fail, one dropped for a thread that could not start with
   * the same cause. `give` runs in the same stretch of this thread as the check: reports asked
   * at once all passed a check made one await before their pool.run(), and each made a thread.
   */
  private async giveWhenFits<T>(Pool: typeof Piscina, signal: AbortSignal | undefined, give: (pool: Piscina<ReportTask, ReportTaskResult>) => T): Promise<{ pool: Piscina<ReportTask, ReportTaskResult>; given: T }> {
    for (;;) {
      if (signal?.aborted) throw new ReportAbortedError();
      const pool = this.ensurePool(Pool);
      if (this.threadFits(pool)) return { pool, given: give(pool) };
      if ((this.given.get(pool) ?? 0) === 0) {
        try {
          ensureRoomForThread('report');
        } catch (error) {
          this.deps.fault?.(error as Error);
          throw new ReportFailedError(`a report thread could not start (${describeError(error as Error)}); the next report tries again`);
        }
        return { pool, given: give(pool) };
      }
      await new Promise<void>((resolve, reject) => {
        const abort = (): void => {
          this.waiting = this.waiting.filter((w) => w !== wake);
          reject(new ReportAbortedError());
        };
        const wake = (): void => {
          signal?.removeEventListener('abort', abort);
          resolve();
        };
        this.waiting.push(wake);
        signal?.addEventListener('abort', abort, { once: true });
      });
      // The pool waited on ended meanwhile: the task fails as those queued on it did.
      const ended = this.closedPools.has(pool) ? new ReportAbortedError(STOPPED_RULE) : undefined;
      const failed = this.failedPools.get(pool);
      if (ended) throw ended;
      if (failed) throw new ReportFailedError(`a report thread could not start (${failed.message}); the next report starts another`);
    }
  }

  private async run(partial: Omit<ReportTask, 'monitorId' | 'store' | 'registry'>, signal: AbortSignal | undefined, onProgress: ((done: number, total: number) => void) | undefined, onStarted?: () => void): Promise<ReportTaskResult> {
    if (signal?.aborted) throw new ReportAbortedError();
    const missing = missingFile(POOL_FILE) ?? missingFile(POOL_MODULE);
    if (missing !== undefined) throw new ReportFailedError(`the report thread's file ${missing}`);
    let Pool: typeof Piscina;
    try {
      Pool = loadPiscina();
    } catch (error) {
      this.deps.fault?.(error as Error);
      throw new ReportFailedError(`piscina, which runs the report threads, could not be loaded (${describeError(error as Error)}); the next report loads it again`);
    }
    const task: ReportTask = { ...partial, monitorId: this.deps.monitorId, store: this.deps.store, registry: this.deps.registry };
    // The task's port: it says when a thread took the task (the timeout starts there), then
    // reports progress, then says it is done.
    const channel = new MessageChannel();
    task.progress = channel.port2;
    const port = channel.port1;
    const timeout = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const drained = new Promise<void>((resolve) => {
      port.on('message', (m: { started?: true; done: number; total: number; final?: boolean }) => {
        if (m.started) {
          timer = setTimeout(() => timeout.abort(), this.deps.timeoutMs);
          timer.unref();
          onStarted?.();
          return;
        }
        if (m.final) return resolve();
        try {
          onProgress?.(m.done, m.total);
        } catch {
          // a progress listener's error must not fail the report
        }
      });
      port.once('close', resolve);
    });
    const transferList: MessagePort[] = [channel.port2];
    if ((task.kind === 'report' || task.kind === 'baselines') && this.deps.storagePort) {
      const storage = await this.deps.storagePort();
      // The actor down (its successors dying in their start-up): the report covers the memory, and says so.
      if (storage instanceof Error) {
        if (task.kind === 'report') task.notes = [...(task.notes ?? []), `The rollups on disk could not be read (${storage.message}): only the data in memory is included.`];
      } else if (storage) transferList.push((task.storage = storage));
    }
    let started = 0;
    let pool: Piscina<ReportTask, ReportTaskResult>;
    let pending: Promise<ReportTaskResult>;
    try {
      // A task may make a thread: one that does not fit the address space would end the process.
      ({ pool, given: pending } = await this.giveWhenFits(Pool, signal, (fit) => {
        started = monoNow();
        try {
          return this.runHeld(fit, task, { transferList, signal: signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal });
        } catch (error) {
          throw this.threadNotMade(fit, error as Error);
        }
      }));
    } catch (error) {
      port.close();
      task.storage?.close();
      throw error;
    }
    this.running++;
    try {
      const result = await pending;
      await drained;
      if (Number.isFinite(result.cpuMs)) this.cpuMs += result.cpuMs;
      this.heapBytes = result.heapUsed;
      this.deps.onTask?.(partial.kind, monoNow() - started, result.cpuMs, result.heapUsed);
      return result;
    } catch (error) {
      // threadNotMade's, as it is (a task's own errors come from its thread, never this class).
      if (error instanceof ReportFailedError) throw error;
      if (timeout.signal.aborted || signal?.aborted) this.replaceAbortedThread(pool);
      if (timeout.signal.aborted) {
        this.deps.fault?.(new Error(timedOut(partial.kind, this.deps.timeoutMs)), 'report-timeout');
        throw new ReportTimeoutError(this.deps.timeoutMs);
      }
      if (signal?.aborted || (error instanceof Error && error.name === 'AbortError')) throw new ReportAbortedError();
      if (this.closedPools.has(pool)) throw new ReportAbortedError(STOPPED_RULE);
      const failed = this.failedPools.get(pool);
      if (failed) throw new ReportFailedError(`a report thread could not start (${failed.message}); the next report starts another`);
      // At its heap limit the thread ended alone (piscina makes another for the next task): said with the limit and the option.
      const cause = isOutOfMemory(error) && this.deps.heapMb !== undefined ? outOfMemoryMessage('reports', this.deps.heapMb) : error instanceof Error ? error.message : String(error);
      this.deps.fault?.(new Error(taskFailed(partial.kind, cause)), 'report-failed');
      throw new ReportFailedError(cause);
    } finally {
      clearTimeout(timer);
      this.running--;
      port.close();
      task.storage?.close();
    }
  }
}
