/**
 * CPU time of the calling thread and of the process's reaped children, for the overhead
 * budget. process.cpuUsage() is process-wide in Node (it would count the host's own work
 * as the monitor's), so each of the monitor's threads reads its own clock from Linux's
 * /proc/thread-self: `schedstat` (nanoseconds on CPU) where the kernel keeps it, `stat`
 * (utime + stime, in clock ticks of 10 ms) otherwise. Elsewhere the source is 'none' and
 * callers fall back to timing their own work.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export type CpuSource = 'schedstat' | 'stat' | 'none';

/** Linux's USER_HZ: /proc reports times in ticks of 1/100 s on every mainstream architecture. */
const TICK_MS = 10;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

let source: CpuSource | undefined;

export function threadCpuSource(): CpuSource {
  if (source === undefined) {
    if (process.platform !== 'linux') source = 'none';
    else if (read('/proc/thread-self/schedstat') !== undefined) source = 'schedstat';
    else if (read('/proc/thread-self/stat') !== undefined) source = 'stat';
    else source = 'none';
  }
  return source;
}

/** Fields after the command name of a /proc stat line (the name may hold spaces). */
function statFields(text: string): string[] {
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** CPU time (ms) the calling thread has used since it started; NaN when unknown. */
export function threadCpuMs(): number {
  const s = threadCpuSource();
  if (s === 'schedstat') {
    const text = read('/proc/thread-self/schedstat');
    const ns = text ? Number(text.slice(0, text.indexOf(' '))) : Number.NaN;
    return ns / 1e6;
  }
  if (s === 'stat') {
    const text = read('/proc/thread-self/stat');
    if (!text) return Number.NaN;
    const f = statFields(text);
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
    return ((Number(f[11]) || 0) + (Number(f[12]) || 0)) * TICK_MS;
  }
  return Number.NaN;
}

/** The calling thread's Linux thread id (/proc/thread-self links to <pid>/task/<tid>); 0 when unknown. */
export function ownThreadId(): number {
  if (process.platform !== 'linux') return 0;
  try {
    const link = readlinkSync('/proc/thread-self');
    return Number(link.slice(link.lastIndexOf('/') + 1)) || 0;
  } catch {
    return 0;
  }
}

/**
 * Time (ms) thread `tid` of this process has spent runnable but waiting for a CPU since it
 * started (schedstat's second field); NaN when unknown. A thread starved by a busy machine
 * gains it; one that spins or blocks does not.
 */
export function threadWaitMs(tid: number): number {
  if (tid <= 0) return Number.NaN;
  const text = read(`/proc/self/task/${tid}/schedstat`);
  if (!text) return Number.NaN;
  const first = text.indexOf(' ');
  return Number(text.slice(first + 1, text.indexOf(' ', first + 1))) / 1e6;
}

/**
 * The threads of this process that are runnable (state R: on a CPU or waiting for one), each
 * with how far it has run (schedstat's time on a CPU and its count of times put on one: both
 * unchanged between two readings while it waits for a CPU throughout); undefined when unknown.
 * schedstat adds a wait to a thread's total only once the wait ends (as the thread gets a CPU),
 * so a thread waiting now shows none of that wait yet.
 */
export function runnableThreads(): Map<number, string> | undefined {
  if (process.platform !== 'linux') return undefined;
  let tids: string[];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return undefined;
  }
  const runnable = new Map<number, string>();
  for (const tid of tids) {
    const mark = runnableMark(Number(tid));
    if (mark === undefined) return undefined;
    if (mark !== '') runnable.set(Number(tid), mark);
  }
  return runnable;
}

/**
 * How far thread `tid` of this process has run while it is runnable (state R: on a CPU or
 * waiting for one), as runnableThreads() gives it: unchanged between two looks while it waits
 * for a CPU throughout. '' when it is not runnable (asleep, stopped, ended); undefined when
 * unknown (not Linux, `tid` 0, no schedstat).
 */
export function runnableMark(tid: number): string | undefined {
  if (process.platform !== 'linux' || !(tid > 0)) return undefined;
  const stat = read(`/proc/self/task/${tid}/stat`);
  if (!stat || statFields(stat)[0] !== 'R') return '';
  const sched = read(`/proc/self/task/${tid}/schedstat`);
  if (!sched) return undefined;
  const f = sched.split(' ');
  return `${f[0]} ${(f[2] ?? '').trim()}`;
}

/** CPU time (ms) of the process's children that have exited and been waited for; NaN off Linux. */
export function childrenCpuMs(): number {
  if (process.platform !== 'linux') return Number.NaN;
  const text = read('/proc/self/stat');
  if (!text) return Number.NaN;
  const f = statFields(text);
  // cutime and cstime are fields 16 and 17 of stat.
  return ((Number(f[13]) || 0) + (Number(f[14]) || 0)) * TICK_MS;
}
