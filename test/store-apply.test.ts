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

describe('applied buckets, bins past a front bin', () => {
  it('keeps a bin of more than 255 samples exact: the front bin moves its sum to the back one', () => {
    const { store, state } = setup();
    const w = state.writer;
    const a = bucketOf(Array.from({ length: 600 }, () => 42));
    const b = bucketOf([...Array.from({ length: 100 }, () => 42), 7, 9000]);
    const c = bucketOf(Array.from({ length: 200 }, () => 42));
    w.advance(T0 + 1000);
    for (const x of [b, a, c]) w.applyBucket(0, T0 + 1000, x.count, x.sum, x.min, x.max, x.last, x.run, 0);
    w.advance(T0 + 2000);
    const [r] = store.buckets(0, 1);
    const got = new SketchAccumulator();
    store.addSketch(1, r!, got);
    const all = new SketchAccumulator();
    for (const x of [a, b, c]) all.addEncoded(x.run, 0);
    expect(got.total).toBe(902);
    for (const q of [0, 0.001, 0.5, 0.999, 1]) expect(got.quantile(q)).toBe(all.quantile(q));
  });

  it('reads and empties a back bin filled in a bucket after one that closed on the same page', () => {
    // The first bucket's close empties the page and its marks; the second passes 255 in a bin
    // (its back bin, marked); the third must start from empty bins.
    const { store, state } = setup();
    const w = state.writer;
    const small = bucketOf([42, 7]);
    const big = bucketOf([...Array.from({ length: 300 }, () => 42), 7]);
    w.advance(T0 + 1000);
    w.applyBucket(0, T0 + 1000, small.count, small.sum, small.min, small.max, small.last, small.run, 0);
    w.advance(T0 + 2000);
    w.applyBucket(0, T0 + 2000, big.count, big.sum, big.min, big.max, big.last, big.run, 0);
    w.advance(T0 + 3000);
    w.applyBucket(0, T0 + 3000, small.count, small.sum, small.min, small.max, small.last, small.run, 0);
    let open = 0;
    store.forEachOpenBin(0, (_key, count) => (open += count));
    expect(open).toBe(2);
    w.advance(T0 + 4000);
    const records = store.buckets(0, 1);
    expect(records.map((r) => r.count)).toEqual([2, 301, 2]);
    for (const [r, x] of [[records[1]!, big], [records[2]!, small]] as const) {
      const got = new SketchAccumulator();
      store.addSketch(1, r, got);
      const want = new SketchAccumulator();
      want.addEncoded(x.run, 0);
      expect(got.total).toBe(want.total);
      for (const q of [0, 0.5, 1]) expect(got.quantile(q)).toBe(want.quantile(q));
    }
  });
});

describe('closed records from outside (a hub member series)', () => {
  it("takes a member's closed bucket as a record at its own start: its stats and sketch as sent, the totals, no open bucket nor sketch page, and a rollup of the minute whose last bucket came after the minute ended", () => {
    const { store, state } = setup();
    const w = state.writer;
    const free = w.freePages();
    const b = bucketOf(Array.from({ length: 30 }, (_, i) => 2 + i * 13));
    // One bucket a second, each of the second before, as a hub gets them: the minute T0's last
    // (its start T0 + 59 s) arrives when the hub's bucket is already in the next minute.
    for (let s = 1; s <= 61; s++) {
      const t = T0 + s * 1000;
      if (w.advance(t)) w.rollup(1);
      expect(w.writeClosed(0, t - 1000, t + 5, b.count, b.sum, b.min, b.max, b.last, b.run, 0)).toBe(true);
      w.publish();
    }
    if (w.advance(T0 + 62_000)) w.rollup(1);
    const records = store.buckets(0, 1);
    expect(records.map((r) => r.start)).toEqual(Array.from({ length: 61 }, (_, i) => T0 + i * 1000));
    for (const r of records) {
      expect([r.count, r.sum, r.min, r.max, r.last]).toEqual([b.count, b.sum, b.min, b.max, b.last]);
      const got = new SketchAccumulator();
      expect(store.addSketch(1, r, got)).toBe(true);
      expect(got.total).toBe(b.count);
      for (const q of [0.01, 0.5, 0.99]) expect(got.quantile(q)).toBe(b.acc.quantile(q));
    }
    const snap = store.snapshot(0);
    expect([snap.totalCount, snap.totalSum, snap.openCount, snap.lastValue]).toEqual([61 * b.count, 61 * b.sum, 0, b.last]);
    expect(w.openSeries()).toBe(0);
    expect(w.freePages()).toBe(free);
    // The window's aggregate and quantiles, as a rule or a query reads them.
    const acc = new SketchAccumulator();
    const agg = store.aggregate(0, T0 + 10_000, T0 + 20_000, acc);
    expect([agg.count, agg.sum, acc.total]).toEqual([10 * b.count, 10 * b.sum, 10 * b.count]);
    // Minute T0 rolled up whole, its last bucket (arrived in the next minute) included.
    const rollups = store.buckets(0, 2);
    expect(rollups.map((r) => [r.start, r.count, r.sum])).toEqual([[T0, 60 * b.count, 60 * b.sum]]);
    // The last value as one raw sample a bucket, at the time it came.
    expect(store.raw(0).t.at(-1)).toBe(T0 + 61_005);
  });

  it("refuses, writing nothing, a record that would break the store's order: at or before the series' newest, in the open bucket's interval or later, in a minute already rolled up, or beside open data", () => {
    const { store, state, apply } = setup();
    const w = state.writer;
    const b = bucketOf([5, 6, 7]);
    const put = (id: number, start: number, now: number) => w.writeClosed(id, start, now, b.count, b.sum, b.min, b.max, b.last, b.run, 0);
    w.advance(T0 + 10_000);
    expect(put(0, T0 + 5000, T0 + 10_000)).toBe(true);
    expect(put(0, T0 + 5000, T0 + 10_001)).toBe(false);
    expect(put(0, T0 + 4000, T0 + 10_002)).toBe(false);
    expect(put(0, T0 + 10_000, T0 + 10_003)).toBe(false);
    expect(put(0, T0 + 11_000, T0 + 10_004)).toBe(false);
    // Series 1 takes samples of its own: open data now, refused; its closed bucket taken later.
    apply(T0 + 10_000, [[1, 3]]);
    expect(put(1, T0 + 9000, T0 + 10_005)).toBe(false);
    apply(T0 + 11_000, []);
    expect(put(1, T0 + 10_000, T0 + 11_005)).toBe(false);
    expect(put(1, T0 + 10_500, T0 + 11_005)).toBe(true);
    // Series 2: minute T0 rolled up (an interval after it ended), then a bucket of that minute comes.
    w.advance(T0 + 31_000);
    expect(put(2, T0 + 30_000, T0 + 31_000)).toBe(true);
    for (const t of [T0 + 60_000, T0 + 61_000]) if (w.advance(t)) w.rollup(3);
    expect(store.buckets(2, 2)).toHaveLength(1);
    expect(put(2, T0 + 59_000, T0 + 61_001)).toBe(false);
    expect(put(2, T0 + 60_000, T0 + 61_002)).toBe(true);
    w.publish();
    expect(store.buckets(0, 1).map((r) => r.start)).toEqual([T0 + 5000]);
    expect(store.snapshot(0).totalCount).toBe(b.count);
    expect(store.buckets(1, 1).map((r) => r.start)).toEqual([T0 + 10_000, T0 + 10_500]);
    expect(store.buckets(2, 1).map((r) => r.start)).toEqual([T0 + 30_000, T0 + 60_000]);
  });

  it('refuses a record at or before the bucket its series closed after taking a record', () => {
    // The writer knows each series' newest record without reading the slot: the bucket its own
    // close published after the record it took is the newest, and a record must come after it.
    const { store, state, apply } = setup();
    const w = state.writer;
    const b = bucketOf([5, 6, 7]);
    const put = (start: number, now: number) => w.writeClosed(3, start, now, b.count, b.sum, b.min, b.max, b.last, b.run, 0);
    w.advance(T0 + 10_000);
    expect(put(T0 + 9000, T0 + 10_000)).toBe(true);
    apply(T0 + 10_000, [[3, 4]]);
    apply(T0 + 12_000, []);
    expect(store.buckets(3, 1).map((r) => r.start)).toEqual([T0 + 9000, T0 + 10_000]);
    expect(put(T0 + 10_000, T0 + 12_001)).toBe(false);
    expect(put(T0 + 11_000, T0 + 12_002)).toBe(true);
    w.publish();
    expect(store.buckets(3, 1).map((r) => r.start)).toEqual([T0 + 9000, T0 + 10_000, T0 + 11_000]);
  });
});

describe('closed records after an open bucket', () => {
  it("keep the totals exact: the sum of the bucket the series closed before is not counted again once a record follows it", () => {
    // A hub member's series: a restarted member's first bucket went into its open bucket of
    // now, which closed; the member's next bucket is a record. Its count was right and its sum
    // (a counter's total) had the closed bucket's sum twice, until the series opened again.
    const { store, state } = setup();
    const w = state.writer;
    const b = bucketOf([5, 6, 7]);
    const c = bucketOf([100, 200]);
    w.advance(T0 + 10_000);
    expect(w.writeClosed(0, T0 + 9000, T0 + 10_000, b.count, b.sum, b.min, b.max, b.last, b.run, 0)).toBe(true);
    w.applyBucket(0, T0 + 10_001, c.count, c.sum, c.min, c.max, c.last, c.run, 0);
    w.advance(T0 + 12_000);
    expect(w.writeClosed(0, T0 + 11_000, T0 + 12_001, b.count, b.sum, b.min, b.max, b.last, b.run, 0)).toBe(true);
    w.publish();
    const snap = store.snapshot(0);
    expect([snap.totalCount, snap.totalSum]).toEqual([2 * b.count + c.count, 2 * b.sum + c.sum]);
    expect(store.totalSum(0)).toBe(2 * b.sum + c.sum);
    expect(store.buckets(0, 1).map((r) => [r.start, r.count, r.sum])).toEqual([
      [T0 + 9000, b.count, b.sum],
      [T0 + 10_000, c.count, c.sum],
      [T0 + 11_000, b.count, b.sum],
    ]);
  });
});

describe('applied buckets, a spent sketch pool', () => {
  it("keep every bin of a bucket whose next page is found by taking idle series' pages back: not the pages the bucket has just filled", () => {
    const { store, state } = setup({ poolBytes: 0 });
    const w = state.writer;
    const pool = w.freePages();
    const one = bucketOf([1]);
    // All pages but one held by series idle since their buckets closed.
    w.advance(T0 + 1000);
    for (let id = 0; id < pool - 1; id++) w.applyBucket(id, T0 + 1000, one.count, one.sum, one.min, one.max, one.last, one.run, 0);
    w.advance(T0 + 2000);
    expect(w.freePages()).toBe(1);
    // A bucket over two pages: its first takes the last free page, its second finds the pool spent.
    const two = bucketOf([1, 1e6]);
    const id = pool + 4;
    w.applyBucket(id, T0 + 2000, two.count, two.sum, two.min, two.max, two.last, two.run, 0);
    w.advance(T0 + 3000);
    w.publish();
    const [r] = store.buckets(id, 1);
    const got = new SketchAccumulator();
    expect(store.addSketch(1, r!, got)).toBe(true);
    expect([r!.count, got.total]).toEqual([2, 2]);
    expect(got.quantile(0)).toBe(two.acc.quantile(0));
    expect(got.quantile(1)).toBe(two.acc.quantile(1));
  });
});
