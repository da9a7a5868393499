/**
 * The profile directories under the system's temporary directory: one a process
 * (`perfwatch-profiles-<pid>`), for a monitor with storage 'memory' or one whose dataDir
 * another process holds. Each is bounded (files.ts), but a process that exits leaves its
 * directory, and a service restarted many times would leave as many. So the first profile a
 * process writes into its own directory removes those of processes that have exited: our
 * files in them, then the directory if nothing else is left in it (anything else stays).
 */
import { readdir, rmdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { processAlive } from '../process-alive.js';

const PREFIX = 'perfwatch-profiles-';
const TEMP_DIR = /^perfwatch-profiles-(\d+)$/;

/** This process's directory under the system's temporary directory (read when called: TMPDIR may change). */
export function ownTempDir(): string {
  return resolve(tmpdir(), `${PREFIX}${process.pid}`);
}

/** True when `dir` is a process's own temporary directory, as ownTempDir() names it. */
export function isOwnTempDir(dir: string): boolean {
  return basename(dir) === `${PREFIX}${process.pid}`;
}

/**
 * Removes, in `root`, the profile directories of processes that have exited: the files `ours`
 * accepts, then the directory when empty. Answers how many directories went. Never rejects.
 */
export async function reapExitedTempDirs(root: string, ours: RegExp): Promise<number> {
  let removed = 0;
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(TEMP_DIR.exec(name)?.[1]);
    if (!(pid > 0) || pid === process.pid || processAlive(pid)) continue;
    const dir = join(root, name);
    try {
      for (const f of await readdir(dir)) if (ours.test(f)) await unlink(join(dir, f)).catch(() => {});
      await rmdir(dir);
      removed++;
    } catch {
      // Not a directory, not ours to empty, or something else is left in it: it stays.
    }
  }
  return removed;
}
