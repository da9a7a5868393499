/**
 * The calling thread's CPU time to a tenth of a millisecond, where threadCpuMs() moves in
 * scheduler ticks (4 ms on this machine's kernel): /proc/thread-self/schedstat gives the
 * runtime the scheduler last booked, and the kernel books a running thread's time at each
 * tick or when the thread leaves the CPU. A 0.1 ms Atomics.wait first makes it leave, so the
 * reading includes everything up to the wait. For benchmarks that time a few tens of
 * milliseconds; the wait itself is not on the thread's CPU.
 *
 * Run as a script (`node dist/bench/settled-cpu.js`), it times a busy loop of 7.3 ms of the
 * wall clock eight times both ways: on 2026-12-02 (AMD EPYC VM, quiet) 5.4–11.6 ms read as is,
 * 7.3–7.6 ms booked first.
 */
import { pathToFileURL } from 'node:url';
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

function busy(ms: number): number {
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) t = performance.now();
  return t - t0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  for (const [name, read] of [['read as is', threadCpuMs], ['booked first', settledThreadCpuMs]] as const) {
    const rows: string[] = [];
    for (let i = 0; i < 8; i++) {
      const c0 = read();
      const wall = busy(7.3);
      rows.push(`${(read() - c0).toFixed(2)} (${wall.toFixed(2)})`);
    }
    console.log(`${name}: thread CPU ms (wall ms) of a 7.3 ms busy loop: ${rows.join(', ')}`);
  }
}
