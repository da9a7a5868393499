/**
 * Options sized to the memory the process may use. The defaults (10,000 series, 104 MiB of
 * sketch buffers: about 0.6 GB reserved, most of it written once every series has filled
 * its rings) suit a machine; in a container whose cgroup allows less, the monitor's own
 * store alone could grow past the limit and have the kernel kill the service. So under a
 * cgroup's limit (memory-limit.ts) the sizes a caller did not give (maxSeries and the sketch buffers) shrink together until the
 * buffers fit in about a quarter of the limit (the monitor's own series and the rings do not
 * shrink); the ones given are taken as they are, and
 * allocateBuffers refuses them when they do not fit in the whole limit. Without a cgroup
 * limit nothing is scaled: the machine's memory only bounds the check, as it always did (a
 * caller's rawCapacity of 65,536 is refused there, not met with a maxSeries of 16).
 *
 * The monitor's threads cost memory too, whatever the options: THREAD_RESIDENT each, which
 * the buffers' quarter is taken after, and which start() checks the limit still has room for
 * (less what the cgroup uses then) before it makes any thread (noMemoryFor): a host with
 * 45 MB of its own under a 64 MB limit was killed by the kernel once the monitor's threads ran.
 */
import { MACHINE, memoryInUse, memoryLimit, type MemoryInUse, type MemoryLimit } from '../engine/memory-limit.js';
import type { AddressSpace } from '../actors/thread-room.js';
import { buffersBytes } from './buffers.js';
import { resolveOptions, type MonitorOptions, type ResolvedOptions } from './options.js';

/** The share of the memory limit the monitor's buffers take when their sizes are not given. */
export const DEFAULT_SHARE = 0.25;

const MiB = 1024 * 1024;

/**
 * The resident memory one thread of the monitor adds, with a margin. Measured on Node 20.20,
 * x64 (RSS of a process before start() and 5 s after, 200 records meanwhile): 38–40 MiB for the
 * three threads of storage: 'memory' (watchdog, collector, alerts), 66 MiB for the four of the
 * defaults (and storage's, with SQLite's cache): 13 to 16.5 MiB a thread.
 */
export const THREAD_RESIDENT = 20 * MiB;

/** The threads start() makes with these options (the watchdog and the actors), in the order it makes them. */
export function startThreads(o: ResolvedOptions): string[] {
  const exporting = o.export.remoteWrite.length + o.export.otlp.length > 0;
  return ['watchdog', ...(o.storage === 'sqlite' ? ['storage'] : []), 'collector', 'alerts', ...(exporting ? ['exporter'] : [])];
}

/** The sizes that shrink: each with its least value (the option's lower bound) and its unit. */
const SCALED = [
  { option: 'maxSeries', least: 16, unit: 1 },
  { option: 'sketchLogBytes', least: MiB, unit: MiB },
  { option: 'rollupLogBytes', least: MiB, unit: MiB },
  { option: 'sketchPoolBytes', least: MiB, unit: MiB },
] as const;

export interface MemoryFit extends MemoryLimit {
  /**
   * The factor the sizes not given were scaled by to fit DEFAULT_SHARE of a cgroup's limit:
   * 1 when they fit as they are, every one was given, or no cgroup limits the process.
   */
  scale: number;
}

/** Resolves options as resolveOptions does, then sizes the ones not given to the memory limit. */
export function resolveForMemory(options: MonitorOptions | undefined, limit: MemoryLimit = memoryLimit()): { options: ResolvedOptions; memory: MemoryFit } {
  const o = resolveOptions(options);
  const open = SCALED.filter((s) => options?.[s.option] === undefined);
  // The quarter is of what the threads leave (at least a byte: start() refuses the rest).
  const room = Math.max(1, limit.bytes - startThreads(o).length * THREAD_RESIDENT);
  const scale = open.length === 0 || limit.source === MACHINE ? 1 : Math.min(1, (room * DEFAULT_SHARE) / buffersBytes(o));
  if (scale < 1) {
    for (const s of open) o[s.option] = Math.max(s.least, Math.floor((o[s.option] * scale) / s.unit) * s.unit);
  }
  return { options: o, memory: { ...limit, scale } };
}

const mib = (bytes: number): string => `${Math.round(bytes / MiB)} MiB`;

/**
 * Why the memory limit, less what is in use of it now (read when not given), has no room for
 * `threads` (each THREAD_RESIDENT), or undefined when it has, when the use cannot be read, or
 * when no cgroup limits the process (the machine's memory is no limit the kernel kills at).
 */
export function noMemoryFor(threads: readonly string[], limit: MemoryLimit, given?: MemoryInUse, fewer?: string): string | undefined {
  if (limit.source === MACHINE || threads.length === 0) return undefined;
  const inUse = given ?? memoryInUse(limit);
  if (inUse === undefined) return undefined;
  const need = threads.length * THREAD_RESIDENT;
  const free = limit.bytes - inUse.bytes;
  if (free >= need) return undefined;
  const used = inUse.source === 'rss' ? 'this process uses (its resident set)' : `is in use (${inUse.source})`;
  return `no room for the monitor's ${threads.length} threads (${threads.join(', ')}) under the memory limit: it is ${mib(limit.bytes)} (${limit.source}), ${mib(inUse.bytes)} ${used}, ${mib(Math.max(0, free))} is left, and they need about ${mib(need)} (${THREAD_RESIDENT / MiB} MiB each); past the limit the kernel kills the process: raise the limit to at least ${mib(inUse.bytes + need)}${fewer ? `, or ${fewer}` : ''}`;
}

/**
 * The limit the process meets first, of those that end it: its address space (`ulimit -v`,
 * RLIMIT_AS: a reservation past it ends the process), its cgroup's memory limit (the kernel
 * kills past it), or the machine's memory. status().memory.limit is the memory the buffers
 * were sized against, and under `ulimit -v` alone it is the machine's (24 GB, say) while the
 * process has a GB of address space left: an agent reading it saw room that was not there.
 */
export interface BindingLimit {
  /** Which limit: 'address-space' (RLIMIT_AS), 'cgroup' (memory.max, memory.limit_in_bytes) or 'physical' (os.totalmem()). */
  kind: 'address-space' | 'cgroup' | 'physical';
  bytes: number;
  /** Where it was read: 'ulimit -v (RLIMIT_AS, /proc/self/limits)', the cgroup file, or 'os.totalmem()'. */
  source: string;
  /** What it counts as used now (VmSize; the cgroup's use; this process's resident set), null when unread. */
  usedBytes: number | null;
  /** bytes less usedBytes (at least 0), null when the use is unread. */
  freeBytes: number | null;
}

/** Where an address-space limit is read. */
export const ADDRESS_SPACE_SOURCE = 'ulimit -v (RLIMIT_AS, /proc/self/limits)';

/**
 * Of the memory limit (`limit`, with its use `inUse`: memoryInUse's) and the address space
 * (`space`: limit and VmSize), the one with the least left, by its free bytes where both uses
 * are known, else by its bytes: what a caller asking how much more the process may take needs.
 * No address-space limit: the memory limit. Reads nothing itself: a use that could not be read is null.
 */
export function bindingLimit(limit: MemoryLimit, space: AddressSpace, inUse: MemoryInUse | undefined): BindingLimit {
  const memoryUsed = inUse?.bytes ?? null;
  const memory: BindingLimit = {
    kind: limit.source === MACHINE ? 'physical' : 'cgroup',
    bytes: limit.bytes,
    source: limit.source,
    usedBytes: memoryUsed,
    freeBytes: memoryUsed === null ? null : Math.max(0, limit.bytes - memoryUsed),
  };
  if (space.limit === null) return memory;
  const addressSpace: BindingLimit = {
    kind: 'address-space',
    bytes: space.limit,
    source: ADDRESS_SPACE_SOURCE,
    usedBytes: space.used,
    freeBytes: space.used === null ? null : Math.max(0, space.limit - space.used),
  };
  const both = memory.freeBytes !== null && addressSpace.freeBytes !== null;
  return (both ? addressSpace.freeBytes! < memory.freeBytes! : addressSpace.bytes < memory.bytes) ? addressSpace : memory;
}
