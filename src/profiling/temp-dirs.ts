/**
 * The profile directories under the system's temporary directory: one a process
 * (`perfwatch-profiles-<pid>`), for a monitor with storage 'memory' or one whose dataDir
 * another process holds. Each is bounded (files.ts), but a process that exits leaves its
 * directory, and a service restarted many times would leave as many. So the first profile a
 * process writes into its own directory removes those of processes that have exited: our
 * files in them, then the directory if nothing else is left in it (anything else stays).
 */
import { chmod, lstat, readdir, rmdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { processAlive } from '../process-alive.js';

const PREFIX = 'perfwatch-profiles-';
const TEMP_DIR = /^perfwatch-profiles-(\d+)$/;

/** This process's directory under the system's temporary directory (read when called: TMPDIR may change). */
export function ownTempDir(): string {
  return resolve(tmpdir(), `${PREFIX}${process.pid}`);
}

/**
 * Makes sure `dir`, this process's own temporary directory, is its own: a directory, not a
 * symbolic link, of this process's user, which no one else may read or write (0700). Its name
 * is the pid, which every user of a shared temporary directory can know: a link made there
 * first, to a directory of the maker's choosing, had every profile of the process written where
 * it chose, to read, or to have us write through links of its own. Rejects saying why.
 */
export async function claimOwnTempDir(dir: string): Promise<void> {
  const st = await lstat(dir);
  const why = st.isSymbolicLink() ? 'is a symbolic link' : !st.isDirectory() ? 'is not a directory' : process.getuid && st.uid !== process.getuid() ? `belongs to user ${st.uid}` : null;
  if (why) throw new Error(`${dir} ${why}, not a directory of this process: another user may have made it; no profile is written there`);
  if ((st.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
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
      // A link at such a name is not followed: its maker chose where it leads.
      if (!(await lstat(dir)).isDirectory()) continue;
      for (const f of await readdir(dir)) if (ours.test(f)) await unlink(join(dir, f)).catch(() => {});
      await rmdir(dir);
      removed++;
    } catch {
      // Not a directory, not ours to empty, or something else is left in it: it stays.
    }
  }
  return removed;
}
