/**
 * The series slots' pages written, counted by the store's writer as it writes (engine/store/
 * touched-pages.ts) for status()'s memory touched: always the walk's figure (usage.ts,
 * touchedBytes), through samples, closes, rollups and rings that wrap, with slots small
 * enough that neighbours share pages; and a writer killed before it counted what it wrote
 * leaves a successor that counts it.
 */
import { describe, expect, it } from 'vitest';
import { StoreWriter } from '../dist/src/engine/store/writer.js';
import { touchedBytes, touchedBytesOf } from '../dist/src/engine/store/usage.js';
import { seeded } from './fixtures/seeded.mjs';
import { T0, setup } from './store-harness.js';

const N = 64;

describe("the writer's count of the pages it wrote", () => {
  it('is the walk of every series at each step, as reaches grow, rings wrap and neighbours share pages', () => {
    // Tiny rings: a slot of about 1.5 KB, so neighbours share pages and rings wrap within minutes.
    const { store, apply, state } = setup({ maxSeries: N, rawCapacity: 8, bucketCapacity: 5, rollupCapacity: 2 });
    const rand = seeded(7);
    const figure = (): number => touchedBytesOf(store, N, 0, state.writer.slotPagesWritten());
    expect(figure()).toBe(touchedBytes(store, N, 0));
    let t = T0 + 5;
    for (let step = 0; step < 200; step++) {
      // A few series a step, more of the low ids: some reach their rings' ends, others stay short.
      const samples: [number, number][] = [];
      for (let k = 0; k < 1 + Math.floor(rand() * 6); k++) samples.push([Math.floor(rand() * rand() * N), rand() * 100]);
      apply(t, samples, N);
      expect(figure()).toBe(touchedBytes(store, N, 0));
      t += 1000 + Math.floor(rand() * 20_000);
    }
    // Rollups reached their rings' ends for some series: the count covers every tier.
    expect(store.bucketCount(0, 2)).toBeGreaterThan(2);
    expect(figure()).toBeGreaterThan(touchedBytesOf(store, N, 0, 0));
  });

  it('reads no series again once its raw ring is counted to its end: samples and closes count where the writer writes', () => {
    // Reading each series' reach at every pass it took samples in cost the collector 10-20 ms
    // a second at 10,000 series (bench:ingest's steady rows); a series is read whole once, when
    // it is first counted, and its later writes are counted as they are made.
    const { store, apply, state } = setup({ maxSeries: N, rawCapacity: 8, bucketCapacity: 5, rollupCapacity: 2 });
    const writer = state.writer as unknown as { reach: (id: number, out: Float64Array) => void };
    const read = writer.reach;
    let reads = 0;
    writer.reach = (id, out) => {
      reads++;
      read(id, out);
    };
    const all = (v: number): [number, number][] => Array.from({ length: N }, (_, id) => [id, v]);
    let t = T0 + 5;
    // Each series' first samples: read whole once each.
    apply(t, all(1), N);
    state.writer.slotPagesWritten();
    expect(reads).toBe(N);
    // Ten more passes fill the raw rings (8 slots) and close buckets every second, then more: no series read again.
    for (let pass = 0; pass < 30; pass++) {
      t += 500;
      apply(t, all(pass), N);
      expect(touchedBytesOf(store, N, 0, state.writer.slotPagesWritten())).toBe(touchedBytes(store, N, 0));
    }
    expect(store.bucketCount(0, 1)).toBeGreaterThan(5);
    expect(reads).toBe(N);
  });

  it('is counted anew by a successor when its writer was killed before it counted what it wrote', () => {
    const { buffers, store, apply, state } = setup({ maxSeries: N, rawCapacity: 8, bucketCapacity: 5, rollupCapacity: 2 });
    apply(T0 + 5, [[1, 1], [2, 2]], N);
    const counted = state.writer.slotPagesWritten();
    // Written, never counted: the writer dies before its next epoch bump.
    apply(T0 + 65_005, [[40, 1], [41, 2], [1, 3]], N);
    apply(T0 + 125_005, [[50, 1]], N);
    const successor = new StoreWriter(buffers);
    successor.recover(T0 + 125_010, N);
    const recounted = successor.slotPagesWritten();
    expect(recounted).toBeGreaterThan(counted);
    expect(touchedBytesOf(store, N, 0, recounted)).toBe(touchedBytes(store, N, 0));
  });
});
