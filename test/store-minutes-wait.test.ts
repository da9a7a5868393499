/**
 * The minute sketches' merges wait (store/minutes.ts, add): a series' closed records are
 * merged DEFER at a time, their runs read back from the sketch log, so every record that waits
 * must be merged before the log's head reaches its run, however few the series' records are.
 */
import { describe, expect, it } from 'vitest';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { T0, setup } from './store-harness.js';

/** 400 values, a sketch bin each (64 a power of two): a run of 801 i32. */
const bucket = (id: number, b: number): number[] => Array.from({ length: 400 }, (_, i) => 2 ** Math.floor(i / 64) * (1 + (i % 64) / 64 + 1 / 128) * (1 + id / 7) + b / 1e6);

const binsOf = (values: number[]): Map<number, number> => {
  const acc = new SketchAccumulator();
  for (const v of values) acc.add(v);
  const bins = new Map<number, number>();
  acc.forEachBin((key, count) => bins.set(key, count));
  return bins;
};

function runOf(values: number[]) {
  const acc = new SketchAccumulator();
  for (const v of values) acc.add(v);
  const run = new Int32Array(acc.encodedLengthBound());
  acc.encodeInto(run, 0);
  return { run, count: values.length, sum: values.reduce((a, b) => a + b, 0), min: Math.min(...values), max: Math.max(...values), last: values.at(-1)! };
}

describe("minute sketches' waiting merges", () => {
  it('merge the records of a series that stopped, before the log overwrites their runs: its minute rolls up whole, none lost', () => {
    // Two blocks of log (a reach of 65,536 i32): 8 other series' records of 801 i32 each second fill it in about 10 s.
    const { store, state } = setup({ logBytes: 2 * 65536 * 4 });
    const w = state.writer;
    const others = Array.from({ length: 8 }, (_, i) => 10 + i);
    for (let s = 1; s <= 61; s++) {
      const t = T0 + s * 1000;
      if (w.advance(t)) w.rollup(32);
      // Series 0: three records, fewer than a merge waits for, then none.
      const ids = s <= 3 ? [0, ...others] : others;
      for (const id of ids) {
        const b = runOf(bucket(id, s - 1));
        expect(w.writeClosed(id, t - 1000, t + 5, b.count, b.sum, b.min, b.max, b.last, b.run, 0)).toBe(true);
      }
      w.publish();
    }
    for (const t of [T0 + 62_000, T0 + 63_000]) if (w.advance(t)) w.rollup(32);
    // The log went round several times since series 0's records.
    expect(store.forEachBucketBin(0, 0, () => {})).toBe(false);
    expect(w.counters.sketchesLost).toBe(0);
    const minute = store.buckets(0, 2).find((r) => r.start === T0);
    expect(minute).toBeDefined();
    const acc = new SketchAccumulator();
    expect(store.addSketch(2, minute!, acc)).toBe(true);
    const got = new Map<number, number>();
    acc.forEachBin((key, count) => got.set(key, count));
    expect(got).toEqual(binsOf([0, 1, 2].flatMap((b) => bucket(0, b))));
    for (const id of others) {
      const m = store.buckets(id, 2).find((r) => r.start === T0)!;
      expect(m.count).toBe(60 * 400);
    }
  });
});
