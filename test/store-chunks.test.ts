/**
 * drain() groups a ring's samples by series in chunks of half the ring, from 4,096 to 262,144
 * slots: at 10,000 series a chunk of 4,096 gave each series one sample or none, and a
 * series' samples share its hot line and raw slots only within a chunk (a ring larger than
 * the default 2^16 gets chunks larger than 32,768: its grouping buffers grow to them). A ring of few series
 * gets smaller chunks, 64 slots a series of its last chunk, so that the grouping's buffers
 * stay warm from one chunk to the next. Every sample is applied exactly, whatever the chunks.
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

/**
 * Drains from a ring of `slots`, one drain per entry of `passes` (its samples over its
 * series, ids from 0); the slots each chunk was given, and the store.
 */
function chunksOf(slots: number, ...passes: { samples: number; series: number }[]): { chunks: number[]; store: StoreReader } {
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
  const reader = new RingReader(ring);
  let v = 0;
  for (const { samples, series } of passes) {
    for (let i = 0; i < samples; i++) producer.push(i % series, v++);
    producer.publish(false);
    writer.drain(reader, T0 + 10, 1 << 20);
    writer.publish();
  }
  return { chunks, store: new StoreReader(buffers) };
}

const wide = (samples: number) => ({ samples, series: SERIES });

describe('the chunks of a drain', () => {
  it('are half the ring, at least 4,096 and at most 262,144 slots, and apply every sample once', () => {
    expect(chunksOf(1 << 16, wide(60_000)).chunks).toEqual([32_768, 60_000 - 32_768]);
    expect(chunksOf(1 << 15, wide(20_000)).chunks).toEqual([16_384, 20_000 - 16_384]);
    expect(chunksOf(1 << 13, wide(8_000)).chunks).toEqual([4_096, 8_000 - 4_096]);
    expect(chunksOf(1 << 12, wide(4_000)).chunks).toEqual([4_000]);
    expect(chunksOf(1 << 18, wide(140_000)).chunks).toEqual([131_072, 140_000 - 131_072]);
    // The first chunk of a ring of 2^20 is of the most (262,144, not half the ring); then 64 slots a series.
    expect(chunksOf(1 << 20, wide(400_000)).chunks).toEqual([262_144, 64_000, 64_000, 400_000 - 390_144]);
    const { store } = chunksOf(1 << 16, wide(60_000));
    for (const id of [0, 1, 999]) {
      const want = Array.from({ length: 60 }, (_, k) => id + k * SERIES);
      expect(store.snapshot(id)).toMatchObject({ totalCount: 60, totalSum: want.reduce((a, b) => a + b, 0), lastValue: want.at(-1) });
    }
  });

  it("apply every sample of a chunk larger than the grouping's first buffers once", () => {
    // 262,144 slots: the buffers, made for 32,768, grow to it before the chunk is grouped.
    const { chunks, store } = chunksOf(1 << 20, wide(300_000));
    expect(chunks[0]).toBe(262_144);
    for (const id of [0, 1, 500, 999]) {
      const want = Array.from({ length: 300 }, (_, k) => id + k * SERIES);
      expect(store.snapshot(id)).toMatchObject({ totalCount: 300, totalSum: want.reduce((a, b) => a + b, 0), lastValue: want.at(-1) });
    }
  });

  it("are 64 slots a series of the ring's last chunk when it has few series, and grow back at once when it has more", () => {
    // 100 series: a first chunk of full size, then 6,400 slots; 1,000 series after them: one
    // chunk of 6,400 finds them, the next is of full size again.
    const { chunks, store } = chunksOf(1 << 16, { samples: 60_000, series: 100 }, { samples: 20_000, series: 100 }, wide(50_000));
    expect(chunks).toEqual([32_768, 6_400, 6_400, 6_400, 6_400, 27_232 - 25_600, 6_400, 6_400, 6_400, 20_000 - 19_200, 6_400, 32_768, 50_000 - 39_168]);
    // Each series got its 600 + 200 samples of the first two drains (values 0 to 79,999, in
    // order), and ids below 100 their 50 of the third too (values from 80,000).
    for (const id of [0, 57, 99]) {
      const mine = [...Array.from({ length: 800 }, (_, k) => id + k * 100), ...Array.from({ length: 50 }, (_, k) => 80_000 + id + k * SERIES)];
      expect(store.snapshot(id)).toMatchObject({ totalCount: 850, totalSum: mine.reduce((a, b) => a + b, 0), lastValue: mine.at(-1) });
    }
    expect(store.snapshot(999)).toMatchObject({ totalCount: 50, lastValue: 80_000 + 999 + 49 * SERIES });
  });
});

describe('a drain of many new series', () => {
  it("beats at least once every 1,024 series of a chunk, so that a chunk of new series is not taken for a hang", () => {
    // At 10,000 new series a chunk's first writes fault in a page or more a series (raw
    // slots, hot lines, bucket rows): 300-700 ms of a collector that did not beat once, which
    // its watchdog replaced as hung (a burst of 10,000 new series on a loaded machine).
    const series = 10_000;
    const buffers = createStore({ maxSeries: 16_384, rawCapacity: 64, bucketCapacity: 30, rollupCapacity: 6, intervalMs: 1000, rollupMs: 60_000, logBytes: 4 * MiB, rollupLogBytes: MiB, poolBytes: 16 * MiB });
    const ring = createRing(1 << 16);
    const producer = new RingWriter(ring, createControl(), 'drop');
    let beats = 0;
    const writer = new StoreWriter(buffers, () => beats++);
    writer.recover(T0, 0);
    const reader = new RingReader(ring);
    const samples = 32_768;
    for (let i = 0; i < samples; i++) producer.push(i % series, i);
    producer.publish(false);
    beats = 0;
    expect(writer.drain(reader, T0 + 10, 1 << 20)).toBe(samples);
    // One chunk of 32,768 slots over 10,000 series, gone over twice: its raw-first writes
    // (raw-first.ts), then its groups, each beating every 1,024 series.
    expect(beats).toBeGreaterThanOrEqual(2 * Math.floor(series / 1024));
    writer.publish();
    expect(new StoreReader(buffers).snapshot(9_999)).toMatchObject({ totalCount: 3, totalSum: 9_999 + 19_999 + 29_999 });
  });
});
