/**
 * A hub row's cluster-wide bucket holds its members' sketch runs where the log has them
 * (pending runs, store/pending-runs.ts) and its close merges them: no sketch page taken, the
 * open sketch and the closed record bin for bin the merge of the members' buckets, whether the
 * bucket also holds pages (runs past its list, buckets applied bin by bin) and when the log
 * has to move the runs ahead of its head (a log too small for one bucket's rows).
 */
import { describe, expect, it } from 'vitest';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { PEND_CAP, PEND_COUNT } from '../dist/src/engine/store/layout.js';
import { StoreWriter } from '../dist/src/engine/store/writer.js';
import { MiB, T0, setup } from './store-harness.js';

/** A member's bucket of `values`: its stats and its sketch as a run. */
function bucketOf(values: number[]) {
  const acc = new SketchAccumulator();
  for (const v of values) acc.add(v);
  const run = new Int32Array(acc.encodedLengthBound());
  acc.encodeInto(run, 0);
  return { run, count: values.length, sum: values.reduce((a, b) => a + b, 0), min: Math.min(...values), max: Math.max(...values), last: values.at(-1)!, values };
}
type Bucket = ReturnType<typeof bucketOf>;

/** Member m's bucket: values spread over several powers of two (several sketch pages). */
const memberBucket = (m: number, n = 30) => bucketOf(Array.from({ length: n }, (_, i) => 1 + ((m * 7919 + i * 104729) % 997) * (1 + ((m + i) % 7)) * 3));

const binsOf = (values: number[]): string => {
  const acc = new SketchAccumulator();
  for (const v of values) acc.add(v);
  return binsText((fn) => acc.forEachBin(fn));
};
const binsText = (each: (fn: (key: number, count: number) => void) => void): string => {
  const bins = new Map<number, number>();
  each((key, count) => bins.set(key, (bins.get(key) ?? 0) + count));
  return [...bins].sort((a, b) => a[0] - b[0]).map(([k, c]) => `${k}:${c}`).join(' ');
};

/** Applies one batch of `rows` (member series id, its bucket) into cluster-wide series `cluster` at time t. */
function applyBatch(w: StoreWriter, key: number, seq: number, cluster: number, t: number, rows: [number, Bucket][]) {
  w.beginBatch(key, seq);
  rows.forEach(([member, b], row) => w.applyRow(row, member, cluster, t - 1000, t, b.count, b.sum, b.min, b.max, b.last, b.run, 0));
  w.publish();
}

describe('pending runs of a hub row', () => {
  it("a cluster-wide bucket takes each member's run as a pending run, takes no sketch page, and closes into their exact merge", () => {
    const { buffers, store, state } = setup();
    const w = state.writer;
    const i32 = new Int32Array(buffers.series);
    const cluster = 100;
    const pendCell = cluster * store.layout.slotF64 * 2 + PEND_COUNT;
    const free = w.freePages();
    const t = T0 + 5000;
    w.advance(t);
    const buckets = [0, 1, 2, 3].map((m) => memberBucket(m));
    buckets.forEach((b, m) => applyBatch(w, m + 1, 1, cluster, t, [[m, b]]));
    const all = buckets.flatMap((b) => b.values);
    expect(i32[pendCell]).toBe(4);
    expect(w.freePages()).toBe(free);
    // The open bucket as readers see it: the four runs from the log.
    expect(binsText((fn) => store.forEachOpenBin(cluster, fn))).toBe(binsOf(all));
    expect(store.snapshot(cluster).openCount).toBe(all.length);
    w.advance(t + 1000);
    w.publish();
    expect(i32[pendCell]).toBe(0);
    expect(w.freePages()).toBe(free);
    const [record] = store.buckets(cluster, 1);
    expect([record!.count, record!.sum, record!.min, record!.max]).toEqual([all.length, all.reduce((a, b) => a + b, 0), Math.min(...all), Math.max(...all)]);
    expect(binsText((fn) => store.forEachBucketBin(cluster, 0, fn))).toBe(binsOf(all));
    expect(w.counters.sketchOverflow).toBe(0);
  });

  it(`past ${PEND_CAP} runs a bucket adds the rest into its pages, and with a bucket applied bin by bin its close merges pages and runs`, () => {
    const { buffers, store, state } = setup();
    const w = state.writer;
    const i32 = new Int32Array(buffers.series);
    const cluster = 200;
    const pendCell = cluster * store.layout.slotF64 * 2 + PEND_COUNT;
    const free = w.freePages();
    const t = T0 + 5000;
    w.advance(t);
    const members = PEND_CAP + 5;
    const buckets = Array.from({ length: members }, (_, m) => memberBucket(m, 10 + m));
    buckets.forEach((b, m) => applyBatch(w, m + 1, 1, cluster, t, [[m, b]]));
    // And one bucket of the hub's own, bin by bin (StoreWriter.applyBucket).
    const own = memberBucket(99, 17);
    w.applyBucket(cluster, t, own.count, own.sum, own.min, own.max, own.last, own.run, 0);
    w.publish();
    const all = [...buckets, own].flatMap((b) => b.values);
    expect(i32[pendCell]).toBe(PEND_CAP);
    expect(w.freePages()).toBeLessThan(free);
    expect(binsText((fn) => store.forEachOpenBin(cluster, fn))).toBe(binsOf(all));
    w.advance(t + 1000);
    w.publish();
    expect(i32[pendCell]).toBe(0);
    const [record] = store.buckets(cluster, 1);
    expect([record!.count, record!.sum]).toEqual([all.length, all.reduce((a, b) => a + b, 0)]);
    expect(binsText((fn) => store.forEachBucketBin(cluster, 0, fn))).toBe(binsOf(all));
  });

  it("a log too small for a bucket's rows moves its pending runs ahead of its head, one merged run a bucket, and loses no bin", () => {
    // The smallest log that takes pending runs: two blocks (a reach of one, 65,536 i32).
    const { buffers, store, state } = setup({ logBytes: 2 * 65536 * 4, maxSeries: 4096, poolBytes: 8 * MiB });
    const w = state.writer;
    const i32 = new Int32Array(buffers.series);
    const clusters = [3000, 3001, 3002];
    const t = T0 + 5000;
    w.advance(t);
    const kept = new Map<number, number[]>(clusters.map((c) => [c, []]));
    // Three rows of each cluster-wide series, then member records of other series (whose runs
    // fill the log), then one more row of each.
    for (let m = 0; m < 3; m++) {
      applyBatch(w, m + 1, 1, clusters[m]!, t, [[m, memberBucket(m)]]);
      for (const c of clusters) {
        const b = memberBucket(10 + m + c);
        applyBatch(w, 10 + c, m + 1, c, t, [[c - 2900, b]]);
        kept.get(c)!.push(...b.values);
      }
      kept.get(clusters[m]!)!.push(...memberBucket(m).values);
    }
    const before = clusters.map((c) => i32[c * store.layout.slotF64 * 2 + PEND_COUNT]);
    expect(before.every((n) => n! >= 4)).toBe(true);
    let seq = 1;
    for (let k = 0; k < 1500; k++) applyBatch(w, 50, seq++, 3500, t, [[4000 - 1 - (k % 90), memberBucket(k % 40, 60)]]);
    for (const c of clusters) {
      // Moved: one run now, in the log's reach, holding the same bins.
      expect(i32[c * store.layout.slotF64 * 2 + PEND_COUNT]).toBe(1);
      expect(binsText((fn) => store.forEachOpenBin(c, fn))).toBe(binsOf(kept.get(c)!));
      const b = memberBucket(77 + c);
      applyBatch(w, 10 + c, 9, c, t, [[c - 2900, b]]);
      kept.get(c)!.push(...b.values);
    }
    w.advance(t + 1000);
    w.publish();
    for (const c of clusters) {
      const [record] = store.buckets(c, 1);
      expect(record!.count).toBe(kept.get(c)!.length);
      expect(binsText((fn) => store.forEachBucketBin(c, 0, fn))).toBe(binsOf(kept.get(c)!));
    }
    expect(w.counters.sketchOverflow).toBe(0);
  });

  it('pendingRuns false adds every row into the pages, as before pending runs', () => {
    const { buffers, store } = setup();
    const w = new StoreWriter(buffers, undefined, { pendingRuns: false });
    w.recover(T0, 0);
    const i32 = new Int32Array(buffers.series);
    const cluster = 100;
    const free = w.freePages();
    const t = T0 + 5000;
    w.advance(t);
    const buckets = [0, 1].map((m) => memberBucket(m));
    buckets.forEach((b, m) => applyBatch(w, m + 1, 1, cluster, t, [[m, b]]));
    expect(i32[cluster * store.layout.slotF64 * 2 + PEND_COUNT]).toBe(0);
    expect(w.freePages()).toBeLessThan(free);
    expect(binsText((fn) => store.forEachOpenBin(cluster, fn))).toBe(binsOf(buckets.flatMap((b) => b.values)));
  });
});
