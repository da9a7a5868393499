/**
 * The OS thread behind the calling JS thread, on Linux: its thread id and when it started,
 * read from /proc/thread-self (sync fs calls run on the calling thread). A producer ring
 * records them when a thread claims it, so that a ring whose thread has ended (a piscina
 * thread past its idleTimeout, a terminated worker) can be given to the next thread; without
 * /proc the thread is unknown and its claim is kept for good.
 */
import { readFileSync, readlinkSync } from 'node:fs';

export interface OsThread {
  tid: number;
  /** Clock ticks since boot (field 22 of its stat): a reused tid started at another time. */
  start: number;
}

/** This JS thread's, read once: its OS thread never changes (null: /proc cannot tell). */
let own: OsThread | null | undefined;

/** The calling thread; undefined where /proc cannot tell. Read once a thread (a ring's claim and each registry table's lock ask for it). */
export function currentOsThread(): OsThread | undefined {
  if (own === undefined) own = readOwn() ?? null;
  return own ?? undefined;
}

function readOwn(): OsThread | undefined {
  try {
    const link = readlinkSync('/proc/thread-self'); // "PID/task/TID"
    const tid = Number(link.slice(link.lastIndexOf('/') + 1));
    const start = startOf(readFileSync('/proc/thread-self/stat', 'utf8'));
    return Number.isInteger(tid) && tid > 0 && start !== undefined ? { tid, start } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the thread of this process `tid`, started at `start`, has ended (false when that cannot be read). */
export function osThreadEnded(tid: number, start: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return false;
    try {
      readlinkSync('/proc/thread-self');
      return true;
    } catch {
      return false;
    }
  }
  const now = startOf(stat);
  return now !== undefined && now !== start;
}

/** Field 22 of a stat line, read after the command name (which may hold spaces and parentheses). */
function startOf(stat: string): number | undefined {
  const n = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  return Number.isFinite(n) ? n : undefined;
}
