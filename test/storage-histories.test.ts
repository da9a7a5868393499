/**
 * The storage actor's answer to `histories` (a report's or the baselines' read of every
 * series): one set of columns, not one StoredRollups a series. A list of 10,000 took the
 * actor's thread 1.3-2.4 s to post (nine transferred buffers a series, and a postMessage's
 * time grows with the square of the buffers it transfers), and eight reports at once waited
 * ~20 s in turn. Each series reads back as views of the columns, its rows and its sketches.
 */
import { describe, expect, it } from 'vitest';
import { packHistories, packedBuffers, unpackHistory } from '../dist/src/storage/histories.js';
import type { StoredRollups } from '../dist/src/storage/rollups.js';

function rows(seed: number, n: number): StoredRollups {
  const f = (k: number) => Float64Array.from({ length: n }, (_, i) => seed * 1000 + i * 10 + k);
  // Each row's sketch is a run of its own: [pairs, key, count] (engine/sketch.ts's encoded form).
  const sketches = new Int32Array(3 * n);
  const sketchAt = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    sketches.set([1, seed + i, i + 1], 3 * i);
    sketchAt[i] = i % 3 === 2 ? -1 : 3 * i;
  }
  return { start: f(0), count: f(1), sum: f(2), min: f(3), max: f(4), last: f(5), sketchAt, sketches, hourly: Uint8Array.from({ length: n }, (_, i) => i & 1) };
}

const plain = (r: StoredRollups | null) => r && Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.from(v as ArrayLike<number>)]));

describe("the storage actor's answer to histories", () => {
  it('reads back each series as it was, a series not stored as null and one with no rows as empty', () => {
    const list = Array.from({ length: 1000 }, (_, i) => (i % 7 === 3 ? null : rows(i, i % 5)));
    const packed = packHistories(list);
    list.forEach((r, i) => expect(plain(unpackHistory(packed, i)), `series ${i}`).toEqual(plain(r)));
    // A row's sketch is found in its own series' sketches.
    const r = unpackHistory(packed, 4)!;
    expect(Array.from(r.sketches.subarray(r.sketchAt[1]!, r.sketchAt[1]! + 3))).toEqual([1, 5, 2]);
  });

  it('transfers the same few buffers for one series or 10,000', () => {
    const one = packedBuffers(packHistories([rows(1, 3)]));
    const many = packedBuffers(packHistories(Array.from({ length: 10_000 }, (_, i) => rows(i, 2))));
    expect(many.length).toBe(one.length);
    expect(many.length).toBeLessThanOrEqual(12);
    expect(new Set(many).size).toBe(many.length);
  });
});
