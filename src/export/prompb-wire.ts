/**
 * The remote_write 1.0 WriteRequest (prompb.ts) written straight to protobuf wire bytes, byte
 * for byte what protobufjs's WriteRequest.encode() writes for the same message: fields in
 * order, a field at its default left out as proto3 does (an empty label value, a value of
 * +0 but not -0, a timestamp of 0); test/export-prompb-wire.test.ts compares the two on
 * random requests.
 *
 * Why not protobufjs: its encode() takes one object per series, per label list and per
 * sample, and its Writer allocates an operation per field written; an export of 100,000
 * histograms is 1.8 million series, so the objects of one export (hundreds of megabytes) made
 * the garbage collector the larger part of its 3.6–15 s of CPU, which grew faster than the
 * series did (bench:export, docs/benchmarks.md). Here the labels of each series are encoded
 * once, when it is first exported, and an export copies those bytes and writes its sample
 * into one buffer reused from request to request: nothing is allocated per series or sample.
 *
 * Wire form (proto field numbers of prompb/remote.proto and types.proto):
 *   WriteRequest { repeated TimeSeries timeseries = 1 }            0x0a len TimeSeries
 *   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2 }
 *                                                                  0x0a len Label … 0x12 len Sample
 *   Label        { string name = 1; string value = 2 }             0x0a len name 0x12 len value
 *   Sample       { double value = 1; int64 timestamp = 2 }         0x09 f64le 0x10 varint
 */
import type { Label } from './prompb.js';

/** Field 1, length-delimited (WriteRequest.timeseries, TimeSeries.labels, Label.name). */
const TAG_1_LEN = 0x0a;
/** Field 2, length-delimited (TimeSeries.samples, Label.value). */
const TAG_2_LEN = 0x12;
/** Field 1, 64-bit (Sample.value). */
const TAG_1_I64 = 0x09;
/** Field 2, varint (Sample.timestamp). */
const TAG_2_VARINT = 0x10;

/** A Sample's value field: its tag and a double. */
const VALUE_BYTES = 1 + 8;

/** Copies shorter than this are a loop (bytes()). */
const COPY_LOOP_MAX = 96;

const utf8 = new TextEncoder();

/** A Sample's bytes: its fields not at their default (proto3 leaves those out; at most 20 bytes). */
function sampleLength(value: number, timestamp: number): number {
  return (Object.is(value, 0) ? 0 : VALUE_BYTES) + (timestamp === 0 ? 0 : 1 + varintLength(timestamp));
}

/** Bytes one TimeSeries of `labels` bytes of labels and one sample takes in a WriteRequest (with `zeroAt`, a sample of 0 at that time before it). */
export function seriesLength(labels: number, value: number, timestamp: number, zeroAt?: number): number {
  const series = seriesBody(labels, value, timestamp, zeroAt);
  return 1 + varintLength(series) + series;
}

/** A TimeSeries' own bytes: its labels, its sample, and a sample of 0 at `zeroAt` if given. */
function seriesBody(labels: number, value: number, timestamp: number, zeroAt: number | undefined): number {
  return labels + 1 + 1 + sampleLength(value, timestamp) + (zeroAt === undefined ? 0 : 1 + 1 + sampleLength(0, zeroAt));
}

/** Bytes of `n` (a non-negative integer below 2^53) as a varint. */
export function varintLength(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}


/** The wire bytes of `labels` as TimeSeries.labels fields, in the order given; an empty name or value is left out as protobufjs leaves it. */
export function encodeLabels(labels: readonly Label[]): Uint8Array {
  const parts = labels.map((l) => [utf8.encode(l.name), utf8.encode(l.value)] as const);
  const field = (b: Uint8Array): number => (b.length === 0 ? 0 : 1 + varintLength(b.length) + b.length);
  let size = 0;
  for (const [n, v] of parts) {
    const inner = field(n) + field(v);
    size += 1 + varintLength(inner) + inner;
  }
  const out = new WireBuffer(size);
  for (const [n, v] of parts) {
    out.byte(TAG_1_LEN);
    out.varint(field(n) + field(v));
    for (const [tag, b] of [
      [TAG_1_LEN, n],
      [TAG_2_LEN, v],
    ] as const) {
      if (b.length === 0) continue;
      out.byte(tag);
      out.varint(b.length);
      out.bytes(b);
    }
  }
  return out.view();
}

/** A growable byte buffer that writes protobuf's pieces; reset() keeps its memory for the next request. */
export class WireBuffer {
  private buf: Uint8Array;
  private data: DataView;
  pos = 0;

  constructor(capacity = 64 * 1024) {
    this.buf = new Uint8Array(capacity);
    this.data = new DataView(this.buf.buffer);
  }

  reset(): void {
    this.pos = 0;
  }

  /** The bytes written so far: a view, valid until the next write or reset. */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  /** A non-negative integer below 2^53 (a length, a timestamp in ms): the int64 varint protobufjs writes for it. */
  varint(n: number): void {
    this.room(10);
    while (n >= 128) {
      this.buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  bytes(b: Uint8Array, from = 0, to = b.length): void {
    const n = to - from;
    this.room(n);
    const buf = this.buf;
    let pos = this.pos;
    // A label list is tens of bytes: a loop copies those faster than set() of a subarray,
    // which is an object made per copy (five a sample).
    if (n < COPY_LOOP_MAX) {
      for (let i = from; i < to; i++) buf[pos++] = b[i]!;
    } else {
      buf.set(from === 0 && to === b.length ? b : b.subarray(from, to), pos);
      pos += n;
    }
    this.pos = pos;
  }

  /** A double, little-endian, its bits as they are (Prometheus's stale NaN keeps its payload). */
  double(v: number): void {
    this.room(8);
    this.data.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /**
   * The start of one TimeSeries of one sample: its field tag and length. Its labels follow
   * (`labels` bytes of TimeSeries.labels fields, written with bytes()), then sample() with the
   * same value and timestamp (ms, a non-negative integer). With `zeroAt` (ms, before
   * `timestamp`) the series has two samples: sample(0, zeroAt) comes first.
   */
  seriesStart(labels: number, value: number, timestamp: number, zeroAt?: number): void {
    this.byte(TAG_1_LEN);
    this.varint(seriesBody(labels, value, timestamp, zeroAt));
  }

  /** The sample that ends a TimeSeries begun with seriesStart(). */
  sample(value: number, timestamp: number): void {
    this.byte(TAG_2_LEN);
    // The Sample's length, at most 20: a varint of one byte.
    this.byte(sampleLength(value, timestamp));
    if (!Object.is(value, 0)) {
      this.byte(TAG_1_I64);
      this.double(value);
    }
    if (timestamp !== 0) {
      this.byte(TAG_2_VARINT);
      this.varint(timestamp);
    }
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
    this.data = new DataView(grown.buffer);
  }
}
