/**
 * A worker thread that records `rate` samples per second over 100 series until told to stop,
 * for benchmarks that need traffic flowing while they measure something else. It answers how
 * many record() calls it made and over how long; the caller subtracts what its ring dropped.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { attachProducer, type ProducerHandle } from '../src/index.js';

const { handle, stop, rate } = workerData as { handle: ProducerHandle; stop: SharedArrayBuffer; rate: number };
const producer = attachProducer(handle);
const handles = Array.from({ length: 100 }, (_, i) => producer.metric('bench_flow', { n: String(i) }));
const stopFlag = new Int32Array(stop);
const perMs = rate / 1000;
let sent = 0;
const t0 = performance.now();
while (Atomics.load(stopFlag, 0) === 0) {
  const due = (performance.now() - t0) * perMs;
  while (sent < due) {
    handles[sent % 100]!.record(sent % 97);
    sent++;
  }
  producer.flush();
}
parentPort!.postMessage({ sent, seconds: (performance.now() - t0) / 1000 });
