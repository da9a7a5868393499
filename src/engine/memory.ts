/**
 * The shared memory that options ask for, known before any of it is allocated. A
 * configuration asking for more than the machine has fails at construction with an error
 * that names the options and the bytes, instead of a bare `RangeError: Array buffer
 * allocation failed` (or a reservation the system refuses only once it is touched); an
 * allocation refused anyway is reported the same way.
 */
import { totalmem } from 'node:os';
import { CapacityError } from '../errors.js';

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
 * Refuses needs whose sum is more than `available` bytes (default: the machine's memory),
 * naming the largest need's option and listing what takes the bytes.
 */
export function checkMemory(needs: readonly MemoryNeed[], available = totalmem()): void {
  const total = needs.reduce((a, n) => a + n.bytes, 0);
  if (total <= available) return;
  const largest = needs.reduce((a, n) => (n.bytes > a.bytes ? n : a));
  const parts = needs.filter((n) => n.bytes >= total / 100).map((n) => `${n.what}: ${formatBytes(n.bytes)}`);
  throw new CapacityError(largest.option, `and the options beside it ask for ${formatBytes(total)} of shared memory, more than this machine's ${formatBytes(available)}; ${parts.join('; ')}. Lower them`);
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
