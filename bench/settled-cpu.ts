/**
 * The calling thread's CPU time to a tenth of a millisecond, where threadCpuMs() moves in
 * scheduler ticks (4 ms on this machine's kernel): /proc/thread-self/schedstat gives the
 * runtime the scheduler last booked, and the kernel books a running thread's time at each
 * tick or when the thread leaves the CPU. A 0.1 ms Atomics.wait first makes it leave, so the
 * reading includes everything up to the wait. A 7.3 ms busy loop read 5.4–11.6 ms without the
 * wait and 7.3–7.6 ms with it (a scratch script, 2026-12-02, AMD EPYC VM). For benchmarks
 * that time a few tens of milliseconds; the wait itself is not on the thread's CPU.
 */
import { threadCpuMs } from '../src/engine/thread-cpu.js';

const cell = new Int32Array(new SharedArrayBuffer(4));

/** Leaves the CPU for 0.1 ms, so that the kernel books the calling thread's time up to now. */
export function settle(): void {
  Atomics.wait(cell, 0, 0, 0.1);
}

/** threadCpuMs(), its time booked first (settle()). */
export function settledThreadCpuMs(): number {
  settle();
  return threadCpuMs();
}
