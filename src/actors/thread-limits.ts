/**
 * The heap limit of each of our threads (`resourceLimits.maxOldGenerationSizeMb`).
 *
 * A Worker made with no resourceLimits takes V8's default heap limit, sized to the machine
 * (4,144 MB on a 16 GB one) or to the cgroup (259 MB each in a 160 MB container): a thread of
 * ours that ran away (a report over a huge range, a leak, a bug) grew until the kernel's OOM
 * killer ended the whole host process. With a limit of its own the thread ends alone, with
 * ERR_WORKER_OUT_OF_MEMORY, and its supervisor (the watchdog for an actor, the main thread for
 * the watchdog, piscina for a report thread, the HTTP front for the /metrics renderer) reports
 * it as a fault naming the thread, its limit and the option that raises it, and replaces it.
 *
 * The limits are ceilings, not reservations: each is what the thread was measured to need at
 * the options that drive it, with room (docs/benchmarks.md, "Thread heaps"), and never more than
 * half the memory the process may use (a cgroup's limit, engine/memory-limit.ts), below which
 * the kernel would take the host first. `threadHeapMb` sets any of them instead.
 *
 * The young generation is left at V8's default (16 MB semi-spaces) but for the watchdog, which
 * allocates almost nothing: a smaller one there costs nothing and bounds its resident memory.
 */
import type { ResourceLimits } from 'node:worker_threads';
import { MACHINE, type MemoryLimit } from '../engine/memory-limit.js';

/** Our threads, by the name their limit is given under (MonitorOptions.threadHeapMb). */
export const THREAD_KINDS = ['watchdog', 'collector', 'alerts', 'storage', 'exporter', 'reports', 'exposition'] as const;
export type ThreadKind = (typeof THREAD_KINDS)[number];

/** The least heap limit (MB) a thread may be given: below it a thread may not even load its modules. */
export const MIN_THREAD_HEAP_MB = 16;
/** The most (MB): V8's own ceiling on a 64-bit heap is about 4 GB without pointer compression off. */
export const MAX_THREAD_HEAP_MB = 65_536;
/** The least a default limit is cut to under a small memory limit (MB). */
const FLOOR_MB = 64;
/** The watchdog's young generation (MB): it keeps a few records per actor. */
const WATCHDOG_YOUNG_MB = 4;

/** What the defaults scale with. */
export interface ThreadHeapInputs {
  maxSeries: number;
  maxAlertRules: number;
  /** Alert transitions kept (alerts.historyLimit). */
  historyLimit: number;
  /** The largest /metrics body (ServeHttpOptions.maxMetricsBytes), for the exposition thread. */
  maxMetricsBytes?: number;
}

/** Each thread's default heap limit (MB) before the memory limit caps it. */
function needMb(kind: ThreadKind, i: ThreadHeapInputs): number {
  const perK = i.maxSeries / 1000;
  switch (kind) {
    case 'watchdog':
      return 32;
    case 'collector':
      return 128 + 8 * perK;
    case 'alerts':
      // A rule's state and each transition kept (a few hundred bytes each).
      return 128 + 4 * perK + Math.ceil(i.maxAlertRules / 100) + Math.ceil(i.historyLimit / 2000);
    case 'storage':
      return 128 + 8 * perK;
    case 'exporter':
      return 128 + 8 * perK;
    case 'reports':
      return 128 + 16 * perK;
    case 'exposition':
      // A body of up to maxMetricsBytes, built as a string and a Buffer, and its pieces.
      return 64 + Math.ceil((4 * (i.maxMetricsBytes ?? 64 * 1024 * 1024)) / (1024 * 1024));
  }
}

/** The heap limit (MB) of each thread: `given`'s, or the default capped at half the memory limit. */
export function threadHeapLimits(inputs: ThreadHeapInputs, given: Partial<Record<ThreadKind, number>> | undefined, limit: MemoryLimit): Record<ThreadKind, number> {
  const cap = limit.source === MACHINE ? Infinity : Math.max(FLOOR_MB, Math.floor(limit.bytes / (2 * 1024 * 1024)));
  const out = {} as Record<ThreadKind, number>;
  for (const kind of THREAD_KINDS) out[kind] = given?.[kind] ?? Math.min(MAX_THREAD_HEAP_MB, Math.ceil(Math.min(needMb(kind, inputs), cap)));
  return out;
}

/** What `new Worker` (or piscina) is given for a thread of `kind` limited to `mb`. */
export function resourceLimitsFor(kind: ThreadKind, mb: number): ResourceLimits {
  return kind === 'watchdog' ? { maxOldGenerationSizeMb: mb, maxYoungGenerationSizeMb: WATCHDOG_YOUNG_MB } : { maxOldGenerationSizeMb: mb };
}

/** Whether `error` is a thread's end at its heap limit. */
export function isOutOfMemory(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
}

/** What a fault says of a thread that reached its heap limit: the thread, the limit, the option. */
export function outOfMemoryMessage(kind: ThreadKind, mb: number, thread = kind === 'reports' ? 'a report thread' : `the ${kind} thread`): string {
  return `${thread} reached its heap limit of ${mb} MB and was ended alone (ERR_WORKER_OUT_OF_MEMORY), the host unharmed; threadHeapMb.${kind} raises the limit`;
}
