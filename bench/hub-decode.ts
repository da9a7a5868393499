/**
 * What a member's batch of series definitions costs the hub's main thread to decode
 * (`node dist/bench/hub-decode.js`): the hub's decoder (decodeMemberMessage) on a batch of
 * MAX_DEFS definitions of 16 short tags (a member's usual first batch), on the largest batch a
 * hostile member can send within the bounds (MAX_DEFS definitions of 64 tags of 128
 * characters), and on a frame of 130,000 definitions (16 MiB, what a member that large sent
 * before batches were cut at MAX_DEFS), which the decoder now refuses at the array's header;
 * beside it, @msgpack/msgpack's decoder without bounds on the same frame, which is what the hub
 * paid before. Wall time of each decode on this thread, median and range over the passes.
 */
import { loadavg } from 'node:os';
import { Decoder } from '@msgpack/msgpack';
import { MAX_DEFS, decodeMemberMessage, encodeMessage, type Batch, type Def } from '../src/hub/wire.js';
import { median } from './median.js';

const PASSES = Number(process.env.BENCH_PASSES ?? 15);

function batch(defs: number, tags: number, valueChars: number): Uint8Array {
  const list: Def[] = [];
  for (let i = 0; i < defs; i++) {
    const t: Record<string, string> = {};
    for (let k = 0; k < tags; k++) t[`tag${k}`] = `${i}-${k}-`.padEnd(valueChars, 'x');
    list.push([i, 'response_time', t, 'distribution', 'ms']);
  }
  const empty = new Uint8Array(0);
  const m: Batch = { t: 'batch', seq: 1, round: 0, closedTo: 0, defs: list, sids: new Int32Array(0), starts: new Float64Array(0), stats: new Float64Array(0), sketchEnd: new Int32Array(0), sketches: empty };
  // The columns go as bytes, as the member sends them.
  return encodeMessage({ ...m, sids: empty, starts: empty, stats: empty, sketchEnd: empty } as unknown as Batch);
}

function time(decode: () => unknown): { ms: number[]; outcome: string } {
  const ms: number[] = [];
  let outcome = 'decoded';
  for (let p = 0; p < PASSES; p++) {
    const t0 = performance.now();
    try {
      decode();
    } catch (error) {
      outcome = `refused: ${(error as Error).message.slice(0, 90)}`;
    }
    ms.push(performance.now() - t0);
  }
  return { ms, outcome };
}

const fmt = (x: number) => (x < 1 ? x.toFixed(3) : x < 100 ? x.toFixed(1) : x.toFixed(0));
const unbounded = new Decoder();
const cases: [string, Uint8Array, (b: Uint8Array) => unknown][] = [];
const usual = batch(MAX_DEFS, 16, 12);
const hostile = batch(MAX_DEFS, 64, 128);
const huge = batch(130_000, 5, 12);
cases.push([`${MAX_DEFS} definitions × 16 tags of 12 characters, the hub's decoder`, usual, decodeMemberMessage]);
cases.push([`${MAX_DEFS} definitions × 64 tags of 128 characters, the hub's decoder`, hostile, decodeMemberMessage]);
cases.push(["130,000 definitions × 5 tags, the hub's decoder", huge, decodeMemberMessage]);
cases.push(['130,000 definitions × 5 tags, MessagePack without bounds (the hub before)', huge, (b) => unbounded.decode(b)]);

console.log(`hub-decode: ${PASSES} passes a case, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('| batch | bytes | ms a decode, median (min–max) | outcome |');
console.log('|---|---:|---:|---|');
for (const [what, bytes, decode] of cases) {
  const r = time(() => decode(bytes));
  console.log(`| ${what} | ${bytes.length.toLocaleString('en')} | ${fmt(median(r.ms))} (${fmt(Math.min(...r.ms))}–${fmt(Math.max(...r.ms))}) | ${r.outcome} |`);
}
console.log(`load after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
