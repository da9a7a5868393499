/**
 * A worker thread that records flat out over 100 series until told to stop, then says how
 * many samples it recorded: one of the producers of bench/overload.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { attachProducer, type ProducerHandle } from '../src/index.js';

const { handle, stop } = workerData as { handle: ProducerHandle; stop: SharedArrayBuffer };
const producer = attachProducer(handle);
const handles = Array.from({ length: 100 }, (_, i) => producer.metric('bench_overload', { n: String(i) }));
const stopFlag = new Int32Array(stop);
let sent = 0;
while (Atomics.load(stopFlag, 0) === 0) {
  for (let i = 0; i < 4096; i++) handles[i % 100]!.record(i & 1023);
  sent += 4096;
}
producer.flush();
parentPort!.postMessage(sent);
