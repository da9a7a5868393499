/// <reference path="../src/export/snappyjs.d.ts" />
/**
 * remote_write's hand-written protobuf (src/export/prompb-wire.ts) against protobufjs's
 * WriteRequest.encode() on random exports: random families (gauges, counters, histograms of
 * random bounds), random tags (names around `__name__`, `le`, `instance` and `job` in sort
 * order, values with multi-byte characters, empty ones), values of every kind a double has
 * (NaN, the stale NaN, infinities, -0, tiny and huge), clocks with fractions of a ms, and
 * random cuts into requests. The reference is the encoder as it was, objects and protobufjs:
 * each request must hold the same samples and the same bytes, before and after snappy.
 */
import snappy from 'snappyjs';
import { describe, expect, it } from 'vitest';
import type { SeriesPoint, SeriesSource, WalkFamily } from '../dist/src/analysis/series-walk.js';
import type { Batch } from '../dist/src/export/batch.js';
import { WriteRequest, type Label, type TimeSeries } from '../dist/src/export/prompb.js';
import { RemoteWriteEncoder, STALE_NAN, type SeriesIdentity } from '../dist/src/export/remote-write.js';

/** The samples a batch's request holds, decoded. */
function sampleCount(b: Batch): number {
  return (WriteRequest.toObject(WriteRequest.decode(snappy.uncompress(b.body)), { longs: Number, defaults: true }) as { timeseries: TimeSeries[] }).timeseries.reduce((n, s) => n + s.samples.length, 0);
}

/** A seeded generator: the same cases at every run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s + 0.5) / 4294967296;
  };
}

const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789';
const VALUE_PIECES = ['a', 'Z', '/api/v1', ' ', 'é', 'Ω', '日本', '😀', '"', '\\', '=', ','];
const TAG_NAMES = ['Zone', 'a', 'az', 'instance', 'job', 'le', 'l', 'lf', 'route', 'x_1', '_a', 'A'];

function pick<T>(rand: () => number, of: readonly T[]): T {
  return of[Math.floor(rand() * of.length)]!;
}

function tagName(rand: () => number): string {
  if (rand() < 0.6) return pick(rand, TAG_NAMES);
  let name = pick(rand, NAME_CHARS.slice(0, 53).split(''));
  for (let n = Math.floor(rand() * 12); n > 0; n--) name += pick(rand, NAME_CHARS.split(''));
  return name.startsWith('__') ? `a${name}` : name;
}

function tagValue(rand: () => number): string {
  if (rand() < 0.05) return '';
  // Now and then a long one: a label list past a varint's one byte of length.
  const pieces = rand() < 0.1 ? 200 : Math.floor(rand() * 8);
  let value = '';
  for (let n = 0; n < pieces; n++) value += pick(rand, VALUE_PIECES);
  return value;
}

function double(rand: () => number): number {
  const r = rand();
  if (r < 0.05) return NaN;
  if (r < 0.08) return STALE_NAN;
  if (r < 0.1) return Infinity;
  if (r < 0.12) return -Infinity;
  if (r < 0.15) return -0;
  if (r < 0.2) return 0;
  if (r < 0.25) return Number.MIN_VALUE;
  if (r < 0.3) return Number.MAX_VALUE;
  if (r < 0.6) return Math.floor(rand() * 1e6);
  return (rand() - 0.5) * 10 ** Math.floor(rand() * 30 - 15);
}

interface Case {
  source: SeriesSource;
  identity: SeriesIdentity;
  maxSamples: number;
  now: number;
}

/** A random export: up to 6 families of up to 12 series each, ids in walk order with gaps. */
function randomCase(seed: number): Case {
  const rand = random(seed);
  const bounds: number[] = [];
  for (let b = 0, n = 1 + Math.floor(rand() * 6), at = rand(); b < n; b++, at += rand() * 100 + 0.001) bounds.push(Number(at.toPrecision(1 + Math.floor(rand() * 6))));
  const unique = [...new Set(bounds)].sort((a, b) => a - b);
  const kinds = ['gauge', 'counter', 'distribution'] as const;
  const families: WalkFamily[] = [];
  const points: SeriesPoint[] = [];
  let id = 0;
  for (let f = 0, nf = 1 + Math.floor(rand() * 6); f < nf; f++) {
    const kind = pick(rand, kinds);
    const name = `m${f}_${pick(rand, ['x', 'latency', 'heap_total'])}`;
    const family: WalkFamily = { name, kind, unit: '', help: '', prom: name, total: kind === 'counter' ? `${name}_total` : name, ids: [] };
    families.push(family);
    for (let s = 0, ns = Math.floor(rand() * 12); s < ns; s++) {
      id += 1 + Math.floor(rand() * 3);
      const tags: Record<string, string> = {};
      for (let t = Math.floor(rand() * 5); t > 0; t--) {
        const n = tagName(rand);
        if (kind === 'distribution' && n === 'le') continue;
        tags[n] = tagValue(rand);
      }
      // Tags in name order, as CanonicalTags are.
      const sorted = Object.fromEntries(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      const bins = new Float64Array(unique.length + 1).map(() => (rand() < 0.3 ? 0 : Math.floor(rand() * 1000)));
      let count = 0;
      for (const b of bins) count += b;
      points.push({ family, id, tags: sorted, value: double(rand), hist: kind === 'distribution' ? { next: 0, bins, count, sum: double(rand) } : undefined });
    }
  }
  const source: SeriesSource = {
    bounds: unique,
    *points() {
      // One reused point, as the store's walk gives: the encoder must read it before it yields.
      const p: SeriesPoint = { family: families[0]!, id: 0, tags: {}, value: 0, hist: undefined };
      for (const q of points) {
        Object.assign(p, q, q.hist ? { hist: { ...q.hist, bins: q.hist.bins.slice() } } : {});
        yield p;
        if (p.hist) p.hist.bins.fill(-1);
      }
    },
  };
  const identity = { instance: rand() < 0.5 ? 'host:1' : tagValue(rand) || 'h', job: rand() < 0.5 ? 'svc' : tagValue(rand) };
  const maxSamples = 1 + Math.floor(rand() * 40);
  const now = 1_764_000_000_000 + Math.floor(rand() * 1e9) + (rand() < 0.5 ? rand() : 0);
  return { source, identity, maxSamples, now };
}

function byName(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The encoder as it was before prompb-wire.ts: label lists per series, protobufjs, snappy. */
class ReferenceEncoder {
  private readonly labelSets: (Label[][] | undefined)[] = [];
  private readonly le: string[];
  constructor(
    private readonly source: SeriesSource,
    private readonly identity: SeriesIdentity,
    private readonly maxSamples: number,
  ) {
    this.le = [...source.bounds.map(String), '+Inf'];
  }

  encode(now: number): { raw: Uint8Array; samples: number }[] {
    const series: TimeSeries[] = [];
    for (const p of this.source.points()) {
      const sets = this.labelSets[p.id] ?? this.labelsOf(p);
      const push = (labels: Label[], value: number): number => series.push({ labels, samples: [{ value, timestamp: now }] });
      const h = p.hist;
      if (h === undefined) {
        push(sets[0]!, p.value);
      } else {
        let cumulative = 0;
        const nb = this.le.length - 1;
        for (let i = 0; i < nb; i++) push(sets[i]!, (cumulative += h.bins[i]!));
        push(sets[nb]!, h.count);
        push(sets[nb + 1]!, h.sum);
        push(sets[nb + 2]!, h.count);
      }
    }
    return this.cut(series);
  }

  encodeStale(at: number): { raw: Uint8Array; samples: number }[] {
    const series: TimeSeries[] = [];
    for (const sets of this.labelSets) for (const labels of sets ?? []) series.push({ labels, samples: [{ value: STALE_NAN, timestamp: at }] });
    return this.cut(series);
  }

  private cut(series: TimeSeries[]): { raw: Uint8Array; samples: number }[] {
    const out: { raw: Uint8Array; samples: number }[] = [];
    for (let i = 0; i < series.length; i += this.maxSamples) {
      const timeseries = series.slice(i, i + this.maxSamples);
      out.push({ raw: WriteRequest.encode({ timeseries }).finish(), samples: timeseries.length });
    }
    return out;
  }

  private labelsOf(p: SeriesPoint): Label[][] {
    const f = p.family;
    const base: Label[] = [];
    for (const name in p.tags) base.push({ name, value: p.tags[name]! });
    if (!('instance' in p.tags)) base.push({ name: 'instance', value: this.identity.instance });
    if (!('job' in p.tags)) base.push({ name: 'job', value: this.identity.job });
    const named = (name: string, extra?: Label): Label[] => [{ name: '__name__', value: name }, ...base, ...(extra ? [extra] : [])].sort(byName);
    const sets = f.kind === 'distribution' ? [...this.le.map((le) => named(`${f.prom}_bucket`, { name: 'le', value: le })), named(`${f.prom}_sum`), named(`${f.prom}_count`)] : [named(f.total)];
    this.labelSets[p.id] = sets;
    return sets;
  }
}

function same(ours: Batch[], theirs: { raw: Uint8Array; samples: number }[], at: number): void {
  expect(ours.map((b) => b.samples)).toEqual(theirs.map((b) => b.samples));
  for (let i = 0; i < ours.length; i++) {
    expect(ours[i]!.at).toBe(at);
    expect(Buffer.from(snappy.uncompress(ours[i]!.body)).equals(Buffer.from(theirs[i]!.raw))).toBe(true);
    expect(Buffer.from(ours[i]!.body).equals(Buffer.from(snappy.compress(theirs[i]!.raw)))).toBe(true);
  }
}

describe('remote_write wire encoding', () => {
  it('writes the bytes protobufjs writes, request for request, on 300 random exports and their stale markers', () => {
    let samples = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const c = randomCase(seed);
      const ours = new RemoteWriteEncoder(c.source, c.identity, c.maxSamples);
      const theirs = new ReferenceEncoder(c.source, c.identity, c.maxSamples);
      // Two exports: the second from the label bytes kept by the first.
      for (const now of [c.now, c.now + 10_000.5]) {
        const batches = [...ours.encode(now)];
        same(batches, theirs.encode(now), now);
        samples += batches.reduce((n, b) => n + b.samples, 0);
      }
      same([...ours.encodeStale(c.now + 20_001)], theirs.encodeStale(c.now + 20_001), c.now + 20_001);
    }
    // The cases are not empty: thousands of samples were compared.
    expect(samples).toBeGreaterThan(10_000);
  });

  it('cuts a request before its protobuf passes the byte limit, whatever maxSamples allows, and sends a series larger than the limit alone', () => {
    const family: WalkFamily = { name: 'big', kind: 'gauge', unit: '', help: '', prom: 'big', total: 'big', ids: [] };
    const long = 'x'.repeat(1_000);
    const source: SeriesSource = {
      bounds: [1],
      *points() {
        for (let id = 0; id < 50; id++) yield { family, id, tags: { a: long, b: `${id}` }, value: id, hist: undefined };
      },
    };
    // About 1,050 bytes a series: 3 fit in 4,000 bytes; a limit of 500 holds none, so one each.
    for (const [limit, perRequest] of [
      [4_000, 3],
      [500, 1],
    ] as const) {
      const batches = [...new RemoteWriteEncoder(source, { instance: 'h', job: 'j' }, 5_000, limit).encode(1_764_000_000_000)];
      const sizes = batches.map((b) => snappy.uncompress(b.body).length);
      expect(batches.map((b) => b.samples)).toEqual([...Array.from({ length: Math.floor(50 / perRequest) }, () => perRequest), ...(50 % perRequest ? [50 % perRequest] : [])]);
      if (perRequest > 1) for (const size of sizes) expect(size).toBeLessThanOrEqual(limit);
      const values = batches.flatMap((b) => (WriteRequest.toObject(WriteRequest.decode(snappy.uncompress(b.body)), { longs: Number, defaults: true }) as { timeseries: TimeSeries[] }).timeseries.map((s) => s.samples[0]!.value));
      expect(values).toEqual(Array.from({ length: 50 }, (_, i) => i));
    }
  });

  it("keeps a request within maxSamples when a counter's first export brings its 0 beside its value", () => {
    const gauge: WalkFamily = { name: 'g', kind: 'gauge', unit: '', help: '', prom: 'g', total: 'g', ids: [] };
    const counter: WalkFamily = { name: 'c', kind: 'counter', unit: '', help: '', prom: 'c', total: 'c_total', ids: [] };
    // One gauge (one sample), then counters of two samples each on their first export: 99
    // samples, then a series of two, which the request of 100 has no room for.
    const source: SeriesSource = {
      bounds: [1],
      *points() {
        yield { family: gauge, id: 0, tags: {} as Record<string, string>, value: 1, hist: undefined };
        for (let id = 1; id < 100; id++) yield { family: counter, id, tags: { n: `${id}` }, value: id, hist: undefined };
      },
    };
    const at = 1_764_000_000_000;
    const batches = [...new RemoteWriteEncoder(source, { instance: 'h', job: 'j' }, 100, undefined, at - 60_000).encode(at)];
    const counts = batches.map((b) => sampleCount(b));
    expect(counts.reduce((a, n) => a + n, 0)).toBe(1 + 2 * 99);
    expect(Math.max(...counts)).toBeLessThanOrEqual(100);
    expect(batches.map((b) => b.samples)).toEqual(counts);
  });
});
