/**
 * The heap's limit: where V8 ends the process ("JavaScript heap out of memory"), which
 * --max-old-space-size sets (or V8's default from the machine's memory). V8's heap_size_limit
 * holds the young generation beside the old one, whose limit is the one that ends the process:
 * the runtime sampler reads the heap against it (heap_usage), a capture its room
 * (profiling/heap-room.ts).
 */
import { getHeapStatistics, type HeapInfo } from 'node:v8';

const MiB = 1024 * 1024;

/**
 * What V8's heap_size_limit holds beyond the old generation, which its limit ends the process
 * at: the young generation, three semi-spaces of 16 MiB (Node 20, 22 on 64-bit: 112 MiB
 * under --max-old-space-size=64, 4,144 MiB for 4,096).
 */
export const YOUNG_RESERVE = 48 * MiB;

/** The heap's limit in bytes: heap_size_limit less the young generation (never below the heap in use). */
export function heapLimit(stats: Pick<HeapInfo, 'heap_size_limit' | 'used_heap_size'> = getHeapStatistics()): number {
  return Math.max(stats.used_heap_size, stats.heap_size_limit - YOUNG_RESERVE);
}
