/**
 * The coordinator's side of storage (options.storage 'sqlite'): takes the dataDir's lock and
 * starts the storage actor on start(), which registers the stored series catalog again,
 * passes on history reads and other modules' commits, and on stop() lets the actor flush and
 * close, then releases the lock. The actor owns the file; this thread never touches it (the lock file
 * aside, on start and stop, the file's first bytes read at each start to tell whose it is
 * (storage/identify.ts), and the file's times read once at a start that took over a dead
 * monitor's lock).
 *
 * Faults: a flush that fails comes back as an event: a fault of kind 'storage' (status and
 * monitor_faults{kind="storage"}), and a 'storage-error' event; the first flush that
 * succeeds after it emits 'storage-recovered'. A dead actor is restarted by the watchdog and
 * writes everything the store still holds. A start() that finds no room on the disk for the
 * lock or the file does not fail: the monitor records in memory, and the database is attached
 * once there is room (see start()). Status is the actor's last report, so status() needs no
 * round trip.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { sink } from '../actors/comlink-node.js';
import type { ControlOp, HistoryRequest, StorageActorApi, StorageEvent } from '../actors/protocols.js';
import type { WatchedSpan } from '../analysis/watched.js';
import { closeFirstSync } from '../actors/close-first.js';
import { holding } from '../actors/hold.js';
import { openGateGen, sealGate } from '../actors/native-gate.js';
import { Supervisor, type BeatMark, type WatchdogLink } from '../actors/supervisor.js';
import type { SeqDisk } from '../hub/durable.js';
import { STORAGE_BEAT_BY, STORAGE_CLOCK, STORAGE_GATE, STORAGE_TID } from '../engine/control.js';
import type { RegistryBuffers } from '../engine/registry.js';
import type { StoreBuffers } from '../engine/store/layout.js';
import { ActorError, StorageError } from '../errors.js';
import type { SqlValue } from '../storage/driver.js';
import { READ_HUB_SEQS, hubSeqsOf, type HubSeq } from '../storage/hub-seqs.js';
import { isPerfwatchDatabase, refusalOf } from '../storage/identify.js';
import { DAMAGED_WRITE } from '../storage/schema.js';
import { LOCK_FILE, TAKEOVER_FILE, acquireLock, type DirLock } from '../storage/lock.js';
import { privateAgain } from '../private-files.js';
import { didYouMean } from '../suggest.js';
import { OURS as PROFILE_FILE } from '../profiling/files.js';
import type { CatalogEntry, StoredRollups } from '../storage/rollups.js';
import type { CatalogRestore } from '../storage/restore.js';
import type { StorageStatus } from '../storage/service.js';
import type { Faults } from './faults.js';
import type { ResolvedOptions } from './options.js';
import { clearTimeout, setTimeout, wallNow } from '../engine/real-timers.js';

export const DB_FILE = 'perfwatch.db';

/** The permission bits of "others" (every user of the machine), and the sticky bit (a directory users share). */
const EVERY_USER = 0o007;
const STICKY = 0o1000;
/**
 * What perfwatch makes in a dataDir: the database and SQLite's files, the lock (its takeover and
 * temporary files), the profiles and a capture's temporary directory; and `lost+found`, which the
 * root of every ext4 filesystem holds (a volume mounted for perfwatch alone).
 */
const OUR_NAMES = /^(perfwatch\.db(-wal|-shm|-journal)?|perfwatch\.lock(\..+)?|perfwatch-profiles-\d+(-[0-9a-f]{8})?|profiles|lost\+found)$/;

/**
 * How long this thread's process 'exit' waits for the storage actor to close its connection
 * before it seals the gate (src/actors/close-first.ts): a few ms when the actor idles or
 * works; the bound when its thread is stuck in its own JavaScript. Neither the close nor the
 * seal bounds a wait for the actor's call into SQLite in flight: Node ends a thread only back
 * in JavaScript, and at the exit waits for that anyway. A bound (10 s until 2026-12-05) only
 * let a longer call return into a thread being terminated (libsql then panicked: SIGABRT), or,
 * sealed in time but not closed, to a connection closed twice (SIGSEGV):
 * test/sqlite-close.test.ts, 'stall-exit'.
 */
const EXIT_CLOSE_MS = 1_000;

/** How long stop() waits for the last flush's answer before the actor's own stop goes on (it has as long again). */
const LAST_FLUSH_WAIT_MS = 5_000;

export interface StorageLinkDeps {
  options: ResolvedOptions;
  control: SharedArrayBuffer;
  registryBuffers: RegistryBuffers;
  store: StoreBuffers;
  watchdog: WatchdogLink;
  faults: Faults;
  emit: (event: string, ...args: unknown[]) => void;
  /** The file was removed while running and a new one created (its rollups are written again by the actor). */
  reopened?: () => void;
  /** A start() that found no room attached the database later: the control state goes in now (ControlState.open). */
  attached?: () => Promise<void>;
  /** A hub drives the flushes (flushSeqs between its applies): the actor does not flush on its own. */
  driven?: boolean;
  /** A retention pass deleted the alert transitions older than `before`: the monitor drops those it holds. */
  retained?: (before: number) => void;
  /** A flush that began at `startedAt` (the monitor's clock) wrote rows: the disk takes writes (ControlLog.storageWrote). */
  wrote?: (startedAt: number) => void;
  /** The ids of the application series a restore of the stored catalog registered (RestoredPlaces). */
  restored?: (ids: readonly number[]) => void;
}

/**
 * What the start did with the stored catalog (src/storage/restore.ts): the series registered,
 * the headroom kept for the live ones, the older ones left out (their history is still read
 * from the file), and why, when some were.
 */
export interface CatalogView {
  stored: number;
  registered: number;
  headroom: number;
  leftOut: number;
  /** Series that could not be registered for another reason (the storage-restore fault says which). */
  failed: number;
  why?: string;
}

/** What status() shows of storage. */
export type StorageStatusView =
  | { mode: 'memory' }
  | ({
      mode: 'sqlite';
      dataDir: string;
      actor: { state: string; restarts: number };
      /**
       * Whether the database is open for this monitor (from a start(), or the late attach of one
       * that found no room, until stop()): false while a start() that found no room waits for
       * some (lastError says why), and while stopped. Said only while waiting until 2026-12-06,
       * so an attach that then never wrote again looked the same as one that did.
       */
      attached: boolean;
      catalog?: CatalogView;
    } & Partial<StorageStatus>);

export class StorageLink {
  readonly dir: string;
  readonly file: string;
  readonly actor: Supervisor<StorageActorApi>;
  private readonly deps: StorageLinkDeps;
  private lock: DirLock | undefined;
  private last: StorageStatus | null = null;
  /**
   * Why the database is not attached, while a start() that found no room for it waits for
   * some (the monitor records in memory meanwhile), and after a stop() that came first: null
   * once attached.
   */
  private room: { message: string; at: number } | null = null;
  /** Attempts to attach that failed since start(). */
  private roomFailures = 0;
  /** Whether attaching is tried again (from a start without room until stop()). */
  private retrying = false;
  private roomTimer: NodeJS.Timeout | undefined;
  /** The attempt under way (the timer's, or a flush()'s), one at a time. */
  private attaching: Promise<boolean> | undefined;
  /** When the monitor's current run started (setRun); none while it is stopped. */
  private runFrom: number | undefined;
  /** What the last attach did with the stored catalog. */
  private catalog: CatalogView | undefined;
  /** The actor runs for a visit (visit()): it writes nothing of the store, which the stop wrote. */
  private visiting = false;

  constructor(deps: StorageLinkDeps) {
    this.deps = deps;
    this.dir = resolve(deps.options.dataDir);
    this.file = resolve(this.dir, DB_FILE);
    this.actor = new Supervisor<StorageActorApi>(
      'storage',
      new URL('../../workers/storage.js', import.meta.url),
      () => ({
        control: deps.control,
        registry: deps.registryBuffers,
        store: deps.store,
        file: this.file,
        retentionMs: deps.options.retentionMs,
        flushMs: deps.options.storageFlushMs,
        driven: deps.driven === true || this.visiting,
        ...(this.runFrom !== undefined ? { runFrom: this.runFrom } : {}),
      }),
      {
        exit: (info) => deps.emit('actor-exit', info),
        restart: (info) => deps.emit('actor-restart', info),
        ready: async (remote) => {
          await remote.subscribe(sink((event: StorageEvent) => this.onEvent(event)));
        },
      },
      deps.watchdog,
      { control: deps.control, at: STORAGE_CLOCK, by: STORAGE_BEAT_BY, tid: STORAGE_TID, gate: STORAGE_GATE },
      { stopWork: () => 'what the store held since the last flush (not written to the database) is lost' },
    );
  }

  /** Whether this monitor holds the dataDir's lock (from start() until stop()): only then is the directory its own. */
  get holdsLock(): boolean {
    return this.lock !== undefined;
  }

  /** Whether the database is attached: false while a start() that found no room for it waits for some. */
  get attached(): boolean {
    return this.room === null;
  }

  /** Why the database is not attached (see attached), or null. */
  get waiting(): string | null {
    return this.room?.message ?? null;
  }

  /**
   * Takes the lock, opens the database and restores the catalog. Throws StorageError (nothing
   * left running) when the dataDir or the file cannot be used as configured (a lock another
   * live monitor holds, a file that is no perfwatch database or is newer, a read-only one, a
   * dataDir that cannot be made). A disk with no room for the lock or the file (ENOSPC,
   * SQLITE_FULL, an I/O error) does not fail it: the monitor records in memory, the fault is
   * reported, and the database is attached once there is room (every storageFlushMs, and at
   * each flush()), its first flush writing all the store holds.
   */
  async start(): Promise<void> {
    this.room = null;
    this.roomFailures = 0;
    // A host that ends its process (process.exit(), an uncaught exception) has Node terminate
    // the actor next: its gate is sealed first, between two of its calls into SQLite.
    process.off('exit', this.sealAtExit);
    process.on('exit', this.sealAtExit);
    try {
      await this.attach();
    } catch (error) {
      // A hub's database holds its members' numbers, read as it starts: it needs the file now.
      if (this.deps.driven || !noRoom(error)) {
        process.off('exit', this.sealAtExit);
        throw error;
      }
      this.failedAttach(error);
      this.retrying = true;
      this.scheduleAttach();
    }
  }

  /**
   * Ends the attempts to attach, once the one under way (and the control state it puts in)
   * has ended: the monitor's stop() calls it before it closes the control state.
   */
  async settle(): Promise<void> {
    this.retrying = false;
    clearTimeout(this.roomTimer);
    this.roomTimer = undefined;
    await this.attaching;
  }

  /**
   * Why the dataDir, open to every user, is not perfwatch's to make private; undefined when it
   * is (or nothing is open to tighten, or another user owns it: privateAgain says so). Read
   * under the lock, before the actor opens (and may create) the database. perfwatch makes a
   * dataDir 0700; one an earlier version made with the umask (0755) holds its perfwatch.db
   * made with the same umask (0644) and nothing but perfwatch's files. Anything else is a
   * directory perfwatch was pointed at, whose mode is the operator's: chmod 0700 of a shared one
   * (/tmp, a home, a directory of other applications') would lock out its other users and
   * applications. `shared` says it is one of those (sticky, or holding what perfwatch did not
   * make), which a fault names; a directory the operator made for perfwatch alone (0755, with
   * nothing but perfwatch's files in it) is left without a word: nothing is wrong with it.
   */
  private notOurDir(): { why: string; shared: boolean } | undefined {
    const uid = process.getuid?.();
    let st;
    try {
      st = lstatSync(this.dir);
    } catch {
      return undefined;
    }
    if (uid === undefined || !st.isDirectory() || (st.mode & EVERY_USER) === 0 || st.uid !== uid) return undefined;
    if ((st.mode & STICKY) !== 0) return { why: 'it is sticky: a directory users share, as /tmp is', shared: true };
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (error) {
      return { why: `it cannot be listed (${(error as NodeJS.ErrnoException).code ?? String(error)})`, shared: true };
    }
    const others = names.filter((name) => !OUR_NAMES.test(name)).sort();
    if (others.length > 0) return { why: `it holds what perfwatch did not make (${others.slice(0, 3).join(', ')}${others.length > 3 ? `, and ${others.length - 3} more` : ''})`, shared: true };
    if (!isPerfwatchDatabase(this.file)) return { why: 'it held no perfwatch database before this start', shared: false };
    let db;
    try {
      db = lstatSync(this.file);
    } catch {
      return { why: 'it held no perfwatch database before this start', shared: false };
    }
    if ((db.mode & EVERY_USER) === 0) return { why: `its ${DB_FILE} is not open to every user, as an earlier perfwatch that made the directory (0755) left it (0644)`, shared: false };
    return undefined;
  }

  /** The dataDir and what perfwatch makes in it: the database and SQLite's files beside it, the lock, the default profiles directory and its profiles. */
  private ownPaths(): string[] {
    const profiles = join(this.dir, 'profiles');
    let captures: string[] = [];
    try {
      captures = readdirSync(profiles).filter((name) => PROFILE_FILE.test(name)).map((name) => join(profiles, name));
    } catch {
      // No profiles directory (none taken yet, or profiles go elsewhere): nothing of it to make private.
    }
    const sqlite = ['', '-wal', '-shm', '-journal'].map((suffix) => `${this.file}${suffix}`);
    return [this.dir, ...sqlite, join(this.dir, LOCK_FILE), join(this.dir, TAKEOVER_FILE), profiles, ...captures];
  }

  /**
   * Opens the database of a stopped monitor for `work` (its control state's changes: a rule
   * created or deleted while stopped), then lets it go: the lock, the actor and the file, as a
   * start() takes them, but not the catalog (nothing is recorded) and no flush (the stop wrote
   * the store). Without it those changes waited in memory for a start() that a close() or the
   * process's end never made: a deleted rule came back at the next start, a created one was
   * lost. Rejects as start() does (another live monitor took the dataDir meanwhile, a file that
   * is not perfwatch's, a full disk), nothing left open. The caller runs one at a time, never
   * while the monitor runs.
   */
  async visit<T>(work: () => Promise<T>): Promise<T> {
    this.visiting = true;
    process.off('exit', this.sealAtExit);
    process.on('exit', this.sealAtExit);
    try {
      await this.attach(false);
      try {
        return await work();
      } finally {
        await this.actor.stop();
        await this.releaseLock();
      }
    } finally {
      process.off('exit', this.sealAtExit);
      this.visiting = false;
    }
  }

  /** One attempt to attach (start's, or a retry's): the lock, the actor, the file, the catalog (`catalog`: a visit has none); all undone when it fails. */
  private async attach(catalog = true): Promise<void> {
    // Whose the file is, from its bytes, before the lock file is made beside it and the modes
    // are made private: another application's perfwatch.db (or one that is no database) and
    // its directory are left as they were. Its schema version is the actor's to judge: a file
    // of a newer perfwatch is perfwatch's, and the actor refuses it before it opens it.
    const refusal = refusalOf(this.file, Infinity);
    if (refusal) throw refusal;
    this.lock = await acquireLock(this.dir);
    try {
      // What an earlier version made open to every user (0755, 0644, by the umask) is made
      // private, as a new dataDir is: the files are ours, under our lock. What another user
      // owns is theirs: status and the log say it is open, and perfwatch leaves it.
      // A dataDir perfwatch did not make (a shared one: /tmp, a home) keeps its mode, and so does
      // a `profiles` directory in it; the files perfwatch makes there are still made private.
      const foreign = this.notOurDir();
      const profiles = join(this.dir, 'profiles');
      const left = privateAgain(foreign === undefined ? this.ownPaths() : this.ownPaths().filter((path) => path !== this.dir && path !== profiles));
      if (foreign?.shared) {
        const mode = (lstatSync(this.dir).mode & 0o7777).toString(8).padStart(4, '0');
        this.deps.faults.report('storage-modes', new Error(`${this.dir}: the dataDir is open to every user (mode ${mode}) and perfwatch did not make it (${foreign.why}), so its mode is left as it is: every user of the machine may list it; what perfwatch writes in it is its user's alone (${DB_FILE} and its files 0600). Choose a directory of perfwatch's alone (one start() makes is 0700), or chmod it 0700 if it is perfwatch's`));
      }
      if (left.length > 0) {
        this.deps.faults.report('storage-modes', new Error(`${this.dir}: open to every user and not this process's to change, so left as it is: ${left.join('; ')}; chmod it (0700 a directory, 0600 a file) or choose a dataDir of this user's`));
      }
      const lastWrite = this.lock.leftBy === undefined ? undefined : await lastWriteOf(this.file);
      // Whether the file the dead owner left holds its history, read before the actor opens
      // (and migrates) it: one without perfwatch's header, its -wal gone, lost all of it.
      const held = this.lock.leftBy === undefined || isPerfwatchDatabase(this.file);
      await this.actor.start();
      const failed = await this.actor.call((a) => a.opened());
      if (failed) throw new StorageError(failed.path, failed.rule);
      // The lock of a monitor that never stopped: what it recorded after its last write is
      // gone, and a restart that said nothing of it read as one that lost nothing.
      if (this.lock.leftBy !== undefined && lastWrite !== undefined) {
        // Said as far as it is known: a thread of this process that ended, or a process that did (how, the lock cannot tell).
        const before = this.lock.leftHere
          ? `the monitor before this one, of this same process (pid ${this.lock.leftBy}), ended without stop() in a worker thread (the thread was terminated, or ended before its monitor stopped):`
          : `the monitor before this one (pid ${this.lock.leftBy}) ended without stop() (its process was killed, crashed, or ended by process.exit()):`;
        // A file with no perfwatch header and no -wal: SQLite keeps commits in the -wal until a
        // checkpoint copies them into the file, so a -wal lost after a kill (removed as a
        // leftover) takes every commit since with it. It said "everything before is here" of an
        // empty database (a trial).
        const lost = held
          ? `what it recorded after its last write to this database, at ${new Date(lastWrite).toISOString()}, is lost (at most its storageFlushMs of samples); everything before is here`
          : `${DB_FILE} holds none of the history written before: its commits were in ${DB_FILE}-wal, which is gone (removed or lost after that end: SQLite copies them into the file only at a checkpoint), so this database starts empty and the history before is missing`;
        this.deps.faults.report('storage-unclean', new Error(`${this.dir}: ${before} ${lost}`));
      }
      if (!catalog) return;
      // The actor registers the stored catalog on its own thread (src/storage/restore.ts):
      // one registration per stored series would hold this thread a second at 100,000.
      const restored = await this.actor.call((a) => a.restoreCatalog()).catch((error: unknown) => {
        throw fromActor(this.file, error);
      });
      this.catalog = catalogView(restored, this.deps.options.maxSeries);
      this.deps.restored?.(restored.ids);
      // One fault for the catalog, not one a series: a kind that changed, tags past a lowered
      // maxTags. The series left out for the live ones' headroom are by design: status says so.
      if (restored.failed > 0) {
        const of = `${restored.failed.toLocaleString('en-US')} of the ${restored.total.toLocaleString('en-US')} series stored in ${this.file}`;
        this.deps.faults.report('storage-restore', new Error(`${of} could not be registered again; the first: ${restored.reasons.join('; also: ')}`));
      }
      await this.refresh();
    } catch (error) {
      await this.actor.stop();
      await this.releaseLock();
      throw error;
    }
  }

  /**
   * A last flush, the file closed, the lock released. Driven (a hub's database), the last flush
   * is the hub's: it writes `seqs`, its members' numbers, with the rows (the open minutes as
   * rows, as a stop's flush does); null or none, no last flush (Hub.lastSeqs: the store holds
   * part of a batch that no number covers), and the file keeps what the last flush wrote.
   */
  async stop(seqs?: HubSeq[] | null): Promise<void> {
    try {
      await this.stopActor(seqs);
    } finally {
      process.off('exit', this.sealAtExit);
    }
  }

  private async stopActor(seqs: HubSeq[] | null | undefined): Promise<void> {
    await this.settle();
    // The run ends here: an actor of the next start() writes nothing of it before that start hands its own.
    this.runFrom = undefined;
    // Never attached: what it recorded stays in this monitor's memory, and a start() of it
    // writes it if there is room then (as after a last flush that failed); status says so.
    if (this.room) return;
    if (this.deps.driven && seqs) await this.flushSeqs(seqs, true);
    // The last flush as a call of its own, so that status() after stop() says how it went (its
    // time, a full disk's error): the actor's stop() flushed without a word back, and status()
    // kept the flush before it, with no error, while the samples since were not on disk. Bounded
    // as the actor's stop is; the actor's own last flush then finds nothing new.
    // Unanswered, and the actor silent since it was asked (hung: the watchdog calls the storage
    // actor hung only past its flush interval plus 10 s), its stop goes to a successor at once:
    // asked to stop as well, it held stop() another 5 s and was then ended with no successor,
    // and what the store held since the last flush was lost.
    let unanswered: BeatMark | undefined;
    if (!this.deps.driven && this.actor.state === 'running') {
      const mark = this.actor.beatMark();
      let timer: NodeJS.Timeout | undefined;
      const answered = await Promise.race([
        this.flush().then(
          () => true,
          () => true,
        ),
        new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), LAST_FLUSH_WAIT_MS).unref())),
      ]);
      clearTimeout(timer);
      if (!answered) unanswered = mark;
    }
    await this.actor.stop(unanswered);
    await this.releaseLock();
  }

  /** At this thread's process 'exit', while the monitor runs: see start(). */
  private readonly sealAtExit = (): void => {
    const cells = new Int32Array(this.deps.control);
    // The actor closes its connection first, if it answers in time: left open to the
    // thread's end, libsql closes it twice (src/actors/close-first.ts).
    const gen = openGateGen(cells, STORAGE_GATE);
    if (gen !== undefined && this.actor.state !== 'stopped') closeFirstSync(cells, STORAGE_GATE, gen, EXIT_CLOSE_MS);
    sealGate(cells, STORAGE_GATE, Infinity);
  };

  /** The newest time the attached file's data reaches, or -Infinity (src/storage/stored-until.ts). */
  storedUntil(): Promise<number> {
    return this.actor.call((a) => a.storedUntil());
  }

  /**
   * When the monitor's run started (each start()): each flush writes its run from then on
   * (src/storage/watched-runs.ts); an actor started later (a successor, a late attach) is
   * handed it as it starts.
   */
  async setRun(from: number): Promise<void> {
    this.runFrom = from;
    // An actor that cannot take it now (dying) has a successor, which is handed it as it starts.
    if (this.attached && this.actor.state === 'running') await this.actor.call((a) => a.setRun(from)).catch(() => {});
  }

  /** Writes the store's new rollups now (attaching the database first if it waits for room); resolves with whether the flush committed. */
  async flush(): Promise<boolean> {
    if (this.room && !(await this.attachForCall())) return false;
    const ok = await this.actor.call((a) => a.flush(), true);
    await this.refresh();
    return ok;
  }

  /** A flush that writes a hub's members' numbers in its transaction; resolves with whether it committed (false when the actor cannot answer). */
  async flushSeqs(seqs: HubSeq[], last: boolean): Promise<boolean> {
    if (this.actor.state === 'stopped') return false;
    try {
      return await this.actor.call((a) => a.flushSeqs(seqs, last), true);
    } catch (error) {
      if (error instanceof ActorError) return false;
      throw error;
    }
  }

  /** What a hub on this database needs of it (hub/durable.ts): its members' numbers, and flushes that write them. */
  seqDisk(): SeqDisk {
    return {
      load: async () => hubSeqsOf(await this.query(READ_HUB_SEQS)),
      flush: (seqs, last) => this.flushSeqs(seqs, last),
      flushMs: this.deps.options.storageFlushMs,
    };
  }

  /** Runs the control state's changes in one transaction, resolved once committed (see StorageActorApi.commit). */
  commit(ops: ControlOp[]): Promise<number> {
    return this.actor.call((a) => a.commit(ops));
  }

  /** Rows of a read on the file (the control state's at start, among others); rejects with a StorageError naming the file when SQLite refuses it. */
  query(sql: string, params?: SqlValue[]): Promise<SqlValue[][]> {
    return this.actor.call((a) => a.query(sql, params), true).catch((error: unknown) => {
      throw fromActor(this.file, error);
    });
  }

  /**
   * Stored rollups of a series; null when none are stored. Rejects when the actor cannot
   * answer, for the answer to say so; its caller reports the fault, once for all the series
   * of its read (a history of 500 series on a damaged file was 500 faults).
   */
  async history(name: string, tags: Record<string, string>, from: number, to: number, hourly = false): Promise<StoredRollups | null> {
    if (this.room) throw new StorageError(this.file, `is not attached yet: ${this.room.message}`);
    if (this.actor.state === 'stopped') return null;
    return this.actor.call((a) => a.history(name, tags, from, to, hourly), true);
  }

  /**
   * The error for a history of a metric this process does not know while the database is not
   * attached (a start that found no room): its name may be in the stored catalog, restored
   * only once the file is attached, so the answer is that its stored history is unread, not
   * that the metric does not exist; a likely typo of a known name is pointed out too.
   */
  unattachedMetricError(name: string, known: readonly string[]): StorageError {
    const why = this.room ? ` (${this.room.message})` : '';
    return new StorageError(this.file, `is not attached yet${why}: metric "${name}" has not been recorded by this process, and its stored history, if any, is unread until the file is attached (status().storage.attached)${didYouMean(name, known)}`);
  }

  /**
   * 1 where request i's series has stored rows in its range, else 0 (an index seek or two a
   * series, no rows read); rejects as history() does.
   */
  async storedIn(requests: HistoryRequest[]): Promise<Uint8Array> {
    if (this.room) throw new StorageError(this.file, `is not attached yet: ${this.room.message}`);
    if (this.actor.state === 'stopped') return new Uint8Array(requests.length);
    return this.actor.call((a) => a.storedIn(requests), true);
  }

  /**
   * The stored series of `name` (tags including `match`) this monitor did not register: the
   * oldest, left out at start for the live ones' headroom (src/storage/restore.ts). None while
   * the database is not attached or the actor stopped; rejects as history() does.
   */
  async storedOnly(name: string, match?: Record<string, string>): Promise<Record<string, string>[]> {
    if (this.room || this.actor.state === 'stopped') return [];
    return this.actor.call((a) => a.storedOnly(name, match), true);
  }

  /** What a report over time before the start says of the stored series the start left out (src/storage/restore.ts); undefined when none were. */
  leftOutNote(): string | undefined {
    const n = this.catalog?.leftOut ?? 0;
    if (n === 0) return undefined;
    return `${n.toLocaleString('en-US')} stored series of earlier runs are not in this report: the start left them out to keep room for the live series (status().storage.catalog says why); getMetricHistory() reads their history from the database`;
  }

  /** The runs that wrote the file and overlap [from, to) (src/storage/watched-runs.ts); rejects as history() does. */
  async runs(from: number, to: number): Promise<WatchedSpan[]> {
    if (this.room) throw new StorageError(this.file, `is not attached yet: ${this.room.message}`);
    return this.actor.call((a) => a.runs(from, to), true);
  }

  /**
   * A port on which the storage actor answers (a report pool thread reads stored rollups on
   * it, past this thread); null when the actor is stopped; the error when it cannot take one
   * now (a fault then), for the report to say why its stored history is missing.
   */
  async port(): Promise<MessagePort | Error | null> {
    if (this.actor.state === 'stopped') return null;
    const { port1, port2 } = new MessageChannel();
    try {
      await this.actor.call((a) => a.serve(Comlink.transfer(port1, [port1] as unknown as Parameters<typeof Comlink.transfer>[1])), true);
      return port2;
    } catch (error) {
      port2.close();
      this.deps.faults.report('storage', error);
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  status(): StorageStatusView {
    const attached = this.room === null && this.lock !== undefined && this.actor.state !== 'stopped';
    const view: StorageStatusView = { mode: 'sqlite', dataDir: this.dir, actor: { state: this.actor.state, restarts: this.actor.restarts }, attached, ...(this.catalog ? { catalog: { ...this.catalog } } : {}), ...(this.last ?? {}) };
    return this.room ? { ...view, lastError: { ...this.room }, failures: (this.last?.failures ?? 0) + this.roomFailures } : view;
  }

  /** The start found no room: recording goes on in memory, and attaching is tried again every storageFlushMs until it succeeds or stop(). */
  private scheduleAttach(): void {
    this.roomTimer = setTimeout(() => {
      this.roomTimer = undefined;
      void this.retryAttach().then((ok) => {
        if (!ok && this.retrying && this.roomTimer === undefined) this.scheduleAttach();
      });
    }, this.deps.options.storageFlushMs);
    this.roomTimer.unref();
  }

  /**
   * Tries to attach now (one attempt at a time, none after stop()); resolves with whether the
   * database is attached. Held (hold.ts) while it runs: it waits on the actor's start, whose
   * thread does not keep the host alive, and a host that awaited flushStorage() and nothing
   * else reached 'beforeExit', which stopped the monitor (host-exit.ts) as the attach
   * answered; what it recorded from then on was dropped, and nothing flushed again (a trial:
   * 300 of 350 samples on disk, flushes stuck at 2).
   */
  private retryAttach(): Promise<boolean> {
    if (!this.retrying) return Promise.resolve(false);
    this.attaching ??= holding((async () => {
      try {
        await this.attach();
      } catch (error) {
        // Whatever keeps it out now (still no room, another monitor that took the dataDir
        // meanwhile) is said the same way, and tried again.
        this.failedAttach(error);
        return false;
      }
      this.room = null;
      this.roomFailures = 0;
      this.retrying = false;
      clearTimeout(this.roomTimer);
      this.roomTimer = undefined;
      this.deps.emit('storage-recovered', {});
      // Its control state goes in before any flush: the stored rules and alerts join this
      // monitor's, and what it kept in memory meanwhile is committed after them.
      await this.deps.attached?.().catch((error: unknown) => this.deps.faults.report('storage-control', error));
      return true;
    })()).finally(() => (this.attaching = undefined));
    return this.attaching;
  }

  /**
   * An attach for a caller (flushStorage()): one that began before the call (the retry timer's)
   * may have met the lack of room the caller has just ended, so a failed one is followed by an
   * attempt of the call's own. A host that freed the disk and then called flushStorage() got
   * false, and nothing attached until the next timer (a CI run of 2026-12-06).
   */
  private async attachForCall(): Promise<boolean> {
    const joined = this.attaching !== undefined;
    if (await this.retryAttach()) return true;
    return joined && this.room !== null ? this.retryAttach() : false;
  }

  private failedAttach(error: unknown): void {
    const message = `${error instanceof Error ? error.message : String(error)}: the monitor records in memory and attaches the database once there is room, writing what it recorded meanwhile (what the store still holds: rollupCapacity)`;
    this.room = { message, at: wallNow() };
    this.roomFailures++;
    this.deps.faults.report('storage', new Error(message));
    this.deps.emit('storage-error', { message });
  }

  private onEvent(event: StorageEvent): void {
    if (event.ev === 'flushed') {
      this.learn(event.status);
      return;
    }
    if (event.ev === 'reopened') {
      this.deps.reopened?.();
      return;
    }
    if (event.ev === 'error') {
      // A damaged file's error says itself that the retries will not mend it.
      const retried = event.message.endsWith(DAMAGED_WRITE) ? '' : ' and is retried at the next flush';
      this.deps.faults.report('storage', new StorageError(this.file, `a write failed${retried}: ${event.message}`));
      this.deps.emit('storage-error', { message: event.message });
    } else {
      this.deps.emit('storage-recovered', {});
    }
    void this.refresh();
  }

  private async refresh(): Promise<void> {
    try {
      const status = await this.actor.call((a) => a.status());
      if (status) this.learn(status);
    } catch (error) {
      if (!(error instanceof ActorError)) throw error;
    }
  }

  /**
   * The actor's report, kept for status(); journal blobs it found damaged (at a start, or at
   * the flush that folded the journal a full disk had kept it from folding) are a fault once,
   * and stay in status past a new actor (a restart, a start() after stop()), whose fold had
   * nothing of them left to say. Rollups a flush found lost are a fault each time, summed here
   * past every actor. A retention pass's cutoff is handed to the monitor once (deps.retained).
   */
  private learn(status: StorageStatus): void {
    const lost = status.journalLost;
    const known = this.last?.journalLost ?? null;
    if (lost && lost.at !== known?.at) this.deps.faults.report('storage-journal', new Error(lost.message));
    const rollups = status.rollupsLost;
    const before = this.last?.rollupsLost ?? null;
    let sum = before;
    if (rollups && rollups.at !== before?.at) {
      this.deps.faults.report('storage', new StorageError(this.file, rollups.message));
      sum = { ...rollups, rollups: (before?.rollups ?? 0) + rollups.rollups };
    }
    // A file created again (removed or replaced while running): its earlier history is gone,
    // which a flush that went on without a word left unsaid (a fault, once as a process warning,
    // and a 'storage-error' event). Kept past a new actor, as journalLost is.
    const recreated = status.recreated ?? null;
    const said = this.last?.recreated ?? null;
    if (recreated && recreated.at !== said?.at) {
      const error = new StorageError(this.file, recreated.message);
      this.deps.faults.report('storage-recreated', error);
      this.deps.emit('storage-error', { message: error.message });
    }
    const cutoff = status.retainedBefore;
    if (cutoff !== null && cutoff !== this.last?.retainedBefore) this.deps.retained?.(cutoff);
    this.last = { ...status, journalLost: lost ?? known, rollupsLost: sum, recreated: recreated ?? said };
    // Rows written, not a flush that found nothing to write: one commits on a full disk too.
    if (status.lastError === null && status.lastFlushRows > 0 && status.lastFlushStartedAt !== null) this.deps.wrote?.(status.lastFlushStartedAt);
  }

  private async releaseLock(): Promise<void> {
    const lock = this.lock;
    this.lock = undefined;
    await lock?.release();
  }
}

/**
 * A StorageError the actor threw about `file` (workers/storage.ts read()), made one again:
 * comlink carries an error's name and message alone, and start() failed with an Error of no
 * code, which the CLI printed with its stack. Any other error is left as it is.
 */
function fromActor(file: string, error: unknown): unknown {
  if (error instanceof StorageError || !(error instanceof Error) || error.name !== 'StorageError' || !error.message.startsWith(`${file}: `)) return error;
  return new StorageError(file, error.message.slice(file.length + 2));
}

/** Whether a start failed for want of room on the disk (the lock, the file or its WAL could not grow), which frees itself: not a dataDir or file to change. */
function noRoom(error: unknown): boolean {
  return error instanceof StorageError && /\((ENOSPC|EDQUOT|SQLITE_FULL|SQLITE_IOERR\w*):/.test(error.message);
}

/**
 * When a database was last written: its WAL's time, where a commit is appended, or the file's
 * (read before the actor opens it, which writes). Undefined when neither is there (no
 * database yet: nothing of it to lose).
 */
async function lastWriteOf(file: string): Promise<number | undefined> {
  const times = await Promise.all([file, `${file}-wal`].map((f) => stat(f).then((s) => s.mtimeMs, () => undefined)));
  const known = times.filter((t): t is number => t !== undefined);
  return known.length > 0 ? Math.max(...known) : undefined;
}

/** The status of a catalog restored, with why series were left out when some were. */
function catalogView(r: CatalogRestore, maxSeries: number): CatalogView {
  const view: CatalogView = { stored: r.total, registered: r.registered, headroom: r.headroom, leftOut: r.leftOut, failed: r.failed };
  if (r.leftOut > 0) {
    const room = r.headroom >= maxSeries ? `all of maxSeries ${maxSeries.toLocaleString('en-US')} free for the series the service records now (it recorded at least that many in its last stored hour)` : `${r.headroom.toLocaleString('en-US')} of maxSeries ${maxSeries.toLocaleString('en-US')} free for the series the service records now (as many as it recorded in its last stored hour)`;
    view.why = `the ${r.leftOut.toLocaleString('en-US')} stored series with the oldest data were not registered, to keep ${room}; their history is still read from the database (getMetricHistory lists them with id -1), and one the service records again is registered with its history whole; to register more of them at start, raise maxSeries`;
  }
  return view;
}
