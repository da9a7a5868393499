/**
 * The store writer stopped at each step of its apply path in turn, in this thread: a method
 * of the dead writer throws on entry to (or on return from) its n-th call, which leaves
 * shared memory as a worker terminated there would (V8 stops one only at function entries
 * and loop back-edges). A successor recovers and drains the ring; every series must hold
 * exactly what was recorded. Calls of each step are tried all along the run: the points
 * between a chunk's in-flight record and its first group (entry of its first applyGroup),
 * between groups and between the parts of a long group (binTail), and between the last group
 * and APPLIED (return of its last applyGroup); between the raw-first writes of a chunk's small
 * groups (store/raw-first.ts) and its first group, and between those groups' commits
 * (applyWritten); and, through a ring whose values throw, a back-edge inside a part and one
 * inside the raw-first writes, with raw slots rewritten but not committed.
 * test/apply-kill.test.ts kills a worker at random points, these systematically.
 */
import { describe, expect, it } from 'vitest';
import { createControl } from '../dist/src/engine/control.js';
import { RingReader, RingWriter, TIME_MARK, createRing } from '../dist/src/engine/ring.js';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { createStore, type StoreConfig } from '../dist/src/engine/store/layout.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';
import { StoreWriter } from '../dist/src/engine/store/writer.js';
import { seeded } from './fixtures/seeded.mjs';

const T0 = 1_800_000_000_000;
const MiB = 1024 * 1024;
const SERIES = 12;
const config: StoreConfig = {
  maxSeries: 64,
  rawCapacity: 16,
  bucketCapacity: 60,
  rollupCapacity: 10,
  intervalMs: 1000,
  rollupMs: 60_000,
  logBytes: MiB,
  rollupLogBytes: MiB,
  poolBytes: MiB,
};

type Step = 'applyGroup' | 'binTail' | 'open' | 'rawFirst' | 'applyWritten';
type Hooked = Record<Step, (...args: unknown[]) => unknown>;

/** 6,000 samples (chunks of up to 4,096 cut by a time mark and a corrupt id) over SERIES series, one of them busy. */
function recording(): { ring: SharedArrayBuffer; recorded: number[][] } {
  const rand = seeded(16);
  const ring = createRing(1 << 14);
  const producer = new RingWriter(ring, createControl(), 'drop');
  const recorded: number[][] = Array.from({ length: SERIES }, () => []);
  for (let i = 0; i < 6000; i++) {
    if (i === 2500) producer.push(TIME_MARK, T0 + 300);
    if (i === 5000) producer.push(9999, 1);
    const id = rand() < 0.5 ? 0 : 1 + Math.floor(rand() * (SERIES - 1));
    const v = Math.round(Math.exp(rand() * 10));
    producer.push(id, v);
    recorded[id]!.push(v);
  }
  producer.publish(false);
  return { ring, recorded };
}

/** Drains in passes of `perPass` samples, 250 ms apart (buckets close between them); `hook` may throw. */
function run(writer: StoreWriter, ring: SharedArrayBuffer, t0: number, perPass = 1500): void {
  const reader = new RingReader(ring);
  for (let t = t0; reader.available() > 0; t += 250) {
    if (writer.advance(t)) writer.rollup(SERIES);
    writer.drain(reader, t, perPass);
    writer.publish();
  }
}

/**
 * Passes of this many samples give the 11 quiet series two or three each: groups small enough
 * for the raw-first writes (store/raw-first.ts), where passes of 1,500 give them about 68.
 */
const RAW_FIRST_PASS = 60;

/** Counts the calls of each step in a run that is not stopped. */
function callsOfSteps(perPass?: number): Record<Step, number> {
  const { ring } = recording();
  const writer = new StoreWriter(createStore(config));
  writer.recover(T0, SERIES);
  const calls = { applyGroup: 0, binTail: 0, open: 0, rawFirst: 0, applyWritten: 0 };
  const hooked = writer as unknown as Hooked;
  for (const step of Object.keys(calls) as Step[]) {
    const original = hooked[step].bind(writer);
    hooked[step] = (...args) => {
      calls[step]++;
      return original(...args);
    };
  }
  run(writer, ring, T0, perPass);
  return calls;
}

function stoppedAt(step: Step, n: number, onReturn: boolean, perPass?: number): string[] {
  const { ring, recorded } = recording();
  const store = createStore(config);
  const dead = new StoreWriter(store);
  dead.recover(T0, SERIES);
  const hooked = dead as unknown as Hooked;
  const original = hooked[step].bind(dead);
  let calls = 0;
  hooked[step] = (...args) => {
    if (++calls === n && !onReturn) throw new Error('stopped');
    const out = original(...args);
    if (calls === n) throw new Error('stopped');
    return out;
  };
  expect(() => run(dead, ring, T0, perPass)).toThrow('stopped');
  // After every pass the dead writer could have reached (6,000 samples, 250 ms a pass).
  const end = T0 + Math.max(10_000, 250 * Math.ceil(6000 / (perPass ?? 1500)) + 1000);
  const successor = new StoreWriter(store);
  successor.recover(end, SERIES);
  run(successor, ring, end);
  successor.advance(end + 1000);
  const reader = new StoreReader(store);
  const acc = new SketchAccumulator();
  const expected = new SketchAccumulator();
  const bins = (from: SketchAccumulator): string => {
    const out: string[] = [];
    from.forEachBin((key, count) => out.push(`${key}:${count}`));
    return out.sort().join(' ');
  };
  const mismatches: string[] = [];
  for (let id = 0; id < SERIES; id++) {
    const values = recorded[id]!;
    const agg = reader.aggregate(id, -Infinity, Infinity, acc);
    expected.reset();
    for (const v of values) expected.add(v);
    const want = { count: values.length, sum: values.reduce((a, b) => a + b, 0), min: Math.min(...values), max: Math.max(...values), last: values.at(-1), raw: values.slice(-config.rawCapacity), bins: bins(expected) };
    const got = { count: agg.count, sum: agg.sum, min: agg.min, max: agg.max, last: agg.last, raw: reader.raw(id).v, bins: bins(acc) };
    if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`${step} ${onReturn ? 'return' : 'entry'} #${n}, series ${id}: ${JSON.stringify(got).slice(0, 160)} ≠ ${JSON.stringify(want).slice(0, 160)}`);
  }
  return mismatches;
}

describe('a store writer stopped at each step of its apply path', () => {
  const calls = callsOfSteps();

  it('calls each step often enough for the points to matter', () => {
    // Groups: about 12 a chunk; parts: the busy series' groups pass binEvery (8) many times.
    expect(calls.applyGroup).toBeGreaterThan(40);
    expect(calls.binTail).toBeGreaterThan(calls.applyGroup);
    expect(calls.open).toBeGreaterThanOrEqual(SERIES);
  });

  it('hides from readers the raw slots a writer stopped inside a part had rewritten, and its successor commits them once', () => {
    const store = createStore(config);
    const ring = createRing(1 << 8);
    const producer = new RingWriter(ring, createControl(), 'drop');
    const values = Array.from({ length: 24 }, (_, i) => 100 + i);
    for (const v of values.slice(0, 16)) producer.push(3, v);
    producer.publish(false);
    const dead = new StoreWriter(store);
    dead.recover(T0, SERIES);
    dead.drain(new RingReader(ring), T0, 1 << 20);
    dead.publish();
    for (const v of values.slice(16)) producer.push(3, v);
    producer.publish(false);
    // Stopped at a back-edge of the raw loop: its fifth value read (of the chunk's values,
    // grouped by series) throws, four slots are rewritten.
    const reader = new RingReader(ring);
    let reads = 0;
    const grouped = dead as unknown as { groupValues: Float64Array };
    grouped.groupValues = new Proxy(grouped.groupValues, {
      get(target, key) {
        if (typeof key === 'string' && /^\d+$/.test(key) && ++reads === 5) throw new Error('stopped');
        return target[key as unknown as number];
      },
      set(target, key, value: number) {
        target[key as unknown as number] = value;
        return true;
      },
    });
    expect(() => dead.drain(reader, T0 + 10, 1 << 20)).toThrow('stopped');
    const store3 = new StoreReader(store);
    // RAW_AHEAD covered the whole part (8 slots, binEvery): readers drop all 8, not just the 4 rewritten.
    expect(store3.raw(3).v).toEqual(values.slice(8, 16));
    const successor = new StoreWriter(store);
    successor.recover(T0 + 20, SERIES);
    successor.drain(new RingReader(ring), T0 + 20, 1 << 20);
    successor.publish();
    expect(store3.raw(3).v).toEqual(values.slice(8));
    expect(store3.snapshot(3)).toMatchObject({ totalCount: 24, totalSum: values.reduce((a, b) => a + b, 0) });
  });

  const small = callsOfSteps(RAW_FIRST_PASS);

  it("writes the raw slots of the chunks' small groups first often enough for the points to matter", () => {
    // A chunk a pass, 100 passes; in each, most of the quiet series' groups are small.
    expect(small.rawFirst).toBeGreaterThanOrEqual(100);
    expect(small.applyWritten).toBeGreaterThan(500);
  });

  it('hides from readers the raw slots a writer stopped inside its raw-first writes had rewritten, and its successor commits them once', () => {
    const store = createStore(config);
    const ring = createRing(1 << 8);
    const producer = new RingWriter(ring, createControl(), 'drop');
    const values = Array.from({ length: 20 }, (_, i) => 100 + i);
    for (const v of values.slice(0, 16)) producer.push(3, v);
    producer.publish(false);
    const dead = new StoreWriter(store);
    dead.recover(T0, SERIES);
    dead.drain(new RingReader(ring), T0, 1 << 20);
    dead.publish();
    // Four more: with none waiting to be binned, a group under binEvery (8), written raw-first.
    for (const v of values.slice(16)) producer.push(3, v);
    producer.publish(false);
    const reader = new RingReader(ring);
    let reads = 0;
    const grouped = dead as unknown as { groupValues: Float64Array };
    grouped.groupValues = new Proxy(grouped.groupValues, {
      get(target, key) {
        if (typeof key === 'string' && /^\d+$/.test(key) && ++reads === 3) throw new Error('stopped');
        return target[key as unknown as number];
      },
      set(target, key, value: number) {
        target[key as unknown as number] = value;
        return true;
      },
    });
    const written = (dead as unknown as { rawWritten: Uint8Array }).rawWritten;
    expect(() => dead.drain(reader, T0 + 10, 1 << 20)).toThrow('stopped');
    // Stopped at its third value read: two slots rewritten, none committed, RAW_AHEAD over all four.
    expect(written[3]).toBe(0);
    const store3 = new StoreReader(store);
    expect(store3.raw(3).v).toEqual(values.slice(4, 16));
    expect(store3.snapshot(3)).toMatchObject({ totalCount: 16 });
    const successor = new StoreWriter(store);
    successor.recover(T0 + 20, SERIES);
    successor.drain(new RingReader(ring), T0 + 20, 1 << 20);
    successor.publish();
    expect(store3.raw(3).v).toEqual(values.slice(4));
    expect(store3.snapshot(3)).toMatchObject({ totalCount: 20, totalSum: values.reduce((a, b) => a + b, 0) });
  });

  for (const step of ['rawFirst', 'applyWritten'] as const) {
    for (const onReturn of [false, true]) {
      it(`keeps exact totals, raw samples and sketches when stopped at every ${onReturn ? 'return from' : 'entry to'} ${step}`, () => {
        const mismatches: string[] = [];
        const stride = Math.ceil(small[step] / 150);
        for (let n = 1; n <= small[step]; n += stride) mismatches.push(...stoppedAt(step, n, onReturn, RAW_FIRST_PASS));
        expect(mismatches.slice(0, 3)).toEqual([]);
      }, 60_000);
    }
  }

  for (const step of ['applyGroup', 'binTail', 'open'] as const) {
    for (const onReturn of [false, true]) {
      it(`keeps exact totals, raw samples and sketches when stopped at every ${onReturn ? 'return from' : 'entry to'} ${step}`, () => {
        const mismatches: string[] = [];
        // At most about 150 points a step, spread over all its calls (binTail has thousands).
        const stride = Math.ceil(calls[step] / 150);
        for (let n = 1; n <= calls[step]; n += stride) mismatches.push(...stoppedAt(step, n, onReturn));
        expect(mismatches.slice(0, 3)).toEqual([]);
      }, 60_000);
    }
  }
});
