/**
 * Modes of what perfwatch writes to disk: the dataDir, its SQLite files and the profiles hold
 * the service's data (tag values, alert texts, function names and file paths), and the
 * notifier's outbox the webhook URLs, whose path or query is often their credential. Made
 * with the process's umask alone (022 by default), they were readable by every user of the
 * machine: a directory made by perfwatch is its user's alone (0700), and so is a file (0600).
 * A directory or file that exists keeps its mode when it gives nothing to every user: the
 * operator's choice (0750, a group a backup tool reads with). One open to every user (0755,
 * 0644: what an earlier version made with the umask) is made private at open when it is ours
 * (privateAgain); no operator shares a service's data with the world by choosing a group.
 * A dataDir is handed to it only when an earlier version made it (storage-link.ts notOurDir):
 * a directory perfwatch was pointed at (/tmp, a home, another application's) keeps its mode.
 */
import { chmodSync, closeSync, lstatSync, openSync } from 'node:fs';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** Creates `file` empty and private when absent; one that exists is not opened. */
export function createPrivateFile(file: string): void {
  try {
    closeSync(openSync(file, 'wx', PRIVATE_FILE_MODE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
}

/** The permission bits of "others": every user of the machine. */
const EVERY_USER = 0o007;

/**
 * Makes private (0700, 0600) each of `paths` that is open to every user, when this process
 * owns it: the dataDir and the files perfwatch makes in it, as an earlier version left them.
 * A path that is absent, a symbolic link, or already closed to other users is left as it is;
 * so is one another user owns (or that chmod refuses), which is answered, with its mode and
 * owner, for the caller to report: perfwatch never changes what is not its own.
 */
export function privateAgain(paths: readonly string[]): string[] {
  const uid = process.getuid?.();
  // Windows has no such modes to tighten.
  if (uid === undefined) return [];
  const left: string[] = [];
  for (const path of paths) {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (st.isSymbolicLink() || (st.mode & EVERY_USER) === 0) continue;
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    if (st.uid !== uid) {
      left.push(`${path} (mode ${mode}, owned by uid ${st.uid}, not this process's ${uid})`);
      continue;
    }
    try {
      chmodSync(path, st.isDirectory() ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE);
    } catch (error) {
      left.push(`${path} (mode ${mode}: ${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  }
  return left;
}
