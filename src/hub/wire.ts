/**
 * What members and a hub say to each other, and how it is framed.
 *
 * Messages are MessagePack maps with a type `t`:
 *   member → hub  hello  { instance, epoch, intervalMs, worker?, maxFrameBytes?, watchedFrom? }   once per
 *                        connection, first; `worker`: a node:cluster worker's id, from a
 *                        member left to its default name, which a cluster hub names by its
 *                        slot instead; `maxFrameBytes`: the longest frame the member may send
 *                        (its hub.maxFrameBytes), which the hub refuses past its own (an older
 *                        member says none, an older hub ignores it); `watchedFrom`: when the
 *                        member's monitor started watching (ms, its clock, as its buckets'
 *                        starts), from which the hub counts its series' time (an older member
 *                        says none: the hub's own time counts)
 *                 batch  { seq, round, closedTo, defs, sids, starts, stats, sketches, sketchEnd }
 *                        closed buckets, seq 1, 2, … per epoch
 *                 beat   { seq?, closedTo?, stopping? }     nothing new, still here: its
 *                        latest seq, and the time up to which it has nothing else closed;
 *                        `stopping`: the member stops cleanly and waits for its last acks (a
 *                        hub on a database then flushes once what it queued is applied,
 *                        instead of at its next flush; an older hub ignores the field)
 *   hub → member  welcome { acked, round, hub, instance? }   the highest seq of this epoch the hub has
 *                         applied (0: none); the member resends every later batch it holds,
 *                         marked with `round`, and the hub ignores batches of an earlier round
 *                         (sent before a failed apply or a later hello that this welcome
 *                         answers). `hub` names the hub's run (random, one a start): a member
 *                         takes a welcome of the hub it knows only if its round is newer than
 *                         the one it took last, since a cluster worker's two hellos (channel,
 *                         then the primary's socket) are answered on two paths that can cross.
 *                         `instance`: the name the hub knows the member by (its slot's, for
 *                         a cluster worker that sent `worker`), which the member takes
 *                 ack     { seq }     applied up to seq
 *                 reject  { field, message }   the hub refuses this member (then closes)
 *                 refused { message }   an entry of a batch the hub left out, and why
 *                 reset   { message }   the hub dropped this link: say hello again
 * A batch is columns, one row per bucket: `sids` (i32) the member's id of the bucket's series,
 * `starts` (f64) the bucket's start on the member (its own series on the hub keeps it),
 * `stats` (f64, five a row) its count, sum, min, max and last, `sketchEnd` (i32) where its
 * sketch ends in `sketches` (the store's disk encoding, storage/sketch-codec.ts; a row whose
 * end equals the previous one's has none). A series' name, tags, kind and unit travel once per
 * welcome, in `defs` ([sid, name, tags, kind, unit]) of the first batch that carries it after
 * that welcome: the hub keeps them per member epoch, so a bucket costs its numbers alone.
 * Columns are raw little-endian bytes: both ends run on one host (a Unix socket or a
 * node:cluster channel). `epoch` names one run of a member process: its seqs and sids restart
 * with it, so a restarted member is never mistaken for a resend.
 *
 * On a socket each message is a frame: a 4-byte big-endian length, then the MessagePack.
 * A node:cluster worker's link starts on the IPC channel, a message an IPC message wrapped in
 * ENVELOPE, and moves to frames on the primary's own socket (see cluster-ipc.ts).
 * Decoding checks every field; anything else is a WireError, which the receiver counts and
 * answers by resetting the link, never by throwing into the host.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import type { MetricKind, MetricUnit } from '../engine/metrics.js';
import { MAX_MAGNITUDE } from '../engine/producer.js';
import { MAX_SERIES_LIMIT, OWN_SERIES } from '../engine/registry.js';
import { MAX_TIME_MS } from '../analysis/time-arg.js';
import { instanceNameProblem } from './instance-name.js';

/** A series' definition: the member's id for it, then what the hub names it by. */
export type Def = [sid: number, name: string, tags: Record<string, string>, kind: MetricKind, unit: MetricUnit];

/** A batch's buckets as columns (see the top of this file). */
export interface BatchColumns {
  sids: Int32Array;
  starts: Float64Array;
  stats: Float64Array;
  sketches: Uint8Array;
  sketchEnd: Int32Array;
}

export type Batch = { t: 'batch'; seq: number; round: number; closedTo: number; defs: Def[] } & BatchColumns;

export type MemberMessage = { t: 'hello'; instance: string; epoch: string; intervalMs: number; worker?: number; maxFrameBytes?: number; watchedFrom?: number } | Batch | { t: 'beat'; seq?: number; closedTo?: number; stopping?: true };

export type HubMessage =
  | { t: 'welcome'; acked: number; round: number; hub: string; instance?: string }
  | { t: 'ack'; seq: number }
  | { t: 'reject'; field: string; message: string }
  /** The hub dropped this link, unable to read what came on it: say hello again. */
  | { t: 'reset'; message: string }
  /** The hub applied a batch without an entry it refused (a kind clash, a tag instance, its series limit): why. */
  | { t: 'refused'; message: string };

export class WireError extends Error {
  readonly code = 'PW_ERR_HUB_WIRE';
}

const FRAME_HEADER = 4;
const KINDS = new Set(['gauge', 'counter', 'distribution']);
/**
 * The largest series id a member may use: its registry's ids are dense from 0, below its
 * maxSeries and OWN_SERIES. A larger one is no member's (the hub keeps definitions by sid).
 */
export const MAX_SID = MAX_SERIES_LIMIT + OWN_SERIES - 1;
/**
 * The most series definitions a batch carries, and tags a definition has (the most any
 * monitor's maxTags allows). The hub decodes definitions object by object on its main thread:
 * a frame of 16 MiB of them (130,000 series) held its event loop for a second. Its decoder
 * refuses a longer array or map at its header, before decoding what it holds (a batch of 1,024
 * definitions of 16 tags decodes in a few ms); a member cuts its batches to carry at most
 * MAX_DEFS series (member.ts).
 */
export const MAX_DEFS = 1024;
const MAX_DEF_TAGS = 64;
const encoder = new Encoder();
const decoder = new Decoder();
const memberDecoder = new Decoder({ maxArrayLength: MAX_DEFS, maxMapLength: MAX_DEF_TAGS });

export function encodeMessage(m: MemberMessage | HubMessage): Uint8Array {
  return encoder.encode(m);
}

/** A message as one frame: length, then payload. */
export function frame(m: MemberMessage | HubMessage): Uint8Array {
  const body = encoder.encode(m);
  const out = new Uint8Array(FRAME_HEADER + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, FRAME_HEADER);
  return out;
}

/**
 * Cuts a byte stream into frame payloads. A length past `maxBytes` is a WireError, raised
 * before any of that frame is buffered, so a hostile length costs nothing. The chunks of a
 * frame are kept as they come and joined once it is whole: joined at every chunk, a frame of
 * 16 MiB in 64 KiB reads was copied 256 times over (2 GiB of copies on the hub's main thread).
 */
export class FrameReader {
  private buffered: Buffer[] = [];
  private bytes = 0;
  /** Bytes the frame at the front needs, header included, once its header is read. */
  private need = 0;
  private frames = 0;

  /**
   * `firstMaxBytes`: the first frame's limit, where a link starts with a message known to be
   * short (a member's hello): a hub held whatever a peer that never said hello sent of a
   * frame up to maxFrameBytes long, 16 MiB a connection by default, for as long as it stayed.
   * `limit`: what the error calls maxBytes, saying whose it is (the hub's or the member's: a
   * member shows the hub's reason, and a bare "maxFrameBytes (65536)" read as its own).
   */
  constructor(
    private readonly maxBytes: number,
    private readonly firstMaxBytes = maxBytes,
    private readonly limit = 'maxFrameBytes',
  ) {}

  push(chunk: Buffer): Uint8Array[] {
    this.buffered.push(chunk);
    this.bytes += chunk.length;
    const out: Uint8Array[] = [];
    while (this.bytes >= FRAME_HEADER) {
      if (this.need === 0) {
        if (this.buffered[0]!.length < FRAME_HEADER) this.buffered = [Buffer.concat(this.buffered, this.bytes)];
        const len = this.buffered[0]!.readUInt32BE(0);
        if (this.frames === 0 && len > this.firstMaxBytes) throw new WireError(`a first frame of ${len} bytes is longer than a hello can be (${this.firstMaxBytes}): a link starts with a hello`);
        if (len > this.maxBytes) throw new WireError(`frame of ${len} bytes is longer than ${this.limit} (${this.maxBytes})`);
        this.need = FRAME_HEADER + len;
      }
      if (this.bytes < this.need) break;
      const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered, this.bytes);
      out.push(all.subarray(FRAME_HEADER, this.need));
      this.frames++;
      const rest = all.subarray(this.need);
      this.buffered = rest.length > 0 ? [rest] : [];
      this.bytes = rest.length;
      this.need = 0;
    }
    return out;
  }
}

/**
 * The longest first frame a hub reads on a link: a hello is at most some 700 bytes (an instance
 * of 128 characters, an epoch of 64, four numbers). What a peer that has not said hello may
 * have the hub hold: until 2026-12-06 64 KiB, 192 MB for 3,000 such peers.
 */
export const HELLO_MAX_BYTES = 4 * 1024;

function decodeMap(bytes: Uint8Array, from = decoder): Record<string, unknown> {
  let m: unknown;
  try {
    m = from.decode(bytes);
  } catch (error) {
    const message = (error as Error).message;
    if (from === memberDecoder && message.startsWith('Max length exceeded')) throw new WireError(`a batch carries at most ${MAX_DEFS} series definitions, of at most ${MAX_DEF_TAGS} tags each (${message})`);
    throw new WireError(`not MessagePack: ${message}`);
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new WireError('a message must be a map');
  return m as Record<string, unknown>;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isNum = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v);

function checkDef(d: unknown, i: number): Def {
  const at = `defs[${i}]`;
  if (!Array.isArray(d) || d.length !== 5) throw new WireError(`${at} must be an array of 5 fields`);
  const [sid, name, tags, kind, unit] = d as unknown[];
  if (!isCount(sid) || sid > MAX_SID) throw new WireError(`${at}.sid must be an integer from 0 to ${MAX_SID}`);
  if (typeof name !== 'string') throw new WireError(`${at}.name must be a string`);
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags) || Object.values(tags).some((v) => typeof v !== 'string')) throw new WireError(`${at}.tags must be a map of strings`);
  if (typeof kind !== 'string' || !KINDS.has(kind)) throw new WireError(`${at}.kind must be gauge, counter or distribution`);
  if (typeof unit !== 'string') throw new WireError(`${at}.unit must be a string`);
  return d as Def;
}

/** A column's bytes as `T` elements: a view when aligned, else a copy (a decoder's bin sits anywhere in its frame). */
function column<T extends Int32Array | Float64Array>(bytes: unknown, name: string, Type: { new (b: ArrayBufferLike, o: number, n: number): T; new (n: number): T; BYTES_PER_ELEMENT: number }): T {
  if (!(bytes instanceof Uint8Array)) throw new WireError(`batch.${name} must be bytes`);
  const size = Type.BYTES_PER_ELEMENT;
  if (bytes.byteLength % size !== 0) throw new WireError(`batch.${name} must be a whole number of ${size}-byte values`);
  const n = bytes.byteLength / size;
  if (bytes.byteOffset % size === 0) return new Type(bytes.buffer, bytes.byteOffset, n);
  const out = new Type(n);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/** The batch's columns, their lengths and every number checked; a sid is checked against the member's defs by the hub. */
function checkColumns(m: Record<string, unknown>): BatchColumns {
  const sids = column(m.sids, 'sids', Int32Array);
  const starts = column(m.starts, 'starts', Float64Array);
  const stats = column(m.stats, 'stats', Float64Array);
  const sketchEnd = column(m.sketchEnd, 'sketchEnd', Int32Array);
  if (!(m.sketches instanceof Uint8Array)) throw new WireError('batch.sketches must be bytes');
  const n = sids.length;
  if (starts.length !== n || stats.length !== 5 * n || sketchEnd.length !== n) throw new WireError(`batch: ${n} sids need ${n} starts, ${5 * n} stats and ${n} sketchEnd, got ${starts.length}, ${stats.length} and ${sketchEnd.length}`);
  let end = 0;
  for (let i = 0; i < n; i++) {
    const count = stats[5 * i]!;
    if (!(count > 0) || !Number.isSafeInteger(count)) throw new WireError(`batch row ${i}: count must be a positive integer`);
    // As a monitor records them (producer.ts): a member's Infinity, or a sum past what its
    // count of samples can add up to, made the cluster-wide series' sum Infinity for good.
    const min = stats[5 * i + 2]!;
    const max = stats[5 * i + 3]!;
    if (!(Math.abs(min) < MAX_MAGNITUDE && Math.abs(max) < MAX_MAGNITUDE && Math.abs(stats[5 * i + 4]!) < MAX_MAGNITUDE)) throw new WireError(`batch row ${i}: min, max and last must be finite numbers of magnitude under 2^333 (~1.7e100), as a monitor records`);
    if (!(Math.abs(stats[5 * i + 1]!) <= count * MAX_MAGNITUDE)) throw new WireError(`batch row ${i}: sum must be a finite number of magnitude at most count × 2^333 (~1.7e100), as a monitor records`);
    if (min > max) throw new WireError(`batch row ${i}: min ${min} is above max ${max}`);
    if (!Number.isFinite(starts[i]!)) throw new WireError(`batch row ${i}: start must be a finite number`);
    const e = sketchEnd[i]!;
    if (e < end || e > m.sketches.length) throw new WireError(`batch row ${i}: sketchEnd must not decrease nor pass the sketches' ${m.sketches.length} bytes`);
    end = e;
  }
  return { sids, starts, stats, sketchEnd, sketches: m.sketches };
}

export function decodeMemberMessage(bytes: Uint8Array): MemberMessage {
  const m = decodeMap(bytes, memberDecoder);
  switch (m.t) {
    case 'hello':
      if (typeof m.instance !== 'string' || m.instance.length === 0 || m.instance.length > 128) throw new WireError('hello.instance must be a string of 1 to 128 characters');
      // The member options' rule (instance-name.ts): a client other than a member may send any string.
      const problem = instanceNameProblem(m.instance);
      if (problem !== undefined) throw new WireError(`hello.instance ${JSON.stringify(m.instance)} ${problem}`);
      if (typeof m.epoch !== 'string' || m.epoch.length === 0 || m.epoch.length > 64) throw new WireError('hello.epoch must be a string of 1 to 64 characters');
      if (!isCount(m.intervalMs)) throw new WireError('hello.intervalMs must be a positive integer');
      if (m.worker !== undefined && (!isCount(m.worker) || m.worker === 0)) throw new WireError('hello.worker must be a positive integer when present');
      if (m.maxFrameBytes !== undefined && (!isCount(m.maxFrameBytes) || m.maxFrameBytes === 0)) throw new WireError('hello.maxFrameBytes must be a positive integer when present');
      if (m.watchedFrom !== undefined && !(typeof m.watchedFrom === 'number' && Math.abs(m.watchedFrom) <= MAX_TIME_MS)) throw new WireError(`hello.watchedFrom of member ${JSON.stringify(m.instance)} must be a time (ms) within ±8.64e15 of the epoch (the range of a Date) when present, not ${String(m.watchedFrom)}`);
      return { t: 'hello', instance: m.instance, epoch: m.epoch, intervalMs: m.intervalMs, ...(m.worker !== undefined ? { worker: m.worker } : {}), ...(m.maxFrameBytes !== undefined ? { maxFrameBytes: m.maxFrameBytes } : {}), ...(m.watchedFrom !== undefined ? { watchedFrom: m.watchedFrom } : {}) };
    case 'batch': {
      if (!isCount(m.seq) || m.seq === 0) throw new WireError('batch.seq must be a positive integer');
      if (!isCount(m.round)) throw new WireError('batch.round must be a non-negative integer');
      if (!isNum(m.closedTo)) throw new WireError('batch.closedTo must be a number');
      if (!Array.isArray(m.defs)) throw new WireError('batch.defs must be an array');
      return { t: 'batch', seq: m.seq, round: m.round, closedTo: m.closedTo, defs: m.defs.map(checkDef), ...checkColumns(m) };
    }
    case 'beat':
      if (m.seq !== undefined && !isCount(m.seq)) throw new WireError('beat.seq must be a non-negative integer');
      if (m.closedTo !== undefined && !isNum(m.closedTo)) throw new WireError('beat.closedTo must be a number');
      if (m.stopping !== undefined && m.stopping !== true) throw new WireError('beat.stopping must be true when present');
      return { t: 'beat', ...(m.seq !== undefined ? { seq: m.seq } : {}), ...(m.closedTo !== undefined ? { closedTo: m.closedTo } : {}), ...(m.stopping === true ? { stopping: true as const } : {}) };
    default:
      throw new WireError(`unknown message type ${JSON.stringify(m.t)}`);
  }
}

export function decodeHubMessage(bytes: Uint8Array): HubMessage {
  const m = decodeMap(bytes);
  if (m.t === 'welcome' && isCount(m.acked) && isCount(m.round) && typeof m.hub === 'string' && m.hub.length > 0 && m.hub.length <= 64) {
    if (m.instance !== undefined && (typeof m.instance !== 'string' || m.instance.length === 0 || m.instance.length > 128)) throw new WireError('welcome.instance must be a string of 1 to 128 characters when present');
    return { t: 'welcome', acked: m.acked, round: m.round, hub: m.hub, ...(m.instance !== undefined ? { instance: m.instance } : {}) };
  }
  if (m.t === 'ack' && isCount(m.seq)) return { t: 'ack', seq: m.seq };
  if (m.t === 'reject' && typeof m.field === 'string' && typeof m.message === 'string') return { t: 'reject', field: m.field, message: m.message };
  if (m.t === 'reset' && typeof m.message === 'string') return { t: 'reset', message: m.message };
  if (m.t === 'refused' && typeof m.message === 'string') return { t: 'refused', message: m.message };
  throw new WireError(`not a hub message: ${JSON.stringify(m.t)}`);
}
