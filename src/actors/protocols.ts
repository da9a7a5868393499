/**
 * The messages between the threads, in one place: what each actor is started with (its
 * workerData), the comlink API it exposes to the coordinator, what it sends back, and the
 * watchdog thread's requests and events. The samples themselves never travel as messages:
 * they cross threads in the shared buffers these messages carry (rings, registry, store,
 * control block).
 *
 * Types only. An actor's messages name the data that crosses with them, so this module reads
 * the alert rule, report and optimisation audit types of the features whose actors it describes (see the
 * dependency rules in .dependency-cruiser.cjs).
 */
import type { MessagePort } from 'node:worker_threads';
import type { OutboxOp, OutboxRow } from '../alerts/outbox.js';
import type { Alert, AlertRule, AlertTransition } from '../alerts/schema.js';
import type { Watched, WatchedSpan } from '../analysis/watched.js';
import type { RegistryBuffers } from '../engine/registry.js';
import type { StoreBuffers } from '../engine/store/layout.js';
import type { AppliedBuckets } from '../engine/engine.js';
import type { SourceCost } from '../engine/system.js';
import type { OptimizationLogEntry } from '../optimizer/optimization.js';
import type { CaptureNote } from '../profiling/schema.js';
import type { Baseline, PerformanceReport, ReportFormat } from '../reports/types.js';
import type { SqlValue } from '../storage/driver.js';
import type { HistoryRequest, StoredRollups } from '../storage/rollups.js';
import type { PackedHistories } from '../storage/histories.js';
import type { HubSeq } from '../storage/hub-seqs.js';
import type { CatalogRestore } from '../storage/restore.js';
import type { StorageStatus } from '../storage/service.js';
import type { ExporterStatus } from '../export/endpoint.js';
import type { ExportConfig } from '../export/service.js';

// The collector actor (workers/collector.ts).

export interface CollectorData {
  /** The comlink port to the coordinator (added by the watchdog). */
  port?: MessagePort;
  control: SharedArrayBuffer;
  registry: RegistryBuffers;
  store: StoreBuffers;
  rings: SharedArrayBuffer[];
  intervalMs: number;
  system: { enabled: boolean; diskPaths?: string[]; slowCadenceMs: number };
}

/** The system sampler as status() shows it: on or off, how it reads, what each source costs. */
export interface SystemInfo {
  enabled: boolean;
  platform: string;
  /** Why some system series are not read and what would read them (the permission model's); null when all are. */
  note: string | null;
  mounts: string[];
  sources: SourceCost[];
}

export interface CollectorInfo {
  rings: number;
  openSeries: number;
  freeSketchPages: number;
  system: SystemInfo;
}

export type Fault = 'throw' | 'exit' | 'hang';

export interface CollectorApi {
  ready(): number;
  addRing(ring: SharedArrayBuffer): void;
  /** Adds the rings it does not drain yet (a successor gets the ones handed out meanwhile). */
  addRings(rings: SharedArrayBuffer[]): void;
  flush(): Promise<number>;
  info(): CollectorInfo;
  stop(): Promise<void>;
  /** Test hook: fail the way a buggy or stuck actor would. */
  injectFault(fault: Fault): void;
  /** This thread's CPU time and heap, and its sampling cadences (the overhead budget reads them). */
  usage(): CollectorUsage;
  /**
   * Samples the system every `systemMs` (rounded up to whole intervals) instead of every
   * interval, and runs the slow sources (the search for mounts, and off Linux those that spawn processes) every `slowMs`: the overhead budget's
   * back-off and the system-cadence tunable. A restarted collector starts at the defaults.
   */
  setSystemCadence(systemMs: number, slowMs?: number): void;
  /** Adds a hub's member buckets into the store (Engine.applyBuckets); returns how many. */
  applyBuckets(batch: AppliedBuckets): number;
}

export interface CollectorUsage {
  /** The collector's threadId (a restarted collector is a new thread, with a new clock). */
  thread: number;
  cpuMs: number;
  heapUsed: number;
  systemCadenceMs: number;
  slowCadenceMs: number;
  /** Calls made so far by the sources that spawn processes. */
  spawnCalls: number;
  /** Time spent so far in system sources (the part of the collector's work a back-off reduces). */
  samplingMs: number;
  /** Mean time of one sampling pass over those sources. */
  samplePassMs: number;
}

// The alert actor (workers/alerts.ts).

export interface AlertActorData {
  /** The comlink port to the coordinator (added by the watchdog). */
  port?: MessagePort;
  control: SharedArrayBuffer;
  registry: RegistryBuffers;
  store: StoreBuffers;
  /** Per series id, the raw head `last` rules judged (f64, NaN: never): see AlertEvaluator. */
  progress: SharedArrayBuffer;
  intervalMs: number;
  /** When the monitor first started (ms): a restored alert is not cleared by a window reaching back before it. */
  watchedFrom: number;
  /** This run and the monitor's runs before it: window rules' `rate` is per second of the part of the window they cover. */
  watched: Watched;
}

/** What the actor reports after a round: transitions, and the latest value of active alerts. */
export interface AlertBatch {
  transitions: AlertTransition[];
  values: [fingerprint: string, value: number][];
}

export type AlertSink = (batch: AlertBatch) => void;

export interface AlertActorApi {
  ready(): number;
  subscribe(sink: AlertSink): void;
  load(rules: AlertRule[], alerts: Alert[]): void;
  /** These three answer once the coordinator has taken the transitions they made (its sink answered). */
  addRule(rule: AlertRule): Promise<void>;
  deleteRule(id: string): Promise<boolean>;
  resolve(fingerprint: string): Promise<boolean>;
  /** When the monitor watched, as it is once records are accepted (AlertActorData's `watched` is handed before). */
  watch(watched: Watched): void;
  stop(): Promise<void>;
  /** 'hang': a busy loop of 60 s, its beat stopped, for the watchdog to declare it hung. */
  injectFault(fault: Fault): void;
}

// The storage actor (workers/storage.ts over src/storage/service.ts).

export interface StorageActorData {
  /** The comlink port to the coordinator (added by the watchdog). */
  port?: MessagePort;
  /** This instance's generation, which its native gate (STORAGE_GATE) is opened for (added by the watchdog). */
  gen?: number;
  control: SharedArrayBuffer;
  registry: RegistryBuffers;
  store: StoreBuffers;
  /** The database file (in dataDir, which the coordinator created and locked). */
  file: string;
  retentionMs: number;
  /** Flush cadence: the most a SIGKILL can lose of what the collector drained. */
  flushMs: number;
  /** When this process's monitor first started, once known (StorageActorApi.setRun); a successor of a dead actor is handed it here. */
  runFrom?: number;
  /**
   * The coordinator drives the flushes (a hub on this database: flushSeqs between its applies,
   * docs/cluster.md); the actor does not flush on its own timer, only beats, nor at its stop
   * (the last flush is the hub's too: StorageLink.stop).
   */
  driven?: boolean;
}

/** What the actor reports on its own: its status after each flush, a write that failed, the first flush that succeeded after, and a new file created where the old one was removed. */
export type StorageEvent = { ev: 'flushed'; status: StorageStatus } | { ev: 'error'; message: string } | { ev: 'recovered' } | { ev: 'reopened' };

export type StorageSink = (event: StorageEvent) => void;

/**
 * The storage actor owns the database; every other thread reaches it through these calls
 * and never touches the disk itself.
 *
 * - `opened()`: null once the database is open and migrated, else the StorageError's path and
 *   rule (the coordinator's start() then fails with it). Ask it first.
 * - `commit(ops)`: runs the control state's changes in ONE transaction and resolves with the
 *   rows changed once it is committed (durable against a crash of the process: WAL,
 *   synchronous=NORMAL); rejects with SQLite's error, rolled back, when it cannot be (full
 *   disk, …). This is how other modules persist their state: acknowledge a change only after
 *   `commit` resolved. The actor turns each change into its statements (src/storage/control.ts:
 *   msgpack bodies, statements prepared once per SQL text): the host's thread posts the
 *   changes as they are, and an alert storm's batch of thousands of transitions costs it their
 *   copy alone, not their encoding and the copy of a 2 KiB buffer for each. Tables come from
 *   migrations appended to MIGRATIONS in src/storage/schema.ts.
 * - `query(sql, params)`: rows of a read-only statement, each an array in column order
 *   (restoring state on start).
 * - `flush()`: writes the store's new rollups now, the open minutes as rows and the journal
 *   emptied (every `flushMs` the actor flushes on its own, the open minutes to the journal:
 *   src/storage/journal.ts); resolves with whether it committed.
 * - `flushSeqs(seqs, last)`: a flush (`last`: as flush()) that writes a hub's members' numbers
 *   in its transaction (src/storage/hub-seqs.ts); a hub calls it between its applies.
 * - `history(name, tags, from, to, hourly)`: stored rollups of one series with from <= start < to;
 *   with `hourly`, whole hours from the hourly tier where it has them (RollupTable.read).
 * - `histories(requests)`: `history` for many series at once (a report's), in request order, as one
 *   set of columns (src/storage/histories.ts): a reply that transfers a few buffers, not nine a series.
 * - `storedIn(requests)`: 1 where a request's series has stored rows in its range, else 0, in
 *   request order: which series a page of a history passes over count, without their rows.
 * - `serve(port)`: answers these calls on another port too: a report pool thread reads the
 *   stored rollups straight from the actor, not through the host's thread.
 * - `restoreCatalog()`: registers the series on disk again, newest first, leaving room for
 *   the live ones (for start(), on this thread: src/storage/restore.ts); how many it left
 *   out, and how many could not be registered, and why.
 * - `storedOnly(name, match)`: the tags of the stored series of a name, matching, that the
 *   registry does not hold (those left out): a history reads them from the file alone.
 * - `storedUntil()`: the newest time the file's data reaches in the monitor's clock, or
 *   -Infinity (src/storage/stored-until.ts): start() begins the clock no earlier.
 * - `setRun(from)`: when this process's monitor first started; each flush from then on writes
 *   its run, to the flush's time (src/storage/watched-runs.ts).
 * - `runs(from, to)`: the runs that wrote the file and overlap [from, to), oldest first: the
 *   time earlier processes watched, which a report's rates divide by (src/analysis/watched.ts).
 * - `status()`, `subscribe(sink)` (errors and recoveries as they happen), `stop()` (a last
 *   flush, then close).
 */
export interface StorageActorApi {
  ready(): number;
  opened(): { path: string; rule: string } | null;
  subscribe(sink: StorageSink): void;
  commit(ops: ControlOp[]): number;
  query(sql: string, params?: SqlValue[]): SqlValue[][];
  flush(): boolean;
  flushSeqs(seqs: HubSeq[], last: boolean): boolean;
  history(name: string, tags: Record<string, string>, from: number, to: number, hourly?: boolean): StoredRollups | null;
  histories(requests: HistoryRequest[]): PackedHistories;
  storedIn(requests: HistoryRequest[]): Uint8Array;
  serve(port: MessagePort): void;
  restoreCatalog(): CatalogRestore;
  storedOnly(name: string, match?: Record<string, string>): Record<string, string>[];
  storedUntil(): number;
  setRun(from: number): void;
  runs(from: number, to: number): WatchedSpan[];
  status(): StorageStatus | null;
  stop(): Promise<void>;
  /**
   * 'exit': the thread exits; 'hang': it runs SQLite statements back to back and beats no
   * more, as a flush on a disk that crawls; 'stall': one statement that runs for seconds, as a
   * write to a disk that hangs.
   */
  injectFault(fault: 'exit' | 'hang' | 'stall'): void;
}

export type { HistoryRequest } from '../storage/rollups.js';

// The exporter actor (workers/exporter.ts over src/export/service.ts).

export interface ExporterData {
  /** The comlink port to the coordinator (added by the watchdog). */
  port?: MessagePort;
  control: SharedArrayBuffer;
  registry: RegistryBuffers;
  store: StoreBuffers;
  config: ExportConfig;
  /** When the monitor first started: the start of OTLP's cumulative points. */
  startedAt: number;
  /** The histograms folded so far, kept past each actor (analysis/fold-share.ts). */
  folds: SharedArrayBuffer;
  /**
   * The same, to the first exporter of the monitor's first start alone: its remote_write
   * counters go out first with a 0, the reset Prometheus sees when the process restarted
   * (export/remote-write.ts). A successor actor's or a later start's counts go on.
   */
  resetFrom?: number;
}

/** The endpoints' counts, and which actor counted them (a successor counts from zero). */
export interface ExporterReport {
  thread: number;
  /** The actor thread's CPU time (ms) so far. */
  cpuMs: number;
  exporters: ExporterStatus[];
}

/**
 * The exporter actor reads the store and pushes it to remote_write and OTLP endpoints.
 * - `status()`: per endpoint, in the order of the options (remoteWrite, then otlp).
 * - `exportNow()`: every endpoint exports now; resolves once each queue is empty or waits
 *   for a retry (tests, and a flush before a planned stop).
 * - `stop()`: a last export, given a short grace to go out.
 */
export interface ExporterApi {
  ready(): number;
  status(): ExporterReport;
  exportNow(): Promise<ExporterReport>;
  /** The last export (ExportService.stop), then the counts it leaves; stop() after it only ends the actor. */
  finish(): Promise<ExporterReport>;
  stop(): Promise<void>;
  injectFault(fault: 'throw' | 'exit'): void;
}

// A report pool task (workers/reports.ts).

export interface ReportTask {
  /** 'hang' is a drill (ReportService.hang): a task that never ends; 'noop' starts a thread (see ReportService). */
  kind: 'report' | 'baselines' | 'hang' | 'noop';
  monitorId: string;
  store: StoreBuffers;
  registry: RegistryBuffers;
  now: number;
  from?: number;
  to?: number;
  includeAlerts?: boolean;
  includeRecommendations?: boolean;
  alertHistory?: AlertTransition[];
  alertHistoryAvailable?: boolean;
  /** Notes of the profile captures in the range (evidence for the diagnoses). */
  profiles?: CaptureNote[];
  format?: ReportFormat;
  /** When the monitor watched (see src/analysis/watched.ts). */
  watched?: Watched;
  /** The monitor is a hub: its members' series (tagged instance) repeat the samples of the cluster-wide ones. */
  hub?: boolean;
  /** Notes the coordinator adds to the report (the stored series the start left out). */
  notes?: string[];
  progress?: MessagePort;
  /** A port the storage actor answers on (StorageActorApi), when the monitor has a database. */
  storage?: MessagePort;
  /** The series whose baselines a 'baselines' task learns, in this order. */
  ids?: number[];
}

export interface ReportTaskResult {
  report?: PerformanceReport;
  rendered?: string;
  baselines?: Baseline[];
  /** CPU time of this thread for the task (NaN off Linux), and its heap after it. */
  cpuMs: number;
  heapUsed: number;
}

// The watchdog thread (src/actors/watchdog.ts, workers/watchdog.ts).

export interface BeatCells {
  control: SharedArrayBuffer;
  /** f64 index of the actor's clock (its last beat) and of its promise (next beat by). */
  at: number;
  by: number;
  /** f64 index of the actor's Linux thread id, which it stores as it starts (0: unknown). */
  tid: number;
  /**
   * i32 index of the gate around its calls into native code that a termination must not land
   * in (src/actors/native-gate.ts): the storage actor's. Each instance is given `gen` in its
   * workerData, the generation the gate was opened for.
   */
  gate?: number;
}

export type WatchdogRequest =
  /**
   * `restarts` and `downSince` (wall clock): an actor taken over from a watchdog that died,
   * down since then, whose count of replacements goes on, and whose first beat is an 'up'.
   */
  | { op: 'start'; actor: string; url: string; data: object; beat: BeatCells; restarts?: number; downSince?: number; heapMb?: number }
  | { op: 'data'; actor: string; data: object }
  | { op: 'retire'; actor: string }
  | { op: 'terminate'; actor: string }
  | { op: 'kill'; actor: string };

export type WatchdogEvent =
  | { ev: 'instance'; actor: string; gen: number; port: MessagePort }
  /**
   * `downMs`, only for an instance that ended before its first beat while the actor was down
   * from an earlier exit (a restart that ended before it started): how long it has been down.
   */
  | { ev: 'exit'; actor: string; gen: number; code: number; error: string | null; hung: boolean; expected: boolean; restarts: number; at: number; downMs?: number }
  | { ev: 'up'; actor: string; gen: number; at: number; downMs: number; restarts: number }
  /** An instance to be terminated has been in one call into native code for `ms` (its gate not shut yet: native-gate.ts). */
  | { ev: 'stuck'; actor: string; gen: number; ms: number };

// The control state the storage actor keeps beside the rollups (src/storage/control.ts).

/**
 * One change of the control state. A commit applies a list of them in one transaction, in
 * order: a rule's creation, an alert's transition and its new state go in together.
 */
export type ControlOp =
  | { op: 'put-rule'; rule: AlertRule }
  | { op: 'delete-rule'; id: string }
  /** `seq` numbers the transitions in order; a commit retried after an actor's crash does not add one twice. */
  | { op: 'transition'; seq: number; transition: AlertTransition }
  /** The transition numbered `seq` again, now with a capture's note (see Alerting.attachProfile). */
  | { op: 'annotate-transition'; seq: number; transition: AlertTransition }
  | { op: 'put-alert'; alert: Alert }
  | { op: 'delete-alert'; fingerprint: string }
  | { op: 'put-baseline'; key: string; baseline: Baseline }
  | { op: 'audit'; entry: OptimizationLogEntry }
  | { op: 'put-tunable'; name: string; value: number; at: number }
  | OutboxOp;

/** What start() restores: the newest `historyLimit` transitions and `auditLimit` audit entries, oldest first. */
export interface ControlState {
  rules: AlertRule[];
  alerts: Alert[];
  history: AlertTransition[];
  baselines: Baseline[];
  audit: OptimizationLogEntry[];
  tunables: { name: string; value: number; at: number }[];
  /** The seq of the newest transition stored (0: none). */
  lastTransitionSeq: number;
  /** The notifier's deliveries not ended and held resolutions (src/alerts/outbox.ts). */
  outbox: OutboxRow[];
}

/** Rows of each part of the control state on disk (what preserve_data false discards). */
export interface ControlCounts {
  rules: number;
  transitions: number;
  alerts: number;
  baselines: number;
  auditEntries: number;
  tunables: number;
}
