/**
 * The coordinator's queue of control-state changes (rules, transitions, alert states,
 * baselines, the audit log, tunable values) to the storage actor, which commits each batch
 * in one transaction. The main thread only posts the batch and awaits the actor's answer: it
 * never waits on the disk itself.
 *
 * Two kinds of change, two behaviours when the disk fails (full, removed, read-only):
 * - required(): what a caller is acknowledged for (creating or deleting a rule). It resolves
 *   once committed; if it cannot be, it rejects with a StorageError naming the database and
 *   the disk's error, and the change is dropped: the caller's state does not move, so what
 *   was acknowledged is exactly what a restart finds.
 * - kept(): what happens whatever the disk does (an alert transition fires and notifies even
 *   with the disk full). It resolves true once committed, false when the disk failed: the
 *   changes then wait here, in order, counted as unsaved (status), and are retried every
 *   `retryMs` and before any later change, until the disk recovers.
 *
 * Changes made before the first start() wait here, and are committed when the storage opens.
 * Those made between a run's stop() and the next start() are committed at once by a visit
 * (deps.visit: the database opened for the commit and let go), a required change answered
 * once it is in, as while running: they waited here too, and a close() or the process's end
 * lost them (a rule deleted while stopped came back at the next start). While a running monitor waits for room to attach its database
 * (refuse()), required() rejects as on a full disk, and kept changes wait. Commits are one at a time, in call order; changes queued during
 * a commit go together in the next one.
 */
import { StorageError } from '../errors.js';
import type { ControlOp } from '../actors/protocols.js';
import { compactOps } from './control-compact.js';
import { clearTimeout, setTimeout, wallNow } from '../engine/real-timers.js';

/** Changes waiting in memory at which they are first compacted (control-compact.ts); then at twice what a compaction left. */
const COMPACT_FROM = 10_000;

export interface ControlLogDeps {
  /** Commits the ops in one transaction in the storage actor; rejects when it could not. */
  commit(ops: ControlOp[]): Promise<void>;
  /** The database file, named in errors. */
  path: string;
  retryMs: number;
  /** A commit failed (counted as a storage fault); called once per failing commit. */
  fault(error: unknown): void;
  /**
   * Runs `work` with the storage open, on a monitor stopped after a run (close(true)): the
   * database is opened for it and let go after (StorageLink.visit), or it runs as it is when
   * the monitor started meanwhile. Rejects when the database cannot be opened.
   */
  visit?(work: () => Promise<void>): Promise<void>;
}

interface Entry {
  ops: ControlOp[];
  /** Rejects the caller instead of keeping the ops when the commit fails. */
  required: string | undefined;
  done: (saved: boolean, error?: Error) => void;
}

export interface ControlLogStatus {
  /** Changes kept in memory that the disk has not taken yet. */
  unsaved: number;
  /** The disk's error of the last failed commit, until one succeeds or the storage's flushes write again (storageWrote). */
  lastError: string | null;
  lastErrorAt: number | null;
}

export class ControlLog {
  private readonly deps: ControlLogDeps;
  /** Kept changes not committed yet, oldest first: they go before any later change. */
  private unsaved: ControlOp[] = [];
  private compactAt = COMPACT_FROM;
  /** A commit of `unsaved`'s first ops is in flight: they are dropped by count once it succeeds, so they are not compacted meanwhile. */
  private inFlight = false;
  private queue: Entry[] = [];
  private open = false;
  private committing = false;
  private retry: NodeJS.Timeout | undefined;
  private lastError: string | null = null;
  private lastErrorAt: number | null = null;
  /** Why the database cannot be opened now (a start that found no room): required() rejects meanwhile. */
  private refusing: string | null = null;
  /** Stopped after a run (close(true)): changes are committed by a visit (deps.visit), not left to wait for a start. */
  private between = false;
  /** The visit that will commit the kept changes waiting, not begun yet: later kept changes go with it. */
  private nextVisit: Promise<boolean> | undefined;

  constructor(deps: ControlLogDeps) {
    this.deps = deps;
  }

  /** Resolves once the ops are committed; rejects with a StorageError (and drops them) when they cannot be. `what` names them in the error. */
  required(ops: ControlOp[], what: string): Promise<void> {
    if (!this.open) {
      if (this.refusing !== null) return Promise.reject(this.notDone(what, this.refusing));
      if (this.between && this.deps.visit) {
        // The commit's own refusal is said as it is; a database that could not be opened, here.
        let refused: { error: unknown } | undefined;
        const work = () => this.required(ops, what).catch((error: unknown) => void (refused = { error }));
        return this.deps.visit(work).then(
          () => {
            if (refused) throw refused.error;
          },
          (error: unknown) => {
            const why = error instanceof Error ? error.message : String(error);
            throw new StorageError(this.deps.path, `cannot save ${what}, so it was not done: the monitor is stopped, and its database could not be opened for the change: ${why}. Try again once it can, or start() the monitor`);
          },
        );
      }
      this.keep(ops);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      this.enqueue({ ops, required: what, done: (saved, error) => (saved ? resolve() : reject(error)) });
    });
  }

  /** Resolves true once the ops are committed, false when they wait in memory (disk fault, storage closed). */
  kept(ops: ControlOp[]): Promise<boolean> {
    if (!this.open) {
      this.keep(ops);
      if (this.between && this.deps.visit) return this.visitSoon();
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve) => this.enqueue({ ops, required: undefined, done: resolve }));
  }

  /** The storage actor is up: commits what waits. Resolves true when nothing is left unsaved. */
  async opened(): Promise<boolean> {
    this.open = true;
    await this.kept([]);
    return this.unsaved.length === 0;
  }

  /**
   * Commits what waits (stop()), then holds later changes until opened() again; `between`: the
   * monitor stopped after a run on its database, so later changes are committed by a visit
   * (deps.visit). True when all is on disk.
   */
  async close(between = false): Promise<boolean> {
    if (this.open) await this.kept([]);
    this.open = false;
    this.between = between;
    clearTimeout(this.retry);
    this.retry = undefined;
    return this.unsaved.length === 0;
  }

  /**
   * The monitor runs and its database cannot be opened (why, or null once it can): a change
   * acknowledged now would be in memory only, so required() rejects, as on a full disk.
   */
  refuse(why: string | null): void {
    this.refusing = why;
  }

  /**
   * Adds `offset` to the numbers of the transitions waiting (made while the database was not
   * attached, numbered from 1): the stored ones, read late, go first (Alerting.restore).
   */
  renumber(offset: number): void {
    this.unsaved = this.unsaved.map((op) => (op.op === 'transition' || op.op === 'annotate-transition' ? { ...op, seq: op.seq + offset } : op));
  }

  /** Forgets what waits (the stored state is being discarded), and makes no visit any more: that would make the database again. */
  discard(): void {
    this.unsaved = [];
    this.between = false;
  }

  /**
   * The visit that commits the kept changes waiting (stopped after a run): one not begun yet
   * takes later ones too, so a burst of them (a notifier's outbox rows) opens the database
   * once. True once committed; false when it could not be opened (the changes wait for the
   * next visit or start(); the fault is reported).
   */
  private visitSoon(): Promise<boolean> {
    let saved = false;
    this.nextVisit ??= this.deps
      .visit!(async () => {
        this.nextVisit = undefined;
        // A failed commit is reported by the commit, and its changes wait here.
        saved = await this.kept([]);
      })
      .then(
        () => saved,
        (error: unknown) => {
          this.nextVisit = undefined;
          this.deps.fault(error);
          return false;
        },
      );
    return this.nextVisit;
  }

  /**
   * The storage actor wrote to the database: a flush that began at `startedAt` (wall ms, as
   * lastErrorAt: the monitor's clock, which the actor stamps, runs ahead of it after a step back) committed rows.
   * A failed commit whose changes were all required (refused to their callers, nothing kept
   * here) leaves no retry behind to clear its error: the disk's recovery clears it, so that
   * status no longer says the disk fails once it takes writes again, as the refusal's message
   * ("try again once status().storage shows no error") promises. Kept changes clear it by
   * their own commit (the retry), and a commit under way says itself how it went.
   */
  storageWrote(startedAt: number): void {
    if (this.lastErrorAt === null || this.committing || this.unsaved.length > 0 || startedAt <= this.lastErrorAt) return;
    this.lastError = null;
    this.lastErrorAt = null;
  }

  status(): ControlLogStatus {
    return { unsaved: this.unsaved.length, lastError: this.lastError, lastErrorAt: this.lastErrorAt };
  }

  /** Adds changes to those waiting, compacted once they have grown (amortised: at twice what the last compaction left). */
  private keep(ops: ControlOp[]): void {
    this.unsaved.push(...ops);
    if (this.inFlight || this.unsaved.length < this.compactAt) return;
    this.unsaved = compactOps(this.unsaved);
    this.compactAt = Math.max(COMPACT_FROM, 2 * this.unsaved.length);
  }

  private notDone(what: string, why: string): StorageError {
    return new StorageError(this.deps.path, `cannot save ${what}, so it was not done: ${why}. The monitor goes on in memory and retries the disk; try again once status().storage shows no error`);
  }

  private enqueue(entry: Entry): void {
    this.queue.push(entry);
    if (this.committing) return;
    this.committing = true;
    void this.pump();
  }

  /** Commits the queue, batch after batch, until it is empty. */
  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      const entries = this.queue;
      this.queue = [];
      const kept = this.unsaved;
      const ops = [...kept];
      for (const e of entries) ops.push(...e.ops);
      let failure: Error | undefined;
      if (ops.length > 0) {
        try {
          this.inFlight = true;
          await this.deps.commit(ops).finally(() => (this.inFlight = false));
          this.unsaved = this.unsaved.slice(kept.length);
          this.lastError = null;
          this.lastErrorAt = null;
        } catch (error) {
          failure = error instanceof Error ? error : new Error(String(error));
          this.lastError = failure.message;
          this.lastErrorAt = wallNow();
          this.deps.fault(failure);
        }
      }
      for (const e of entries) {
        if (!failure) e.done(true);
        else if (e.required !== undefined) e.done(false, this.notDone(e.required, failure.message));
        else {
          this.keep(e.ops);
          e.done(false);
        }
      }
    }
    this.committing = false;
    if (this.unsaved.length > 0 && this.open && this.retry === undefined) {
      this.retry = setTimeout(() => {
        this.retry = undefined;
        if (this.open) void this.kept([]);
      }, this.deps.retryMs);
      this.retry.unref();
    }
  }
}
