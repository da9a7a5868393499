/**
 * One process owns a dataDir: a lock file (`perfwatch.lock`, holding the owner's pid and, on
 * Linux, its start time) linked into place whole, so that two processes racing for it cannot
 * both win. A lock whose pid is no longer alive was left by a process that died without
 * releasing it (a SIGKILL): it is taken over, one taker at a time (TAKEOVER_FILE). So is one whose pid is alive but started at another time:
 * the pid was reused, as a container restarted after a SIGKILL reuses its PID 1, this very
 * process included. Two monitors of one process on one directory are refused too (the pid and
 * start are then this process's own).
 *
 * The owner keeps the lock file open while it holds it. A monitor of a worker thread that ends
 * without stop() (worker.terminate(), an uncaught error in the thread) cannot release its
 * lock, but Node closes the thread's files; so, on Linux, a lock of this process that no
 * thread of it has open (/proc/self/fd) is a dead thread's and is taken over. It refused every
 * later monitor of the process on that dataDir, saying to stop() a monitor that was gone.
 */
import { closeSync, openSync, readdirSync, readFileSync, statSync, writeSync, type Stats } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { link, open, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout, wallNow } from '../engine/real-timers.js';
import { StorageError, StorageLockedError } from '../errors.js';
import { makeDirs } from '../make-dirs.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../private-files.js';
import { processAlive } from '../process-alive.js';
import { notAFile } from './file-kind.js';

export const LOCK_FILE = 'perfwatch.lock';

export interface DirLock {
  readonly dir: string;
  /** The pid of the process whose lock this one took over: it ended without stop() (killed, crashed, process.exit()). */
  readonly leftBy?: number;
  /**
   * Whether that lock was this very process's (its pid and start time): a monitor of one of its
   * worker threads that ended (terminated) without stop(). The warning named the process's own
   * pid and said "its process crashed" of the process that read it.
   */
  readonly leftHere?: boolean;
  release(): Promise<void>;
}

/**
 * Held by a monitor while it removes a dead owner's lock, made and judged as the lock is: two
 * monitors that both judged the lock dead (processes restarted together after a crash) both
 * removed it, one of them the lock the other had just made in its place, and both owned the
 * dataDir. Under this guard a taker reads the lock again before it removes it.
 */
export const TAKEOVER_FILE = 'perfwatch.lock.takeover';

/** What link() says on a file system that has no hard links. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** How long start() waits on other monitors taking over a dead owner's lock (each takes milliseconds). */
const TAKEOVER_WAIT_MS = 2_000;

/** Creates `dir` when absent and takes its lock; throws StorageError or StorageLockedError naming it. */
export async function acquireLock(dir: string): Promise<DirLock> {
  try {
    await makeDirs(dir, PRIVATE_DIR_MODE);
  } catch (error) {
    throw new StorageError(dir, `cannot be created (${reason(error)}): choose a dataDir this process may create and write, or storage: 'memory' to keep nothing on disk`);
  }
  const file = join(dir, LOCK_FILE);
  const deadline = wallNow() + TAKEOVER_WAIT_MS;
  let leftBy: number | undefined;
  let leftHere = false;
  for (;;) {
    let handle: FileHandle | undefined;
    try {
      handle = await createOwned(dir, file);
    } catch (error) {
      // A disk too full for this process's lock (start() then goes on in memory and takes the
      // lock once there is room) must not hide a lock another live monitor holds: that one
      // refuses as ever.
      const owner = await ownerOf(file);
      if (owner !== undefined && holds(owner, file)) throw new StorageLockedError(dir, owner.pid);
      throw error;
    }
    // Open until release(): what tells this lock from one a dead thread of this process left.
    if (handle) return { dir, ...(leftBy !== undefined ? { leftBy, leftHere } : {}), release: () => release(file, handle) };
    // Something that is no file was never a lock: it is no one's to take over.
    const strange = notALockFile(dir, file);
    if (strange) throw strange;
    const owner = await ownerOf(file);
    if (owner !== undefined && holds(owner, file)) throw new StorageLockedError(dir, owner.pid);
    if (owner !== undefined) {
      leftBy = owner.pid;
      leftHere = owner.pid === process.pid && !reused(owner);
    }
    // A dead owner's lock, one whose pid another process has now, or a dead thread's of this process: take it over.
    const taker = await removeDead(dir, file);
    if (taker !== undefined && wallNow() > deadline) {
      throw new StorageError(dir, `cannot be taken: pid ${taker} has held ${join(dir, TAKEOVER_FILE)} for ${TAKEOVER_WAIT_MS / 1000} s, taking over a dead monitor's lock; try again, or remove that file if pid ${taker} is no perfwatch monitor`);
    }
  }
}

/**
 * Makes `file` holding this process's line, answering its open handle, or undefined when it
 * exists. Written whole under another name and linked into place, so that it is never seen
 * empty: a lock being written looked like a dead owner's to another monitor's takeover.
 */
async function createOwned(dir: string, file: string): Promise<FileHandle | undefined> {
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}`;
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx');
    await handle.writeFile(ownLine());
    try {
      await link(temp, file);
    } catch (error) {
      if (!NO_LINKS.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
      // A file system without hard links (FAT, some network shares): made in place, as before.
      await handle.close();
      handle = await open(file, 'wx');
      await handle.writeFile(ownLine());
    }
    return handle;
  } catch (error) {
    await handle?.close().catch(() => {});
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw new StorageError(dir, `cannot be written (${reason(error)}): ${advice(error)}`);
  } finally {
    await unlink(temp).catch(() => {});
  }
}

/**
 * Removes the lock when it is a dead owner's, judged again under the takeover guard; answers
 * the pid of another monitor holding the guard (the caller looks again a moment later), or
 * undefined once this one has done its part.
 */
async function removeDead(dir: string, file: string): Promise<number | undefined> {
  const guardFile = join(dir, TAKEOVER_FILE);
  const guard = await createOwned(dir, guardFile);
  if (!guard) {
    const taker = await ownerOf(guardFile);
    if (taker !== undefined && holds(taker, guardFile)) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      return taker.pid;
    }
    // A taker that died within its milliseconds at it: its guard goes. Two monitors that both
    // find it so may both go on, as before the guard; that takes a death and a race at once.
    await unlink(guardFile).catch(() => {});
    return undefined;
  }
  try {
    // A lock read here cannot change before the unlink below: it is only made where none is,
    // and only a taker, under this guard, removes another's.
    let text = await readIfThere(file);
    // An empty one may be an older perfwatch's being written this moment: look again a little later.
    if (text !== undefined && parseOwner(text) === undefined) text = (await new Promise((resolve) => setTimeout(resolve, 50)), await readIfThere(file));
    if (text === undefined) return undefined;
    const owner = parseOwner(text);
    if (owner !== undefined && holds(owner, file)) return undefined;
    if (owner === undefined) {
      const refused = notOurs(dir, file, text);
      if (refused) throw refused;
    }
    try {
      await unlink(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new StorageError(dir, `cannot be written (${reason(error)}): its lock was left by a process that ended (${file}), and cannot be removed; choose a dataDir this process may write`);
    }
    return undefined;
  } finally {
    await unlink(guardFile).catch(() => {});
    await guard.close().catch(() => {});
  }
}

/**
 * How old an empty lock file must be to be taken over: a monitor that makes its lock in place
 * (an older perfwatch, or a file system without hard links) leaves it empty when it dies
 * between its create and its write, and one younger than this may be being written still.
 */
export const EMPTY_LOCK_TAKEN_AFTER_MS = 5_000;

/**
 * The error for a lock file whose text is no pid (read under the takeover guard, a second
 * time): a file with other text is not perfwatch's, so it is not removed (perfwatch never
 * deletes what it did not make; it was taken over and deleted at stop() without a word); an
 * empty one is refused while younger than EMPTY_LOCK_TAKEN_AFTER_MS. Undefined: an empty one
 * older than that, taken over as a lock its maker died writing.
 */
function notOurs(dir: string, file: string, text: string): StorageError | undefined {
  if (text.trim() !== '') {
    const shown = JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
    return new StorageError(dir, `${file} is not perfwatch's lock file (it holds ${shown}, not a pid): remove it (perfwatch never deletes what it did not make), or choose another dataDir`);
  }
  let age = Infinity;
  try {
    age = wallNow() - statSync(file).mtimeMs;
  } catch {
    // gone meanwhile: nothing to refuse
  }
  if (age >= EMPTY_LOCK_TAKEN_AFTER_MS) return undefined;
  return new StorageError(dir, `${file} is empty and was written under ${EMPTY_LOCK_TAKEN_AFTER_MS / 1000} s ago: a monitor may be making it; try again (an empty one older than that is taken over, as a lock its maker died writing), or remove it if no perfwatch monitor uses this dataDir`);
}

/** Whether the process a lock names still holds it: alive, the same process that wrote it, and for this process, a thread of it has the file open. */
function holds(owner: LockOwner, file: string): boolean {
  return processAlive(owner.pid) && !reused(owner) && !(owner.pid === process.pid && openHere(file) === false);
}

/**
 * Makes the lock file again, for a monitor whose dataDir was removed while it ran (`rm -rf`, a
 * cleaner of /tmp) and that writes a new database there (StorageService): without it, another
 * process could take the directory and both would write one file. Synchronous (the storage
 * actor's flush is); answers the open descriptor, which its caller keeps open as the owner
 * does (openHere). Throws StorageLockedError when another monitor made one first.
 */
export function claimLockSync(dir: string): number {
  const file = join(dir, LOCK_FILE);
  let fd: number;
  try {
    fd = openSync(file, 'wx', PRIVATE_FILE_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw lockedBy(dir, file);
    throw new StorageError(dir, `cannot be written (${reason(error)}): ${advice(error)}`);
  }
  writeSync(fd, ownLine());
  return fd;
}

/** The error for a lock file this monitor did not make: its owner's pid, when the file says one. */
export function lockedBy(dir: string, file: string = join(dir, LOCK_FILE)): StorageError {
  const strange = notALockFile(dir, file);
  if (strange) return strange;
  let owner: LockOwner | undefined;
  try {
    owner = parseOwner(readFileSync(file, 'utf8'));
  } catch {
    // gone or unreadable meanwhile: no pid to name
  }
  return owner !== undefined ? new StorageLockedError(dir, owner.pid) : new StorageError(dir, `is in use by another perfwatch monitor (${file} is not this monitor's)`);
}

/**
 * The error for a lock path that holds no file (a directory, a FIFO, …): no perfwatch made it,
 * so it is not removed as a dead owner's lock would be, and it was taken for a lock being
 * written until the attempts ran out ("cannot be written (EEXIST …)", of a directory this
 * process may write). Undefined when it is a file, or gone.
 */
function notALockFile(dir: string, file: string): StorageError | undefined {
  let stats: Stats;
  try {
    stats = statSync(file);
  } catch {
    return undefined;
  }
  const what = notAFile(stats);
  if (what === undefined) return undefined;
  return new StorageError(dir, `${file} is ${what}, not perfwatch's lock file: remove it (perfwatch never deletes what it did not make), or choose another dataDir`);
}

/** Closes a descriptor claimLockSync answered (the file stays: release() removes it). */
export function closeLockSync(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // closed already
  }
}

async function release(file: string, handle: FileHandle): Promise<void> {
  if ((await ownerOf(file))?.pid === process.pid) await unlink(file).catch(() => {});
  await handle.close().catch(() => {});
}

/**
 * Whether a thread of this process has `file` open (by device and inode, through
 * /proc/self/fd); undefined where that cannot be read (no /proc): then the lock is kept.
 */
function openHere(file: string): boolean | undefined {
  let fds: string[];
  let lock: { dev: number; ino: number };
  try {
    fds = readdirSync('/proc/self/fd');
    lock = statSync(file);
  } catch {
    return undefined;
  }
  return fds.some((fd) => {
    try {
      const s = statSync(`/proc/self/fd/${fd}`);
      return s.ino === lock.ino && s.dev === lock.dev;
    } catch {
      return false;
    }
  });
}

interface LockOwner {
  pid: number;
  started: string | undefined;
}

/** What this process writes into a lock it takes: its pid and, where /proc says it, its start time. */
function ownLine(): string {
  const started = startOf(process.pid);
  return started === undefined ? `${process.pid}\n` : `${process.pid} ${started}\n`;
}

/** A lock's pid and, when it has one, its owner's start time (a lock of an older perfwatch has the pid alone). */
function parseOwner(text: string): LockOwner | undefined {
  const [pid, started] = text.trim().split(' ');
  const n = Number(pid);
  return Number.isInteger(n) && n > 0 ? { pid: n, started: started || undefined } : undefined;
}

async function ownerOf(file: string): Promise<LockOwner | undefined> {
  const text = await readIfThere(file);
  return text === undefined ? undefined : parseOwner(text);
}

/** A file's text, or undefined when it cannot be read (gone). */
async function readIfThere(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Whether the lock's live pid is another process's than the one that wrote it: it started at another time (known only when both times are). */
function reused(owner: LockOwner): boolean {
  const now = owner.started === undefined ? undefined : startOf(owner.pid);
  return now !== undefined && now !== owner.started;
}

/**
 * When a process started, in clock ticks since boot (field 22 of /proc/PID/stat, read after
 * the command name, which may hold spaces and parentheses); undefined where there is no
 * /proc or no such process.
 */
function startOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * What to do about a lock that cannot be written: a full disk wants room, and a process with no
 * file descriptor left (EMFILE) more of them, not another dataDir, which would fail the same.
 */
function advice(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'free space on its file system';
  if (code === 'EMFILE') return 'this process has no file descriptor left: let it open more (ulimit -n) or close some it holds';
  return "choose a dataDir this process may write, or storage: 'memory' to keep nothing on disk";
}

/** The error with its code once: node:fs messages already begin with it ("EACCES: permission denied, mkdir …"). */
function reason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (!e.code) return String(error);
  return e.message.startsWith(`${e.code}:`) ? e.message : `${e.code}: ${e.message}`;
}
