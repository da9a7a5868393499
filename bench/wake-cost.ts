/**
 * What one wake-up costs a waiting thread: `node dist/bench/wake-cost.js`. The collector
 * waits between passes and is woken tens of times a second by a busy service, so this is a
 * fixed cost it pays per pass (workers/collector.ts says why it waits as it does).
 *
 * A worker waits on a cell that the main thread bumps and notifies every 10 ms, WAKES times,
 * either with Atomics.waitAsync (its promise settles through the worker's event loop, the
 * way a thread that must also answer messages waits) or with a blocking Atomics.wait; the
 * figure is the worker's own CPU (its /proc/thread-self clock) per wake-up, median over
 * ROUNDS alternating rounds.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { threadCpuMs, threadCpuSource } from '../src/engine/thread-cpu.js';
import { median } from './median.js';

const WAKES = Number(process.env.BENCH_WAKES ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const EVERY_MS = 10;
type Mode = 'waitAsync' | 'wait';

async function waiter(cell: Int32Array, mode: Mode): Promise<number> {
  // A port listener keeps the loop alive, as comlink's does in the collector.
  parentPort!.on('message', () => {});
  const c0 = threadCpuMs();
  for (let i = 0; i < WAKES; i++) {
    const seen = Atomics.load(cell, 0);
    if (mode === 'wait') Atomics.wait(cell, 0, seen, 1_000);
    else {
      const r = Atomics.waitAsync(cell, 0, seen, 1_000);
      if (r.async) await r.value;
    }
  }
  return ((threadCpuMs() - c0) * 1000) / WAKES;
}

async function round(mode: Mode): Promise<number> {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL(import.meta.url), { workerData: { cell, mode } });
  const timer = setInterval(() => {
    Atomics.add(cell, 0, 1);
    Atomics.notify(cell, 0);
  }, EVERY_MS);
  try {
    return await new Promise<number>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  } finally {
    clearInterval(timer);
    await worker.terminate();
  }
}

if (isMainThread) {
  if (threadCpuSource() === 'none') {
    console.log('no per-thread CPU clock on this platform: nothing to measure');
  } else {
    const us: Record<Mode, number[]> = { waitAsync: [], wait: [] };
    for (let r = 0; r < ROUNDS; r++) for (const mode of ['waitAsync', 'wait'] as const) us[mode].push(await round(mode));
    console.log(`\nCPU of the woken thread per wake-up (${WAKES} wake-ups every ${EVERY_MS} ms, ${ROUNDS} rounds; median, range)\n`);
    console.log('| wait | µs per wake-up |');
    console.log('|---|---:|');
    for (const mode of ['waitAsync', 'wait'] as const) {
      const s = [...us[mode]].sort((a, b) => a - b);
      console.log(`| ${mode === 'wait' ? 'Atomics.wait (blocking)' : 'Atomics.waitAsync + event loop'} | ${median(s).toFixed(0)} (${s[0]!.toFixed(0)}–${s[s.length - 1]!.toFixed(0)}) |`);
    }
  }
} else {
  const { cell, mode } = workerData as { cell: Int32Array; mode: Mode };
  parentPort!.postMessage(await waiter(cell, mode));
}
