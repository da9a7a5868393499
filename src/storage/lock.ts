/**
 * One process owns a dataDir: a lock file (`perfwatch.lock`, holding the owner's pid) made
 * with O_EXCL, so that two processes racing for it cannot both win. A lock whose pid is no
 * longer alive was left by a process that died without releasing it (a SIGKILL): it is taken
 * over. Two monitors of one process on one directory are refused too (the pid is then this
 * process's own).
 */
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError, StorageLockedError } from '../errors.js';
import { processAlive } from '../process-alive.js';

export const LOCK_FILE = 'perfwatch.lock';

export interface DirLock {
  readonly dir: string;
  release(): Promise<void>;
}

/** Creates `dir` when absent and takes its lock; throws StorageError or StorageLockedError naming it. */
export async function acquireLock(dir: string): Promise<DirLock> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new StorageError(dir, `cannot be created (${reason(error)}): choose a dataDir this process may create and write`);
  }
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(file, 'wx');
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      return { dir, release: () => release(file) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) {
        throw new StorageError(dir, `cannot be written (${reason(error)}): choose a dataDir this process may write`);
      }
    }
    // An empty file may be a lock being written this moment: look again a little later.
    const pid = (await ownerOf(file)) ?? (await new Promise((resolve) => setTimeout(resolve, 50)), await ownerOf(file));
    if (pid !== undefined && processAlive(pid)) throw new StorageLockedError(dir, pid);
    // A dead owner's lock: take it over.
    await unlink(file).catch(() => {});
  }
}

async function release(file: string): Promise<void> {
  if ((await ownerOf(file)) === process.pid) await unlink(file).catch(() => {});
}

async function ownerOf(file: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
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
