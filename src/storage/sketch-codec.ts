/**
 * A quantile sketch on disk: the store's encoded run (engine/sketch.ts: [n, key, count, …])
 * as a MessagePack array of integers, keys ascending and delta-coded: [Δkey_0, count_0,
 * Δkey_1, count_1, …]. Neighbouring keys differ by little and most counts are small, so most
 * integers take one byte (MessagePack's positive fixint) instead of the run's four. One
 * Encoder is reused: a flush encodes thousands of sketches.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { KEY_COUNT } from '../engine/sketch.js';

const encoder = new Encoder();
const decoder = new Decoder();
/** Reused between calls: (key · 2^32 + count) per bin, sorted as numbers (a key is under 2^18: exact in a double). */
let pairs = new Float64Array(1024);

/** Encodes the run at `data[pos]` (as SketchAccumulator.encodeInto writes it); null when empty. */
export function encodeSketch(data: Int32Array, pos: number): Uint8Array | null {
  const n = data[pos]!;
  if (n <= 0) return null;
  if (pairs.length < n) pairs = new Float64Array(Math.max(n, pairs.length * 2));
  for (let i = 0; i < n; i++) pairs[i] = data[pos + 1 + 2 * i]! * 0x100000000 + (data[pos + 2 + 2 * i]! >>> 0);
  const sorted = pairs.subarray(0, n).sort();
  const flat = new Array<number>(2 * n);
  let prev = 0;
  for (let i = 0; i < n; i++) {
    const key = Math.floor(sorted[i]! / 0x100000000);
    flat[2 * i] = key - prev;
    flat[2 * i + 1] = sorted[i]! - key * 0x100000000;
    prev = key;
  }
  return encoder.encode(flat);
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
