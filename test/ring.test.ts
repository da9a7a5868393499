import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createControl } from '../dist/src/engine/control.js';
import { MonitorStoppedError } from '../dist/src/errors.js';
import { HEADER_BYTES, RingReader, RingWriter, closeRing, createRing, ringStats } from '../dist/src/engine/ring.js';
import { seeded } from './fixtures/seeded.mjs';

const fixture = (name: string): URL => new URL(`./fixtures/${name}`, import.meta.url);

/** Consumes what is published, as the collector does, handing each sample to `take`. */
function consume(reader: RingReader, take: (id: number, value: number) => void): number {
  const n = reader.available();
  for (let k = 0; k < n; k++) {
    const at = reader.r & reader.mask;
    take(reader.ids[at]!, reader.values[at]!);
    reader.r = (reader.r + 1) | 0;
  }
  reader.release();
  return n;
}

// Header cells no role writes: canaries that must survive any amount of traffic.
const CANARY_CELLS = [3, 9, 15, 18, 25, 31, 40, 47];
function plantCanaries(ring: SharedArrayBuffer): void {
  const hdr = new Int32Array(ring, 0, HEADER_BYTES / 4);
  for (const c of CANARY_CELLS) hdr[c] = 0x5a5a0000 + c;
}
function canariesIntact(ring: SharedArrayBuffer): boolean {
  const hdr = new Int32Array(ring, 0, HEADER_BYTES / 4);
  return CANARY_CELLS.every((c) => hdr[c] === 0x5a5a0000 + c);
}

describe('ring', () => {
  it('moves a seeded sequence between two threads with the exact count, order and sum', async () => {
    const count = 2_000_000;
    const ring = createRing(1 << 12);
    const control = createControl();
    plantCanaries(ring);
    const reader = new RingReader(ring);
    // The producer waits as long as it takes: a consumer starved of CPU must not make it drop.
    const worker = new Worker(fixture('ring-producer.mjs'), { workerData: { ring, control, count, overflow: 'block', stallMs: 3_600_000 } });
    // Listened for before anything else: a producer that exits while the consumer is still
    // busy (descheduled on a loaded machine) emits 'exit' once, and a listener added after
    // the loop waited for it for ever (the hang seen under CPU burners).
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    let finished = false;
    worker.on('message', () => {
      finished = true;
    });
    const expected = seeded(7);
    let received = 0;
    let sum = 0;
    let expectedSum = 0;
    let mismatches = 0;
    while (received < count) {
      const n = consume(reader, (id, value) => {
        const want = expected();
        if (id !== received % 7 || value !== want) mismatches++;
        sum += value;
        expectedSum += want;
        received++;
      });
      if (n === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await exited;
    expect(finished).toBe(true);
    expect(received).toBe(count);
    expect(mismatches).toBe(0);
    expect(sum).toBe(expectedSum);
    expect(reader.available()).toBe(0);
    expect(ringStats(ring).dropped).toBe(0);
    expect(canariesIntact(ring)).toBe(true);
  });

  it('stays correct across the 32-bit index wrap-around', () => {
    for (const start of [2 ** 31 - 700, -700]) {
      const ring = createRing(1024, { initialIndex: start });
      plantCanaries(ring);
      const writer = new RingWriter(ring, createControl(), 'drop');
      const reader = new RingReader(ring);
      const next = seeded(11);
      const check = seeded(11);
      let got = 0;
      for (let i = 0; i < 10_000; i++) {
        writer.push(i & 0xffff, next());
        if (i % 300 === 299) {
          writer.publish();
          consume(reader, (id, value) => {
            expect(id).toBe(got & 0xffff);
            expect(value).toBe(check());
            got++;
          });
        }
      }
      writer.publish();
      consume(reader, (id, value) => {
        expect(id).toBe(got & 0xffff);
        expect(value).toBe(check());
        got++;
      });
      expect(got).toBe(10_000);
      expect(writer.droppedCount()).toBe(0);
      expect(canariesIntact(ring)).toBe(true);
    }
  });

  it('drops and counts samples when the ring is full', () => {
    const ring = createRing(1024);
    const writer = new RingWriter(ring, createControl(), 'drop');
    const reader = new RingReader(ring);
    for (let i = 0; i < 1500; i++) writer.push(1, i);
    writer.publish();
    expect(writer.droppedCount()).toBe(476);
    expect(ringStats(ring)).toMatchObject({ fill: 1024, dropped: 476 });
    const values: number[] = [];
    consume(reader, (_, v) => values.push(v));
    // The first 1,024 are kept in order; what came after the ring filled was dropped.
    expect(values).toEqual(Array.from({ length: 1024 }, (_, i) => i));
    expect(reader.takeDropped()).toBe(476);
    // Room again: recording resumes.
    writer.push(1, 5000);
    writer.publish();
    consume(reader, (_, v) => values.push(v));
    expect(values.at(-1)).toBe(5000);
  });

  it('blocks a producer on a full ring until the consumer frees space, losing nothing', async () => {
    const count = 200_000;
    const ring = createRing(1024);
    const reader = new RingReader(ring);
    const worker = new Worker(fixture('ring-producer.mjs'), { workerData: { ring, control: createControl(), count, overflow: 'block', stallMs: 3_600_000 } });
    const done = new Promise<{ dropped: number }>((resolve) => worker.once('message', resolve));
    let received = 0;
    while (received < count) {
      // A slow consumer: the producer spends most of its time blocked.
      received += consume(reader, () => {});
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    expect((await done).dropped).toBe(0);
    expect(received).toBe(count);
  });

  it('drops in streaks while the consumer lags, keeping order and an exact count', async () => {
    const count = 2_000_000;
    const ring = createRing(1024);
    const reader = new RingReader(ring);
    const worker = new Worker(fixture('ring-producer.mjs'), { workerData: { ring, control: createControl(), count, overflow: 'drop', indexValues: true } });
    const done = new Promise<{ dropped: number }>((resolve) => worker.once('message', resolve));
    let finished = false;
    void done.then(() => (finished = true));
    let received = 0;
    let last = -1;
    let disorder = 0;
    // A slow consumer: the producer spends most of the run dropping.
    while (!finished || reader.available() > 0) {
      received += consume(reader, (id, value) => {
        if (value <= last || id !== value % 7) disorder++;
        last = value;
      });
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const { dropped } = await done;
    expect(dropped).toBeGreaterThan(0);
    expect(received + dropped).toBe(count);
    expect(disorder).toBe(0);
    expect(ringStats(ring).dropped).toBe(dropped);
  });

  it('waits once on a ring whose consumer is gone, then drops at once until the consumer moves', () => {
    // Under 'block' and 'wait' a producer gives up after stallMs without progress; before,
    // every further sample waited again (2 s each on the main thread: 65,539 records froze it
    // for seconds). Here 100,000 samples after the stall must not take 100,000 waits: the
    // test's own timeout is the guard.
    for (const overflow of ['block', 'wait'] as const) {
      const ring = createRing(1024);
      const writer = new RingWriter(ring, createControl(), overflow, 200);
      const reader = new RingReader(ring);
      for (let i = 0; i < 1024; i++) writer.push(1, i);
      for (let i = 0; i < 100_000; i++) writer.push(1, -1);
      writer.publish();
      expect(writer.droppedCount()).toBe(100_000);
      expect(ringStats(ring)).toMatchObject({ fill: 1024, dropped: 100_000 });
      // The consumer moves: the producer records again.
      const values: number[] = [];
      consume(reader, (_, v) => values.push(v));
      writer.push(1, 7);
      writer.publish();
      consume(reader, (_, v) => values.push(v));
      expect(values).toEqual([...Array.from({ length: 1024 }, (_, i) => i), 7]);
      expect(writer.droppedCount()).toBe(100_000);
    }
  });

  it('makes the producer throw once the ring is closed', () => {
    const ring = createRing(1024);
    const writer = new RingWriter(ring, createControl(), 'drop');
    writer.push(1, 1);
    closeRing(ring, true);
    // The producer learns at its next publish, at the latest.
    writer.publish();
    expect(() => writer.push(1, 2)).toThrow(MonitorStoppedError);
    closeRing(ring, false);
    writer.setClosed(false);
    expect(() => writer.push(1, 3)).not.toThrow();
  });

  it("drops a closed generation's samples on a full ring and writes the next sample in their room, publishing only it", () => {
    // Samples taken before a stop() and a start(), in the same run of records: the flush point
    // that finds the new generation drops them. On a full ring that flush point is reserve()'s,
    // and the sample that called it must go where they were, not past them.
    const ring = createRing(8);
    const writer = new RingWriter(ring, createControl(), 'drop');
    const reader = new RingReader(ring);
    for (let k = 0; k < 8; k++) writer.push(1, k);
    closeRing(ring, true);
    closeRing(ring, false);
    writer.push(2, 42);
    writer.publish();
    const taken: [number, number][] = [];
    expect(consume(reader, (id, value) => taken.push([id, value]))).toBe(1);
    expect(taken).toEqual([[2, 42]]);
    expect(ringStats(ring).dropped).toBe(8);
  });

  it('refuses a capacity that is not a power of two', () => {
    expect(() => createRing(1000)).toThrow(/ringCapacity must be a power of two/);
  });
});
