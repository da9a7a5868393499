/**
 * OTLP/HTTP against a receiver that decodes each request with the official OpenTelemetry
 * protobuf definitions (the generated root of @opentelemetry/otlp-transformer 0.217, the last
 * to ship it, installed as otlp-proto): every point checked, in protobuf and in JSON. Kinds
 * map to a Gauge, a monotonic cumulative Sum and an explicit-bounds Histogram with the bounds
 * of /metrics; the resource carries service.name and service.instance.id.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterEach, expect, it } from 'vitest';
import type { PerformanceMonitor } from '../dist/src/index.js';
import type { SeriesSource, WalkFamily } from '../dist/src/analysis/series-walk.js';
import { OtlpEncoder, pointBytes } from '../dist/src/export/otlp.js';
import { Receiver } from './export-helpers.js';
import { monitorStarter, waitFor } from './helpers.js';

interface Decoder {
  decode(body: Uint8Array): unknown;
  fromObject(o: unknown): unknown;
  toObject(m: unknown, o: object): unknown;
}
const root = createRequire(import.meta.url)('otlp-proto/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: Decoder } } } } };
};
const Request = root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
const Response = (root.opentelemetry.proto.collector.metrics.v1 as unknown as { ExportMetricsServiceResponse: Decoder & { encode(m: unknown): { finish(): Uint8Array } } }).ExportMetricsServiceResponse;

type KeyValue = { key: string; value: { stringValue?: string } };
interface NumberPoint {
  attributes: KeyValue[];
  asDouble: number;
  startTimeUnixNano: number;
  timeUnixNano: number;
  flags: number;
}
interface HistogramPoint {
  attributes: KeyValue[];
  timeUnixNano: number;
  flags: number;
  count: number;
  sum: number;
  bucketCounts: number[];
  explicitBounds: number[];
}
interface Metric {
  name: string;
  unit: string;
  gauge?: { dataPoints: NumberPoint[] };
  sum?: { dataPoints: NumberPoint[]; aggregationTemporality: number; isMonotonic: boolean };
  histogram?: { dataPoints: HistogramPoint[]; aggregationTemporality: number };
}
interface Decoded {
  resourceMetrics: { resource: { attributes: KeyValue[] }; scopeMetrics: { scope: { name: string }; metrics: Metric[] }[] }[];
}

function decode(body: Buffer, json: boolean): Decoded {
  const message = json ? Request.fromObject(JSON.parse(body.toString('utf8'))) : Request.decode(body);
  return Request.toObject(message, { longs: Number, defaults: true, arrays: true }) as Decoded;
}

const attrs = (kv: KeyValue[]): Record<string, string | undefined> => Object.fromEntries(kv.map((a) => [a.key, a.value.stringValue]));

const started = monitorStarter();
const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

const AGG_CUMULATIVE = 2;

async function recorded(m: PerformanceMonitor): Promise<void> {
  m.define({ name: 'queue_depth', kind: 'gauge', unit: 'count' });
  m.define({ name: 'orders', kind: 'counter' });
  m.record('queue_depth', 42.5, { pool: 'a' });
  for (let i = 0; i < 25; i++) m.record('orders', 2, { region: 'eu' });
  for (const v of [0.5, 5, 5, 50, 500]) m.record('api_response_time', v, { route: '/a' });
  await m.flush();
}

for (const encoding of ['protobuf', 'json'] as const) {
  it(`sends every kind as OTLP ${encoding}, decoded with the official definitions`, async () => {
    const r = await new Receiver().listen(0);
    receivers.push(r);
    const m = await started({ export: { otlp: [{ url: r.url, encoding, intervalMs: 3_600_000 }], instance: 'box:7', job: 'checkout', histogramBuckets: [1, 10, 100] } });
    await recorded(m);
    const json = encoding === 'json';
    // The histogram holds closed collection intervals (as /metrics): export until its bucket closed.
    const metrics = await waitFor(async () => {
      await m.exportNow();
      const d = decode(r.requests.at(-1)!.body, json);
      const all = d.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((s) => s.metrics));
      return all.find((x) => x.name === 'api_response_time')?.histogram?.dataPoints[0]?.count === 5 && { d, all };
    }, 15_000, 'the histogram to close its bucket');
    const req = r.requests.at(-1)!;
    expect(req.headers['content-type']).toBe(json ? 'application/json' : 'application/x-protobuf');
    const rm = metrics.d.resourceMetrics;
    expect(rm).toHaveLength(1);
    expect(attrs(rm[0]!.resource.attributes)).toMatchObject({ 'service.name': 'checkout', 'service.instance.id': 'box:7' });
    expect(rm[0]!.scopeMetrics[0]!.scope.name).toBe('perfwatch');
    const by = new Map(metrics.all.map((x) => [x.name, x]));

    const gauge = by.get('queue_depth')!;
    expect(gauge.unit).toBe('{count}');
    expect(gauge.gauge!.dataPoints).toHaveLength(1);
    expect(gauge.gauge!.dataPoints[0]!.asDouble).toBe(42.5);
    expect(attrs(gauge.gauge!.dataPoints[0]!.attributes)).toEqual({ pool: 'a' });

    const sum = by.get('orders')!.sum!;
    expect(sum.isMonotonic).toBe(true);
    expect(sum.aggregationTemporality).toBe(AGG_CUMULATIVE);
    expect(sum.dataPoints[0]!.asDouble).toBe(50);
    expect(attrs(sum.dataPoints[0]!.attributes)).toEqual({ region: 'eu' });
    expect(sum.dataPoints[0]!.startTimeUnixNano).toBeLessThan(sum.dataPoints[0]!.timeUnixNano);

    const hist = by.get('api_response_time')!;
    expect(hist.unit).toBe('ms');
    expect(hist.histogram!.aggregationTemporality).toBe(AGG_CUMULATIVE);
    const p = hist.histogram!.dataPoints[0]!;
    expect(p.explicitBounds).toEqual([1, 10, 100]);
    expect(p.bucketCounts).toEqual([1, 2, 1, 1]);
    expect(p.count).toBe(5);
    expect(p.sum).toBe(560.5);
    expect(attrs(p.attributes)).toEqual({ route: '/a' });

    const st = m.status().export.exporters[0]!;
    expect(st).toMatchObject({ exporter: 'otlp[0]', kind: 'otlp', failed: 0, dropped: 0, queueDepth: 0 });
    expect(st.sent).toBeGreaterThanOrEqual(metrics.all.reduce((a, x) => a + (x.gauge ?? x.sum ?? x.histogram)!.dataPoints.length, 0));
  });
}

for (const encoding of ['protobuf', 'json'] as const) {
  it(`marks every series exported stale at stop() (${encoding}): a point with no recorded value after the last export`, async () => {
    const r = await new Receiver().listen(0);
    receivers.push(r);
    const m = await started({ export: { otlp: [{ url: r.url, encoding, intervalMs: 3_600_000 }], job: 'checkout', histogramBuckets: [1, 10, 100] } });
    await recorded(m);
    await m.stop();
    const json = encoding === 'json';
    const series = (d: Decoded) =>
      d.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((s) => s.metrics)).flatMap((x) => (x.gauge ?? x.sum ?? x.histogram)!.dataPoints.map((p) => ({ key: `${x.name}${JSON.stringify(attrs(p.attributes))}`, kind: x.gauge ? 'gauge' : x.sum ? 'sum' : 'histogram', p: p as NumberPoint | HistogramPoint })));
    const last = series(decode(r.requests.at(-2)!.body, json));
    const staleRequest = decode(r.requests.at(-1)!.body, json);
    const stale = series(staleRequest);
    expect(r.requests.at(-1)!.headers['content-type']).toBe(json ? 'application/json' : 'application/x-protobuf');
    expect(attrs(staleRequest.resourceMetrics[0]!.resource.attributes)).toMatchObject({ 'service.name': 'checkout' });
    expect(last.every((s) => s.p.flags === 0)).toBe(true);
    // Each series of the last export, of the same kind, flagged FLAG_NO_RECORDED_VALUE (1), later than it.
    expect(stale.map((s) => `${s.key} ${s.kind}`).sort()).toEqual(last.map((s) => `${s.key} ${s.kind}`).sort());
    expect(stale.map((s) => s.key)).toEqual(expect.arrayContaining(['queue_depth{"pool":"a"}', 'orders{"region":"eu"}', 'api_response_time{"route":"/a"}']));
    for (const s of stale) {
      expect(s.p.flags).toBe(1);
      expect(s.p.timeUnixNano).toBeGreaterThan(last[0]!.p.timeUnixNano);
    }
    const orders = stale.find((s) => s.key.startsWith('orders'))!.p as NumberPoint;
    // No value, and the cumulative stream's start time.
    expect([orders.asDouble, orders.startTimeUnixNano]).toEqual([undefined, (last.find((s) => s.key.startsWith('orders'))!.p as NumberPoint).startTimeUnixNano]);
  });
}

it('cuts an export into requests of at most maxSamplesPerRequest points', async () => {
  const r = await new Receiver().listen(0);
  receivers.push(r);
  const m = await started({ export: { otlp: [{ url: r.url, intervalMs: 3_600_000 }], maxSamplesPerRequest: 100 } });
  m.define({ name: 'load', kind: 'gauge' });
  for (let i = 0; i < 250; i++) m.record('load', i, { shard: String(i) });
  await m.flush();
  const st = (await m.exportNow()).exporters[0]!;
  const points = r.requests.map((q) => decode(q.body, false).resourceMetrics[0]!.scopeMetrics[0]!.metrics.reduce((a, x) => a + (x.gauge ?? x.sum ?? x.histogram)!.dataPoints.length, 0));
  expect(points.every((n) => n <= 100)).toBe(true);
  expect(points.reduce((a, n) => a + n, 0)).toBe(st.sent);
  const loads = r.requests.flatMap((q) => decode(q.body, false).resourceMetrics[0]!.scopeMetrics[0]!.metrics.filter((x) => x.name === 'load').flatMap((x) => x.gauge!.dataPoints));
  expect(loads.map((d) => d.asDouble).sort((a, b) => a - b)).toEqual(Array.from({ length: 250 }, (_, i) => i));
});

for (const encoding of ['protobuf', 'json'] as const) {
  it(`cuts a request before its points' estimated bytes pass the limit, whatever maxSamplesPerRequest allows (${encoding}); the stale points too`, () => {
    const family: WalkFamily = { name: 'load', kind: 'gauge', unit: '', help: '', prom: 'load', total: 'load', ids: [] };
    const bounds = [1, 2];
    const hist: WalkFamily = { name: 'lat', kind: 'distribution', unit: 'ms', help: '', prom: 'lat', total: 'lat', ids: [] };
    const long = 'é'.repeat(1_000);
    const source: SeriesSource = {
      bounds,
      *points() {
        for (let id = 0; id < 60; id++) {
          const h = id % 2 === 1 ? { next: 0, bins: new Float64Array([id, 1, 0]), count: id + 1, sum: id } : undefined;
          yield { family: h ? hist : family, id, tags: { a: long, shard: String(id) }, value: id, hist: h };
        }
      },
    };
    // A point of the long tag is 3,300-3,500 bytes by the estimate: 5 or 6 fit in 20,000.
    const limit = 20_000;
    let estimated = 0;
    for (let id = 0; id < 60; id++) estimated += pointBytes({ a: long, shard: String(id) }, id % 2 === 1 ? bounds.length : undefined);
    expect(estimated).toBeGreaterThan(9 * limit);
    const encoder = new OtlpEncoder(source, { instance: 'h:1', job: 'svc' }, encoding, 5_000, Date.now(), limit);
    const live = [...encoder.encode(Date.now())];
    const stale = [...encoder.encodeStale(Date.now() + 1)];
    for (const [batches, flags] of [
      [live, 0],
      [stale, 1],
    ] as const) {
      expect(batches.length).toBeGreaterThanOrEqual(Math.ceil(estimated / limit));
      const shards: number[] = [];
      for (const b of batches) {
        expect(b.body.length).toBeLessThanOrEqual(limit);
        const points = decode(Buffer.from(b.body), encoding === 'json').resourceMetrics[0]!.scopeMetrics[0]!.metrics.flatMap((x) => (x.gauge ?? x.sum ?? x.histogram)!.dataPoints as { attributes: KeyValue[]; flags: number }[]);
        expect(points.length).toBe(b.samples);
        for (const d of points) {
          expect(d.flags).toBe(flags);
          shards.push(Number(attrs(d.attributes)['shard']));
        }
      }
      expect(shards.sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    }
  });
}

for (const encoding of ['protobuf', 'json'] as const) {
  it(`a 200 that takes the request in part (OTLP partial success, ${encoding}): the rejected points count as failed, the receiver's reason is the last error, nothing retried`, async () => {
    const json = encoding === 'json';
    const points: number[] = [];
    // The first request is taken in part, 3 of its points rejected; the rest whole.
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const d = decode(Buffer.concat(chunks), json);
        points.push(d.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((s) => s.metrics)).reduce((a, x) => a + (x.gauge ?? x.sum ?? x.histogram)!.dataPoints.length, 0));
        // JSON's int64 is a string (the protobuf JSON mapping).
        const answer = points.length === 1 ? { partialSuccess: { rejectedDataPoints: json ? '3' : 3, errorMessage: 'points older than the window' } } : {};
        const body = json ? Buffer.from(JSON.stringify(answer)) : Buffer.from(Response.encode(Response.fromObject(answer)).finish());
        res.writeHead(200, { 'Content-Type': json ? 'application/json' : 'application/x-protobuf' }).end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receivers.push({ close: async () => void (await new Promise((resolve) => server.close(resolve))) } as Receiver);
    const m = await started({ export: { otlp: [{ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/metrics`, encoding, intervalMs: 3_600_000 }] } });
    await recorded(m);
    const first = (await m.exportNow()).exporters[0]!;
    const said = new RegExp(`took the request in part: 3 of ${points[0]} points rejected \\(points older than the window\\), not retried`);
    expect(first.lastError?.message).toMatch(said);
    const st = (await m.exportNow()).exporters[0]!;
    expect(points.length).toBeGreaterThanOrEqual(2);
    expect(st).toMatchObject({ failed: 3, retries: 0, dropped: 0, queueDepth: 0 });
    expect(st.sent + st.failed).toBe(points.reduce((a, n) => a + n, 0));
    // The next request taken whole clears the last error; the fault keeps what was rejected.
    expect(st.lastError).toBeNull();
    expect(m.status().faults.byKind['export-rejected']).toMatchObject({ count: 1, lastMessage: expect.stringMatching(said) });
  });
}


it('retries a 429, 502, 503 and 504 as the OTLP specification says, and takes any other 5xx as final: the collector answers 500 for a request it will never take', async () => {
  const r = await new Receiver().listen(0);
  receivers.push(r);
  const m = await started({ export: { otlp: [{ url: r.url, intervalMs: 3_600_000 }], retryBaseMs: 10, retryMaxMs: 10 } });
  await recorded(m);
  r.script.push(502, 503, 504, 429);
  let st = (await m.exportNow()).exporters[0]!;
  // Each exportNow returns when the head waits for a retry or the queue is empty.
  while (st.queueDepth > 0) st = (await m.exportNow()).exporters[0]!;
  expect(r.requests.map((q) => q.status).slice(0, 5)).toEqual([502, 503, 504, 429, 200]);
  expect(st).toMatchObject({ retries: 4, failed: 0 });

  // Retried, a 500 held the queue's head for good, every export behind it dropped as the queue filled.
  for (const status of [500, 501]) {
    r.script.push(status);
    const before = r.requests.length;
    const failedBefore = st.failed;
    st = (await m.exportNow()).exporters[0]!;
    expect(r.requests.length).toBe(before + 1);
    const points = decode(r.requests.at(-1)!.body, false).resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((x) => x.metrics)).reduce((a, x) => a + (x.gauge ?? x.sum ?? x.histogram)!.dataPoints.length, 0);
    expect(st).toMatchObject({ retries: 4, queueDepth: 0, failed: failedBefore + points });
    expect(st.lastError?.message).toContain(`answered ${status} `);
    expect(st.lastError?.message).toContain(`: ${points} points failed, not retried (OTLP retries a 5xx only when it is 502, 503 or 504)`);
  }
  expect(m.status().faults.byKind['export-rejected']?.count).toBe(2);
  // The next export goes out as usual.
  const sent = st.sent;
  st = (await m.exportNow()).exporters[0]!;
  expect(r.requests.at(-1)!.status).toBe(200);
  expect(st.sent).toBeGreaterThan(sent);
  expect(st.lastError).toBeNull();
});

it('keeps the start time of the cumulative points across a stop and start, as the counts go on from where they were', async () => {
  const r = await new Receiver().listen(0);
  receivers.push(r);
  const m = await started({ export: { otlp: [{ url: r.url, intervalMs: 3_600_000 }] } });
  m.define({ name: 'orders', kind: 'counter' });
  const orders = (): NumberPoint => {
    const d = decode(r.requests.at(-1)!.body, false);
    return d.resourceMetrics[0]!.scopeMetrics[0]!.metrics.find((x) => x.name === 'orders')!.sum!.dataPoints[0]!;
  };
  m.record('orders', 5);
  await m.flush();
  await m.exportNow();
  const before = orders();
  await m.stop();
  await m.start();
  m.record('orders', 5);
  await m.flush();
  await m.exportNow();
  const after = orders();
  // The same cumulative stream: a start time that moved would read, to a receiver computing
  // deltas, as a reset, and count the 5 before the restart again.
  expect(after.asDouble).toBe(10);
  expect(after.startTimeUnixNano).toBe(before.startTimeUnixNano);
});

it("sends at stop() every sample recorded, the histograms' open collection interval included", async () => {
  const r = await new Receiver().listen(0);
  receivers.push(r);
  // An interval of a minute: the samples are still in the open bucket when the monitor stops.
  const m = await started({ collectionIntervalMs: 60_000, export: { otlp: [{ url: r.url, intervalMs: 3_600_000 }], histogramBuckets: [1, 10, 100] } });
  for (const v of [0.5, 5, 5, 50, 500]) m.record('api_response_time', v, { route: '/a' });
  await m.stop();
  // The last export, before the series' stale markers.
  const d = decode(r.requests.at(-2)!.body, false);
  const p = d.resourceMetrics[0]!.scopeMetrics[0]!.metrics.find((x) => x.name === 'api_response_time')!.histogram!.dataPoints[0]!;
  expect(p.bucketCounts).toEqual([1, 2, 1, 1]);
  expect(p.count).toBe(5);
  expect(p.sum).toBe(560.5);
});

for (const encoding of ['protobuf', 'json'] as const) {
  it(`marks a series exported before and no longer there stale in the next export, once (${encoding}): a hub's forgotten member's point vanished without FLAG_NO_RECORDED_VALUE`, () => {
    const gauge: WalkFamily = { name: 'load', kind: 'gauge', unit: '', help: '', prom: 'load', total: 'load', ids: [] };
    const hist: WalkFamily = { name: 'lat', kind: 'distribution', unit: 'ms', help: '', prom: 'lat', total: 'lat', ids: [] };
    const live = new Set([0, 1, 2, 3]);
    const source: SeriesSource = {
      bounds: [1],
      *points() {
        for (const id of [...live].sort()) {
          const h = id % 2 === 1 ? { next: 0, bins: new Float64Array([1, 0]), count: 1, sum: 0.5 } : undefined;
          yield { family: h ? hist : gauge, id, tags: { shard: String(id) }, value: id, hist: h };
        }
      },
    };
    const encoder = new OtlpEncoder(source, { instance: 'h:1', job: 'svc' }, encoding, 5_000, 1_000);
    const exported = (now: number) =>
      [...encoder.encode(now)].flatMap((b) => decode(Buffer.from(b.body), encoding === 'json').resourceMetrics[0]!.scopeMetrics[0]!.metrics.flatMap((x) => ((x.gauge ?? x.histogram)!.dataPoints as { attributes: KeyValue[]; flags: number; timeUnixNano: number }[]).map((d) => ({ series: `${x.name}/${attrs(d.attributes)['shard']}`, flags: d.flags, at: d.timeUnixNano }))));
    const flagged = (points: { series: string; flags: number }[]) => points.filter((p) => p.flags === 1).map((p) => p.series).sort();
    expect(flagged(exported(2_000))).toEqual([]);
    live.delete(1);
    live.delete(2);
    const gone = exported(3_000);
    expect(flagged(gone)).toEqual(['lat/1', 'load/2']);
    expect(gone.filter((p) => p.flags === 0).map((p) => p.series).sort()).toEqual(['lat/3', 'load/0']);
    expect(new Set(gone.map((p) => p.at))).toEqual(new Set([3_000 * 1e6]));
    // Once: they are let go, and a series back is exported again.
    expect(flagged(exported(4_000))).toEqual([]);
    live.add(2);
    expect(exported(5_000).map((p) => `${p.series} ${p.flags}`).sort()).toEqual(['lat/3 0', 'load/0 0', 'load/2 0']);
  });
}
