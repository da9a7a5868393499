/**
 * Whether a process of that id runs: signal 0 checks without sending anything. EPERM says it
 * does, under another user; ESRCH that none does. A zombie does not run: it has ended, and
 * keeps its pid only until its parent collects its exit (an init that reaps late, or never, as
 * a shell that is a container's PID 1), while signal 0 still reaches it. For the owners of a
 * dataDir's lock, of a hub's socket and of a temporary profile directory.
 */
import { readFileSync } from 'node:fs';

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !zombie(pid);
}

/** A zombie's state in /proc/PID/stat (the field after the command name) is Z; false where there is no /proc. */
function zombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] === 'Z';
  } catch {
    return false;
  }
}
