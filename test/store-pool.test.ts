/**
 * A spent sketch pool: idle series' pages are taken back at most once per bucket (series go
 * idle only when a bucket closes), not once per sample that finds no page, and the samples
 * that find none still count exactly. The writers bin each sample's key as it is applied
 * (binEvery 1), so that samples look for pages as they arrive.
 */
import { describe, expect, it } from 'vitest';
import { createControl } from '../dist/src/engine/control.js';
import { RingReader, RingWriter, createRing } from '../dist/src/engine/ring.js';
import { createStore } from '../dist/src/engine/store/layout.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';
import { StoreWriter } from '../dist/src/engine/store/writer.js';

const T0 = 1_800_000_000_000;
const MiB = 1024 * 1024;

describe('a spent sketch pool', () => {
  it('scans for idle pages once per bucket, and counts every sample', () => {
    const buffers = createStore({ maxSeries: 2048, rawCapacity: 16, bucketCapacity: 300, rollupCapacity: 60, intervalMs: 1000, rollupMs: 60_000, logBytes: 4 * MiB, rollupLogBytes: 4 * MiB, poolBytes: MiB });
    const ring = createRing(1 << 16);
    const producer = new RingWriter(ring, createControl(), 'drop');
    // A scan over all 2,048 series beats twice, and the drained chunk of 2,000 series once in
    // each of its two loops (every 1,024 series: store-chunks.test.ts); a scan for each sample
    // that found no page would beat thousands of times.
    let beats = 0;
    const writer = new StoreWriter(buffers, () => beats++, { binEvery: 1 });
    writer.recover(T0, 0);
    const reader = new RingReader(ring);
    // 2,000 series, each with values two powers of 2^8 apart (two pages): 4,000 pages wanted, 512 in the pool.
    for (let round = 0; round < 4; round++) for (let id = 0; id < 2000; id++) producer.push(id, round % 2 === 0 ? 1 : 1e6);
    producer.publish(false);
    writer.advance(T0 + 10);
    writer.drain(reader, T0 + 10, 1 << 20);
    writer.publish();
    expect(writer.counters.sketchOverflow).toBeGreaterThan(3000);
    expect(beats).toBe(4);
    const store = new StoreReader(buffers);
    for (const id of [0, 999, 1999]) expect(store.snapshot(id)).toMatchObject({ totalCount: 4, totalSum: 2 + 2e6 });
  });

  it("counts a sample that finds no page in its own totals alone, never in another series' page", () => {
    const buffers = createStore({ maxSeries: 64, rawCapacity: 16, bucketCapacity: 30, rollupCapacity: 6, intervalMs: 1000, rollupMs: 60_000, logBytes: MiB, rollupLogBytes: MiB, poolBytes: 0 });
    const ring = createRing(1 << 12);
    const producer = new RingWriter(ring, createControl(), 'drop');
    const writer = new StoreWriter(buffers, undefined, { binEvery: 1 });
    writer.recover(T0, 0);
    const reader = new RingReader(ring);
    const store = new StoreReader(buffers);
    const pool = store.freePages();
    // One bucket: series 0..pool-1 take a page each (value 1), then series `pool` finds none
    // left and no idle series to take one from. 1.5 is in another bin of the same page as 1.
    for (let id = 0; id < pool; id++) producer.push(id, 1);
    for (let i = 0; i < 5; i++) producer.push(pool, 1.5);
    producer.publish(false);
    writer.advance(T0 + 10);
    expect(writer.drain(reader, T0 + 10, 1 << 20)).toBe(pool + 5);
    writer.publish();
    expect({ free: store.freePages(), overflow: writer.counters.sketchOverflow }).toEqual({ free: 0, overflow: 5 });
    expect(store.snapshot(pool)).toMatchObject({ totalCount: 5, totalSum: 7.5, openMin: 1.5, openMax: 1.5, lastValue: 1.5 });
    expect(store.raw(pool).v).toEqual([1.5, 1.5, 1.5, 1.5, 1.5]);
    const bins = (id: number): [number, number][] => {
      const out: [number, number][] = [];
      store.forEachOpenBin(id, (key, count) => out.push([key, count]));
      return out;
    };
    const one = bins(0);
    expect(one).toHaveLength(1);
    expect(one[0]![1]).toBe(1);
    // Every page holds exactly its own series' sample; the unpaged series has no bins.
    for (let id = 0; id < pool; id++) expect(bins(id), `series ${id}`).toEqual(one);
    expect(bins(pool)).toEqual([]);
    // Closed, the same: each bucket's sketch holds its own sample, the unpaged one none.
    writer.advance(T0 + 1010);
    const closed = (id: number): number[] => {
      const out: number[] = [];
      expect(store.forEachBucketBin(id, 0, (key, count) => out.push(key, count))).toBe(true);
      return out;
    };
    for (let id = 0; id < pool; id++) expect(closed(id), `series ${id}`).toEqual(one[0]);
    expect(closed(pool)).toEqual([]);
    expect(store.buckets(pool, 1).map((b) => b.count)).toEqual([5]);
  });
});
