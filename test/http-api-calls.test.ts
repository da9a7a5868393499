/**
 * The JSON API's share of the host's main thread (http/api-gate.ts), against a real server:
 * /api requests take places of the same gate as /mcp's calls (maxCallsInProgress in progress,
 * maxQueuedCalls more waiting, the rest 429 with Retry-After in the API's error shape), the
 * host's own timer runs meanwhile, and a dashboard's polling among looping clients is answered.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type HttpServer, type ServeHttpOptions } from '../dist/src/index.js';
import { rmSync } from 'node:fs';
import { dataDirWithSeries, waitFor } from './helpers.js';
import { JSON_HEADERS, holdPlace, mcpSession } from './http-helpers.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

async function serving(options: Partial<ServeHttpOptions>): Promise<{ monitor: PerformanceMonitor; server: HttpServer }> {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
  await monitor.start();
  cleanup.push(() => monitor.stop());
  const server = await monitor.serveHttp({ port: 0, ...options });
  cleanup.push(() => server.close());
  return { monitor, server };
}


async function get(server: HttpServer, path: string, init: RequestInit = {}): Promise<{ status: number; retryAfter: string | null; body: any }> {
  const r = await fetch(new URL(path, server.url), init);
  const text = await r.text();
  return { status: r.status, retryAfter: r.headers.get('retry-after'), body: JSON.parse(text) };
}

describe('the JSON API on the host main thread', () => {
  it('waits its turn behind /mcp calls past maxCallsInProgress, is answered 429 past maxQueuedCalls, and leaves the host its timer', async () => {
    const { monitor, server } = await serving({ maxCallsInProgress: 1, maxQueuedCalls: 1, callQueueMs: 120_000, allowStateChanges: true });
    monitor.record('api_gate', 1);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    try {
      // A POST /api/reports whose body is held back holds the one place, as an answer built on
      // the main thread does (a capture no longer does: it gives its place back while it runs).
      const holder = holdPlace(server.port);
      await waitFor(() => server.status().mcp.calls.inProgress === 1, 20_000, 'the holder to have its place');
      const answers = [get(server, '/api/history?metric=api_gate'), get(server, '/api/status'), get(server, '/api/metrics')];
      await waitFor(() => server.status().mcp.calls.refusedBusy === 2, 20_000, 'two of three API requests to be refused');
      expect(server.status().mcp.calls).toMatchObject({ inProgress: 1, queued: 1, limit: 1, refusedBusy: 2 });
      const ticksWhileFull = ticks;
      holder.release();
      const done = await Promise.all(answers);
      expect((await holder.answered).status).toBe(200);
      const busy = done.filter((r) => r.status === 429);
      expect(busy).toHaveLength(2);
      for (const r of busy) {
        // Asked back once the one waiting has its place or its 120 s wait is over, when the queue
        // has room: a quarter of callQueueMs (30 s) asked it back to a queue still full.
        expect(Number(r.retryAfter)).toBeGreaterThan(60);
        expect(Number(r.retryAfter)).toBeLessThanOrEqual(120);
        expect(r.body.error.message).toContain(`retry in ${r.retryAfter} s`);
        expect(r.body).toMatchObject({ error: { code: 'HTTP_429', field: null, message: expect.stringContaining('maxCallsInProgress') } });
        expect(r.body.error.message).toContain('maxQueuedCalls');
      }
      // The one that waited was answered once the holder was done.
      expect(done.filter((r) => r.status === 200)).toHaveLength(1);
      expect(ticksWhileFull).toBeGreaterThan(0);
      // Places are handed back at the next turn of the loop after each answer's end.
      await waitFor(() => server.status().mcp.calls.inProgress === 0, 20_000, 'every place to be handed back');
      expect(server.status().mcp.calls).toMatchObject({ queued: 0, refusedBusy: 2 });
    } finally {
      clearInterval(timer);
    }
  });

  it("answers the dashboard and another agent's calls while a capture and a report wait off the main thread, their places given back", async () => {
    // One place: a capture that held it for its length made every /api request and every other
    // call wait callQueueMs, then 429, for as long as the capture ran.
    const { monitor, server } = await serving({ maxCallsInProgress: 1, maxSessionCalls: 1, callQueueMs: 120_000, allowStateChanges: true });
    for (let i = 0; i < 200; i++) monitor.record('away_latency', i, { route: `/r${i}` });
    await monitor.flush();
    const [a, b, c] = [await mcpSession(server.mcpUrl), await mcpSession(server.mcpUrl), await mcpSession(server.mcpUrl)];
    const call = (id: string, n: number, name: string, args: object) =>
      fetch(server.mcpUrl, { method: 'POST', headers: { ...JSON_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' }, body: JSON.stringify({ jsonrpc: '2.0', id: n, method: 'tools/call', params: { name, arguments: args } }) }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const capture = call(a, 10, 'capture_performance_profile', { seconds: 10 });
    await waitFor(() => server.status().mcp.calls.away === 1, 20_000, 'the capture to give its place back');
    expect(server.status().mcp.calls).toMatchObject({ inProgress: 0, away: 1, queued: 0 });
    // While the capture runs: the dashboard's polling and another session's calls are answered, and a report built.
    const report = call(b, 11, 'generate_performance_report', {});
    const answers: number[] = [];
    const capturing: boolean[] = [];
    for (let i = 0; i < 5; i++) {
      answers.push((await get(server, '/api/status')).status);
      answers.push((await call(c, 20 + i, 'get_monitoring_status', {})).status);
      capturing.push(monitor.profilingStatus().busy !== null);
    }
    const built = await report;
    expect(answers).toEqual(Array(10).fill(200));
    // Answered while the capture ran (its 10 s are far longer than these few answers take).
    expect(capturing[0]).toBe(true);
    expect(built.status).toBe(200);
    expect(built.text).toContain('away_latency');
    const captured = await capture;
    expect(captured.status).toBe(200);
    expect(captured.text).toContain('cpu profile');
    await waitFor(() => server.status().mcp.calls.inProgress === 0, 20_000, 'every place to be handed back');
    expect(server.status().mcp.calls).toMatchObject({ away: 0, queued: 0, refusedBusy: 0 });
    // The shared gate's counts under their own name too.
    expect(server.status().calls).toEqual(server.status().mcp.calls);
  }, 60_000);

  it("answers the dashboard while history reads wait for the storage actor (a large file's), their places given back", async () => {
    // One place: a read of the database held it for as long as the storage actor took, so a
    // history read of a large file made every dashboard request wait, then 429.
    const dir = dataDirWithSeries('stored_latency', 3);
    cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
    const monitor = new PerformanceMonitor({ dataDir: dir, system: { enabled: false }, runtime: { enabled: false } });
    await monitor.start();
    cleanup.push(() => monitor.stop());
    for (let i = 0; i < 50; i++) monitor.record('stored_latency', i, { shard: 's0' });
    await monitor.flush();
    const server = await monitor.serveHttp({ port: 0, maxCallsInProgress: 1, maxSessionCalls: 1, callQueueMs: 120_000 });
    cleanup.push(() => server.close());
    // The storage actor's answers held until the test lets them go: a slow disk, a large file.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const storage = (monitor as unknown as { storage: Record<string, (...args: unknown[]) => Promise<unknown>> }).storage;
    let reads = 0;
    for (const method of ['storedOnly', 'storedIn', 'history', 'runs']) {
      const original = storage[method]!.bind(storage);
      storage[method] = async (...args: unknown[]) => {
        reads++;
        await released;
        return original(...args);
      };
    }
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const api = get(server, `/api/history?metric=stored_latency&from=${from}`);
    await waitFor(() => server.status().calls.away === 1, 20_000, "the /api read to give its place back while the storage actor reads");
    const session = await mcpSession(server.mcpUrl);
    const tool = fetch(server.mcpUrl, { method: 'POST', headers: { ...JSON_HEADERS, 'mcp-session-id': session, 'mcp-protocol-version': '2025-11-25' }, body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'get_metric_history', arguments: { metric_type: 'stored_latency', start: from } } }) }).then(async (r) => ({ status: r.status, text: await r.text() }));
    await waitFor(() => server.status().calls.away === 2, 20_000, 'the MCP read to give its place back too');
    expect(server.status().calls).toMatchObject({ inProgress: 0, queued: 0 });
    // Meanwhile the dashboard is answered at once (before: queued behind both reads).
    for (let i = 0; i < 3; i++) expect((await get(server, '/api/status')).status).toBe(200);
    expect(reads).toBeGreaterThanOrEqual(2);
    release();
    const [answered, called] = await Promise.all([api, tool]);
    expect(answered.status).toBe(200);
    expect(answered.body.totalSeries).toBe(1);
    expect(answered.body.series[0].tags).toEqual({ shard: 's0' });
    expect(called.status).toBe(200);
    expect(called.text).toContain('stored_latency');
    await waitFor(() => server.status().calls.inProgress === 0, 20_000, 'every place to be handed back');
    expect(server.status().calls).toMatchObject({ away: 0, queued: 0, refusedBusy: 0 });
  }, 60_000);

  it('answers a dashboard polling among clients looping on /api/history and POST /api/reports, holding them to maxCallsInProgress', async () => {
    const { monitor, server } = await serving({});
    for (let i = 0; i < 2000; i++) monitor.record('loop_latency', i % 97, { route: `/r${i}` });
    await monitor.flush();
    let ticks = 0;
    let mostInProgress = 0;
    let mostQueued = 0;
    const timer = setInterval(() => {
      ticks++;
      const { inProgress, queued } = server.status().mcp.calls;
      mostInProgress = Math.max(mostInProgress, inProgress);
      mostQueued = Math.max(mostQueued, queued);
    }, 5);
    const statuses: number[] = [];
    const reportsBusy: string[] = [];
    const loop = async (k: number): Promise<void> => {
      for (let i = 0; i < 8; i++) {
        const r = k % 2 === 0 ? await get(server, '/api/history?metric=loop_latency&limit=100&max_points=100') : await get(server, '/api/reports', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        // A report gives its place back while the pool builds it: a third at once is refused by maxConcurrentReports (503), not held in the gate.
        if (r.status === 503) reportsBusy.push(r.body.error.message);
        else statuses.push(r.status);
      }
    };
    const dashboard: number[] = [];
    const poll = async (): Promise<void> => {
      for (let i = 0; i < 6; i++) {
        for (const path of ['/api/status', '/api/alerts?history=true&limit=50', '/api/reports/latest?optional=true']) dashboard.push((await get(server, path)).status);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      await Promise.all([...Array.from({ length: 6 }, (_, k) => loop(k)), poll()]);
    } finally {
      clearInterval(timer);
    }
    expect(dashboard).toHaveLength(18);
    expect(dashboard.every((s) => s === 200)).toBe(true);
    expect(statuses.length + reportsBusy.length).toBe(48);
    expect(statuses.every((s) => s === 200)).toBe(true);
    for (const m of reportsBusy) expect(m).toContain('maxConcurrentReports');
    await waitFor(() => server.status().mcp.calls.inProgress === 0, 20_000, 'every place to be handed back');
    expect(server.status().mcp.calls).toMatchObject({ queued: 0, limit: 2, refusedBusy: 0 });
    // Held to the limit (the reports' places given back while the pool builds them, the queue is seldom seen by a 5 ms sample).
    expect(mostInProgress).toBe(2);
    expect(mostQueued).toBeGreaterThanOrEqual(0);
    expect(ticks).toBeGreaterThan(0);
  }, 120_000);
});
