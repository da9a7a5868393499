/**
 * Modes of what perfwatch writes to disk: the dataDir, its SQLite files and the profiles hold
 * the service's data (tag values, alert texts, function names and file paths), and the
 * notifier's outbox the webhook URLs, whose path or query is often their credential. Made
 * with the process's umask alone (022 by default), they were readable by every user of the
 * machine: a directory made by perfwatch is its user's alone (0700), and so is a file (0600).
 * A directory or file that exists keeps its mode: the operator's choice (a group a backup
 * tool reads with), or one an earlier version made (chmod it).
 */
import { closeSync, openSync } from 'node:fs';

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
