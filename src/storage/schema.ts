/**
 * The database's schema and its version. The version is `PRAGMA user_version` (kept in the
 * file's header, so reading it needs no table); MIGRATIONS lists every change since version 0
 * in order, and opening a file applies the missing ones in one transaction: a migration that
 * fails leaves the file as it was. A file whose version is newer than this build knows is
 * refused, not downgraded; a file that is not SQLite, or SQLite without perfwatch's `meta`
 * table, is refused and left untouched.
 *
 * To change the schema, APPEND a migration (never edit one that shipped): version N is the
 * N-th entry. Other modules (alert rules, history, baselines, …) add their tables the same
 * way, as their own entries.
 */
import { accessSync, constants } from 'node:fs';
import { decode } from '@msgpack/msgpack';
import { StorageError } from '../errors.js';
import { permissionModel } from '../engine/permission-model.js';
import { createPrivateFile } from '../private-files.js';
import { DriverUnavailableError, openDatabase, type Db } from './driver.js';
import { APPLICATION_ID, refusal, refusalOf } from './identify.js';
import { createWatchedRuns } from './watched-runs.js';

export interface Migration {
  /** What it adds, for the error message when it fails. */
  name: string;
  up(db: Db): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    name: 'meta, series catalog, one-minute rollups',
    up(db) {
      db.exec(`
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE series (
          id INTEGER PRIMARY KEY,
          name TEXT NOT NULL,
          tags TEXT NOT NULL,
          kind TEXT NOT NULL,
          unit TEXT NOT NULL,
          UNIQUE (name, tags)
        );
        CREATE TABLE rollups (
          series INTEGER NOT NULL,
          start INTEGER NOT NULL,
          count REAL NOT NULL,
          sum REAL NOT NULL,
          min REAL NOT NULL,
          max REAL NOT NULL,
          last REAL NOT NULL,
          sketch BLOB,
          PRIMARY KEY (series, start)
        );
        CREATE INDEX rollups_by_start ON rollups (start);
      `);
    },
  },
  {
    // The control state (src/storage/control.ts): each row's object whole in `body` (msgpack).
    name: 'alert rules, alert states and history, baselines, optimisation log, tunable values',
    up(db) {
      db.exec(`
        CREATE TABLE alert_rule (id TEXT PRIMARY KEY, created_at REAL NOT NULL, body BLOB NOT NULL);
        CREATE TABLE alert_state (fingerprint TEXT PRIMARY KEY, rule_id TEXT NOT NULL, body BLOB NOT NULL);
        CREATE INDEX alert_state_by_rule ON alert_state (rule_id);
        CREATE TABLE alert_transition (seq INTEGER PRIMARY KEY, at REAL NOT NULL, body BLOB NOT NULL);
        CREATE INDEX alert_transition_at ON alert_transition (at);
        CREATE TABLE baseline (series_key TEXT PRIMARY KEY, body BLOB NOT NULL);
        CREATE TABLE optimization_log (seq INTEGER PRIMARY KEY, at REAL NOT NULL, body BLOB NOT NULL);
        CREATE INDEX optimization_log_at ON optimization_log (at);
        CREATE TABLE tunable_value (name TEXT PRIMARY KEY, value REAL NOT NULL, at REAL NOT NULL);
      `);
    },
  },
  {
    // The hourly tier (src/storage/hourly.ts): built from the minute rows after start,
    // the hours already stored included, a bounded number per flush. `own` marks the
    // monitor's own series, restored into the registry's share held back for them.
    name: 'hourly rollups, own series marked',
    up(db) {
      db.exec(`
        ALTER TABLE series ADD COLUMN own INTEGER NOT NULL DEFAULT 0;
        CREATE TABLE hourly (
          series INTEGER NOT NULL,
          start INTEGER NOT NULL,
          count REAL NOT NULL,
          sum REAL NOT NULL,
          min REAL NOT NULL,
          max REAL NOT NULL,
          last REAL NOT NULL,
          sketch BLOB,
          PRIMARY KEY (series, start)
        );
        CREATE INDEX hourly_by_start ON hourly (start);
      `);
    },
  },
  {
    // The journal of the minutes not closed yet (src/storage/journal.ts): one blob a flush.
    name: 'journal of open minutes',
    up(db) {
      db.exec('CREATE TABLE journal (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)');
    },
  },
  {
    // The notifier's outbox (src/alerts/outbox.ts): deliveries not ended and held resolutions.
    name: 'outbox of alert notifications',
    up(db) {
      db.exec('CREATE TABLE notify_outbox (id TEXT PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID');
    },
  },
  {
    // A baseline names its series as the catalog does, so that the series retention forgets
    // take their baselines with them (StorageService.forgetEmptySeries).
    name: "baselines' series",
    up(db) {
      db.exec('ALTER TABLE baseline ADD COLUMN name TEXT');
      db.exec('ALTER TABLE baseline ADD COLUMN tags TEXT');
      db.exec('CREATE INDEX baseline_by_series ON baseline (name, tags)');
      const name = db.prepare('UPDATE baseline SET name = ?, tags = ? WHERE series_key = ?');
      for (const [key, body] of db.prepare('SELECT series_key, body FROM baseline').all()) {
        const { metric, tags } = decode(body as Uint8Array) as { metric: string; tags: Record<string, string> };
        name.run([metric, JSON.stringify(tags), key as string]);
      }
      // Those of series retention forgot before this: no process has a series of its own yet.
      db.exec('DELETE FROM baseline WHERE NOT EXISTS (SELECT 1 FROM series WHERE series.name = baseline.name AND series.tags = baseline.tags)');
    },
  },
  {
    // The lives of the processes that wrote the file (src/storage/watched-runs.ts).
    name: 'the runs that watched',
    up: createWatchedRuns,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Opens the database at `file` and brings it to SCHEMA_VERSION. Throws StorageError naming
 * the file when it is not a perfwatch database or is newer than this build; the file is not
 * written then: its header says so before it is opened (identify.ts), as opening writes.
 */
export function openSchema(file: string, migrations: readonly Migration[] = MIGRATIONS): Db {
  const refusal = refusalOf(file, migrations.length);
  if (refusal) throw refusal;
  const readOnly = notWritable(file);
  if (readOnly) throw readOnly;
  let db: Db;
  try {
    // SQLite gives the -wal and -shm files the database's mode.
    createPrivateFile(file);
    db = openDatabase(file);
  } catch (error) {
    throw unusable(file, error);
  }
  try {
    migrate(db, file, migrations);
    return db;
  } catch (error) {
    db.close();
    throw error instanceof StorageError ? error : unusable(file, error);
  }
}

/**
 * The refusal of an existing file this process may not write (a read-only mount: EROFS; an
 * immutable file: EPERM; no write permission: EACCES), asked of the file system before it is
 * opened: SQLite opens such a file read-only, in WAL mode without a word, and it failed only at
 * the first write. Undefined when it may be written, or is not there.
 */
function notWritable(file: string): StorageError | undefined {
  try {
    accessSync(file, constants.W_OK);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EROFS' && code !== 'EPERM' && code !== 'EACCES') return undefined;
    return new StorageError(file, `cannot be written (${code}: ${code === 'EROFS' ? 'read-only file system' : code === 'EPERM' ? 'operation not permitted (an immutable file?)' : 'permission denied'}); it was left untouched: give this process write access to it and its directory, or choose another dataDir`);
  }
}

/** What SQLite says of a file whose bytes are not a database (a garbage file, one cut short). */
const NOT_A_DATABASE = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT']);

/**
 * What a write that met a damaged file adds to its error (StorageService): each flush tries
 * again, as for any failed write, but that mends nothing. The coordinator's fault begins "a
 * write failed:" then, not "a write failed and is retried at the next flush:", which read as a
 * promise the end of the same line took back.
 */
export const DAMAGED_WRITE = ": it is damaged: each flush tries again, but that will not mend it; the monitor goes on in memory: stop it and move the file away (sqlite3's .recover saves what is readable)";

/** Whether `error` is SQLite's word that the file's bytes are not a database, or are damaged. */
export function damaged(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NOT_A_DATABASE.has(code);
}

/**
 * The error for a file that cannot be opened, brought to the schema, or read at start (the
 * storage actor's reads of the catalog and the control state: a damaged table fails them).
 * Only a file whose bytes are not a database, or are damaged, is one to move away; a database
 * this process cannot write (a read-only file, a full disk, an I/O error) is the user's
 * history, and moving it away to start afresh would lose it: the advice is then about the
 * disk. A driver that could not be loaded opened nothing: the advice is then about the process.
 */
export function unusable(file: string, error: unknown): StorageError {
  if (error instanceof DriverUnavailableError) {
    // Node says the same of both refusals; the permission model's is lifted by a flag of its own.
    const addons = permissionModel() ? "run node with --allow-addons (Node's permission model refuses native addons without it) and without --no-addons" : 'let this process load native addons (no --no-addons)';
    return new StorageError(file, `cannot be opened: the SQLite driver (libsql) could not be loaded (${error.message}); the database was left untouched: ${addons}, install libsql with the binary for this platform, or choose storage: 'memory'`);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('SQLITE_') && !NOT_A_DATABASE.has(code)) {
    const fix = code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR') ? 'free space on its file system (or see why it fails to write)' : 'give this process write access to it and its directory';
    return new StorageError(file, `cannot be written (${code}: ${describe(error)}); it was left untouched: ${fix}, or choose another dataDir`);
  }
  if (code === 'SQLITE_CORRUPT') {
    return new StorageError(file, `is damaged (${describe(error)}); it was left untouched: move it away (sqlite3's .recover saves what is readable) or choose another dataDir`);
  }
  return new StorageError(file, `is not a usable SQLite database (${describe(error)}); it was left untouched: move it away or choose another dataDir`);
}

/** Brings an open database to the version of `migrations` (see openSchema; bench:storage runs it over another driver). */
export function migrate(db: Db, file: string, migrations: readonly Migration[] = MIGRATIONS): void {
  const version = Number(db.pragma('user_version') ?? 0);
  const appId = Number(db.pragma('application_id') ?? 0);
  const tables = Number(db.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'table'").get()?.[0] ?? 0);
  const refused = refusal(file, { appId, version, tables: tables > 0 }, migrations.length);
  if (refused !== undefined) throw refused;
  if (version === migrations.length) return;
  db.transaction(() => {
    for (let v = version; v < migrations.length; v++) {
      const m = migrations[v]!;
      try {
        m.up(db);
      } catch (error) {
        throw new StorageError(file, `migration ${v + 1} (${m.name}) failed: ${describe(error)}; the file was left at version ${version}`);
      }
    }
    db.exec(`PRAGMA application_id = ${APPLICATION_ID}`);
    db.exec(`PRAGMA user_version = ${migrations.length}`);
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
