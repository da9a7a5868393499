/**
 * The reader's small per-series reads (what the HTTP front and the window sketches call), each
 * checked on a series with neighbours holding other data, so that a read of the wrong slot
 * gives a wrong answer rather than a zero that happens to match.
 */
import { describe, expect, it } from 'vitest';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { T0, setup } from './store-harness.js';

type Totals = { lastValue: number; totalSum: number; totalCount: number; closed: number[]; snapshot: object };

describe('per-series reads', () => {
  it("gives each series' newest value, totals and closed totals, before, across and half-way through a bucket close", () => {
    const { buffers, store, apply } = setup();
    const closed = new Float64Array(3);
    const read = (id: number): Totals => {
      store.closedTotals(id, closed);
      return { lastValue: store.lastValue(id), totalSum: store.totalSum(id), totalCount: store.totalCount(id), closed: [...closed], snapshot: store.snapshot(id) };
    };
    const neighbours = (t: number): [number, number][] => [[2, 1000 + t], [4, 2000 + t], [4, 3000 + t]];
    // Bucket 0 open: series 3 holds 1, 2, 4.
    apply(T0 + 5, [[3, 1], [3, 2], [3, 4], ...neighbours(0)]);
    expect(read(3)).toMatchObject({ lastValue: 4, totalSum: 7, totalCount: 3, closed: [0, 0, 0] });
    // Bucket 0 closed, bucket 1 open with 10: the newest value is the open one.
    apply(T0 + 1005, [[3, 10], ...neighbours(1)]);
    expect(read(3)).toEqual({
      lastValue: 10,
      totalSum: 17,
      totalCount: 4,
      closed: [3, 7, T0],
      snapshot: expect.objectContaining({ totalCount: 4, totalSum: 17, lastValue: 10, openCount: 1, openSum: 10, openStart: T0 + 1000 }),
    });
    // Bucket 1 closed and nothing since: everything is on the closed side.
    apply(T0 + 2005, neighbours(2));
    expect(read(3)).toEqual({
      lastValue: 10,
      totalSum: 17,
      totalCount: 4,
      closed: [4, 17, T0 + 1000],
      snapshot: expect.objectContaining({ totalCount: 4, totalSum: 17, lastValue: 10, openCount: 0, openSum: 0 }),
    });
    // A close half done (its totals moved, the open bucket not yet emptied, as a writer that
    // died between the two leaves it): the open bucket's samples are counted once, as closed.
    apply(T0 + 2010, [[3, 5], [3, 6]]);
    const hot = new Float64Array(buffers.hot);
    const slot = hot.slice(3 * 8, 4 * 8);
    apply(T0 + 3005, neighbours(3));
    hot.set(slot, 3 * 8);
    expect(read(3)).toEqual({
      lastValue: 6,
      totalSum: 28,
      totalCount: 6,
      closed: [6, 28, T0 + 2000],
      snapshot: expect.objectContaining({ totalCount: 6, totalSum: 28, lastValue: 6, openCount: 0, openSum: 0 }),
    });
    // A series never recorded reads as empty.
    expect(read(9)).toMatchObject({ lastValue: 0, totalSum: 0, totalCount: 0, closed: [0, 0, 0] });
  });

  it("gives a tier-1 record's start and bins only while the ring holds it, with one record of margin", () => {
    const { store, apply } = setup({ bucketCapacity: 5 });
    const values = (b: number): number[] => Array.from({ length: 4 + b }, (_, i) => (b + 1) * 10 + i);
    // Series 6 closes buckets 0..7 on a ring of 5; series 5 and 7 record in buckets 0, 3 and 6.
    for (let b = 0; b <= 8; b++) {
      const others: [number, number][] = [...(b % 3 === 0 ? [[5, 999], [7, 1e6 + b]] : []), ...(b < 5 ? [[8, b]] : [])] as [number, number][];
      apply(T0 + b * 1000 + 5, [...(b < 8 ? values(b).map((v) => [6, v] as [number, number]) : []), ...others]);
    }
    expect([store.bucketCount(6, 1), store.bucketCount(5, 1), store.bucketCount(6, 2)]).toEqual([8, 3, 0]);
    expect(store.buckets(6, 1).map((r) => [r.start, r.count])).toEqual([3, 4, 5, 6, 7].map((b) => [T0 + b * 1000, 4 + b]));
    expect(store.buckets(6, 2)).toEqual([]);
    const seen: Array<[number, number, boolean, number]> = [];
    for (let k = -2; k <= 10; k++) {
      const acc = new SketchAccumulator();
      const whole = store.forEachBucketBin(6, k, (key, count) => acc.addKey(key, count));
      seen.push([k, store.bucketStartAt(6, k), whole, acc.total]);
      if (whole && k >= 0 && k < 8) {
        const expected = new SketchAccumulator();
        for (const v of values(k)) expected.add(v);
        const bins = (s: SketchAccumulator): number[][] => {
          const out: number[][] = [];
          s.forEachBin((key, count) => out.push([key, count]));
          return out;
        };
        expect(bins(acc), `record ${k}`).toEqual(bins(expected));
      }
    }
    // Records 0..2 are gone and 3, the oldest held, may be being rewritten: 4..7 only.
    expect(seen).toEqual(
      Array.from({ length: 13 }, (_, i) => i - 2).map((k) => (k >= 4 && k <= 7 ? [k, T0 + k * 1000, true, 4 + k] : [k, Number.NaN, false, 0])),
    );
    // The oldest start held: one record of margin once the ring has wrapped (series 6), none
    // while it holds every record (series 5, and series 8's five on a ring of five).
    expect([store.oldestBucket(6, 1), store.oldestBucket(5, 1), store.oldestBucket(8, 1), store.oldestBucket(6, 2), store.oldestBucket(9, 1)]).toEqual([T0 + 4000, T0, T0, Number.NaN, Number.NaN]);
    // Series 5's ring has not filled: its first record is held, nothing before it.
    const none = (): void => {};
    expect([-2, -1, 0, 2, 3].map((k) => [store.bucketStartAt(5, k), store.forEachBucketBin(5, k, none)])).toEqual([
      [Number.NaN, false],
      [Number.NaN, false],
      [T0, true],
      [T0 + 6000, true],
      [Number.NaN, false],
    ]);
  });

  it('gives the oldest and newest times its raw ring holds, with one slot of margin once full, and honours limit and range', () => {
    const { store, apply } = setup({ rawCapacity: 8 });
    const at = (i: number): number => T0 + 10 * (i + 1);
    expect([store.rawOldest(3), store.newestRawTime(3)]).toEqual([Number.NaN, Number.NaN]);
    const record = (from: number, to: number): void => {
      for (let i = from; i < to; i++) apply(at(i), [[3, i], [2, -i], [2, -i], [4, 1e3 + i]]);
    };
    record(0, 5);
    expect([store.rawOldest(3), store.newestRawTime(3)]).toEqual([at(0), at(4)]);
    record(5, 8); // full: the oldest slot is the next to be rewritten
    expect([store.rawOldest(3), store.newestRawTime(3)]).toEqual([at(1), at(7)]);
    record(8, 12);
    expect([store.rawOldest(3), store.newestRawTime(3)]).toEqual([at(5), at(11)]);
    expect(store.raw(3).v).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
    expect(store.raw(3, -Infinity, Infinity, 3).v).toEqual([9, 10, 11]);
    expect(store.raw(3, at(6), at(9))).toEqual({ t: [at(6), at(7), at(8)], v: [6, 7, 8] });
    expect([store.rawOldest(9), store.newestRawTime(9)]).toEqual([Number.NaN, Number.NaN]);
  });

  it('copies raw samples by number, counting those the ring no longer holds', () => {
    const { store, apply } = setup({ rawCapacity: 8 });
    for (let i = 0; i < 12; i++) apply(T0 + 10 * (i + 1), [[3, i], [2, -i], [4, 1e3 + i]]);
    const head = store.rawHead(3);
    expect(head).toBe(12);
    const outT = new Float64Array(10).fill(-1);
    const outV = new Float64Array(10).fill(-1);
    const copy = (from: number): [number, number, number[], number[]] => {
      outT.fill(-1);
      outV.fill(-1);
      const n = store.rawRange(3, from, head, outT, outV);
      return [n, store.skipped, [...outV], [...outT.subarray(0, n)]];
    };
    expect(copy(12)).toEqual([0, 0, Array(10).fill(-1), []]);
    expect(copy(9)).toEqual([3, 0, [9, 10, 11, ...Array(7).fill(-1)], [T0 + 100, T0 + 110, T0 + 120]]);
    expect(copy(4)).toEqual([8, 0, [4, 5, 6, 7, 8, 9, 10, 11, -1, -1], Array.from({ length: 8 }, (_, i) => T0 + 10 * (i + 5))]);
    expect(copy(1)).toEqual([8, 3, [4, 5, 6, 7, 8, 9, 10, 11, -1, -1], Array.from({ length: 8 }, (_, i) => T0 + 10 * (i + 5))]);
  });

  it('answers a short window from that window alone: nothing once the bucket ring no longer holds it, the open bucket only when it starts inside', () => {
    // No whole rollup window inside [2 s, 3 s) and the ring of 20 no longer holds it: the
    // full read finds nothing there, not the buckets after it.
    const { store, apply } = setup({ bucketCapacity: 20 });
    for (let b = 0; b < 30; b++) apply(T0 + b * 1000 + 5, [[7, b + 1]]);
    expect(store.windowStats(7, T0 + 2000, T0 + 3000, new Float64Array(6))).toBe(false);
    expect(store.aggregate(7, T0 + 2000, T0 + 3000)).toMatchObject({ count: 0, sum: 0 });
    expect(store.aggregate(7, T0 + 20_000, T0 + 22_000)).toMatchObject({ count: 2, sum: 21 + 22, min: 21, max: 22, last: 22 });
    // The open bucket (29, holding 30) counts when it starts in the window, not before it.
    expect(store.aggregate(7, T0 + 29_000, T0 + 30_000)).toMatchObject({ count: 1, sum: 30, last: 30, lastTs: T0 + 29_000 });
    expect(store.aggregate(7, T0 + 29_001, T0 + 30_000)).toMatchObject({ count: 0, sum: 0, last: Number.NaN, lastTs: Number.NaN });
    // A window the ring holds only part of: the part it holds (buckets 9..14).
    expect(store.windowStats(7, T0 + 5000, T0 + 15_000, new Float64Array(6))).toBe(false);
    expect(store.aggregate(7, T0 + 5000, T0 + 15_000)).toMatchObject({ count: 6, sum: 10 + 11 + 12 + 13 + 14 + 15, min: 10, max: 15, last: 15 });
  });
});
