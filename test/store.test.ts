import { rankOf } from '../dist/src/engine/sketch.js';
import { describe, expect, it } from 'vitest';
import { createControl } from '../dist/src/engine/control.js';
import { APPLIED, CHUNK_DONE, CHUNK_K, RingReader, RingWriter, TIME_MARK, createRing } from '../dist/src/engine/ring.js';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { HOT_F64, OPEN_COUNT } from '../dist/src/engine/store/layout.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';
import { StoreWriter } from '../dist/src/engine/store/writer.js';
import { seeded } from './fixtures/seeded.mjs';
import { MiB, T0, setup } from './store-harness.js';

function exact(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[rankOf(q, s.length)]!;
}

describe('series store', () => {
  it('answers a window from its buckets exactly as the full read does, and says when the ring no longer reaches back', () => {
    // windowStats is the evaluator's fast path; aggregate() is what it falls back to. 30 buckets
    // on a ring of 20: windows inside what it holds must agree to the bit, older ones refused.
    const { store, apply } = setup({ bucketCapacity: 20 });
    for (let b = 0; b < 30; b++) apply(T0 + b * 1000 + 5, Array.from({ length: 3 }, (_, k) => [7, ((b * 37 + k * 11) % 50) - 10] as [number, number]));
    apply(T0 + 30_000 + 5, [[7, 1]]); // closes bucket 29; bucket 30 stays open
    const out = new Float64Array(6);
    let checked = 0;
    let refused = 0;
    for (let from = 0; from <= 30; from++) {
      for (let to = from + 1; to <= 30; to++) {
        const ok = store.windowStats(7, T0 + from * 1000, T0 + to * 1000, out);
        // The ring holds buckets 11..30 (the open one in the last slot): 11 and on reach back.
        expect(ok, `[${from}, ${to})`).toBe(from >= 11);
        if (!ok) {
          refused++;
          continue;
        }
        const a = store.aggregate(7, T0 + from * 1000, T0 + to * 1000);
        expect([...out.subarray(0, 5)], `[${from}, ${to})`).toEqual([a.count, a.sum, a.min, a.max, a.last]);
        checked++;
      }
    }
    expect({ checked, refused }).toEqual({ checked: 190, refused: 275 });
  });

  it('closes buckets on interval boundaries with exact count, sum, min, max and last', () => {
    const { store, apply } = setup();
    const values = Array.from({ length: 250 }, (_, i) => i + 1);
    apply(T0 + 10, values.slice(0, 100).map((v) => [5, v]));
    apply(T0 + 1500, values.slice(100, 200).map((v) => [5, v]));
    apply(T0 + 2001, values.slice(200).map((v) => [5, v]));
    const buckets = store.buckets(5, 1);
    expect(buckets.map((b) => [b.start, b.count, b.sum, b.min, b.max, b.last])).toEqual([
      [T0, 100, 5050, 1, 100, 100],
      [T0 + 1000, 100, 15050, 101, 200, 200],
    ]);
    const snap = store.snapshot(5);
    expect(snap).toMatchObject({ totalCount: 250, totalSum: 31375, openCount: 50, openStart: T0 + 2000, openMin: 201, openMax: 250, lastValue: 250 });
    const acc = new SketchAccumulator();
    const agg = store.aggregate(5, -Infinity, Infinity, acc);
    expect(agg).toMatchObject({ count: 250, sum: 31375, min: 1, max: 250, last: 250, sketchless: 0 });
    for (const q of [0.5, 0.9, 0.99]) expect(Math.abs(acc.quantile(q) - exact(values, q)) / exact(values, q)).toBeLessThan(0.01);
    // A range by bucket start: the second bucket alone.
    expect(store.aggregate(5, T0 + 1000, T0 + 2000)).toMatchObject({ count: 100, sum: 15050 });
  });

  it("sketches a bucket's samples up to its 4,294,967,295th and counts the rest without bins", () => {
    // A u32 bin must not overflow, so a bucket's sketch stops there (binTail). Four billion
    // samples are out of reach: the open count is raised as if they had come, unbinned.
    const { buffers, store, apply } = setup(); // rawCapacity 64: samples wait for their bins until 32 are pending
    const values = Array.from({ length: 10 }, (_, i) => 1000 + 100 * i);
    apply(T0 + 10, [[5, values[0]!]]);
    const hot = new Float64Array(buffers.hot);
    hot[5 * HOT_F64 + OPEN_COUNT] = 0xffffffff - 4;
    apply(T0 + 20, values.slice(1).map((v) => [5, v]));
    apply(T0 + 1010, [[5, 1]]);
    const [bucket] = store.buckets(5, 1);
    expect(bucket!.count).toBe(0xffffffff + 5);
    const acc = new SketchAccumulator();
    store.addSketch(1, bucket!, acc);
    // The first five of the ten binned, the rest counted only.
    expect(acc.total).toBe(5);
    expect(Math.abs(acc.quantile(1) - values[4]!) / values[4]!).toBeLessThan(0.01);
  });

  it('keeps the newest raw samples in order, with their times', () => {
    const { store, apply } = setup({ rawCapacity: 64 });
    for (let t = 0; t < 10; t++) apply(T0 + t * 100, Array.from({ length: 20 }, (_, i) => [3, t * 20 + i] as [number, number]));
    const raw = store.raw(3);
    expect(raw.v).toEqual(Array.from({ length: 64 }, (_, i) => 136 + i));
    expect(raw.t[0]).toBe(T0 + 600);
    expect(raw.t.at(-1)).toBe(T0 + 900);
    expect(store.raw(3, T0 + 900).v).toHaveLength(20);
    expect(store.newestRawTime(3)).toBe(T0 + 900);
  });

  it("takes time marks and corrupt ids alone, in ring order, and keeps a series' first time", () => {
    const { store, apply, state, ring } = setup();
    apply(T0 + 5, [[3, 1], [TIME_MARK, T0 - 500], [3, 2], [4, 5], [TIME_MARK, Number.NaN], [3, 3], [-7, 9], [2000, 1], [3, 4]]);
    expect(store.raw(3).v).toEqual([1, 2, 3, 4]);
    // A mark's time holds for the samples after it; NaN goes back to the drain's time.
    expect(store.raw(3).t).toEqual([T0 + 5, T0 - 500, T0 + 5, T0 + 5]);
    expect(store.raw(4).t).toEqual([T0 - 500]);
    expect(state.writer.counters.badSamples).toBe(2);
    expect(state.reader.r).toBe(9);
    expect(Atomics.load(new Int32Array(ring, 0, 64), APPLIED)).toBe(9);
    expect(store.snapshot(3).firstTs).toBe(T0 + 5);
    apply(T0 + 1005, [[3, 5]]);
    expect(store.snapshot(3).firstTs).toBe(T0 + 5);
    expect(store.snapshot(4).firstTs).toBe(T0 + 5);
  });

  it('drains no more than asked, and lists a series once per pass whatever the rings and marks around its samples', () => {
    const { buffers, store, state, producer } = setup();
    const second = createRing(1 << 10);
    const other = new RingWriter(second, createControl(), 'drop');
    const writer = state.writer;
    // Ten samples of series 3, five of them behind a time mark, and an id one past the last series.
    for (let i = 0; i < 5; i++) producer.push(3, i);
    producer.push(TIME_MARK, T0 - 1);
    for (let i = 5; i < 10; i++) producer.push(3, i);
    producer.push(1024, 1);
    producer.publish();
    for (const v of [7, 8]) other.push(3, v);
    other.push(4, 1);
    other.publish();
    writer.advance(T0 + 5);
    expect(writer.drain(state.reader, T0 + 5, 4)).toBe(4);
    expect(state.reader.r).toBe(4);
    expect(store.snapshot(3).openCount).toBe(4);
    expect(writer.drain(state.reader, T0 + 5, 1 << 20)).toBe(6);
    expect(writer.drain(new RingReader(second), T0 + 5, 1 << 20)).toBe(3);
    expect(writer.counters.badSamples).toBe(1);
    // One pass: series 3 and 4, each listed once; raw heads published for both.
    expect(writer.publish()).toBe(2);
    expect([store.rawHead(3), store.rawHead(4)]).toEqual([12, 1]);
    expect(writer.publish()).toBe(0);
    expect(new StoreReader(buffers).snapshot(3)).toMatchObject({ totalCount: 12, totalSum: 45 + 15 });
  });

  it('finishes the chunk a dead writer left in flight past the samples it committed, and still takes a corrupt id or time mark after it alone', () => {
    const { buffers, store, state, producer, ring } = setup();
    for (const [id, v] of [[1, 10], [2, 20], [1, 11], [2, 21], [-7, 0], [5, 0], [TIME_MARK, T0 - 500], [1, 2], [1, 4]] as const) producer.push(id, v);
    producer.publish();
    state.writer.advance(T0 + 5);
    // The predecessor dies as it enters its second group: series 1 committed, series 2 not.
    const dead = state.writer as unknown as { applyGroup: (...args: unknown[]) => void };
    const applyGroup = dead.applyGroup.bind(dead);
    let groups = 0;
    dead.applyGroup = (...args) => {
      if (groups++ === 1) throw new Error('killed');
      applyGroup(...args);
    };
    expect(() => state.writer.drain(state.reader, T0 + 5, 1 << 20)).toThrow('killed');
    const hdr = new Int32Array(ring, 0, 64);
    expect([hdr[APPLIED], hdr[CHUNK_K], hdr[CHUNK_DONE]]).toEqual([0, 4, 2]);
    const successor = new StoreWriter(buffers);
    successor.recover(T0 + 7, 1024);
    expect(successor.drain(new RingReader(ring), T0 + 7, 1 << 20)).toBe(5);
    successor.publish();
    expect(successor.counters.badSamples).toBe(1);
    expect(hdr[APPLIED]).toBe(9);
    expect(hdr[CHUNK_K]).toBe(0);
    expect(store.snapshot(1)).toMatchObject({ totalCount: 4, totalSum: 27, lastValue: 4 });
    expect(store.snapshot(2)).toMatchObject({ totalCount: 2, totalSum: 41, lastValue: 21 });
    expect(store.snapshot(5)).toMatchObject({ totalCount: 1, totalSum: 0 });
    // The chunk's samples keep the time it was announced with; those after the mark take the mark's.
    expect(store.raw(1)).toEqual({ t: [T0 + 5, T0 + 5, T0 - 500, T0 - 500], v: [10, 11, 2, 4] });
    expect(store.raw(2)).toEqual({ t: [T0 + 5, T0 + 5], v: [20, 21] });
  });

  it('rolls up each minute once, counting the records it writes, and beats every 1,024 series', () => {
    const { buffers, apply, state } = setup({ maxSeries: 2048 });
    let beats = 0;
    state.writer = new StoreWriter(buffers, () => beats++);
    state.writer.recover(T0, 0);
    apply(T0 + 5, [[9, 1], [10, 2], [2000, 3]], 2048);
    expect(state.writer.advance(T0 + 60_005)).toBe(true);
    beats = 0;
    expect(state.writer.rollup(2048)).toBe(3);
    expect(beats).toBe(2);
    expect(state.writer.rollup(2048)).toBe(0);
  });

  it('rolls buckets up by the minute and answers long ranges without counting twice', () => {
    // 130 buckets held, 5 minutes recorded: the oldest minutes survive only as rollups.
    const { store, apply } = setup({ bucketCapacity: 130 });
    const rand = seeded(5);
    const all: number[] = [];
    for (let s = 0; s < 300; s++) {
      const batch = Array.from({ length: 20 }, () => Math.round(Math.exp(2 + rand()) * 100) / 100);
      all.push(...batch);
      apply(T0 + s * 1000 + 5, batch.map((v) => [9, v]));
    }
    apply(T0 + 300_000 + 5, []); // close the last bucket and roll up minute 5
    const rollups = store.buckets(9, 2);
    expect(rollups.map((r) => r.start)).toEqual([0, 1, 2, 3, 4].map((m) => T0 + m * 60_000));
    expect(rollups.every((r) => r.count === 1200)).toBe(true);
    expect(store.oldestBucket(9, 1)).toBeGreaterThan(T0 + 60_000);
    const acc = new SketchAccumulator();
    const agg = store.aggregate(9, T0, T0 + 300_000, acc);
    expect(agg.count).toBe(6000);
    expect(agg.sum).toBeCloseTo(all.reduce((a, b) => a + b, 0), 6);
    expect(agg.min).toBe(Math.min(...all));
    expect(agg.max).toBe(Math.max(...all));
    for (const q of [0.5, 0.99]) expect(Math.abs(acc.quantile(q) - exact(all, q)) / exact(all, q)).toBeLessThan(0.01);
    // A range starting inside a minute takes that minute's tail from buckets.
    const tail = store.aggregate(9, T0 + 250_000, T0 + 300_000);
    expect(tail.count).toBe(50 * 20);
  });

  it('lends sketch pages to the series active now, taking them back from idle ones', () => {
    // About 500 pages for 800 series: each bucket's series must get the pages of the last.
    const { store, apply, state } = setup({ poolBytes: 1 * MiB });
    const first = Array.from({ length: 400 }, (_, id) => [id, 10 + id] as [number, number]);
    const second = Array.from({ length: 400 }, (_, i) => [400 + i, 1000 + i] as [number, number]);
    apply(T0 + 1, first, 800);
    apply(T0 + 1001, second, 800);
    apply(T0 + 2001, [], 800);
    expect(state.writer.counters.sketchOverflow).toBe(0);
    const acc = new SketchAccumulator();
    store.aggregate(799, -Infinity, Infinity, acc);
    expect(Math.abs(acc.quantile(0.5) - 1399) / 1399).toBeLessThan(0.01);
    store.aggregate(0, -Infinity, Infinity, acc);
    expect(Math.abs(acc.quantile(0.5) - 10) / 10).toBeLessThan(0.01);
  });

  it('lets a new writer take over mid-stream without losing or repeating a sample', () => {
    const { buffers, store, state, producer } = setup();
    const values = Array.from({ length: 10_000 }, (_, i) => i % 97);
    for (const v of values) producer.push(2, v);
    producer.publish();
    // The first writer applies part of the ring, then is abandoned as a crashed one would be.
    state.writer.advance(T0 + 10);
    state.writer.drain(state.reader, T0 + 10, 3_333);
    // Its successor resumes from the ring's APPLIED cell and the store's own state.
    const successor = new StoreWriter(buffers);
    successor.recover(T0 + 20, 3);
    const reader = new RingReader(state.reader.sab);
    successor.advance(T0 + 20);
    successor.drain(reader, T0 + 20, 1 << 20);
    successor.publish();
    expect(store.snapshot(2)).toMatchObject({ totalCount: 10_000, totalSum: values.reduce((a, b) => a + b, 0) });
    expect(store.rawHead(2)).toBe(10_000);
  });

  it('finishes a bucket close that a dead writer left half done', () => {
    const { buffers, store, apply } = setup();
    apply(T0 + 1, [[4, 1], [4, 2], [4, 3]]);
    // Simulate a writer that published the bucket record but died before emptying the open
    // bucket: copy the open bucket's state back after a regular close.
    const hot = new Float64Array(buffers.hot);
    const before = hot.slice(4 * 8, 5 * 8);
    apply(T0 + 1001, []);
    expect(store.buckets(4, 1)).toHaveLength(1);
    hot.set(before, 4 * 8);
    const successor = new StoreWriter(buffers);
    successor.recover(T0 + 1002, 5);
    expect(hot[4 * 8]).toBe(0); // the open bucket is empty again
    successor.advance(T0 + 2001);
    // Closing the next bucket does not write the stale one a second time.
    expect(store.buckets(4, 1)).toHaveLength(1);
    expect(store.snapshot(4)).toMatchObject({ totalCount: 3, totalSum: 6, openCount: 0 });
  });
});
