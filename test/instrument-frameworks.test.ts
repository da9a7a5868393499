import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from './helpers.js';

interface Series {
  name: string;
  tags: Record<string, string>;
  count: number;
  sum: number;
}
interface Answer {
  series: Series[];
  status: { httpServer: { routes: number; other: number; unmatched: number; aborted: number } };
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill();
});

function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
  });
}

async function startChild(file: string, args: string[] = []): Promise<{ child: ChildProcess; base: string }> {
  const child = fork(new URL(`./fixtures/${file}`, import.meta.url), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  const { port } = await nextMessage<{ port: number }>(child);
  return { child, base: `http://127.0.0.1:${port}` };
}

async function metrics(child: ChildProcess): Promise<Answer> {
  const answer = nextMessage<Answer>(child);
  child.send({ cmd: 'metrics' });
  return answer;
}

function count(a: Answer, name: string, tags: Record<string, string>): number {
  return a.series.filter((s) => s.name === name && Object.entries(tags).every(([k, v]) => s.tags[k] === v)).reduce((n, s) => n + s.count, 0);
}

/** The load both apps get: 30 GETs on distinct ids, 10 POSTs, 7 nested-router GETs, 6 GETs under routers mounted at parameters (names, not ids), 4 throws, 3 unknown paths, 2 GETs of a user the route answers 404. */
async function load(base: string): Promise<void> {
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < 30; i++) sends.push(fetch(`${base}/users/${1000 + i}`).then((r) => r.text()));
  for (let i = 0; i < 10; i++) sends.push(fetch(`${base}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' }).then((r) => r.text()));
  for (let i = 0; i < 7; i++) sends.push(fetch(`${base}/api/items/${randomUUID()}`).then((r) => r.text()));
  for (const org of ['acme', 'globex', 'initech']) for (const repo of ['web', 'api']) sends.push(fetch(`${base}/orgs/${org}/repos/${repo}/issues/7`).then((r) => r.text()));
  for (let i = 0; i < 4; i++) sends.push(fetch(`${base}/boom`).then((r) => r.text()));
  for (let i = 0; i < 3; i++) sends.push(fetch(`${base}/nope/${i + 7}`).then((r) => r.text()));
  for (let i = 0; i < 2; i++) sends.push(fetch(`${base}/users/0`).then((r) => r.text()));
  await Promise.all(sends);
}

describe.each([
  ['Express 5 in a CommonJS service', 'instrument-express.cjs', '/api/items/:itemId'],
  ['Fastify in an ES-module service', 'instrument-fastify.mjs', '/api/items/:itemId'],
])('%s', (_title, file, nested) => {
  it('records every request under the route template the framework matched, with exact counts and error rates', async () => {
    const { child, base } = await startChild(file);
    await load(base);
    const a = await waitFor(async () => {
      const got = await metrics(child);
      return count(got, 'throughput', {}) >= 62 && got;
    }, 20_000, 'the 62 requests in throughput');
    expect(count(a, 'throughput', {})).toBe(62);
    expect(count(a, 'throughput', { endpoint: '/users/:id', method: 'GET', status_class: '2xx' })).toBe(30);
    expect(count(a, 'throughput', { endpoint: '/users', method: 'POST', status_class: '2xx' })).toBe(10);
    expect(count(a, 'throughput', { endpoint: nested, method: 'GET', status_class: '2xx' })).toBe(7);
    expect(count(a, 'throughput', { endpoint: '/orgs/:org/repos/:repo/issues/:issue', method: 'GET', status_class: '2xx' })).toBe(6);
    expect(count(a, 'throughput', { endpoint: '/boom', method: 'GET', status_class: '5xx' })).toBe(4);
    // Unknown paths: the framework's own not-found handler (Express's final handler, Fastify's
    // 404 handler) names no route, so they are filed under "unmatched", outside the cap. A
    // route's own 404 keeps its template.
    expect(count(a, 'throughput', { endpoint: 'unmatched', method: 'GET', status_class: '4xx' })).toBe(3);
    expect(count(a, 'throughput', { endpoint: '/users/:id', method: 'GET', status_class: '4xx' })).toBe(2);
    expect(count(a, 'response_time', { endpoint: '/users/:id', status_class: '2xx' })).toBe(30);
    const errors = (endpoint: string) => a.series.find((s) => s.name === 'error_rate' && s.tags.endpoint === endpoint)!;
    expect(errors('/boom')).toMatchObject({ count: 4, sum: 4 });
    expect(errors('unmatched')).toMatchObject({ count: 3, sum: 0 });
    expect(errors('/users/:id')).toMatchObject({ count: 32, sum: 0 });
    // No id leaked into a tag.
    expect(a.series.some((s) => /\d{4}|[0-9a-f]{8}-/.test(s.tags.endpoint ?? ''))).toBe(false);
    expect(a.series.some((s) => /acme|globex|initech/.test(s.tags.endpoint ?? ''))).toBe(false);
    expect(a.status.httpServer).toMatchObject({ routes: 5, other: 0, unmatched: 3, aborted: 0 });
  });
});

describe('Express 5: middleware mounted at a path', () => {
  it('files what it answers under the whole path, mount included: express.static at two mounts, a health check, a legacy handler', async () => {
    const { child, base } = await startChild('instrument-express.cjs');
    const get = (path: string) => fetch(`${base}${path}`).then(async (r) => [r.status, await r.text()]);
    for (let i = 0; i < 3; i++) expect((await get('/static/instrument-child.mjs'))[0]).toBe(200);
    for (let i = 0; i < 2; i++) expect((await get('/assets/instrument-child.mjs'))[0]).toBe(200);
    for (let i = 0; i < 4; i++) expect(await get('/health')).toEqual([200, 'up']);
    for (let i = 0; i < 3; i++) expect(await get(`/legacy/v1/orders/${i + 1}`)).toEqual([200, `legacy /orders/${i + 1}`]);
    const a = await waitFor(async () => {
      const got = await metrics(child);
      return count(got, 'throughput', {}) >= 12 && got;
    }, 20_000, 'the 12 requests in throughput');
    expect(count(a, 'throughput', { endpoint: '/static/instrument-child.mjs', status_class: '2xx' })).toBe(3);
    expect(count(a, 'throughput', { endpoint: '/assets/instrument-child.mjs', status_class: '2xx' })).toBe(2);
    expect(count(a, 'throughput', { endpoint: '/health', status_class: '2xx' })).toBe(4);
    expect(count(a, 'throughput', { endpoint: '/legacy/v1/orders/:id', status_class: '2xx' })).toBe(3);
    expect(a.status.httpServer).toMatchObject({ routes: 4, other: 0, unmatched: 0 });
  });
});

describe("Express 5: the router's own answer to OPTIONS", () => {
  it("takes no route per path: a route's preflights by user name are unmatched until the path is a route's", async () => {
    const { child, base } = await startChild('instrument-express.cjs');
    // Express's router answers OPTIONS for a route's path itself (200, its methods in Allow), running no layer that names the route.
    for (const name of ['alice', 'bob', 'carol']) {
      const r = await fetch(`${base}/users/${name}`, { method: 'OPTIONS' });
      expect([r.status, r.headers.get('allow'), await r.text()]).toEqual([200, 'GET, HEAD', 'GET, HEAD']);
    }
    const a = await waitFor(async () => {
      const got = await metrics(child);
      return count(got, 'throughput', {}) >= 3 && got;
    }, 20_000, 'the 3 requests in throughput');
    expect(count(a, 'throughput', { endpoint: 'unmatched', method: 'OPTIONS', status_class: '2xx' })).toBe(3);
    expect(a.status.httpServer).toMatchObject({ routes: 0, other: 0, unmatched: 3 });
  });
});

describe('Fastify: answers before the handler', () => {
  /** 6 redirects of a hook to a login page and 6 failures of an auth hook, on paths by user name, and `handled` requests the route answers. */
  async function early(base: string, handled: number): Promise<string[]> {
    const names = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
    const send = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers, redirect: 'manual' }).then(async (r) => [r.status, await r.text()][0]);
    for (let i = 0; i < handled; i++) expect(await send(`/users/${names[i]}`)).toBe(200);
    for (const name of names) expect(await send(`/users/${name}`, { 'x-no-session': '1' })).toBe(302);
    for (const name of names) expect(await send(`/users/${name}`, { 'x-auth-down': '1' })).toBe(500);
    return names;
  }

  async function expectUnmatched(child: ChildProcess, names: string[], handled: number): Promise<void> {
    const a = await waitFor(async () => {
      const got = await metrics(child);
      return count(got, 'throughput', {}) >= 12 + handled && got;
    }, 20_000, `the ${12 + handled} requests in throughput`);
    expect(count(a, 'throughput', { endpoint: 'unmatched', status_class: '3xx' })).toBe(6);
    expect(count(a, 'throughput', { endpoint: 'unmatched', status_class: '5xx' })).toBe(6);
    expect(count(a, 'throughput', { endpoint: '/users/:id', status_class: '2xx' })).toBe(handled);
    expect(a.series.some((s) => names.some((n) => (s.tags.endpoint ?? '').includes(n)))).toBe(false);
    expect(a.status.httpServer).toMatchObject({ routes: 1, other: 0, unmatched: 12 });
  }

  it("takes no route per path for a hook's redirects and failures (by user name) in an app made while instrumented: they are unmatched", async () => {
    const { child, base } = await startChild('instrument-fastify.mjs');
    const names = await early(base, 0);
    for (let i = 0; i < 2; i++) expect((await fetch(`${base}/users/${names[i]}`)).status).toBe(200);
    await expectUnmatched(child, names, 2);
  });

  it("takes no route per path for a hook's redirects and failures in an app made before instrument(), once it has run a handler", async () => {
    const { child, base } = await startChild('instrument-fastify.mjs', ['--instrument-late']);
    await expectUnmatched(child, await early(base, 1), 1);
  });
});
