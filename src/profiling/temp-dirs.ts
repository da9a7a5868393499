/**
 * The profile directories under the system's temporary directory: one a monitor
 * (`perfwatch-profiles-<pid>-<8 hex digits>`), for a monitor with storage 'memory' or one whose
 * dataDir another process holds. One a process had two monitors' bounds (files.ts) count and
 * prune each other's files: a profile one monitor had just answered was deleted by the other's
 * next write. Each is bounded, but a process that exits leaves its directories, and a service
 * restarted many times would leave as many. So the first profile a monitor writes into its own
 * directory removes those of processes that have exited: our files in them, then the directory
 * if nothing else is left in it (anything else stays). A directory named with this process's
 * pid that none of its monitors made, older than the process, is a dead process's whose pid
 * was reused: it goes too.
 */
import { randomBytes } from 'node:crypto';
import { chmod, lstat, readdir, rmdir, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { processAlive } from '../process-alive.js';

const PREFIX = 'perfwatch-profiles-';
/** A monitor's directory, or a process's of a release before one a monitor (no suffix). */
const TEMP_DIR = /^perfwatch-profiles-(\d+)(-[0-9a-f]{8})?$/;
const OWN_SUFFIX = /^-[0-9a-f]{8}$/;

/**
 * The directories this process's monitors were given, of every copy of perfwatch loaded in it
 * (hence on globalThis): never reaped by this process, and told from a dead process's of the
 * same pid.
 */
const GIVEN = Symbol.for('perfwatch.profile-temp-dirs');
function given(): Set<string> {
  const g = globalThis as { [GIVEN]?: Set<string> };
  return (g[GIVEN] ??= new Set());
}

/** A new monitor's own directory under the system's temporary directory (read when called: TMPDIR may change); made at its first profile. */
export function ownTempDir(): string {
  const dir = resolve(tmpdir(), `${PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  given().add(basename(dir));
  return dir;
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

/** True when `dir` is a monitor's own temporary directory, as ownTempDir() names it. */
export function isOwnTempDir(dir: string): boolean {
  const name = basename(dir);
  return name.startsWith(`${PREFIX}${process.pid}-`) && OWN_SUFFIX.test(name.slice(PREFIX.length + String(process.pid).length));
}

/**
 * Removes, in `root`, the profile directories of processes that have exited: the files `ours`
 * accepts, then the directory when empty. Answers how many directories went. Never rejects.
 */
export async function reapExitedTempDirs(root: string, ours: RegExp): Promise<number> {
  let removed = 0;
  const names = await readdir(root).catch(() => [] as string[]);
  // When this process started: a directory of its pid not modified since is a dead process's.
  const started = Date.now() - process.uptime() * 1000;
  for (const name of names) {
    const pid = Number(TEMP_DIR.exec(name)?.[1]);
    if (!(pid > 0) || given().has(name) || (pid !== process.pid && processAlive(pid))) continue;
    const dir = join(root, name);
    try {
      // A link at such a name is not followed: its maker chose where it leads.
      const st = await lstat(dir);
      if (!st.isDirectory()) continue;
      // Of this pid, made or written since this process started: another copy of perfwatch in it (one of an older release names its directory so).
      if (pid === process.pid && st.mtimeMs >= started) continue;
      for (const f of await readdir(dir)) if (ours.test(f)) await unlink(join(dir, f)).catch(() => {});
      await rmdir(dir);
      removed++;
    } catch {
      // Not a directory, not ours to empty, or something else is left in it: it stays.
    }
  }
  return removed;
}
