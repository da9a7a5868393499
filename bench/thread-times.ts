/**
 * CPU time per thread of this process, from Linux's /proc/self/task/<tid>/schedstat
 * (nanoseconds on CPU), and its wake-ups (voluntary context switches, from .../status: each
 * time it blocked and was woken), for benchmarks that split a process's cost by thread. Node names
 * none of its threads (every comm is "node"), so a thread is its tid; the main thread's tid
 * is the pid. Empty off Linux.
 */
import { readdirSync, readFileSync } from 'node:fs';

export function threadTimes(): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const text = readFileSync(`/proc/self/task/${tid}/schedstat`, 'latin1');
      out.set(Number(tid), Number(text.slice(0, text.indexOf(' '))) / 1e6);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

/** Per thread, the CPU ms between two readings (threads started after `from` count from 0), busiest first. */
export function threadDeltas(from: Map<number, number>, to: Map<number, number>): { tid: number; ms: number }[] {
  return [...to].map(([tid, ms]) => ({ tid, ms: ms - (from.get(tid) ?? 0) })).sort((a, b) => b.ms - a.ms);
}

/** Per thread, the voluntary context switches so far: how often it went to sleep (a wait, a poll) and was woken. */
export function threadWakeups(): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const m = /\nvoluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/self/task/${tid}/status`, 'latin1'));
      if (m) out.set(Number(tid), Number(m[1]));
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}
