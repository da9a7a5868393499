/**
 * Whether the host's main thread has room for a capture's profile as it arrives. The inspector
 * delivers a profile to this thread as one JSON string, which node:inspector parses into an
 * object graph there, and the file's text is another string of it: for a CPU capture of 120 s
 * of a service with thousands of functions, some 40 MB of the host's heap at once (a host run
 * with --max-old-space-size=64 holding 26 MB ended "JavaScript heap out of memory" at the
 * capture's end). Past the heap's limit V8 ends the process, and past a cgroup's limit the
 * kernel does: a capture with less room than it may take is refused at its start, and one
 * whose room shrank while it ran is discarded (its profiler disabled, which serializes
 * nothing) rather than taken.
 */
import { getHeapStatistics } from 'node:v8';
import { YOUNG_RESERVE } from '../engine/heap-limit.js';
import { MACHINE, memoryInUse, memoryLimit } from '../engine/memory-limit.js';
import type { ProfileKind } from './limits.js';

const MiB = 1024 * 1024;

/** The least room a CPU capture needs, and what each of its seconds adds (its samples, and the nodes a longer run reaches). */
export const CPU_FLOOR = 8 * MiB;
export const CPU_PER_SECOND = 0.375 * MiB;
/** A heap capture's profile: its sampled allocation sites, a tenth of a MiB to a few. */
export const HEAP_FLOOR = 8 * MiB;

/** The heap a capture of `kind` over `seconds` may take on the main thread as its profile arrives. */
export function profileNeed(kind: ProfileKind, seconds: number): number {
  return kind === 'cpu' ? CPU_FLOOR + CPU_PER_SECOND * Math.max(0, seconds) : HEAP_FLOOR;
}

/** The room the host has: its heap's, and its cgroup's when one limits it; `source` says which is less. */
export interface Room {
  bytes: number;
  source: string;
}

/** The heap's room: its limit less the young generation, less what is in use. */
export function heapRoom(stats = getHeapStatistics()): Room {
  const limit = Math.max(0, stats.heap_size_limit - YOUNG_RESERVE);
  return { bytes: Math.max(0, limit - stats.used_heap_size), source: `the main thread's heap (${Math.round(limit / MiB)} MiB before V8 ends the process, --max-old-space-size; ${Math.round(stats.used_heap_size / MiB)} MiB in use)` };
}

/** The room of the process: the heap's, or the cgroup's where it is less. */
export function hostRoom(): Room {
  const heap = heapRoom();
  const limit = memoryLimit();
  if (limit.source === MACHINE) return heap;
  const inUse = memoryInUse(limit);
  if (inUse === undefined) return heap;
  const free = Math.max(0, limit.bytes - inUse.bytes);
  return free < heap.bytes ? { bytes: free, source: `the memory limit (${Math.round(limit.bytes / MiB)} MiB, ${limit.source}; ${Math.round(inUse.bytes / MiB)} MiB in use)` } : heap;
}

/**
 * Why a capture of `kind` over `seconds` does not fit `room`, or undefined when it does;
 * `when` is 'start' (it is refused) or 'end' (it was discarded).
 */
export function noRoomForProfile(kind: ProfileKind, seconds: number, room: Room, when: 'start' | 'end'): string | undefined {
  const need = profileNeed(kind, seconds);
  if (room.bytes >= need) return undefined;
  const s = Math.round(seconds * 10) / 10;
  const what = when === 'start' ? 'it was not started' : 'it was discarded, not taken';
  const fewer = kind === 'cpu' ? 'capture fewer seconds, or ' : '';
  return `no room for the ${kind} profile of ${s} s on the host's main thread: ${Math.round(room.bytes / MiB)} MiB is left of ${room.source}, and the profile may take about ${Math.round(need / MiB)} MiB there as it arrives; past the limit the process ends, so ${what}: ${fewer}give the service more memory (--max-old-space-size, the container's limit)`;
}
