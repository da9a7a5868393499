/**
 * Where a benchmark's processes run and what each thread of a server costs, on a small shared
 * machine. With two cores, a load generator left to the scheduler steals the server's core
 * whenever the monitor's threads wake, so what a mode costs shows up as noise in requests per
 * second. Pinned, the generator owns one CPU and the server (all its threads: main, the
 * runtime's helpers, the monitor's collector and alert actor) another, so the monitor's
 * threads compete with the server's main thread, where their cost is real. Pinning uses
 * util-linux `taskset`; without it (or with BENCH_PIN=0) nothing is pinned and the
 * benchmark says so.
 *
 * Per-thread CPU comes from /proc/<pid>/task/<tid>/schedstat (its first field: ns on a CPU),
 * read by the parent, so the measuring costs the server nothing.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface Placement {
  /** The CPU list given to taskset for the load generator (this process), or undefined when not pinned. */
  generator: string | undefined;
  /** The CPU list for the server processes, or undefined when not pinned. */
  server: string | undefined;
  /** Why nothing is pinned, when it is not. */
  unpinned?: string;
}

/**
 * Pins this process (every thread it has, and so those it starts) to the first CPU and
 * chooses the last for servers, when taskset is there, the machine has two CPUs or more and
 * BENCH_PIN is not 0.
 */
export function placeGenerator(): Placement {
  if (process.env.BENCH_PIN === '0') return { generator: undefined, server: undefined, unpinned: 'BENCH_PIN=0' };
  if (cpus().length < 2) return { generator: undefined, server: undefined, unpinned: 'one CPU' };
  const probe = spawnSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) return { generator: undefined, server: undefined, unpinned: `taskset failed: ${probe.error?.message ?? probe.stderr.trim()}` };
  return { generator: '0', server: String(cpus().length - 1) };
}

/** ns on a CPU of each thread of `pid` now (threads that exited are gone from the sum). */
export function threadTimes(pid: number): Map<number, number> {
  const times = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      times.set(Number(tid), Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // The thread ended between the listing and the read: its time is no longer counted.
    }
  }
  return times;
}

/** The server's CPU over a phase in µs, split by thread group. */
export interface ThreadSplit {
  main: number;
  /** The threads the monitor started (its collector and alert actor). */
  monitor: number;
  /** Everything else: V8's platform workers (GC, compilation), libuv's. */
  runtime: number;
}

/** The CPU each group of threads spent between two readings of threadTimes(pid). */
export function splitTimes(pid: number, monitorTids: ReadonlySet<number>, before: Map<number, number>, after: Map<number, number>): ThreadSplit {
  const split: ThreadSplit = { main: 0, monitor: 0, runtime: 0 };
  for (const [tid, ns] of after) {
    const us = (ns - (before.get(tid) ?? 0)) / 1_000;
    if (tid === pid) split.main += us;
    else if (monitorTids.has(tid)) split.monitor += us;
    else split.runtime += us;
  }
  return split;
}

/** This process's thread ids (Linux), for a server to tell its own threads from those it starts later. */
export function ownThreads(): number[] {
  return readdirSync(`/proc/${process.pid}/task`).map(Number);
}
