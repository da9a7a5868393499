/**
 * The SQLite driver behind one small interface: the only module that imports `libsql`
 * (better-sqlite3's API, prebuilt binaries in the npm package). On a Node with `node:sqlite`
 * this file is what changes; the rest of perfwatch sees Db and Statement only.
 *
 * Rows come back as arrays in column order (`raw` mode): libsql's row objects carry an extra
 * `_metadata` key, and arrays cost less. Parameters are always passed as one array, never
 * spread: libsql takes a lone object argument (a Buffer included) for named parameters, and a
 * Buffer there panics its native code, which aborts the whole process.
 *
 * Opened with WAL (readers do not block the writer, a commit is one append), synchronous
 * NORMAL (a commit is durable once the WAL is checkpointed or the OS writes it back; a crash
 * of the process loses nothing committed, a power cut at most the last commits) and
 * auto_vacuum INCREMENTAL, which only takes effect when set before the first table: it lets
 * retention hand freed pages back to the file system (PRAGMA incremental_vacuum).
 *
 * libsql 0.5.29 (its Rust crate 0.9.30, tursodatabase/libsql#2251) closes a connection's
 * SQLite handle twice when the connection is dropped with no statement of it alive: the
 * second sqlite3_close_v2 reads the freed handle, which valgrind shows on every plain
 * `open; close()`, and which takes the whole process down (SIGSEGV) when the freed block was
 * reused meanwhile. A statement that outlives the drop keeps the handle open, and the last
 * statement to go closes it exactly once. So every connection keeps a pinned statement until
 * after its close(), and a thread that ends with connections open (process.exit(), the end of
 * its event loop) closes them at its 'exit': left to the thread's teardown, a connection is
 * finalized after its statements, and closed twice. That 'exit' also collects the thread's
 * garbage, whose libsql wrappers would otherwise be finalized during the teardown, where Node 20
 * reads an addon's deleted environment (collect-garbage.ts). A thread terminated
 * (worker.terminate()) runs no 'exit': the storage actor's closes them when its ender asks
 * first (closeOpen(), src/actors/close-first.ts); left, a thread terminated without a word or
 * stuck in a loop of its own, whose open connections are still closed twice.
 * test/sqlite-close.test.ts makes the reuse certain (glibc's MALLOC_PERTURB_ without tcache)
 * and checks that the process survives.
 *
 * A thread being terminated may not call libsql at all: a statement entered then panics, and
 * the panic aborts the process. The storage actor's thread makes every call through its native
 * gate (guardCalls; src/actors/native-gate.ts), and is terminated only while the gate is shut.
 */
import { createRequire } from 'node:module';
import { collectGarbage } from './collect-garbage.js';

export type SqlValue = number | bigint | string | Uint8Array | null;

export interface RunResult {
  changes: number;
}

export interface Statement {
  run(params?: readonly SqlValue[]): RunResult;
  /** The first row, as values in column order, or undefined. */
  get(params?: readonly SqlValue[]): SqlValue[] | undefined;
  all(params?: readonly SqlValue[]): SqlValue[][];
}

export interface Db {
  readonly file: string;
  prepare(sql: string): Statement;
  /** Runs statements without parameters (DDL, pragmas with effects). */
  exec(sql: string): void;
  /** Runs `fn` in one IMMEDIATE transaction: all of it commits, or none (it rethrows). */
  transaction<T>(fn: () => T): T;
  /** The value of a pragma that answers one value. */
  pragma(name: string): SqlValue | undefined;
  close(): void;
}

interface NativeStatement {
  raw(on?: boolean): NativeStatement;
  run(params: readonly SqlValue[]): { changes: number };
  get(params: readonly SqlValue[]): SqlValue[] | undefined;
  all(params: readonly SqlValue[]): SqlValue[][];
  reader: boolean;
}

interface NativeDb {
  prepare(sql: string): NativeStatement;
  exec(sql: string): void;
  close(): void;
}

/** A driver with better-sqlite3's API: libsql here; better-sqlite3 itself in bench:storage. */
export type NativeDriver = new (file: string, options?: object) => NativeDb;

const require = createRequire(import.meta.url);

/** Entered before each call into libsql and left after it (src/actors/native-gate.ts); none outside the storage actor. */
export interface CallGuard {
  enter(): void;
  leave(): void;
}

let guard: CallGuard | undefined;

/** Every later call of this thread into libsql goes through `g`: its enter() may hold the thread for good (it is being ended). */
export function guardCalls(g: CallGuard | undefined): void {
  guard = g;
}

/** Runs one call into libsql through the thread's guard. */
function call<T>(fn: () => T): T {
  if (!guard) return fn();
  guard.enter();
  try {
    return fn();
  } finally {
    guard.leave();
  }
}

let native: NativeDriver | undefined;

/**
 * The driver could not be loaded, so no file was opened: a libsql without the binary for this
 * platform (an install with --omit=optional, node_modules copied from another system), or a
 * process that may not load native addons (--no-addons; the permission model without
 * --allow-addons). Said as the file's fault, it read "is not a usable SQLite database … move it
 * away", advice that loses the history of a database that is fine.
 */
export class DriverUnavailableError extends Error {}

function driver(): NativeDriver {
  try {
    native ??= require('libsql') as NativeDriver;
  } catch (error) {
    throw new DriverUnavailableError(error instanceof Error ? error.message : String(error));
  }
  return native;
}

/** The pragmas every connection runs with (see the module comment); auto_vacuum only on a file without tables (openDatabase). */
const SETUP = ['PRAGMA journal_mode = WAL', 'PRAGMA synchronous = NORMAL', 'PRAGMA foreign_keys = ON'];

/**
 * Opens (creating when absent) the database at `file`. Reads the header first, so a file
 * that is not a database fails here (SQLITE_NOTADB) before anything writes to it.
 */
export function openDatabase(file: string, Driver?: NativeDriver): Db {
  // Loading the addon calls into it too (it registers its functions).
  const db = call(() => new (Driver ?? driver())(file));
  let pin: NativeStatement | undefined;
  try {
    pin = call(() => db.prepare('SELECT 1'));
    // Open from here on, for closeOpen(): a close asked while the pragmas run closes it.
    open.set(db, pin);
    const tables = Number(call(() => db.prepare('SELECT count(*) FROM sqlite_schema').raw().get([]))?.[0] ?? 0);
    // Setting auto_vacuum writes the header (page 1) at every open, even when it changes nothing:
    // a file damaged past its header was written before the damage was known, and no longer left
    // untouched. It takes effect on a file without tables only, so it is set on such a file only.
    if (tables === 0) call(() => db.exec('PRAGMA auto_vacuum = INCREMENTAL'));
    for (const sql of SETUP) call(() => db.exec(sql));
  } catch (error) {
    closeWith(db, pin);
    throw error;
  }
  return wrap(file, db, pin);
}

/** The connections of this thread not closed yet, each with its pinned statement (their owners close them; 'exit' closes the rest). */
const open = new Map<NativeDb, NativeStatement>();
let exitHooked = false;

/**
 * The thread's 'exit': closes the connections still open, then collects the garbage, so that
 * the wrappers the closes (and the thread's life) dropped are finalized before the thread's
 * teardown deletes the addon's environment (collect-garbage.ts says why that matters).
 */
function closeAll(): void {
  closeOpen();
  collectGarbage();
}

/**
 * Closes this thread's connections still open, each while its pinned statement lives: for a
 * thread about to be ended from outside (src/actors/close-first.ts), whose teardown would
 * otherwise finalize each connection after its statements, and so close it twice.
 */
export function closeOpen(): void {
  for (const [db, pin] of open) closeWith(db, pin);
}

/** Closes `db` while `pin` (one of its statements) is still referenced: see the module comment. */
function closeWith(db: NativeDb, pin: NativeStatement | undefined): void {
  open.delete(db);
  call(() => {
    db.close();
    // Read after the close, so that the statement cannot be collected before it.
    if (pin) void pin.reader;
  });
}

function wrap(file: string, db: NativeDb, pin: NativeStatement): Db {
  if (!exitHooked) process.on('exit', closeAll);
  exitHooked = true;
  const prepare = (sql: string): Statement => {
    const stmt = call(() => {
      const s = db.prepare(sql);
      if (s.reader) s.raw(true);
      return s;
    });
    return {
      run: (params = []) => ({ changes: call(() => stmt.run(params)).changes }),
      get: (params = []) => call(() => stmt.get(params)) ?? undefined,
      all: (params = []) => call(() => stmt.all(params)),
    };
  };
  const exec = (sql: string): void => call(() => db.exec(sql));
  // Kept: a statement made per call is garbage at once, and a thread ended before it is
  // collected has its teardown find it (collect-garbage.ts). Pragma names are a handful.
  const pragmas = new Map<string, Statement>();
  let depth = 0;
  return {
    file,
    prepare,
    exec,
    transaction<T>(fn: () => T): T {
      // Nested calls join the outer transaction: one commit for all of a flush's work.
      if (depth > 0) return fn();
      exec('BEGIN IMMEDIATE');
      depth++;
      try {
        const result = fn();
        exec('COMMIT');
        return result;
      } catch (error) {
        try {
          exec('ROLLBACK');
        } catch {
          // SQLite rolled back already (a full disk, an I/O error): nothing left to undo
        }
        throw error;
      } finally {
        depth--;
      }
    },
    pragma: (name) => {
      let stmt = pragmas.get(name);
      if (stmt === undefined) pragmas.set(name, (stmt = prepare(`PRAGMA ${name}`)));
      return stmt.get()?.[0];
    },
    close: () => closeWith(db, pin),
  };
}
