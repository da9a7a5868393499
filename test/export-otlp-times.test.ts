/**
 * OTLP's times to the nanosecond. A time in ms times 1e6 is past 2^53 and, as a double,
 * rounded to 256 ns: the stale point meant to be 1 ms after a series' last value
 * (1796519187426 ms) went out as 1796519187425999872 ns, in the ms of that value, where a
 * receiver converting to ms by integer division sees a duplicate timestamp and does not end
 * the series; its start time differed from the value points' by a few ns. Decoded here with
 * the official definitions, 64-bit integers kept as strings (a Number would round them too).
 */
import { createRequire } from 'node:module';
import { expect, it } from 'vitest';
import type { SeriesSource, WalkFamily } from '../dist/src/analysis/series-walk.js';
import { OtlpEncoder } from '../dist/src/export/otlp.js';

interface Decoder {
  decode(body: Uint8Array): unknown;
  fromObject(o: unknown): unknown;
  toObject(m: unknown, o: object): unknown;
}
const root = createRequire(import.meta.url)('otlp-proto/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: Decoder } } } } };
};
const Request = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

interface Point {
  startTimeUnixNano: string;
  timeUnixNano: string;
  flags: number;
}
interface Decoded {
  resourceMetrics: { scopeMetrics: { metrics: { gauge?: { dataPoints: Point[] }; sum?: { dataPoints: Point[] }; histogram?: { dataPoints: Point[] } }[] }[] }[];
}

function points(body: Uint8Array, json: boolean): Point[] {
  const message = json ? Request.fromObject(JSON.parse(new TextDecoder().decode(body))) : Request.decode(body);
  const d = Request.toObject(message, { longs: String, defaults: true, arrays: true }) as Decoded;
  return d.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((s) => s.metrics.flatMap((x) => (x.gauge ?? x.sum ?? x.histogram)!.dataPoints)));
}

const gauge: WalkFamily = { name: 'load', kind: 'gauge', unit: '', help: '', prom: 'load', total: 'load', ids: [] };
const counter: WalkFamily = { name: 'orders', kind: 'counter', unit: '', help: '', prom: 'orders_total', total: 'orders_total', ids: [] };
const hist: WalkFamily = { name: 'lat', kind: 'distribution', unit: 'ms', help: '', prom: 'lat', total: 'lat', ids: [] };
const source: SeriesSource = {
  bounds: [1],
  *points() {
    yield { family: gauge, id: 0, tags: { shard: '0' }, value: 1, hist: undefined };
    yield { family: counter, id: 1, tags: { shard: '1' }, value: 5, hist: undefined };
    yield { family: hist, id: 2, tags: { shard: '2' }, value: 0, hist: { next: 0, bins: new Float64Array([1, 0]), count: 1, sum: 0.5 } };
  },
};

/** The exact ns of a time in ms written as whole ms and a decimal fraction of up to 6 digits. */
const ns = (wholeMs: number, fraction = ''): string => (BigInt(wholeMs) * 1_000_000n + BigInt(fraction.padEnd(6, '0') || '0')).toString();

for (const encoding of ['protobuf', 'json'] as const) {
  it(`writes every OTLP time exact to the ns (${encoding}): the stale point 1 ms after the last value, in the next ms, with the value points' start time`, () => {
    const json = encoding === 'json';
    // 1796519187426 ms went out as …425999872 ns; the start a fraction of a ms (the monitor's clock has one).
    const cases = [
      { start: 1796519187000.25, startNs: ns(1796519187000, '25'), last: 1796519187425, stale: 1796519187426 },
      { start: 1796519000123, startNs: ns(1796519000123), last: 1796519187999, stale: 1796519188000 },
      { start: 1796519000999.5, startNs: ns(1796519000999, '5'), last: 1796519187425.75, stale: 1796519187426.75 },
    ];
    for (const c of cases) {
      const encoder = new OtlpEncoder(source, { instance: 'h:1', job: 'svc' }, encoding, 5_000, c.start);
      const live = [...encoder.encode(c.last)].flatMap((b) => points(b.body, json));
      const stale = [...encoder.encodeStale(c.stale)].flatMap((b) => points(b.body, json));
      const [lastWhole, lastFraction = ''] = String(c.last).split('.');
      const [staleWhole, staleFraction = ''] = String(c.stale).split('.');
      expect(live).toHaveLength(3);
      expect(stale).toHaveLength(3);
      for (const p of live) expect([p.flags, p.startTimeUnixNano, p.timeUnixNano]).toEqual([0, c.startNs, ns(Number(lastWhole), lastFraction)]);
      for (const p of stale) expect([p.flags, p.startTimeUnixNano, p.timeUnixNano]).toEqual([1, c.startNs, ns(Number(staleWhole), staleFraction)]);
      // At ms resolution (integer division, as receivers convert), the stale point is in the ms after the last value.
      expect(BigInt(stale[0]!.timeUnixNano) / 1_000_000n - BigInt(live[0]!.timeUnixNano) / 1_000_000n).toBe(1n);
    }
  });
}

it('converts 100,000 consecutive ms, and fractions of a ms, to their exact ns', async () => {
  const { hrTime, nanos } = await import('../dist/src/export/otlp-time.js');
  let wrong = 0;
  for (let ms = 1796519187000; ms < 1796519287000; ms++) if (nanos(ms) !== BigInt(ms) * 1_000_000n) wrong++;
  expect(wrong).toBe(0);
  expect(nanos(1796519187426)).toBe(1796519187426000000n);
  expect(nanos(1796519187425.5)).toBe(1796519187425500000n);
  expect(hrTime(1796519187426)).toEqual([1796519187, 426_000_000]);
  // A fraction rounding up to the next second carries into it (an HrTime's ns stays below 1e9).
  expect(hrTime(999.9999999)).toEqual([1, 0]);
  expect(nanos(0)).toBe(0n);
});
