/**
 * remote_write against a local receiver whose answers the test scripts: what a request
 * carries (headers, sorted labels, instance and job, the histogram as /metrics shows it), a
 * 5xx retried until taken, a 429's Retry-After waited (capped), a 4xx counted and not
 * retried, a full queue dropping its oldest
 * and counting, and an endpoint that is away and comes back (the queue drains, lag back to 0);
 * the last export at stop(), with every sample recorded and the series' stale markers after it.
 * The real Prometheus receiving it is in export-prometheus.test.ts.
 */
import { STATUS_CODES, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type MonitorOptions } from '../dist/src/index.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { SeriesPoint, SeriesSource, WalkFamily } from '../dist/src/analysis/series-walk.js';
import { Endpoint } from '../dist/src/export/endpoint.js';
import { ExportService } from '../dist/src/export/service.js';
import { RETRY_AFTER_MAX_MS, retryAfterMs } from '../dist/src/retry-after.js';
import snappy from 'snappyjs';
import { decodeWrite, Receiver, sampleCount, seriesValues } from './export-helpers.js';
import { longAnswer, monitorStarter, waitFor } from './helpers.js';

const started = monitorStarter();
const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function receiver(): Promise<Receiver> {
  const r = await new Receiver().listen(0);
  receivers.push(r);
  return r;
}

/** A monitor pushing to `url` only when asked (exportNow): its interval is an hour. */
function pushing(url: string, more: Record<string, unknown> = {}, options: MonitorOptions = {}): Promise<PerformanceMonitor> {
  return started({ ...options, export: { remoteWrite: [{ url, intervalMs: 3_600_000, headers: { Authorization: 'Bearer s3cret' } }], instance: 'test-host:1', job: 'svc', retryBaseMs: 10, retryMaxMs: 20, ...more } });
}

/** `total` gauge series pool_size{pool=i} = i, as a SeriesSource, and how many the walks visited so far. */
function gauges(total: number): { source: SeriesSource; walked: () => number } {
  let walked = 0;
  const family = { name: 'pool_size', kind: 'gauge', unit: '', help: '', prom: 'pool_size', total: 'pool_size', ids: [] } as const;
  const source: SeriesSource = {
    bounds: [1],
    *points() {
      const p: SeriesPoint = { family: { ...family, ids: [] }, id: 0, tags: {}, value: 0, hist: undefined };
      for (let i = 0; i < total; i++) {
        p.id = i;
        p.tags = { pool: String(i) };
        p.value = i;
        walked++;
        yield p;
      }
    },
  };
  return { source, walked: () => walked };
}

/** An export service of `source` to `url` alone, 100 samples a request, pushing only when asked. */
function pushingGauges(source: SeriesSource, url: string, clock?: () => number): ExportService {
  const config = { remoteWrite: [{ url, intervalMs: 3_600_000, timeoutMs: 5_000 }], otlp: [], instance: 'test-host:1', job: 'svc', histogramBuckets: [1], maxSamplesPerRequest: 100, queueLimit: 60, retryBaseMs: 10, retryMaxMs: 20 };
  return new ExportService(source, config, Date.now(), clock);
}

/** One gauge series: every export is one request of one sample. */
async function oneGauge(m: PerformanceMonitor): Promise<void> {
  m.define({ name: 'queue_depth', kind: 'gauge' });
  m.record('queue_depth', 7);
  await m.flush();
}

describe('remote_write', () => {
  it('sends a snappy WriteRequest with the 1.0 headers, labels sorted, instance and job set, the histogram with /metrics bounds', async () => {
    const r = await receiver();
    const m = await pushing(r.url, { histogramBuckets: [1, 10, 100] });
    m.define({ name: 'queue_depth', kind: 'gauge' });
    m.define({ name: 'jobs', kind: 'counter' });
    m.record('queue_depth', 42.5, { Zone: 'b', az: 'a' });
    m.record('jobs', 3, { kind: 'x' });
    m.record('jobs', 4, { kind: 'x' });
    for (const v of [0.5, 5, 5, 50, 500]) m.record('api_response_time', v, { route: '/a' });
    await m.flush();
    // The histogram's buckets are those of closed collection intervals, as on /metrics.
    const count = 'api_response_time_count{instance="test-host:1",job="svc",route="/a"}';
    await waitFor(async () => {
      await m.exportNow();
      return seriesValues(decodeWrite(r.requests.at(-1)!.body)).get(count) === 5;
    }, 15_000, 'the histogram to close its bucket');
    const req = r.requests.at(-1)!;
    expect(req.headers['content-encoding']).toBe('snappy');
    expect(req.headers['content-type']).toBe('application/x-protobuf');
    expect(req.headers['x-prometheus-remote-write-version']).toBe('0.1.0');
    expect(req.headers['user-agent']).toMatch(/^perfwatch\//);
    expect(req.headers.authorization).toBe('Bearer s3cret');
    const series = decodeWrite(req.body);
    for (const s of series) {
      const names = s.labels.map((l) => l.name);
      expect(names).toEqual([...names].sort());
      // One sample, or a counter's first export: its 0 before it (the reset test below).
      expect(s.samples.length === 1 || (s.samples.length === 2 && s.samples[0]!.value === 0)).toBe(true);
    }
    const v = seriesValues(series);
    expect(v.get('queue_depth{Zone="b",az="a",instance="test-host:1",job="svc"}')).toBe(42.5);
    expect(v.get('jobs_total{instance="test-host:1",job="svc",kind="x"}')).toBe(7);
    const h = (le: string) => v.get(`api_response_time_bucket{instance="test-host:1",job="svc",le="${le}",route="/a"}`);
    expect([h('1'), h('10'), h('100'), h('+Inf')]).toEqual([1, 3, 4, 5]);
    expect(v.get(count)).toBe(5);
    expect(v.get('api_response_time_sum{instance="test-host:1",job="svc",route="/a"}')).toBe(560.5);
    const st = m.status().export.exporters[0]!;
    expect(st).toMatchObject({ exporter: 'remoteWrite[0]', kind: 'remoteWrite', failed: 0, dropped: 0, queueDepth: 0, lagMs: 0 });
    expect(st.sent).toBe(r.requests.reduce((a, q) => a + decodeWrite(q.body).reduce((n, s) => n + s.samples.length, 0), 0));
    expect(st.url).toBe(r.url);
  });

  it('retries a 5xx (and a 429) with backoff until the receiver takes it; a 4xx is final, counted as failed and logged as a fault', async () => {
    const r = await receiver();
    const m = await pushing(r.url);
    await oneGauge(m);
    r.script.push(503, 500, 429);
    let st = (await m.exportNow()).exporters[0]!;
    // Each exportNow returns when the head waits for a retry or the queue is empty.
    while (st.queueDepth > 0) st = (await m.exportNow()).exporters[0]!;
    expect(r.requests.map((q) => q.status).slice(0, 4)).toEqual([503, 500, 429, 200]);
    expect(st.retries).toBe(3);
    expect(st.failed).toBe(0);
    const sentBefore = st.sent;
    expect(sentBefore).toBeGreaterThan(0);

    r.script.push(400);
    const before = r.requests.length;
    st = (await m.exportNow()).exporters[0]!;
    expect(r.requests.length).toBe(before + 1);
    expect(r.requests.at(-1)!.status).toBe(400);
    expect(st.failed).toBe(sampleCount(r.requests.at(-1)!.body));
    expect(st.retries).toBe(3);
    expect(st.queueDepth).toBe(0);
    expect(st.lastError).toMatchObject({ status: 400 });
    expect(m.status().faults.byKind['export-rejected']?.count).toBe(1);
    // The next export goes out as usual.
    st = (await m.exportNow()).exporters[0]!;
    expect(r.requests.at(-1)!.status).toBe(200);
    expect(st.sent).toBeGreaterThan(sentBefore);
  });

  it('clears lastError once the endpoint takes a whole request again, as storage does; the failures stay counted', async () => {
    // A user reading status after the endpoint recovered read its last 503 and took it for failing still.
    const r = await receiver();
    const m = await pushing(r.url);
    await oneGauge(m);
    r.script.push(503);
    let st = (await m.exportNow()).exporters[0]!;
    expect(st.lastError).toMatchObject({ status: 503 });
    while (st.queueDepth > 0) st = (await m.exportNow()).exporters[0]!;
    expect(r.requests.map((q) => q.status).slice(0, 2)).toEqual([503, 200]);
    expect(st).toMatchObject({ retries: 1, lastError: null });
    expect(st.lastSuccessAt).toBeGreaterThanOrEqual(r.requests[1]!.at);

    // A 4xx is final: it stays the last error (and a fault) until a request is taken.
    r.script.push(400);
    st = (await m.exportNow()).exporters[0]!;
    expect(st.lastError).toMatchObject({ status: 400 });
    st = (await m.exportNow()).exporters[0]!;
    expect(st).toMatchObject({ lastError: null, retries: 1 });
    expect(st.failed).toBeGreaterThan(0);
    expect(m.status().faults.byKind['export-rejected']?.count).toBe(1);
  });

  it('waits as long as a 429 asks with Retry-After before the next attempt, says so, and then delivers the batch', async () => {
    const r = await receiver();
    const m = await pushing(r.url); // backoff 10 ms, at most 20
    await oneGauge(m);
    r.script.push({ status: 429, headers: { 'Retry-After': '2' } });
    const st = (await m.exportNow()).exporters[0]!;
    // exportNow resolved with the head waiting for its retry, and did not cut that wait short.
    expect(st).toMatchObject({ sent: 0, retries: 1, queueDepth: 1, lastError: { status: 429 } });
    expect(st.lastError!.message).toBe(`${r.url} answered 429 Too Many Requests (no): Retry-After 2 s, next attempt in 2 s`);
    const delivered = await waitFor(() => {
      const now = m.status().export.exporters[0]!;
      return now.sent > 0 && now.queueDepth === 0 && now;
    }, 20_000, 'the batch delivered after the wait');
    expect(r.requests.map((q) => q.status)).toEqual([429, 200]);
    // The second attempt came no sooner than the receiver asked (a generous bound: the backoff alone is 10 ms).
    expect(r.requests[1]!.at - r.requests[0]!.at).toBeGreaterThanOrEqual(1_900);
    expect(r.requests[1]!.body).toEqual(r.requests[0]!.body);
    expect(delivered).toMatchObject({ sent: sampleCount(r.requests[1]!.body), retries: 1, failed: 0 });
  });

  it("caps a 503's Retry-After at RETRY_AFTER_MAX_MS and says so; exportNow does not cut that wait short", async () => {
    const r = await receiver();
    const m = await pushing(r.url);
    await oneGauge(m);
    r.script.push({ status: 503, headers: { 'Retry-After': new Date(Date.now() + 86_400_000).toUTCString() } });
    let st = (await m.exportNow()).exporters[0]!;
    expect(st.lastError!.message).toMatch(/answered 503 Service Unavailable \(no\): Retry-After 86\d{3}(\.\d)? s, next attempt in 300 s \(capped at 300 s, RETRY_AFTER_MAX_MS\)$/);
    st = (await m.exportNow()).exporters[0]!;
    expect(r.requests).toHaveLength(1);
    expect(st).toMatchObject({ retries: 1, queueDepth: 2, sent: 0 });
  });

  it('reads Retry-After as delay-seconds or an HTTP-date in its three forms, and nothing else', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    expect(retryAfterMs('2', now)).toBe(2_000);
    expect(retryAfterMs(' 120 ', now)).toBe(120_000);
    expect(retryAfterMs('Tue, 01 Dec 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Tuesday, 01-Dec-26 12:01:00 GMT', now)).toBe(60_000);
    expect(retryAfterMs('Tue Dec  1 12:00:05 2026', now)).toBe(5_000);
    expect(retryAfterMs('Tue, 01 Dec 2026 11:00:00 GMT', now)).toBe(0);
    for (const bad of [null, '', '-1', '1.5', 'soon', '2026-12-01T12:00:30Z']) expect(retryAfterMs(bad, now)).toBeUndefined();
    expect(RETRY_AFTER_MAX_MS).toBe(300_000);
  });

  it("reads no more than the start of a refusal, however long it is, and names its status and first words", async () => {
    // A proxy's error page, or a URL that points at something else: 64 MiB of it, a 503.
    const accepted: number[] = [];
    const server: Server = createServer((req, res) => longAnswer(req, res, 503, 64 * 1024 * 1024, (written) => accepted.push(written)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const m = await pushing(`http://127.0.0.1:${(server.address() as AddressInfo).port}/receive`, { retryBaseMs: 60_000, retryMaxMs: 60_000 });
      await oneGauge(m);
      const st = (await m.exportNow()).exporters[0]!;
      expect(st).toMatchObject({ sent: 0, retries: 1, queueDepth: 1, lastError: { status: 503, message: expect.stringMatching(/answered 503 Service Unavailable \(a{199}…\)$/) } });
      await waitFor(() => accepted.length === 1, 10_000, 'the receiver to see its answer cut');
      // What the receiver got off its hands: the start read, plus what the two sockets' buffers hold.
      expect(accepted[0]).toBeLessThan(16 * 1024 * 1024);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('sends a header given in any case in place of the exporter\'s own, one value, never both joined by a comma', async () => {
    const r = await receiver();
    const headers = { 'user-agent': 'checkout-exporter/2', 'x-prometheus-remote-write-version': '0.1.0', 'X-Scope-OrgID': 'tenant-1' };
    const m = await started({ export: { remoteWrite: [{ url: r.url, intervalMs: 3_600_000, headers }], otlp: [{ url: `${r.url}/v1/metrics`, intervalMs: 3_600_000, headers }], retryBaseMs: 10, retryMaxMs: 20 } });
    await oneGauge(m);
    await m.exportNow();
    const byPath = (path: string) => r.requests.find((q) => q.path === path)!.headers;
    for (const h of [byPath('/receive'), byPath('/receive/v1/metrics')]) {
      // Merged as object keys, `user-agent` went out beside `User-Agent`: "perfwatch/0.1.0, checkout-exporter/2".
      expect(h['user-agent']).toBe('checkout-exporter/2');
      expect(h['x-scope-orgid']).toBe('tenant-1');
      expect(h['content-type']).toBe('application/x-protobuf');
    }
    expect(byPath('/receive')['x-prometheus-remote-write-version']).toBe('0.1.0');
    expect(byPath('/receive')['content-encoding']).toBe('snappy');
  });

  it("sends a URL's user info as Basic authorization, and shows neither it nor the query in status", async () => {
    const r = await receiver();
    const url = r.url.replace('http://', 'http://ops%40acme:s3cr%3At@') + '?tenant=t1';
    const m = await started({ export: { remoteWrite: [{ url, intervalMs: 3_600_000 }], retryBaseMs: 10, retryMaxMs: 20 } });
    await oneGauge(m);
    r.script.push(400);
    let st = (await m.exportNow()).exporters[0]!;
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0]!.path).toBe('/receive?tenant=t1');
    expect(r.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('ops@acme:s3cr:t').toString('base64')}`);
    // A refusal names the receiver's reason (its body) and counts the samples as failed.
    const refused = sampleCount(r.requests[0]!.body);
    expect(st.lastError?.message).toBe(`${r.url}?… answered 400 Bad Request (no): ${refused} samples failed, not retried (a 4xx is final)`);
    st = (await m.exportNow()).exporters[0]!;
    expect(r.requests.at(-1)!.status).toBe(200);
    expect(st).toMatchObject({ url: `${r.url}?…`, failed: refused, sent: sampleCount(r.requests.at(-1)!.body) });
    expect(JSON.stringify(m.status())).not.toContain('s3cr');
  });

  it("cuts the URL's and headers' credentials out of a receiver's reason that echoes its request, wherever status shows it", async () => {
    const r = await receiver();
    const basic = Buffer.from('ops:Pa55word-x').toString('base64');
    const url = `${r.url.replace('http://', 'http://ops:Pa55word-x@')}/Tok3nInPath9?api_key=K3y%2Fsecret&tenant=t1`;
    const m = await started({ export: { remoteWrite: [{ url, intervalMs: 3_600_000, headers: { 'X-Api-Key': 'Hdr5ecret-value' } }], retryBaseMs: 10, retryMaxMs: 20 } });
    await oneGauge(m);
    // A receiver that echoes the request it refuses: its target (encoded and decoded), its headers.
    const echoed = `denied /receive/Tok3nInPath9?api_key=K3y%2Fsecret&tenant=t1 (api_key K3y/secret) key=Hdr5ecret-value auth=Basic ${basic} user ops:Pa55word-x`;
    r.script.push({ status: 401, headers: {}, body: echoed });
    const st = (await m.exportNow()).exporters[0]!;
    expect(r.requests[0]!.headers['x-api-key']).toBe('Hdr5ecret-value');
    expect(st.lastError?.message).toBe(`${r.url}/…?… answered 401 Unauthorized (denied /receive/…?api_key=…&tenant=t1 (api_key …) key=… auth=… user ops:…): ${sampleCount(r.requests[0]!.body)} samples failed, not retried (a 4xx is final)`);
    expect(JSON.stringify(m.status())).not.toMatch(/Pa55word|Tok3nInPath|K3y|Hdr5ecret|${basic}/);
  });

  it("says of a 413 the request's size, that it is over the receiver's limit, and the option that makes requests smaller, when it can", async () => {
    for (const pools of [3, 150]) {
      const r = await receiver();
      const m = await pushing(r.url, { maxSamplesPerRequest: 1_000 });
      m.define({ name: 'pool_size', kind: 'gauge' });
      for (let i = 0; i < pools; i++) m.record('pool_size', i, { pool: String(i) });
      await m.flush();
      r.script.push({ status: 413, headers: {}, body: 'request entity too large' });
      const st = (await m.exportNow()).exporters[0]!;
      expect(r.requests).toHaveLength(1);
      const sent = sampleCount(r.requests[0]!.body);
      // At or below the option's least (100) it cannot cut the request: it said to set it
      // below the request's count, which the option refused.
      const advice = sent > 100 ? `set export.maxSamplesPerRequest (1000 now) below ${sent} to send smaller requests` : 'export.maxSamplesPerRequest cannot make it smaller (it takes 100 samples at least, and cuts by samples, not by bytes)';
      expect(sent > 100).toBe(pools > 100);
      // Before, it said "answered 413 Payload Too Large (…): N samples failed", and no more.
      expect(st.lastError).toMatchObject({
        status: 413,
        message: `${r.url} answered 413 ${STATUS_CODES[413]} (request entity too large); the request was ${r.requests[0]!.body.byteLength} bytes (${sent} samples), over the receiver's limit on a request: ${advice}, or raise that limit: ${sent} samples failed, not retried (a 4xx is final)`,
      });
      expect(st.failed).toBe(sent);
      await m.stop();
    }
  });

  it('does not follow a redirect: the batch is failed, not retried, and the error names where it points', async () => {
    // fetch followed a 301 to a POST with a GET without the body, and the new URL's 200
    // counted the samples as sent though no receiver had them.
    const r = await receiver();
    const m = await pushing(r.url);
    await oneGauge(m);
    r.script.push({ status: 301, headers: { Location: '/moved' } });
    const st = (await m.exportNow()).exporters[0]!;
    expect(r.requests.map((q) => [q.status, q.path])).toEqual([[301, '/receive']]);
    const samples = sampleCount(r.requests[0]!.body);
    expect(st).toMatchObject({ sent: 0, failed: samples, retries: 0, queueDepth: 0, lastError: { status: 301 } });
    expect(st.lastError!.message).toBe(
      `${r.url} answered 301 Moved Permanently, redirected to ${new URL('/moved', r.url).href}: redirects are not followed (the samples would not reach the receiver), configure that URL instead: ${samples} samples failed, not retried (a redirect is final)`,
    );
  });

  it("shows where a redirect points as the endpoint's own URL is shown, and not the answer's body, which repeats it: its user info, path and query may be credentials", async () => {
    // The Location was shown whole but its user info (a signed URL's token, a path that is a
    // key), and the body's first words said it again ("Redirecting to …").
    const r = await receiver();
    const m = await pushing(r.url);
    await oneGauge(m);
    const moved = 'https://user:pa55@mimir.example/tenant-k3y/api/v1/push?token=s3cret';
    r.script.push({ status: 307, headers: { Location: moved }, body: `Redirecting to ${moved}` });
    const st = (await m.exportNow()).exporters[0]!;
    const samples = sampleCount(r.requests[0]!.body);
    expect(st.lastError!.message).toBe(
      `${r.url} answered 307 Temporary Redirect, redirected to https://mimir.example/tenant-k3y/api/v1/push?…: redirects are not followed (the samples would not reach the receiver), configure that URL instead: ${samples} samples failed, not retried (a redirect is final)`,
    );
    expect(JSON.stringify(m.status())).not.toMatch(/pa55|s3cret/);
  });

  it('refuses an export to a port fetch never connects to with the options, naming the field and the port', () => {
    // 6000 (X11) is on the Fetch standard's "bad port" list: every request would fail at once.
    expect(() => new PerformanceMonitor({ storage: 'memory', export: { remoteWrite: [{ url: 'http://127.0.0.1:6000/receive' }] } })).toThrow(
      /^export\.remoteWrite\[0\]\.url has port 6000, which fetch refuses to connect to/,
    );
  });

  it('leaves an Authorization header of the options in place of the URL\'s user info', async () => {
    const r = await receiver();
    const m = await pushing(r.url.replace('http://', 'http://u:p@'));
    await oneGauge(m);
    await m.exportNow();
    expect(r.requests.at(-1)!.headers.authorization).toBe('Bearer s3cret');
  });

  it('gives up on a request the receiver never answers after timeoutMs, says so and retries it, garbage collections meanwhile', async () => {
    // Node 20's AbortSignal.any() holds its sources weakly: a timeout signal held by nothing
    // else was collected at the next GC and never fired (the exporter's thread collects while
    // it encodes the next export), so the head waited for good, with no error said.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const heard: number[] = [];
    const server: Server = createServer((req) => {
      req.resume();
      heard.push(Date.now()); // and never answered
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/receive`;
    const e = new Endpoint({ kind: 'remoteWrite', url, headers: {}, timeoutMs: 300, queueLimit: 4, retryBaseMs: 60_000, retryMaxMs: 60_000, maxSamplesPerRequest: 5_000 });
    try {
      e.enqueue([{ body: new Uint8Array(16), samples: 3, at: Date.now() }]);
      await waitFor(() => heard.length === 1, 10_000, 'the request to reach the receiver');
      const collect = setInterval(gc, 20);
      // drain() resolves once the head failed and waits for its retry: a hang guard, not a timing assert.
      const drained = await Promise.race([e.drain().then(() => true), new Promise((resolve) => setTimeout(resolve, 10_000, false))]);
      clearInterval(collect);
      expect(drained, 'the head given up after timeoutMs').toBe(true);
      expect(e.status(Date.now())).toMatchObject({ sent: 0, failed: 0, retries: 1, queueDepth: 1, lastError: { status: null, message: `${url}: no answer within 300 ms (timeoutMs)` } });
    } finally {
      e.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('sends an export cut into more requests than queueLimit whole to a receiver that takes everything, dropping nothing', async () => {
    // The queue dropped the oldest beyond queueLimit as the export's own requests were queued:
    // an export larger than the queue (many series, many histogram buckets) lost its first
    // requests, the same series each time, to a receiver that never failed.
    const r = await receiver();
    const m = await pushing(r.url, { queueLimit: 2, maxSamplesPerRequest: 100 });
    m.define({ name: 'pool_size', kind: 'gauge' });
    for (let i = 0; i < 500; i++) m.record('pool_size', i, { pool: String(i) });
    await m.flush();
    const st = (await m.exportNow()).exporters[0]!;
    // 500 series at 100 samples a request: at least 5 requests, more than queueLimit (the
    // monitor's own series add some when they have samples by then).
    expect(r.requests.length).toBeGreaterThanOrEqual(5);
    expect(st).toMatchObject({ dropped: 0, failed: 0, queueDepth: 0 });
    const values = new Map(r.requests.flatMap((q) => [...seriesValues(decodeWrite(q.body))]));
    for (let i = 0; i < 500; i++) expect(values.get(`pool_size{instance="test-host:1",job="svc",pool="${i}"}`)).toBe(i);
    expect(st.sent).toBe(r.requests.reduce((n, q) => n + sampleCount(q.body), 0));
  });

  it("pushes at stop() every sample recorded, the histograms' open collection interval included, then marks each series stale", async () => {
    const r = await receiver();
    // An interval of a minute: the samples are still in the open bucket when the monitor stops.
    const m = await pushing(r.url, { histogramBuckets: [1, 10, 100] }, { collectionIntervalMs: 60_000 });
    m.define({ name: 'jobs', kind: 'counter' });
    m.record('jobs', 3);
    for (const v of [0.5, 5, 5, 50, 500]) m.record('api_response_time', v, { route: '/a' });
    await m.stop();
    const sent = r.requests.map((q) => seriesValues(decodeWrite(q.body)));
    const stale = sent.at(-1)!;
    const last = sent.at(-2)!;
    const h = (le: string) => last.get(`api_response_time_bucket{instance="test-host:1",job="svc",le="${le}",route="/a"}`);
    // The counter had them; the histogram of the closed intervals alone pushed none of them.
    expect(last.get('jobs_total{instance="test-host:1",job="svc"}')).toBe(3);
    expect([h('1'), h('10'), h('100'), h('+Inf')]).toEqual([1, 3, 4, 5]);
    expect(last.get('api_response_time_count{instance="test-host:1",job="svc",route="/a"}')).toBe(5);
    expect(last.get('api_response_time_sum{instance="test-host:1",job="svc",route="/a"}')).toBe(560.5);
    expect([...stale.keys()].sort()).toEqual([...last.keys()].sort());
    expect([...stale.values()].every(Number.isNaN)).toBe(true);
  });

  it('counts in status after stop() the last export and the stale markers it delivered, and a request never answered as dropped, saying why they waited', async () => {
    // The counts after a stop were those of the refresh before it: the last export and the
    // stale markers a receiver took were in no count, even after the next start, and the
    // requests abandoned at the stop showed as still waiting.
    const r = await receiver();
    const m = await pushing(r.url);
    await oneGauge(m);
    await m.exportNow();
    await m.stop();
    const delivered = r.requests.reduce((n, q) => n + sampleCount(q.body), 0);
    expect(r.requests.length).toBeGreaterThanOrEqual(3); // the export, the last export, the stale markers
    expect(m.status().export.exporters[0]).toMatchObject({ sent: delivered, requests: r.requests.length, dropped: 0, queueDepth: 0, queuedSamples: 0 });

    const heard: number[] = [];
    const silent: Server = createServer((req) => {
      req.resume();
      heard.push(Date.now()); // and never answered
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const away = await pushing(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/receive`);
      await oneGauge(away);
      await away.stop();
      expect(heard.length).toBe(1);
      const st = away.status().export.exporters[0]!;
      expect(st).toMatchObject({ sent: 0, queueDepth: 0, queuedSamples: 0, lagMs: 0 });
      // The last export and its stale markers: every sample of them dropped.
      expect(st.dropped).toBeGreaterThan(1);
      expect(st.lastError?.message).toContain(`: the monitor stopped with 2 requests not delivered (${st.dropped} samples dropped)`);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }

    // A receiver away: the failure that kept the requests waiting stays said after the stop.
    const gone = await receiver();
    await gone.close();
    const refused = await pushing(gone.url);
    await oneGauge(refused);
    await refused.exportNow();
    await refused.stop();
    const message = refused.status().export.exporters[0]!.lastError?.message;
    expect(message).toMatch(/: the monitor stopped with \d+ requests not delivered \(\d+ samples dropped\); the last failure before it: http:\/\/127\.0\.0\.1:\d+\/receive: /);
    expect(message).toContain('ECONNREFUSED');
  });

  it('gives the thread back between the requests of one export, so that a large one cannot hold the exporter past its heartbeat', async () => {
    // Encoded in one go, 100,000 histograms (1.8 million samples) took longer than the
    // exporter's heartbeat allows: the watchdog replaced it mid-export, every export, and
    // nothing was sent. A turn of the event loop scheduled as the export begins must come
    // before its last request is made.
    const r = await receiver();
    const total = 1_000;
    const { source, walked } = gauges(total);
    const service = pushingGauges(source, r.url);
    let walkedAtTurn: number | undefined;
    setImmediate(() => (walkedAtTurn = walked()));
    try {
      await service.exportNow();
    } finally {
      await service.stop(100);
    }
    expect(walkedAtTurn).toBeLessThan(total);
    // and the export whole, in order, one request per 100 series
    const values = r.requests.flatMap((q) => decodeWrite(q.body).map((s) => s.samples[0]!.value));
    expect(values.slice(0, total)).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('counts an export still being encoded in lagMs, from when its series were read', async () => {
    // Until it was queued, an export that took longer to encode than its interval showed a
    // lag of 0 and an empty queue, as an endpoint keeping up would. Its series read a minute
    // ago (the clock the export is stamped with), its lag is at least that while it is encoded.
    const r = await receiver();
    const readAt = Date.now() - 60_000;
    const service = pushingGauges(gauges(1_000).source, r.url, () => readAt);
    let during: ReturnType<ExportService['status']>[number] | undefined;
    setImmediate(() => (during = service.status()[0]));
    try {
      await service.exportNow();
    } finally {
      await service.stop(100);
    }
    expect(during).toMatchObject({ queueDepth: 0, sent: 0 });
    expect(during!.lagMs).toBeGreaterThanOrEqual(60_000);
    expect(service.status()[0]!.lagMs).toBe(0);
  });

  it('keeps at most queueLimit requests while the endpoint is away, drops the oldest and counts its samples, and drains once it is back', async () => {
    const r = await receiver();
    const url = r.url;
    await r.close();
    const m = await pushing(url, { queueLimit: 2 });
    await oneGauge(m);
    const exports = 5;
    // Each queued request's samples, oldest first, read off queuedSamples and dropped after each
    // export. Requests differ in size: a counter's first export has its 0 too, and the monitor's
    // own series join the store between exports (a second export bigger than the first, and
    // than the third, made a bound of "three times the second's" fail).
    const sizes: number[] = [];
    let st = (await m.exportNow()).exporters[0]!;
    sizes.push(st.queuedSamples);
    const firstSamples = st.queuedSamples;
    expect(firstSamples).toBeGreaterThan(0);
    for (let i = 1; i < exports; i++) {
      const before = st;
      st = (await m.exportNow()).exporters[0]!;
      const gone = st.dropped - before.dropped;
      // A full queue drops its oldest request, samples and all, for the new one.
      expect(gone).toBe(sizes.length === 2 ? sizes.shift() : 0);
      sizes.push(st.queuedSamples - (before.queuedSamples - gone));
      expect(sizes.at(-1)).toBeGreaterThan(0);
    }
    expect(st.queueDepth).toBe(2);
    expect(sizes.reduce((a, n) => a + n, 0)).toBe(st.queuedSamples);
    const droppedBefore = st.dropped;
    expect(st.sent).toBe(0);
    expect(st.lastError?.status).toBeNull();
    expect(st.lastError?.message).toContain(url);
    expect(st.lagMs).toBeGreaterThanOrEqual(0);

    await r.listen();
    let calls = 0;
    while (st.queueDepth > 0 || st.sent === 0) {
      st = (await m.exportNow()).exporters[0]!;
      calls++;
    }
    // Each call made one more export into the full queue, which dropped its oldest request
    // (on a loaded machine the first call may still fail and wait for a retry): the two
    // newest went out, oldest first. Later exports carry more series (the monitor's own
    // export metrics join the store as they are recorded), so no request dropped held more
    // series than the newest sent.
    expect(r.requests.map((q) => q.status)).toEqual([200, 200]);
    const [a, b] = r.requests.map((q) => decodeWrite(q.body));
    // Samples, not series: a counter that joined the store since (the monitor's own) brings its first 0 beside its value.
    expect(st.sent).toBe(r.requests.reduce((n, q) => n + sampleCount(q.body), 0));
    expect(a![0]!.samples[0]!.timestamp).toBeLessThan(b![0]!.samples[0]!.timestamp);
    expect(st.dropped).toBeGreaterThanOrEqual(droppedBefore + calls);
    // A request dropped since held at most the newest's series, each with a counter's 0 at most beside its value.
    expect(st.dropped).toBeLessThanOrEqual(droppedBefore + calls * 2 * b!.length);
    expect(st.lagMs).toBe(0);
  });

  it('marks a series pushed before and no longer there stale in the next export, once (a hub\'s forgotten member\'s), and pushes it again if it comes back', async () => {
    // A forgotten member's series left the walk and the exporter just stopped sending them:
    // Prometheus answered their last value for its 5-minute lookback. Stale markers came only
    // at the monitor's stop.
    const r = await receiver();
    const live = new Set([0, 1, 2]);
    const family: WalkFamily = { name: 'pool_size', kind: 'gauge', unit: '', help: '', prom: 'pool_size', total: 'pool_size', ids: [] };
    const source: SeriesSource = {
      bounds: [1],
      *points() {
        for (const id of [...live].sort()) yield { family, id, tags: { pool: String(id) }, value: 10 + id, hist: undefined };
      },
    };
    const service = pushingGauges(source, r.url);
    // Prometheus's stale NaN as a sample's value on the wire (field 1, a double, little-endian): any other NaN is a value to it.
    const staleBits = Buffer.from('09020000000000f07f', 'hex');
    const exported = async (): Promise<{ values: Map<string, number>; stale: string[]; markers: number; at: number[] }> => {
      const from = r.requests.length;
      await service.exportNow();
      const bodies = r.requests.slice(from).map((q) => q.body);
      const series = bodies.flatMap((b) => decodeWrite(b));
      const named = (s: (typeof series)[number]): string => s.labels.find((l) => l.name === 'pool')!.value;
      let markers = 0;
      for (const b of bodies) for (let raw = Buffer.from(snappy.uncompress(b)), i = raw.indexOf(staleBits); i >= 0; i = raw.indexOf(staleBits, i + 1)) markers++;
      return {
        values: new Map(series.filter((s) => !Number.isNaN(s.samples[0]!.value)).map((s) => [named(s), s.samples[0]!.value])),
        stale: series.filter((s) => Number.isNaN(s.samples[0]!.value)).map(named),
        markers,
        at: [...new Set(series.map((s) => Number(s.samples[0]!.timestamp)))],
      };
    };
    try {
      expect(await exported()).toMatchObject({ values: new Map([['0', 10], ['1', 11], ['2', 12]]), stale: [] });
      live.delete(1);
      const gone = await exported();
      expect(gone).toMatchObject({ values: new Map([['0', 10], ['2', 12]]), stale: ['1'], markers: 1 });
      // At the export's own time, as every sample of it.
      expect(gone.at).toHaveLength(1);
      // Once: its labels are let go.
      expect(await exported()).toMatchObject({ values: new Map([['0', 10], ['2', 12]]), stale: [] });
      live.add(1);
      expect(await exported()).toMatchObject({ values: new Map([['0', 10], ['1', 11], ['2', 12]]), stale: [] });
    } finally {
      await service.stop(100);
    }
  });

  it("sends each counter series the first time this process exports it with a 0 before its first value, so a restart's reset is seen; a later start of the same monitor goes on without one", async () => {
    // A process that restarted (a hub whose members' backlog arrived at once) exported its
    // own total, which could be above the last value before the restart: Prometheus saw no
    // reset and increase() lost the total before it.
    const r = await receiver();
    const m = await pushing(r.url, { histogramBuckets: [1, 10] });
    m.define({ name: 'queue_depth', kind: 'gauge' });
    m.define({ name: 'jobs', kind: 'counter' });
    m.record('queue_depth', 4);
    m.record('jobs', 680);
    await m.flush();
    const sent = async (): Promise<Map<string, { value: number; timestamp: number }[]>> => {
      const from = r.requests.length;
      await m.exportNow();
      const out = new Map<string, { value: number; timestamp: number }[]>();
      for (const q of r.requests.slice(from)) {
        for (const s of decodeWrite(q.body)) out.set(s.labels.find((l) => l.name === '__name__')!.value, s.samples.map((p) => ({ value: p.value, timestamp: Number(p.timestamp) })));
      }
      return out;
    };
    const first = await sent();
    const jobs = first.get('jobs_total')!;
    expect(jobs.map((p) => p.value)).toEqual([0, 680]);
    // The 0 is at the monitor's start, before the value: in time order, as a receiver appends.
    expect(jobs[0]!.timestamp).toBeLessThan(jobs[1]!.timestamp);
    expect(jobs[0]!.timestamp).toBeLessThanOrEqual(m.status().startedAt!);
    expect(first.get('queue_depth')!.map((p) => p.value)).toEqual([4]);
    // Once: the next export has the value alone.
    m.record('jobs', 1);
    m.record('api_response_time', 5);
    await m.flush();
    const before = Date.now();
    let second = await sent();
    expect(second.get('jobs_total')!.map((p) => p.value)).toEqual([681]);
    // A series new in a later export gets its 0 too (a histogram's series are counters),
    // just after the export before, which did not have it.
    while (second.get('api_response_time_count') === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      second = await sent();
      expect(Date.now() - before, 'the histogram to close its bucket').toBeLessThan(15_000);
    }
    const histogram = new Map<string, { value: number; timestamp: number }[][]>();
    for (const q of r.requests) {
      for (const s of decodeWrite(q.body)) {
        const key = s.labels.map((l) => `${l.name}=${l.value}`).join(',');
        if (!key.includes('__name__=api_response_time_')) continue;
        histogram.set(key, [...(histogram.get(key) ?? []), s.samples.map((p) => ({ value: p.value, timestamp: Number(p.timestamp) }))]);
      }
    }
    // Its buckets, sum and count.
    expect(histogram.size).toBe(2 + 2 + 1);
    for (const [key, exports] of histogram) {
      expect(exports[0]!.map((p) => p.value)[0], key).toBe(0);
      expect(exports[0], key).toHaveLength(2);
      expect(exports[0]![0]!.timestamp, key).toBeGreaterThan(jobs[1]!.timestamp);
      expect(exports.slice(1).every((e) => e.length === 1), key).toBe(true);
    }
    // The same monitor started again counts on from its total: no reset, no 0.
    await m.stop();
    await m.start();
    m.record('jobs', 1);
    await m.flush();
    const again = await sent();
    expect(again.get('jobs_total')!.map((p) => p.value)).toEqual([682]);
  });
});
