/**
 * A quantile sketch on disk: the store's encoded run (engine/sketch.ts: [n, key, count, …])
 * as a MessagePack array of integers, keys ascending and delta-coded: [Δkey_0, count_0,
 * Δkey_1, count_1, …]. Neighbouring keys differ by little and most counts are small, so most
 * integers take one byte (MessagePack's positive fixint) instead of the run's four. The bytes
 * are written directly (encodeSketchTo), with no array of numbers and no encoder's copy a
 * sketch: a flush encodes thousands of sketches, a hub member every bucket of an interval.
 */
import { Decoder } from '@msgpack/msgpack';
import { KEY_COUNT } from '../engine/sketch.js';

const decoder = new Decoder();
/** Reused between calls: (key · 2^32 + count) per bin, sorted as numbers (a key is under 2^18: exact in a double). */
let pairs = new Float64Array(1024);

/** Reused between calls to encodeSketch(): grown to the largest sketch met. */
let bytes = new Uint8Array(1024);

/** Bytes encodeSketchTo() writes at most for a run of `n` bins: an array header of 5 and two integers of at most 5 a bin. */
export function sketchBytesBound(n: number): number {
  return 5 + 10 * n;
}

/** Encodes the run at `data[pos]` (as SketchAccumulator.encodeInto writes it); null when empty. */
export function encodeSketch(data: Int32Array, pos: number): Uint8Array | null {
  const n = data[pos]!;
  if (n <= 0) return null;
  const bound = sketchBytesBound(n);
  if (bytes.length < bound) bytes = new Uint8Array(Math.max(bound, bytes.length * 2));
  return bytes.slice(0, encodeSketchTo(data, pos, bytes, 0));
}

/**
 * Writes the run at `data[pos]` into `out` from `at` (room for sketchBytesBound(n) bytes);
 * returns the bytes written, 0 when the run is empty. The bytes are those of @msgpack/msgpack's
 * Encoder for the array of integers (the smallest form of each: fixint, uint8/16/32; fixarray,
 * array16/32), written here without the array of numbers and the encoder's copy a sketch: a
 * hub member encodes every closed bucket's sketch on the service's main thread, 10,000 an
 * interval at 10,000 series (test/storage-schema.test.ts holds the two byte for byte).
 */
export function encodeSketchTo(data: Int32Array, pos: number, out: Uint8Array, at: number): number {
  const n = data[pos]!;
  if (n <= 0) return 0;
  if (pairs.length < n) pairs = new Float64Array(Math.max(n, pairs.length * 2));
  for (let i = 0; i < n; i++) pairs[i] = data[pos + 1 + 2 * i]! * 0x100000000 + (data[pos + 2 + 2 * i]! >>> 0);
  const sorted = sortPairs(n);
  const from = at;
  const len = 2 * n;
  if (len <= 0x0f) out[at++] = 0x90 | len;
  else if (len <= 0xffff) {
    out[at] = 0xdc;
    out[at + 1] = len >>> 8;
    out[at + 2] = len & 0xff;
    at += 3;
  } else {
    out[at] = 0xdd;
    out[at + 1] = len >>> 24;
    out[at + 2] = (len >>> 16) & 0xff;
    out[at + 3] = (len >>> 8) & 0xff;
    out[at + 4] = len & 0xff;
    at += 5;
  }
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const key = Math.floor(sorted[i]! / 0x100000000);
    at = writeUint(out, at, key - prev);
    at = writeUint(out, at, sorted[i]! - key * 0x100000000);
    prev = key;
  }
  return at - from;
}

/**
 * pairs[0, n) in ascending order. A bucket's sketch has a few dozen bins: an insertion sort
 * here costs less than a view and the built-in sort's call for each.
 */
function sortPairs(n: number): Float64Array {
  if (n > 32) return pairs.subarray(0, n).sort();
  for (let i = 1; i < n; i++) {
    const v = pairs[i]!;
    let j = i - 1;
    for (; j >= 0 && pairs[j]! > v; j--) pairs[j + 1] = pairs[j]!;
    pairs[j + 1] = v;
  }
  return pairs;
}

/** An integer in [0, 2^32) as MessagePack writes it, in its smallest form; returns the position after it. */
function writeUint(out: Uint8Array, at: number, v: number): number {
  if (v <= 0x7f) {
    out[at] = v;
    return at + 1;
  }
  if (v <= 0xff) {
    out[at] = 0xcc;
    out[at + 1] = v;
    return at + 2;
  }
  if (v <= 0xffff) {
    out[at] = 0xcd;
    out[at + 1] = v >>> 8;
    out[at + 2] = v & 0xff;
    return at + 3;
  }
  out[at] = 0xce;
  out[at + 1] = v >>> 24;
  out[at + 2] = (v >>> 16) & 0xff;
  out[at + 3] = (v >>> 8) & 0xff;
  out[at + 4] = v & 0xff;
  return at + 5;
}

/**
 * Appends a stored sketch to `out` as a run at `pos` and returns the i32 it took; a blob
 * that does not decode to such an array (a damaged row) adds nothing and returns 0.
 *
 * The encoder writes an array of non-negative integers, so the blob is read here directly:
 * an array header, then positive fixints and uint8/16/32 (a 30-day history decodes ~750
 * sketches, and a general decoder's array of numbers per sketch cost most of the read). Any
 * other form (never written by this codec) goes through the general decoder.
 */
export function decodeSketchInto(blob: Uint8Array, out: Int32Array, pos: number): number {
  return decodeSketchRange(blob, 0, blob.length, out, pos);
}

/** decodeSketchInto of `bytes[from, to)`, without a view of its own for each (a hub decodes 4,000 a second from one batch). */
export function decodeSketchRange(bytes: Uint8Array, from: number, to: number, out: Int32Array, pos: number): number {
  const fast = readInts(bytes, from, to, out, pos);
  return fast >= 0 ? fast : decodeGeneral(bytes.subarray(from, to), out, pos);
}

/** The fast path of decodeSketchRange: -1 when the blob is not in the encoder's plain form. */
function readInts(b: Uint8Array, from: number, end: number, out: Int32Array, pos: number): number {
  if (end <= from) return -1;
  const h = b[from]!;
  let len: number;
  let at: number;
  if (h >= 0x90 && h <= 0x9f) {
    len = h & 0x0f;
    at = from + 1;
  } else if (h === 0xdc && end - from >= 3) {
    len = (b[from + 1]! << 8) | b[from + 2]!;
    at = from + 3;
  } else if (h === 0xdd && end - from >= 5) {
    len = ((b[from + 1]! << 24) | (b[from + 2]! << 16) | (b[from + 3]! << 8) | b[from + 4]!) >>> 0;
    at = from + 5;
  } else return -1;
  if (len % 2 !== 0) return 0;
  if (out.length < pos + 1 + len) return 0;
  let key = 0;
  let o = pos + 1;
  for (let i = 0; i < len; i++) {
    if (at >= end) return 0;
    const t = b[at]!;
    let v: number;
    if (t <= 0x7f) {
      v = t;
      at += 1;
    } else if (t === 0xcc && at + 1 < end) {
      v = b[at + 1]!;
      at += 2;
    } else if (t === 0xcd && at + 2 < end) {
      v = (b[at + 1]! << 8) | b[at + 2]!;
      at += 3;
    } else if (t === 0xce && at + 4 < end) {
      v = ((b[at + 1]! << 24) | (b[at + 2]! << 16) | (b[at + 3]! << 8) | b[at + 4]!) >>> 0;
      at += 5;
    } else return -1;
    if (i % 2 === 0) {
      key += v;
      if (key >= KEY_COUNT) return 0;
      out[o++] = key;
    } else out[o++] = v | 0;
  }
  if (at !== end) return 0;
  out[pos] = len / 2;
  return 1 + len;
}

/** decodeSketchInto through @msgpack/msgpack's decoder: forms the encoder does not write. */
function decodeGeneral(blob: Uint8Array, out: Int32Array, pos: number): number {
  let flat: unknown;
  try {
    flat = decoder.decode(blob);
  } catch {
    return 0;
  }
  if (!Array.isArray(flat) || flat.length % 2 !== 0 || out.length < pos + 1 + flat.length) return 0;
  let key = 0;
  let n = 0;
  for (let i = 0; i < flat.length; i += 2) {
    const delta: unknown = flat[i];
    const count: unknown = flat[i + 1];
    if (typeof delta !== 'number' || typeof count !== 'number') return 0;
    key += delta;
    if (key < 0 || key >= KEY_COUNT || count < 0 || count > 0xffffffff) return 0;
    out[pos + 1 + 2 * n] = key;
    out[pos + 2 + 2 * n] = count | 0;
    n++;
  }
  out[pos] = n;
  return 1 + 2 * n;
}

/**
 * i32 a stored sketch takes as a run at most: a run of 1 + 2n i32 comes from an array of 2n
 * integers, which MessagePack writes in at least 1 + 2n bytes (one per fixint, one header).
 */
export function runBound(blob: Uint8Array): number {
  return Math.max(1, blob.length);
}
