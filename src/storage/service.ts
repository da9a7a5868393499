/**
 * What the storage actor does, without the thread around it (workers/storage.ts is the
 * shell): opens the database, flushes the store's rollups on a cadence, runs other modules'
 * writes in transactions of their own (commit), applies retention, answers history reads
 * and reports its state. Time comes from `clock`, so tests drive it.
 *
 * Faults: a flush or commit that fails (a full disk, an I/O error) rolls back and is
 * reported through `onError`; the data stays in the shared store and the next flush retries
 * it, so recording never stops. A database file removed while open is noticed at the next
 * flush (its inode changed or vanished) and created again (its directory too, if that went),
 * and everything the store still holds is written to it. The dataDir's lock file is checked
 * at the same moments: one removed with the directory is made again before the new database,
 * and one that another monitor made meanwhile (it took the directory) stops this one from
 * writing there, as a fault, until that monitor lets the directory go.
 */
import { fstatSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { makeDirsSync } from '../make-dirs.js';
import { PRIVATE_DIR_MODE } from '../private-files.js';
import type { Registry } from '../engine/registry.js';
import type { StoreReader } from '../engine/store/reader.js';
import type { Db, SqlValue, Statement } from './driver.js';
import { SketchAccumulator } from '../engine/sketch.js';
import { writeHubSeqs, type HubSeq } from './hub-seqs.js';
import { foldJournal } from './journal.js';
import { LOCK_FILE, claimLockSync, closeLockSync, lockedBy } from './lock.js';
import { Persister } from './persister.js';
import { RollupTable, type HistoryRequest, type StoredRollups } from './rollups.js';
import { leftOutSeries, restoreCatalog, type CatalogRestore } from './restore.js';
import { DAMAGED_WRITE, damaged, openSchema, unusable } from './schema.js';
import { WRITE_STORED_UNTIL, readStoredUntil } from './stored-until.js';
import { TRANSITIONS_KEPT } from './transitions-kept.js';
import { DELETE_RUNS_BEFORE, READ_RUNS, WRITE_RUN, runsOf } from './watched-runs.js';
import type { WatchedSpan } from '../analysis/watched.js';

/** A write another module asks for: one statement and its parameters. */
export interface StorageOp {
  sql: string;
  params?: SqlValue[];
}

/** Minute rows older than this are written (a minute still open has no row yet, and its first is written after it closes): counted once, not at each flush. */
const ROWS_SETTLED_MS = 2 * 60_000;

export interface StorageStatus {
  file: string;
  /** Bytes of the database file and its WAL. */
  fileBytes: number;
  /** Start (ms) of the oldest rollup kept, or null. */
  oldestData: number | null;
  /**
   * Minute rows on disk as of the last flush: counted whole when retention runs (at the first
   * flush after start, then hourly; a scan, a second over 43M rows, too slow for every flush),
   * and at each flush between, those older than that count plus those written since (a range
   * of the start index). Null before the first flush.
   */
  rows: number | null;
  /** When the last flush committed (ms), when it began reading the store (all drained before is in it), and what it wrote. */
  lastFlushAt: number | null;
  lastFlushStartedAt: number | null;
  lastFlushRows: number;
  flushes: number;
  failures: number;
  /** The last error, until a flush succeeds after it. */
  lastError: { message: string; at: number } | null;
  retentionMs: number;
  /** The cutoff (ms) of the last retention pass: alert transitions and audit entries older than it are deleted (null before the first). */
  retainedBefore: number | null;
  /** The hourly tier's backlog: hours marked to build (the open hour included), and series still catching up after a start (null before the first flush). */
  hourlyPending: { hours: number; series: number | null };
  /** Journal blobs a process before left that could not be read when they were folded (their samples are lost), and what was said of them; null when none. */
  journalLost: { blobs: number; at: number; message: string } | null;
  /**
   * Minute rollups the store overwrote before a flush could write them (flushes failing for
   * longer than `rollupCapacity` minutes), missing from the stored history: how many the last
   * flush that found some found, when, and what was said (the monitor sums them); null when none.
   */
  rollupsLost: { rollups: number; at: number; message: string } | null;
  /**
   * The database file was gone (removed, or replaced by another) and this actor created it
   * again, with what the monitor holds in memory: when, and what was said (the history the
   * file held from before is lost); null when it never was.
   */
  recreated: { at: number; message: string } | null;
}

export interface StorageServiceOptions {
  file: string;
  registry: Registry;
  reader: StoreReader;
  retentionMs: number;
  clock?: () => number;
  onError?: (message: string) => void;
  onRecover?: () => void;
  /** The file was removed (or replaced) and a new one created: its owner writes its control state again. */
  onReopen?: () => void;
  /** Expired rows deleted per transaction (RETENTION_CHUNK_ROWS). */
  retentionChunkRows?: number;
  /** Series left without rows forgotten per transaction (FORGET_CHUNK_SERIES). */
  forgetChunkSeries?: number;
  /** Alert transitions kept at most (TRANSITIONS_KEPT). */
  transitionsKept?: number;
}


/** How often retention runs. */
export const RETENTION_EVERY_MS = 3_600_000;

/**
 * Expired rows deleted per transaction. After a long downtime the backlog is millions of rows
 * (14 hours of 1,000 series held the actor 29 s in one transaction); in chunks, the actor
 * answers reads and flushes between them.
 */
export const RETENTION_CHUNK_ROWS = 50_000;

/**
 * Series forgotten per transaction once retention left them without a row (a series is an
 * entry of the catalog's unique index: 50,000 took 0.6 s in one transaction here, this many
 * about 60 ms).
 */
export const FORGET_CHUNK_SERIES = 5_000;

export class StorageService {
  private readonly o: StorageServiceOptions;
  private readonly clock: () => number;
  private db: Db;
  private table: RollupTable;
  private persister: Persister;
  private inode: number;
  private readonly statements = new Map<string, Statement>();
  private lastFlushAt: number | null = null;
  private lastFlushStartedAt: number | null = null;
  private lastFlushRows = 0;
  private flushes = 0;
  private failures = 0;
  private lastError: { message: string; at: number } | null = null;
  private nextRetention = -Infinity;
  /** A retention chunk waits for the next turn of the loop. */
  private retentionQueued = false;
  private closed = false;
  private rows: number | null = null;
  /**
   * The minute rows that start before `rowsFrom`, counted at the last retention pass; a flush
   * adds those from `rowsFrom` on. `rows` was the count of that pass alone: 0 after a pass
   * that found everything expired, while the flushes since wrote rows (a trial: 0 of 41).
   * Each flush moves `rowsFrom` up to two minutes back (ROWS_SETTLED_MS), adding the rows it
   * passes to `rowsBefore`, so that its count is a range of a few minutes' rows: counted from
   * the retention pass on, it ranged over up to an hour's rows (600,000 at 10,000 series).
   */
  private rowsBefore = 0;
  private rowsFrom = Infinity;
  private retainedBefore: number | null = null;
  /** Whether the journal an earlier process left has been folded into rows. */
  private folded = false;
  private journalLost: StorageStatus['journalLost'] = null;
  private rollupsLost: StorageStatus['rollupsLost'] = null;
  private recreated: StorageStatus['recreated'] = null;
  /** How far the file's data reaches in the monitor's clock (stored-until.ts): read at open, then the newest flush's time. */
  private until = -Infinity;
  /** When the monitor's current run started (setRun), or NaN before it is known. */
  private runFrom = Number.NaN;
  /** The dataDir's lock file, its inode when this monitor holds it (-1: there was none to keep, as for a bare file), and the descriptor of one made again here. */
  private readonly lockFile: string;
  private lockIno: number;
  private lockFd: number | undefined;

  /** Opens the database (throws StorageError when it cannot be used). */
  constructor(options: StorageServiceOptions) {
    this.o = options;
    this.clock = options.clock ?? Date.now;
    // Taken by the coordinator before this actor started (lock.ts); a bare file has none.
    this.lockFile = join(dirname(options.file), LOCK_FILE);
    this.lockIno = inodeOf(this.lockFile);
    this.db = openSchema(options.file);
    // A damaged file (SQLITE_CORRUPT, SQLITE_NOTADB) met by the start's first reads and its fold
    // fails start() as the file's fault, naming it and what to do (schema.ts unusable): it failed
    // as "cannot be opened: database disk image is malformed", with no advice. The fold's
    // transaction rolls back, so the file is as it was.
    try {
      this.table = new RollupTable(this.db);
      // What a killed process (or actor) left in the journal becomes rows before anything
      // reads. A disk too full for those rows does not stop the start: the fault is reported,
      // and each flush tries the fold again before it writes anything.
      try {
        this.foldLeft();
      } catch (error) {
        if (damaged(error)) throw error;
        this.fail(error);
      }
      try {
        this.until = readStoredUntil(this.db);
      } catch {
        // A file damaged this far gives none: the clock starts on the wall clock, and the first
        // flush that meets the damage says so.
      }
      this.persister = new Persister(options.registry, options.reader, this.table);
    } catch (error) {
      this.db.close();
      throw damaged(error) ? unusable(options.file, error) : error;
    }
    this.inode = inodeOf(options.file);
  }

  /** The newest time (ms) the file's data reaches, or -Infinity (stored-until.ts). */
  storedUntil(): number {
    return this.until;
  }

  /** When this process's monitor first started (its run, watched-runs.ts), written from the next flush on. */
  setRun(from: number): void {
    this.runFrom = from;
  }

  /** The runs that wrote the file and overlap [from, to), oldest first (watched-runs.ts). */
  runs(from: number, to: number): WatchedSpan[] {
    return runsOf(this.statement(READ_RUNS).all([from, to]));
  }

  /** Folds what an earlier process left in the journal into rows, once (foldJournal). */
  private foldLeft(): void {
    if (this.folded) return;
    const fold = this.db.transaction(() => foldJournal(this.db, this.table, new SketchAccumulator(), this.clock()));
    this.folded = true;
    // What the damaged blobs held is gone with them: said (status, and a fault the coordinator
    // reports when it sees the count), where it was left out without a word.
    if (fold.damaged > 0) {
      const blobs = fold.damaged === 1 ? 'blob' : 'blobs';
      this.journalLost = {
        blobs: fold.damaged,
        at: this.clock(),
        message: `${this.o.file}: ${fold.damaged} of the ${fold.blobs} journal ${blobs} a process before left could not be read (damaged, cut short) and ${fold.damaged === 1 ? 'was' : 'were'} deleted: the samples ${fold.damaged === 1 ? 'it' : 'they'} held, of minutes that process had not closed, are lost; the rest of the journal is in rows`,
      };
    }
  }

  /**
   * Writes the store's new data (see Persister); `last` (stop): the open minutes as rows;
   * `seqs`: a hub's members' numbers, in the same transaction (hub-seqs.ts). Never throws:
   * failures are reported and retried next time.
   */
  flush(last = false, seqs?: readonly HubSeq[]): boolean {
    return this.guard(() => {
      const began = this.clock();
      this.reopenIfGone();
      // Before anything empties the journal (a last flush does): what it holds is not in the store.
      this.foldLeft();
      const { rows, lost } = this.persister.flush(began, last, () => {
        // How far the data reaches, for the clock of the next monitor on the file
        // (stored-until.ts): read after the store, so that no sample written is later.
        this.until = Math.max(this.until, this.clock());
        this.statement(WRITE_STORED_UNTIL).run([this.until]);
        // This process's run goes on to here (watched-runs.ts).
        if (Number.isFinite(this.runFrom)) this.statement(WRITE_RUN).run([this.runFrom, Math.max(this.runFrom, this.until)]);
        if (seqs) writeHubSeqs(this.db, seqs);
      });
      this.lastFlushAt = this.clock();
      if (lost.rollups > 0) {
        const capacity = this.o.reader.layout.t2Cap;
        this.rollupsLost = {
          rollups: lost.rollups,
          at: this.lastFlushAt,
          message: `${lost.rollups} minute ${lost.rollups === 1 ? 'rollup' : 'rollups'} of ${lost.series} series could not be written: the store keeps ${capacity} a series in memory (rollupCapacity), and flushes failed for longer than that; those minutes are missing from the stored history`,
        };
      }
      this.lastFlushStartedAt = began;
      this.lastFlushRows = rows;
      this.flushes++;
      if (this.rows !== null) {
        const settled = this.clock() - ROWS_SETTLED_MS;
        if (settled > this.rowsFrom) {
          this.rowsBefore += this.table.rowsBetween(this.rowsFrom, settled);
          this.rowsFrom = settled;
        }
        this.rows = this.rowsBefore + this.table.rowsFrom(this.rowsFrom);
      }
      // Seqs are consecutive: one range of the primary key, rows or none (TRANSITIONS_KEPT).
      this.statement('DELETE FROM alert_transition WHERE seq <= (SELECT max(seq) FROM alert_transition) - ?').run([this.o.transitionsKept ?? TRANSITIONS_KEPT]);
      if (this.clock() >= this.nextRetention) this.retain();
    });
  }

  /** Runs `ops` in one transaction; resolves once committed (throws what SQLite threw). */
  commit(ops: readonly StorageOp[]): number {
    this.reopenIfGone();
    try {
      return this.db.transaction(() => {
        let changes = 0;
        for (const op of ops) changes += this.statement(op.sql).run(op.params ?? []).changes;
        return changes;
      });
    } catch (error) {
      this.fail(error);
      throw error;
    }
  }

  /** Rows of a read-only statement. */
  query(sql: string, params: SqlValue[] = []): SqlValue[][] {
    return this.statement(sql).all(params);
  }

  /** Registers the stored catalog, the newest series first, leaving room for the live ones (restore.ts). */
  restoreCatalog(): CatalogRestore {
    return restoreCatalog(this.o.registry, this.table.catalog());
  }

  /** The stored series of `name` whose tags include `match` that the registry does not hold (restore.ts leftOutSeries). */
  storedOnly(name: string, match?: Record<string, string>): Record<string, string>[] {
    return leftOutSeries(this.o.registry, name, this.table.tagsOf(name), match);
  }

  history(name: string, tags: Record<string, string>, from: number, to: number, hourly = false): StoredRollups | null {
    return this.table.read(name, tags, from, to, hourly);
  }

  /** 1 where request i's series has stored rows in its range (history() would answer some), else 0. */
  storedIn(requests: readonly HistoryRequest[]): Uint8Array {
    return Uint8Array.from(requests, (r) => (this.table.has(r.name, r.tags, r.from, r.to, r.hourly) ? 1 : 0));
  }

  /**
   * Reads a long history once, so that the first one asked for after a start does not pay
   * for compiling the read and decode paths and for loading the hourly tier's pages: the
   * hourly rows of the last 30 days of the series with the newest one (hourly rows only: a
   * file whose tier is still being built would otherwise have it read 43,200 minutes).
   * Returns the rows read.
   */
  warm(): number {
    const row = this.statement('SELECT series FROM hourly ORDER BY rowid DESC LIMIT 1').all()[0];
    if (!row) return 0;
    const now = this.clock();
    return this.table.hours(Number(row[0]), now - 30 * 86_400_000, now + 1).start.length;
  }

  /**
   * Deletes what is older than the retention (rollups, minute and hourly; alert transitions;
   * optimisation audit entries) and hands the freed pages back to the file system. Returns the
   * rows deleted.
   */
  retain(): number {
    const cutoff = this.clock() - this.o.retentionMs;
    let more = false;
    const deleted = this.db.transaction(() => {
      const old = this.table.deleteBefore(cutoff, this.o.retentionChunkRows ?? RETENTION_CHUNK_ROWS);
      more = old.more;
      // A run that ended before the cutoff watched nothing kept (a few rows: not counted).
      this.statement(DELETE_RUNS_BEFORE).run([cutoff]);
      return old.rows + this.statement('DELETE FROM alert_transition WHERE at < ?').run([cutoff]).changes + this.statement('DELETE FROM optimization_log WHERE at < ?').run([cutoff]).changes;
    });
    // Said in status: the coordinator drops the transitions it holds from before it (StorageLink.learn).
    this.retainedBefore = cutoff;
    if (deleted > 0) this.db.exec('PRAGMA incremental_vacuum');
    // Once the rows are gone, the series they leave empty, a chunk a turn as well.
    if (!more) more = this.forgetEmptySeries();
    if (more) {
      // The next chunk on a later turn of the actor's loop (and at the next flush, should
      // that turn fail): reads and flushes waiting meanwhile go first.
      this.nextRetention = this.clock();
      if (!this.retentionQueued) {
        this.retentionQueued = true;
        setImmediate(() => {
          this.retentionQueued = false;
          if (!this.closed) this.guard(() => this.retain());
        });
      }
      return deleted;
    }
    // From two minutes back: a minute still open has no row yet, and its first is counted then.
    this.rowsFrom = this.clock() - ROWS_SETTLED_MS;
    this.rows = this.table.rows();
    this.rowsBefore = this.rows - this.table.rowsFrom(this.rowsFrom);
    this.nextRetention = this.clock() + RETENTION_EVERY_MS;
    return deleted;
  }

  /**
   * Deletes the catalog's series that retention left without a row, once its pass is done. A
   * series stays in the catalog while it has rows, and every start registers the catalog:
   * kept for good, a service whose tags change (pods, hosts, versions) had the series of
   * every deploy registered at each start, and once they filled maxSeries its new series were
   * refused. The series this actor writes to are kept (their ids are held). At most
   * FORGET_CHUNK_SERIES a transaction; returns whether more may be left.
   */
  private forgetEmptySeries(): boolean {
    const inUse = this.persister.seriesInUse();
    const empty = this.statement('SELECT id, name, tags FROM series s WHERE NOT EXISTS (SELECT 1 FROM rollups WHERE series = s.id) AND NOT EXISTS (SELECT 1 FROM hourly WHERE series = s.id)')
      .all()
      .filter((row) => !inUse.has(Number(row[0])));
    if (empty.length === 0) return false;
    const remove = this.statement('DELETE FROM series WHERE id = ?');
    // Its baseline too: kept, every series a service ever had (a user id, a pod in a tag) left
    // one, all read again at each start.
    const removeBaseline = this.statement('DELETE FROM baseline WHERE name = ? AND tags = ?');
    const chunk = empty.slice(0, this.o.forgetChunkSeries ?? FORGET_CHUNK_SERIES);
    this.db.transaction(() => {
      for (const [id, name, tags] of chunk) {
        remove.run([id!]);
        removeBaseline.run([name!, tags!]);
      }
    });
    return chunk.length < empty.length;
  }

  status(): StorageStatus {
    let fileBytes = 0;
    for (const f of [this.o.file, `${this.o.file}-wal`]) {
      try {
        fileBytes += statSync(f).size;
      } catch {
        // absent (no WAL yet, or the file was removed): counts as 0
      }
    }
    let oldestData: number | null = null;
    try {
      oldestData = this.table.oldest();
    } catch {
      // unreadable now (the fault is in lastError)
    }
    return {
      file: this.o.file,
      fileBytes,
      oldestData,
      rows: this.rows,
      lastFlushAt: this.lastFlushAt,
      lastFlushStartedAt: this.lastFlushStartedAt,
      lastFlushRows: this.lastFlushRows,
      flushes: this.flushes,
      failures: this.failures,
      lastError: this.lastError,
      retentionMs: this.o.retentionMs,
      retainedBefore: this.retainedBefore,
      hourlyPending: this.table.hourly.backlog(),
      journalLost: this.journalLost && { ...this.journalLost },
      rollupsLost: this.rollupsLost && { ...this.rollupsLost },
      recreated: this.recreated && { ...this.recreated },
    };
  }

  close(): void {
    this.closed = true;
    this.db.close();
    if (this.lockFd !== undefined) closeLockSync(this.lockFd);
    this.lockFd = undefined;
  }

  private statement(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (stmt === undefined) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  private guard(fn: () => void): boolean {
    try {
      fn();
      if (this.lastError !== null) {
        this.lastError = null;
        this.o.onRecover?.();
      }
      return true;
    } catch (error) {
      this.fail(error);
      return false;
    }
  }

  private fail(error: unknown): void {
    let message = error instanceof Error ? error.message : String(error);
    // SQLite's own messages name no file ("database or disk is full"): status, the logs and the
    // storage-error event said what failed but not where, and a host with several monitors
    // (or a dataDir from the environment) left the operator to guess which disk to look at.
    // An error of ours that names the dataDir (its lock's, the file's) is left as it is.
    if (!message.includes(dirname(this.o.file))) message = `${this.o.file}: ${message}`;
    // A damaged file fails every flush alike: the retry that mends a full disk mends nothing
    // here, and "retried at the next flush" alone left the monitor failing for good unsaid.
    if ((error as { code?: unknown } | null)?.code === 'SQLITE_CORRUPT') {
      message += DAMAGED_WRITE;
    }
    this.failures++;
    this.lastError = { message, at: this.clock() };
    this.o.onError?.(message);
  }

  /** The file was removed (or replaced) under us: open a new one and write everything again. */
  private reopenIfGone(): void {
    this.keepLock();
    const ino = inodeOf(this.o.file);
    if (ino === this.inode) return;
    // The directory may have gone with it (`rm -rf` of the dataDir, a cleaner of /tmp).
    makeDirsSync(dirname(this.o.file), PRIVATE_DIR_MODE);
    // The new file first: while it cannot be made (a full disk), the old connection stays open
    // and answers reads (history, reports, storedData()) from the removed file, which it keeps.
    // Closed first, every read failed ('The database connection is not open'), and with it the
    // MCP stop_performance_monitoring tool, whose answer counts what the file holds.
    const db = openSchema(this.o.file);
    try {
      this.db.close();
    } catch {
      // closing a connection to a removed file may fail; it is dropped either way
    }
    this.statements.clear();
    this.db = db;
    this.table = new RollupTable(this.db);
    this.persister = new Persister(this.o.registry, this.o.reader, this.table);
    this.persister.catalogAll();
    this.rows = null;
    this.inode = inodeOf(this.o.file);
    // Said, as a fault and an event (StorageLink.learn): the file came back with this
    // monitor's memory in it, and the history only the old file held was gone without a word.
    const how = ino === -1 ? 'was removed while the monitor ran' : 'was replaced by another file while the monitor ran';
    this.recreated = {
      at: this.clock(),
      message: `the database file ${how} and was created again, holding what this monitor holds in memory (its series, the minutes the store keeps since its start: rollupCapacity, and its alert rules, states and history held); the history stored in the file before (earlier runs, older minutes, older alert transitions) is lost`,
    };
    this.o.onReopen?.();
  }

  /**
   * The dataDir's lock is still this monitor's: one removed (with the directory, or alone) is
   * made again, before any new database; one of another inode is another monitor's, which took
   * the directory meanwhile: this monitor must not write there (StorageLockedError, a fault of
   * every flush until that monitor stops and the lock can be made again).
   */
  private keepLock(): void {
    if (this.lockIno === -1) return;
    const ino = inodeOf(this.lockFile);
    if (ino === this.lockIno) return;
    const dir = dirname(this.lockFile);
    if (ino !== -1) throw lockedBy(dir, this.lockFile);
    makeDirsSync(dir, PRIVATE_DIR_MODE);
    const fd = claimLockSync(dir);
    if (this.lockFd !== undefined) closeLockSync(this.lockFd);
    this.lockFd = fd;
    this.lockIno = fstatSync(fd).ino;
  }
}

function inodeOf(file: string): number {
  try {
    return statSync(file).ino;
  } catch {
    return -1;
  }
}
