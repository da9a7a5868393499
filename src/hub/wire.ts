/**
 * What members and a hub say to each other, and how it is framed.
 *
 * Messages are MessagePack maps with a type `t`:
 *   member → hub  hello  { instance, epoch, intervalMs }   once per connection, first
 *                 batch  { seq, round, closedTo, series: Entry[] } closed buckets, seq 1, 2, … per epoch
 *                 beat   {}                                 nothing new, still here
 *   hub → member  welcome { acked, round }   the highest seq of this epoch the hub has applied
 *                         (0: none); the member resends every later batch it holds, marked
 *                         with `round`, and the hub ignores batches of an earlier round (sent
 *                         before a failed apply that this welcome answers)
 *                 ack     { seq }     applied up to seq
 *                 reject  { field, message }   the hub refuses this member (then closes)
 * An Entry is [name, tags, kind, unit, count, sum, min, max, last, sketch | null], the sketch
 * in the store's disk encoding (storage/sketch-codec.ts). `epoch` names one run of a member
 * process: seqs restart with it, so a restarted member is never mistaken for a resend.
 *
 * On a socket each message is a frame: a 4-byte big-endian length, then the MessagePack.
 * Over node:cluster IPC a message is one IPC message, wrapped in ENVELOPE (see cluster-ipc.ts).
 * Decoding checks every field; anything else is a WireError, which the receiver counts and
 * answers by resetting the link, never by throwing into the host.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import type { MetricKind, MetricUnit } from '../engine/metrics.js';

export type Entry = [name: string, tags: Record<string, string>, kind: MetricKind, unit: MetricUnit, count: number, sum: number, min: number, max: number, last: number, sketch: Uint8Array | null];

export type MemberMessage =
  | { t: 'hello'; instance: string; epoch: string; intervalMs: number }
  | { t: 'batch'; seq: number; round: number; closedTo: number; series: Entry[] }
  | { t: 'beat' };

export type HubMessage = { t: 'welcome'; acked: number; round: number } | { t: 'ack'; seq: number } | { t: 'reject'; field: string; message: string };

export class WireError extends Error {
  readonly code = 'PW_ERR_HUB_WIRE';
}

const FRAME_HEADER = 4;
const KINDS = new Set(['gauge', 'counter', 'distribution']);
const encoder = new Encoder();
const decoder = new Decoder();

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
 * before any of that frame is buffered, so a hostile length costs nothing.
 */
export class FrameReader {
  private buffered: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): Uint8Array[] {
    this.buffered.push(chunk);
    this.bytes += chunk.length;
    const out: Uint8Array[] = [];
    while (this.bytes >= FRAME_HEADER) {
      const all = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
      const len = all.readUInt32BE(0);
      if (len > this.maxBytes) throw new WireError(`frame of ${len} bytes is longer than maxFrameBytes (${this.maxBytes})`);
      if (all.length < FRAME_HEADER + len) {
        this.buffered = [all];
        break;
      }
      out.push(all.subarray(FRAME_HEADER, FRAME_HEADER + len));
      const rest = all.subarray(FRAME_HEADER + len);
      this.buffered = rest.length > 0 ? [rest] : [];
      this.bytes = rest.length;
    }
    return out;
  }
}

function decodeMap(bytes: Uint8Array): Record<string, unknown> {
  let m: unknown;
  try {
    m = decoder.decode(bytes);
  } catch (error) {
    throw new WireError(`not MessagePack: ${(error as Error).message}`);
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new WireError('a message must be a map');
  return m as Record<string, unknown>;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isNum = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v);

function checkEntry(e: unknown, i: number): Entry {
  const at = `series[${i}]`;
  if (!Array.isArray(e) || e.length !== 10) throw new WireError(`${at} must be an array of 10 fields`);
  const [name, tags, kind, unit, count, sum, min, max, last, sketch] = e as unknown[];
  if (typeof name !== 'string') throw new WireError(`${at}.name must be a string`);
  if (typeof tags !== 'object' || tags === null || Array.isArray(tags) || Object.values(tags).some((v) => typeof v !== 'string')) throw new WireError(`${at}.tags must be a map of strings`);
  if (typeof kind !== 'string' || !KINDS.has(kind)) throw new WireError(`${at}.kind must be gauge, counter or distribution`);
  if (typeof unit !== 'string') throw new WireError(`${at}.unit must be a string`);
  if (!isCount(count) || count === 0) throw new WireError(`${at}.count must be a positive integer`);
  if (!isNum(sum) || !isNum(min) || !isNum(max) || !isNum(last)) throw new WireError(`${at}: sum, min, max and last must be numbers`);
  if (sketch !== null && !(sketch instanceof Uint8Array)) throw new WireError(`${at}.sketch must be bytes or nil`);
  return e as Entry;
}

export function decodeMemberMessage(bytes: Uint8Array): MemberMessage {
  const m = decodeMap(bytes);
  switch (m.t) {
    case 'hello':
      if (typeof m.instance !== 'string' || m.instance.length === 0 || m.instance.length > 128) throw new WireError('hello.instance must be a string of 1 to 128 characters');
      if (typeof m.epoch !== 'string' || m.epoch.length === 0 || m.epoch.length > 64) throw new WireError('hello.epoch must be a string of 1 to 64 characters');
      if (!isCount(m.intervalMs)) throw new WireError('hello.intervalMs must be a positive integer');
      return { t: 'hello', instance: m.instance, epoch: m.epoch, intervalMs: m.intervalMs };
    case 'batch': {
      if (!isCount(m.seq) || m.seq === 0) throw new WireError('batch.seq must be a positive integer');
      if (!isCount(m.round)) throw new WireError('batch.round must be a non-negative integer');
      if (!isNum(m.closedTo)) throw new WireError('batch.closedTo must be a number');
      if (!Array.isArray(m.series)) throw new WireError('batch.series must be an array');
      return { t: 'batch', seq: m.seq, round: m.round, closedTo: m.closedTo, series: m.series.map(checkEntry) };
    }
    case 'beat':
      return { t: 'beat' };
    default:
      throw new WireError(`unknown message type ${JSON.stringify(m.t)}`);
  }
}

export function decodeHubMessage(bytes: Uint8Array): HubMessage {
  const m = decodeMap(bytes);
  if (m.t === 'welcome' && isCount(m.acked) && isCount(m.round)) return { t: 'welcome', acked: m.acked, round: m.round };
  if (m.t === 'ack' && isCount(m.seq)) return { t: 'ack', seq: m.seq };
  if (m.t === 'reject' && typeof m.field === 'string' && typeof m.message === 'string') return { t: 'reject', field: m.field, message: m.message };
  throw new WireError(`not a hub message: ${JSON.stringify(m.t)}`);
}
