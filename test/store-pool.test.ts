/**
 * A spent sketch pool: idle series' pages are taken back at most once per bucket (series go
 * idle only when a bucket closes), not once per sample that finds no page, and the samples
 * that find none still count exactly.
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
    // A scan over all 2,048 series beats twice; nothing else beats within a bucket.
    let beats = 0;
    const writer = new StoreWriter(buffers, () => beats++);
    writer.recover(T0, 0);
    const reader = new RingReader(ring);
    // 2,000 series, each with values two powers of 2^8 apart (two pages): 4,000 pages wanted, 512 in the pool.
    for (let round = 0; round < 4; round++) for (let id = 0; id < 2000; id++) producer.push(id, round % 2 === 0 ? 1 : 1e6);
    producer.publish(false);
    writer.advance(T0 + 10);
    writer.drain(reader, T0 + 10, 1 << 20);
    writer.publish();
    expect(writer.counters.sketchOverflow).toBeGreaterThan(3000);
    expect(beats).toBeLessThanOrEqual(2);
    const store = new StoreReader(buffers);
    for (const id of [0, 999, 1999]) expect(store.snapshot(id)).toMatchObject({ totalCount: 4, totalSum: 2 + 2e6 });
  });
});
