/**
 * The writer's minute sketches (store/minutes.ts): each closed bucket's sketch is merged into
 * its minute as its record is written, so a minute's rollup takes every bucket's bins however
 * little of them the sketch log still holds; a writer that takes over within a minute reads
 * its predecessor's records from the log and counts what the log lost.
 */
import { describe, expect, it } from 'vitest';
import { MINUTE_SKETCH_BYTES, SKETCHES_LOST, controlViews } from '../dist/src/engine/control.js';
import { MAX_RELATIVE_ERROR, SketchAccumulator, rankOf } from '../dist/src/engine/sketch.js';
import type { StoreReader } from '../dist/src/engine/store/reader.js';
import { StoreWriter } from '../dist/src/engine/store/writer.js';
import { T0, setup } from './store-harness.js';
import { synthetic } from './synthetic.js';

/** 1,100 values, each in a sketch bin of its own (64 bins per power of two): a run of 2,201 i32, so the smallest log (2^16 i32) holds fewer than 30. */
const KEYS = 1100;
const value = (i: number): number => 2 ** Math.floor(i / 64) * (1 + (i % 64) / 64 + 1 / 128);
/** Bucket b of series `id`: every value once, scaled by the series, and b more of its smallest. */
const bucket = (id: number, b: number): number[] => [...Array.from({ length: KEYS }, (_, i) => value(i) * (1 + id / 7)), ...Array.from({ length: b }, () => value(0) * (1 + id / 7))];

function binsOf(add: (acc: SketchAccumulator) => void): Map<number, number> {
  const acc = new SketchAccumulator();
  add(acc);
  const bins = new Map<number, number>();
  acc.forEachBin((key, count) => bins.set(key, count));
  return bins;
}

/** The exact merge of buckets' values, as bins. */
const mergeOf = (values: number[]): Map<number, number> => binsOf((acc) => values.forEach((v) => acc.add(v)));

/** The bins of series `id`'s rollup of the minute at `start`. */
function rollupBins(store: StoreReader, id: number, start: number): Map<number, number> {
  const minute = store.buckets(id, 2).find((r) => r.start === start);
  expect(minute, `rollup of ${start - T0} ms`).toBeDefined();
  return binsOf((acc) => expect(store.addSketch(2, minute!, acc)).toBe(true));
}

/** Tier-1 records [from, to) of series `id` whose sketch the log still holds. */
function held(store: StoreReader, id: number, from: number, to: number): number[] {
  const out: number[] = [];
  for (let k = from; k < to; k++) if (store.forEachBucketBin(id, k, () => {})) out.push(k);
  return out;
}

describe('minute sketches', () => {
  it('roll up every bucket of each minute, bin for bin, with quantiles in the bound, when the log holds under 30 s of them; none counted lost', () => {
    const { store, apply, state } = setup({ logBytes: 0 });
    const ids = [3, 4, 9];
    for (let b = 0; b < 120; b++) apply(T0 + b * 1000 + 5, ids.flatMap((id) => bucket(id, b).map((v) => [id, v] as [number, number])));
    apply(T0 + 120_005, []);
    // The log lost most of minute 1's runs before its rollup, and all of minute 0's.
    for (const id of ids) {
      expect(held(store, id, 0, 60)).toEqual([]);
      expect(held(store, id, 60, 120).length).toBeLessThan(30);
    }
    expect(state.writer.counters.sketchesLost).toBe(0);
    for (const id of ids) {
      for (const minute of [0, 1]) {
        const values = Array.from({ length: 60 }, (_, i) => bucket(id, minute * 60 + i)).flat();
        const got = rollupBins(store, id, T0 + minute * 60_000);
        expect(got).toEqual(mergeOf(values));
        // Quantiles within the sketch's bound of the exact ones.
        const acc = new SketchAccumulator();
        for (const [key, count] of got) acc.addKey(key, count);
        const sorted = values.sort((a, b) => a - b);
        for (const q of [0.01, 0.5, 0.9, 0.99, 1]) {
          const exact = sorted[rankOf(q, sorted.length)]!;
          expect(Math.abs(acc.quantile(q) - exact) / exact).toBeLessThanOrEqual(MAX_RELATIVE_ERROR);
        }
      }
    }
    expect(state.writer.minuteSketchBytes()).toBeGreaterThan(0);
  });

  it('after a writer is replaced within a minute, roll up what the new one merged and what the log still holds of the old one, and count exactly what it lost', () => {
    // A log of four blocks (2^18 i32): some 119 runs. A writer that takes over starts past the
    // block its predecessor reserved (LogCursor), so a log of one block would hold none of them.
    const { buffers, store, apply, state } = setup({ logBytes: 2 ** 20 });
    const ids = [5, 6, 7, 8];
    const samples = (b: number): [number, number][] => ids.flatMap((id) => bucket(id, b).map((v) => [id, v] as [number, number]));
    // The first writer closes buckets 0–49 and takes bucket 50's samples, then dies.
    for (let b = 0; b <= 50; b++) apply(T0 + b * 1000 + 5, samples(b));
    state.writer = new StoreWriter(buffers);
    state.writer.recover(T0 + 50_500, 1024);
    // Its successor closes bucket 50 (the dead one's samples) and buckets 51–59.
    for (let b = 51; b < 60; b++) apply(T0 + b * 1000 + 5, samples(b));
    state.writer.advance(T0 + 60_005);
    // The log holds the newest of the dead writer's runs, not its oldest.
    const kept = new Map(ids.map((id) => [id, held(store, id, 0, 50)]));
    for (const k of kept.values()) expect(k.length).toBeGreaterThan(0);
    for (const k of kept.values()) expect(k.length).toBeLessThan(50);
    expect(state.writer.rollup(1024)).toBe(ids.length);
    const lost = [...kept.values()].reduce((n, k) => n + 50 - k.length, 0);
    expect(state.writer.counters.sketchesLost).toBe(lost);
    for (const id of ids) {
      const values = [...kept.get(id)!, ...Array.from({ length: 10 }, (_, i) => 50 + i)].flatMap((b) => bucket(id, b));
      expect(rollupBins(store, id, T0)).toEqual(mergeOf(values));
      expect(store.buckets(id, 2)[0]!.count).toBe(Array.from({ length: 60 }, (_, b) => bucket(id, b).length).reduce((a, b) => a + b, 0));
    }
    // The next minute is the successor's alone: whole, nothing more lost.
    for (let b = 60; b < 120; b++) apply(T0 + b * 1000 + 5, samples(b));
    apply(T0 + 120_005, []);
    expect(state.writer.counters.sketchesLost).toBe(lost);
    for (const id of ids) expect(rollupBins(store, id, T0 + 60_000)).toEqual(mergeOf(Array.from({ length: 60 }, (_, i) => bucket(id, 60 + i)).flat()));
  });

  it("roll up a hub member's closed records (writeClosed, applyRow) an interval late and the cluster-wide series' buckets, whole, when the log holds under 30 s", () => {
    const { store, state } = setup({ logBytes: 0 });
    const w = state.writer;
    const runOf = (values: number[]) => {
      const acc = new SketchAccumulator();
      for (const v of values) acc.add(v);
      const run = new Int32Array(acc.encodedLengthBound());
      acc.encodeInto(run, 0);
      return { run, count: values.length, sum: values.reduce((a, b) => a + b, 0), min: Math.min(...values), max: Math.max(...values), last: values.at(-1)! };
    };
    // Each second the buckets of the second before: member 0's as a closed record alone
    // (writeClosed), member 1's as a batch row into its series and the cluster-wide series 2.
    for (let s = 1; s <= 61; s++) {
      const t = T0 + s * 1000;
      if (w.advance(t)) w.rollup(3);
      const a = runOf(bucket(0, s - 1));
      expect(w.writeClosed(0, t - 1000, t + 5, a.count, a.sum, a.min, a.max, a.last, a.run, 0)).toBe(true);
      const b = runOf(bucket(1, s - 1));
      w.beginBatch(7, s);
      w.applyRow(0, 1, 2, t - 1000, t + 5, b.count, b.sum, b.min, b.max, b.last, b.run, 0);
      w.publish();
    }
    for (const t of [T0 + 62_000, T0 + 63_000]) if (w.advance(t)) w.rollup(3);
    for (const id of [0, 1, 2]) expect(held(store, id, 0, 60).length).toBeLessThan(30);
    expect(w.counters.sketchesLost).toBe(0);
    // The member series' minute T0 is their buckets 0–59; the cluster-wide series took each
    // row into its open bucket when it came, a second later: its minute T0 is buckets 0–58.
    for (const [id, member, buckets] of [[0, 0, 60], [1, 1, 60], [2, 1, 59]]) {
      expect(rollupBins(store, id!, T0)).toEqual(mergeOf(Array.from({ length: buckets! }, (_, b) => bucket(member!, b)).flat()));
    }
  });

  it('past their memory bound (twice the sketch log), leave the minutes they cannot hold to the log, counting what it lost exactly', () => {
    // 41 values a bucket, each a power of two apart: 41 pages a series' minute, about 3 KB;
    // the bound of the smallest log (2^16 i32) is 512 KiB, for some 150 series of 200.
    const { store, apply, state } = setup({ logBytes: 0 });
    const series = Array.from({ length: 200 }, (_, i) => i);
    const spread = (id: number): number[] => Array.from({ length: 41 }, (_, i) => 2 ** (i - 20) * (1 + id / 256));
    for (let b = 0; b < 60; b++) apply(T0 + b * 1000 + 5, series.flatMap((id) => spread(id).map((v) => [id, v] as [number, number])));
    state.writer.advance(T0 + 60_005);
    const kept = series.map((id) => held(store, id, 0, 60).length);
    expect(state.writer.rollup(1024)).toBe(series.length);
    let lost = 0;
    let wholeSeries = 0;
    for (const id of series) {
      const got = rollupBins(store, id, T0);
      const all = new Map([...mergeOf(spread(id))].map(([key, c]) => [key, 60 * c]));
      if (got.size === all.size && [...got].every(([key, c]) => all.get(key) === c)) wholeSeries++;
      else {
        // From the log: the runs it held, each a bucket's.
        expect(got).toEqual(new Map([...mergeOf(spread(id))].filter(() => kept[id]! > 0).map(([key, c]) => [key, kept[id]! * c])));
        lost += 60 - kept[id]!;
      }
    }
    expect(wholeSeries).toBeGreaterThan(0);
    expect(wholeSeries).toBeLessThan(series.length);
    expect(state.writer.counters.sketchesLost).toBe(lost);
    expect(state.writer.minuteSketchBytes()).toBeLessThanOrEqual(2 * 4 * 2 ** 16 + 200_000);
  });

  it("publish their bytes, and no lost sketch, in the collector's control block", () => {
    const s = synthetic({ logBytes: 0, maxSeries: 16 });
    const id = s.id('response_time');
    s.fill(61, [[id, (b) => bucket(0, b)]]);
    const ctl = controlViews(s.control).f64;
    expect(ctl[SKETCHES_LOST]).toBe(0);
    expect(ctl[MINUTE_SKETCH_BYTES]).toBeGreaterThan(0);
  });
});
