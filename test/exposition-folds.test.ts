/**
 * /metrics histograms outlive the exposition worker (src/http/exposition-worker.ts): a worker
 * that died is started again by the next scrape, and the new one takes up the folds the one
 * before left in shared memory (src/analysis/fold-share.ts). It folded from the store's bucket
 * ring alone, and put the samples older than the ring in +Inf only: every other bucket went
 * down, a counter reset to Prometheus.
 * A store on synthetic time, the ring 10 buckets long (fold-store-helpers.ts).
 */
import type { Worker } from 'node:worker_threads';
import { afterEach, expect, it } from 'vitest';
import { FoldShare, foldShareBytes } from '../dist/src/analysis/fold-share.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';
import { Exposition } from '../dist/src/http/exposition.js';
import { ExpositionWorker } from '../dist/src/http/exposition-worker.js';
import { FOLD_STORE_SERIES, foldStore } from './fold-store-helpers.js';
import { parseExposition } from './http-metrics-helpers.js';

const BOUNDS = [1, 10, 100];

/** The histogram's cumulative buckets as a scraper reads them: each bound's, then +Inf's. */
function buckets(body: Uint8Array): number[] {
  const samples = parseExposition(Buffer.from(body).toString('utf8')).filter((s) => s.name === 'latency_bucket');
  return [...BOUNDS.map(String), '+Inf'].map((le) => samples.find((s) => s.labels['le'] === le)!.value);
}

it('renders from an exposition begun after the bucket ring lapped the buckets the one before it rendered, never fewer', () => {
  const s = foldStore();
  const folds = new FoldShare(new SharedArrayBuffer(foldShareBytes(FOLD_STORE_SERIES, BOUNDS.length)), BOUNDS.length);
  const exposition = (f?: FoldShare): Exposition => new Exposition(s.registry, new StoreReader(s.buffers), BOUNDS, undefined, undefined, f);
  const first = exposition(folds);
  // 30 seconds, three times the ring, scraped every third.
  for (let t = 0; t < 30; t++) {
    s.second([0.5, 5, 50, 500]);
    if (t % 3 === 2) first.render('prometheus');
  }
  const before = buckets(first.render('prometheus'));
  expect(before).toEqual([29, 58, 87, 116]);

  // The worker died; the one started again renders over the same store and folds.
  expect(buckets(exposition(folds).render('prometheus'))).toEqual(before);
  // Without the folds kept, the samples older than the ring went to +Inf alone.
  const lost = buckets(exposition().render('prometheus'));
  expect(lost[3]).toBe(116);
  expect(lost[0]).toBeLessThan(29);
});

let closing: ExpositionWorker | undefined;
afterEach(async () => {
  await closing?.close();
  closing = undefined;
});

it('scrapes no fewer buckets from the exposition worker started again after one was terminated than from the one before', async () => {
  const s = foldStore();
  const worker = new ExpositionWorker({ control: s.control, registry: s.registryBuffers, store: s.buffers, bounds: BOUNDS, quantiles: [], quantileWindowMs: 60_000, maxBytes: 64 * 1024 }, 'skip');
  closing = worker;
  for (let t = 0; t < 30; t++) {
    s.second([0.5, 5, 50, 500]);
    if (t % 3 === 2) await worker.render('prometheus');
  }
  const before = buckets((await worker.render('prometheus')).body);
  expect(before).toEqual([29, 58, 87, 116]);

  // The thread dies (as one that ran out of memory would): the next scrape starts another.
  await (worker as unknown as { worker: Worker }).worker.terminate();
  const after = buckets((await worker.render('prometheus')).body);
  expect(worker.starts).toBe(2);
  expect(after).toEqual(before);
});
