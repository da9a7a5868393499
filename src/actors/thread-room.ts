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
 */
import { readFileSync } from 'node:fs';

/** What one Worker takes of the address space, with a margin over the 602 MB measured. */
export const THREAD_ADDRESS_SPACE = 640 * 1024 * 1024;

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
    } catch {
      // No /proc: no limit known, none checked.
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

const GB = 1024 * 1024 * 1024;

/** Why another thread does not fit the address space, or undefined when it does (or no limit is known). */
function noRoom(): string | undefined {
  const max = addressSpaceLimit();
  if (max === null) return undefined;
  const used = addressSpaceUsed();
  if (used === null || max - used >= THREAD_ADDRESS_SPACE) return undefined;
  return `no room for another thread in the process's address space: its limit (ulimit -v, RLIMIT_AS) is ${(max / GB).toFixed(2)} GiB, ${(used / GB).toFixed(2)} GiB is in use, and a thread reserves about ${THREAD_ADDRESS_SPACE / 1024 / 1024} MiB, which V8 cannot do without ending the process; raise the limit`;
}

/** Throws (code ENOMEM) when the address-space limit leaves no room for another thread. */
export function ensureRoomForThread(): void {
  const reason = noRoom();
  if (reason === undefined) return;
  const error = new Error(reason);
  (error as NodeJS.ErrnoException).code = 'ENOMEM';
  throw error;
}

/** Whether another thread fits (ensureRoomForThread without the error). */
export function roomForThread(): boolean {
  return noRoom() === undefined;
}
