/**
 * The MCP endpoint's share of the host's main thread (call-gate.ts), against a real server: at
 * most maxCallsInProgress requests with calls in progress, maxQueuedCalls more waiting, the
 * rest answered 429 with Retry-After, and the host's own timer runs meanwhile.
 */
import { request } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StatusOutput } from '../dist/src/mcp/status-answer.js';
import { PerformanceMonitor } from '../dist/src/index.js';
import { JSON_HEADERS, holdPlace, mcpSession, useServing } from './http-helpers.js';
import { waitFor } from './helpers.js';
import { call, ok } from './mcp-helpers.js';

const { serving, client } = useServing();


/** post() over node:http, whose sockets run on Node's own timers whatever a test fakes. */
function postRaw(url: string, id: string, message: object): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(message);
    const req = request(url, { method: 'POST', headers: { ...JSON_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function post(url: string, id: string, message: object): Promise<{ status: number; retryAfter: string | null; text: string }> {
  return fetch(url, { method: 'POST', headers: { ...JSON_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' }, body: JSON.stringify(message) }).then(async (r) => ({ status: r.status, retryAfter: r.headers.get('retry-after'), text: await r.text() }));
}

afterEach(() => {
  vi.useRealTimers();
});

describe('MCP calls over HTTP', () => {
  it('wait their turn past maxCallsInProgress, are answered 429 past maxQueuedCalls, and leave the host its timer', async () => {
    // serveHttp's server, whose /api shares the gate: a POST /api/reports whose body is held back
    // holds the one place as an answer built on the main thread does (a capture no longer does:
    // it gives its place back while the inspector samples).
    const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
    await monitor.start();
    const http = await monitor.serveHttp({ port: 0, maxCallsInProgress: 1, maxQueuedCalls: 1, callQueueMs: 120_000, allowStateChanges: true });
    const server = { url: http.mcpUrl, status: () => http.status().mcp };
    const b = await mcpSession(server.url);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      const holder = holdPlace(http.port);
      await waitFor(() => server.status().calls.inProgress === 1, 20_000, 'the holder to have its place');
      const list = (id: number) => post(server.url, b, { jsonrpc: '2.0', id, method: 'tools/list' });
      const answers = [list(20), list(21), list(22)];
      await waitFor(() => server.status().calls.refusedBusy === 2, 20_000, 'two of three calls to be refused');
      expect(server.status().calls).toMatchObject({ inProgress: 1, queued: 1, limit: 1, refusedBusy: 2 });
      // A notification holds no call: it passes while the endpoint is full.
      expect((await post(server.url, b, { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 99 } })).status).toBe(202);
      const ticksWhileFull = ticks;
      holder.release();
      const done = await Promise.all(answers);
      expect((await holder.answered).status).toBe(200);
      const busy = done.filter((r) => r.status === 429);
      expect(busy).toHaveLength(2);
      for (const r of busy) {
        expect(r.retryAfter).toMatch(/^[1-9]\d*$/);
        expect(JSON.parse(r.text)).toMatchObject({ jsonrpc: '2.0', error: { code: -32000, message: expect.stringContaining('maxCallsInProgress') } });
        expect(JSON.parse(r.text).error.message).toContain('maxQueuedCalls');
      }
      // The one that waited was answered once the holder was done.
      expect(done.filter((r) => r.status === 200)).toHaveLength(1);
      expect(ticksWhileFull).toBeGreaterThan(0);
      expect(server.status().calls).toMatchObject({ queued: 0, refusedBusy: 2 });
      // An agent sees the counts in get_monitoring_status (its own call the one in progress).
      const c = await client(server.url);
      const status = await ok(c, 'get_monitoring_status', {}, StatusOutput);
      expect(status.http).toMatchObject({ calls_in_progress: 1, max_calls_in_progress: 1, calls_queued: 0, calls_refused_busy: 2 });
      expect((await call(c, 'get_monitoring_status')).content[0]!.text).toMatch(/^http: .*, 0 answers stalled, 1\/1 calls in progress \(0 queued, 2 refused busy\), /m);
    } finally {
      clearInterval(timer);
      await http.close();
      await monitor.stop();
    }
  });

  it("hands its places on under a test's fake timers, installed after the server started", async () => {
    // A call's place was handed on by the global setImmediate and a wait ended by the global
    // setTimeout: under a test's fakes the first call's end let none of the others in.
    const { server } = await serving({ port: 0, maxCallsInProgress: 1, callQueueMs: 120_000 });
    const id = await mcpSession(server.url);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate', 'Date'] });
    const statuses = await Promise.all([30, 31, 32, 33].map((n) => postRaw(server.url, id, { jsonrpc: '2.0', id: n, method: 'tools/list' })));
    vi.useRealTimers();
    expect(statuses).toEqual([200, 200, 200, 200]);
  }, 30_000);

  it("names the session's limit, not the endpoint's, when the session's calls held the request, and asks it back at once after its wait", async () => {
    // Two places of the endpoint, one of a session: a capture of session a gives its place back
    // while it samples but still counts against its session, so a's next call waits with the
    // endpoint empty. Its busy answer said "2 calls are in progress, the limit
    // (maxCallsInProgress)", none being.
    const { server } = await serving({ port: 0, maxCallsInProgress: 2, maxSessionCalls: 1, callQueueMs: 100, allowStateChanges: true });
    const a = await mcpSession(server.url);
    const capture = post(server.url, a, { jsonrpc: '2.0', id: 40, method: 'tools/call', params: { name: 'capture_performance_profile', arguments: { seconds: 5 } } });
    await waitFor(() => server.status().calls.away === 1, 20_000, 'the capture to give its place back');
    const held = await post(server.url, a, { jsonrpc: '2.0', id: 41, method: 'tools/list' });
    expect(held.status).toBe(429);
    const message: string = JSON.parse(held.text).error.message;
    expect(message).toContain('1 call of its session is in progress, the limit (maxSessionCalls)');
    expect(message).not.toContain('maxCallsInProgress');
    expect(message).toContain('with fewer calls at once in this session');
    // Its own wait over, a retry waits its turn in the queue again: it is asked back at once.
    expect(held.retryAfter).toBe('1');
    expect(message).toContain('retry in 1 s');
    // Another session's call was never held.
    const b = await mcpSession(server.url);
    expect((await post(server.url, b, { jsonrpc: '2.0', id: 42, method: 'tools/list' })).status).toBe(200);
    expect((await capture).status).toBe(200);
    expect(server.status().calls.refusedBusy).toBe(1);
  }, 60_000);

  it('refuses limits out of range, naming the option', async () => {
    const { monitor } = await serving({ port: 0 });
    await expect(monitor.serveMcp({ port: 0, maxCallsInProgress: 0 })).rejects.toThrow(/maxCallsInProgress/);
  });
});
