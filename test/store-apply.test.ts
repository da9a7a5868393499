/** StoreWriter.applyBucket: whole buckets recorded elsewhere (a hub's members) added into a series. */
import { describe, expect, it } from 'vitest';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { T0, setup } from './store-harness.js';

/** A member's bucket of `values`: its stats and its sketch as a run. */
function bucketOf(values: number[]) {
  const acc = new SketchAccumulator();
  for (const v of values) acc.add(v);
  const run = new Int32Array(acc.encodedLengthBound());
  acc.encodeInto(run, 0);
  return { acc, run, count: values.length, sum: values.reduce((a, b) => a + b, 0), min: Math.min(...values), max: Math.max(...values), last: values.at(-1)! };
}

describe('applied buckets', () => {
  it('close with every bin applied, bucket after bucket on the same sketch pages, and leave the pages empty for the next', () => {
    const { store, state } = setup();
    const w = state.writer;
    // Two members' buckets a second into series 0, over values spread across two sketch pages.
    const a = bucketOf(Array.from({ length: 40 }, (_, i) => 1 + i * 37));
    const b = bucketOf(Array.from({ length: 25 }, (_, i) => 3 + i * i * 11));
    const seconds = 4;
    for (let s = 1; s <= seconds; s++) {
      const t = T0 + s * 1000;
      w.advance(t);
      w.applyBucket(0, t, a.count, a.sum, a.min, a.max, a.last, a.run, 0);
      w.applyBucket(0, t, b.count, b.sum, b.min, b.max, b.last, b.run, 0);
      w.publish();
    }
    w.advance(T0 + (seconds + 1) * 1000);
    w.publish();
    const both = new SketchAccumulator();
    both.addEncoded(a.run, 0);
    both.addEncoded(b.run, 0);
    const records = store.buckets(0, 1);
    expect(records).toHaveLength(seconds);
    for (const r of records) {
      expect([r.count, r.sum, r.min, r.max]).toEqual([65, a.sum + b.sum, 1, b.max]);
      const got = new SketchAccumulator();
      store.addSketch(1, r, got);
      // Every bucket's sketch is the two members' merged, bin for bin: nothing missed, nothing left over from the one before.
      expect(got.total).toBe(65);
      for (const q of [0.01, 0.25, 0.5, 0.9, 0.99, 1]) expect(got.quantile(q)).toBe(both.quantile(q));
    }
  });
});
