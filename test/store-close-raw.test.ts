/**
 * A bucket whose samples all still wait in the raw ring (none binned into its pages yet) is
 * closed from its raw slots: its record's sketch is counted from them, its pages are freed
 * untouched, and the slots count as binned once the bucket is reset, so the next bucket's
 * sketch starts empty. A writer killed between such a record and the reset is finished by
 * its successor's recover().
 */
import { describe, expect, it } from 'vitest';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { StoreWriter } from '../dist/src/engine/store/writer.js';
import { T0, setup } from './store-harness.js';

/** A sketch's bins as one comparable string. */
function bins(acc: SketchAccumulator): string {
  const out: string[] = [];
  acc.forEachBin((key, count) => out.push(`${key}:${count}`));
  return out.sort().join(' ');
}

function exact(values: number[]): string {
  const acc = new SketchAccumulator();
  for (const v of values) acc.add(v);
  return bins(acc);
}

/** `n` values from 1 to 10^4, repeating some bins. */
function values(n: number, salt: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.round(Math.exp(((i * 7 + salt) % 23) * 0.4)));
}

describe('a bucket closed from its raw slots', () => {
  it("counts its record's sketch from the raw ring, frees its pages, and starts the next bucket empty", () => {
    // rawCapacity 64: a series' samples are binned into pages once 32 wait.
    const { apply, store } = setup({ rawCapacity: 64 });
    const pool = store.freePages();
    const busy = values(100, 1); // binned into pages during the bucket
    const quiet = values(20, 2); // all still in the raw ring at the close
    apply(T0 + 10, [...busy.map((v): [number, number] => [0, v]), ...quiet.map((v): [number, number] => [1, v])]);
    expect(store.freePages()).toBeLessThan(pool);
    // Bucket 2: series 0 quiet now, series 1 silent; bucket 1 closes.
    const later = values(10, 3);
    apply(T0 + 1010, later.map((v): [number, number] => [0, v]));
    // Bucket 3: bucket 2 closes from the raw slots and frees series 0's pages.
    const third = values(5, 4);
    apply(T0 + 2010, third.map((v): [number, number] => [1, v]));
    expect(store.freePages()).toBe(pool);
    const acc = new SketchAccumulator();
    const cases: [number, number, number, number[]][] = [
      [0, T0, T0 + 1000, busy],
      [1, T0, T0 + 1000, quiet],
      [0, T0 + 1000, T0 + 2000, later],
      [1, T0 + 2000, T0 + 3000, third],
      [0, -Infinity, Infinity, [...busy, ...later]],
      [1, -Infinity, Infinity, [...quiet, ...third]],
    ];
    for (const [id, from, to, want] of cases) {
      const agg = store.aggregate(id, from, to, acc);
      expect({ id, from, count: agg.count, sum: agg.sum, bins: bins(acc) }).toEqual({ id, from, count: want.length, sum: want.reduce((a, b) => a + b, 0), bins: exact(want) });
    }
    // The open bucket of series 1 holds the third bucket's samples alone.
    const open: string[] = [];
    store.forEachOpenBin(1, (key, count) => open.push(`${key}:${count}`));
    expect(open.sort().join(' ')).toBe(exact(third));
    // And its close, from the raw slots again, counts them once.
    apply(T0 + 3010, []);
    expect(bins((store.aggregate(1, T0 + 2000, T0 + 3000, acc), acc))).toBe(exact(third));
  });

  it("is finished by a successor when the writer dies between the record and the bucket's reset", () => {
    const { apply, store, state, buffers } = setup({ rawCapacity: 64 });
    const first = values(20, 5);
    apply(T0 + 10, first.map((v): [number, number] => [3, v]));
    // The dead writer publishes bucket 1's record, then dies on entry to its reset.
    const hooked = state.writer as unknown as { resetOpen: (...args: unknown[]) => unknown };
    hooked.resetOpen = () => {
      throw new Error('killed');
    };
    expect(() => state.writer.advance(T0 + 1010)).toThrow('killed');
    expect(store.bucketCount(3, 1)).toBe(1);
    state.writer = new StoreWriter(buffers);
    state.writer.recover(T0 + 1010, 1024);
    const second = values(7, 6);
    apply(T0 + 1020, second.map((v): [number, number] => [3, v]));
    apply(T0 + 2010, []);
    const acc = new SketchAccumulator();
    for (const [from, to, want] of [
      [T0, T0 + 1000, first],
      [T0 + 1000, T0 + 2000, second],
      [-Infinity, Infinity, [...first, ...second]],
    ] as [number, number, number[]][]) {
      const agg = store.aggregate(3, from, to, acc);
      expect({ from, count: agg.count, sum: agg.sum, bins: bins(acc) }).toEqual({ from, count: want.length, sum: want.reduce((a, b) => a + b, 0), bins: exact(want) });
    }
    expect(store.snapshot(3).totalCount).toBe(first.length + second.length);
  });
});
