/**
 * The fast lane for batched samples on stdio: a `tools/call` of `record_performance_metric`
 * with `{ samples: [...] }` is read straight from the line's bytes into columns (a series
 * index, a value and a timestamp per sample), without building an object per sample.
 *
 * JSON.parse of a 10,000-sample line, and the garbage collection of its 10,000 objects, was
 * most of the server's work per batch (~7 ms of ~10 on this machine); the scan below takes
 * ~1.5 ms, most of it while the line is still arriving (see progress). The lane is an
 * optimisation, never a second judge: it takes only what it can read exactly and the schema
 * would accept unchanged — plain ASCII strings without escapes, JSON numbers (the digits of
 * a short one exactly, any other through Number(), whose grammar contains JSON's), the four
 * sample keys each at most once, names and tags that pass the schema's rules — and answers
 * `undefined` for anything else, which then goes the ordinary way (JSON.parse, the SDK, the
 * zod schema) and gets the ordinary verdict.
 *
 * The rest of the message (id, method, params, _meta, ...) is still parsed by JSON.parse,
 * with the samples array cut out, and goes through the SDK as any message does; the
 * arguments then carry a PackedSamples where the array was, which the tool accepts.
 */
import type { SampleColumns } from '../../engine/producer.js';
import { MAX_BATCH, MAX_TAGS } from '../schemas.js';
import { takesName, takesTags } from './accept.js';

/** The tool whose batches take the lane, as it appears in a line. */
const TOOL_NAME = 'record_performance_metric';
const TOOL_BYTES = Buffer.from(`"${TOOL_NAME}"`);
/** Lines shorter than this are not worth the attempt: JSON.parse is quick on them. */
export const MIN_LANE_BYTES = 2048;
/** Reading ahead: the samples array must start within this many bytes of the line... */
const LOOKAHEAD_PREFIX_BYTES = 64 * 1024;
/** ...and no sample may take more than this (a valid one is under 300 KB). */
const LOOKAHEAD_SAMPLE_BYTES = 1024 * 1024;
/** Distinct (name, tags) shapes remembered across batches; past it the memory starts over. */
const SHAPE_CACHE_LIMIT = 10_000;
/** Shapes tried by position before the hash lookup (see SamplesDecoder.recent). */
const RECENT_SHAPES = 8;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

/** 10^0 .. 10^22, each exact as a double (the limit of the exact fast path). */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/** A batch read from the wire: SampleColumns, and the metric names for the answer. */
export class PackedSamples implements SampleColumns {
  constructor(
    readonly series: readonly { name: string; tags?: Record<string, string> }[],
    readonly seriesIndex: Uint32Array,
    readonly values: Float64Array,
    readonly timestamps: Float64Array | undefined,
    readonly length: number,
  ) {}
}

/** A (name, tags) shape seen before, by the bytes it was written with. */
interface Shape {
  nameBytes: Buffer;
  tagsBytes: Buffer | undefined;
  series: { name: string; tags?: Record<string, string> };
  /** The batch that last used it, and its index in that batch's series. */
  batch: number;
  local: number;
  /** The next shape with the same hash. */
  next: Shape | undefined;
}

function isWs(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** Whether the tool's name, in quotes, is in the first `end` bytes. */
function containsTool(buf: Buffer, end: number): boolean {
  const at = buf.indexOf(TOOL_BYTES);
  return at !== -1 && at + TOOL_BYTES.length <= end;
}

/** Whether b[start, stop) equals b[other, other + stop - start), compared from the end. */
function equalBackwards(b: Buffer, start: number, stop: number, other: number): boolean {
  for (let i = stop - 1, j = other + (stop - 1 - start); i >= start; i--, j--) if (b[i] !== b[j]) return false;
  return true;
}

function equalBytes(b: Buffer, start: number, stop: number, other: Buffer, otherStart: number): boolean {
  for (let i = start, j = otherStart; i < stop; i++, j++) if (b[i] !== other[j]) return false;
  return true;
}

// The scanners below are small module functions so that V8 inlines them into the loop.

/** Past the JSON whitespace at i. */
function ws(b: Buffer, i: number): number {
  let c = b[i];
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
  return i;
}

/**
 * The end (the closing quote) of a string of printable ASCII without escapes that starts
 * at i (after its opening quote); -1 for anything else.
 */
function plainString(b: Buffer, i: number): number {
  const n = b.length;
  for (; i < n; i++) {
    const c = b[i]!;
    if (c === QUOTE) return i;
    if (c < 0x20 || c > 0x7e || c === BACKSLASH) return -1;
  }
  return -1;
}

// Where the key readKey() read lies (one thread, one scan at a time).
let keyStart = 0;
let keyEnd = 0;

/** A plain key and its colon at i (the key's opening quote): the index of the value, or -1. */
function readKey(b: Buffer, i: number): number {
  if (b[i] !== QUOTE) return -1;
  keyStart = i + 1;
  keyEnd = plainString(b, keyStart);
  if (keyEnd < 0) return -1;
  i = ws(b, keyEnd + 1);
  return b[i] === COLON ? ws(b, i + 1) : -1;
}

// The four sample keys, byte by byte (unrolled: a loop over a second buffer costs more).
function isMetricType(b: Buffer, i: number): boolean {
  return b[i] === 0x6d && b[i + 1] === 0x65 && b[i + 2] === 0x74 && b[i + 3] === 0x72 && b[i + 4] === 0x69 && b[i + 5] === 0x63 && b[i + 6] === 0x5f && b[i + 7] === 0x74 && b[i + 8] === 0x79 && b[i + 9] === 0x70 && b[i + 10] === 0x65;
}
function isValue(b: Buffer, i: number): boolean {
  return b[i] === 0x76 && b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x75 && b[i + 4] === 0x65;
}
function isTags(b: Buffer, i: number): boolean {
  return b[i] === 0x74 && b[i + 1] === 0x61 && b[i + 2] === 0x67 && b[i + 3] === 0x73;
}
function isTimestamp(b: Buffer, i: number): boolean {
  return b[i] === 0x74 && b[i + 1] === 0x69 && b[i + 2] === 0x6d && b[i + 3] === 0x65 && b[i + 4] === 0x73 && b[i + 5] === 0x74 && b[i + 6] === 0x61 && b[i + 7] === 0x6d && b[i + 8] === 0x70;
}

/** The value of the last number() read (one thread, one scan at a time). */
let numberValue = 0;

/**
 * A JSON number at i: its value in numberValue, and the index past it; -1 for anything that
 * is not one, or is not finite. Up to 15 significant digits without an exponent, the
 * digits are an exact integer and one division by an exact power of ten rounds correctly
 * (Clinger's fast path); anything longer goes to numberSlow().
 */
function number(b: Buffer, i: number): number {
  const start = i;
  let c = b[i];
  if (c === 0x2d) c = b[++i];
  let m = 0;
  let digits = 0;
  if (c === 0x30) {
    c = b[++i];
  } else if (c !== undefined && c >= 0x31 && c <= 0x39) {
    do {
      m = m * 10 + (c - 0x30);
      digits++;
      c = b[++i];
    } while (c !== undefined && c >= 0x30 && c <= 0x39);
  } else {
    return -1;
  }
  let fraction = 0;
  if (c === 0x2e) {
    c = b[++i];
    if (c === undefined || c < 0x30 || c > 0x39) return -1;
    do {
      m = m * 10 + (c - 0x30);
      fraction++;
      c = b[++i];
    } while (c !== undefined && c >= 0x30 && c <= 0x39);
  }
  if (c === 0x65 || c === 0x45 || digits + fraction > 15) return numberSlow(b, start, i);
  const v = fraction === 0 ? m : m / POW10[fraction]!;
  numberValue = b[start] === 0x2d ? -v : v;
  return i;
}

/** The rest of a number too long for the fast path, or with an exponent: through Number(). */
function numberSlow(b: Buffer, start: number, i: number): number {
  let c = b[i];
  if (c === 0x65 || c === 0x45) {
    c = b[++i];
    if (c === 0x2b || c === 0x2d) c = b[++i];
    if (!isDigit(c)) return -1;
    do c = b[++i];
    while (isDigit(c));
  }
  const v = Number(b.toString('latin1', start, i));
  if (v - v !== 0) return -1; // ±Infinity: the schema's "must be a finite number" applies
  numberValue = v;
  return i;
}

// What readSample() read (one thread, one scan at a time): the name's and the tags' bytes
// (start and end; -1 when absent), how many tags, the value and the timestamp (NaN: none).
let sampleNs = -1;
let sampleNe = -1;
let sampleTs = -1;
let sampleTe = -1;
let sampleTags = 0;
let sampleValue = 0;
let sampleStamp = NaN;

/**
 * One sample object at i (its `{`): the index past it, or -1 for anything but the four keys
 * at most once each, metric_type and value present, in the forms the lane takes.
 */
function readSample(b: Buffer, i: number): number {
  i = ws(b, i + 1);
  if (b[i] === RBRACE) return -1;
  let seen = 0;
  sampleTs = sampleTe = -1;
  sampleTags = 0;
  sampleStamp = NaN;
  for (;;) {
    i = readKey(b, i);
    if (i < 0) return -1;
    const ks = keyStart;
    const len = keyEnd - ks;
    if (len === 11 && isMetricType(b, ks)) {
      if (seen & 1 || b[i] !== QUOTE) return -1;
      seen |= 1;
      sampleNs = i + 1;
      sampleNe = plainString(b, sampleNs);
      if (sampleNe < 0) return -1;
      i = sampleNe + 1;
    } else if (len === 5 && isValue(b, ks)) {
      if (seen & 2) return -1;
      seen |= 2;
      i = number(b, i);
      if (i < 0) return -1;
      sampleValue = numberValue;
    } else if (len === 4 && isTags(b, ks)) {
      if (seen & 4) return -1;
      seen |= 4;
      sampleTs = i;
      i = readTags(b, i);
      if (i < 0) return -1;
      sampleTe = i;
    } else if (len === 9 && isTimestamp(b, ks)) {
      if (seen & 8) return -1;
      seen |= 8;
      i = number(b, i);
      if (i < 0) return -1;
      sampleStamp = numberValue;
    } else {
      return -1;
    }
    i = ws(b, i);
    if (b[i] === COMMA) {
      i = ws(b, i + 1);
      continue;
    }
    if (b[i] !== RBRACE || (seen & 3) !== 3) return -1;
    return i + 1;
  }
}

/** A tags object of plain strings at i (its `{`): the index past it (count in sampleTags), or -1. */
function readTags(b: Buffer, i: number): number {
  if (b[i] !== LBRACE) return -1;
  i = ws(b, i + 1);
  if (b[i] === RBRACE) return i + 1;
  for (;;) {
    i = readKey(b, i);
    if (i < 0 || b[i] !== QUOTE) return -1;
    const e2 = plainString(b, i + 1);
    if (e2 < 0) return -1;
    sampleTags++;
    i = ws(b, e2 + 1);
    if (b[i] === COMMA) {
      i = ws(b, i + 1);
      continue;
    }
    return b[i] === RBRACE ? i + 1 : -1;
  }
}

/**
 * Reads record_performance_metric batches off stdio lines. One per connection: it remembers
 * the shapes it has validated, so a batch of known series validates nothing again.
 */
export class SamplesDecoder {
  /** Lines shorter than this are parsed the ordinary way (see MIN_LANE_BYTES). */
  readonly minBytes = MIN_LANE_BYTES;
  private shapes = new Map<number, Shape>();
  private shapeCount = 0;
  private batch = 0;
  private series: { name: string; tags?: Record<string, string> }[] = [];
  /** The columns being filled: empty until a first batch, then grown by doubling. */
  private index = new Uint32Array(0);
  private values = new Float64Array(0);
  private stamps = new Float64Array(0);
  private stamped = false;
  private count = 0;
  private pathSeen = [false, false, false];
  /**
   * Progress through the samples array of the line being received: the array read so far
   * ends at resumeAt, after resumeCount samples, with the scan's state then. resumeStart is
   * the array's position (-1: nothing read yet), resumeStop its end once read whole.
   */
  private resumeStart = -1;
  private resumeStop = -1;
  private resumeAt = 0;
  private resumeCount = 0;
  /**
   * The shapes met last in this line, by where one of their samples lies in it: name start
   * and end, tags start and end (-1 without tags), and the index in this batch's series; five
   * numbers each. Positions in the line stay valid while it is read ahead, as it only grows.
   */
  private readonly recent = new Int32Array(RECENT_SHAPES * 5);
  private recentCount = 0;
  private recentHit = 0;
  private recentNext = 0;
  private resumeStamped = false;
  /** The line being received is not worth reading ahead (see progress). */
  private gaveUp = false;
  /** The end of the bytes being read (see setEnd). */
  private end = 0;

  /** A new line starts: forget the progress made on the last one. */
  begin(): void {
    this.batch++;
    this.series = [];
    this.count = 0;
    this.stamped = false;
    this.resumeStart = this.resumeStop = -1;
    this.gaveUp = false;
  }

  /**
   * Reads ahead in a line still arriving (its first `end` bytes are in `buf`; later calls
   * pass more of the same line): the samples already here are read now, while the client is
   * still writing, so that decode() of the whole line has only the last bytes left. Never
   * decides anything: whatever it cannot read, decode() reads again. Bounded: it stops
   * trying when the array does not start in the first 64 KB, or one sample runs over 1 MB.
   * Writes a sentinel at buf[end] (see setEnd).
   */
  progress(buf: Buffer, end: number): void {
    if (this.gaveUp || this.resumeStop >= 0 || end < MIN_LANE_BYTES || !this.setEnd(buf, end)) return;
    if (this.resumeStart < 0) {
      if (end > LOOKAHEAD_PREFIX_BYTES) {
        this.gaveUp = true;
        return;
      }
      if (!containsTool(buf, end)) return;
      const i = ws(buf, 0);
      if (buf[i] !== LBRACE) {
        this.gaveUp = true;
        return;
      }
      this.pathSeen[0] = this.pathSeen[1] = this.pathSeen[2] = false;
      this.walk(buf, i, 0); // reads the samples that are here if it reaches the array
      return;
    }
    if (end - this.resumeAt > LOOKAHEAD_SAMPLE_BYTES) {
      this.gaveUp = true;
      return;
    }
    this.samples(buf, this.resumeStart);
  }

  /**
   * Makes buf[end] a 0 byte, which no scanner takes (it is not JSON outside a string, and
   * the lane's strings are printable ASCII), so the scanners stop there without a bounds
   * check, and never read past the end of the buffer: a typed-array read out of bounds
   * makes V8 recompile the loop into a slower one. False when buf has no byte at end.
   */
  private setEnd(buf: Buffer, end: number): boolean {
    if (end >= buf.length) return false;
    buf[end] = 0;
    this.end = end;
    return true;
  }

  /**
   * The JSON-RPC message of a line that is a record_performance_metric batch, with a
   * PackedSamples in place of the samples array; undefined for any other line. The line is
   * buf's first `end` bytes, and buf must hold at least one byte more (see setEnd).
   * `continued` says that begin() and progress() were called on this line as it arrived.
   */
  decode(buf: Buffer, end: number, continued = false): Record<string, unknown> | undefined {
    if (!continued) this.begin();
    try {
      if (end < MIN_LANE_BYTES || !this.setEnd(buf, end) || (this.resumeStart < 0 && !containsTool(buf, end))) return undefined;
      this.pathSeen[0] = this.pathSeen[1] = this.pathSeen[2] = false;
      let i = ws(buf, 0);
      if (buf[i] !== LBRACE) return undefined;
      i = this.walk(buf, i, 0);
      // A walk that succeeds has read the samples array whole, if the line has one.
      if (i < 0 || this.resumeStop < 0 || ws(buf, i) !== end) return undefined;
      let message: unknown;
      try {
        message = JSON.parse(`${buf.toString('utf8', 0, this.resumeStart)}null${buf.toString('utf8', this.resumeStop, end)}`);
      } catch {
        return undefined;
      }
      const m = message as { method?: unknown; params?: { name?: unknown; arguments?: Record<string, unknown> } };
      const args = m.params?.arguments;
      if (m.method !== 'tools/call' || m.params?.name !== TOOL_NAME || args === null || typeof args !== 'object') return undefined;
      const keys = Object.keys(args);
      if (keys.length !== 1 || keys[0] !== 'samples' || args.samples !== null) return undefined;
      const n = this.count;
      args.samples = new PackedSamples(this.series, this.index.slice(0, n), this.values.slice(0, n), this.stamped ? this.stamps.slice(0, n) : undefined, n);
      return message as Record<string, unknown>;
    } finally {
      this.resumeStart = this.resumeStop = -1;
      this.series = [];
    }
  }

  /**
   * Walks an object at depth 0 (the message), 1 (params) or 2 (arguments), descending only
   * along params → arguments → samples and skipping every other value. A key on that path
   * seen twice, or written with an escape, ends the attempt: JSON.parse keeps the last of
   * duplicate keys, and only a unique, plainly written path says which array is the one.
   */
  private walk(b: Buffer, i: number, depth: number): number {
    const want = PATH[depth]!;
    i = ws(b, i + 1);
    if (b[i] === RBRACE) return i + 1;
    for (;;) {
      i = readKey(b, i);
      if (i < 0) return -1;
      if (keyEnd - keyStart === want.length && equalBytes(b, keyStart, keyEnd, want, 0)) {
        if (this.pathSeen[depth]) return -1;
        this.pathSeen[depth] = true;
        if (depth < 2) {
          if (b[i] !== LBRACE) return -1;
          i = this.walk(b, i, depth + 1);
        } else {
          if (b[i] !== LBRACKET) return -1;
          i = this.samples(b, i);
        }
      } else {
        i = this.skipValue(b, i);
      }
      if (i < 0) return -1;
      i = ws(b, i);
      if (b[i] === COMMA) {
        i = ws(b, i + 1);
        continue;
      }
      return b[i] === RBRACE ? i + 1 : -1;
    }
  }

  /** Past any JSON value at i, without judging it (JSON.parse of the envelope does). */
  private skipValue(b: Buffer, i: number): number {
    const n = this.end;
    let depth = 0;
    for (; i < n; i++) {
      const c = b[i]!;
      if (c === QUOTE) {
        for (i++; i < n && b[i] !== QUOTE; i++) if (b[i] === BACKSLASH) i++;
        if (i >= n) return -1;
        if (depth === 0) return i + 1;
      } else if (c === LBRACE || c === LBRACKET) {
        depth++;
      } else if (c === RBRACE || c === RBRACKET) {
        if (depth === 0) return i;
        if (--depth === 0) return i + 1;
      } else if (depth === 0 && (c === COMMA || isWs(c))) {
        return i;
      }
    }
    return depth === 0 ? i : -1;
  }

  /**
   * Reads the samples array at `start` into the columns: past its end, or -1. Reading stops
   * at the first sample it cannot read (not one it takes, or not all here yet) and keeps
   * the state after the last one read, so that a call on more of the same line goes on
   * from there.
   */
  private samples(b: Buffer, start: number): number {
    let i: number;
    let n: number;
    let stamped: boolean;
    if (this.resumeStart === start) {
      if (this.resumeStop >= 0) return this.resumeStop;
      i = this.resumeAt;
      n = this.resumeCount;
      stamped = this.resumeStamped;
    } else {
      i = ws(b, start + 1);
      if (b[i] === RBRACKET) return -1; // an empty batch: the schema says what is wrong with it
      n = 0;
      stamped = false;
      this.recentCount = 0;
      this.resumeStart = start;
    }
    // The state after the last sample read: where a later call resumes.
    let atI = i;
    let atN = n;
    let atStamped = stamped;
    let index = this.index;
    let values = this.values;
    let stamps = this.stamps;
    const recent = this.recent;
    for (; ; n++) {
      if (n >= MAX_BATCH) break;
      if (n === values.length) {
        this.grow();
        ({ index, values, stamps } = this);
      }
      i = ws(b, i); // a resumed scan may start inside the whitespace before a sample
      if (b[i] !== LBRACE) break;
      i = readSample(b, i);
      if (i < 0) break;
      const ns = sampleNs;
      const ne = sampleNe;
      const ts = sampleTs;
      const te = sampleTe;
      const stamp = sampleStamp;
      // The shapes seen last, tried from the one that matched last and then the next one:
      // a run of one series matches at the first try, series that take turns at the second.
      let local = -1;
      const count = this.recentCount;
      for (let k = 0, r = this.recentHit; k < count; k++, r = r + 1 === count ? 0 : r + 1) {
        const o = r * 5;
        if (recent[o + 1]! - recent[o]! !== ne - ns || recent[o + 3]! - recent[o + 2]! !== te - ts) continue;
        // Backwards: what differs between series is most often at the end (a tag's value).
        if (ts >= 0 && !equalBackwards(b, ts, te, recent[o + 2]!)) continue;
        if (!equalBackwards(b, ns, ne, recent[o]!)) continue;
        local = recent[o + 4]!;
        this.recentHit = r;
        break;
      }
      if (local < 0) {
        local = this.shapeOf(b, ns, ne, ts, te, sampleTags);
        if (local < 0) break;
        const r = count < RECENT_SHAPES ? this.recentCount++ : (this.recentNext = (this.recentNext + 1) % RECENT_SHAPES);
        const o = r * 5;
        recent[o] = ns;
        recent[o + 1] = ne;
        recent[o + 2] = ts;
        recent[o + 3] = te;
        recent[o + 4] = local;
        this.recentHit = r;
      }
      index[n] = local;
      values[n] = sampleValue;
      stamps[n] = stamp;
      if (stamp === stamp) stamped = true;
      i = ws(b, i);
      if (b[i] === COMMA) {
        i = ws(b, i + 1);
        atI = i;
        atN = n + 1;
        atStamped = stamped;
        continue;
      }
      if (b[i] !== RBRACKET) break;
      this.count = n + 1;
      this.stamped = stamped;
      return (this.resumeStop = i + 1);
    }
    this.resumeAt = atI;
    this.resumeCount = atN;
    this.resumeStamped = atStamped;
    return -1;
  }


  /**
   * The index in this batch's series of the shape written as these bytes; validates and
   * remembers a shape seen for the first time. -1 when the schema would not accept it as it
   * is (the ordinary path then says why).
   */
  private shapeOf(b: Buffer, ns: number, ne: number, ts: number, te: number, tagCount: number): number {
    let h = 0x811c9dc5;
    for (let i = ns; i < ne; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    h = Math.imul(h ^ 0xff, 0x01000193);
    for (let i = ts; i < te; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    h >>>= 2; // a small integer key: no heap number per lookup
    const first = this.shapes.get(h);
    let shape = first;
    while (shape !== undefined) {
      if (
        shape.nameBytes.length === ne - ns &&
        (shape.tagsBytes?.length ?? -1) === (ts < 0 ? -1 : te - ts) &&
        equalBytes(b, ns, ne, shape.nameBytes, 0) &&
        (ts < 0 || equalBytes(b, ts, te, shape.tagsBytes!, 0))
      ) {
        break;
      }
      shape = shape.next;
    }
    if (shape === undefined) {
      const series = validShape(b, ns, ne, ts, te, tagCount);
      if (series === undefined) return -1;
      if (this.shapeCount >= SHAPE_CACHE_LIMIT) {
        this.shapes = new Map();
        this.shapeCount = 0;
      }
      shape = {
        nameBytes: Buffer.from(b.subarray(ns, ne)),
        tagsBytes: ts < 0 ? undefined : Buffer.from(b.subarray(ts, te)),
        series,
        batch: -1,
        local: -1,
        next: this.shapes.get(h),
      };
      this.shapes.set(h, shape);
      this.shapeCount++;
    }
    if (shape.batch !== this.batch) {
      shape.batch = this.batch;
      shape.local = this.series.push(shape.series) - 1;
    }
    return shape.local;
  }

  private grow(): void {
    const size = Math.min(MAX_BATCH, Math.max(16_384, this.values.length * 2));
    const index = new Uint32Array(size);
    const values = new Float64Array(size);
    const stamps = new Float64Array(size);
    index.set(this.index);
    values.set(this.values);
    stamps.set(this.stamps);
    this.index = index;
    this.values = values;
    this.stamps = stamps;
  }
}

/** The keys of the path to the samples array, by depth. */
const PATH = [Buffer.from('params'), Buffer.from('arguments'), Buffer.from('samples')];

/**
 * The series of a shape when the schema would accept it unchanged: a valid metric name, and
 * tags with at most 64 distinct valid keys and string values of at most 4096 characters.
 */
function validShape(b: Buffer, ns: number, ne: number, ts: number, te: number, tagCount: number): { name: string; tags?: Record<string, string> } | undefined {
  const name = b.toString('latin1', ns, ne);
  if (!takesName(name)) return undefined;
  if (ts < 0) return { name };
  if (tagCount > MAX_TAGS) return undefined;
  const tags = JSON.parse(b.toString('latin1', ts, te)) as Record<string, string>;
  // Fewer keys than pairs read: a key repeated, which JSON.parse resolves by keeping the last.
  if (Object.keys(tags).length !== tagCount || Object.hasOwn(tags, '__proto__') || !takesTags(tags)) return undefined;
  return { name, tags };
}
