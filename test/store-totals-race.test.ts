/**
 * A series' totals read on one thread while the collector's moves a bucket into them on
 * another (reader-totals.ts). Until 2026-12-05 a read that fell between the move's stores
 * counted the bucket twice or not at all: a hub's 3,000 series summed 3,001 samples in CI
 * (hub-frames.test.ts), and a counter's total went up, then down (a reset, to Prometheus).
 * A writer thread closes every series' bucket once a pass, with one sample a pass, each the
 * pass number, while this thread reads: the totals only ever go up, and the closed ones
 * match the newest bucket they say they hold.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { performance } from 'node:perf_hooks';
import { createRing } from '../dist/src/engine/ring.js';
import { TOTALS_SEQ, createStore } from '../dist/src/engine/store/layout.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';
import { StoreWriter } from '../dist/src/engine/store/writer.js';
import { MiB, T0, setup } from './store-harness.js';

describe("a series' totals read while buckets close", () => {
  // 'closes': a bucket of samples closed (closes.ts, resetOpen); 'records': a hub member's closed bucket written as a record (bucket-rows.ts, commitClosed).
  it.each(['closes', 'records'])('are never counted twice or left out (%s): count, sum, newest value and closed totals only go up, each pass once', async (mode) => {
    const series = 16;
    const intervalMs = 1000;
    const store = createStore({ maxSeries: 128, rawCapacity: 64, bucketCapacity: 300, rollupCapacity: 60, intervalMs, rollupMs: 60_000, logBytes: 16 * MiB, rollupLogBytes: 4 * MiB, poolBytes: 8 * MiB });
    const ring = createRing(1 << 16);
    const worker = new Worker(new URL('./fixtures/closes-racing.mjs', import.meta.url), { workerData: { store, ring, t0: T0, series, intervalMs, ms: 2500, mode } });
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    await new Promise((resolve) => worker.once('message', resolve));
    let passes: number | undefined;
    let refused: string | undefined;
    worker.once('message', (p: number | string) => {
      if (typeof p === 'string') refused = p;
      passes = typeof p === 'number' ? p : 0;
    });
    const reader = new StoreReader(store);
    // Per series the highest count, sum and newest value read so far.
    const seen = { count: new Float64Array(series), sum: new Float64Array(series), last: new Float64Array(series), closed: new Float64Array(series) };
    const wrong: string[] = [];
    const closed = new Float64Array(3);
    let reads = 0;
    while (passes === undefined) {
      // Many sweeps a turn of the event loop (whose turn lets the worker's last message in).
      for (let n = 0; n < 64 * series; n++) {
        const id = n % series;
        const snap = reader.snapshot(id);
        const figures = { count: reader.totalCount(id), sum: reader.totalSum(id), last: reader.lastValue(id) };
        reader.closedTotals(id, closed);
        // Pass k's bucket starts at T0 + k intervals and holds one sample, k + 1: the closed
        // totals that hold the buckets up to the one at closed[2] are their count and sum.
        const k = closed[0]! > 0 ? (closed[2]! - T0) / intervalMs + 1 : 0;
        if (closed[0] !== k || closed[1] !== (k * (k + 1)) / 2) wrong.push(`series ${id}: closed totals ${closed[0]}, ${closed[1]} with their newest bucket at pass ${k}`);
        if (closed[0]! < seen.closed[id]!) wrong.push(`series ${id}: closed count ${closed[0]} after ${seen.closed[id]}`);
        seen.closed[id] = closed[0]!;
        // In the order read: the snapshot's first.
        for (const [name, value] of [['count', snap.totalCount], ['sum', snap.totalSum], ['last', snap.lastValue], ...Object.entries(figures)] as [keyof typeof figures, number][]) {
          if (value < seen[name][id]!) wrong.push(`series ${id}: ${name} ${value} after ${seen[name][id]}`);
          seen[name][id] = Math.max(seen[name][id]!, value);
        }
        // One read: the samples 1 to c sum to c(c + 1) / 2, give or take the sample being
        // committed (its count and its sum are two stores, which a read may meet one of).
        const c = snap.totalCount;
        if (![c - 1, c, c + 1].some((n) => snap.totalSum === (n * (n + 1)) / 2)) wrong.push(`series ${id}: a snapshot's sum ${snap.totalSum} for ${c} samples`);
        reads++;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await exited;
    expect(refused).toBeUndefined();
    expect(wrong.slice(0, 5)).toEqual([]);
    // The race was run: the writer closed thousands of buckets under the reads.
    expect(passes).toBeGreaterThan(1000);
    expect(reads).toBeGreaterThan(100_000);
    for (let id = 0; id < series; id++) {
      expect(reader.totalCount(id)).toBe(passes);
      expect(reader.totalSum(id)).toBe((passes! * (passes! + 1)) / 2);
    }
  });

  it("left odd (a writer that ended inside a move) holds a reader some 50 ms at most, and the next writer's recover() evens it", () => {
    const { buffers, store, apply } = setup();
    apply(T0 + 10, [[0, 5], [0, 7]]);
    apply(T0 + 1010, [[0, 1]]);
    const i32 = new Int32Array(buffers.series);
    const cell = 0 * store.layout.slotF64 * 2 + TOTALS_SEQ;
    i32[cell] = i32[cell]! | 1;
    const t = performance.now();
    // The figures as they are: the move this sequence names is not under way.
    expect(store.totalCount(0)).toBe(3);
    const held = performance.now() - t;
    expect(held).toBeGreaterThanOrEqual(40);
    // A hang guard, not a timing: the reader gives up on the sequence and answers.
    expect(held).toBeLessThan(10_000);
    const next = new StoreWriter(buffers);
    next.recover(T0 + 1020, 1);
    expect(i32[cell]! & 1).toBe(0);
    expect(store.totalSum(0)).toBe(13);
    expect(store.snapshot(0)).toMatchObject({ totalCount: 3, totalSum: 13 });
  });
});
