/**
 * The quantile sketch: a log-linear histogram keyed by the top 18 bits of a value's IEEE-754
 * encoding (sign, 11 exponent bits, 6 mantissa bits), so the key costs one store and a load or
 * two, no Math.log. Each power of two is cut into 64 equal sub-buckets, each
 * closed at the top: a positive bin is (lower, upper], a negative one (-upper, -lower] (its
 * magnitudes [lower, upper): the key of a negative value is its high word's top bits), so
 * that a value exactly on an edge (50, 100: m·2^e) is in the bin below it, as Prometheus's
 * `le` (≤) counts it: a positive value exactly on an edge takes the key of the double just
 * below it. (Sketches stored before this rule kept an edge value in the bin
 * above: same keys, same encoding, read back as they were.) Reporting a bucket
 * by the harmonic mean of its bounds keeps the relative error of any quantile at or under
 * 1/129 (0.78%) whatever the distribution, for values from 2^-1022 to 2^1023 and negatives.
 * Histograms merge by adding counts key by key, so buckets, threads and windows combine
 * exactly.
 *
 * Encoded form (what the store keeps per bucket), an i32 run:
 *   [n, key_0, count_0, …, key_n-1, count_n-1]   counts as u32; a count above 2^32-1 is
 *   split over several entries with the same key.
 */

export const SUB_BITS = 6;
export const KEY_SHIFT = 20 - SUB_BITS; // high word bits below the key
export const KEY_BITS = 32 - KEY_SHIFT; // 18
export const KEY_COUNT = 1 << KEY_BITS;
export const SIGN_KEY = 1 << (KEY_BITS - 1);
/** Keys per sketch page in the store's open-bucket pool (512: eight powers of two). */
export const PAGE_BITS = 9;
export const PAGE_BINS = 1 << PAGE_BITS;
/** The worst relative error of a value read back from its key. */
export const MAX_RELATIVE_ERROR = 1 / (2 * (1 << SUB_BITS) + 1);

/**
 * The rank (0-based) of quantile q among n sorted values: the nearest-rank rule, ceil(q n) - 1.
 * p99 of 3 values is the largest, as a reader expects; every perfwatch quantile, exact or from
 * the sketch, uses this rule.
 */
export function rankOf(q: number, n: number): number {
  return Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
}

/**
 * The harmonic mean's product 2·lo·hi overflows at the top of the double range and underflows
 * at its bottom (below 2^-510 it is subnormal, then 0): there the bounds are scaled by a power
 * of two, which is exact, into a range where it does neither.
 */
const TOP_SCALE = 2 ** -600;
const BOTTOM = 2 ** -510;
const BOTTOM_SCALE = 2 ** 600;
const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);
const scratchI32 = new Int32Array(scratch.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/** The histogram key of a finite value. */
export function keyOf(value: number): number {
  scratch[0] = value;
  return keyAt(scratchI32, HI, LO);
}

/** High-word bits below the key: all zero (and the low word too) on a bin edge. */
const BELOW_KEY = (1 << KEY_SHIFT) - 1;

/**
 * The key of the double whose high and low words (as i32) are `words[hi]` and `words[lo]`:
 * the top bits of the high word, one less for a positive value exactly on a bin edge, so
 * that positive bins are closed at the top. The low word is read only when the high word's
 * bits below the key are zero, which a value with a fractional part all but never has.
 * store/closes.ts calls this on raw samples in place; store/pages.ts's binning loop writes it
 * out (a call there cost ~5% of the collector's pass in bench/collector.ts).
 */
export function keyAt(words: Int32Array, hi: number, lo: number): number {
  const high = words[hi]!;
  const key = high >>> KEY_SHIFT;
  return (high & BELOW_KEY) === 0 && high > 0 && words[lo] === 0 ? key - 1 : key;
}

function fromHighWord(hi: number): number {
  scratchWords[HI] = hi >>> 0;
  scratchWords[LO] = 0;
  return scratch[0]!;
}

/**
 * The value reported for a key: the harmonic mean of its bounds (equal relative error). The
 * top bucket's bound is Number.MAX_VALUE; from 2^1023 up, 2·lo·hi and lo + hi overflow (the
 * mean was NaN, and quantiles read as null), and below 2^-510 2·lo·hi underflows (the mean
 * read as 0, or lost digits): there the bounds are scaled by a power of two, which is exact
 * and rounds as the unscaled mean does.
 */
export function valueOf(key: number): number {
  const sign = key & SIGN_KEY;
  const magnitudeKey = key & (SIGN_KEY - 1);
  const lo = fromHighWord(magnitudeKey << KEY_SHIFT);
  if (lo === 0) return 0;
  const hi = Math.min(fromHighWord((magnitudeKey + 1) << KEY_SHIFT), Number.MAX_VALUE);
  let v: number;
  if (lo < BOTTOM) {
    const a = lo * BOTTOM_SCALE;
    const b = hi * BOTTOM_SCALE;
    v = (2 * a * b) / (a + b) / BOTTOM_SCALE;
  } else {
    v = (2 * lo * hi) / (lo + hi);
    if (!Number.isFinite(v)) {
      const a = lo * TOP_SCALE;
      const b = hi * TOP_SCALE;
      v = (2 * a * b) / (a + b) / TOP_SCALE;
    }
  }
  return sign ? -v : v;
}

/**
 * Maps a key to its position in value order: negative keys (sign bit set) count down
 * from the largest magnitude, positive keys follow.
 */
export function orderOf(key: number): number {
  return key & SIGN_KEY ? SIGN_KEY - 1 - (key & (SIGN_KEY - 1)) : key + SIGN_KEY;
}

export function keyOfOrder(order: number): number {
  return order >= SIGN_KEY ? order - SIGN_KEY : (SIGN_KEY - 1 - order) | SIGN_KEY;
}

/**
 * A sketch estimate never lies outside the exact min and max that the bucket stats hold
 * (its bins' values may: a bin stands for its harmonic mean, not its samples).
 */
export function clamp(q: number, min: number, max: number): number {
  return q < min ? min : q > max ? max : q;
}

/**
 * A mergeable histogram with a dense count per key and a list of the keys in use, so that
 * reset and traversal cost only what was touched. About 3 MB: a thread keeps one or two and
 * reuses them (reset()), it is not a per-series object.
 */
export class SketchAccumulator {
  private readonly counts = new Float64Array(KEY_COUNT);
  private readonly used = new Int32Array(KEY_COUNT);
  private usedCount = 0;
  private sorted = true;
  /** Samples added. */
  total = 0;

  add(value: number): void {
    this.addKey(keyOf(value), 1);
  }

  addKey(key: number, count: number): void {
    if (count <= 0) return;
    if (this.counts[key] === 0) {
      this.used[this.usedCount++] = key;
      this.sorted = false;
    }
    this.counts[key]! += count;
    this.total += count;
  }

  /**
   * Adds an encoded run (see the module comment) that starts at `pos` in `data`. A run being
   * overwritten while it is read (readers check that afterwards and start over) may hold
   * anything: lengths and keys are bounded so that it cannot reach outside `data` or the keys.
   */
  addEncoded(data: Int32Array, pos: number): void {
    const n = Math.min(data[pos]!, (data.length - pos - 1) >> 1);
    for (let i = 0; i < n; i++) {
      const at = pos + 1 + 2 * i;
      const key = data[at]!;
      if (key >>> 0 < KEY_COUNT) this.addKey(key, data[at + 1]! >>> 0);
    }
  }

  merge(other: SketchAccumulator): void {
    for (let i = 0; i < other.usedCount; i++) {
      const key = other.used[i]!;
      this.addKey(key, other.counts[key]!);
    }
  }

  reset(): void {
    for (let i = 0; i < this.usedCount; i++) this.counts[this.used[i]!] = 0;
    this.usedCount = 0;
    this.total = 0;
    this.sorted = true;
  }

  /** Calls fn(key, count) for every key in use, in no particular order (for moments). */
  forEachBin(fn: (key: number, count: number) => void): void {
    for (let i = 0; i < this.usedCount; i++) {
      const key = this.used[i]!;
      fn(key, this.counts[key]!);
    }
  }

  /** Distinct keys in use. */
  size(): number {
    return this.usedCount;
  }

  private sort(): void {
    if (this.sorted) return;
    const keys = this.used.subarray(0, this.usedCount);
    for (let i = 0; i < keys.length; i++) keys[i] = orderOf(keys[i]!);
    keys.sort();
    for (let i = 0; i < keys.length; i++) keys[i] = keyOfOrder(keys[i]!);
    this.sorted = true;
  }

  /**
   * The value at quantile q (0..1): the element of rank rankOf(q, total) in sorted order,
   * read back from its key. NaN when empty.
   */
  quantile(q: number): number {
    return this.quantiles([q])[0]!;
  }

  /** Several quantiles in one pass; `qs` must be ascending. */
  quantiles(qs: readonly number[]): number[] {
    const out = new Array<number>(qs.length).fill(Number.NaN);
    if (this.total === 0) return out;
    this.sort();
    let cumulative = 0;
    let qi = 0;
    for (let i = 0; i < this.usedCount && qi < qs.length; i++) {
      const key = this.used[i]!;
      cumulative += this.counts[key]!;
      while (qi < qs.length && cumulative > rankOf(qs[qi]!, this.total)) {
        out[qi++] = valueOf(key);
      }
    }
    return out;
  }

  /** Writes the encoded form into `out` at `pos`; returns the number of i32 written. */
  encodeInto(out: Int32Array, pos: number): number {
    let at = pos + 1;
    let n = 0;
    for (let i = 0; i < this.usedCount; i++) {
      const key = this.used[i]!;
      let count = this.counts[key]!;
      while (count > 0) {
        const part = Math.min(count, 0xffffffff);
        out[at++] = key;
        out[at++] = part | 0;
        count -= part;
        n++;
      }
    }
    out[pos] = n;
    return at - pos;
  }

  /** Upper bound of encodeInto's length. */
  encodedLengthBound(): number {
    let extra = 0;
    for (let i = 0; i < this.usedCount; i++) extra += Math.floor(this.counts[this.used[i]!]! / 0x100000000);
    return 1 + 2 * (this.usedCount + extra);
  }
}
