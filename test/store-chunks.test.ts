/**
 * drain() groups a ring's samples by series in chunks of half the ring, from 4,096 to 32,768
 * slots: at 10,000 series a chunk of 4,096 gave each series one sample or none, and a
 * series' samples share its hot line and raw slots only within a chunk. Every sample is
 * applied exactly, whatever the chunks.
 */
import { describe, expect, it } from 'vitest';
import { createControl } from '../dist/src/engine/control.js';
import { RingReader, RingWriter, createRing } from '../dist/src/engine/ring.js';
import { createStore } from '../dist/src/engine/store/layout.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';
import { StoreWriter } from '../dist/src/engine/store/writer.js';

const T0 = 1_800_000_000_000;
const MiB = 1024 * 1024;
const SERIES = 1000;

/** Drains `samples` samples over SERIES series from a ring of `slots`; the slots each chunk was given, and the store. */
function chunksOf(slots: number, samples: number): { chunks: number[]; store: StoreReader } {
  const buffers = createStore({ maxSeries: 1024, rawCapacity: 64, bucketCapacity: 30, rollupCapacity: 6, intervalMs: 1000, rollupMs: 60_000, logBytes: 4 * MiB, rollupLogBytes: MiB, poolBytes: 4 * MiB });
  const ring = createRing(slots);
  const producer = new RingWriter(ring, createControl(), 'drop');
  const writer = new StoreWriter(buffers);
  writer.recover(T0, 0);
  const chunks: number[] = [];
  const hooked = writer as unknown as { chunk: (reader: RingReader, now: number, n: number) => number };
  const original = hooked.chunk.bind(writer);
  hooked.chunk = (reader, now, n) => {
    chunks.push(n);
    return original(reader, now, n);
  };
  for (let i = 0; i < samples; i++) producer.push(i % SERIES, i);
  producer.publish(false);
  writer.drain(new RingReader(ring), T0 + 10, 1 << 20);
  writer.publish();
  return { chunks, store: new StoreReader(buffers) };
}

describe('the chunks of a drain', () => {
  it('are half the ring, at least 4,096 and at most 32,768 slots, and apply every sample once', () => {
    expect(chunksOf(1 << 16, 60_000).chunks).toEqual([32_768, 60_000 - 32_768]);
    expect(chunksOf(1 << 15, 20_000).chunks).toEqual([16_384, 20_000 - 16_384]);
    expect(chunksOf(1 << 13, 8_000).chunks).toEqual([4_096, 8_000 - 4_096]);
    expect(chunksOf(1 << 12, 4_000).chunks).toEqual([4_000]);
    expect(chunksOf(1 << 18, 70_000).chunks).toEqual([32_768, 32_768, 70_000 - 65_536]);
    const { store } = chunksOf(1 << 16, 60_000);
    for (const id of [0, 1, 999]) {
      const want = Array.from({ length: 60 }, (_, k) => id + k * SERIES);
      expect(store.snapshot(id)).toMatchObject({ totalCount: 60, totalSum: want.reduce((a, b) => a + b, 0), lastValue: want.at(-1) });
    }
  });
});
