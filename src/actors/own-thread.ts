/**
 * Whether this thread is one of perfwatch's own (the watchdog, an actor, a report pool's
 * thread, the /metrics renderer), as opposed to the host's main thread or a host's worker.
 *
 * With `threadPreloads: 'inherit'` our threads run the host's `--require` / `--import`
 * preloads. A preload that starts perfwatch (the way APM agents are loaded:
 * `NODE_OPTIONS=--import ./monitoring.mjs`) then started a monitor on each of our threads,
 * whose threads ran the preload again, and so on: 71 threads and 1.37 GB in 21 s, no
 * monitor ever started (each waited on the threads below it), and the host's code never ran.
 * A monitor built on one of our threads is inert instead (src/monitor/monitor.ts): it makes no
 * thread, and its start() resolves at once, so the preload goes on and our thread with it.
 *
 * Every thread of ours is marked in its environment: the host's thread gives the mark to the
 * threads it makes for us (worker-argv.ts, hostThreadOptions), and those pass their
 * environment on to the threads they make (ownThreadOptions). The environment, and not
 * workerData, because a preload runs before any of our code, and piscina's threads carry its
 * own workerData. The mark's value is the process's id: a child process that inherited the
 * variable somehow (another pid), or a host that sets it in the shell (its main thread is no
 * Worker), is not taken for one of ours.
 */
import { isMainThread } from 'node:worker_threads';

/** The environment variable that marks a thread of ours; its value is the process's pid. */
export const OWN_THREAD_ENV = 'PERFWATCH_OWN_THREAD';

/** The variable to add to the environment of a thread the host's thread makes for us. */
export function ownThreadMark(): Record<string, string> {
  return { [OWN_THREAD_ENV]: String(process.pid) };
}

/** Whether the code runs on one of perfwatch's own threads (read each time: cheap, and a test may mark a thread of its own). */
export function inOwnThread(): boolean {
  return !isMainThread && process.env[OWN_THREAD_ENV] === String(process.pid);
}

/** What status().inert says of a monitor built on one of our threads. */
export const INERT_RULE =
  "this monitor was built on one of perfwatch's own threads (a preload of the host's that starts a monitor, run there by threadPreloads: 'inherit'): it makes no thread and records nothing; the monitor of the host's thread is the one that runs";
