/**
 * A writer taking over a store from a dead one (the collector restarted): what recover()
 * finds and finishes, and how advance() moves the open bucket afterwards.
 */
import { describe, expect, it } from 'vitest';
import { ROLLED_UPTO } from '../dist/src/engine/store/layout.js';
import { StoreWriter } from '../dist/src/engine/store/writer.js';
import { T0, setup } from './store-harness.js';

const summary = (b: { start: number; count: number; sum: number }): number[] => [b.start - T0, b.count, b.sum];

describe('a writer taking over', () => {
  it('closes the buckets its predecessor left open, publishes the raw samples it wrote, and beats on a long scan', () => {
    const { buffers, store, apply, state, producer } = setup({ maxSeries: 2048 });
    apply(T0 + 5, [[2, 1], [2, 2], [2, 3]], 2048);
    apply(T0 + 1005, [[2, 4], [2, 5], [5, 9]], 2048);
    const free = store.freePages();
    // Applied but not published: the predecessor dies before its pass's publish().
    producer.push(2, 6);
    producer.publish();
    state.writer.drain(state.reader, T0 + 1010, 1 << 20);
    expect(store.rawHead(2)).toBe(5);
    let beats = 0;
    const successor = new StoreWriter(buffers, () => beats++);
    expect(store.freePages()).toBe(free);
    successor.recover(T0 + 1500, 2048);
    expect({ beats, start: successor.bucketStart - T0, raw: store.rawHead(2) }).toEqual({ beats: 2, start: 1000, raw: 6 });
    // Same bucket: nothing moves. An earlier time never moves the bucket back.
    expect(successor.advance(T0 + 1999)).toBe(false);
    expect(successor.advance(T0 + 5)).toBe(false);
    expect(successor.bucketStart).toBe(T0 + 1000);
    expect(store.buckets(2, 1).map(summary)).toEqual([[0, 3, 6]]);
    expect(successor.advance(T0 + 2000)).toBe(true);
    expect(store.buckets(2, 1).map(summary)).toEqual([[0, 3, 6], [1000, 3, 15]]);
    expect(store.buckets(5, 1).map(summary)).toEqual([[1000, 1, 9]]);
    expect(store.snapshot(2)).toMatchObject({ totalCount: 6, totalSum: 21, openCount: 0 });
    // The pages its predecessor lent stay lent: a new series takes a free one, not series 2's.
    state.writer = successor;
    apply(T0 + 2005, [[7, 1], [2, 1]], 2048);
    const bins = (id: number): number[] => {
      const out: number[] = [];
      store.forEachOpenBin(id, (key, count) => out.push(key, count));
      return out;
    };
    expect(bins(2)).toEqual(bins(7));
    expect(bins(2)[1]).toBe(1);
  });

  it('finishes a close left half done behind older buckets, and writes the record once', () => {
    const { buffers, store, apply } = setup();
    apply(T0 + 5, [[4, 1]]);
    apply(T0 + 1005, [[4, 2], [4, 3]]);
    // The second close publishes its record; the writer dies before emptying the open bucket.
    const hot = new Float64Array(buffers.hot);
    const before = hot.slice(4 * 8, 5 * 8);
    apply(T0 + 2005, []);
    hot.set(before, 4 * 8);
    const successor = new StoreWriter(buffers);
    successor.recover(T0 + 2010, 5);
    expect(store.snapshot(4)).toMatchObject({ totalCount: 3, totalSum: 6, openCount: 0 });
    successor.advance(T0 + 3005);
    expect(store.buckets(4, 1).map(summary)).toEqual([[0, 1, 1], [1000, 2, 5]]);
  });

  it('keeps the open bucket of a series with no closed record, whatever times its raw ring holds', () => {
    // 64 samples applied at the bucket's first millisecond: the raw ring just before the
    // tier-1 ring is full of times equal to the open bucket's start.
    const { buffers, store, apply } = setup();
    apply(T0, Array.from({ length: 64 }, (_, i) => [6, i] as [number, number]));
    const successor = new StoreWriter(buffers);
    successor.recover(T0 + 10, 7);
    expect(store.snapshot(6)).toMatchObject({ totalCount: 64, openCount: 64 });
    successor.advance(T0 + 1000);
    expect(store.buckets(6, 1).map(summary)).toEqual([[0, 64, 2016]]);
  });

  it('rolls up no minute twice after a takeover, even one whose record was written before its mark', () => {
    const { buffers, store, apply } = setup();
    for (let b = 0; b < 61; b++) apply(T0 + b * 1000 + 5, [[3, b]]);
    expect(store.buckets(3, 2).map(summary)).toEqual([[0, 60, 1770]]);
    // A successor: every series is checked for windows not rolled up, and minute 0 is not one.
    const successor = new StoreWriter(buffers);
    successor.recover(T0 + 61_010, 4);
    expect(successor.rollup(4)).toBe(0);
    // A writer that died between writing minute 0's record and marking it: the record counts.
    new Float64Array(buffers.series)[3 * store.layout.slotF64 + ROLLED_UPTO] = 0;
    const next = new StoreWriter(buffers);
    next.recover(T0 + 61_020, 4);
    expect(next.rollup(4)).toBe(0);
    expect(store.buckets(3, 2).map(summary)).toEqual([[0, 60, 1770]]);
  });

  it('rolls up each minute on its own when several are due at once', () => {
    // A writer that closed three minutes of buckets and died before rolling any up.
    const { buffers, store, state, producer } = setup();
    for (let b = 0; b < 181; b++) {
      state.writer.advance(T0 + b * 1000 + 5);
      producer.push(8, b);
      producer.publish();
      state.writer.drain(state.reader, T0 + b * 1000 + 5, 1 << 20);
    }
    const successor = new StoreWriter(buffers);
    successor.recover(T0 + 180_010, 9);
    expect(successor.rollup(9)).toBe(3);
    expect(store.buckets(8, 2).map(summary)).toEqual([0, 1, 2].map((m) => [m * 60_000, 60, 60 * (60 * m) + 1770]));
  });
});

