/**
 * The store writer terminated at random points of its apply path, over many seeds: a
 * successor finishes from the ring and the store, and every series holds exactly what was
 * recorded (count, sum, min, max, last, the newest raw values, the sketch bin by bin), none
 * lost, none applied twice.
 */
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { createControl } from '../dist/src/engine/control.js';
import { APPLIED, CHUNK_DONE, CHUNK_K, CHUNK_R0, HEADER_BYTES, RingReader, RingWriter, TIME_MARK, createRing } from '../dist/src/engine/ring.js';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { HOT_F64, RAW_AHEAD, RAW_WRITTEN, createStore, type StoreConfig } from '../dist/src/engine/store/layout.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';
import { StoreWriter } from '../dist/src/engine/store/writer.js';
import { seeded } from './fixtures/seeded.mjs';

const T0 = 1_800_000_000_000;
const MiB = 1024 * 1024;
const SEEDS = 40;
const BIG_SEEDS = 12;
const RING = 1 << 16;
const PASS_MS = 250;

const config: StoreConfig = {
  maxSeries: 512,
  rawCapacity: 64,
  bucketCapacity: 300,
  rollupCapacity: 60,
  intervalMs: 1000,
  rollupMs: 60_000,
  logBytes: 8 * MiB,
  rollupLogBytes: 4 * MiB,
  poolBytes: 8 * MiB,
};

/** For chunks larger than the grouping's first buffers (a ring of 2^20: chunks of up to 262,144 slots). */
const wideConfig: StoreConfig = { ...config, maxSeries: 4096, poolBytes: 32 * MiB };

interface Outcome {
  /** The kill left applied slots behind APPLIED: it landed inside a chunk. */
  midChunk: boolean;
  /** It landed inside a chunk of more than 32,768 slots, which the successor's grouping buffers grow to. */
  bigChunk: boolean;
  /** It left several series with raw slots written past their commit: it landed after a chunk's raw-first writes (store/raw-first.ts) began and before its last small group committed. */
  rawAhead: boolean;
  mismatches: string[];
}

/**
 * `wide`: 300-499 series, so that a pass gives each a few samples, most groups small enough
 * for the raw-first writes. `big`: 1,500-2,999 series from a ring of 2^20 in passes of up to
 * 250,000 samples, so that chunks of 96,000-262,144 slots are in flight when the kill lands.
 */
async function killedOnce(seed: number, shape: 'narrow' | 'wide' | 'big' = 'narrow'): Promise<Outcome> {
  const rand = seeded(seed);
  const big = shape === 'big';
  const conf = big ? wideConfig : config;
  // Even seeds: a few series and a few values (below), so that keys pass their front bins'
  // 255 (layout.ts) many times in a bucket and kills land as a front moves to its back bin.
  const series = big ? 1_500 + Math.floor(rand() * 1_500) : shape === 'wide' ? 300 + Math.floor(rand() * 200) : 1 + Math.floor(rand() * (seed % 2 === 0 ? 8 : 300));
  const total = big ? 600_000 + Math.floor(rand() * 400_000) : 20_000 + Math.floor(rand() * 40_000);
  const store = createStore(conf);
  const ring = createRing(big ? 1 << 20 : RING);
  const producer = new RingWriter(ring, createControl(), 'drop');
  const recorded: number[][] = Array.from({ length: series }, () => []);
  for (let i = 0; i < total; i++) {
    // A chunk ends at a time mark: `big` takes few (about two a run), so that its chunks stay large.
    if (rand() < (big ? 0.00001 : 0.001)) producer.push(TIME_MARK, T0 + Math.floor(rand() * 60_000));
    const id = Math.floor(rand() * series);
    // Integers: sums are exact whichever buckets the kill puts the samples in.
    const v = seed % 2 === 0 ? 1 + 1000 * Math.floor(rand() * 3) : Math.round(Math.exp(rand() * 13));
    producer.push(id, v);
    recorded[id]!.push(v);
  }
  producer.publish(false);
  const hdr = new Int32Array(ring, 0, HEADER_BYTES / 4);
  const perPass = big ? 150_000 + Math.floor(rand() * 100_000) : 2_000 + Math.floor(rand() * 8_000);
  const killAt = Math.floor(rand() * total);
  // A chunk of 262,144 slots takes milliseconds to apply: the kill waits up to 1 ms past the APPLIED it waits for, to land inside the next.
  const extraUs = rand() * (big ? 1_000 : 300);
  const worker = new Worker(new URL('./fixtures/apply-killed.mjs', import.meta.url), { workerData: { store, ring, t0: T0 + 10, series, passMs: PASS_MS, perPass } });
  let done = false;
  worker.on('message', (m) => {
    if (m === 'done') done = true;
  });
  await new Promise((resolve) => worker.once('message', resolve));
  // Hang guard only: the worker drains the whole ring in well under this.
  const deadline = performance.now() + 10_000;
  if (big) {
    // Its whole drain takes a few ms: a turn of this event loop would let it end before the kill.
    while (Atomics.load(hdr, APPLIED) < killAt && performance.now() < deadline);
  } else {
    while (!done && Atomics.load(hdr, APPLIED) < killAt && performance.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  }
  const spin = performance.now() + extraUs / 1000;
  while (performance.now() < spin);
  await worker.terminate();

  // A chunk left in flight (announced in the ring's header, not yet counted in APPLIED) with samples committed.
  const midChunk = hdr[CHUNK_K] !== 0 && hdr[CHUNK_R0] === hdr[APPLIED] && hdr[CHUNK_DONE]! > 0;
  const bigChunk = midChunk && hdr[CHUNK_K]! > 32_768;
  // applyGroup leaves at most one series with slots written past RAW_WRITTEN; the raw-first writes, a chunk's worth.
  const hot = new Int32Array(store.hot);
  let ahead = 0;
  for (let id = 0; id < series; id++) if (hot[id * HOT_F64 * 2 + RAW_AHEAD] !== hot[id * HOT_F64 * 2 + RAW_WRITTEN]) ahead++;
  const rawAhead = ahead >= 2;

  const end = T0 + 10 + PASS_MS * (Math.ceil(total / perPass) + 2);
  const successor = new StoreWriter(store);
  successor.recover(end, series);
  successor.drain(new RingReader(ring), end, 1 << 20);
  successor.publish();
  successor.advance(end + 1000);
  const reader = new StoreReader(store);
  const mismatches: string[] = [];
  const acc = new SketchAccumulator();
  const expected = new SketchAccumulator();
  for (let id = 0; id < series; id++) {
    const values = recorded[id]!;
    if (values.length === 0) continue;
    const agg = reader.aggregate(id, -Infinity, Infinity, acc);
    expected.reset();
    for (const v of values) expected.add(v);
    const want = {
      count: values.length,
      sum: values.reduce((a, b) => a + b, 0),
      min: Math.min(...values),
      max: Math.max(...values),
      last: values[values.length - 1],
      raw: values.slice(-conf.rawCapacity),
      p50: expected.quantile(0.5),
      p99: expected.quantile(0.99),
    };
    const got = { count: agg.count, sum: agg.sum, min: agg.min, max: agg.max, last: agg.last, raw: reader.raw(id).v, p50: acc.quantile(0.5), p99: acc.quantile(0.99) };
    const bins = (from: SketchAccumulator): string => {
      const out: string[] = [];
      from.forEachBin((key, count) => out.push(`${key}:${count}`));
      return out.sort().join(' ');
    };
    if (bins(acc) !== bins(expected)) mismatches.push(`seed ${seed}, series ${id}: bins ${bins(acc).slice(0, 200)} ≠ ${bins(expected).slice(0, 200)}`);
    if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`seed ${seed}, series ${id}: ${JSON.stringify(got).slice(0, 200)} ≠ ${JSON.stringify(want).slice(0, 200)}`);
    if (reader.snapshot(id).totalCount !== values.length) mismatches.push(`seed ${seed}, series ${id}: totalCount ${reader.snapshot(id).totalCount} ≠ ${values.length}`);
  }
  return { midChunk, bigChunk, rawAhead, mismatches };
}

/**
 * Kills at seeds from `first` on: at least `least` of them, and more (up to 4 × `least`) until
 * `want` kills landed where `landed` says. Where a kill lands depends on the machine's speed:
 * on a loaded machine fewer land inside a chunk (2 of 12 big chunks in a CI run beside other
 * work, 6-8 of 12 on a quiet one), and a count of a fixed number of seeds made the check of
 * the premise fail with every total exact.
 */
async function killedUntil(first: number, least: number, shape: 'narrow' | 'wide' | 'big', want: number, landed: (o: Outcome) => boolean): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (let seed = first; seed < first + 4 * least; seed++) {
    if (outcomes.length >= least && outcomes.filter(landed).length >= want) break;
    outcomes.push(await killedOnce(seed, shape));
  }
  return outcomes;
}

describe('a store writer killed at random points of its apply path', () => {
  it(`keeps exact totals, raw samples and sketches over ${SEEDS} seeds`, async () => {
    const outcomes = await killedUntil(1, SEEDS, 'narrow', 4, (o) => o.midChunk);
    expect(outcomes.flatMap((o) => o.mismatches).slice(0, 5)).toEqual([]);
    // Not vacuous: kills landed (24 of 40 in a trial run) between a chunk's first applied sample and its APPLIED.
    expect(outcomes.filter((o) => o.midChunk).length).toBeGreaterThanOrEqual(4);
  }, 600_000);

  it(`keeps them over ${SEEDS} seeds of 300-499 series, kills landing among a chunk's raw-first writes`, async () => {
    const outcomes = await killedUntil(SEEDS + 1, SEEDS, 'wide', 4, (o) => o.rawAhead);
    expect(outcomes.flatMap((o) => o.mismatches).slice(0, 5)).toEqual([]);
    // Not vacuous: kills landed (15 of 40 in a trial run) while a chunk's small groups had their raw slots written and not all committed.
    expect(outcomes.filter((o) => o.rawAhead).length).toBeGreaterThanOrEqual(4);
  }, 600_000);

  it(`keeps them over ${BIG_SEEDS} seeds of a ring of 2^20, kills landing inside chunks of more than 32,768 slots`, async () => {
    const outcomes = await killedUntil(2 * SEEDS + 1, BIG_SEEDS, 'big', 3, (o) => o.bigChunk);
    expect(outcomes.flatMap((o) => o.mismatches).slice(0, 5)).toEqual([]);
    // Not vacuous: kills landed inside a chunk the successor's buffers had to grow to replay (N of BIG_SEEDS in a trial run).
    expect(outcomes.filter((o) => o.bigChunk).length).toBeGreaterThanOrEqual(3);
  }, 600_000);
});
