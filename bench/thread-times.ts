/**
 * CPU time per thread of this process, from Linux's /proc/self/task/<tid>/schedstat
 * (nanoseconds on CPU), and its wake-ups (voluntary context switches, from .../status: each
 * time it blocked and was woken), for benchmarks that split a process's cost by thread. Node names
 * none of its threads (every comm is "node"), so a thread is its tid; the main thread's tid
 * is the pid. Empty off Linux.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Per thread of this process, `read(its /proc/self/task/<tid> folder)`; threads it cannot read (ended since the listing) are left out. */
function perThread(read: (dir: string) => number | undefined): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const v = read(`/proc/self/task/${tid}`);
      if (v !== undefined) out.set(Number(tid), v);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

export function threadTimes(): Map<number, number> {
  return perThread((dir) => {
    const text = readFileSync(`${dir}/schedstat`, 'latin1');
    return Number(text.slice(0, text.indexOf(' '))) / 1e6;
  });
}

/** Per thread, the CPU ms between two readings (threads started after `from` count from 0), busiest first. */
export function threadDeltas(from: Map<number, number>, to: Map<number, number>): { tid: number; ms: number }[] {
  return [...to].map(([tid, ms]) => ({ tid, ms: ms - (from.get(tid) ?? 0) })).sort((a, b) => b.ms - a.ms);
}

/** Per thread, the voluntary context switches so far: how often it went to sleep (a wait, a poll) and was woken. */
export function threadWakeups(): Map<number, number> {
  return perThread((dir) => {
    const m = /\nvoluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`${dir}/status`, 'latin1'));
    return m ? Number(m[1]) : undefined;
  });
}
