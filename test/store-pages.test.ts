/**
 * Sketch pages of the open bucket: a series' directory of at most DEFAULT_DIR_ENTRIES pages,
 * pages it left idle for a bucket going back to the pool at the close, and its page cache
 * forgetting them. The writers here bin each sample's key as it is applied (binEvery 1), so
 * that pages are taken as the samples arrive, not when the collector bins a series' run.
 */
import { describe, expect, it } from 'vitest';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { DEFAULT_DIR_ENTRIES } from '../dist/src/engine/store/layout.js';
import { StoreWriter } from '../dist/src/engine/store/writer.js';
import { T0, setup } from './store-harness.js';

function openBins(store: ReturnType<typeof setup>['store'], id: number): number[] {
  const out: number[] = [];
  store.forEachOpenBin(id, (key, count) => out.push(key, count));
  return out;
}

describe('sketch pages', () => {
  it('gives back at the close a page its series left idle for a bucket, and the series takes a fresh one after', () => {
    const { store, apply } = setup({ maxSeries: 64, poolBytes: 0 }, 1);
    const free = store.freePages();
    apply(T0 + 5, [[1, 1], [1, 1e6]]); // two pages
    apply(T0 + 1005, [[1, 1]]); // both pages were used in bucket 0: both kept
    expect(store.freePages()).toBe(free - 2);
    // Bucket 1 left the 1e6 page idle: its close frees it, and series 2 takes it.
    apply(T0 + 2005, [[2, 1e6]]);
    expect(store.freePages()).toBe(free - 2);
    // Series 1 needs that power of two again: a page of its own, not the one it cached.
    apply(T0 + 2006, [[1, 1e6]]);
    expect(store.freePages()).toBe(free - 3);
    expect(openBins(store, 2)).toHaveLength(2);
    expect(openBins(store, 2)[1]).toBe(1);
    expect(openBins(store, 1)).toEqual(openBins(store, 2));
  });

  it('finds the pages it keeps after the directory flips, and frees an idle one once', () => {
    const { store, apply } = setup({ maxSeries: 64, poolBytes: 0 }, 1);
    const free = store.freePages();
    apply(T0 + 5, [[1, 1], [1, 2 ** 20], [1, 2 ** 40]]); // three pages
    apply(T0 + 1005, [[1, 1], [1, 2 ** 20]]);
    expect(store.freePages()).toBe(free - 3);
    // Bucket 1 left the 2^40 page idle: the close frees it and flips the directory to the
    // two kept; the samples after find them there, taking no page.
    apply(T0 + 2005, [[1, 2 ** 20], [1, 1], [1, 2 ** 20]]);
    expect(store.freePages()).toBe(free - 2);
    apply(T0 + 3005, []);
    expect(store.freePages()).toBe(free - 2);
    const closed = new Map<number, number>();
    expect(store.forEachBucketBin(1, 2, (key, count) => closed.set(key, count))).toBe(true);
    expect([...closed.values()].sort()).toEqual([1, 2]);
  });

  it("counts a key exactly past its front bin's 255, in the open view, the closed record and the next bucket", () => {
    // Binned lazily, as the collector does: the open view adds the samples not binned yet.
    const { store, apply } = setup({ maxSeries: 64 });
    // Per value, its samples in the open bucket: at, just past and far past the u8 front
    // bin's limit, so that keys move 256 to their back bins once, twice and hundreds of times.
    const counts = new Map<number, number>([
      [1, 255],
      [2, 256],
      [3, 511],
      [5, 512],
      [7, 70_000],
      [2 ** 30, 1],
    ]);
    const want = new SketchAccumulator();
    const samples: [number, number][] = [];
    for (const [v, n] of counts) for (let i = 0; i < n; i++) samples.push([3, v]);
    // Interleaved, over passes of at most 20,000 samples (the ring holds 65,536).
    for (let i = samples.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1);
      [samples[i], samples[j]] = [samples[j]!, samples[i]!];
    }
    for (let from = 0; from < samples.length; from += 20_000) apply(T0 + 5, samples.slice(from, from + 20_000));
    for (const [, v] of samples) want.add(v);
    const pairs = (fill: (fn: (key: number, count: number) => void) => void): string[] => {
      const out: string[] = [];
      fill((key, count) => out.push(`${key}:${count}`));
      return out.sort();
    };
    expect(pairs((fn) => store.forEachOpenBin(3, fn))).toEqual(pairs((fn) => want.forEachBin(fn)));
    // The close encodes front and back together; the next bucket starts from empty bins.
    apply(T0 + 1005, [[3, 7], [3, 7]]);
    const closed = new SketchAccumulator();
    store.aggregate(3, T0, T0 + 1000, closed);
    expect(pairs((fn) => closed.forEachBin(fn))).toEqual(pairs((fn) => want.forEachBin(fn)));
    const next = new SketchAccumulator();
    next.add(7);
    next.add(7);
    expect(pairs((fn) => store.forEachOpenBin(3, fn))).toEqual(pairs((fn) => next.forEachBin(fn)));
  });

  it("reads and empties a back bin filled in a bucket after one that closed on the same page", () => {
    // The writer marks the blocks whose back bins it added to since a page was emptied, and a
    // close reads the back bins of those alone: the first bucket empties the page (and its
    // marks), the second passes 255 in a bin, the third must start from empty bins.
    // Each bucket more samples than the raw ring holds, so that they are binned as they come
    // and the close reads the page (a bucket whose samples all wait in the raw ring closes from
    // them), which it keeps for the next.
    const { store, apply } = setup({ maxSeries: 64 });
    apply(T0 + 5, Array.from({ length: 20_000 }, () => [3, 7] as [number, number]));
    const second: [number, number][] = [...Array.from({ length: 20_000 }, () => [3, 7] as [number, number]), [3, 9]];
    apply(T0 + 1005, second);
    apply(T0 + 2005, [[3, 7], [3, 7]]);
    const pairs = (fill: (fn: (key: number, count: number) => void) => void): string[] => {
      const out: string[] = [];
      fill((key, count) => out.push(`${key}:${count}`));
      return out.sort();
    };
    const want = new SketchAccumulator();
    for (const [, v] of second) want.add(v);
    const closed = new SketchAccumulator();
    store.aggregate(3, T0 + 1000, T0 + 2000, closed);
    expect(pairs((fn) => closed.forEachBin(fn))).toEqual(pairs((fn) => want.forEachBin(fn)));
    const next = new SketchAccumulator();
    next.add(7);
    next.add(7);
    expect(pairs((fn) => store.forEachOpenBin(3, fn))).toEqual(pairs((fn) => next.forEachBin(fn)));
    apply(T0 + 3005, []);
    const third = new SketchAccumulator();
    store.aggregate(3, T0 + 2000, T0 + 3000, third);
    expect(pairs((fn) => third.forEachBin(fn))).toEqual(pairs((fn) => next.forEachBin(fn)));
  });

  it("keeps each series' bins its own while series interleave over pages, zero and the lowest page key included", () => {
    const { store, apply } = setup({ maxSeries: 64 }, 1);
    // Series 0 takes page 0 first; the others come and go over pages in varying orders.
    const values = [1, 2 ** 20, 2 ** 40, 0, 2 ** -1010, 3, 2 ** 21];
    const samples: [number, number][] = [[0, 1]];
    for (let round = 0; round < 4; round++) for (let id = 1; id < 6; id++) samples.push([id, values[(id * 3 + round * (id + 1)) % values.length]!]);
    apply(T0 + 5, samples);
    for (let id = 0; id < 6; id++) {
      const acc = new SketchAccumulator();
      for (const [sid, v] of samples) if (sid === id) acc.add(v);
      const want: number[] = [];
      acc.forEachBin((key, count) => want.push(key, count));
      const got = openBins(store, id);
      const pairs = (xs: number[]): string[] => xs.flatMap((x, i) => (i % 2 === 0 ? [`${x}:${xs[i + 1]}`] : [])).sort();
      expect(pairs(got), `series ${id}`).toEqual(pairs(want));
    }
  });

  it("keeps a series' two cached pages in its own cache entry", () => {
    // Series 1 caches the pages of 2^20 and 1; series 2, next to it, moves from 2^40 to 1.
    // Series 1's 2^40 after that must not land in a page its cache gives another key.
    const { store, apply } = setup({}, 1);
    apply(T0 + 5, [[1, 1], [1, 2 ** 20]]);
    apply(T0 + 6, [[2, 2 ** 40], [2, 1]]);
    apply(T0 + 7, [[1, 2 ** 40]]);
    const acc = new SketchAccumulator();
    for (const v of [1, 2 ** 20, 2 ** 40]) acc.add(v);
    const want: number[] = [];
    acc.forEachBin((key, count) => want.push(key, count));
    expect(new Set(openBins(store, 1))).toEqual(new Set(want));
  });

  it('sketches a series over at most its directory of pages, counting the samples past it', () => {
    // Values 2^(8k): each in a page of its own (a page holds eight powers of two).
    const { store, apply, state } = setup({}, 1);
    const values = Array.from({ length: DEFAULT_DIR_ENTRIES + 1 }, (_, k) => 2 ** (8 * k - 30));
    apply(T0 + 5, [...values.map((v) => [1, v] as [number, number]), [2, 3]]);
    expect(state.writer.counters.sketchOverflow).toBe(1);
    expect(store.snapshot(1)).toMatchObject({ totalCount: values.length, openMax: values.at(-1) });
    expect(openBins(store, 1)).toHaveLength(2 * DEFAULT_DIR_ENTRIES);
    expect(openBins(store, 2)).toHaveLength(2);
    apply(T0 + 1005, []);
    const closed: number[] = [];
    expect(store.forEachBucketBin(1, 0, (key, count) => closed.push(key, count))).toBe(true);
    expect(closed).toHaveLength(2 * DEFAULT_DIR_ENTRIES);
    expect(store.buckets(2, 1).map((b) => b.count)).toEqual([1]);
  });

  it('finds a page for the lowest page keys too, not a stale cache entry', () => {
    // 2^-1010 has page key 1 (sketch key 512..1023): the first sample of a series with it
    // must get a page of its own, whatever an empty page cache holds.
    const { store, apply } = setup({}, 1);
    apply(T0 + 5, [[1, 3], [5, 2 ** -1010]]);
    const bins = openBins(store, 5);
    expect(bins).toHaveLength(2);
    expect(bins[0]! >>> 9).toBe(1);
    expect(bins[1]).toBe(1);
    expect(openBins(store, 1)).toHaveLength(2);
  });

  it('forgets its cached pages when a close flips the directory, even for the lowest page key', () => {
    // The close of bucket 1 frees the 2^40 page and empties the series' cache; a sample of
    // page key 1 just after must find a page of its own, not read a stale cache mark as one.
    const { store, apply } = setup({ maxSeries: 64, poolBytes: 0 }, 1);
    const free = store.freePages();
    apply(T0 + 5, [[1, 3], [1, 2 ** 40]]);
    apply(T0 + 1005, [[1, 3]]);
    apply(T0 + 2005, [[1, 2 ** -1010]]);
    expect(store.freePages()).toBe(free - 2);
    const bins = openBins(store, 1);
    expect(bins).toHaveLength(2);
    expect(bins[0]! >>> 9).toBe(1);
    expect(bins[1]).toBe(1);
  });

  it('beats every 1,024 series while it closes their buckets', () => {
    const { buffers, store, apply, state } = setup({ maxSeries: 2048 }, 1);
    let beats = 0;
    state.writer = new StoreWriter(buffers, () => beats++, { binEvery: 1 });
    state.writer.recover(T0, 0);
    apply(T0 + 5, Array.from({ length: 2048 }, (_, id) => [id, id] as [number, number]), 0);
    beats = 0;
    expect(state.writer.advance(T0 + 1005)).toBe(true);
    expect(beats).toBe(2);
    expect(store.buckets(2047, 1).map((b) => b.sum)).toEqual([2047]);
  });
});
