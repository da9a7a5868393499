/**
 * Room in the process's address space for one more thread of ours. Each Worker reserves about
 * 600 MB of it (V8's code range and heap reservations, its stack, a malloc arena: VmSize grew
 * by 602 MB a Worker on Node 20, x64), and under an address-space limit (`ulimit -v`,
 * RLIMIT_AS) the reservation that does not fit is no error a caller can catch: V8 ends the whole
 * process ("Fatal process OOM in Failed to reserve virtual memory for CodeRange"). A host that
 * ran under `ulimit -v 4000000` was killed by the monitor's fifth thread. So before each thread
 * is made (by the host's thread or by the watchdog: the space is the process's), the limit and
 * the space in use are read from /proc, and a thread that would not fit is refused with an
 * error, which the callers handle as a thread that could not be made (EAGAIN at the limit on
 * threads): the monitor says so and the host lives.
 *
 * Filling the space to the last byte is no better: a heap that grows after (any isolate's, the
 * host's main thread's included) finds no room and V8 ends the process ("NewSpace::
 * EnsureCurrentCapacity Allocation failed"). So a thread is admitted only when HEADROOM is left
 * after it, and a thread made but not yet online counts as reserved (pending): new Worker()
 * returns before the thread reserves its space, and threads made meanwhile all read the VmSize
 * from before it. start() checks the whole set it will make before it makes the first
 * (noRoomFor, from the monitor's ensureRoomForThreads), so that a monitor that cannot fit fails whole, with one error.
 */
import { readFileSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';

/**
 * What one Worker takes of the address space. Measured on Node 20.20, x64 (VmSize of a process
 * making five idle Workers one after another, each once online): the first grew it by 845 MiB,
 * each next by 588 MiB; a monitor's start (watchdog, storage, collector, alerts) by 2,515 MiB,
 * 629 MiB a thread. 640 MiB covers the mean; the first thread's surplus is in HEADROOM.
 */
export const THREAD_ADDRESS_SPACE = 640 * 1024 * 1024;

/**
 * Left free after the last thread admitted, for the heaps (and malloc's arenas) to grow in:
 * the first thread's surplus over THREAD_ADDRESS_SPACE (257 MiB measured), and the growth of
 * the running monitor and its host, with a margin. Admitted to 0 left, hosts were ended within
 * a second of start() (6 of 6 runs under `ulimit -v 3000000`).
 */
export const HEADROOM = 512 * 1024 * 1024;

/** The process's address space: its soft limit (RLIMIT_AS) and its size (VmSize), in bytes; null when unknown or unlimited. */
export interface AddressSpace {
  limit: number | null;
  used: number | null;
}

/** The soft RLIMIT_AS in bytes, null when unlimited or unknown (not Linux); read once: only the process's owner changes it. */
let limit: number | null | undefined;

function addressSpaceLimit(): number | null {
  if (limit === undefined) {
    limit = null;
    try {
      const line = readFileSync('/proc/self/limits', 'utf8')
        .split('\n')
        .find((l) => l.startsWith('Max address space'));
      const soft = line?.slice('Max address space'.length).trim().split(/\s+/)[0];
      const bytes = Number(soft);
      if (soft !== undefined && soft !== 'unlimited' && Number.isFinite(bytes)) limit = bytes;
    } catch (error) {
      // No /proc: no limit known, none checked. Not read for another cause (no file descriptor
      // left: EMFILE): read again at the next check, not taken as none for good.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') limit = undefined;
      return null;
    }
  }
  return limit;
}

/** The address space in use (VmSize), in bytes; null when unknown. */
function addressSpaceUsed(): number | null {
  try {
    const kb = /^VmSize:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) * 1024;
  } catch {
    return null;
  }
}

/** The limit and the space in use, from /proc. */
export function readAddressSpace(): AddressSpace {
  return { limit: addressSpaceLimit(), used: addressSpaceUsed() };
}

/** Threads this thread made that are not online yet: their space may not be in VmSize. */
let pending = 0;

const GB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

const gib = (bytes: number): string => `${(bytes / GB).toFixed(2)} GiB`;

/**
 * How many of `threads` more threads fit `space` with HEADROOM left after them, counting
 * `reserved` threads made and not yet online; Infinity when no limit is known.
 */
export function threadsThatFit(space: AddressSpace, reserved = pending): number {
  if (space.limit === null || space.used === null) return Infinity;
  return Math.max(0, Math.floor((space.limit - space.used - HEADROOM) / THREAD_ADDRESS_SPACE) - reserved);
}

/**
 * Why `names` (the threads to be made, in order) do not all fit `space`, or undefined when
 * they do: the limit, the space in use, what they need, and the ways out (`fewer`: the
 * options that make fewer threads, if any).
 */
export function noRoomFor(names: readonly string[], space: AddressSpace = readAddressSpace(), fewer?: string, reserved = pending): string | undefined {
  if (names.length === 0 || threadsThatFit(space, reserved) >= names.length) return undefined;
  const need = (names.length + reserved) * THREAD_ADDRESS_SPACE + HEADROOM;
  const held = reserved > 0 ? ` (and ${reserved} made a moment ago, not yet online)` : '';
  const them = names.length === 1 ? `another thread (${names[0]})` : `${names.length} more threads (${names.join(', ')})`;
  const least = Math.ceil((space.used! + need) / 1024);
  return `no room for ${them} in the process's address space: its limit (ulimit -v, RLIMIT_AS) is ${gib(space.limit!)}, ${gib(space.used!)} is in use, and ${names.length === 1 ? 'a thread' : 'they'}${held} ${names.length === 1 && reserved === 0 ? 'needs' : 'need'} about ${gib(need)}: ${THREAD_ADDRESS_SPACE / MiB} MiB a thread, which V8 cannot reserve without ending the process, and ${HEADROOM / MiB} MiB left over for the heaps to grow in; raise the limit to at least ${least} (ulimit -v takes KiB)${fewer ? `, or ${fewer}` : ''}`;
}

/** Throws (code ENOMEM) when the address-space limit leaves no room for another thread. */
export function ensureRoomForThread(name = 'a thread of perfwatch'): void {
  const reason = noRoomFor([name]);
  if (reason === undefined) return;
  const error = new Error(reason);
  (error as NodeJS.ErrnoException).code = 'ENOMEM';
  throw error;
}

/** Whether another thread fits (ensureRoomForThread without the error). */
export function roomForThread(): boolean {
  return noRoomFor(['a thread']) === undefined;
}

/** Whether `error` is a thread refused here for lack of address space. */
export function isNoRoom(error: unknown): boolean {
  return error instanceof Error && /no room for (another thread|\d+ more threads) \([^)]*\) in the process's address space/.test(error.message);
}

/**
 * Counts `worker`, just made, as holding its space until it is online (its isolate and heaps
 * reserved, so in VmSize) or ended.
 */
export function holdUntilOnline(worker: Worker): void {
  pending++;
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    pending--;
  };
  worker.once('online', release);
  worker.once('exit', release);
}
