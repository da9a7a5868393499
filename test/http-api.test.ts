/**
 * The JSON API and the bad input of monitor.serveHttp: every route answers within its
 * bounds, and every refusal names what was wrong: 404 route, 400 parameter, 401 token,
 * 413 body, 414 target, 408 slow client, and event streams whose clients stop reading are
 * dropped instead of buffered.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type HttpServer, type MonitorOptions, type ServeHttpOptions } from '../dist/src/index.js';
import { waitFor } from './helpers.js';
import { INIT, raw } from './http-helpers.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

async function serving(options: Partial<ServeHttpOptions> = {}, monitorOptions: MonitorOptions = {}): Promise<{ monitor: PerformanceMonitor; server: HttpServer; get: (path: string, init?: RequestInit) => Promise<{ status: number; body: any; headers: Headers }> }> {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, ...monitorOptions });
  await monitor.start();
  cleanup.push(() => monitor.stop());
  const server = await monitor.serveHttp({ port: 0, ...options });
  cleanup.push(() => server.close());
  const get = async (path: string, init: RequestInit = {}) => {
    const r = await fetch(new URL(path, server.url), init);
    const text = await r.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // a text answer
    }
    return { status: r.status, body, headers: r.headers };
  };
  return { monitor, server, get };
}

describe('the JSON API', () => {
  it('answers the latest report of a fresh monitor 404, or with optional=true 200 { report: null } (what the dashboard asks, no console error)', async () => {
    const { get } = await serving();
    const none = await get('/api/reports/latest');
    expect(none.status).toBe(404);
    const optional = await get('/api/reports/latest?optional=true');
    expect(optional).toMatchObject({ status: 200, body: { report: null, reason: 'no report has been generated yet: POST /api/reports builds one' } });
    expect((await get('/api/reports/latest?optional=false')).status).toBe(404);
    expect((await get('/api/reports/latest?optional=yes')).body.error).toEqual({ code: 'PW_ERR_INVALID_ARG', field: 'optional', message: 'optional must be true or false, got "yes"' });
    const built = await get('/api/reports', { method: 'POST', body: '{}' });
    expect((await get('/api/reports/latest?optional=true')).body.generatedAt).toBe(built.body.generatedAt);
  });

  it("narrows both the alerts and their history to the rule named by id or name, and refuses a rule that matches none", async () => {
    const { monitor, get } = await serving();
    const hot = await monitor.createAlertRule({ name: 'queue hot', metric: 'queue_a', operator: '>', threshold: 10 });
    const other = await monitor.createAlertRule({ name: 'queue b', metric: 'queue_b', operator: '>', threshold: 10 });
    monitor.record('queue_a', 50, { shard: '1' });
    monitor.record('queue_a', 50, { shard: '2' });
    monitor.record('queue_b', 50);
    await monitor.flush();
    await waitFor(() => monitor.getAlerts({ state: 'firing' }).length === 3, 10_000, 'three alerts firing');
    for (const rule of [hot.id, 'queue hot']) {
      const r = await get(`/api/alerts?history=true&rule=${encodeURIComponent(rule)}`);
      expect(r.status).toBe(200);
      expect(r.body.total).toBe(2);
      expect(r.body.alerts.map((a: { ruleId: string }) => a.ruleId)).toEqual([hot.id, hot.id]);
      expect(r.body.historyTotal).toBeGreaterThan(0);
      expect(new Set(r.body.history.map((t: { ruleId: string }) => t.ruleId))).toEqual(new Set([hot.id]));
    }
    // Page by page, every alert once and the history back to its first transition: past
    // 10,000 alerts (limit's maximum) there was no way to the rest.
    const pages: { fingerprint: string }[] = [];
    const historyPages: { at: number; fingerprint: string }[][] = [];
    let next: string | undefined = '/api/alerts?history=true&limit=1';
    while (next !== undefined) {
      const page = await get(next);
      expect(page.status).toBe(200);
      pages.push(...page.body.alerts);
      historyPages.push(page.body.history);
      next = page.body.next;
      if (next !== undefined) expect(page.body.more).toMatch(/the next page is `next`/);
    }
    const whole = await get('/api/alerts?history=true&limit=10000');
    expect(pages.map((a) => a.fingerprint)).toEqual(whole.body.alerts.map((a: { fingerprint: string }) => a.fingerprint));
    expect(pages).toHaveLength(3);
    expect(historyPages.reverse().flat()).toEqual(whole.body.history);
    expect(whole.body.next).toBeUndefined();
    const none = await get('/api/alerts?rule=queue%20c');
    expect(none.status).toBe(400);
    expect(none.body.error).toEqual({
      code: 'PW_ERR_INVALID_ARG',
      field: 'rule',
      message: `rule must be the id or name of an alert rule, got "queue c"; the rules: "queue hot" (${hot.id}), "queue b" (${other.id})`,
    });
  });

  it('answers /api/metrics in id order, and with sampled only the series with (true) or without (false) a sample in the window', async () => {
    const { monitor, get } = await serving();
    // Series recorded once (a request id in a tag), then past a window of 3 s, two live ones.
    // A window of 1 s after 2 s: under CI's load the live ones had left it by the third query.
    for (let i = 0; i < 4; i++) monitor.record('request_ms', 5, { request_id: `r${i}` });
    await monitor.flush();
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    for (let i = 0; i < 2; i++) monitor.record('live_ms', 10 + i, { route: `/live${i}` });
    await monitor.flush();
    const of = (body: { metrics: { tags: Record<string, string>; window: { count: number } }[] }) => body.metrics.map((m) => [m.tags.route ?? m.tags.request_id, m.window.count]);
    // Left out: every series by id, as a consumer paging through them reads it.
    const all = await get('/api/metrics?names=request_ms,live_ms&window=3');
    expect(all.body.total).toBe(6);
    expect(of(all.body)).toEqual([['r0', 0], ['r1', 0], ['r2', 0], ['r3', 0], ['/live0', 1], ['/live1', 1]]);
    const live = await get('/api/metrics?names=request_ms,live_ms&window=3&sampled=true&limit=1');
    expect(live.body).toMatchObject({ total: 2, next: '/api/metrics?names=request_ms%2Clive_ms&window=3&sampled=true&limit=1&offset=1' });
    expect(of(live.body)).toEqual([['/live0', 1]]);
    expect(of((await get(live.body.next)).body)).toEqual([['/live1', 1]]);
    const idle = await get('/api/metrics?names=request_ms,live_ms&window=3&sampled=false');
    expect(idle.body.total).toBe(4);
    expect(of(idle.body)).toEqual([['r0', 0], ['r1', 0], ['r2', 0], ['r3', 0]]);
    // The window judges: 60 s holds them all.
    expect((await get('/api/metrics?names=request_ms,live_ms&sampled=false')).body).toMatchObject({ total: 0, metrics: [] });
  });

  it('answers status, metrics (paged), history, alerts and reports as the library does', async () => {
    const { monitor, get } = await serving();
    for (let i = 0; i < 5; i++) monitor.record('response_time', 10 + i, { endpoint: `/e${i}` });
    await monitor.flush();
    const status = await get('/api/status');
    expect(status.status).toBe(200);
    expect(status.body.monitor).toMatchObject({ state: 'running' });
    expect(status.body.http.mcp).toMatchObject({ token: false, stateChanges: false });

    const page = await get('/api/metrics?names=response_time&limit=2');
    expect(page.body).toMatchObject({ total: 5, offset: 0, limit: 2, next: '/api/metrics?names=response_time&limit=2&offset=2' });
    expect(page.body.metrics).toHaveLength(2);
    const last = await get('/api/metrics?names=response_time&limit=2&offset=4');
    expect(last.body.metrics).toHaveLength(1);
    expect(last.body.next).toBeUndefined();

    const history = await get('/api/history?metric=response_time&tags=' + encodeURIComponent('{"endpoint":"/e3"}'));
    expect(history.status).toBe(200);
    expect(history.body.series).toHaveLength(1);
    expect(history.body.series[0].points.map((p: { value: number }) => p.value)).toEqual([13]);
    expect(history.body.series[0].tags).toEqual({ endpoint: '/e3' });

    expect((await get('/api/alerts')).body).toEqual({ total: 0, offset: 0, limit: 100, alerts: [] });
    const none = await get('/api/reports/latest');
    expect(none.status).toBe(404);
    expect(none.body.error.message).toMatch(/POST \/api\/reports/);
    const built = await get('/api/reports', { method: 'POST', body: JSON.stringify({ includeAlerts: false }) });
    expect(built.status).toBe(200);
    expect(typeof built.body.score).toBe('object');
    expect((await get('/api/reports/latest')).body.generatedAt).toBe(built.body.generatedAt);
    const md = await get('/api/reports', { method: 'POST', body: '{"format":"markdown"}' });
    expect(md.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(md.body).toMatch(/^# Performance report/);
  });

  it("answers a report's series and metrics 200 a page by default, each page saying how to get the next, read from the latest report: every series once, none built again", async () => {
    const { monitor, get } = await serving({}, { maxSeries: 2000 });
    // 450 series of one metric and 3 metrics of their own: the report lists 450 + the monitor's own series.
    for (let i = 0; i < 450; i++) monitor.record('response_time', i, { endpoint: `/e${i}` });
    for (const name of ['jobs_a', 'jobs_b', 'jobs_c']) monitor.record(name, 1);
    await monitor.flush();
    const built = await get('/api/reports', { method: 'POST', body: '{"includeAlerts":false}' });
    expect(built.status).toBe(200);
    const whole = monitor.getLatestReport()!;
    const total = whole.series.length;
    expect(total).toBeGreaterThan(450);
    expect(built.body.summary.series).toBe(total);
    expect(built.body.page).toEqual({ offset: 0, limit: 200, series: total, metrics: whole.metrics.length, next: '/api/reports/latest?offset=200&limit=200' });
    expect(built.body.series).toHaveLength(200);
    expect(built.body.notes.at(-1)).toBe(`Listed: series 1–200 of ${total}, metrics 1–${whole.metrics.length} of ${whole.metrics.length} (limit 200 from offset 0); the next page of this report: GET /api/reports/latest?offset=200&limit=200.`);
    const seen: string[] = built.body.series.map((s: { name: string; tags: object }) => `${s.name} ${JSON.stringify(s.tags)}`);
    let next: string | undefined = built.body.page.next;
    while (next !== undefined) {
      const page = await get(next);
      expect(page.status).toBe(200);
      expect(page.body.generatedAt).toBe(built.body.generatedAt);
      seen.push(...page.body.series.map((s: { name: string; tags: object }) => `${s.name} ${JSON.stringify(s.tags)}`));
      next = page.body.page.next;
    }
    expect(seen).toEqual(whole.series.map((s) => `${s.name} ${JSON.stringify(s.tags)}`));
    // The last page says it is the last; past the end, an empty page.
    const last = await get(`/api/reports/latest?offset=${total - 1}`);
    expect(last.body.page.next).toBeUndefined();
    expect(last.body.notes.at(-1)).toBe(`Listed: series ${total}–${total} of ${total}, metrics none of ${whole.metrics.length} (limit 200 from offset ${total - 1}).`);
    expect((await get('/api/reports/latest?limit=100000')).body.series).toHaveLength(total);
    // A document is paged the same way, its note where the next page is.
    const md = await get('/api/reports', { method: 'POST', body: '{"format":"markdown","limit":5,"includeAlerts":false}' });
    expect(md.headers.get('content-type')).toBe('text/markdown; charset=utf-8');
    expect(md.body).toContain('the next page of this report: GET /api/reports/latest?offset=5&limit=5&format=markdown');
    const html = await get('/api/reports/latest?format=html&offset=5&limit=5');
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.body).toContain('Listed: series 6–10 of');
    // Bad pages are refused naming the field and its limits.
    for (const [body, field, message] of [
      ['{"limit":0}', 'limit', 'limit must be an integer from 1 to 100000, got 0'],
      ['{"limit":"5"}', 'limit', 'limit must be an integer from 1 to 100000, got "5"'],
      ['{"offset":1.5}', 'offset', 'offset must be an integer from 0 to 9007199254740991, got 1.5'],
    ] as const) expect((await get('/api/reports', { method: 'POST', body })).body.error).toEqual({ code: 'PW_ERR_INVALID_ARG', field, message });
    expect((await get('/api/reports/latest?limit=100001')).body.error).toMatchObject({ field: 'limit', message: 'limit must be an integer from 1 to 100000, got "100001"' });
    expect((await get('/api/reports/latest?format=pdf')).body.error).toMatchObject({ field: 'format', message: 'format must be one of json, markdown, html, got "pdf"' });
  });

  it('answers a bad query parameter 400 naming it, with the library\'s own words', async () => {
    const { monitor, get } = await serving();
    monitor.record('response_time', 1);
    await monitor.flush();
    const cases: [string, string, RegExp][] = [
      ['/api/history', 'metric', /metric is required/],
      ['/api/history?metric=response_tme', 'metric', /not a known metric; the nearest known: response_time/],
      ['/api/history?metric=response_time&max_points=0', 'max_points', /max_points must be an integer from 1 to 100000/],
      ['/api/history?metric=response_time&from=yesterday', 'from', /from must be ms since the epoch or an ISO 8601 date/],
      ['/api/history?metric=response_time&from=2000&to=1000', 'from', /must not be after to/],
      // With to left out it is now, and a from after it is refused as one after a given to (it answered 200, empty).
      ['/api/history?metric=response_time&from=8640000000000000', 'from', /^from \(\+275760-09-13T00:00:00\.000Z\) must not be after to, which is now \(.*\) when left out/],
      ['/api/alerts?history=true&from=8640000000000000', 'from', /must not be after to, which is now/],
      // An empty list is refused, as the MCP tool and the CLI refuse theirs (it answered 200 with no series).
      ['/api/metrics?names=', 'names', /^names must list at least one metric name, comma-separated \(leave it out for every metric\), got ""$/],
      ['/api/metrics?names=,', 'names', /must list at least one metric name/],
      ['/api/history?metric=response_time&from=1e17', 'from', /from must be ms since the epoch or an ISO 8601 date/],
      // Date.parse alone took a typo for a date: 2003-01-02, the year 1000, the server's zone, March 2.
      ['/api/history?metric=response_time&from=1%202%203', 'from', /from must be ms since the epoch or an ISO 8601 date \(2026-12-05, .*got "1 2 3"/],
      ['/api/history?metric=response_time&from=%2B1000', 'from', /got "\+1000"/],
      ['/api/history?metric=response_time&to=12%2F05%2F2026', 'to', /to must be ms since the epoch or an ISO 8601 date/],
      ['/api/history?metric=response_time&from=2026-12-05T10:00', 'from', /a time needs its zone, Z or an offset such as \+01:00/],
      ['/api/alerts?history=true&from=2026-02-30', 'from', /no such date, got "2026-02-30"/],
      ['/api/history?metric=response_time&from=100000000000000000', 'from', /from must be within ±8.64e15 ms of the epoch \(the range of a Date\)/],
      ['/api/alerts?history=true&to=-9000000000000000', 'to', /to must be within ±8.64e15 ms/],
      // Past ~309 digits a number of ms is Infinity: the front's own words, not the library's.
      [`/api/history?metric=response_time&from=${'9'.repeat(400)}`, 'from', /from must be ms since the epoch or an ISO 8601 date .*: a number of ms that size is no time/],
      ['/api/history?metric=response_time&tags=endpoint', 'tags', /tags must be a JSON object of strings/],
      ['/api/history?metric=response_time&resolution=fine', 'resolution', /resolution must be one of auto, raw, bucket, rollup/],
      ['/api/history?metric=response_time&metric=x', 'metric', /given more than once/],
      ['/api/metrics?window=-1', 'window', /window must be an integer from 1 to 86400, got "-1"/],
      // The route's limit is the library's: a window it takes is one getMetrics answers.
      ['/api/metrics?window=86401', 'window', /window must be an integer from 1 to 86400, got "86401"/],
      ['/api/metrics?sampled=yes', 'sampled', /^sampled must be true or false, got "yes"$/],
      ['/api/metrics?name=x', 'name', /unknown query parameter "name"; this route takes names, tags, window, sampled, limit, offset/],
      // A page is summarised on the host's thread: 10,000 series held it ~1 s.
      ['/api/metrics?limit=1001', 'limit', /limit must be an integer from 1 to 1000, got "1001"/],
      ['/api/alerts?state=burning', 'state', /state/],
      ['/api/alerts?history=yes', 'history', /history must be true or false/],
      ['/api/alerts?from=0', 'from', /^from bounds the alert history: add history=true, or leave from out \(the active alerts are those of now\)$/],
      ['/api/alerts?history=false&to=2026-12-05', 'to', /to bounds the alert history: add history=true/],
      ['/api/events?alerts=false', 'metric', /metric is required when alerts is false/],
      ['/api/events?metric=nope', 'metric', /not a known metric/],
      ['/api/events?tags={"endpoint":"/a"}', 'tags', /tags applies to a metric's stream: give metric, or leave tags out \(without metric the stream carries alerts only\)/],
      ['/api/events?from=0', 'from', /from applies to a metric's stream/],
      // Taken, it read no history and streamed from now on, as if left out.
      ['/api/events?metric=response_time&from=2999-01-01', 'from', /^from \(2999-01-01T00:00:00.000Z\) is after now \(.*\): the stream's history ends now and its live buckets begin there; give a time in the past, or leave from out for the last 5 minutes$/],
      ['/api/events?limit=5', 'limit', /limit applies to a metric's stream/],
      ['/metrics?x=1', 'x', /unknown query parameter "x"; this route takes none/],
    ];
    for (const [path, field, message] of cases) {
      const r = await get(path);
      expect({ path, status: r.status, field: r.body.error?.field }).toEqual({ path, status: 400, field });
      expect(r.body.error.message, path).toMatch(message);
    }
    const future = await get('/api/reports', { method: 'POST', body: JSON.stringify({ from: Date.now() + 3_600_000 }) });
    expect(future).toMatchObject({ status: 400, body: { error: { field: 'from', message: expect.stringMatching(/must not be after to, which is now/) } } });
    const option = await get('/api/reports', { method: 'POST', body: '{"signal":1}' });
    expect(option).toMatchObject({ status: 400, body: { error: { field: 'signal', message: expect.stringMatching(/unknown report option "signal"/) } } });
    const format = await get('/api/reports', { method: 'POST', body: '{"format":"pdf"}' });
    expect(format).toMatchObject({ status: 400, body: { error: { field: 'format', message: expect.stringMatching(/must be one of json, markdown, html/) } } });
    expect((await get('/api/reports', { method: 'POST', body: '[' })).body.error.field).toBe('body');
  });

  it("takes POST /api/reports' from and to as the query routes take theirs: ms since the epoch or ISO 8601 dates, refused in the same words", async () => {
    const { get } = await serving();
    const from = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const to = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    const post = (body: object) => get('/api/reports', { method: 'POST', body: JSON.stringify({ includeAlerts: false, ...body }) });
    for (const [body, window] of [
      [{ from, to }, { from: Date.parse(from), to }],
      [{ from, to: new Date(to).toISOString() }, { from: Date.parse(from), to }],
      [{ from: String(Date.parse(from)), to: String(to) }, { from: Date.parse(from), to }],
      [{ from: new Date(to).toISOString().slice(0, 10) }, { from: Date.parse(new Date(to).toISOString().slice(0, 10)) }],
    ] as [object, object][]) {
      const r = await post(body);
      expect({ body, status: r.status, error: r.body.error }).toEqual({ body, status: 200, error: undefined });
      expect(r.body.window).toMatchObject(window);
    }
    const query = (await get('/api/history?metric=response_time&from=yesterday')).body.error.message;
    expect((await post({ from: 'yesterday' })).body.error).toMatchObject({ field: 'from', message: query });
    for (const [body, field, message] of [
      [{ to: '2026-12-05T10:00' }, 'to', /a time needs its zone, Z or an offset such as \+01:00/],
      [{ from: '2026-02-30' }, 'from', /no such date, got "2026-02-30"/],
      [{ to: true }, 'to', /to must be ms since the epoch or an ISO 8601 date .*got "true"/],
    ] as [object, string, RegExp][]) {
      const r = await post(body);
      expect({ body, status: r.status, field: r.body.error?.field }).toEqual({ body, status: 400, field });
      expect(r.body.error.message).toMatch(message);
    }
  });

  it('answers every bad parameter with the code PW_ERR_INVALID_ARG, whether the route or the library refused it: docs/http.md\'s example, byte for byte', async () => {
    const { monitor, get } = await serving();
    monitor.record('response_time', 1);
    await monitor.flush();
    const example = await get('/api/history?metric=response_time&max_points=0');
    expect(example).toMatchObject({ status: 400, body: { error: { code: 'PW_ERR_INVALID_ARG', field: 'max_points', message: 'max_points must be an integer from 1 to 100000, got "0"' } } });
    for (const path of ['/api/metrics?name=x', '/api/alerts?history=yes', '/api/history?metric=response_time&tags=endpoint', '/api/history?metric=response_tme', '/api/history?metric=response_time&from=2000&to=1000', '/metrics?x=1']) {
      const r = await get(path);
      expect({ path, status: r.status, code: r.body.error?.code }).toEqual({ path, status: 400, code: 'PW_ERR_INVALID_ARG' });
    }
    expect((await get('/nowhere')).body.error.code).toBe('HTTP_404');
  });

  it('refuses a history of more than 100,000 points (max_points × limit) on /api/history and /api/events, naming the parameter', async () => {
    // Within each parameter's own range, 50 series of 20,000 stored minutes were one answer
    // of 93 MB that held the host's event loop 5.3 s and took its RSS to 930 MB; at limit
    // 1,000 and 30 days, gigabytes.
    const { monitor, get } = await serving();
    monitor.record('response_time', 1);
    await monitor.flush();
    const history = await get('/api/history?metric=response_time&limit=50&max_points=100000');
    expect(history).toMatchObject({ status: 400, body: { error: { code: 'PW_ERR_INVALID_ARG', field: 'max_points', message: "max_points × limit must be at most 100000 points, got 100000 × 50 = 5000000: a history that long holds the host's event loop for seconds; ask for fewer points, or fewer series a page" } } });
    expect((await get('/api/history?metric=response_time&limit=1000')).body.error).toMatchObject({ field: 'limit', message: expect.stringContaining('got 500 × 1000 = 500000') });
    expect((await get('/api/events?metric=response_time&limit=100&max_points=10000')).body.error).toMatchObject({ field: 'max_points', message: expect.stringContaining('got 10000 × 100 = 1000000') });
    expect((await get('/api/history?metric=response_time&limit=1&max_points=100000')).status).toBe(200);
  });

  it('refuses a Host or an Origin off the list in the API\'s shape on /api/* and /metrics, and in JSON-RPC on /mcp', async () => {
    const { server } = await serving();
    const ask = (path: string, headers: string) => raw(server.port, `GET ${path} HTTP/1.1\r\n${headers}Connection: close\r\n\r\n`);
    const own = `Host: 127.0.0.1:${server.port}\r\n`;
    // The JSON of a body, chunked or not.
    const json = (body: string) => JSON.parse(body.slice(body.indexOf('{'), body.lastIndexOf('}') + 1));
    for (const path of ['/api/status', '/metrics', '/api/metrics?window=60']) {
      const host = await ask(path, 'Host: evil.example\r\n');
      expect({ path, status: host.status, body: json(host.body) }).toMatchObject({ path, status: 403, body: { error: { code: 'PW_ERR_FORBIDDEN', field: 'host', message: expect.stringMatching(/^Forbidden: /) } } });
      const origin = await ask(path, `${own}Origin: http://evil.example\r\n`);
      expect({ path, status: origin.status, body: json(origin.body) }).toMatchObject({ path, status: 403, body: { error: { code: 'PW_ERR_FORBIDDEN', field: 'origin', message: expect.stringMatching(/^Forbidden: /) } } });
      const malformed = await ask(path, 'Host: evil@127.0.0.1\r\n');
      expect({ path, status: malformed.status, body: json(malformed.body) }).toMatchObject({ path, status: 400, body: { error: { code: 'PW_ERR_INVALID_ARG', field: 'host' } } });
      // No Host at all: Node's own check answered a bare 400 with no body.
      const none = await ask(path, '');
      expect({ path, status: none.status, body: json(none.body) }).toMatchObject({ path, status: 400, body: { error: { code: 'PW_ERR_INVALID_ARG', field: 'host', message: 'Bad Request: the request has no Host header, which HTTP/1.1 requires' } } });
    }
    for (const path of ['/mcp', '/mcp?x=1']) {
      const origin = await ask(path, `${own}Origin: http://evil.example\r\n`);
      expect({ path, status: origin.status, body: json(origin.body) }).toMatchObject({ path, status: 403, body: { jsonrpc: '2.0', error: { code: -32000 }, id: null } });
    }
  });

  it('answers an unknown route 404, a wrong method 405, a long target 414 and a long body 413', async () => {
    const { server, get } = await serving({ maxUrlBytes: 1024 });
    const missing = await get('/api/nothing');
    expect(missing.status).toBe(404);
    // A target that starts with // is a path, not a URL of another host whose path is a route.
    for (const path of ['//metrics', '//foo/metrics', '//foo/api/alerts', '//[x']) {
      const r = await raw(server.port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`);
      expect({ path, status: r.status }).toEqual({ path, status: 404 });
    }
    expect(missing.body.error.message).toMatch(/\/api\/nothing is no route of this server; see \/mcp, \/metrics/);
    const method = await get('/metrics', { method: 'POST', body: '' });
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('GET');
    expect((await get(`/api/metrics?names=${'a'.repeat(1100)}`)).status).toBe(414);
    const big = await raw(server.port, `POST /api/reports HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n`);
    expect(big.status).toBe(413);
    expect(big.written).toBeLessThan(1000);
    // In the JSON API's error shape, with advice for this route (not /mcp's JSON-RPC, nor its batches).
    expect(JSON.parse(big.body)).toEqual({
      error: { code: 'HTTP_413', field: 'body', message: 'Payload Too Large: the body is over 16384 bytes, the limit of one request; a report request holds its options alone (from, to, includeRecommendations, includeAlerts, format, limit, offset)' },
    });
  });

  it('requires the token on every route once it has one, and refuses to bind beyond the loopback without one', async () => {
    const token = 'a-token-of-24-characters';
    const { get } = await serving({ token });
    for (const path of ['/metrics', '/api/status', '/api/events?alerts=true', '/mcp', '/nothing']) {
      expect((await get(path)).status, path).toBe(401);
      expect((await get(path, { headers: { authorization: 'Bearer not-the-token-at-all' } })).status, path).toBe(401);
    }
    // Every route but /mcp refuses in the API's shape, with the challenge and the monitor's clock
    // as every other answer has them (the SDK's OAuth body and headers alone before).
    for (const path of ['/metrics', '/api/status', '/nothing']) {
      const refused = await get(path, { headers: { authorization: 'Bearer not-the-token-at-all' } });
      expect(refused.body, path).toEqual({ error: { code: 'PW_ERR_UNAUTHORIZED', field: 'authorization', message: "Invalid token: send Authorization: Bearer <token> (the server's token: serveHttp()'s token option, or PERFWATCH_TOKEN of perfwatch serve)" } });
      expect(refused.headers.get('www-authenticate'), path).toMatch(/^Bearer error="invalid_token"/);
      expect(refused.headers.get('x-perfwatch-now'), path).toMatch(/^\d+$/);
      expect(refused.headers.get('cache-control'), path).toBe('no-store');
    }
    expect((await get('/mcp')).body).toMatchObject({ error: 'invalid_token', error_description: 'Missing Authorization header' });
    expect((await get('/metrics', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await get('/api/status', { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    cleanup.push(() => monitor.close());
    const error = await monitor.serveHttp({ port: 0, host: '0.0.0.0' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'PW_ERR_INVALID_ARG', field: 'token' });
    expect((error as Error).message).toMatch(/token is required to listen on 0\.0\.0\.0/);
    const bounds = await monitor.serveHttp({ port: 0, histogramBuckets: [1, 5, 2] }).catch((e: unknown) => e);
    expect(bounds).toMatchObject({ field: 'histogramBuckets[2]' });
  });

  it('lets a browser sign in once with ?token= and carry a session cookie, beyond the loopback too, but never to /mcp', async () => {
    const token = 'a-token-of-24-characters';
    // Bound beyond the loopback: no Host allow-list, so only the token guards the page.
    const { server } = await serving({ token, host: '0.0.0.0' });
    const port = server.port;
    const ask = (request: string, headers: Record<string, string> = {}, body = '') =>
      raw(port, `${request} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${Object.entries({ ...headers, 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' }).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`);

    // A wrong token is said to be one: the challenge's own words were "Missing Authorization header".
    const wrong = await ask('GET /?token=not-the-token-at-all');
    expect(wrong.status).toBe(401);
    expect(JSON.parse(wrong.body).error.message).toMatch(/the \?token= given is not this server's token/);
    const posted = await ask(`POST /api/reports?token=${token}`, { 'Content-Type': 'application/json' }, '{}');
    expect(posted.status).toBe(401);
    expect(JSON.parse(posted.body).error.message).toMatch(/a sign-in with \?token= is a GET \(a page load\), not a POST/);
    const signIn = await ask(`GET /api/status?pretty=1&token=${token}`);
    expect(signIn.status).toBe(303);
    // The token leaves the address; the cookie is not the token and no other site can send it.
    // Relative: behind a reverse proxy under a prefix, the page stays under it.
    expect(signIn.headers.location).toBe('status?pretty=1');
    const cookie = signIn.headers['set-cookie']!;
    expect(cookie).toMatch(/^perfwatch_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain(token);
    const session = cookie.split(';')[0]!;

    for (const path of ['/', '/api/status', '/metrics', '/api/events?alerts=true']) {
      const answer = await raw(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nCookie: other=1; ${session}\r\nConnection: close\r\n\r\n`, undefined, { headersOnly: true });
      expect(answer.status, path).toBe(200);
    }
    expect((await ask('GET /api/status', { Cookie: `${session.slice(0, -2)}AA` })).status).toBe(401);
    expect((await ask('GET /api/status', { Cookie: `perfwatch_session=${token}` })).status).toBe(401);
    expect((await ask('POST /mcp', { Cookie: session, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' }, JSON.stringify(INIT))).status).toBe(401);
    // The page's own POST carries its own Origin; another origin's is refused before the token.
    const own = await ask('POST /api/reports', { Cookie: session, Origin: `http://127.0.0.1:${port}`, 'Content-Type': 'application/json' }, '{"includeAlerts":false}');
    expect(own.status).toBe(200);
    expect(JSON.parse(own.body).score).toHaveProperty('overall');
    expect((await ask('POST /api/reports', { Cookie: session, Origin: 'http://evil.example', 'Content-Type': 'application/json' }, '{}')).status).toBe(403);
  });

  it('answers a request target that is no URL 400 naming it, with a token or without, and writes nothing to the host\'s stderr', async () => {
    const token = 'a-token-of-24-characters';
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      written.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
    try {
      for (const options of [{}, { token }]) {
        const { server } = await serving(options);
        const port = server.port;
        // (`//[x` was one while a target was read against a base: it is a path, 404.)
        for (const target of ['http://[', 'http://[::1/x']) {
          const get = (headers: string) => raw(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${headers}Connection: close\r\n\r\n`);
          const answer = await get('token' in options ? `Authorization: Bearer ${token}\r\n` : '');
          expect(answer.status, target).toBe(400);
          expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'PW_ERR_INVALID_ARG', field: 'url', message: expect.stringContaining('no URL path') } });
          // Without the token, or with a cookie that is no session's: refused as any other request.
          if ('token' in options) {
            expect((await get('')).status, target).toBe(401);
            expect((await get('Cookie: perfwatch_session=abc\r\n')).status, target).toBe(401);
          }
        }
      }
    } finally {
      process.stderr.write = write;
    }
    expect(written.filter((line) => line.includes('perfwatch http'))).toEqual([]);
  });

  it('keeps a session cookie off /mcp however its path is spelled: dot segments and a fragment reach the route, not the cookie', async () => {
    const token = 'a-token-of-24-characters';
    const { server } = await serving({ token });
    const port = server.port;
    const signIn = await raw(port, `GET /?token=${token} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    const session = signIn.headers['set-cookie']!.split(';')[0]!;
    const body = JSON.stringify(INIT);
    // The head alone: an initialize's answer is a stream.
    const post = (path: string, auth: Record<string, string>) =>
      raw(port, `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${Object.entries({ ...auth, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' }).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`, undefined, { headersOnly: true });
    // Each spelling is the MCP endpoint: the token opens it.
    for (const path of ['/mcp', '/./mcp', '/api/../mcp', '/mcp#x']) {
      expect((await post(path, { Authorization: `Bearer ${token}` })).status, path).toBe(200);
      const answer = await post(path, { Cookie: session });
      expect(answer.status, path).toBe(401);
      expect(answer.headers['www-authenticate'], path).toMatch(/^Bearer /);
    }
  });

  it('cuts off a client that dribbles its headers (slowloris) and caps connections', async () => {
    const { server } = await serving({ headersTimeoutMs: 300, requestTimeoutMs: 1_000, maxConnections: 2 });
    const dribble = (socket: Socket) => {
      const timer = setInterval(() => socket.write('X-Slow: 1\r\n'), 50);
      socket.on('close', () => clearInterval(timer));
    };
    const slow = await raw(server.port, 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n', dribble);
    expect(slow.status).toBe(408);
    // Two connections still sending their headers fill the cap: a third takes the place of the
    // oldest, which is closed without an answer (it had sent no whole request).
    const held = [raw(server.port, 'GET /metrics HTTP/1.1\r\n', dribble), raw(server.port, 'GET /metrics HTTP/1.1\r\n', dribble)];
    await waitFor(() => server.status().connections.open === 2, 10_000, 'two connections held');
    const third = await raw(server.port, `GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`);
    expect(third.status).toBe(200);
    expect((await Promise.all(held)).map((a) => a.status).sort()).toEqual([0, 408]);
    expect(server.status().connections).toMatchObject({ limit: 2, refused: 0, evicted: 1 });
    // Two connections that have sent their requests (event streams) fill it for good: a third is closed at once.
    const streams = [new AbortController(), new AbortController()];
    try {
      const opened = await Promise.all(streams.map((c) => fetch(`${server.url}api/events`, { signal: c.signal })));
      expect(opened.map((r) => r.status)).toEqual([200, 200]);
      await waitFor(() => server.status().connections.open === 2, 10_000, 'two streams held');
      const refused = await raw(server.port, `GET /api/status HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`);
      expect(refused.status).toBe(0);
      expect(server.status().connections).toMatchObject({ limit: 2, refused: 1, evicted: 1 });
    } finally {
      for (const c of streams) c.abort();
    }
  });
});

interface StreamEvent {
  event: string;
  data: any;
  /** The last event id the stream had set when this event came (an EventSource's lastEventId). */
  id?: string;
}

/** Reads an SSE stream's events until `until` says stop (or the guard fires); `headers` as an EventSource's reconnection sends them. */
async function events(url: string, until: (events: StreamEvent[]) => boolean, guardMs = 20_000, headers: Record<string, string> = {}): Promise<StreamEvent[]> {
  const abort = new AbortController();
  const guard = setTimeout(() => abort.abort(), guardMs);
  const r = await fetch(url, { signal: abort.signal, headers });
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const seen: StreamEvent[] = [];
  let id: string | undefined;
  let buffer = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        // An id field sets the stream's last event id, with or without an event (the SSE spec).
        id = /^id: (.*)$/m.exec(block)?.[1] ?? id;
        if (event && data) seen.push({ event, data: JSON.parse(data), ...(id !== undefined ? { id } : {}) });
      }
      if (until(seen)) break;
    }
  } finally {
    clearTimeout(guard);
    abort.abort();
  }
  return seen;
}

describe('GET /api/events', () => {
  it('streams the history, then each new bucket and each alert transition as it happens', async () => {
    const { monitor, server } = await serving({}, { alerts: { resolveHoldMs: 0 } } as MonitorOptions);
    monitor.record('queue_size', 1);
    await monitor.flush();
    await monitor.createAlertRule({ name: 'deep queue', metric: 'queue_size', aggregation: 'last', operator: '>', threshold: 100, severity: 'critical' });
    // The stream's first bucket may be the one of the sample before it, 500 in the next.
    const bucketPoints = (e: StreamEvent[]): { last: number }[] => e.filter((x) => x.event === 'buckets').flatMap((x) => x.data.series[0].points);
    const seen = events(new URL('/api/events?metric=queue_size', server.url).href, (e) => e.some((x) => x.event === 'alert') && bucketPoints(e).some((p) => p.last === 500));
    await waitFor(() => server.status().events.open === 1);
    monitor.record('queue_size', 500);
    const got = await seen;
    // The sample before the stream: in its history, or in its first buckets when the collector
    // may still have been taking samples into its bucket as the stream began.
    expect(got[0]).toMatchObject({ event: 'history', data: { metric: 'queue_size', series: { tags: {} } } });
    const history: { value: number }[] = got[0]!.data.series.points;
    const buckets = got.filter((x) => x.event === 'buckets').flatMap((x) => x.data.series[0].points as { count: number; sum: number }[]);
    expect([history.length + buckets.reduce((n, p) => n + p.count, 0), history.reduce((n, p) => n + p.value, 0) + buckets.reduce((n, p) => n + p.sum, 0)]).toEqual([2, 501]);
    expect(got.find((e) => e.event === 'alert')!.data).toMatchObject({ to: 'firing', value: 500 });
    expect(bucketPoints(got).at(-1)).toMatchObject({ last: 500 });
    await waitFor(() => server.status().events.open === 0);
  });

  it('drops a client that stops reading once its unsent events pass the buffer bound', async () => {
    const { monitor, server } = await serving({ eventStreamBufferBytes: 64 * 1024, eventStreamStallMs: 600_000 }, { rawCapacity: 16384 });
    await fillRaw(monitor);
    const socket = stalledStream(server);
    await waitFor(() => server.status().events.open === 0 && server.status().events.dropped.buffer === 1, 20_000, 'the stream dropped');
    socket.destroy();
    expect(server.status().events).toMatchObject({ open: 0, dropped: { buffer: 1, stalled: 0 } });
  });

  it('drops a client that leaves a write unread past eventStreamStallMs', async () => {
    const { monitor, server } = await serving({ eventStreamBufferBytes: 256 * 1024 * 1024, eventStreamStallMs: 300 }, { rawCapacity: 16384 });
    await fillRaw(monitor);
    const socket = stalledStream(server);
    await waitFor(() => server.status().events.open === 0 && server.status().events.dropped.stalled === 1, 20_000, 'the stream dropped');
    socket.destroy();
    expect(server.status().events).toMatchObject({ open: 0, dropped: { buffer: 0, stalled: 1 } });
  });

  it('serves maxEventStreams streams their alerts from one listener on the monitor, warning nothing into the host\'s stderr', async () => {
    const { monitor, server } = await serving({}, { alerts: { resolveHoldMs: 0 } } as MonitorOptions);
    const streams = server.status().events.limit;
    expect(streams).toBe(32);
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      if (w.name === 'MaxListenersExceededWarning') warnings.push(w);
    };
    process.on('warning', onWarning);
    cleanup.push(async () => process.off('warning', onWarning));
    monitor.record('queue_size', 1);
    await monitor.flush();
    await monitor.createAlertRule({ name: 'deep queue', metric: 'queue_size', aggregation: 'last', operator: '>', threshold: 100, severity: 'critical' });
    const before = monitor.listenerCount('alert');
    const seen = Array.from({ length: streams }, () => events(new URL('/api/events?metric=queue_size', server.url).href, (e) => e.some((x) => x.event === 'alert')));
    await waitFor(() => server.status().events.open === streams, 20_000, `${streams} streams open`);
    // process.emitWarning emits on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.map((w) => w.message)).toEqual([]);
    expect(monitor.listenerCount('alert')).toBe(before + 1);
    monitor.record('queue_size', 500);
    for (const got of await Promise.all(seen)) expect(got.filter((e) => e.event === 'alert').map((e) => e.data.to)).toEqual(['firing']);
    await waitFor(() => server.status().events.open === 0, 10_000, 'the streams closed');
    expect(monitor.listenerCount('alert')).toBe(before);
  });

  it('streams each bucket once it has closed, whole: every sample recorded while the stream is open comes in one bucket event, none twice', async () => {
    const { monitor, server } = await serving();
    // The sentinel, past every sample below (a queue is never -1 long: the monitor refuses it).
    const SENTINEL = 1_000_000;
    monitor.record('queue_size', 0);
    await monitor.flush();
    // That sample's bucket ends an interval before the stream begins (its buckets begin at the
    // one before the open one, which the collector may still take samples into): the stream's
    // buckets hold only what follows.
    await new Promise((resolve) => setTimeout(resolve, monitor.options.collectionIntervalMs * 2.5));
    const points = (e: StreamEvent[]): { t: number; count: number; last: number }[] => e.filter((x) => x.event === 'buckets').flatMap((x) => x.data.series.flatMap((s: { points: unknown[] }) => s.points));
    // Opened mid-interval, the stream reads each bucket halfway through it (it reads once an interval).
    const interval = monitor.options.collectionIntervalMs;
    await waitFor(() => Math.abs((monitor.now() % interval) - interval / 2) < interval / 10, 10_000, 'the middle of an interval');
    const seen = events(new URL('/api/events?metric=queue_size&alerts=false&max_points=1000', server.url).href, (e) => points(e).some((p) => p.last === SENTINEL), 30_000);
    await waitFor(() => server.status().events.open === 1);
    // Samples across a few buckets, each bucket read by the stream while it is still taking samples.
    const recorded = 60;
    for (let i = 0; i < recorded; i++) {
      monitor.record('queue_size', i + 1);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    // A sentinel in a later bucket: once it comes, every bucket before it has come.
    await new Promise((resolve) => setTimeout(resolve, monitor.options.collectionIntervalMs * 1.5));
    monitor.record('queue_size', SENTINEL);
    const got = points(await seen);
    const before = got.filter((p) => p.last !== SENTINEL);
    expect(before.reduce((n, p) => n + p.count, 0)).toBe(recorded);
    expect(new Set(got.map((p) => p.t)).size).toBe(got.length);
  });

  it('sends a sample recorded as the stream began once: in the history or in a bucket, not in both', async () => {
    const { monitor, server } = await serving();
    const SENTINEL = 1_000_000;
    const interval = monitor.options.collectionIntervalMs;
    // Early in a bucket, which is open as the stream begins: a history read to now held the
    // sample, and the stream's first bucket held it again.
    await waitFor(() => monitor.now() % interval < interval / 5, 10_000, 'the start of an interval');
    monitor.record('queue_size', 7);
    await monitor.flush();
    type Point = { value: number; count: number; sum: number; last: number };
    const of = (e: StreamEvent[], event: string): Point[] => e.filter((x) => x.event === event).flatMap((x) => (event === 'history' ? x.data.series.points : x.data.series.flatMap((s: { points: Point[] }) => s.points)));
    const seen = events(new URL('/api/events?metric=queue_size&alerts=false&max_points=1000', server.url).href, (e) => of(e, 'buckets').some((p) => p.last === SENTINEL), 30_000);
    await waitFor(() => server.status().events.open === 1);
    await new Promise((resolve) => setTimeout(resolve, interval * 1.5));
    monitor.record('queue_size', SENTINEL);
    const got = await seen;
    const history = of(got, 'history');
    const buckets = of(got, 'buckets');
    const inHistory = history.reduce((n, p) => n + p.value, 0);
    const inBuckets = buckets.reduce((n, p) => n + p.sum, 0) - SENTINEL;
    expect({ inHistory, inBuckets, samples: history.length + buckets.reduce((n, p) => n + p.count, 0) }).toEqual(inHistory > 0 ? { inHistory: 7, inBuckets: 0, samples: 2 } : { inHistory: 0, inBuckets: 7, samples: 2 });
  });

  it('resumes a client that reconnects (Last-Event-ID) after the last bucket it had: no history again, every bucket closed meanwhile once', async () => {
    const { monitor, server, get } = await serving();
    monitor.record('queue_size', 0);
    await monitor.flush();
    const url = new URL('/api/events?metric=queue_size&alerts=false&max_points=1000', server.url).href;
    const lastOf = (e: StreamEvent[]): number[] => e.filter((x) => x.event === 'buckets').flatMap((x) => x.data.series.flatMap((s: { points: { last: number }[] }) => s.points.map((p) => p.last)));
    const first = events(url, (e) => lastOf(e).includes(1));
    await waitFor(() => server.status().events.open === 1);
    monitor.record('queue_size', 1);
    const had = await first;
    const lastId = had.at(-1)!.id;
    expect(lastId).toMatch(/^\d+$/);
    await waitFor(() => server.status().events.open === 0);
    // While the client is away, two buckets close.
    monitor.record('queue_size', 2);
    await new Promise((resolve) => setTimeout(resolve, monitor.options.collectionIntervalMs * 1.5));
    monitor.record('queue_size', 3);
    const again = await events(url, (e) => lastOf(e).includes(3), 20_000, { 'Last-Event-ID': lastId! });
    expect(again.map((e) => e.event)).not.toContain('history');
    expect(lastOf(again)).toEqual([2, 3]);
    const bad = await get('/api/events?metric=queue_size', { headers: { 'Last-Event-ID': 'yesterday' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'PW_ERR_INVALID_ARG', field: 'Last-Event-ID' });
  });

  it("starts afresh, history and all, a client whose Last-Event-ID is past this server's clock", async () => {
    // The id of a process whose clock ran an hour ahead of this one's (a restart after the wall
    // clock stepped back): resumed there, the stream sent no bucket for that hour.
    const { monitor, server } = await serving();
    monitor.record('queue_size', 4);
    await monitor.flush();
    const url = new URL('/api/events?metric=queue_size&alerts=false&max_points=1000', server.url).href;
    const lastOf = (e: StreamEvent[]): number[] => e.filter((x) => x.event === 'buckets').flatMap((x) => x.data.series.flatMap((s: { points: { last: number }[] }) => s.points.map((p) => p.last)));
    const ahead = String(monitor.now() + 3_600_000);
    const seen = events(url, (e) => lastOf(e).includes(5), 20_000, { 'Last-Event-ID': ahead });
    await waitFor(() => server.status().events.open === 1);
    monitor.record('queue_size', 5);
    const got = await seen;
    expect(got[0]).toMatchObject({ event: 'history', data: { metric: 'queue_size' } });
    expect(got.at(-1)!.id).not.toBe(ahead);
    expect(Number(got.at(-1)!.id)).toBeLessThanOrEqual(monitor.now());
  });

  it('ends a stream after eventStreamMaxAgeMs, its client told to come back at once, so that a stopped client holds its place no longer', async () => {
    const { server, get } = await serving({ maxEventStreams: 1, eventStreamMaxAgeMs: 1000 });
    // A stopped process: its kernel takes what is written to it, and it reads none of it.
    const stopped = connect(server.port, '127.0.0.1');
    stopped.pause();
    stopped.on('error', () => {});
    cleanup.push(async () => stopped.destroy());
    stopped.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
    await waitFor(() => server.status().events.open === 1);
    expect((await get('/api/events')).status).toBe(503);
    await waitFor(() => server.status().events.open === 0, 20_000, "the stopped client's stream ended");
    const ended = await raw(server.port, `GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`);
    expect(ended.status).toBe(200);
    expect(ended.body).toMatch(/retry: 0\n\n/);
    expect(server.status().events.dropped).toEqual({ buffer: 0, stalled: 0 });
  });

  it('caps the streams open at once', async () => {
    const { server, get } = await serving({ maxEventStreams: 1 });
    const first = events(new URL('/api/events', server.url).href, () => false, 3_000).catch(() => []);
    await waitFor(() => server.status().events.open === 1);
    const second = await get('/api/events');
    expect(second.status).toBe(503);
    expect(second.body.error.message).toMatch(/1 event streams are open, the limit \(maxEventStreams\)/);
    expect(server.status().events).toMatchObject({ open: 1, limit: 1, refused: 1 });
    await first;
  });
});

/** A client that asks for a long history and never reads a byte of it. */
function stalledStream(server: HttpServer): Socket {
  const socket = connect(server.port, '127.0.0.1');
  socket.pause();
  socket.on('error', () => {});
  socket.write(`GET /api/events?metric=response_time&max_points=10000&limit=10&from=0 HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
  cleanup.push(async () => socket.destroy());
  return socket;
}

/**
 * Ten series of 10,000 raw samples: a history of several MB, more than socket buffers hold.
 * Once their buckets have ended an interval ago: a stream's history ends where the collector
 * may still take samples into a bucket (those it sends as buckets).
 */
async function fillRaw(monitor: PerformanceMonitor): Promise<void> {
  for (let s = 0; s < 10; s++) {
    const h = monitor.metric('response_time', { endpoint: `/endpoint/${s}` });
    for (let i = 0; i < 10_000; i++) h.record(i + 0.123456789);
  }
  await monitor.flush();
  const interval = monitor.options.collectionIntervalMs;
  const last = monitor.now();
  await waitFor(() => Math.floor(monitor.now() / interval) * interval - interval > last, 10_000, 'the samples\' buckets ended');
}
