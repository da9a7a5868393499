/**
 * The control state's life in the database (storage 'sqlite'): what the features hand over
 * goes through the ControlLog to the storage actor; the first start() reads it back and puts
 * it into the features before the alert actor starts (rules, alert states and history,
 * baselines, the audit log, and the tunables' kept values, set again on their knobs); stop()
 * commits what waits before the actor closes the file; discarding deletes the file.
 */
import { rm } from 'node:fs/promises';
import type { ControlCounts, ControlOp } from '../actors/protocols.js';
import type { AlertPersistence, Alerting } from '../alerts/alerting.js';
import type { Registry } from '../engine/registry.js';
import type { Optimizer, OptimizerDeps } from '../optimizer/optimizer.js';
import type { ReportService } from '../reports/service.js';
import type { Baseline } from '../reports/types.js';
import { countControl, readControlState } from '../storage/control.js';
import type { SqlValue } from '../storage/driver.js';
import { refusalOf } from '../storage/identify.js';
import { acquireLock } from '../storage/lock.js';
import { ControlLog, type ControlLogStatus } from './control-log.js';

/** Audit entries start() reads back (the optimiser keeps this many in memory). */
const AUDIT_KEPT = 1000;
/** How often kept changes that the disk refused are tried again. */
const RETRY_MS = 1000;

/** What a monitor's database holds (PerformanceMonitor.storedData()). */
export interface StoredData extends ControlCounts {
  dataDir: string;
  file: string;
  /** One-minute rollup rows, all series together. */
  rollups: number;
  /** Series in the stored catalog: every series the file has kept, registered in this process or not. */
  series: number;
}

export interface ControlParts {
  alerting: Alerting;
  optimizer: Optimizer;
  reports: ReportService;
  registry: Registry;
  historyLimit: number;
  /** The retention's cutoff (ms): alert transitions older are not restored. */
  since?: number;
}

/** What this needs of the storage link: the file, and the storage actor's commit and query. */
export interface ControlStorage {
  readonly file: string;
  commit(ops: ControlOp[]): Promise<number>;
  query(sql: string, params?: SqlValue[]): Promise<SqlValue[][]>;
}

export class ControlState {
  readonly log: ControlLog;
  private readonly link: ControlStorage;
  private restored = false;
  private parts: ControlParts | undefined;

  /** `visit`: runs its work with the storage open on a stopped monitor (see ControlLogDeps.visit). */
  constructor(link: ControlStorage, fault: (error: unknown) => void, visit?: (work: () => Promise<void>) => Promise<void>) {
    this.link = link;
    this.log = new ControlLog({
      commit: async (ops) => {
        await link.commit(ops);
      },
      path: link.file,
      retryMs: RETRY_MS,
      fault,
      ...(visit ? { visit } : {}),
    });
  }

  /** For Alerting: rule changes acknowledged once committed, transitions kept whatever the disk does. */
  get alerts(): AlertPersistence {
    return { required: (ops, what) => this.log.required(ops, what), kept: (ops) => this.log.kept(ops) };
  }

  /** For the Optimizer: audit entries and kept values, written in the background. */
  readonly optimizer: NonNullable<OptimizerDeps['persist']> = (change) => {
    const op: ControlOp = 'entry' in change ? { op: 'audit', entry: change.entry } : { op: 'put-tunable', name: change.tunable, value: change.value, at: change.at };
    void this.log.kept([op]);
  };

  /** For the ReportService: each baseline learned, written in the background. */
  readonly baseline = (key: string, baseline: Baseline): void => {
    void this.log.kept([{ op: 'put-baseline', key, baseline }]);
  };

  /**
   * The storage actor is up (start(), or later when a start found no room for the database):
   * the first time, the stored state goes into the features; then what waits is committed.
   */
  async open(parts: ControlParts): Promise<void> {
    if (!this.restored) {
      const state = await readControlState((sql, params) => this.link.query(sql, params), { history: parts.historyLimit, audit: AUDIT_KEPT, ...(parts.since !== undefined ? { since: parts.since } : {}) });
      // Transitions made before the stored ones were read (the monitor ran while its database
      // waited for room) are numbered after them; numbered from 1, they were dropped as
      // duplicates of stored rows (INSERT OR IGNORE), and their notes written over those rows.
      this.log.renumber(state.lastTransitionSeq);
      await parts.alerting.restore({ rules: state.rules, alerts: state.alerts, history: state.history, lastSeq: state.lastTransitionSeq, outbox: state.outbox });
      // The series' id, -1 while it is not registered (the oldest stored series are left out at
      // start: src/storage/restore.ts), asked again until it is: one lookup of its key, not a
      // walk over every series as find() is.
      parts.reports.restoreBaselines(state.baselines, (b) => registeredId(parts.registry, b.metric, b.tags));
      await parts.optimizer.restore({ log: state.audit, values: state.tunables });
      this.restored = true;
    }
    this.parts = parts;
    await this.log.opened();
  }

  /**
   * The database file was removed while running and a new one created: everything the
   * features hold goes into it (rules, alert states and the history held, the audit log held,
   * kept values, baselines), as kept changes, retried like any other until the disk takes them.
   */
  rewrite(): void {
    const p = this.parts;
    if (!p) return;
    const now = Date.now();
    const ops: ControlOp[] = [
      ...p.alerting.snapshot(),
      ...p.optimizer.getLog().map((entry): ControlOp => ({ op: 'audit', entry })),
      ...p.optimizer.keptValues().map(({ name, value }): ControlOp => ({ op: 'put-tunable', name, value, at: now })),
      ...[...p.reports.keptBaselines()].map(([key, baseline]): ControlOp => ({ op: 'put-baseline', key, baseline })),
    ];
    void this.log.kept(ops);
  }

  /** While the monitor runs without its database (a start that found no room), why: rule changes are refused meanwhile (ControlLog.refuse); null once it is attached. */
  refuse(why: string | null): void {
    this.log.refuse(why);
  }

  /**
   * stop(): commits what waits, before the storage actor closes the file; `between`: a run on
   * the database ends, and changes made until the next start are committed by visits.
   */
  close(between = false): Promise<boolean> {
    return this.log.close(between);
  }

  /** What the database holds (the storage actor must be up). */
  async counts(): Promise<ControlCounts & { rollups: number; series: number }> {
    const query = (sql: string, params?: SqlValue[]) => this.link.query(sql, params);
    const [counts, rollups, series] = await Promise.all([countControl(query), query('SELECT count(*) FROM rollups'), query('SELECT count(*) FROM series')]);
    return { ...counts, rollups: Number(rollups[0]?.[0] ?? 0), series: Number(series[0]?.[0] ?? 0) };
  }

  status(): ControlLogStatus {
    return this.log.status();
  }
}

/** The id of a series registered, -1 for one that is not (or whose name or tags this monitor's limits refuse now). */
function registeredId(registry: Registry, name: string, tags: Record<string, string>): number {
  try {
    const found = registry.prepare(name, tags, undefined, true);
    return typeof found === 'number' ? found : -1;
  } catch {
    return -1;
  }
}

/**
 * Deletes the database file with its WAL and shared-memory files, under the dataDir's lock (no
 * monitor may own it meanwhile). A file that is not perfwatch's (another application's, or no
 * database: a monitor whose start refused it) is left, and said so (StorageError).
 */
export async function deleteDatabase(dir: string, file: string): Promise<void> {
  const refusal = refusalOf(file, Infinity);
  if (refusal) throw refusal;
  const lock = await acquireLock(dir);
  try {
    await Promise.all(['', '-wal', '-shm'].map((suffix) => rm(`${file}${suffix}`, { force: true })));
  } finally {
    await lock.release();
  }
}
