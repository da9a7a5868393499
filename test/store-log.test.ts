/**
 * The sketch log wrapping: each closed bucket's sketch is one record in a circular log, and a
 * record the writer may have overwritten is refused, never read as another bucket's.
 */
import { describe, expect, it } from 'vitest';
import { SKETCHES_LOST, SKETCH_LOG_REACH, controlViews } from '../dist/src/engine/control.js';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { StoreWriter } from '../dist/src/engine/store/writer.js';
import { T0, setup } from './store-harness.js';
import { synthetic } from './synthetic.js';

/** 1,100 values, each in a sketch bin of its own (64 bins per power of two). */
const KEYS = 1100;
const value = (i: number): number => 2 ** Math.floor(i / 64) * (1 + (i % 64) / 64 + 1 / 128);

describe('the sketch log', () => {
  it('wraps without a record straddling its end, refuses the records it may have overwritten, and a writer that took over within a minute rolls up only those it holds', () => {
    // The smallest log, 2^16 i32: a bucket's record here is 1 + 2 * 1,100 of them, so it holds
    // fewer than 30. Bucket b records every value once and value(0) b more times.
    const { buffers, store, apply, state } = setup({ logBytes: 0, bucketCapacity: 120 });
    const id = 3;
    const bucket = (b: number): [number, number][] => [...Array.from({ length: KEYS }, (_, i) => [id, value(i)] as [number, number]), ...Array.from({ length: b }, () => [id, value(0)] as [number, number])];
    const expected = (b: number): Map<number, number> => {
      const bins = new Map<number, number>();
      const acc = new SketchAccumulator();
      for (const [, v] of bucket(b)) acc.add(v);
      acc.forEachBin((key, count) => bins.set(key, (bins.get(key) ?? 0) + count));
      return bins;
    };
    const held = (): number[] => {
      const out: number[] = [];
      for (let k = 0; k < store.bucketCount(id, 1); k++) {
        const bins = new Map<number, number>();
        if (!store.forEachBucketBin(id, k, (key, count) => bins.set(key, (bins.get(key) ?? 0) + count))) continue;
        expect(bins, `bucket ${k}`).toEqual(expected(k));
        out.push(k);
      }
      return out;
    };
    for (let b = 0; b < 60; b++) apply(T0 + b * 1000 + 5, bucket(b));
    // Bucket 59 closes; before the rollup of minute 0 runs, see which sketches the log holds.
    state.writer.advance(T0 + 60_005);
    const before = held();
    expect(before.length).toBeGreaterThan(0);
    expect(before.length).toBeLessThan(30);
    expect(before).toEqual(Array.from({ length: before.length }, (_, i) => 60 - before.length + i));
    expect(state.writer.counters.sketchesLost).toBe(0);
    // A writer takes over before the rollup (its predecessor killed): it has none of the
    // minute's sketches merged at their closes (minutes.ts), so it reads the log.
    state.writer = new StoreWriter(buffers);
    state.writer.recover(T0 + 60_005, 1024);
    expect(state.writer.rollup(1024)).toBe(1);
    // The rollup took the counts of all 60 buckets and the bins of those held: the others are counted lost.
    expect(state.writer.counters.sketchesLost).toBe(60 - before.length);
    const [minute] = store.buckets(id, 2);
    expect(minute).toMatchObject({ start: T0, count: 60 * KEYS + (59 * 60) / 2 });
    const acc = new SketchAccumulator();
    expect(store.addSketch(2, minute!, acc)).toBe(true);
    expect(acc.total).toBe(before.reduce((s, b) => s + KEYS + b, 0));
    // Two more laps: whatever the log holds reads back exactly, and a window read says how many it missed.
    for (let b = 60; b < 120; b++) apply(T0 + b * 1000 + 5, bucket(b));
    apply(T0 + 120_005, []);
    const after = held();
    expect(after.length).toBeGreaterThan(0);
    const window = store.aggregate(id, T0 + 61_000, T0 + 120_000, new SketchAccumulator());
    expect(window).toMatchObject({ count: 59 * KEYS + (61 + 119) * 59 / 2, sketchless: 59 - after.length });
    // A window with a whole rolled-up minute inside takes the full read: buckets 30–59 from
    // tier 1, whose sketches the log lost long ago (it holds only the newest few), counted as
    // such; then minute 1 from its rollup, whose sketch is held.
    const minute1 = store.buckets(id, 2)[1]!;
    expect(minute1.start).toBe(T0 + 60_000);
    expect(after.every((k) => k >= 60)).toBe(true);
    const full = store.aggregate(id, T0 + 30_000, T0 + 120_000, new SketchAccumulator());
    expect(full).toMatchObject({ count: 30 * KEYS + ((30 + 59) * 30) / 2 + minute1.count, sketchless: 30 });
  });

  it("is counted in the collector's control block when a minute's rollup misses sketches (a collector replaced within the minute), and not when the log holds them all", () => {
    const values = Array.from({ length: KEYS }, (_, i) => value(i));
    const lost = (logBytes: number): number => {
      const s = synthetic({ logBytes, maxSeries: 16 });
      const id = s.id('response_time');
      s.fill(59, [[id, () => values]]);
      // Buckets 0–58 closed; the replacement has none of them merged (minutes.ts).
      s.replaceCollector(T0 + 59_500);
      s.fill(2, [[id, () => values]], 59);
      return controlViews(s.control).f64[SKETCHES_LOST]!;
    };
    // 2^16 i32 hold fewer than 30 of these buckets; 16 MiB all 61.
    expect(lost(0)).toBeGreaterThan(30);
    expect(lost(16 * 1024 * 1024)).toBe(0);
  });

  it("says how many seconds of closed buckets it holds at the last interval's rate", () => {
    const values = Array.from({ length: KEYS }, (_, i) => value(i));
    const reach = (logBytes: number, series: number): number => {
      const s = synthetic({ logBytes, maxSeries: 16 });
      const ids = Array.from({ length: series }, (_, i) => s.id('response_time', { n: String(i) }));
      s.fill(5, ids.map((id) => [id, () => values] as [number, () => number[]]));
      return controlViews(s.control).f64[SKETCH_LOG_REACH]!;
    };
    // Each closed bucket's run is 1 + 2 × 1,100 i32; the smallest log is 2^16 i32.
    const run = 1 + 2 * KEYS;
    expect(reach(0, 1)).toBeCloseTo(2 ** 16 / run, 6);
    expect(reach(0, 4)).toBeCloseTo(2 ** 16 / run / 4, 6);
    expect(reach(16 * 1024 * 1024, 1)).toBeCloseTo((4 * 1024 * 1024) / run, 6);
  });
});
