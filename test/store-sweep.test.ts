/**
 * The close of the buckets that ended, in slices (StoreWriter.begin/sweep): the collector
 * drains its rings between slices, and a series that takes data before the sweep reaches it
 * is closed then. Each bucket is closed once, with its own samples, and the open list ends
 * with each series once.
 */
import { describe, expect, it } from 'vitest';
import { T0, setup } from './store-harness.js';

const summary = (b: { start: number; count: number; sum: number }): number[] => [b.start - T0, b.count, b.sum];

describe('a sweep in slices', () => {
  it('closes every ended bucket once, the ones that took data first included, and leaves each series open once', () => {
    const { store, state, producer } = setup({ maxSeries: 1024 });
    const w = state.writer;
    const series = 600;
    const drain = (t: number, samples: [number, number][]): void => {
      for (const [id, v] of samples) producer.push(id, v);
      producer.publish();
      w.drain(state.reader, t, 1 << 20);
      w.publish();
    };
    // Bucket 0: series i holds the values i and 2i.
    drain(T0 + 5, Array.from({ length: series }, (_, i): [number, number][] => [[i, i], [i, 2 * i]]).flat());
    expect(w.begin(T0 + 1005)).toBe(true);
    expect(w.sweeping).toBe(true);
    expect(w.sweep(100)).toBe(false);
    // Swept already (0..99) and not yet (100..599): both take data in bucket 1.
    drain(T0 + 1010, [[3, 7], [400, 7], [400, 1], [599, 5]]);
    expect(w.sweep(100)).toBe(false);
    expect(w.sweep(10_000)).toBe(true);
    expect(w.sweeping).toBe(false);
    for (const id of [0, 3, 150, 400, 599]) expect(store.buckets(id, 1).map(summary)).toEqual([[0, 2, 3 * id]]);
    expect(store.snapshot(400)).toMatchObject({ openStart: T0 + 1000, openCount: 2, openSum: 8, totalCount: 4 });
    expect(store.snapshot(3)).toMatchObject({ openStart: T0 + 1000, openCount: 1, openSum: 7, totalCount: 3 });
    // Next boundary: exactly the four series open in bucket 1 close, each once.
    expect(w.openSeries()).toBe(3);
    drain(T0 + 1020, [[3, 1]]);
    expect(w.advance(T0 + 2005)).toBe(true);
    for (const id of [3, 400, 599]) expect(store.buckets(id, 1).map(summary).map((b) => b[0])).toEqual([0, 1000]);
    expect(store.buckets(3, 1).map(summary)[1]).toEqual([1000, 2, 8]);
    expect(store.buckets(150, 1).map(summary)).toEqual([[0, 2, 450]]);
    expect(w.openSeries()).toBe(0);
  });

  it('finishes a sweep under way before it moves again', () => {
    const { store, state, producer } = setup({ maxSeries: 1024 });
    const w = state.writer;
    for (let i = 0; i < 50; i++) producer.push(i, 1);
    producer.publish();
    w.drain(state.reader, T0 + 5, 1 << 20);
    w.publish();
    expect(w.begin(T0 + 1005)).toBe(true);
    expect(w.sweep(10)).toBe(false);
    expect(w.begin(T0 + 2005)).toBe(true);
    expect(w.sweeping).toBe(false);
    for (let i = 0; i < 50; i++) expect(store.buckets(i, 1).map(summary)).toEqual([[0, 1, 1]]);
  });
});
