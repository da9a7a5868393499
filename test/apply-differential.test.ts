/**
 * The collector's apply path against the old one, on the same random samples: one store
 * drained in chunks grouped by series, its sketches binned lazily from the raw rings (what
 * the collector does), one drained a sample per call (a chunk of one is applied in ring
 * order, as the collector did before it grouped) with each sample binned as it is applied
 * (as before the lazy bins). Every answer the readers use must be the same, in the middle
 * of buckets too: window summaries and sketches (the open bucket's included), bucket and
 * rollup history, raw samples with their times and raw quantiles, open buckets; and the
 * totals must be the exact ones.
 */
import { describe, expect, it } from 'vitest';
import { createControl } from '../dist/src/engine/control.js';
import { RingReader, RingWriter, TIME_MARK, createRing } from '../dist/src/engine/ring.js';
import { SketchAccumulator, rankOf } from '../dist/src/engine/sketch.js';
import { createStore, type StoreConfig } from '../dist/src/engine/store/layout.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';
import { StoreWriter } from '../dist/src/engine/store/writer.js';
import { seeded } from './fixtures/seeded.mjs';

const T0 = 1_800_000_000_000;
const MiB = 1024 * 1024;

const config: StoreConfig = {
  maxSeries: 256,
  rawCapacity: 64,
  bucketCapacity: 300,
  rollupCapacity: 60,
  intervalMs: 1000,
  rollupMs: 60_000,
  logBytes: 8 * MiB,
  rollupLogBytes: 4 * MiB,
  poolBytes: 4 * MiB,
};

interface Path {
  reader: StoreReader;
  pass(t: number, samples: [number, number][]): void;
}

function path(perCall: number, binEvery?: number): Path {
  const store = createStore(config);
  const ring = createRing(1 << 16);
  const producer = new RingWriter(ring, createControl(), 'drop');
  const writer = new StoreWriter(store, undefined, binEvery === undefined ? {} : { binEvery });
  writer.recover(T0, 0);
  const ringReader = new RingReader(ring);
  return {
    reader: new StoreReader(store),
    pass(t, samples) {
      if (writer.advance(t)) writer.rollup(config.maxSeries);
      for (const [id, v] of samples) producer.push(id, v);
      producer.publish(false);
      while (writer.drain(ringReader, t, perCall) > 0 || ringReader.available() > 0);
      writer.publish();
    },
  };
}

/** Everything a reader answers about series `id`, in one comparable object. */
function answers(reader: StoreReader, id: number, now: number) {
  const acc = new SketchAccumulator();
  const window = reader.aggregate(id, now - 60_000, now + 1, acc);
  const quantiles = [0.5, 0.9, 0.99].map((q) => acc.quantile(q));
  const stats = new Float64Array(6);
  const statsOk = reader.windowStats(id, now - 30_000, now + 1, stats);
  const raw = reader.raw(id);
  const sorted = [...raw.v].sort((a, b) => a - b);
  const rawQuantiles = [0.5, 0.99].map((q) => sorted[rankOf(q, sorted.length)]);
  return { window, quantiles, statsOk, stats: [...stats], t1: reader.buckets(id, 1), t2: reader.buckets(id, 2), raw, rawQuantiles, snapshot: reader.snapshot(id) };
}

/**
 * Drives both paths over the same random samples and compares their answers. `wide`: 200-255
 * series in passes of up to 600 samples, so that most groups are a few samples, written
 * raw-first (store/raw-first.ts).
 */
function differential(seed: number, wide: boolean): void {
  const rand = seeded(seed);
  const series = wide ? 200 + Math.floor(rand() * 56) : 1 + Math.floor(rand() * 200);
  const grouped = path(1 << 20);
  const ordered = path(1, 1);
  let passes = 0;
  const recorded: number[][] = Array.from({ length: series }, () => []);
  let t = T0 + 5;
  // About three minutes in passes of 10–500 ms, so that buckets close and roll up.
  while (t < T0 + 185_000) {
    const samples: [number, number][] = [];
    const n = Math.floor(rand() * (wide ? 600 : 3_000));
    for (let i = 0; i < n; i++) {
      if (rand() < 0.002) samples.push([TIME_MARK, rand() < 0.5 ? t - Math.floor(rand() * 200) : Number.NaN]);
      // Few series take most samples, as in a service; values over six decades.
      const id = Math.floor(series * rand() ** 2);
      const v = rand() < 0.01 ? -rand() * 10 : Math.exp(rand() * 14 - 2);
      samples.push([id, v]);
      recorded[id]!.push(v);
    }
    grouped.pass(t, samples);
    ordered.pass(t, samples);
    // Mid-bucket, the busiest series: the open sketch holds samples not binned yet.
    if (++passes % 40 === 0) for (let id = 0; id < Math.min(series, 3); id++) expect(answers(grouped.reader, id, t), `seed ${seed}, series ${id}, ${t}`).toEqual(answers(ordered.reader, id, t));
    t += 10 + Math.floor(rand() * 490);
  }
  for (let id = 0; id < series; id++) {
    expect(answers(grouped.reader, id, t), `seed ${seed}, series ${id}`).toEqual(answers(ordered.reader, id, t));
    const values = recorded[id]!;
    const snap = grouped.reader.snapshot(id);
    expect(snap.totalCount, `seed ${seed}, series ${id}`).toBe(values.length);
    if (values.length > 0) expect(grouped.reader.raw(id).v).toEqual(values.slice(-config.rawCapacity));
  }
}

describe("the collector's apply path", () => {
  // One test per seed: each takes 1–5 s alone, and together they outlasted the 60 s hang
  // guard on a loaded machine.
  it.each(Array.from({ length: 12 }, (_, i) => i + 1))('answers as the old path does, on the same random samples (seed %i)', (seed) => differential(seed, false));

  it.each([13, 14, 15, 16])('answers as the old path does over 200-255 series in small groups, written raw-first (seed %i)', (seed) => differential(seed, true));
});
