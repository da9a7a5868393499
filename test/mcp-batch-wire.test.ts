/**
 * The stdio fast lane for record_performance_metric batches (src/mcp/batch-wire.ts): what it
 * reads must be exactly what JSON.parse and the schema would give, and whatever it does not
 * take it must leave to the ordinary path (decode answers undefined).
 */
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { PackedSamples, SamplesDecoder, MIN_LANE_BYTES } from '../dist/src/mcp/fast-lane/batch-wire.js';
import { LineTransport } from '../dist/src/mcp/stdio.js';
import { RecordInput } from '../dist/src/mcp/tools/record-performance-metric.js';
import { seeded as rng } from './fixtures/seeded.mjs';

const NUMBERS = ['0', '-0', '1', '-1', '12.5', '0.1', '0.000001234', '123456789012345', '1234567890123456', '0.30000000000000004', '1e3', '-2.5E-7', '1E+2', '9007199254740993', '4.35', '1.7976931348623157e308', '5e-324', '17.000'];

/** JSON text of a value, with random whitespace between tokens and random key order. */
function write(value: unknown, r: () => number): string {
  const sp = () => [' ', '', '', '\t', '  ', '\r'][Math.floor(r() * 6)]!;
  if (Array.isArray(value)) return `[${sp()}${value.map((v) => write(v, r)).join(`${sp()},${sp()}`)}${sp()}]`;
  if (value !== null && typeof value === 'object') {
    if (value instanceof RawNumber) return value.text;
    const entries = Object.entries(value);
    if (r() < 0.3) entries.reverse();
    return `{${sp()}${entries.map(([k, v]) => `${JSON.stringify(k)}${sp()}:${sp()}${write(v, r)}`).join(`${sp()},${sp()}`)}${sp()}}`;
  }
  return JSON.stringify(value);
}

/** A number written exactly as given (JSON.stringify would normalise it). */
class RawNumber {
  constructor(readonly text: string) {}
}

function randomSamples(r: () => number, n: number): Record<string, unknown>[] {
  const now = Date.now();
  return Array.from({ length: n }, () => {
    const s: Record<string, unknown> = { metric_type: ['response_time', 'queue_size', 'a:b_c', 'x1'][Math.floor(r() * 4)], value: new RawNumber(r() < 0.5 ? NUMBERS[Math.floor(r() * NUMBERS.length)]! : String(r() * 1000 - 500)) };
    const tags = Math.floor(r() * 4);
    if (tags > 0) s.tags = Object.fromEntries(Array.from({ length: tags }, (_, k) => [`k${k}`, ['', 'v', '/users/:id', 'a b'][Math.floor(r() * 4)]!]));
    if (r() < 0.3) s.timestamp = new RawNumber(String(now - Math.floor(r() * 500)));
    return s;
  });
}

/** 100 plain samples: enough bytes for the lane to try. */
const pad = Array.from({ length: 100 }, () => ({ metric_type: 'pad', value: 1 }));

function line(samples: unknown[], r: () => number, id: number | string = 1): Buffer {
  const message = { jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'record_performance_metric', arguments: { samples }, _meta: { progressToken: 7 } } };
  return Buffer.from(write(message, r));
}

/** Decodes a whole line (with the spare byte the decoder needs). */
function decodeWhole(d: SamplesDecoder, text: Buffer | string): Record<string, unknown> | undefined {
  const bytes = Buffer.from(text);
  const buf = Buffer.alloc(bytes.length + 1);
  bytes.copy(buf);
  return d.decode(buf, bytes.length);
}

/** Decodes a line that arrives in pieces of the given sizes, reading ahead after each. */
function decodeInPieces(d: SamplesDecoder, bytes: Buffer, sizes: () => number): Record<string, unknown> | undefined {
  const buf = Buffer.alloc(bytes.length + 1);
  d.begin();
  let at = 0;
  while (at < bytes.length) {
    const next = Math.min(bytes.length, at + sizes());
    bytes.copy(buf, at, at, next);
    at = next;
    if (at < bytes.length) d.progress(buf, at);
  }
  return d.decode(buf, bytes.length, true);
}

/** What the ordinary path makes of the same line: JSON.parse, then the tool's schema. */
function expected(bytes: Buffer): { name: string; tags: Record<string, string> | undefined; value: number; timestamp: number | undefined }[] {
  const message = JSON.parse(bytes.toString('utf8')) as { params: { arguments: unknown } };
  const args = RecordInput.parse(message.params.arguments);
  return args.samples!.map((s) => ({ name: s.metric_type, tags: s.tags, value: s.value, timestamp: s.timestamp as number | undefined }));
}

function unpack(message: Record<string, unknown> | undefined): ReturnType<typeof expected> {
  const packed = (message as { params: { arguments: { samples: unknown } } }).params.arguments.samples;
  expect(packed).toBeInstanceOf(PackedSamples);
  const p = packed as PackedSamples;
  return Array.from({ length: p.length }, (_, i) => {
    const series = p.series[p.seriesIndex[i]!]!;
    const t = p.timestamps?.[i];
    return { name: series.name, tags: series.tags, value: p.values[i]!, timestamp: t === undefined || Number.isNaN(t) ? undefined : t };
  });
}

function same(actual: ReturnType<typeof expected>, wanted: ReturnType<typeof expected>): void {
  expect(actual.length).toBe(wanted.length);
  for (let i = 0; i < wanted.length; i++) {
    const a = actual[i]!;
    const w = wanted[i]!;
    // Object.is: -0 stays -0 and every bit of the double matches.
    if (!Object.is(a.value, w.value) || a.name !== w.name || a.timestamp !== w.timestamp || JSON.stringify(a.tags) !== JSON.stringify(w.tags)) {
      throw new Error(`sample ${i}: lane ${JSON.stringify(a)} vs JSON.parse ${JSON.stringify(w)} (value ${a.value} vs ${w.value})`);
    }
  }
}

describe('SamplesDecoder: the batch lane reads exactly what JSON.parse and the schema read', () => {
  it('agrees with JSON.parse on random batches: numbers of every form, tags, timestamps, whitespace, key order', () => {
    const d = new SamplesDecoder();
    for (let seed = 1; seed <= 60; seed++) {
      const r = rng(seed);
      const bytes = line(randomSamples(r, 50 + Math.floor(r() * 400)), r, seed % 2 ? seed : `req-${seed}`);
      const whole = decodeWhole(d, bytes);
      expect(whole, `seed ${seed}`).toBeDefined();
      same(unpack(whole), expected(bytes));
      expect(whole).toMatchObject({ jsonrpc: '2.0', method: 'tools/call', params: { name: 'record_performance_metric', _meta: { progressToken: 7 } } });
      // The same line read ahead in pieces of random sizes, cut anywhere (inside numbers and names too).
      const pieces = decodeInPieces(d, bytes, () => 1 + Math.floor(r() * 3000));
      expect(pieces, `seed ${seed}, in pieces`).toBeDefined();
      same(unpack(pieces), expected(bytes));
    }
  });

  it('gives each distinct (name, tags) one series and keeps the numbers as doubles', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => ({ metric_type: 'rt', value: i + 0.25, tags: { shard: String(i % 4) } }));
    const bytes = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'record_performance_metric', arguments: { samples } } }));
    const p = (decodeWhole(new SamplesDecoder(), bytes) as { params: { arguments: { samples: PackedSamples } } }).params.arguments.samples;
    expect(p.series).toEqual([0, 1, 2, 3].map((s) => ({ name: 'rt', tags: { shard: String(s) } })));
    expect(Array.from(p.seriesIndex.subarray(0, 8))).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    expect(p.values[999]).toBe(999.25);
    expect(p.timestamps).toBeUndefined();
  });

  const refused: [string, unknown[]][] = [
    ['a string with an escape', [{ metric_type: 'a\u0062', value: 1 }, { metric_type: 'a', value: 1, tags: { k: 'say "hi"' } }]],
    ['a non-ASCII tag value', [{ metric_type: 'a', value: 1, tags: { city: 'Zürich' } }]],
    ['an unknown key', [{ metric_type: 'a', value: 1, unit: 'ms' }]],
    ['a missing value', [{ metric_type: 'a' }]],
    ['a missing metric_type', [{ value: 1 }]],
    ['a string value', [{ metric_type: 'a', value: '1' }]],
    ['a null value', [{ metric_type: 'a', value: null }]],
    ['an ISO timestamp', [{ metric_type: 'a', value: 1, timestamp: '2026-11-27T10:00:00Z' }]],
    ['an invalid metric name', [{ metric_type: 'bad name', value: 1 }]],
    ['an empty metric name', [{ metric_type: '', value: 1 }]],
    ['a metric name over 200 characters', [{ metric_type: 'a'.repeat(201), value: 1 }]],
    ['an invalid tag key', [{ metric_type: 'a', value: 1, tags: { 'bad-key': 'v' } }]],
    ['a __proto__ tag key', [{ metric_type: 'a', value: 1, tags: JSON.parse('{"__proto__":"v"}') as Record<string, string> }]],
    ['a numeric tag value', [{ metric_type: 'a', value: 1, tags: { k: 1 } }]],
    ['a tag value over 4096 characters', [{ metric_type: 'a', value: 1, tags: { k: 'v'.repeat(4097) } }]],
    ['65 tags', [{ metric_type: 'a', value: 1, tags: Object.fromEntries(Array.from({ length: 65 }, (_, k) => [`k${k}`, 'v'])) }]],
    ['a sample that is not an object', [1]],
    ['an empty sample', [{}]],
  ];
  for (const [what, bad] of refused) {
    it(`leaves a batch with ${what} to the ordinary path`, () => {
      const bytes = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'record_performance_metric', arguments: { samples: [...pad, ...bad, ...pad] } } }));
      const d = new SamplesDecoder();
      expect(decodeWhole(d, bytes)).toBeUndefined();
      expect(decodeInPieces(d, bytes, () => 700)).toBeUndefined();
      // The decoder is not stuck: the next good line goes through.
      expect(decodeWhole(d, line(pad, rng(1)))).toBeDefined();
    });
  }

  const sample = '{"metric_type":"a","value":1}';
  const many = Array.from({ length: 100 }, () => sample).join(',');
  const rawRefused: [string, string][] = [
    ['a duplicate key in a sample', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[${many},{"metric_type":"a","value":1,"value":2}]}}}`],
    ['a duplicate tag key', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[${many},{"metric_type":"a","value":1,"tags":{"k":"x","k":"y"}}]}}}`],
    ['params twice', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[${many}]}},"params":{"name":"record_performance_metric","arguments":{"samples":[]}}}`],
    ['an escaped path key', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[${many}]}},"par\\u0061ms":{"name":"record_performance_metric","arguments":{"samples":[]}}}`],
    ['samples twice', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[${many}],"samples":[${sample}]}}}`],
    ['another argument beside samples', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[${many}],"metric_type":"a"}}}`],
    ['another tool', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_performance_metrics","arguments":{"samples":[${many}]}},"x":"record_performance_metric"}`],
    ['another method', `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"name":"record_performance_metric","arguments":{"samples":[${many}]}}}`],
    ['an empty samples array', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[]}},"pad":"${'x'.repeat(3000)}"}`],
    ['a value of 1e999', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[${many},{"metric_type":"a","value":1e999}]}}}`],
    ['a number with a leading zero', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[${many},{"metric_type":"a","value":01}]}}}`],
    ['a number without digits after the point', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[${many},{"metric_type":"a","value":1.}]}}}`],
    ['a trailing comma', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[${many},]}}}`],
    ['garbage after the message', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[${many}]}}} x`],
    ['a broken envelope', `{"jsonrpc":"2.0","id":1,,"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[${many}]}}}`],
    ['a cut-off line', `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[${many}`],
  ];
  for (const [what, text] of rawRefused) {
    it(`leaves ${what} to the ordinary path`, () => {
      expect(text.length).toBeGreaterThanOrEqual(MIN_LANE_BYTES);
      const d = new SamplesDecoder();
      expect(decodeWhole(d, text)).toBeUndefined();
      expect(decodeInPieces(d, Buffer.from(text), () => 333)).toBeUndefined();
    });
  }

  it('refuses a batch over 100,000 samples (the schema names the limit)', () => {
    const bytes = Buffer.from(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[${Array.from({ length: 100_001 }, () => '{"metric_type":"a","value":1}').join(',')}]}}}`);
    expect(decodeWhole(new SamplesDecoder(), bytes)).toBeUndefined();
    const at = Buffer.from(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[${Array.from({ length: 100_000 }, () => '{"metric_type":"a","value":1}').join(',')}]}}}`);
    expect((decodeWhole(new SamplesDecoder(), at) as { params: { arguments: { samples: PackedSamples } } }).params.arguments.samples.length).toBe(100_000);
  });

  it('leaves short lines to JSON.parse', () => {
    expect(decodeWhole(new SamplesDecoder(), `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"record_performance_metric","arguments":{"samples":[${sample}]}}}`)).toBeUndefined();
  });
});

describe('LineTransport with the batch lane', () => {
  it('delivers batches that arrive in pieces, whole ones, and ordinary lines among them, in order', async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const transport = new LineTransport({ stdin, stdout, log: () => {} });
    const got: unknown[] = [];
    transport.onmessage = (m) => got.push(m);
    await transport.start();
    const r = rng(9);
    // Three batches of the same samples, each of its own id: a request's id is unique among
    // those in progress (src/mcp/request-ids.ts), and none of these is answered here.
    const samples = randomSamples(r, 300);
    const batches = ['b1', 'b2', 'b3'].map((id) => line(samples, r, id));
    const [batch, second, third] = batches as [Buffer, Buffer, Buffer];
    const other = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'get_performance_metrics', arguments: {} } }));
    const escaped = Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'record_performance_metric', arguments: { samples: [...pad, { metric_type: 'a', value: 1, tags: { q: 'say "hi"' } }] } } }));
    // All of it as one stream cut into pieces of 1 to 4,000 bytes, across line ends.
    const all = Buffer.concat([batch, Buffer.from('\n'), other, Buffer.from('\r\n'), escaped, Buffer.from('\n'), second, Buffer.from('\n')]);
    for (let at = 0; at < all.length; ) {
      const next = Math.min(all.length, at + 1 + Math.floor(r() * 4000));
      stdin.write(all.subarray(at, next));
      at = next;
      await new Promise((resolve) => setImmediate(resolve));
    }
    stdin.write(Buffer.concat([third, Buffer.from('\n')])); // a batch in one chunk
    await new Promise((resolve) => setImmediate(resolve));
    expect(got).toHaveLength(5);
    for (const [k, i] of [[0, 0], [3, 1], [4, 2]] as const) {
      same(unpack(got[k] as Record<string, unknown>), expected(batches[i]!));
      expect(got[k]).toMatchObject({ id: `b${i + 1}` });
    }
    expect(got[1]).toMatchObject({ id: 2, params: { name: 'get_performance_metrics' } });
    // The line the lane does not take arrives as JSON.parse made it: an array of plain samples.
    expect((got[2] as { params: { arguments: { samples: unknown[] } } }).params.arguments.samples).toHaveLength(101);
    await transport.close();
  });
});
