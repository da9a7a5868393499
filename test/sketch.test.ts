import { describe, expect, it } from 'vitest';
import { KEY_COUNT, MAX_RELATIVE_ERROR, SketchAccumulator, keyOf, rankOf, valueOf } from '../dist/src/engine/sketch.js';
import { seeded } from './fixtures/seeded.mjs';

const QS = [0.5, 0.9, 0.99, 0.999];

function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand());
}

function exactQuantiles(values: Float64Array, qs: number[]): number[] {
  const sorted = Float64Array.from(values).sort();
  return qs.map((q) => sorted[rankOf(q, sorted.length)]!);
}

function relativeErrors(values: Float64Array): number[] {
  const acc = new SketchAccumulator();
  for (const v of values) acc.add(v);
  const exact = exactQuantiles(values, QS);
  return acc.quantiles(QS).map((q, i) => Math.abs(q - exact[i]!) / Math.abs(exact[i]!));
}

describe('sketch', () => {
  it('keeps p50 to p999 within 1% of exact on a log-normal distribution (1M samples, 5 seeds)', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const rand = seeded(seed);
      const values = new Float64Array(1_000_000);
      for (let i = 0; i < values.length; i++) values[i] = Math.exp(3 + 1.2 * normal(rand));
      for (const err of relativeErrors(values)) expect(err).toBeLessThan(0.01);
    }
  });

  it('keeps p50 to p999 within 1% of exact on a bimodal distribution (1M samples, 5 seeds)', () => {
    for (let seed = 1; seed <= 5; seed++) {
      const rand = seeded(seed * 101);
      const values = new Float64Array(1_000_000);
      // 90% fast path around 12 ms, 10% slow path around 400 ms.
      for (let i = 0; i < values.length; i++) values[i] = rand() < 0.9 ? Math.abs(12 + 2 * normal(rand)) : Math.abs(400 + 60 * normal(rand));
      for (const err of relativeErrors(values)) expect(err).toBeLessThan(0.01);
    }
  });

  it('reads every value from 2^-1022 to the largest double, of either sign, back within the bound (0.78%): every bucket, both edges', () => {
    // A bucket is read back as one value between its edges, so its worst relative error is at
    // one of them: checking both edges of every bucket of every normal double, both signs
    // (2 × 2046 powers of two × 64 buckets), checks every value, not a sample.
    const bits = new BigUint64Array(1);
    const asDouble = new Float64Array(bits.buffer);
    const double = (b: bigint): number => {
      bits[0] = b;
      return asDouble[0]!;
    };
    expect(MAX_RELATIVE_ERROR).toBe(1 / 129);
    let worst = 0;
    let over = 0;
    let strays = 0;
    let buckets = 0;
    for (const sign of [0n, 1n]) {
      for (let exponent = 1n; exponent <= 2046n; exponent++) {
        for (let sub = 0n; sub < 64n; sub++) {
          const low = (sign << 63n) | (exponent << 52n) | (sub << 46n);
          // A positive bin is (low, top], a negative one holds magnitudes [low, top): edges are
          // on the side that Prometheus's le (≤) puts in the bin. The largest positive bin's top is Infinity.
          const top = low + (1n << 46n);
          const edges = sign === 0n ? [double(low + 1n), double(exponent === 2046n && sub === 63n ? top - 1n : top)] : [double(low), double(top - 1n)];
          const key = keyOf(edges[0]!);
          const back = valueOf(key);
          for (const v of edges) {
            const err = Math.abs(back - v) / Math.abs(v);
            if (keyOf(v) !== key || Math.sign(back) !== Math.sign(v)) strays++;
            // 1/129 is reached (at the low edge of each power of two): allow the last bit of rounding.
            if (err > MAX_RELATIVE_ERROR + Number.EPSILON) over++;
            if (err > worst) worst = err;
          }
          buckets++;
        }
      }
    }
    expect(buckets).toBe(2 * 2046 * 64);
    expect({ over, strays }).toEqual({ over: 0, strays: 0 });
    expect(worst).toBeGreaterThan(MAX_RELATIVE_ERROR - Number.EPSILON); // the bound is tight, not loose
    expect(valueOf(keyOf(0))).toBe(0);
  });

  it('merges encoded parts into exactly the histogram of the whole', () => {
    const rand = seeded(9);
    const whole = new SketchAccumulator();
    const merged = new SketchAccumulator();
    const part = new SketchAccumulator();
    const encoded = new Int32Array(100_000);
    for (let p = 0; p < 10; p++) {
      part.reset();
      for (let i = 0; i < 50_000; i++) {
        const v = Math.exp(2 + normal(rand));
        whole.add(v);
        part.add(v);
      }
      const len = part.encodeInto(encoded, 0);
      expect(len).toBeLessThanOrEqual(part.encodedLengthBound());
      merged.addEncoded(encoded, 0);
    }
    expect(merged.total).toBe(whole.total);
    expect(merged.size()).toBe(whole.size());
    const qs = [0, 0.1, 0.5, 0.9, 0.99, 0.999, 1];
    expect(merged.quantiles(qs)).toEqual(whole.quantiles(qs));
  });

  it('orders negative values, zero and positive values correctly', () => {
    const acc = new SketchAccumulator();
    const values: number[] = [];
    for (let i = -500; i <= 500; i++) values.push(i / 10);
    for (const v of values) acc.add(v);
    expect(acc.quantile(0)).toBeCloseTo(-50, 0);
    expect(acc.quantile(0.5)).toBe(0);
    expect(acc.quantile(1)).toBeCloseTo(50, 0);
    const q = acc.quantiles([0.1, 0.25, 0.75, 0.9]);
    expect(q[0]).toBeLessThan(q[1]!);
    expect(q[1]).toBeLessThan(0);
    expect(q[2]).toBeGreaterThan(0);
    expect(Math.abs(q[3]! - 40) / 40).toBeLessThan(0.01);
  });

  it('answers NaN when empty and forgets everything on reset', () => {
    const acc = new SketchAccumulator();
    expect(acc.quantile(0.5)).toBeNaN();
    acc.add(5);
    acc.reset();
    expect(acc.total).toBe(0);
    expect(acc.quantile(0.5)).toBeNaN();
    acc.add(7);
    expect(Math.abs(acc.quantile(0.5) - 7) / 7).toBeLessThan(0.01);
  });

  it('counts what it is given, no more: zero counts, keys out of range, bins after a reset', () => {
    const acc = new SketchAccumulator();
    acc.addKey(keyOf(3), 0);
    expect({ size: acc.size(), total: acc.total }).toEqual({ size: 0, total: 0 });
    // An encoded run being overwritten may hold any key: one past the last is skipped, not counted.
    acc.addEncoded(Int32Array.from([2, KEY_COUNT, 5, keyOf(9), 2]), 0);
    expect({ size: acc.size(), total: acc.total }).toEqual({ size: 1, total: 2 });
    acc.add(1);
    acc.add(1e6);
    acc.reset();
    acc.add(4);
    const bins: [number, number][] = [];
    acc.forEachBin((key, count) => bins.push([key, count]));
    expect(bins).toEqual([[keyOf(4), 1]]);
    const other = new SketchAccumulator();
    other.merge(acc);
    expect({ size: other.size(), total: other.total }).toEqual({ size: 1, total: 1 });
  });

  it('encodes a count past 2^32 in parts, within the length it announces', () => {
    const acc = new SketchAccumulator();
    acc.addKey(keyOf(2), 2 ** 33 + 5);
    acc.addKey(keyOf(7), 3);
    const out = new Int32Array(64);
    const written = acc.encodeInto(out, 0);
    // 2^33 + 5 takes three parts of at most 2^32 - 1, 3 takes one: 1 + 2 × 4 i32.
    expect(written).toBe(9);
    expect(acc.encodedLengthBound()).toBe(written);
    const back = new SketchAccumulator();
    back.addEncoded(out, 0);
    expect(back.total).toBe(acc.total);
  });

  it('merges and encodes a sketch whose only key is zero (key 0, the first slot of its tables)', () => {
    const zeros = new SketchAccumulator();
    zeros.addKey(keyOf(0), 2 ** 32 + 1);
    const merged = new SketchAccumulator();
    merged.merge(zeros);
    expect({ size: merged.size(), total: merged.total }).toEqual({ size: 1, total: 2 ** 32 + 1 });
    // Written after 3 other i32: the length returned is the encoding's, not its end.
    const out = new Int32Array(16);
    const written = merged.encodeInto(out, 3);
    expect(written).toBe(1 + 2 * 2);
    expect(merged.encodedLengthBound()).toBe(written);
    const back = new SketchAccumulator();
    back.addEncoded(out, 3);
    expect({ total: back.total, p50: back.quantile(0.5) }).toEqual({ total: 2 ** 32 + 1, p50: 0 });
  });
});
