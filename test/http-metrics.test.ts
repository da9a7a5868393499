/**
 * GET /metrics of monitor.serveHttp: what Prometheus stores from it, read back sample by
 * sample against the values the test recorded.
 *
 * It is bounded in bytes (serveHttp's maxMetricsBytes). Without a bound, 100 series of a
 * histogram with 64 tags of 4,096 '€' (every option within its documented limits) made a body
 * of over 1 GB, built whole in the exposition worker, which the client could not read
 * (ERR_STRING_TOO_LONG); at 400 the worker failed on a typed array of 8 GiB and the scrape got
 * 503. Now series that would pass the bound are left out whole, the rest answered 200 as valid
 * text, and what was left out is counted, said and reported; an exposition within the bound is
 * byte for byte what it was.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type HttpServer, type MonitorOptions, type ServeHttpOptions } from '../dist/src/index.js';
import { DEFAULT_MAX_METRICS_BYTES, Exposition } from '../dist/src/http/exposition.js';
import { waitFor } from './helpers.js';
import { parseExposition, valueOf } from './http-metrics-helpers.js';
import { T0, synthetic } from './synthetic.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

async function serving(options: Partial<ServeHttpOptions> = {}, monitorOptions: MonitorOptions = {}): Promise<{ monitor: PerformanceMonitor; server: HttpServer }> {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, ...monitorOptions });
  await monitor.start();
  cleanup.push(() => monitor.stop());
  const server = await monitor.serveHttp({ port: 0, ...options });
  cleanup.push(() => server.close());
  return { monitor, server };
}

async function scrape(server: HttpServer, accept?: string): Promise<{ text: string; type: string | null }> {
  const r = await fetch(server.metricsUrl, accept ? { headers: { accept } } : {});
  expect(r.status).toBe(200);
  return { text: await r.text(), type: r.headers.get('content-type') };
}

/** Scrapes until the histogram of `name` counts `count` samples (its buckets close once a collection interval ends). */
async function scrapeCounting(server: HttpServer, name: string, labels: Record<string, string>, count: number, accept?: string): Promise<string> {
  return waitFor(async () => {
    const { text } = await scrape(server, accept);
    return valueOf(parseExposition(text), `${name}_count`, labels) === count && text;
  }, 15_000, `${name}_count ${count}`);
}

/** A seeded spread over six decades, zero and a value past the top bound (times: the built-in metrics below refuse a negative one). */
function values(n: number): number[] {
  let x = 12345;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out.push(10 ** ((x / 2 ** 31) * 6 - 2));
  }
  return [...out, 0, 20_000];
}

describe('GET /metrics', () => {
  it('leaves out a series that an empty tag value makes the same as another for Prometheus, and says so', async () => {
    // Prometheus has no empty label: qq{route=""} and qq are one series, and a scrape holding
    // both gave Prometheus two values for it (the second dropped as a duplicate sample).
    const { monitor, server } = await serving();
    monitor.record('qq', 1, { route: '' });
    monitor.record('qq', 2);
    monitor.record('qq', 3, { route: '/a' });
    monitor.record('qq', 4, { route: '/a', zone: '' });
    monitor.record('other', 5, { zone: '' });
    await monitor.flush();
    const samples = parseExposition((await scrape(server)).text);
    const counts = samples.filter((x) => x.name === 'qq_count').map((x) => x.labels);
    expect(counts).toEqual([{ route: '' }, { route: '/a' }]);
    expect(samples.filter((x) => x.name === 'other_count').map((x) => x.labels)).toEqual([{ zone: '' }]);
    const skipped = server.status().metrics.skipped;
    expect(skipped).toContain('series qq{}: the same series as another of qq once empty tag values are dropped, as Prometheus drops an empty label');
    expect(skipped).toContain('series qq{route="/a",zone=""}: the same series as another of qq once empty tag values are dropped, as Prometheus drops an empty label');
  });

  it("answers after stop() with every sample recorded, the histograms' open collection interval included", async () => {
    // An interval of a minute: the samples are still in the open bucket when the monitor stops.
    // The counter had them; the histograms, of the closed intervals alone, had none.
    const { monitor, server } = await serving({}, { collectionIntervalMs: 60_000 });
    monitor.define({ name: 'jobs', kind: 'counter' });
    monitor.record('jobs', 3);
    for (const v of [0.5, 5, 5, 50, 500]) monitor.record('api_response_time', v, { route: '/a' });
    await monitor.stop();
    const samples = parseExposition((await scrape(server)).text);
    expect(valueOf(samples, 'jobs_total', {})).toBe(3);
    expect(valueOf(samples, 'api_response_time_count', { route: '/a' })).toBe(5);
    expect(valueOf(samples, 'api_response_time_sum', { route: '/a' })).toBe(560.5);
    expect(valueOf(samples, 'api_response_time_bucket', { route: '/a', le: '+Inf' })).toBe(5);
    expect(valueOf(samples, 'api_response_time_bucket', { route: '/a', le: '10' })).toBe(3);
  });

  it('exposes a distribution as a histogram whose buckets are the exact counts per bound, +Inf equal to _count', async () => {
    const { monitor, server } = await serving();
    const vs = values(5000);
    const h = monitor.metric('api_response_time', { endpoint: '/users' });
    for (const v of vs) h.record(v);
    // A negative value (an application's metric may take one) is in every bucket.
    monitor.record('clock_offset_ms', -3);
    const text = await scrapeCounting(server, 'api_response_time', { endpoint: '/users' }, vs.length);
    const samples = parseExposition(text);
    const bounds = server.status().histogramBuckets;
    let previous = 0;
    for (const le of bounds) {
      const got = valueOf(samples, 'api_response_time_bucket', { endpoint: '/users', le: String(le) });
      expect(got, `le=${le}`).toBe(vs.filter((v) => v <= le).length);
      expect(got).toBeGreaterThanOrEqual(previous);
      previous = got!;
    }
    expect(valueOf(samples, 'api_response_time_bucket', { endpoint: '/users', le: '+Inf' })).toBe(vs.length);
    expect(valueOf(samples, 'api_response_time_sum', { endpoint: '/users' })).toBeCloseTo(vs.reduce((a, v) => a + v, 0), 6);
    await waitFor(async () => valueOf(parseExposition((await scrape(server)).text), 'clock_offset_ms_count', {}) === 1, 15_000, 'clock_offset_ms_count 1');
    const offsets = parseExposition((await scrape(server)).text);
    for (const le of bounds) expect(valueOf(offsets, 'clock_offset_ms_bucket', { le: String(le) }), `le=${le}`).toBe(1);
    expect(text).toContain('# TYPE api_response_time histogram\n');
    expect(text).toContain('# HELP api_response_time Time of calls to downstream APIs\n');
    expect(server.status().metrics.unbucketed).toBe(0);
  });

  it('counts a sample exactly on a bound in that bound, as Prometheus\'s le (≤) does: whole-millisecond latencies sit on the bounds', async () => {
    const { monitor, server } = await serving();
    const bounds = server.status().histogramBuckets;
    const step = (v: number, by: bigint): number => {
      const f = new Float64Array([v]);
      const b = new BigInt64Array(f.buffer);
      b[0] = b[0]! + by;
      return f[0]!;
    };
    // Each bound three times, the doubles just below and above it, whole milliseconds 1..1000, and bounds' negatives.
    const vs: number[] = [];
    for (const b of bounds) vs.push(b, b, b, step(b, -1n), step(b, 1n), -b);
    for (let ms = 1; ms <= 1000; ms++) vs.push(ms);
    // An application's own metric: a built-in time refuses the negatives.
    const h = monitor.metric('edge_ms', { endpoint: '/edges' });
    for (const v of vs) h.record(v);
    const samples = parseExposition(await scrapeCounting(server, 'edge_ms', { endpoint: '/edges' }, vs.length));
    for (const le of bounds) {
      expect(valueOf(samples, 'edge_ms_bucket', { endpoint: '/edges', le: String(le) }), `le=${le}`).toBe(vs.filter((v) => v <= le).length);
    }
  });

  it('takes configured bounds, and counts a bound between sketch bin edges within the one bin around it', async () => {
    const { monitor, server } = await serving({ histogramBuckets: [3, 7, 30] });
    const vs = values(3000);
    const h = monitor.metric('formula_calculation_time');
    for (const v of vs) h.record(v);
    const samples = parseExposition(await scrapeCounting(server, 'formula_calculation_time', {}, vs.length));
    for (const le of [3, 7, 30]) {
      // 3 = 1.5·2 is a bin edge: exact; 7 and 30 are too (7 = 112·2^-4, 30 = 120·2^-2).
      expect(valueOf(samples, 'formula_calculation_time_bucket', { le: String(le) })).toBe(vs.filter((v) => v <= le).length);
    }
    const { monitor: m2, server: s2 } = await serving({ histogramBuckets: [3.3] });
    const h2 = m2.metric('formula_calculation_time');
    for (const v of vs) h2.record(v);
    const got = valueOf(parseExposition(await scrapeCounting(s2, 'formula_calculation_time', {}, vs.length)), 'formula_calculation_time_bucket', { le: '3.3' })!;
    // 3.3 lies inside a bin of relative width 1/64: only samples in that bin may be misplaced.
    const lo = vs.filter((v) => v <= 3.3 / (1 + 1 / 64)).length;
    const hi = vs.filter((v) => v <= 3.3 * (1 + 1 / 64)).length;
    expect(got).toBeGreaterThanOrEqual(lo);
    expect(got).toBeLessThanOrEqual(hi);
  });

  it('adds the sketch quantiles of the last window beside each histogram when asked, within the sketch bound of the exact ones', async () => {
    const qs = [0.5, 0.9, 0.99];
    const { monitor, server } = await serving({ quantiles: qs, quantileWindowMs: 600_000 });
    const vs = values(5000).slice(0, 5000);
    const h = monitor.metric('api_response_time', { endpoint: '/users' });
    for (const v of vs) h.record(v);
    // A series whose tags take the quantile label is left out, not written with two.
    monitor.record('api_response_time', 1, { quantile: 'mine' });
    const text = await scrapeCounting(server, 'api_response_time', { endpoint: '/users' }, vs.length);
    const samples = parseExposition(text);
    const sorted = [...vs].sort((a, b) => a - b);
    for (const q of qs) {
      const got = valueOf(samples, 'api_response_time_quantiles', { endpoint: '/users', quantile: String(q) })!;
      const lo = sorted[Math.floor(q * (sorted.length - 1))]!;
      const hi = sorted[Math.ceil(q * (sorted.length - 1))]!;
      expect(got, `q=${q}`).toBeGreaterThanOrEqual(lo / (1 + 1 / 128));
      expect(got, `q=${q}`).toBeLessThanOrEqual(hi * (1 + 1 / 128));
    }
    expect(text).toContain('# TYPE api_response_time_quantiles summary\n');
    expect(samples.filter((x) => x.labels.quantile === 'mine')).toEqual([]);
    expect(server.status().metrics.skipped.join()).toMatch(/series api_response_time with tag quantile/);
    const keys = samples.map((x) => x.key);
    expect(new Set(keys).size).toBe(keys.length);

    const { server: plain } = await serving();
    expect((await scrape(plain)).text).not.toContain('_quantile');
    const twice = await monitor.serveHttp({ port: 0, quantiles: [0.5, 0.5] }).catch((e: unknown) => e);
    expect(twice).toMatchObject({ code: 'PW_ERR_INVALID_ARG', field: 'quantiles[1]' });
    expect(await monitor.serveHttp({ port: 0, quantiles: [1] }).catch((e: unknown) => e)).toMatchObject({ field: 'quantiles[0]' });
  });

  it('keeps the sketch quantiles within the samples\' exact min and max, as /api/metrics does', async () => {
    const { monitor, server } = await serving({ quantiles: [0.5, 0.99] });
    // One value, a hundred times: a bin's value lies a little off any sample in it (49.75, 1.0039e99).
    for (let i = 0; i < 100; i++) {
      monitor.record('lat', 50, { route: '/x' });
      monitor.record('huge', 1e99);
    }
    await scrapeCounting(server, 'huge', {}, 100);
    const samples = parseExposition(await scrapeCounting(server, 'lat', { route: '/x' }, 100));
    for (const q of ['0.5', '0.99']) {
      expect(valueOf(samples, 'lat_quantiles', { route: '/x', quantile: q }), `lat q=${q}`).toBe(50);
      expect(valueOf(samples, 'huge_quantiles', { quantile: q }), `huge q=${q}`).toBe(1e99);
    }
    const api = await (await fetch(new URL('/api/metrics?names=lat', server.url))).json();
    expect(JSON.stringify(api)).toContain('"p99":50');
  });

  it('exposes counters as _total and gauges as their newest value, tags as escaped labels', async () => {
    const { monitor, server } = await serving();
    monitor.define({ name: 'jobs', kind: 'counter' });
    monitor.define({ name: 'queue_depth', kind: 'gauge' });
    const awkward = { path: 'C:\\temp\\"x"', name: 'Grüße, 世界 🚀' };
    for (let i = 0; i < 10; i++) monitor.record('jobs', 2, awkward);
    monitor.record('queue_depth', 7);
    monitor.record('queue_depth', 4);
    // Values that are not integers, as V8 spells them, digits and exponents included.
    const fractions = [0.1 + 0.2, -2.5e-7, 1.2345678901234567e99, -123456.789];
    fractions.forEach((v, i) => monitor.record('queue_depth', v, { f: String(i) }));
    await monitor.flush();
    const { text, type } = await scrape(server);
    expect(type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const samples = parseExposition(text);
    expect(valueOf(samples, 'jobs_total', awkward)).toBe(20);
    expect(valueOf(samples, 'queue_depth', {})).toBe(4);
    fractions.forEach((v, i) => expect(text).toContain(`queue_depth{f="${i}"} ${v}\n`));
    expect(text).toContain('# TYPE jobs_total counter\n');
    expect(text).toContain('jobs_total{name="Grüße, 世界 🚀",path="C:\\\\temp\\\\\\"x\\""} 20\n');
  });

  it('ends only counters in _total: a gauge or histogram so named takes its unit as a suffix, the built-in heap_total included', async () => {
    const { monitor, server } = await serving({}, { runtime: { enabled: true } });
    monitor.define({ name: 'pool_total', kind: 'gauge', unit: 'bytes' });
    monitor.define({ name: 'wait_total', kind: 'gauge', unit: 'ms' });
    monitor.define({ name: 'share_total', kind: 'distribution', unit: 'ratio' });
    monitor.define({ name: 'jobs_total', kind: 'counter' });
    monitor.record('pool_total', 2048);
    monitor.record('wait_total', 7);
    monitor.record('share_total', 0.5);
    monitor.record('jobs_total', 3);
    await scrapeCounting(server, 'share_total_ratio', {}, 1);
    const text = await waitFor(async () => {
      const { text } = await scrape(server);
      return text.includes('\nheap_total_bytes ') && text;
    }, 15_000, 'the runtime sampler to sample heap_total');
    const samples = parseExposition(text);
    expect(text).toContain('# TYPE heap_total_bytes gauge\n');
    expect(valueOf(samples, 'pool_total_bytes', {})).toBe(2048);
    expect(valueOf(samples, 'wait_total_value', {})).toBe(7);
    expect(text).toContain('# TYPE share_total_ratio histogram\n');
    expect(valueOf(samples, 'share_total_ratio_bucket', { le: '+Inf' })).toBe(1);
    expect(valueOf(samples, 'jobs_total', {})).toBe(3);
    expect(text).not.toMatch(/^(heap|pool|wait|share)_total[ {]/m);
    expect(server.status().metrics.skipped).toEqual([]);
  });

  it('speaks OpenMetrics when Accept asks for it', async () => {
    const { monitor, server } = await serving();
    monitor.define({ name: 'jobs', kind: 'counter' });
    monitor.record('jobs', 3);
    await monitor.flush();
    const { text, type } = await scrape(server, 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5');
    expect(type).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(text).toContain('# TYPE jobs counter\njobs_total 3\n');
    expect(text.endsWith('# EOF\n')).toBe(true);
  });

  it("answers in the format the scraper prefers by Accept's q-values, OpenMetrics only when it weighs at least as much as the text format", async () => {
    const { monitor, server } = await serving();
    monitor.define({ name: 'jobs', kind: 'counter' });
    monitor.record('jobs', 3);
    await monitor.flush();
    const OM = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
    const TEXT = 'text/plain; version=0.0.4; charset=utf-8';
    const asked: [string, string][] = [
      // Prometheus 2.x's own Accept.
      ['application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1', OM],
      // Prometheus 2.49+ with scrape_protocols: [PrometheusText0.0.4, OpenMetricsText1.0.0].
      ['text/plain;version=0.0.4;q=0.5,application/openmetrics-text;version=1.0.0;q=0.4,*/*;q=0.3', TEXT],
      ['application/openmetrics-text;q=0, text/plain', TEXT],
      ['Application/OpenMetrics-Text; q=0.9, */*; q=0.8', OM],
      ['*/*', TEXT],
      // The named text/plain weighs, not the wildcard.
      ['application/openmetrics-text;q=0.5,text/plain;q=0.2,*/*', OM],
    ];
    for (const [accept, type] of asked) expect((await scrape(server, accept)).type, accept).toBe(type);
  });

  it('never writes a series twice: a family whose names another family already uses is left out and named', async () => {
    const { monitor, server } = await serving();
    monitor.define({ name: 'lat_count', kind: 'gauge' });
    monitor.record('lat_count', 1);
    monitor.record('lat', 5);
    monitor.define({ name: 'req', kind: 'gauge' });
    monitor.record('req', 1);
    monitor.define({ name: 'req_total', kind: 'counter' });
    monitor.record('req_total', 1);
    monitor.record('shape', 1, { le: 'x' });
    await monitor.flush();
    const { text } = await scrape(server);
    const keys = parseExposition(text).map((s) => s.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toContain('lat_count{}');
    expect(text.match(/^lat_count /gm)).toHaveLength(1);
    expect(text).not.toMatch(/^# TYPE req_total counter/m);
    expect(text).not.toMatch(/^shape_bucket\{le="x"/m);
    expect(server.status().metrics.skipped).toEqual([
      "distribution lat: its name lat_count is another family's",
      "counter req_total: its name req is another family's",
      'series shape with tag le: a label name the format reserves',
    ]);
  });
});

/** A scrape as bytes, whatever its status. */
async function scrapeBytes(server: HttpServer, accept?: string): Promise<{ status: number; bytes: Uint8Array; text: string }> {
  const r = await fetch(server.metricsUrl, accept ? { headers: { accept } } : {});
  const bytes = new Uint8Array(await r.arrayBuffer());
  return { status: r.status, bytes, text: new TextDecoder().decode(bytes) };
}

/** Every line whole: a comment (`#`) or a sample line, and the body ends with a line feed (no partial line). */
function expectWholeLines(text: string): void {
  expect(text.endsWith('\n')).toBe(true);
  for (const line of text.slice(0, -1).split('\n')) {
    expect(line.startsWith('#') || /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? \S+$/.test(line), line.slice(0, 80)).toBe(true);
  }
  parseExposition(text);
}

/** The labels of a histogram's series written whole: each `_count` has its buckets (`+Inf` equal to it) and `_sum`. */
function wholeHistograms(text: string, name: string, buckets = 16): Record<string, string>[] {
  const samples = parseExposition(text);
  const counts = samples.filter((s) => s.name === `${name}_count`);
  for (const c of counts) {
    const key = JSON.stringify(c.labels);
    const lines = samples.filter((s) => s.name === `${name}_bucket` && JSON.stringify(Object.fromEntries(Object.entries(s.labels).filter(([k]) => k !== 'le'))) === key);
    expect(lines).toHaveLength(buckets);
    expect(lines.at(-1)!.labels.le).toBe('+Inf');
    expect(lines.at(-1)!.value).toBe(c.value);
    expect(valueOf(samples, `${name}_sum`, c.labels)).toBeDefined();
  }
  return counts.map((c) => c.labels);
}

const KiB = 1024;

/** Tags of a series of `big`: 4 values of 2,000 characters, `€` (3 bytes each) with a quote and a backslash (escaped: 2 bytes each). About 440 KB of histogram text. */
function bigTags(k: number): Record<string, string> {
  const tags: Record<string, string> = {};
  for (let t = 0; t < 4; t++) tags[`t${t}`] = `${k}"\\`.padEnd(2000, '€');
  return tags;
}

describe('GET /metrics at maxMetricsBytes', () => {
  it('answers 200 with valid text within the bound: series past it are left out whole, counted in /api/status, said in a comment, reported once as a fault; nothing recorded is lost', async () => {
    const bound = 1024 * KiB;
    const { monitor, server } = await serving({ maxMetricsBytes: bound }, { maxTags: 64, maxTagValueLength: 4096 });
    for (let k = 0; k < 6; k++) monitor.record('big', 5, bigTags(k));
    // Registered after the big ones: they still fit, and are written.
    monitor.define({ name: 'jobs', kind: 'counter' });
    monitor.record('jobs', 3);
    monitor.define({ name: 'queue_depth', kind: 'gauge' });
    monitor.record('queue_depth', 7, { zone: 'eu' });
    await monitor.flush();
    // Until the histograms' buckets have closed: their samples counted.
    await waitFor(async () => {
      const s = await scrapeBytes(server);
      return s.status === 200 && parseExposition(s.text).some((x) => x.name === 'big_count' && x.value === 1);
    }, 15_000, 'big_count 1');

    for (let i = 0; i < 3; i++) {
      const { status, bytes, text } = await scrapeBytes(server);
      expect(status).toBe(200);
      expect(bytes.byteLength).toBeLessThanOrEqual(bound);
      expectWholeLines(text);
      const written = wholeHistograms(text, 'big');
      // About 440 KB each: two fit in 1 MiB, not six.
      expect(written.length).toBeGreaterThan(0);
      expect(written.length).toBeLessThan(6);
      const samples = parseExposition(text);
      expect(valueOf(samples, 'jobs_total', {})).toBe(3);
      expect(valueOf(samples, 'queue_depth', { zone: 'eu' })).toBe(7);
      const left = 6 - written.length;
      const comment = text.split('\n').filter((l) => l.startsWith('# perfwatch:'));
      expect(comment).toHaveLength(1);
      expect(comment[0]).toMatch(new RegExp(`^# perfwatch: ${left} series left out \\(big ${left}\\) to hold this exposition to maxMetricsBytes \\(${bound} bytes; all of it would take up to \\d+\\): raise serveHttp's maxMetricsBytes \\(perfwatch serve --http-max-metrics-bytes\\), or lower maxTags or maxTagValueLength`));
      // The comment is the last line.
      expect(text.endsWith(`${comment[0]}\n`)).toBe(true);

      const api = (await (await fetch(new URL('/api/status', server.url))).json()) as { http: { metrics: { bytes: number; maxBytes: number; series: number; skipped: string[]; leftOut: { series: number; bytes: number; metrics: number; byMetric: Record<string, number> } } } };
      const m = api.http.metrics;
      expect(m.bytes).toBe(bytes.byteLength);
      expect(m.maxBytes).toBe(bound);
      expect(m.leftOut).toMatchObject({ series: left, metrics: 1, byMetric: { big: left } });
      // What each left out would take, at most: all of big's series, text and all, are several times the bound.
      expect(m.leftOut.bytes).toBeGreaterThan(left * 400 * KiB);
      expect(m.skipped).toContain(`${left} series (big ${left}): they would have taken the exposition past maxMetricsBytes (${bound} bytes)`);
    }

    // OpenMetrics: the same bound, `# EOF` last, and no comment line (the format has none).
    const om = await scrapeBytes(server, 'application/openmetrics-text; version=1.0.0');
    expect(om.status).toBe(200);
    expect(om.bytes.byteLength).toBeLessThanOrEqual(bound);
    expect(om.text.endsWith('\n# EOF\n')).toBe(true);
    expect(om.text.split('\n').filter((l) => l.startsWith('#') && !/^# (HELP|TYPE|EOF)/.test(l))).toEqual([]);
    expect(wholeHistograms(om.text, 'big').length).toBeGreaterThan(0);

    // Every scrape cut by the bound: one fault, naming the option and what to do.
    const fault = monitor.status().faults.byKind['metrics-limit'];
    expect(fault?.count).toBe(1);
    expect(fault?.lastMessage).toMatch(/^\/metrics reached maxMetricsBytes \(1048576 bytes\): \d series were left out of the exposition \(big \d\)/);
    expect(fault?.lastMessage).toContain("raise serveHttp's maxMetricsBytes (perfwatch serve --http-max-metrics-bytes), or lower maxTags or maxTagValueLength");

    // Nothing recorded is lost: the monitor has every series, and a server with room for them writes them all.
    expect(monitor.getMetrics({ names: ['big'] })).toHaveLength(6);
    const roomy = await monitor.serveHttp({ port: 0, maxMetricsBytes: 16 * 1024 * KiB });
    cleanup.push(() => roomy.close());
    const all = await scrapeBytes(roomy);
    expect(all.status).toBe(200);
    expect(wholeHistograms(all.text, 'big')).toHaveLength(6);
    expect(all.text).not.toContain('# perfwatch:');
    expect(roomy.status().metrics.leftOut.series).toBe(0);
  });

  it('leaves a histogram series\' quantiles out with it, and writes the same body again on the next render (the bytes of a series left out are made again once it fits)', () => {
    const s = synthetic({ maxSeries: 64 });
    const ids = Array.from({ length: 6 }, (_, k) => s.id('big', Object.fromEntries(Array.from({ length: 8 }, (_, t) => [`t${t}`, `${k}"`.padEnd(64, '€')])), 'distribution', 'ms'));
    const small = s.id('small', { zone: 'eu' }, 'gauge');
    s.fill(3, [...ids.map((id): [number, () => number[]] => [id, () => [5, 50]]), [small, () => [1]]]);
    const now = T0 + 4_000;
    // 8 tags of 64 '€': some 1.6 KB a sample line, 53 KB a histogram series of 30 bounds; 64 KiB (the least bound) holds one.
    const bounds = Array.from({ length: 30 }, (_, i) => (i + 1) * 10);
    const e = new Exposition(s.registry, s.reader, bounds, { quantiles: [0.5, 0.99], windowMs: 60_000, now: () => now }, 64 * KiB);
    const body = e.render('prometheus');
    expect(body.byteLength).toBeLessThanOrEqual(64 * KiB);
    const text = new TextDecoder().decode(body);
    expectWholeLines(text);
    const samples = parseExposition(text);
    const written = wholeHistograms(text, 'big', 31);
    expect(written).toHaveLength(1);
    // Quantiles only for the series written.
    const quantiled = samples.filter((x) => x.name === 'big_quantiles').map((x) => JSON.stringify({ ...x.labels, quantile: undefined }));
    expect(new Set(quantiled)).toEqual(new Set([JSON.stringify({ ...written[0], quantile: undefined })]));
    expect(valueOf(samples, 'small', { zone: 'eu' })).toBe(1);
    expect(e.stats.leftOut).toMatchObject({ series: 5, metrics: 1, byMetric: { big: 5 } });
    expect(e.stats.series).toBe(3);
    // Again: the same bytes, the same counts.
    expect(Buffer.from(e.render('prometheus')).equals(Buffer.from(body))).toBe(true);
    expect(e.stats.leftOut.series).toBe(5);
  });

  it('writes an exposition within the default bound byte for byte as before the bound, with nothing said', () => {
    const s = synthetic({ maxSeries: 64 });
    const a = s.id('response_time', { route: '/a', note: 'say "hi" C:\\ €' }, 'distribution', 'ms');
    const b = s.id('response_time', { route: '/b' }, 'distribution', 'ms');
    const q = s.id('queue_depth', {}, 'gauge');
    const j = s.id('jobs', { zone: 'eu' }, 'counter');
    s.fill(3, [[a, (x) => [0.4, 3, 3000 + x]], [b, () => [50, 20_000]], [q, (x) => [x - 1.5]], [j, () => [2]]]);
    const e = new Exposition(s.registry, s.reader, undefined, { quantiles: [0.5], windowMs: 60_000, now: () => T0 + 4_000 });
    const text = new TextDecoder().decode(e.render('prometheus'));
    // What the exposition wrote before maxMetricsBytes (its render of this store, unchanged).
    expect(text).toBe(EXPECTED);
    expect(e.stats).toMatchObject({ families: 4, series: 6, skipped: [], bytes: Buffer.byteLength(EXPECTED), maxBytes: DEFAULT_MAX_METRICS_BYTES, leftOut: { series: 0, bytes: 0, metrics: 0, byMetric: {} } });
    const om = new TextDecoder().decode(e.render('openmetrics'));
    expect(om).toBe(`${EXPECTED.replace('# HELP jobs_total perfwatch counter\n# TYPE jobs_total counter\n', '# HELP jobs perfwatch counter\n# TYPE jobs counter\n')}# EOF\n`);
    expect(e.stats.leftOut.series).toBe(0);
  });
});

const bucketLines = (labels: string, counts: number[]): string =>
  ['0.5', '1', '2.5', '5', '10', '25', '50', '100', '250', '500', '1000', '2000', '4000', '8000', '16000', '+Inf'].map((le, i) => `response_time_bucket{${labels}le="${le}"} ${counts[i]}\n`).join('');

const A = String.raw`note="say \"hi\" C:\\ €",route="/a"`;
const EXPECTED =
  '# HELP response_time Request handling time; recordRequest() feeds it (tag endpoint), and instrument() (tags endpoint, method, status_class)\n' +
  '# TYPE response_time histogram\n' +
  bucketLines(`${A},`, [3, 3, 3, 6, 6, 6, 6, 6, 6, 6, 6, 6, 9, 9, 9, 9]) +
  `response_time_sum{${A}} 9013.2\n` +
  `response_time_count{${A}} 9\n` +
  bucketLines('route="/b",', [0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 6]) +
  'response_time_sum{route="/b"} 60150\n' +
  'response_time_count{route="/b"} 6\n' +
  '# HELP response_time_quantiles quantiles of response_time over the last 60000 ms, from the sketch (relative error within 0.78%)\n' +
  '# TYPE response_time_quantiles summary\n' +
  `response_time_quantiles{${A},quantile="0.5"} 2.9842931937172774\n` +
  'response_time_quantiles{route="/b",quantile="0.5"} 50\n' +
  '# HELP queue_depth perfwatch gauge\n' +
  '# TYPE queue_depth gauge\n' +
  'queue_depth 0.5\n' +
  '# HELP jobs_total perfwatch counter\n' +
  '# TYPE jobs_total counter\n' +
  'jobs_total{zone="eu"} 6\n';
