/**
 * The shared memory that options ask for, known before any of it is allocated. A
 * configuration asking for more than the process may use (the machine's memory, or its
 * cgroup's limit in a container: memory-limit.ts) fails at construction with an error
 * that names the options and the bytes, instead of a bare `RangeError: Array buffer
 * allocation failed` (or a reservation the system refuses only once it is touched); an
 * allocation refused anyway is reported the same way.
 */
import { CapacityError } from '../errors.js';
import { MACHINE, memoryLimit, type MemoryLimit } from './memory-limit.js';

export interface MemoryNeed {
  /** What the bytes are for, with the options that size them. */
  what: string;
  /** The option named in the error's field. */
  option: string;
  bytes: number;
}

const MiB = 1024 * 1024;

export function formatBytes(bytes: number): string {
  const short = bytes >= 1024 * MiB ? `${(bytes / (1024 * MiB)).toFixed(1)} GiB` : `${(bytes / MiB).toFixed(1)} MiB`;
  return `${short} (${bytes.toLocaleString('en-US')} bytes)`;
}

/**
 * Refuses needs whose sum is more than the limit's bytes (default: what this process may
 * use), naming the largest need's option, the limit and where it came from, and listing
 * what takes the bytes.
 */
export function checkMemory(needs: readonly MemoryNeed[], limit: MemoryLimit = memoryLimit()): void {
  const total = needs.reduce((a, n) => a + n.bytes, 0);
  if (total <= limit.bytes) return;
  const whose = limit.source === MACHINE ? "this machine's" : `this process's memory limit,`;
  const from = limit.source === MACHINE ? '' : ` (${limit.source})`;
  const largest = needs.reduce((a, n) => (n.bytes > a.bytes ? n : a));
  const parts = needs.filter((n) => n.bytes >= total / 100).map((n) => `${n.what}: ${formatBytes(n.bytes)}`);
  throw new CapacityError(largest.option, `and the options beside it ask for ${formatBytes(total)} of shared memory, more than ${whose} ${formatBytes(limit.bytes)}${from}; ${parts.join('; ')}. Lower them`);
}

/** Runs an allocation; a RangeError (the memory could not be had) becomes a CapacityError naming the need. */
export function allocating<T>(need: MemoryNeed, allocate: () => T): T {
  try {
    return allocate();
  } catch (error) {
    if (error instanceof RangeError) {
      throw new CapacityError(need.option, `and the options beside it ask for ${formatBytes(need.bytes)} of shared memory for the ${need.what}, and the allocation failed (${error.message}). Lower them`);
    }
    throw error;
  }
}
