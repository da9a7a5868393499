import dc from 'node:diagnostics_channel';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Piscina } from 'piscina';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, PerformanceMonitor, type MetricSnapshot } from '../dist/src/index.js';
import { caught, historyTotals, monitorStarter, waitFor } from './helpers.js';

const started = monitorStarter();
const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const CHANNELS = ['http.server.request.start', 'http.server.response.finish', 'http.client.request.start', 'http.client.response.finish', 'http.client.request.error', 'undici:request:create', 'undici:request:headers', 'undici:request:error', 'tracing:fastify.request.handler:start', 'fastify.initialization', 'tracing:express.router.request:start'];
const subscribed = () => CHANNELS.filter((n) => dc.channel(n).hasSubscribers);

/**
 * A node:http server answering with `handler`, or by default: /slow/* after `slowMs` (or never,
 * with Infinity), /fail/* with 503, the rest 200.
 */
async function serve(handlerOrSlowMs: http.RequestListener | number = 0): Promise<string> {
  const slowMs = typeof handlerOrSlowMs === 'number' ? handlerOrSlowMs : 0;
  const handler: http.RequestListener =
    typeof handlerOrSlowMs === 'function'
      ? handlerOrSlowMs
      : (req, res) => {
          if (req.url!.startsWith('/slow')) {
            if (slowMs !== Infinity) setTimeout(() => res.end('late'), slowMs);
            return;
          }
          res.statusCode = req.url!.startsWith('/fail') ? 503 : 200;
          res.end('ok');
        };
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Requests to `base` over up to 16 keep-alive connections, each resolved once its answer is read; close() ends the connections. */
function keepAlive(base: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const send = (method: string, path: string, headers: http.OutgoingHttpHeaders = {}) =>
    new Promise<void>((resolve, reject) => http.request(`${base}${path}`, { method, agent, headers }, (r) => r.resume().on('end', resolve)).on('error', reject).end());
  return { send, get: (path: string, headers?: http.OutgoingHttpHeaders) => send('GET', path, headers), close: () => agent.destroy() };
}

function seriesOf(m: PerformanceMonitor, name: string, tags: Record<string, string> = {}): MetricSnapshot[] {
  return m.getMetrics({ names: [name], tags });
}
const total = (m: PerformanceMonitor, name: string, tags?: Record<string, string>) => seriesOf(m, name, tags).reduce((n, s) => n + s.totalCount, 0);

/** Waits (hang guard only) until `name` holds `n` samples, then returns the monitor's series. */
async function counted(m: PerformanceMonitor, name: string, n: number, tags?: Record<string, string>): Promise<void> {
  await waitFor(async () => {
    await m.flush();
    return total(m, name, tags) >= n;
  }, 15_000, `${n} samples of ${name}`);
}

describe('instrument(): incoming node:http', () => {
  it('tags requests by route, method and status class and counts 5xx in error_rate', async () => {
    const m = await started();
    m.instrument();
    const base = await serve();
    for (let i = 0; i < 12; i++) await fetch(`${base}/orders/${i * 7919}`).then((r) => r.text());
    for (let i = 0; i < 5; i++) await fetch(`${base}/fail/${i}`, { method: 'POST' }).then((r) => r.text());
    await counted(m, 'throughput', 17);
    expect(total(m, 'throughput', { endpoint: '/orders/:id', method: 'GET', status_class: '2xx' })).toBe(12);
    expect(total(m, 'response_time', { endpoint: '/fail/:id', method: 'POST', status_class: '5xx' })).toBe(5);
    const [fail] = seriesOf(m, 'error_rate', { endpoint: '/fail/:id' });
    expect(fail).toMatchObject({ totalCount: 5, totalSum: 5 });
    expect(seriesOf(m, 'error_rate', { endpoint: '/orders/:id' })[0]).toMatchObject({ totalCount: 12, totalSum: 0 });
  });

  it('counts 4xx as errors when errorStatusFrom says so', async () => {
    const m = await started();
    m.instrument({ httpServer: { errorStatusFrom: 400 } });
    const base = await serve((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    for (let i = 0; i < 3; i++) await fetch(`${base}/missing`).then((r) => r.text());
    // No framework routed these 404s: they are filed under "unmatched", errors all the same.
    await counted(m, 'error_rate', 3, { endpoint: 'unmatched' });
    expect(seriesOf(m, 'error_rate', { endpoint: 'unmatched' })[0]).toMatchObject({ totalCount: 3, totalSum: 3 });
  });

  it('folds 10,000 distinct ids, UUIDs and hashes into a few routes, under the cap', async () => {
    const m = await started();
    m.instrument({ httpClient: false, fetch: false });
    const base = await serve();
    const { get, close } = keepAlive(base);
    for (let i = 0; i < 10_000; i += 50) {
      const batch: Promise<void>[] = [];
      for (let j = i; j < i + 50; j++) {
        const hex = (j * 2654435761).toString(16).padStart(12, '0');
        batch.push(get(j % 3 === 0 ? `/users/${j}` : j % 3 === 1 ? `/files/${crypto.randomUUID()}?v=${j}` : `/blobs/${hex}/raw`));
      }
      await Promise.all(batch);
    }
    close();
    await counted(m, 'throughput', 10_000);
    expect(new Set(seriesOf(m, 'throughput').map((s) => s.tags.endpoint))).toEqual(new Set(['/users/:id', '/files/:id', '/blobs/:id/raw']));
    expect(m.status().instrument!.httpServer).toMatchObject({ routes: 3, other: 0 });
  });

  it('folds dates, e-mail addresses and IPv4 addresses in paths: 900 of them take three routes, not the cap', async () => {
    // Each took a route of its own: past 200 of them (the cap) the service's routes fell into other.
    const m = await started();
    m.instrument({ httpClient: false, fetch: false });
    const base = await serve();
    const { get, close } = keepAlive(base);
    const day = (j: number) => new Date(Date.UTC(2020, 0, 1) + j * 86_400_000).toISOString();
    for (let i = 0; i < 300; i += 50) {
      const batch: Promise<void>[] = [];
      for (let j = i; j < i + 50; j++) {
        batch.push(get(j % 2 === 0 ? `/reports/${day(j).slice(0, 10)}` : `/logs/${encodeURIComponent(day(j))}`));
        batch.push(get(j % 2 === 0 ? `/users/user.${j}@example.com/settings` : `/users/user${j}%40example.co.uk/settings`));
        batch.push(get(`/hosts/10.0.${j >> 8}.${j & 255}`));
      }
      await Promise.all(batch);
    }
    await get('/api/v2/items');
    close();
    await counted(m, 'throughput', 901);
    expect(new Set(seriesOf(m, 'throughput').map((s) => s.tags.endpoint))).toEqual(new Set(['/reports/:date', '/logs/:date', '/users/:email/settings', '/hosts/:ip', '/api/v2/items']));
    expect(m.status().instrument!.httpServer).toMatchObject({ routes: 5, other: 0 });
  });

  it("files an absolute-form request (GET http://host/path, a proxy scanner's) under its path, as the service answers it: the hosts named take no routes", async () => {
    const m = await started();
    m.instrument({ httpClient: false, fetch: false });
    const base = await serve();
    const { port } = new URL(base);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const send = (path: string) => new Promise<void>((resolve, reject) => http.request({ host: '127.0.0.1', port, path, agent }, (r) => r.resume().on('end', resolve)).on('error', reject).end());
    // 300 judge hosts, more than the cap of 200 routes: each asked for / and for /users/<id>.
    for (let i = 0; i < 300; i += 50) {
      const batch: Promise<void>[] = [];
      for (let j = i; j < i + 50; j++) batch.push(send(`http://judge-${j}.example/`), send(`HTTPS://judge-${j}.example:8443/users/${j}?check=1`));
      await Promise.all(batch);
    }
    await send('/users/1');
    agent.destroy();
    await counted(m, 'throughput', 601);
    expect(total(m, 'throughput', { endpoint: '/' })).toBe(300);
    expect(total(m, 'throughput', { endpoint: '/users/:id' })).toBe(301);
    expect(m.status().instrument!.httpServer).toMatchObject({ routes: 2, other: 0 });
  });

  it('sends routes past maxRoutes to "other" and counts them', async () => {
    const m = await started();
    m.instrument({ httpServer: { maxRoutes: 2 } });
    const base = await serve();
    for (const name of ['alpha', 'beta', 'gamma', 'delta', 'alpha', 'epsilon']) await fetch(`${base}/${name}`).then((r) => r.text());
    await counted(m, 'throughput', 6);
    expect(new Set(seriesOf(m, 'throughput').map((s) => s.tags.endpoint))).toEqual(new Set(['/alpha', '/beta', 'other']));
    expect(total(m, 'throughput', { endpoint: 'other' })).toBe(3);
    expect(m.status().instrument!.httpServer).toMatchObject({ routes: 2, maxRoutes: 2, other: 3 });
  });

  it('at maxSeries, records the requests of routes the registry refuses under "other" and counts the routes in refused, without a fault each', async () => {
    const m = await started({ maxSeries: 16 });
    m.instrument({ httpClient: false, fetch: false });
    const base = await serve();
    const { get, close } = keepAlive(base);
    // 120 routes of 3 series each (response_time, throughput, error_rate) against 16 series: a few fit.
    for (let i = 0; i < 120; i += 20) await Promise.all(Array.from({ length: 20 }, (_, j) => get(`/route${i + j}`)));
    close();
    // Each answer's finish was published before the client read it: flush() has them all.
    await m.flush();
    expect(m.status().faults.byKind['instrument-http-server']).toBeUndefined();
    const s = m.status().instrument!.httpServer!;
    // Every request the client sent is recorded or counted as not recorded.
    expect(total(m, 'throughput') + s.notRecorded).toBe(120);
    // other's series were made before the registry filled: none is lost.
    expect(s.notRecorded).toBe(0);
    expect(total(m, 'error_rate')).toBe(120);
    const own = new Set(seriesOf(m, 'throughput').map((x) => x.tags.endpoint));
    expect(own.has('other')).toBe(true);
    own.delete('other');
    expect(own.size).toBeGreaterThan(0);
    expect(total(m, 'throughput', { endpoint: 'other' })).toBe(120 - own.size);
    expect(s).toMatchObject({ routes: 120, other: 0, refused: 120 - own.size });
    // A route's series are made all or none: the place left over (16 is 5 × 3 + 1) stays
    // free, where error_rate of the next route took it and was never written.
    expect(m.status().series).toMatchObject({ count: 15, limit: 16 });
    for (const name of ['response_time', 'throughput', 'error_rate']) for (const x of seriesOf(m, name)) expect([name, x.tags.endpoint, x.totalCount > 0]).toEqual([name, x.tags.endpoint, true]);
  });

  it('files 404s of paths not proven a route under "unmatched", outside the cap: after 2,000 scanner paths the real routes keep their own labels, and their own 404s', async () => {
    const m = await started();
    m.instrument({ httpClient: false, fetch: false });
    // A plain node:http service: three routes, 404 for the rest (/users/0 is a user it does not
    // have: once /users/:id has answered 200, its 404 is the route's own).
    const base = await serve((req: http.IncomingMessage, res: http.ServerResponse) => {
      const known = /^\/(health|users\/[1-9]\d*|orders\/\d+\/items)$/.test(req.url!);
      res.statusCode = known ? 200 : 404;
      res.end();
    });
    const { get, close } = keepAlive(base);
    // A scanner: 2,000 distinct paths, ten times the default cap of 200 routes.
    const scanned = ['/.env', '/wp-login.php', '/.git/config', '/admin.php'];
    for (let i = scanned.length; i < 2_000; i++) scanned.push(`/xyz${i}.php`);
    for (let i = 0; i < scanned.length; i += 50) await Promise.all(scanned.slice(i, i + 50).map((path) => get(path)));
    for (const path of ['/health', '/users/7', '/users/8', '/orders/3/items', '/health', '/users/0', '/.env']) await get(path);
    close();
    await counted(m, 'throughput', 2_007);
    const endpoints = new Set(seriesOf(m, 'throughput').map((s) => s.tags.endpoint));
    expect(endpoints).toEqual(new Set(['unmatched', '/health', '/users/:id', '/orders/:id/items']));
    expect(total(m, 'throughput', { endpoint: 'unmatched', method: 'GET', status_class: '4xx' })).toBe(2_001);
    expect(total(m, 'throughput', { endpoint: '/health' })).toBe(2);
    expect(total(m, 'throughput', { endpoint: '/users/:id', status_class: '2xx' })).toBe(2);
    expect(total(m, 'throughput', { endpoint: '/users/:id', status_class: '4xx' })).toBe(1);
    expect(total(m, 'throughput', { endpoint: '/orders/:id/items' })).toBe(1);
    expect(seriesOf(m, 'error_rate', { endpoint: 'unmatched' })[0]).toMatchObject({ totalCount: 2_001, totalSum: 0 });
    expect(m.status().instrument!.httpServer).toMatchObject({ routes: 3, maxRoutes: 200, other: 0, unmatched: 2_001 });
  });

  it('files 400 and 405 answers of paths not proven a route under "unmatched" too, and a known route keeps its own 4xx', async () => {
    const m = await started();
    m.instrument({ httpClient: false, fetch: false });
    // A plain node:http service without a router: three routes that take GET only (405
    // otherwise; /users/:id answers 400 to a bad query), 400 to a GET of any other path and
    // 405 to any other method there.
    const base = await serve((req: http.IncomingMessage, res: http.ServerResponse) => {
      const known = /^\/(health|users\/\d+|orders\/\d+\/items)(\?|$)/.test(req.url!);
      res.statusCode = req.method !== 'GET' ? 405 : !known || req.url!.endsWith('?bad') ? 400 : 200;
      res.end();
    });
    const { send, close } = keepAlive(base);
    // Before any 200 of /users/:id, its 400 proves no route: it is filed under "unmatched".
    await send('GET', '/users/1?bad');
    // 1,000 GETs (400) and 1,000 DELETEs (405) of distinct unknown paths: ten times the cap.
    for (let i = 0; i < 2_000; i += 50) {
      const batch: Promise<void>[] = [];
      for (let j = i; j < i + 50; j++) batch.push(j % 2 === 0 ? send('GET', `/scan${j}.php`) : send('DELETE', `/del${j}`));
      await Promise.all(batch);
    }
    for (const path of ['/health', '/users/7', '/users/8', '/orders/3/items']) await send('GET', path);
    // Known now: their 4xx (a new URL, a repeat of it, another method) stay under their routes.
    const after: [string, string][] = [['GET', '/users/9?bad'], ['GET', '/users/9?bad'], ['DELETE', '/users/7'], ['DELETE', '/orders/4/items'], ['GET', '/scan0.php']];
    for (const [method, path] of after) await send(method, path);
    close();
    await counted(m, 'throughput', 2_010);
    expect(new Set(seriesOf(m, 'throughput').map((s) => s.tags.endpoint))).toEqual(new Set(['unmatched', '/health', '/users/:id', '/orders/:id/items']));
    const count = (endpoint: string, method: string, cls: string) => total(m, 'throughput', { endpoint, method, status_class: cls });
    expect([count('unmatched', 'GET', '4xx'), count('unmatched', 'DELETE', '4xx')]).toEqual([1_002, 1_000]);
    expect([count('/users/:id', 'GET', '2xx'), count('/users/:id', 'GET', '4xx'), count('/users/:id', 'DELETE', '4xx')]).toEqual([2, 2, 1]);
    expect([count('/orders/:id/items', 'GET', '2xx'), count('/orders/:id/items', 'DELETE', '4xx'), count('/health', 'GET', '2xx')]).toEqual([1, 1, 1]);
    expect(total(m, 'throughput')).toBe(2_010);
    expect(total(m, 'error_rate', { endpoint: 'unmatched' })).toBe(2_002);
    expect(m.status().instrument!.httpServer).toMatchObject({ routes: 3, other: 0, unmatched: 2_002 });
  });

  it('files the 401s of an auth layer in front of every path under "unmatched" until a path has answered otherwise', async () => {
    const m = await started();
    m.instrument({ httpClient: false, fetch: false });
    // Every path answers 401 without the token; with it, two routes answer 200 and the rest 404.
    const base = await serve((req: http.IncomingMessage, res: http.ServerResponse) => {
      res.statusCode = req.headers.authorization !== 'Bearer t' ? 401 : /^\/(health|users\/\d+)$/.test(req.url!) ? 200 : 404;
      res.end();
    });
    const client = keepAlive(base);
    const get = (path: string, token?: string) => client.get(path, token ? { authorization: `Bearer ${token}` } : {});
    for (let i = 0; i < 1_500; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => get(`/probe${i + j}`)));
    for (const path of ['/health', '/users/1']) await get(path, 't');
    for (const path of ['/users/2', '/health']) await get(path);
    await get('/nothing', 't');
    client.close();
    await counted(m, 'throughput', 1_505);
    expect(new Set(seriesOf(m, 'throughput').map((s) => s.tags.endpoint))).toEqual(new Set(['unmatched', '/health', '/users/:id']));
    expect(total(m, 'throughput', { endpoint: 'unmatched', status_class: '4xx' })).toBe(1_501);
    expect(total(m, 'throughput', { endpoint: '/users/:id', status_class: '4xx' })).toBe(1);
    expect(total(m, 'throughput', { endpoint: '/health', status_class: '4xx' })).toBe(1);
    expect(m.status().instrument!.httpServer).toMatchObject({ routes: 2, other: 0, unmatched: 1_501 });
  });

  it('files the preflights a CORS layer answers for every path (OPTIONS, 204) under "unmatched": 300 paths by name take no place under the cap', async () => {
    const m = await started();
    m.instrument({ httpClient: false, fetch: false, httpServer: { maxRoutes: 10 } });
    // A CORS layer in front of the routes answers every preflight, whatever the path.
    const base = await serve((req: http.IncomingMessage, res: http.ServerResponse) => {
      res.statusCode = req.method === 'OPTIONS' ? 204 : /^\/users\/[a-z0-9]+$/.test(req.url!) ? 200 : 404;
      res.end();
    });
    const client = keepAlive(base);
    for (let i = 0; i < 300; i += 50) await Promise.all(Array.from({ length: 50 }, (_, j) => client.send('OPTIONS', `/users/user${i + j}x`)));
    await client.get('/users/7');
    await client.send('OPTIONS', '/users/8');
    client.close();
    await counted(m, 'throughput', 302);
    expect(new Set(seriesOf(m, 'throughput').map((s) => s.tags.endpoint))).toEqual(new Set(['unmatched', '/users/:id']));
    expect(total(m, 'throughput', { endpoint: 'unmatched', method: 'OPTIONS', status_class: '2xx' })).toBe(300);
    // Once the route is in the table, its preflights are its own.
    expect(total(m, 'throughput', { endpoint: '/users/:id', method: 'OPTIONS' })).toBe(1);
    expect(m.status().instrument!.httpServer).toMatchObject({ routes: 1, other: 0, unmatched: 300 });
  });

  it('files aborts on paths not proven a route under "unmatched": clients that hang up on 2,000 distinct paths take no place under the cap, and each abort is counted', async () => {
    const m = await started();
    m.instrument({ httpClient: false, fetch: false });
    // Answers /health, /orders/:id and /catalog/:id at once; a request with a query (or to any other path) hangs.
    const server = http.createServer((req, res) => {
      if (/^\/(health|orders\/\d+|catalog\/\d+)$/.test(req.url!)) res.end('ok');
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const base = `http://127.0.0.1:${port}`;
    await fetch(`${base}/orders/1`).then((r) => r.text());
    // 20 connections of 100 pipelined requests each on distinct unknown paths, and one with
    // two requests of the known /orders/:id; all hung up on once the server has them all.
    const paths: string[][] = Array.from({ length: 20 }, (_, k) => Array.from({ length: 100 }, (_, j) => `/gone${k * 100 + j}`));
    paths.push(['/orders/5?x=1', '/orders/6?x=1']);
    let pending = paths.flat().length;
    const arrived = new Promise<void>((resolve) => server.on('request', () => --pending === 0 && resolve()));
    const sockets = paths.map((list) => {
      const socket = net.connect(port, '127.0.0.1').on('error', () => {});
      socket.write(list.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
      return socket;
    });
    await arrived;
    for (const socket of sockets) socket.destroy();
    await counted(m, 'http_requests_aborted', 2_002);
    // The routes met after them still have places of their own.
    for (const path of ['/health', '/catalog/7']) await fetch(`${base}${path}`).then((r) => r.text());
    await counted(m, 'throughput', 3);
    expect(total(m, 'http_requests_aborted', { endpoint: 'unmatched', method: 'GET' })).toBe(2_000);
    expect(total(m, 'http_requests_aborted', { endpoint: '/orders/:id', method: 'GET' })).toBe(2);
    expect(total(m, 'http_requests_aborted')).toBe(2_002);
    expect(new Set(seriesOf(m, 'throughput').map((s) => s.tags.endpoint))).toEqual(new Set(['/orders/:id', '/health', '/catalog/:id']));
    expect(m.status().instrument!.httpServer).toMatchObject({ routes: 3, other: 0, unmatched: 2_000, aborted: 2_002 });
  });

  it('keeps apart URLs that meet in the table of recent URLs, and counts each request past the cap again', async () => {
    const m = await started();
    m.instrument({ httpServer: { maxRoutes: 2 } });
    const base = await serve();
    // Same length, last and middle character: one slot of the table (recent-urls.ts). The
    // third is past the cap, and met in a row: each of its requests must reach the cap.
    const urls = ['/aa/x1', '/bb/x1', '/aa/x1', '/bb/x1', '/aa/x1', '/bb/x1', '/aa/x1', '/bb/x1', '/cc/x1', '/cc/x1', '/cc/x1', '/cc/x1'];
    for (const url of urls) await fetch(`${base}${url}`).then((r) => r.text());
    await counted(m, 'throughput', 12);
    expect(total(m, 'throughput', { endpoint: '/aa/x1' })).toBe(4);
    expect(total(m, 'throughput', { endpoint: '/bb/x1' })).toBe(4);
    expect(total(m, 'throughput', { endpoint: 'other' })).toBe(4);
    expect(m.status().instrument!.httpServer).toMatchObject({ routes: 2, other: 4 });
  });

  it('records one URL answered in turn with other methods and statuses under each of them', async () => {
    const m = await started();
    m.instrument();
    const base = await serve((req, res) => {
      res.statusCode = Number(req.headers['x-status']);
      res.end();
    });
    // One URL, so every request meets its slot of the recent URLs (recent-urls.ts), which
    // holds the handles of that URL's last answer: a repeat must match method and status.
    // Its 4xx comes after the URL answered 200: a 4xx of a path not proven a route goes to "unmatched" instead.
    const sent: [string, number][] = [['GET', 200], ['GET', 200], ['GET', 503], ['GET', 503], ['POST', 503], ['GET', 200], ['POST', 201], ['POST', 201], ['GET', 410], ['GET', 200]];
    for (const [method, status] of sent) await fetch(`${base}/items/7`, { method, headers: { 'x-status': String(status) } }).then((r) => r.text());
    await counted(m, 'throughput', sent.length);
    const count = (method: string, cls: string) => total(m, 'throughput', { endpoint: '/items/:id', method, status_class: cls });
    expect([count('GET', '2xx'), count('GET', '5xx'), count('GET', '4xx'), count('POST', '5xx'), count('POST', '2xx')]).toEqual([4, 2, 1, 1, 2]);
    expect(total(m, 'response_time', { endpoint: '/items/:id' })).toBe(sent.length);
    expect(seriesOf(m, 'error_rate', { endpoint: '/items/:id', method: 'GET' })[0]).toMatchObject({ totalCount: 7, totalSum: 2 });
    expect(seriesOf(m, 'error_rate', { endpoint: '/items/:id', method: 'POST' })[0]).toMatchObject({ totalCount: 3, totalSum: 1 });
  });

  it('counts a request whose client went away before the response apart, not as handled', async () => {
    const m = await started();
    m.instrument();
    const base = await serve(Infinity);
    const ac = new AbortController();
    const arrived = new Promise<void>((r) => servers[0]!.once('request', () => r()));
    const answer = fetch(`${base}/slow/1`, { signal: ac.signal }).catch((e: Error) => e.name);
    await arrived;
    ac.abort();
    expect(await answer).toBe('AbortError');
    await counted(m, 'http_requests_aborted', 1);
    // No answer has proven /slow/:id a route, so its abort is filed under "unmatched".
    expect(seriesOf(m, 'http_requests_aborted')[0]!.tags).toEqual({ endpoint: 'unmatched', method: 'GET' });
    expect(total(m, 'throughput')).toBe(0);
    expect(m.status().instrument!.httpServer).toMatchObject({ aborted: 1, unmatched: 1, routes: 0 });
  });

  it("records none of the requests to perfwatch's own endpoints (serveMcp, serveHttp): they are the monitor's work, not the service's", async () => {
    const m = await started();
    m.instrument();
    const mcp = await m.serveMcp({ port: 0 });
    const front = await m.serveHttp({ port: 0 });
    try {
      // Each answered in full before the service's request below, whose sample follows theirs in the ring.
      expect((await fetch(mcp.url).then(async (r) => (await r.text(), r.status)))).toBeGreaterThanOrEqual(400);
      expect((await fetch(front.metricsUrl).then(async (r) => (await r.text(), r.status)))).toBe(200);
      expect((await fetch(`${front.url}api/status`).then(async (r) => (await r.text(), r.status)))).toBe(200);
      const base = await serve();
      await fetch(`${base}/orders/1`).then((r) => r.text());
      await counted(m, 'throughput', 1);
      expect(seriesOf(m, 'response_time').map((s) => s.tags.endpoint)).toEqual(['/orders/:id']);
      expect(seriesOf(m, 'error_rate').map((s) => s.tags.endpoint)).toEqual(['/orders/:id']);
      expect(m.status().instrument!.httpServer!.routes).toBe(1);
    } finally {
      await mcp.close();
      await front.close();
    }
  });

  it("counts each request once in every monitor that instruments the server, on kept-alive connections, and one monitor's uninstrument() leaves the other counting", async () => {
    // A library's monitor beside the application's, both instrumented, on one connection.
    const [app, library] = [await started(), await started()];
    app.instrument({ httpClient: false, fetch: false });
    library.instrument({ httpClient: false, fetch: false });
    const base = await serve();
    const { get, close } = keepAlive(base);
    for (let i = 0; i < 20; i++) await get(`/orders/${i}`);
    for (const m of [app, library]) {
      await counted(m, 'throughput', 20);
      expect(total(m, 'throughput', { endpoint: '/orders/:id' })).toBe(20);
    }
    library.uninstrument();
    for (let i = 0; i < 10; i++) await get(`/orders/${i}`);
    close();
    await counted(app, 'throughput', 30);
    await library.flush();
    expect(total(app, 'throughput', { endpoint: '/orders/:id' })).toBe(30);
    expect(total(library, 'throughput', { endpoint: '/orders/:id' })).toBe(20);
  });

  it('listens to a kept-alive connection once, however many times instrument() is called again, and the current one counts its aborts', async () => {
    const m = await started();
    const base = await serve(Infinity);
    const sockets: net.Socket[] = [];
    servers[0]!.on('connection', (s: net.Socket) => sockets.push(s));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) => new Promise<void>((resolve, reject) => http.get(`${base}${path}`, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject));
    m.instrument();
    await get('/a');
    expect(sockets).toHaveLength(1);
    const listening = sockets[0]!.listenerCount('close');
    // Each call replaces the instrumentation; the connection stays open throughout.
    // Every other time after an uninstrument(), so that it is a new instrumentation, not one taking over.
    for (let i = 0; i < 12; i++) {
      if (i % 2 === 1) m.uninstrument();
      m.instrument();
      await get(`/b/${i}`);
    }
    expect(sockets).toHaveLength(1);
    expect(sockets[0]!.listenerCount('close')).toBe(listening);
    // Nor does it keep what the replaced ones had on it: the current one's flight alone
    // (http-server.ts, FLIGHTS), not a chain that grows with each call, walked per request.
    const held = Object.getOwnPropertySymbols(sockets[0]!).find((s) => s.description === 'perfwatch.inflight')!;
    let flights = 0;
    for (let f = (sockets[0] as unknown as Record<symbol, { next?: unknown } | undefined>)[held]; f !== undefined; f = f.next as typeof f) flights++;
    expect(flights).toBe(1);
    await counted(m, 'throughput', 12);
    // The instrumentation now in place still sees the connection close under a request.
    const arrived = new Promise<void>((r) => servers[0]!.once('request', () => r()));
    const req = http.get(`${base}/slow/1`, { agent }).on('error', () => {});
    await arrived;
    req.destroy();
    await counted(m, 'http_requests_aborted', 1);
    expect(m.status().instrument!.httpServer!.aborted).toBe(1);
    agent.destroy();
  });

  it('records the requests in flight when instrument() is called again, and keeps its counts and the routes proven', async () => {
    // The new instrumentation met none of them at their start: their finish was dropped,
    // neither recorded nor counted, and the routes proven before went back to unmatched.
    const m = await started();
    m.instrument({ httpClient: false, fetch: false });
    const held: (() => void)[] = [];
    const base = await serve((req, res) => {
      if (req.url!.startsWith('/held')) held.push(() => res.end('late'));
      else {
        res.statusCode = req.url!.includes('missing') ? 404 : 200;
        res.end('ok');
      }
    });
    const get = (path: string) => fetch(`${base}${path}`).then((r) => r.text());
    await get('/orders/1');
    await get('/missing/1');
    const inFlight = Array.from({ length: 3 }, (_, i) => get(`/held/${i}`));
    await waitFor(() => held.length === 3, 10_000, 'the held requests to arrive');
    // Another configuration: a pool added would do the same; the source stays on.
    m.instrument({ httpClient: false, fetch: false, httpServer: { errorStatusFrom: 400 } });
    for (const answer of held) answer();
    await Promise.all(inFlight);
    // A 404 on a route proven before the call keeps its route's label.
    await get('/orders/2?missing');
    await counted(m, 'throughput', 6);
    expect(total(m, 'throughput', { endpoint: '/held/:id' })).toBe(3);
    expect(total(m, 'throughput', { endpoint: '/orders/:id', status_class: '4xx' })).toBe(1);
    expect(total(m, 'throughput', { endpoint: 'unmatched' })).toBe(1);
    expect(m.status().instrument!.httpServer).toMatchObject({ routes: 2, unmatched: 1, aborted: 0, notRecorded: 0 });
  });

  it("keeps no long URLs alive on the host's heap: 3,000 requests with 14 KB query strings to a route that answers 200", async () => {
    // The URL caches bounded their entries (4,096), not their bytes: every such URL stayed
    // reachable, ~42 MB of the host's heap here (up to 64 MB at node:http's header limit).
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const m = await started();
    m.instrument();
    const base = await serve((_req, res) => res.end('ok'));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const get = (path: string) => new Promise<void>((resolve, reject) => http.get(`${base}${path}`, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject));
    const pad = 'q'.repeat(14_000);
    await get('/app');
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 3000; i += 10) await Promise.all(Array.from({ length: 10 }, (_, k) => get(`/app?session=${i + k}${pad}`)));
    agent.destroy();
    gc();
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(grown, `${(grown / 1e6).toFixed(1)} MB kept`).toBeLessThan(16e6);
    await counted(m, 'throughput', 3001);
    expect(total(m, 'throughput', { endpoint: '/app', status_class: '2xx' })).toBe(3001);
  });

  it('counts no abort for a request answered while the monitor was stopped, when its kept-alive connection closes after a start', async () => {
    // The request stayed in the connection's flight, its finish unseen while the monitor was
    // stopped: the connection's close counted it in http_requests_aborted, though it was answered.
    const m = await started();
    m.instrument();
    let answer: (() => void) | undefined;
    const base = await serve((req, res) => {
      if (req.url === '/slow') answer = () => res.end('late');
      else res.end('ok');
    });
    let closed!: Promise<void>;
    servers[0]!.on('connection', (s: net.Socket) => (closed = new Promise((r) => s.once('close', () => r()))));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (path: string) => new Promise<void>((resolve, reject) => http.get(`${base}${path}`, { agent }, (res) => res.resume().on('end', resolve)).on('error', reject));
    await get('/a');
    const slow = get('/slow');
    await waitFor(() => answer !== undefined, 10_000, 'the slow request to arrive');
    await m.stop();
    answer!();
    await slow;
    await m.start();
    for (let i = 0; i < 3; i++) await get('/b');
    agent.destroy();
    await closed;
    await counted(m, 'throughput', 4);
    expect(total(m, 'http_requests_aborted')).toBe(0);
    expect(m.status().instrument!.httpServer).toMatchObject({ aborted: 0, unmatched: 0 });
    expect(total(m, 'throughput', { endpoint: '/b' })).toBe(3);
  });

  it("records node:http's own 408 to an upload still arriving at its requestTimeout as an answered 4xx, not as an abort", async () => {
    // node:http writes the 408 straight to the socket and destroys it: no response 'finish'
    // is published, and the connection's close counted the request in http_requests_aborted
    // ("the client went away"), in neither throughput nor error_rate.
    const m = await started();
    m.instrument({ httpClient: false, fetch: false, httpServer: { errorStatusFrom: 400 } });
    const server = http.createServer({ requestTimeout: 300, connectionsCheckingInterval: 50 }, (req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    server.timeout = 0;
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    // A whole upload first: it proves the route.
    await fetch(`http://127.0.0.1:${port}/upload/1`, { method: 'POST', body: 'abc' }).then((r) => r.text());
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write('POST /upload/2 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc'));
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString()));
      socket.on('close', () => resolve(received.split('\r\n')[0]!));
    });
    expect(answer).toBe('HTTP/1.1 408 Request Timeout');
    await counted(m, 'throughput', 2);
    expect(total(m, 'throughput', { endpoint: '/upload/:id', method: 'POST', status_class: '4xx' })).toBe(1);
    expect(seriesOf(m, 'error_rate', { endpoint: '/upload/:id' })[0]).toMatchObject({ totalCount: 2, totalSum: 1 });
    expect(total(m, 'http_requests_aborted')).toBe(0);
    expect(m.status().instrument!.httpServer).toMatchObject({ aborted: 0, unmatched: 0 });
  });

  it("records nothing of a request node:http refuses before its headers are complete (408 at headersTimeout, 400, 431), not even on a kept-alive connection whose earlier request was answered", async () => {
    // node:http publishes a request's start once its headers are complete: one whose headers
    // never complete is answered by node:http and its connection closed without a request
    // object, so no channel says it existed. The docs said "recorded as answered 408".
    const m = await started();
    m.instrument({ httpClient: false, fetch: false, httpServer: { errorStatusFrom: 400 } });
    const server = http.createServer({ headersTimeout: 300, requestTimeout: 600, connectionsCheckingInterval: 50 }, (_req, res) => res.end('ok'));
    server.timeout = 0;
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    /** The statuses node:http answers `payload` with, until it closes the connection. */
    const statuses = (payload: string) =>
      new Promise<string[]>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.write(payload));
        let received = '';
        socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
        socket.on('error', () => {});
        socket.on('close', () => resolve([...received.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((x) => x[1]!)));
      });
    // A whole request first: it proves the route.
    await fetch(`http://127.0.0.1:${port}/users/1`).then((r) => r.text());
    const seen = await Promise.all([
      // Headers never completed (a slowloris): 408 at headersTimeout.
      ...[2, 3, 4].map((n) => statuses(`GET /users/${n} HTTP/1.1\r\nHost: x\r\n`)),
      // One request answered, then the next one's headers never completed on the same connection.
      statuses('GET /users/5 HTTP/1.1\r\nHost: x\r\n\r\nGET /users/6 HTTP/1.1\r\nHost: x\r\n'),
      // Headers node:http cannot parse (400), or too large (431).
      statuses('GET /users/7 HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n'),
      statuses(`GET /users/8 HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`),
    ]);
    expect(seen).toEqual([['408'], ['408'], ['408'], ['200', '408'], ['400'], ['431']]);
    await fetch(`http://127.0.0.1:${port}/users/9`).then((r) => r.text());
    // The three requests answered 200, and nothing else: no 4xx, no error, no abort.
    await counted(m, 'throughput', 3);
    expect(seriesOf(m, 'throughput').map((s) => [s.tags, s.totalCount])).toEqual([[{ endpoint: '/users/:id', method: 'GET', status_class: '2xx' }, 3]]);
    expect(seriesOf(m, 'error_rate', { endpoint: '/users/:id' })[0]).toMatchObject({ totalCount: 3, totalSum: 0 });
    expect(total(m, 'http_requests_aborted')).toBe(0);
    expect(m.status().instrument!.httpServer).toMatchObject({ aborted: 0, unmatched: 0, routes: 1 });
  });

  it('times pipelined requests of one connection apart, and counts those left unanswered when it closes as aborted', async () => {
    const m = await started();
    m.instrument();
    // /first answers late, so the three requests below are all in flight on the connection at once.
    const server = http.createServer((req, res) => {
      if (req.url === '/first/1') setTimeout(() => res.end('a'), 50);
      else if (req.url === '/second/2') res.end('b');
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const arrived: string[] = [];
    const all = new Promise<void>((resolve) => server.on('request', (req: http.IncomingMessage) => arrived.push(req.url!) === 3 && resolve()));
    const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1');
    let received = '';
    const answered = new Promise<void>((resolve) => socket.on('data', (d: Buffer) => ((received += d.toString()).split('HTTP/1.1 200').length === 3 ? resolve() : undefined)));
    socket.write(['/first/1', '/second/2', '/never/3'].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    await all;
    await answered;
    socket.destroy();
    await counted(m, 'http_requests_aborted', 1);
    await counted(m, 'throughput', 2);
    expect(total(m, 'throughput', { endpoint: '/first/:id' })).toBe(1);
    expect(total(m, 'throughput', { endpoint: '/second/:id' })).toBe(1);
    // /never/:id never answered: not a proven route.
    expect(seriesOf(m, 'http_requests_aborted')[0]!.tags).toEqual({ endpoint: 'unmatched', method: 'GET' });
    expect(m.status().instrument!.httpServer!.aborted).toBe(1);
  });

  it('counts every pipelined request of a handler that answers at once: each response is ended before its finish is published, when the next request already starts', async () => {
    const m = await started();
    m.instrument();
    const served: string[] = [];
    const server = http.createServer((req, res) => {
      served.push(req.url!);
      res.end('ok');
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const paths = ['/first', '/second', '/third', '/fourth'];
    await new Promise<void>((resolve) => {
      const socket = net.connect((server.address() as AddressInfo).port, '127.0.0.1', () => socket.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`).join('')));
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString()).split('HTTP/1.1 200').length === paths.length + 1 && socket.end());
      socket.on('close', () => resolve());
    });
    expect(served).toEqual(paths);
    await counted(m, 'throughput', paths.length);
    for (const p of paths) expect(total(m, 'throughput', { endpoint: p })).toBe(1);
    expect(m.status().instrument!.httpServer).toMatchObject({ aborted: 0, notRecorded: 0 });
  });
});

describe('instrument(): per request', () => {
  // Node 20 defines globalThis.performance as a lazy getter: read per request, it is a getter
  // call and a global lookup on the hot path (a --cpu-prof of a loaded server showed it).
  it('times incoming requests and fetch calls without reading the global `performance`', async () => {
    const m = await started();
    m.instrument();
    const base = await serve();
    await fetch(`${base}/warm/1`).then((r) => r.text());
    const own = Object.getOwnPropertyDescriptor(globalThis, 'performance')!;
    const real = globalThis.performance;
    let readByInstrument = 0;
    Object.defineProperty(globalThis, 'performance', {
      configurable: true,
      get() {
        // Source-mapped stacks name src/instrument/*.ts, others dist/src/instrument/*.js.
        if (new Error().stack!.includes('/src/instrument/')) readByInstrument++;
        return real;
      },
    });
    try {
      for (let i = 0; i < 5; i++) await fetch(`${base}/items/${i}`).then((r) => r.text());
    } finally {
      Object.defineProperty(globalThis, 'performance', own);
    }
    await counted(m, 'throughput', 6);
    await counted(m, 'api_response_time', 6);
    expect(total(m, 'throughput', { endpoint: '/items/:id' })).toBe(5);
    expect(readByInstrument).toBe(0);
  });
});

describe('instrument(): outgoing http and fetch', () => {
  it('measures fetch and node:http calls by method, host and status class, and failures without a response', async () => {
    const m = await started();
    m.instrument({ httpServer: false });
    const base = await serve();
    const host = new URL(base).host;
    for (let i = 0; i < 4; i++) await fetch(`${base}/ok/${i}`).then((r) => r.text());
    await fetch(`${base}/fail/1`, { method: 'PUT' }).then((r) => r.text());
    await new Promise<void>((resolve) => http.get(`${base}/ok/9`, (r) => r.resume().on('end', resolve)));
    // A port nobody listens on: refused, no response.
    const closed = await serve();
    servers.pop()!.close();
    await fetch(`${closed}/x`).catch(() => {});
    await new Promise<void>((resolve) => http.get(`${closed}/x`).on('error', () => resolve()));
    await counted(m, 'api_error_rate', 8);
    expect(total(m, 'api_response_time', { host, method: 'GET', status_class: '2xx' })).toBe(5);
    expect(total(m, 'api_response_time', { host, method: 'PUT', status_class: '5xx' })).toBe(1);
    const refused = new URL(closed).host;
    expect(total(m, 'api_response_time', { host: refused, status_class: 'error' })).toBe(2);
    expect(seriesOf(m, 'api_error_rate', { host, method: 'GET' })[0]).toMatchObject({ totalCount: 5, totalSum: 0 });
    expect(seriesOf(m, 'api_error_rate', { host: refused })[0]).toMatchObject({ totalCount: 2, totalSum: 2 });
    expect(total(m, 'throughput')).toBe(0);
  });

  it('records a fetch() that follows redirects as one call, timed from its first request to the final answer, and one not followed as its 3xx', async () => {
    const m = await started();
    m.instrument({ httpServer: false, httpClient: false });
    // /hop/* answers 302 after 40 ms, to the next hop, then to /ok: two redirects per call.
    const base = await serve((req, res) => {
      const hop = /^\/hop\/(\d)$/.exec(req.url!);
      if (hop === null) return void res.end('ok');
      setTimeout(() => res.writeHead(302, { location: hop[1] === '1' ? '/ok' : '/hop/1' }).end('moved'), 40);
    });
    const host = new URL(base).host;
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) seen.push(await fetch(`${base}/hop/2`).then(async (r) => (await r.text(), r.status)));
    seen.push(await fetch(`${base}/hop/2`, { redirect: 'manual' }).then(async (r) => (await r.text(), r.status)));
    expect(seen).toEqual([200, 200, 200, 302]);
    await counted(m, 'api_error_rate', 4);
    expect(seriesOf(m, 'api_error_rate', { host })[0]).toMatchObject({ totalCount: 4, totalSum: 0 });
    expect(total(m, 'api_response_time', { host, status_class: '2xx' })).toBe(3);
    expect(total(m, 'api_response_time', { host, status_class: '3xx' })).toBe(1);
    // From the first request: both redirects' 40 ms are in it.
    expect(seriesOf(m, 'api_response_time', { host, status_class: '2xx' })[0]!.window.min).toBeGreaterThanOrEqual(75);
  });

  it('leaves out the calls in flight at an uninstrument(), after the instrument() that follows it, and counts none of them untimed', async () => {
    const m = await started();
    m.instrument({ httpServer: false });
    // /held/* answers when the test lets it; the rest at once.
    const held: (() => void)[] = [];
    const base = await serve((req, res) => {
      if (req.url!.startsWith('/held')) held.push(() => res.end('late'));
      else res.end('ok');
    });
    const host = new URL(base).host;
    const calls = [
      fetch(`${base}/held/1`).then((r) => r.text()),
      new Promise<void>((resolve) => http.get(`${base}/held/2`, (r) => r.resume().on('end', resolve))),
    ];
    await waitFor(() => held.length === 2, 15_000, 'both calls at the server');
    m.uninstrument();
    m.instrument({ httpServer: false });
    for (const answer of held) answer();
    await Promise.all(calls);
    // One call of each after: recorded, and the only ones.
    await fetch(`${base}/ok`).then((r) => r.text());
    await new Promise<void>((resolve) => http.get(`${base}/ok`, (r) => r.resume().on('end', resolve)));
    await counted(m, 'api_error_rate', 2, { host });
    expect(seriesOf(m, 'api_error_rate', { host })[0]).toMatchObject({ totalCount: 2, totalSum: 0 });
    expect(total(m, 'api_response_time', { host })).toBe(2);
    expect(m.status().instrument).toMatchObject({ httpClient: { untimed: 0 }, fetch: { untimed: 0 } });
  });

  it('tags a call with the host and port it went to, the host lower-cased, whatever Host header it sent', async () => {
    const m = await started();
    m.instrument({ httpServer: false });
    const base = await serve();
    const port = Number(new URL(base).port);
    const send = (options: http.RequestOptions) => new Promise<void>((resolve, reject) => http.request({ port, path: '/', ...options }, (r) => r.resume().on('end', resolve)).on('error', reject).end());
    await send({ host: '127.0.0.1', headers: { host: 'api.example' } });
    await send({ host: '127.0.0.1', headers: { host: 'API.example' } });
    await send({ host: '127.0.0.1', setHost: false });
    await send({ host: 'LocalHost' });
    await fetch(`${base}/ok`).then((r) => r.text());
    await counted(m, 'api_error_rate', 5);
    expect(new Set(seriesOf(m, 'api_response_time').map((s) => s.tags.host))).toEqual(new Set([`127.0.0.1:${port}`, `localhost:${port}`]));
    expect(total(m, 'api_response_time', { host: `127.0.0.1:${port}` })).toBe(4);
  });

  it('tags a status outside 100-599 as status_class "invalid", not "other" (the overflow bucket), and a method outside the list as OTHER', async () => {
    const m = await started();
    m.instrument();
    const base = await serve((req, res) => {
      res.statusCode = req.url === '/odd' ? 999 : 200;
      res.end('x');
    });
    const host = new URL(base).host;
    const get = (path: string, method = 'GET') => new Promise<void>((resolve, reject) => http.request(`${base}${path}`, { method }, (r) => r.resume().on('end', resolve)).on('error', reject).end());
    await get('/odd');
    await get('/ok', 'PURGE');
    await counted(m, 'api_error_rate', 2);
    await counted(m, 'throughput', 2);
    expect(total(m, 'api_response_time', { host, method: 'GET', status_class: 'invalid' })).toBe(1);
    expect(total(m, 'response_time', { method: 'GET', status_class: 'invalid' })).toBe(1);
    expect(total(m, 'api_response_time', { host, method: 'OTHER', status_class: '2xx' })).toBe(1);
    expect(total(m, 'api_response_time', { status_class: 'other' }) + total(m, 'response_time', { status_class: 'other' })).toBe(0);
  });

  it('counts the hosts cut to maxTagValueLength in status().instrument, as truncated', async () => {
    const m = await started();
    m.instrument({ httpServer: false, fetch: false });
    // Where a call went, cut: a name of 200 characters and more (a lookup's name, refused at once).
    const long = (suffix: string) => `${'h'.repeat(200)}.${suffix}`;
    const call = (host: string) => new Promise<void>((resolve) => http.request({ host, port: 9, lookup: (_h, _o, cb) => cb(new Error('no such host'), '', 4) }).on('error', () => resolve()).end());
    await call(long('one.example'));
    await call(long('two.example'));
    await call(long('one.example'));
    await counted(m, 'api_error_rate', 3);
    const tags = seriesOf(m, 'api_error_rate').map((s) => s.tags.host!);
    expect(tags).toHaveLength(1);
    expect(tags[0]!.length).toBe(128);
    expect(m.status().instrument!.httpClient).toMatchObject({ hosts: 2, truncated: 2 });
  });

  it('records the final answer of a call whose server sends 103 Early Hints and 102 Processing first, timed to it: fetch and node:http', async () => {
    const m = await started();
    m.instrument({ httpServer: false });
    // Each answer: a 103 and a 102 at once, the final one 30 ms later (503 on /fail, else 200).
    const base = await serve((req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      res.writeProcessing();
      setTimeout(() => {
        res.statusCode = req.url!.startsWith('/fail') ? 503 : 200;
        res.end('final');
      }, 30);
    });
    const host = new URL(base).host;
    const seen: number[] = [];
    for (const path of ['/fail/1', '/ok/1', '/fail/2', '/ok/2']) {
      seen.push(await fetch(`${base}${path}`).then(async (r) => (await r.text(), r.status)));
      seen.push(await new Promise<number>((resolve) => http.get(`${base}${path}`, (r) => r.resume().on('end', () => resolve(r.statusCode!)))));
    }
    expect(seen).toEqual([503, 503, 200, 200, 503, 503, 200, 200]);
    await counted(m, 'api_error_rate', 8);
    expect(total(m, 'api_response_time', { host, status_class: '1xx' })).toBe(0);
    expect(total(m, 'api_response_time', { host, status_class: '5xx' })).toBe(4);
    expect(total(m, 'api_response_time', { host, status_class: '2xx' })).toBe(4);
    expect(seriesOf(m, 'api_error_rate', { host })[0]).toMatchObject({ totalCount: 8, totalSum: 4 });
    // Timed to the final answer, 30 ms after the hints, not to the hints.
    for (const s of seriesOf(m, 'api_response_time', { host })) expect(s.window.min).toBeGreaterThanOrEqual(25);
  });

  it("records in api_error_rate the node:http calls that end before their body is written, which node:http publishes no start of, and counts them untimed", async () => {
    const m = await started();
    m.instrument({ httpServer: false, fetch: false });
    // An upload answered before its body is in (413), and one to a port nobody listens on:
    // Node 20 publishes a request's start once its body is written, and these end before.
    const base = await serve((_req, res) => res.writeHead(413, { connection: 'close' }).end('too big'));
    const closed = await serve();
    servers.pop()!.close();
    const upload = (url: string): Promise<string> =>
      new Promise((resolve) => {
        const req = http.request(url, { method: 'POST', headers: { 'content-length': 10_000_000 } }, (res) => {
          res.resume();
          resolve(String(res.statusCode));
        });
        req.on('error', (e: NodeJS.ErrnoException) => resolve(String(e.code)));
        req.write(Buffer.alloc(65_536));
      });
    const seen = [];
    for (let i = 0; i < 3; i++) seen.push(await upload(`${base}/up`), await upload(`${closed}/up`));
    expect(seen).toEqual(['413', 'ECONNREFUSED', '413', 'ECONNREFUSED', '413', 'ECONNREFUSED']);
    await counted(m, 'api_error_rate', 6);
    // A 413 is an answer, not an error (errorStatusFrom 500); the refusals are errors.
    expect(seriesOf(m, 'api_error_rate', { host: new URL(base).host })[0]).toMatchObject({ totalCount: 3, totalSum: 0 });
    expect(seriesOf(m, 'api_error_rate', { host: new URL(closed).host })[0]).toMatchObject({ totalCount: 3, totalSum: 3 });
    expect(total(m, 'api_response_time')).toBe(0);
    expect(m.status().instrument!.httpClient).toMatchObject({ untimed: 6, notRecorded: 0 });
  });

  it('records the fetch and node:http calls in flight when instrument() is called again', async () => {
    // Each source stamps a call under a symbol of its own: the new instrumentation found no
    // stamp on the calls started before it, and they were neither recorded nor counted.
    const m = await started();
    m.instrument({ httpServer: false });
    const held: (() => void)[] = [];
    const base = await serve((_req, res) => held.push(() => res.end('late')));
    const host = new URL(base).host;
    const calls = [
      ...Array.from({ length: 2 }, () => fetch(`${base}/f`).then((r) => r.text())),
      ...Array.from({ length: 2 }, () => new Promise<void>((resolve, reject) => http.get(`${base}/h`, (r) => r.resume().on('end', resolve)).on('error', reject))),
    ];
    await waitFor(() => held.length === 4, 10_000, 'the calls to arrive');
    m.instrument({ httpServer: false, fetch: { errorStatusFrom: 400 } });
    for (const answer of held) answer();
    await Promise.all(calls);
    await counted(m, 'api_response_time', 4);
    expect(total(m, 'api_response_time', { host, method: 'GET', status_class: '2xx' })).toBe(4);
    expect(m.status().instrument).toMatchObject({ httpClient: { hosts: 1, notRecorded: 0 }, fetch: { hosts: 1, notRecorded: 0 } });
  });

  it('at maxSeries, records the calls to hosts the registry refuses under "other" and counts the hosts in refused, without a fault each', async () => {
    const m = await started({ maxSeries: 16 });
    m.instrument({ httpServer: false, fetch: false });
    // Every loopback address: the host tag is the address called, 60 hosts of 2 series each against 16.
    const server = http.createServer((_req, res) => res.end('ok'));
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '0.0.0.0', r));
    const { port } = server.address() as AddressInfo;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const send = (host: string) => new Promise<void>((resolve, reject) => http.request({ host, port, path: '/', agent }, (r) => r.resume().on('end', resolve)).on('error', reject).end());
    for (let i = 0; i < 60; i += 20) await Promise.all(Array.from({ length: 20 }, (_, j) => send(`127.0.0.${2 + i + j}`)));
    agent.destroy();
    await m.flush();
    expect(m.status().faults.byKind['instrument-http-client']).toBeUndefined();
    const s = m.status().instrument!.httpClient!;
    expect(total(m, 'api_response_time') + s.notRecorded).toBe(60);
    expect(s.notRecorded).toBe(0);
    expect(total(m, 'api_error_rate')).toBe(60);
    const own = new Set(seriesOf(m, 'api_response_time').map((x) => x.tags.host));
    expect(own.has('other')).toBe(true);
    own.delete('other');
    expect(own.size).toBeGreaterThan(0);
    expect(total(m, 'api_response_time', { host: 'other' })).toBe(60 - own.size);
    expect(s).toMatchObject({ hosts: 60, other: 0, refused: 60 - own.size });
  });

  it('with the registry full before instrument() attached, counts every request and call as not recorded, without a fault each', async () => {
    const m = await started({ maxSeries: 16 });
    for (let i = 0; i < 16; i++) m.metric('filler', { n: String(i) });
    m.instrument({ fetch: false });
    const base = await serve();
    const { get, close } = keepAlive(base);
    for (let i = 0; i < 30; i += 10) await Promise.all(Array.from({ length: 10 }, (_, j) => get(`/route${i + j}`)));
    close();
    await m.flush();
    // One fault: the limit reached (status().series.refused counts each refusal).
    expect(m.status().faults.total).toBe(1);
    expect(m.status().faults.byKind['series-limit']?.count).toBe(1);
    const { httpServer, httpClient } = m.status().instrument!;
    expect(httpServer).toMatchObject({ notRecorded: 30, other: 0 });
    expect(httpClient).toMatchObject({ notRecorded: 30, other: 0 });
    expect(total(m, 'throughput') + total(m, 'api_response_time')).toBe(0);
  });

  it('records each call in every monitor that instruments it: two monitors in one process each count all of them', async () => {
    const [a, b] = [await started(), await started()];
    a.instrument({ httpServer: false });
    b.instrument({ httpServer: false });
    const base = await serve();
    const host = new URL(base).host;
    for (let i = 0; i < 6; i++) await fetch(`${base}/ok/${i}`).then((r) => r.text());
    for (let i = 0; i < 4; i++) await new Promise<void>((resolve) => http.get(`${base}/fail/${i}`, (r) => r.resume().on('end', resolve)));
    for (const m of [a, b]) {
      await counted(m, 'api_error_rate', 10);
      expect(seriesOf(m, 'api_error_rate', { host, method: 'GET' })[0]).toMatchObject({ totalCount: 10, totalSum: 4 });
    }
  });

  it("leaves out the monitor's own alert notifications, and records the service's calls to the same host", async () => {
    const base = await serve();
    const host = new URL(base).host;
    const m = await started({ alerts: { webhooks: [{ url: `${base}/hooks/alerts?team=pay` }] } });
    m.instrument({ httpServer: false });
    await m.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 1, severity: 'critical' });
    m.record('queue_size', 5);
    // The webhook answered: its response went by the node:http client's channels before this.
    await waitFor(() => m.status().alerts.notifications.sent >= 1, 15_000, 'the webhook delivery');
    await fetch(`${base}/hooks/alerts?team=other`, { method: 'POST', body: '{}' }).then((r) => r.text());
    await counted(m, 'api_response_time', 1);
    expect(total(m, 'api_response_time', { host })).toBe(1);
    expect(seriesOf(m, 'api_error_rate', { host, method: 'POST' })[0]).toMatchObject({ totalCount: 1, totalSum: 0 });
  });

  it("leaves out every monitor's alert notifications: a second monitor in the process records none of the first's, and both record the service's call to that very URL", async () => {
    const base = await serve();
    const host = new URL(base).host;
    const hook = `${base}/hooks/alerts?team=pay`;
    // A library's monitor that pages its team, beside the application's, both instrumented.
    const library = await started({ alerts: { webhooks: [hook] } });
    const app = await started();
    library.instrument({ httpServer: false });
    app.instrument({ httpServer: false });
    await library.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 1, severity: 'critical' });
    library.record('queue_size', 5);
    // The webhook answered: its response went by the node:http client's channels before this.
    await waitFor(() => library.status().alerts.notifications.sent >= 1, 15_000, 'the webhook delivery');
    await new Promise<void>((resolve, reject) => http.request(hook, { method: 'POST' }, (r) => r.resume().on('end', resolve)).on('error', reject).end('{}'));
    for (const m of [app, library]) {
      await counted(m, 'api_response_time', 1);
      expect(total(m, 'api_response_time', { host })).toBe(1);
      expect(seriesOf(m, 'api_error_rate', { host, method: 'POST' })[0]).toMatchObject({ totalCount: 1, totalSum: 0 });
    }
  });
});

describe('instrument(): piscina pools', () => {
  it('leaves out a pool whose series the registry refuses (at maxSeries), said by a fault, and throws nothing into instrument() or start()', async () => {
    const m = await started({ maxSeries: 16 });
    for (let i = 0; m.status().series.count < 16; i++) m.record(`fill_${i}`, 1);
    const pool = new Piscina({ filename: new URL('./fixtures/blocking-task.cjs', import.meta.url).href, minThreads: 1, maxThreads: 1 });
    try {
      expect(() => m.instrument({ httpServer: false, httpClient: false, fetch: false, piscina: { reports: pool } })).not.toThrow();
      expect(m.status().instrument!.piscina).toEqual({ pools: 1, refused: 1, ended: 0 });
      expect(m.status().faults.byKind['instrument-piscina']?.lastMessage).toMatch(/pool "reports".*not sampled/);
      await m.stop();
      await m.start();
      expect(m.status().state).toBe('running');
      expect(m.status().instrument).toMatchObject({ attached: true, piscina: { pools: 1, refused: 1 } });
    } finally {
      await pool.destroy();
    }
  });

  it('samples queue size, wait and run times and utilisation of the pools passed in', async () => {
    const m = await started();
    const pool = new Piscina({ filename: new URL('./fixtures/blocking-task.cjs', import.meta.url).href, minThreads: 1, maxThreads: 1 });
    try {
      m.instrument({ httpServer: false, httpClient: false, fetch: false, piscina: { reports: pool } });
      const gate = new SharedArrayBuffer(4);
      const tasks = Array.from({ length: 4 }, () => pool.run({ gate }));
      await waitFor(async () => {
        await m.flush();
        return seriesOf(m, 'queue_size', { pool: 'reports' })[0]?.value === 3;
      }, 15_000, 'queue_size 3');
      Atomics.store(new Int32Array(gate), 0, 1);
      Atomics.notify(new Int32Array(gate), 0);
      await Promise.all(tasks);
      await waitFor(async () => {
        await m.flush();
        return total(m, 'pool_run_time', { pool: 'reports' }) > 0 && seriesOf(m, 'queue_size', { pool: 'reports' })[0]?.value === 0;
      }, 15_000, 'the pool drained');
      const run = seriesOf(m, 'pool_run_time', { pool: 'reports' })[0]!;
      expect(run.value).toBeGreaterThan(0);
      const util = seriesOf(m, 'pool_utilization', { pool: 'reports' })[0]!;
      expect(util.window.max).toBeGreaterThan(0);
      expect(util.window.max).toBeLessThanOrEqual(1);
      expect(total(m, 'pool_wait_time', { pool: 'reports' })).toBeGreaterThan(0);
    } finally {
      await pool.destroy();
    }
  });
});

describe('instrument(): a pool destroyed', () => {
  it('stops reading a destroyed pool and says so in status(), and reads it again once it runs again', async () => {
    const m = await started();
    const task = new URL('./fixtures/blocking-task.cjs', import.meta.url).href;
    const pool = new Piscina({ filename: task, minThreads: 1, maxThreads: 1 });
    // A pool that lives on: its readings tell the intervals.
    const clock = new Piscina({ filename: task, minThreads: 1, maxThreads: 1 });
    try {
      m.instrument({ httpServer: false, httpClient: false, fetch: false, piscina: { gone: pool, clock } });
      await pool.run({ gate: new SharedArrayBuffer(4), ms: 1 });
      await pool.destroy();
      await waitFor(async () => m.status().instrument!.piscina!.ended === 1, 15_000, 'the pool found destroyed');
      expect(m.status().instrument!.piscina).toEqual({ pools: 1, refused: 0, ended: 1 });
      await m.flush();
      const read = total(m, 'queue_size', { pool: 'gone' });
      const ticks = total(m, 'queue_size', { pool: 'clock' });
      await waitFor(async () => {
        await m.flush();
        return total(m, 'queue_size', { pool: 'clock' }) >= ticks + 2;
      }, 15_000, 'two more intervals');
      // Read as an idle pool for good, it was 0 queued and 0 used every interval.
      expect(total(m, 'queue_size', { pool: 'gone' })).toBe(read);
      // piscina 5 starts a destroyed pool's threads anew at its next run().
      await pool.run({ gate: new SharedArrayBuffer(4), ms: 1 });
      await waitFor(async () => {
        await m.flush();
        return total(m, 'queue_size', { pool: 'gone' }) > read;
      }, 15_000, 'the pool read again');
      expect(m.status().instrument!.piscina).toEqual({ pools: 2, refused: 0, ended: 0 });
    } finally {
      await Promise.all([pool.destroy(), clock.destroy()]);
    }
  });
});

describe('instrument(): a pool whose tasks wait', () => {
  it('reads the wait of each interval over the tasks that started in it, as piscina records a wait when its task starts', async () => {
    const m = await started();
    const pool = new Piscina({ filename: new URL('./fixtures/permit-task.cjs', import.meta.url).href, minThreads: 1, maxThreads: 1 });
    const permits = new SharedArrayBuffer(4);
    try {
      m.instrument({ httpServer: false, httpClient: false, fetch: false, piscina: { reports: pool } });
      /** Until the pool has been read `n` more times (queue_size is read at every interval). */
      const readings = async (n: number) => {
        const from = total(m, 'queue_size', { pool: 'reports' });
        await waitFor(async () => {
          await m.flush();
          return total(m, 'queue_size', { pool: 'reports' }) >= from + n;
        }, 15_000, `${n} more readings of the pool`);
      };
      // One thread: a task starts when the one before it ends, one per permit handed out, each
      // in an interval of its own and having waited longer than the one before. Read over
      // completions, the four read 0, w/2, … and the last the mean of all four.
      const tasks = Array.from({ length: 4 }, () => pool.run({ permits }));
      for (let i = 0; i < 4; i++) {
        await readings(2);
        Atomics.add(new Int32Array(permits), 0, 1);
        Atomics.notify(new Int32Array(permits), 0);
      }
      await Promise.all(tasks);
      await readings(2);
      const waits = (await m.getMetricHistory({ metric: 'pool_wait_time', resolution: 'raw' })).series[0]!.points.map((p) => p.value);
      // Each reading is one task's wait: the longest is the histogram's longest, and they add
      // up to the waits' total.
      expect(waits).toHaveLength(4);
      const longest = pool.histogram.waitTime.max;
      expect(Math.abs(Math.max(...waits) - longest)).toBeLessThanOrEqual(longest * 0.02 + 1);
      const sum = pool.histogram.waitTime.mean * 4;
      expect(Math.abs(waits.reduce((a, b) => a + b, 0) - sum)).toBeLessThanOrEqual(sum * 0.02 + 1);
    } finally {
      await pool.destroy();
    }
  });
});

describe('instrument(): a pool busy with tasks longer than an interval', () => {
  const task = new URL('./fixtures/blocking-task.cjs', import.meta.url).href;

  it('reads a pool whose tasks queue as fully used while they run, before any completes', async () => {
    const m = await started();
    const pool = new Piscina({ filename: task, minThreads: 1, maxThreads: 1 });
    const gate = new SharedArrayBuffer(4);
    try {
      m.instrument({ httpServer: false, httpClient: false, fetch: false, piscina: { reports: pool } });
      const tasks = Array.from({ length: 3 }, () => pool.run({ gate }));
      // No task completes while the gate is shut: utilisation booked at completion read 0 here.
      await waitFor(async () => {
        await m.flush();
        return seriesOf(m, 'queue_size', { pool: 'reports' })[0]?.value === 2 && seriesOf(m, 'pool_utilization', { pool: 'reports' })[0]?.value === 1;
      }, 15_000, 'utilisation 1 with tasks queued');
      expect(pool.completed).toBe(0);
      Atomics.store(new Int32Array(gate), 0, 1);
      Atomics.notify(new Int32Array(gate), 0);
      await Promise.all(tasks);
    } finally {
      await pool.destroy();
    }
  });

  it('books the run time of a task longer than the interval over the intervals after it, not cut to one interval', async () => {
    const intervalMs = 1_000;
    const m = await started({ collectionIntervalMs: intervalMs });
    const pool = new Piscina({ filename: task, minThreads: 1, maxThreads: 1 });
    try {
      m.instrument({ httpServer: false, httpClient: false, fetch: false, piscina: { reports: pool } });
      // One thread, two tasks of 2.2 s one after another (none waits): 4.4 s run.
      for (let i = 0; i < 2; i++) await pool.run({ gate: new SharedArrayBuffer(4), ms: 2_200 });
      const ranMs = pool.histogram.runTime.mean * pool.completed;
      expect(ranMs).toBeGreaterThan(4_000);
      // Every interval's reading is at most 1, and their sum is the time run: booked at each
      // completion and cut to one interval, 2 × 1,000 ms of the 4,400 were.
      let booked = 0;
      await waitFor(async () => {
        await m.flush();
        booked = (await historyTotals(m, 'pool_utilization')).sum * intervalMs;
        return booked >= ranMs * 0.95;
      }, 15_000, 'the run time booked');
      expect(booked).toBeLessThanOrEqual(ranMs * 1.05);
      expect(seriesOf(m, 'pool_utilization', { pool: 'reports' })[0]!.window.max).toBeLessThanOrEqual(1);
    } finally {
      await pool.destroy();
    }
  });
});

describe('instrument(): on and off', () => {
  it('subscribes to nothing until instrument(), and unsubscribes on uninstrument() and on stop()', async () => {
    expect(subscribed()).toEqual([]);
    const m = await started();
    expect(subscribed()).toEqual([]);
    const handle = m.instrument({ fetch: false });
    expect(subscribed()).toEqual(CHANNELS.filter((n) => !n.startsWith('undici')));
    expect(handle.uninstrument()).toBe(true);
    expect(subscribed()).toEqual([]);
    expect(m.status().instrument).toBeNull();
    m.instrument();
    expect(subscribed()).toEqual(CHANNELS);
    await m.stop();
    expect(subscribed()).toEqual([]);
    expect(m.status().instrument).toMatchObject({ attached: false });
  });

  it('instruments from start() with the monitor option, and not before', async () => {
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, instrument: { fetch: false, httpClient: false } });
    expect(subscribed()).toEqual([]);
    await m.start();
    try {
      expect(subscribed()).toEqual(CHANNELS.filter((n) => n.includes('server') || n.includes('fastify') || n.startsWith('tracing')));
    } finally {
      await m.stop();
    }
    expect(subscribed()).toEqual([]);
  });

  it('takes true for every HTTP source, as the monitor option does, and refuses false, saying false and what turns it off', async () => {
    const m = await started();
    m.instrument({ fetch: false });
    m.instrument(true);
    expect(m.status().instrument!.sources).toEqual(['httpServer', 'httpClient', 'fetch']);
    expect(subscribed()).toEqual(CHANNELS);
    const off = caught<InvalidArgumentError>(() => m.instrument(false as never));
    expect(off).toBeInstanceOf(InvalidArgumentError);
    expect(off.message).toBe('options must be true (every source) or an object of sources: httpServer, httpClient, fetch, piscina, got false (uninstrument() turns instrumentation off)');
    expect(m.status().instrument!.sources).toEqual(['httpServer', 'httpClient', 'fetch']);
  });
});

describe('instrument(): bad options', () => {
  it('names the field of an unknown source, a bad bound, and a pool that is not piscina', async () => {
    const m = await started();
    const unknown = caught<InvalidArgumentError>(() => m.instrument({ grpc: true } as never));
    expect(unknown).toBeInstanceOf(InvalidArgumentError);
    expect(unknown.field).toBe('grpc');
    const bound = caught<InvalidArgumentError>(() => m.instrument({ httpServer: { maxRoutes: 0 } }));
    expect(bound.field).toBe('httpServer.maxRoutes');
    expect(bound.message).toMatch(/from 1 to 10000/);
    const pool = caught<InvalidArgumentError>(() => m.instrument({ piscina: [{ run() {} }] as never }));
    expect(pool.field).toBe('piscina[0]');
    expect(pool.message).toMatch(/piscina pool/);
    const option = caught<InvalidArgumentError>(() => new PerformanceMonitor({ storage: 'memory', instrument: { fetch: 'yes' } as never }));
    expect(option.field).toBe('instrument.fetch');
    // A refused call leaves nothing subscribed.
    expect(subscribed()).toEqual([]);
  });
  it('says a piscina pool passed itself, not in a list or by name, and refuses a pool passed twice, naming its place', async () => {
    const m = await started();
    const pool = new Piscina({ filename: new URL('./fixtures/blocking-task.cjs', import.meta.url).href, minThreads: 1, maxThreads: 1 });
    const other = new Piscina({ filename: new URL('./fixtures/blocking-task.cjs', import.meta.url).href, minThreads: 1, maxThreads: 1 });
    try {
      const bare = caught<InvalidArgumentError>(() => m.instrument({ piscina: pool as never }));
      expect(bare).toMatchObject({ field: 'piscina', message: 'piscina must be an array of piscina pools or an object of them by name, got a piscina pool itself: pass [pool] or { name: pool }' });
      const twice = caught<InvalidArgumentError>(() => m.instrument({ piscina: [pool, other, pool] }));
      expect(twice).toMatchObject({ field: 'piscina[2]', message: 'piscina[2] must be a pool not passed already, got the same pool as [0]' });
      const byName = caught<InvalidArgumentError>(() => m.instrument({ piscina: { render: pool, thumbs: pool } }));
      expect(byName).toMatchObject({ field: 'piscina.thumbs', message: 'piscina.thumbs must be a pool not passed already, got the same pool as "render"' });
      const option = caught<InvalidArgumentError>(() => new PerformanceMonitor({ storage: 'memory', instrument: { piscina: pool as never } }));
      expect(option.field).toBe('instrument.piscina');
      expect(option.message).toMatch(/got a piscina pool itself: pass \[pool\] or \{ name: pool \}$/);
      expect(subscribed()).toEqual([]);
      // Two pools, each once, are two.
      m.instrument({ httpServer: false, httpClient: false, fetch: false, piscina: [pool, other] });
      expect(m.status().instrument!.piscina).toEqual({ pools: 2, refused: 0, ended: 0 });
    } finally {
      await Promise.all([pool.destroy(), other.destroy()]);
    }
  });
});
