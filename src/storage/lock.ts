/**
 * One process owns a dataDir: a lock file (`perfwatch.lock`, holding the owner's pid and, on
 * Linux, its start time) made with O_EXCL, so that two processes racing for it cannot both
 * win. A lock whose pid is no longer alive was left by a process that died without releasing
 * it (a SIGKILL): it is taken over. So is one whose pid is alive but started at another time:
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
import { open, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError, StorageLockedError } from '../errors.js';
import { makeDirs } from '../make-dirs.js';
import { processAlive } from '../process-alive.js';

export const LOCK_FILE = 'perfwatch.lock';

export interface DirLock {
  readonly dir: string;
  release(): Promise<void>;
}

/** Creates `dir` when absent and takes its lock; throws StorageError or StorageLockedError naming it. */
export async function acquireLock(dir: string): Promise<DirLock> {
  try {
    await makeDirs(dir);
  } catch (error) {
    throw new StorageError(dir, `cannot be created (${reason(error)}): choose a dataDir this process may create and write`);
  }
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(file, 'wx');
      try {
        await handle.writeFile(ownLine());
      } catch (error) {
        await handle.close().catch(() => {});
        throw error;
      }
      // Open until release(): what tells this lock from one a dead thread of this process left.
      return { dir, release: () => release(file, handle) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) {
        throw new StorageError(dir, `cannot be written (${reason(error)}): choose a dataDir this process may write`);
      }
    }
    // Something that is no file was never a lock: it is no one's to take over.
    const strange = notALockFile(dir, file);
    if (strange) throw strange;
    // An empty file may be a lock being written this moment: look again a little later.
    const owner = (await ownerOf(file)) ?? (await new Promise((resolve) => setTimeout(resolve, 50)), await ownerOf(file));
    if (owner !== undefined && processAlive(owner.pid) && !reused(owner) && !(owner.pid === process.pid && openHere(file) === false)) throw new StorageLockedError(dir, owner.pid);
    // A dead owner's lock, one whose pid another process has now, or a dead thread's of this process: take it over.
    await unlink(file).catch(() => {});
  }
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
    fd = openSync(file, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw lockedBy(dir, file);
    throw new StorageError(dir, `cannot be written (${reason(error)}): choose a dataDir this process may write`);
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
  if (stats.isFile()) return undefined;
  const what = stats.isDirectory() ? 'a directory' : stats.isFIFO() ? 'a FIFO' : stats.isSocket() ? 'a socket' : 'a device';
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
  try {
    return parseOwner(await readFile(file, 'utf8'));
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

/** The error with its code once: node:fs messages already begin with it ("EACCES: permission denied, mkdir …"). */
function reason(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (!e.code) return String(error);
  return e.message.startsWith(`${e.code}:`) ? e.message : `${e.code}: ${e.message}`;
}
