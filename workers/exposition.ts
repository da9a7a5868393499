/**
 * The exposition worker: renders /metrics from the shared store in place (src/http/exposition.ts)
 * and sends the bytes back transferred. Between scrapes it folds newly closed buckets into its
 * histograms, often enough that the bucket ring never laps it (a quarter of the ring's span,
 * 1 to 15 s), into shared memory that the worker started after it takes up.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { FoldShare } from '../src/analysis/fold-share.js';
import { controlViews } from '../src/engine/control.js';
import { monitorNow } from '../src/engine/monitor-clock.js';
import { Registry, reportLockTag } from '../src/engine/registry.js';
import { StoreReader } from '../src/engine/store/reader.js';
import { Exposition } from '../src/http/exposition.js';
import type { ExpositionData, RenderReply, RenderRequest } from '../src/http/exposition-worker.js';

const data = workerData as ExpositionData;
const ctl = controlViews(data.control);
const reader = new StoreReader(data.store);
const exposition = new Exposition(new Registry(data.registry, reportLockTag(threadId)), reader, data.bounds, { quantiles: data.quantiles, windowMs: data.quantileWindowMs, now: () => monitorNow(ctl) }, data.maxBytes, new FoldShare(data.folds, data.bounds.length));
const foldMs = Math.min(15_000, Math.max(1_000, (reader.layout.t1Cap * reader.layout.intervalMs) / 4));
setInterval(() => exposition.foldAll(), foldMs);

parentPort!.on('message', (request: RenderRequest) => {
  let reply: RenderReply;
  try {
    const body = exposition.render(request.format, request.stopped);
    reply = { id: request.id, body, stats: exposition.stats };
    parentPort!.postMessage(reply, [body.buffer as ArrayBuffer]);
  } catch (error) {
    reply = { id: request.id, error: error instanceof Error ? error.message : String(error) };
    parentPort!.postMessage(reply);
  }
});
