/**
 * A window rule whose quantile stands for part of its window is counted: the older buckets'
 * sketches had left the sketch log (too small for the series' closes: docs/storage.md), so the
 * p99 judged is that of the newer samples only (status().alerts.partialWindows).
 */
import { describe, expect, it } from 'vitest';
import { T0, harness } from './alert-harness.js';

/** 1,100 values, each in a sketch bin of its own: a bucket's sketch run is 2,201 i32. */
const values = Array.from({ length: 1100 }, (_, i) => 2 ** Math.floor(i / 64) * (1 + (i % 64) / 64 + 1 / 128));

function judged(logBytes: number, bucketCapacity?: number) {
  const h = harness({ logBytes, bucketCapacity });
  h.rule({ metric: 'lat', aggregation: 'p99', window: 60, operator: '>', threshold: 1e12 });
  h.rule({ metric: 'lat', aggregation: 'max', window: 60, operator: '>', threshold: 1e12 });
  for (let s = 0; s < 70; s++) h.at(T0 + s * 1000 + 10, values.map((v) => ['lat', v] as [string, number]));
  return h.evaluator.partialWindows;
}

describe("a window rule's partial quantile", () => {
  it('is counted once a judgement of its window misses sketches the log overwrote', () => {
    // 2^16 i32 (the smallest log) hold 29 of these buckets: of the 69 judgements (a bucket
    // closes each second from the 1st to the 69th), those of windows of 30 buckets or more
    // miss sketches: 40. The max rule reads no sketch and is never partial.
    expect(judged(0)).toBe(40);
  });

  it('is counted the same when the window is longer than the bucket ring (read with the rollups)', () => {
    // A ring of 40 buckets: windows of more buckets are read from the rollups and the buckets
    // held (StoreReader.aggregate). Of the 40 judgements above, the one whose window is
    // minute 0 exactly takes its rollup's sketch, which the rollup log holds: 39.
    expect(judged(0, 40)).toBe(39);
  });

  it('is not counted when the log holds the whole window', () => {
    expect(judged(16 * 1024 * 1024)).toBe(0);
  });
});
