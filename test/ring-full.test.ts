import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { DOORBELL, SLEEPING, TID, controlViews, createControl } from '../dist/src/engine/control.js';
import { CapacityError, InvalidArgumentError, MonitorStoppedError } from '../dist/src/errors.js';
import {
  APPLIED,
  CAPACITY,
  CLOSED,
  DROPPED,
  HEADER_BYTES,
  PUBLISH_EVERY,
  READ,
  RingReader,
  RingWriter,
  STARVED_MS,
  STREAK_CHECK,
  TIME_MARK,
  WAITING,
  WRITE,
  bytesFor,
  claimRing,
  closeRing,
  createRing,
  ringStats,
} from '../dist/src/engine/ring.js';
import { currentOsThread, type OsThread } from '../dist/src/engine/os-thread.js';
import { ownThreadId, runnableMark } from '../dist/src/engine/thread-cpu.js';
import { countingWaits, once, waitFor } from './helpers.js';

// The producer's full-ring paths on the test's own thread, so that a mutation test's switch
// (a global of this thread) reaches them: test/ring.test.ts drives most of them from worker
// threads. Where the producer must wait for a consumer, the consumer is a worker that moves
// READ once it sees WAITING raised; the producer waits up to a stall time far past any test's
// deadline, so the outcome never depends on how fast the worker is scheduled.

const header = (ring: SharedArrayBuffer): Int32Array => new Int32Array(ring, 0, HEADER_BYTES / 4);
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Fills a fresh ring of `capacity` with 0, 1, ... and returns its writer. */
function full(capacity: number, overflow: 'drop' | 'wait' | 'block', stallMs?: number, control = createControl()): { ring: SharedArrayBuffer; writer: RingWriter } {
  const ring = createRing(capacity);
  const writer = new RingWriter(ring, control, overflow, stallMs);
  for (let i = 0; i < capacity; i++) writer.push(1, i);
  writer.publish();
  return { ring, writer };
}

/**
 * A consumer thread that, while the producer has WAITING raised, applies its steps in turn
 * (free `n` slots, or close the ring and free it all) and notifies. Resolves once the thread
 * runs (a producer under 'wait' waits 250 ms at most, less than a thread may take to start on
 * a loaded machine), with `applied`, a promise of the steps it applied.
 */
async function consumerOnWait(ring: SharedArrayBuffer, steps: Array<number | 'close'>): Promise<{ applied: Promise<number> }> {
  const source = `
    const { workerData, parentPort } = require('node:worker_threads');
    const { ring, steps, WAITING, READ, CLOSED, CAPACITY } = workerData;
    const hdr = new Int32Array(ring, 0, 64);
    parentPort.postMessage('running');
    const deadline = Date.now() + 30000;
    let done = 0;
    for (const step of steps) {
      while (Atomics.load(hdr, WAITING) === 0) if (Date.now() > deadline) throw new Error('no wait seen');
      // 'close': the monitor stops after its collector drained the ring.
      if (step === 'close') Atomics.store(hdr, CLOSED, 1);
      Atomics.add(hdr, READ, step === 'close' ? hdr[CAPACITY] : step);
      Atomics.notify(hdr, READ);
      // No wait for WAITING to fall: the producer may already wait again (then the next step
      // frees that wait) or not yet have woken (then it finds both steps' room at once).
      done++;
    }
    parentPort.postMessage(done);
  `;
  const worker = new Worker(source, { eval: true, workerData: { ring, steps, WAITING, READ, CLOSED, CAPACITY } });
  const messages: unknown[] = [];
  let heard: () => void = () => {};
  worker.on('message', (m) => (messages.push(m), heard()));
  const failed = new Promise<never>((_, reject) => worker.once('error', reject));
  failed.catch(() => {});
  const next = async (): Promise<unknown> => {
    while (messages.length === 0) await Promise.race([new Promise<void>((resolve) => (heard = resolve)), failed]);
    return messages.shift();
  };
  await next();
  // In an object: an async function's returned promise would be awaited in its place.
  return { applied: next() as Promise<number> };
}

describe('ring sizes', () => {
  it('accepts powers of two from 2 and refuses anything else, naming the field', () => {
    for (const bad of [0, 1, 3, 6, 1000, 1.5, Number.NaN, -4, 2 ** 31, 2 ** 32]) {
      expect(() => createRing(bad)).toThrow(InvalidArgumentError);
      expect(() => createRing(bad)).toThrow(/ringCapacity must be a power of two from 2 to 2\^30/);
    }
    const two = createRing(2);
    expect(two.byteLength).toBe(bytesFor(2));
    expect(bytesFor(2)).toBe(HEADER_BYTES + 24);
    expect(bytesFor(1024)).toBe(HEADER_BYTES + 12 * 1024);
    expect(HEADER_BYTES).toBe(256);
    const a = ringStats(createRing(4));
    const b = ringStats(createRing(4));
    expect(a).toMatchObject({ capacity: 4, fill: 0, dropped: 0, claimedBy: 0 });
    expect(b.id).toBe(a.id + 1);
  });

  it('starts every index at initialIndex, and a reader refuses a buffer that is not a ring of its capacity', () => {
    const ring = createRing(8, { initialIndex: -3 });
    const hdr = header(ring);
    expect([hdr[WRITE], hdr[READ], hdr[APPLIED]]).toEqual([-3, -3, -3]);
    const writer = new RingWriter(ring, createControl(), 'drop');
    for (let i = 0; i < 8; i++) writer.push(1, i);
    writer.publish();
    expect(hdr[WRITE]).toBe(5);
    expect(writer.droppedCount()).toBe(0);

    const short = new SharedArrayBuffer(bytesFor(8) - 12);
    new Int32Array(short, 0, HEADER_BYTES / 4).set(hdr);
    expect(() => new RingReader(short)).toThrow(CapacityError);
    expect(() => new RingReader(short)).toThrow(/does not hold a ring of 8/);
    expect(() => new RingReader(new SharedArrayBuffer(bytesFor(0)))).toThrow(CapacityError);
  });

  it("gives the ring of a thread that ended to the next claimant, back at drain time, and not while it is full", async () => {
    // An OS thread that has ended, as a ring of a terminated worker records it.
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads'); import(${JSON.stringify(new URL('../dist/src/engine/os-thread.js', import.meta.url).href)}).then((m) => parentPort.postMessage(m.currentOsThread()));`,
      { eval: true },
    );
    const [dead] = await Promise.all([once<OsThread>(worker, 'message'), once(worker, 'exit')]);
    expect(dead.tid).toBeGreaterThan(0);
    const self = currentOsThread();
    const ring = createRing(4);
    const h = header(ring);
    const ids = new Int32Array(ring, HEADER_BYTES, 4);
    const values = new Float64Array(ring, HEADER_BYTES + 16, 4);
    expect(claimRing(ring, 7, dead)).toBe(true);
    // It died inside a batch's time marks: a mark and a sample published, the mark back to drain time not.
    const w = new RingWriter(ring, createControl(), 'drop');
    w.push(TIME_MARK, 1_000);
    w.push(1, 5);
    w.publish();
    expect(claimRing(ring, 9, self)).toBe(true);
    expect(ringStats(ring).claimedBy).toBe(9);
    expect(h[WRITE]).toBe(3);
    expect([ids[2], values[2]]).toEqual([TIME_MARK, Number.NaN]);
    // A live thread's ring is its own.
    expect(claimRing(ring, 11, currentOsThread())).toBe(false);
    // A full ring of an ended thread is left until the collector drains it.
    const full = createRing(4);
    expect(claimRing(full, 7, dead)).toBe(true);
    const fw = new RingWriter(full, createControl(), 'drop');
    for (let i = 0; i < 4; i++) fw.push(1, i);
    fw.publish();
    expect(claimRing(full, 9, self)).toBe(false);
    expect(ringStats(full).claimedBy).toBe(7);
    Atomics.store(header(full), READ, 1);
    expect(claimRing(full, 9, self)).toBe(true);
  });

  it('gives a ring to one claimant only', () => {
    const ring = createRing(4);
    expect(claimRing(ring, 7)).toBe(true);
    expect(claimRing(ring, 9)).toBe(false);
    expect(ringStats(ring).claimedBy).toBe(7);
  });
});

describe('a producer on its own thread', () => {
  it('publishes every PUBLISH_EVERY samples and otherwise at the end of the event-loop turn', async () => {
    const ring = createRing(256);
    const writer = new RingWriter(ring, createControl(), 'drop');
    for (let i = 0; i < PUBLISH_EVERY - 1; i++) writer.push(1, i);
    expect(ringStats(ring).fill).toBe(0);
    expect(writer.unpublished()).toBe(PUBLISH_EVERY - 1);
    expect(writer.fill()).toBe(PUBLISH_EVERY - 1);
    expect(writer.pending).toBe(true);
    writer.push(1, 63);
    expect(ringStats(ring).fill).toBe(PUBLISH_EVERY);
    expect(writer.unpublished()).toBe(0);
    writer.push(1, 64);
    writer.push(1, 65);
    expect(ringStats(ring).fill).toBe(PUBLISH_EVERY);
    await tick();
    expect(writer.pending).toBe(false);
    expect(ringStats(ring).fill).toBe(PUBLISH_EVERY + 2);
    // The next sample schedules a flush again.
    writer.push(1, 66);
    expect(writer.pending).toBe(true);
    await tick();
    expect(ringStats(ring).fill).toBe(PUBLISH_EVERY + 3);
  });

  it('schedules the end-of-turn flush for samples that follow a publish point met first in a turn', async () => {
    const ring = createRing(256);
    const writer = new RingWriter(ring, createControl(), 'drop');
    for (let i = 0; i < PUBLISH_EVERY - 1; i++) writer.push(1, i);
    await tick();
    expect(writer.pending).toBe(false);
    expect(writer.unpublished()).toBe(0);
    // The turn's first sample is a publish point (it publishes, and schedules nothing); the
    // samples after it still need the flush.
    for (let i = 0; i < 6; i++) writer.push(1, i);
    expect(writer.unpublished()).toBe(5);
    expect(writer.pending).toBe(true);
    await tick();
    expect(writer.unpublished()).toBe(0);
    expect(ringStats(ring).fill).toBe(PUBLISH_EVERY + 5);
  });

  it('wakes a sleeping collector when it publishes, unless told not to', () => {
    const control = createControl();
    const ctl = controlViews(control);
    const writer = new RingWriter(createRing(256), control, 'drop');
    writer.push(1, 1);
    Atomics.store(ctl.i32, SLEEPING, 1);
    writer.publish(false);
    expect(Atomics.load(ctl.i32, DOORBELL)).toBe(0);
    expect(Atomics.load(ctl.i32, SLEEPING)).toBe(1);
    writer.publish();
    expect(Atomics.load(ctl.i32, DOORBELL)).toBe(1);
    expect(Atomics.load(ctl.i32, SLEEPING)).toBe(0);
  });

  it("drops in streaks under 'drop': publishes the first drop, then once per STREAK_CHECK, and the rest at a flush", async () => {
    const { ring, writer } = full(4, 'drop');
    await tick();
    expect(writer.pending).toBe(false);
    // 'drop' never waits, whatever the consumer is doing.
    expect(countingWaits(() => writer.push(1, -1))).toBe(0);
    // The first drop schedules a flush for the end of the turn.
    expect(writer.pending).toBe(true);
    expect(writer.droppedCount()).toBe(1);
    expect(ringStats(ring).dropped).toBe(1);
    // Inside a streak drops are counted locally, without a look at the ring.
    for (let i = 2; i < STREAK_CHECK; i++) writer.push(1, -1);
    expect(writer.droppedCount()).toBe(STREAK_CHECK - 1);
    expect(ringStats(ring).dropped).toBe(1);
    // The streak's STREAK_CHECK-th drop looks at READ again and publishes the count.
    writer.push(1, -1);
    expect(ringStats(ring).dropped).toBe(STREAK_CHECK);
    for (let i = 0; i < 10; i++) writer.push(1, -1);
    expect(ringStats(ring).dropped).toBe(STREAK_CHECK);
    // That flush publishes the rest.
    await tick();
    expect(ringStats(ring).dropped).toBe(STREAK_CHECK + 10);
    expect(ringStats(ring).fill).toBe(4);
    expect(Atomics.load(header(ring), WRITE)).toBe(4);
  });

  it('keeps dropping inside a streak after room appears, and takes the first sample at the streak check', () => {
    const { ring, writer } = full(4, 'drop');
    const reader = new RingReader(ring);
    for (let i = 0; i < 10; i++) writer.push(1, -1);
    reader.r = (reader.r + 4) | 0;
    reader.release();
    for (let i = 0; i < 54; i++) writer.push(2, 100 + i);
    // Pushes 11..63 of the streak drop without looking; the 64th finds the room.
    expect(writer.droppedCount()).toBe(STREAK_CHECK - 1);
    expect(ringStats(ring).dropped).toBe(STREAK_CHECK - 1);
    expect(writer.fill()).toBe(1);
    writer.publish();
    expect(reader.available()).toBe(1);
    const at = reader.r & reader.mask;
    expect([reader.ids[at], reader.values[at]]).toEqual([2, 100 + STREAK_CHECK - 1 - 10]);
    expect(reader.takeDropped()).toBe(STREAK_CHECK - 1);
    expect(reader.takeDropped()).toBe(0);
  });

  it('ends a streak at a flush: the next sample looks at the ring again', () => {
    const { ring, writer } = full(4, 'drop');
    const reader = new RingReader(ring);
    for (let i = 0; i < 5; i++) writer.push(1, -1);
    writer.publish();
    expect(ringStats(ring).dropped).toBe(5);
    reader.r = (reader.r + 1) | 0;
    reader.release();
    writer.push(3, 33);
    expect(writer.droppedCount()).toBe(5);
    writer.publish();
    expect(reader.available()).toBe(4);
    expect(reader.values[(reader.r + 3) & reader.mask]).toBe(33);
  });

  it('counts drops across the 32-bit wrap of DROPPED', () => {
    const ring = createRing(4);
    header(ring)[DROPPED] = -5;
    const reader = new RingReader(ring);
    const writer = new RingWriter(ring, createControl(), 'drop');
    expect(writer.droppedCount()).toBe(2 ** 32 - 5);
    writer.countDropped(3);
    expect(ringStats(ring).dropped).toBe(2 ** 32 - 2);
    writer.countDropped(7);
    expect(ringStats(ring).dropped).toBe(5);
    expect(writer.droppedCount()).toBe(5);
    expect(reader.takeDropped()).toBe(10);
  });

  it("waits under 'block' and 'wait' while a consumer frees room, and loses nothing", async () => {
    for (const overflow of ['block', 'wait'] as const) {
      const { ring, writer } = full(4, overflow, 3_600_000);
      const consumer = (await consumerOnWait(ring, [1, 3])).applied;
      // The first sample waits until one slot is freed, the second until three more are.
      for (let v = 50; v < 54; v++) writer.push(5, v);
      writer.publish();
      expect(await consumer).toBe(2);
      expect(writer.droppedCount()).toBe(0);
      expect(ringStats(ring)).toMatchObject({ fill: 4, dropped: 0 });
      expect(Atomics.load(header(ring), WAITING)).toBe(0);
      expect([...new Float64Array(ring, HEADER_BYTES + 4 * 4, 4)]).toEqual([50, 51, 52, 53]);
    }
  });

  it('throws MonitorStoppedError when the ring closes while it waits, then at once', async () => {
    // A producer that missed the close would give up after its stall (20 s) and drop instead.
    const { ring, writer } = full(4, 'block', 20_000);
    writer.countDropped(2);
    const consumer = (await consumerOnWait(ring, ['close'])).applied;
    expect(() => writer.push(1, 9)).toThrow(MonitorStoppedError);
    expect(await consumer).toBe(1);
    expect(Atomics.load(header(ring), WAITING)).toBe(0);
    // Closed: every later record throws at once, without waiting, though the ring has room.
    expect(countingWaits(() => expect(() => writer.push(1, 10)).toThrow(MonitorStoppedError))).toBe(0);
    expect(ringStats(ring)).toMatchObject({ fill: 0, dropped: 2 });
  }, 60_000);

  it('throws on a closed ring once its room runs out, even before a publish', () => {
    const ring = createRing(4);
    const writer = new RingWriter(ring, createControl(), 'drop');
    writer.push(1, 1);
    closeRing(ring, true);
    for (let i = 2; i <= 4; i++) writer.push(1, i);
    // Room appearing does not reopen it.
    Atomics.add(header(ring), READ, 4);
    expect(() => writer.push(1, 5)).toThrow(MonitorStoppedError);
    expect(() => writer.push(1, 6)).toThrow(MonitorStoppedError);
    Atomics.sub(header(ring), READ, 4);
    // A writer built over a closed ring has no room at all.
    const late = new RingWriter(ring, createControl(), 'drop');
    expect(() => late.push(1, 3)).toThrow(MonitorStoppedError);
    closeRing(ring, false);
    late.setClosed(false);
    late.push(1, 4);
    late.publish();
    expect(ringStats(ring).fill).toBe(1);
  });

  it('gives up after stallMs once per outage, not once per flush, and records again when the consumer moves', () => {
    for (const overflow of ['block', 'wait'] as const) {
      const { ring, writer } = full(4, overflow, 50);
      const reader = new RingReader(ring);
      writer.push(1, -1);
      expect(writer.droppedCount()).toBe(1);
      // Every flush ends a streak; without the memory of the stall each of these samples
      // would wait stallMs again.
      const waits = countingWaits(() => {
        for (let i = 0; i < 200; i++) {
          writer.push(1, -1);
          writer.publish();
        }
      });
      expect(waits).toBe(0);
      expect(writer.droppedCount()).toBe(201);
      expect(ringStats(ring).dropped).toBe(201);
      reader.r = (reader.r + 1) | 0;
      reader.release();
      writer.push(1, 7);
      writer.publish();
      expect(ringStats(ring)).toMatchObject({ fill: 4, dropped: 201 });
    }
  }, 20_000);

  it("waits on past stallMs while the collector's thread waits for a CPU, and gives up once it runs, sleeps or is gone without freeing room", () => {
    // On a loaded machine a live collector waited 250 ms and more for a CPU: a 'block'
    // producer took that for a dead one and dropped what it recorded next (83,736 of a piscina
    // pool's 200,000 samples in CI, test/threads.test.ts). Past stallMs it looks at the
    // collector's thread (its id from the control block) once a wait slice: runnable and not
    // run since the last look is a collector held off the CPUs, and the wait goes on. Here the
    // look is the test's, and the third one plays the collector getting a CPU and draining.
    const control = createControl();
    controlViews(control).f64[TID] = 4242;
    const seen: number[] = [];
    const ring = createRing(4);
    const reader = new RingReader(ring);
    const writer = new RingWriter(ring, control, 'block', 20, (tid) => {
      seen.push(tid);
      if (seen.length === 3) {
        reader.r = Atomics.load(header(ring), WRITE);
        reader.release();
      }
      return '81000 7';
    });
    for (let i = 0; i < 6; i++) writer.push(1, i);
    writer.publish();
    expect(writer.droppedCount()).toBe(0);
    expect(seen).toEqual([4242, 4242, 4242]);
    expect(ringStats(ring)).toMatchObject({ fill: 2, dropped: 0 });

    // A collector that ran since the last look and freed nothing is hung; one not runnable is
    // asleep or ended; an unknown thread (not Linux, no id yet) is judged on the time alone.
    for (const [looks, answers] of [
      [2, ['81000 7', '93000 8']],
      [1, ['']],
      [1, [undefined]],
    ] as const) {
      let n = 0;
      const stalled = new RingWriter(createRing(4), control, 'block', 20, () => answers[n++]);
      for (let i = 0; i < 5; i++) stalled.push(1, i);
      expect(stalled.droppedCount()).toBe(1);
      expect(n).toBe(looks);
    }
  }, 20_000);

  it("gives up STARVED_MS past stallMs on a collector's thread that never gets a CPU", () => {
    // Without the bound, this push would wait for good: the test's timeout is the guard. Each
    // look comes after a wait slice of 10 ms at least, so the looks stay within the bound's.
    let looks = 0;
    const stuck = new RingWriter(createRing(4), createControl(), 'block', 20, () => {
      looks++;
      return '5 1';
    });
    for (let i = 0; i < 5; i++) stuck.push(1, i);
    expect(stuck.droppedCount()).toBe(1);
    expect(looks).toBeGreaterThan(0);
    expect(looks).toBeLessThanOrEqual(STARVED_MS / 10 + 1);
  }, 20_000);

  it("reads a thread's state from the kernel: runnable with how far it ran, asleep, gone", async () => {
    const self = ownThreadId();
    expect(runnableMark(0)).toBeUndefined();
    if (process.platform !== 'linux') return;
    // This thread runs: runnable, its time on a CPU and its count of runs.
    expect(runnableMark(self)).toMatch(/^\d+ \d+$/);
    // A thread id that is not one of ours: not runnable.
    expect(runnableMark(2 ** 30)).toBe('');
    // A thread asleep in Atomics.wait.
    const cell = new Int32Array(new SharedArrayBuffer(8));
    const w = new Worker(
      `const { workerData } = require('node:worker_threads'); const { readlinkSync } = require('node:fs');
       const l = readlinkSync('/proc/thread-self'); Atomics.store(workerData, 1, Number(l.slice(l.lastIndexOf('/') + 1)));
       Atomics.wait(workerData, 0, 0);`,
      { eval: true, workerData: cell },
    );
    try {
      await waitFor(() => Atomics.load(cell, 1) > 0 && runnableMark(Atomics.load(cell, 1)) === '', 15_000, 'the worker asleep');
    } finally {
      Atomics.store(cell, 0, 1);
      Atomics.notify(cell, 0);
      await w.terminate();
    }
  }, 30_000);

  it("ends a 'wait' at the thread's waiting budget, long before a stall", () => {
    // The budget is WAIT_BURST_MS (250 ms) of 10 ms waits: at most about 26 of them, however
    // slowly they return; the stall (5 s) would take about 500.
    const { ring, writer } = full(4, 'wait', 5_000);
    const waits = countingWaits(() => writer.push(1, -1));
    expect(waits).toBeGreaterThan(0);
    expect(waits).toBeLessThanOrEqual(50);
    expect(writer.droppedCount()).toBe(1);
    expect(Atomics.load(header(ring), WAITING)).toBe(0);
  }, 20_000);

  it("never waits in pushOrDrop, whatever the policy: a sample with no room is dropped and counted, and the host's next sample keeps its policy", async () => {
    for (const overflow of ['block', 'wait'] as const) {
      // No consumer yet: a wait would be Atomics.wait calls, and would end at the stall (5 s).
      const { ring, writer } = full(4, overflow, 5_000);
      let taken = true;
      expect(countingWaits(() => (taken = writer.pushOrDrop(1, -1)))).toBe(0);
      expect(taken).toBe(false);
      expect(ringStats(ring)).toMatchObject({ fill: 4, dropped: 1 });
      // The drop starts no streak: the host's next sample waits for room, and goes in.
      const consumer = (await consumerOnWait(ring, [1])).applied;
      writer.push(5, 50);
      expect(writer.droppedCount()).toBe(1);
      writer.publish();
      expect(await consumer).toBe(1);
      // Room that a consumer freed since the writer last looked is taken.
      Atomics.add(header(ring), READ, 1);
      expect(writer.pushOrDrop(6, 60)).toBe(true);
      writer.publish();
      expect(ringStats(ring)).toMatchObject({ fill: 4, dropped: 1 });
      expect([...new Float64Array(ring, HEADER_BYTES + 4 * 4, 4)]).toEqual([50, 60, 2, 3]);
    }
  }, 20_000);

  it('waits for room for a bulk record, refusing one larger than the ring', async () => {
    const { ring, writer } = full(8, 'drop', 3_600_000);
    expect(() => writer.waitForRoom(9)).toThrow(CapacityError);
    expect(() => writer.waitForRoom(9)).toThrow(/samples of one call must fit the ring: at most 8, got 9/);
    const consumer = (await consumerOnWait(ring, [2, 2])).applied;
    expect(writer.waitForRoom(3)).toBe(true);
    expect(await consumer).toBe(2);
    expect(writer.limit).toBe(12);
    for (let i = 0; i < 4; i++) writer.push(2, i);
    expect(writer.droppedCount()).toBe(0);
    writer.publish();
    expect(ringStats(ring).fill).toBe(8);

    // A bulk record may take the whole ring.
    expect(new RingWriter(createRing(8), createControl(), 'drop', 5_000).waitForRoom(8)).toBe(true);
    const empty = new RingWriter(createRing(8), createControl(), 'drop', 5_000);
    empty.push(1, 1);
    expect(empty.waitForRoom(7)).toBe(true);
    // Room was there: nothing was published for it.
    expect(empty.unpublished()).toBe(1);
  }, 30_000);

  it('gives up a bulk wait after stallMs without progress, and at once while the consumer stays put', () => {
    const { ring, writer } = full(4, 'block', 30);
    expect(writer.waitForRoom(1)).toBe(false);
    expect(writer.waitForRoom(1)).toBe(false);
    const reader = new RingReader(ring);
    reader.r = (reader.r + 2) | 0;
    reader.release();
    expect(writer.waitForRoom(2)).toBe(true);
    expect(writer.waitForRoom(3)).toBe(false);
  });

  it('throws from a bulk wait on a closed ring', () => {
    // Without the close, the wait would give up after its stall (5 s) and answer false.
    const { ring, writer } = full(4, 'block', 5_000);
    closeRing(ring, true);
    expect(() => writer.waitForRoom(1)).toThrow(MonitorStoppedError);
  }, 30_000);
});

describe('a consumer', () => {
  it('resumes from APPLIED, skipping what a predecessor applied, and frees up to it', () => {
    const ring = createRing(8);
    const writer = new RingWriter(ring, createControl(), 'drop');
    for (let i = 0; i < 6; i++) writer.push(1, i);
    writer.publish();
    Atomics.store(header(ring), APPLIED, 4);
    const reader = new RingReader(ring);
    expect(reader.r).toBe(4);
    expect(Atomics.load(header(ring), READ)).toBe(4);
    expect(reader.available()).toBe(2);
    expect(reader.fill()).toBe(2);
    expect(reader.values[reader.r & reader.mask]).toBe(4);
  });
});
