/**
 * The HTTP front's policy and limits, against real servers on loopback ports: the token,
 * read-only endpoints, pause instead of stop for an embedded monitor, Host and Origin.
 * (Sessions, bodies and timeouts: mcp-http-limits.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { OptimizeAnswer } from '../dist/src/mcp/tools/optimize-performance.js';
import { StatusOutput } from '../dist/src/mcp/status-answer.js';
import * as schemas from '../dist/src/mcp/tools/index.js';
import { fails, ok } from './mcp-helpers.js';
import { INIT, JSON_HEADERS, statusOf, useServing } from './http-helpers.js';
import { waitFor } from './helpers.js';

const TOKEN = 'guard-token-0123456789abcdef';

const { serving, client } = useServing();

function count(monitor: PerformanceMonitor, name: string, tags?: Record<string, string>): number {
  return monitor.getMetrics({ names: [name], ...(tags ? { tags } : {}) }).reduce((n, m) => n + m.totalCount, 0);
}

describe('the HTTP front\'s token', () => {
  it('refuses to listen beyond the loopback without one', async () => {
    const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
    await expect(monitor.serveMcp({ port: 0, host: '0.0.0.0' })).rejects.toThrow('token is required to listen on 0.0.0.0, which is not a loopback address: set the token option or PERFWATCH_TOKEN');
    await expect(monitor.serveMcp({ port: 0, host: '::' })).rejects.toThrow(/token is required to listen on ::/);
    await expect(monitor.serveMcp({ port: 0, token: 'short' })).rejects.toThrow(/^token must be 16 to 4096 characters/);
  });

  it('is required of every request once set, and lets through only the exact token', async () => {
    const { server } = await serving({ port: 0, host: '0.0.0.0', token: TOKEN });
    const url = `http://127.0.0.1:${server.port}/mcp`;
    const post = (authorization?: string): Promise<Response> =>
      fetch(url, { method: 'POST', headers: { ...JSON_HEADERS, ...(authorization ? { authorization } : {}) }, body: JSON.stringify(INIT) });
    for (const wrong of [undefined, `Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN.slice(0, -1)}x`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Basic ${TOKEN}`, 'Bearer ']) {
      const r = await post(wrong);
      expect(r.status, String(wrong)).toBe(401);
      expect(r.headers.get('www-authenticate'), String(wrong)).toMatch(/^Bearer /);
      await r.body?.cancel();
    }
    const good = await post(`Bearer ${TOKEN}`);
    expect(good.status).toBe(200);
    await good.body?.cancel();
    // Bound beyond the loopback there is no Host list: the token is the guard.
    expect(await statusOf(server.port, `POST /mcp HTTP/1.1\r\nHost: perfwatch.internal:${server.port}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`)).toBe(401);
  });

  it('is read from PERFWATCH_TOKEN when the option is not given', async () => {
    process.env.PERFWATCH_TOKEN = TOKEN;
    try {
      const { server } = await serving({ port: 0 });
      expect(server.status()).toMatchObject({ token: true, stateChanges: true });
      await client(server.url, TOKEN);
      expect((await fetch(server.url, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(INIT) })).status).toBe(401);
    } finally {
      delete process.env.PERFWATCH_TOKEN;
    }
  });
});

describe('state changes over HTTP', () => {
  it('are refused without a token unless the service allows them: the endpoint is read-only', async () => {
    const { monitor, server } = await serving({ port: 0 });
    const c = await client(server.url);
    const status = await ok(c, 'get_monitoring_status', {}, StatusOutput);
    expect(status.http).toMatchObject({ state_changes: false, token: false, sessions: 1 });
    await ok(c, 'get_performance_metrics', {}, schemas.MetricsOutput);
    await ok(c, 'optimize_performance', { optimization_type: 'all' }, OptimizeAnswer);
    const refused = (tool: string): RegExp => new RegExp(`^PW_ERR_FORBIDDEN: ${tool} changes the monitor's state, which this HTTP endpoint allows only to clients that send its token`);
    const calls: [string, Record<string, unknown>][] = [
      ['start_performance_monitoring', {}],
      ['stop_performance_monitoring', {}],
      ['record_performance_metric', { metric_type: 'forbidden', value: 1 }],
      ['record_performance_metric', { samples: [{ metric_type: 'forbidden', value: 1 }] }],
      ['record_request_performance', { response_time: 5, success: true }],
      ['create_performance_alert_rule', { metric_type: 'forbidden', operator: '>', threshold: 1, severity: 'warning' }],
      ['delete_performance_alert_rule', { rule_id: 'forbidden' }],
      ['optimize_performance', { optimization_type: 'all', auto_apply: true }],
      ['optimize_performance', { optimization_type: 'all', dry_run: false }],
    ];
    for (const [tool, args] of calls) expect(await fails(c, tool, args), `${tool} ${JSON.stringify(args)}`).toMatch(refused(tool));
    expect(monitor.running).toBe(true);
    expect(monitor.paused).toBe(false);
    // Nothing of the refused calls reached the monitor: the name is not even known.
    expect(() => count(monitor, 'forbidden')).toThrow(/"forbidden" is not a known metric/);
    expect(monitor.listAlertRules()).toEqual([]);
  });

  it('pause an embedded monitor instead of stopping it: the service\'s own records go on', async () => {
    const { monitor, server } = await serving({ port: 0, allowStateChanges: true }, { system: { enabled: true }, runtime: { enabled: true } });
    const c = await client(server.url);
    await waitFor(() => count(monitor, 'heap_used') > 0 && count(monitor, 'cpu_usage') > 0, 10_000, 'a runtime and a system sample');
    const stopped = await ok(c, 'stop_performance_monitoring', {}, schemas.StopOutput);
    // The service records on as if nothing happened: nothing throws, nothing is lost.
    for (let i = 0; i < 150; i++) monitor.recordRequest({ responseTimeMs: i, success: i % 10 !== 0, endpoint: '/host' });
    expect(stopped).toMatchObject({ state: 'paused', paused: true, was_running: true, data_preserved: true });
    expect(monitor.running).toBe(true);
    expect(monitor.paused).toBe(true);
    await monitor.flush();
    expect(count(monitor, 'response_time', { endpoint: '/host' })).toBe(150);
    // Paused, the monitor samples nothing of its own: over two collector intervals (seen in
    // its ingestion series, which go on), heap_used and cpu_usage get no sample.
    const heap = count(monitor, 'heap_used');
    const cpu = count(monitor, 'cpu_usage');
    const own = count(monitor, 'monitor_ingested');
    await waitFor(() => count(monitor, 'monitor_ingested') >= own + 2, 10_000, 'two collector intervals');
    expect(count(monitor, 'heap_used')).toBe(heap);
    expect(count(monitor, 'cpu_usage')).toBe(cpu);
    expect(await ok(c, 'get_monitoring_status', {}, StatusOutput)).toMatchObject({ state: 'running', paused: true });
    expect(await ok(c, 'stop_performance_monitoring', {}, schemas.StopOutput)).toMatchObject({ paused: true, was_running: false });
    expect(await ok(c, 'start_performance_monitoring', {}, schemas.StartOutput)).toMatchObject({ started: true, state: 'running' });
    expect(monitor.paused).toBe(false);
    await waitFor(() => count(monitor, 'heap_used') > heap && count(monitor, 'cpu_usage') > cpu, 10_000, 'sampling to resume');
  });
});

describe('Host and Origin', () => {
  it('answers a malformed Host 400, a foreign one 403 (DNS rebinding), and takes the loopback names', async () => {
    const { server } = await serving({ port: 0 });
    const p = server.port;
    const request = (host: string, extra = ''): Promise<number> =>
      statusOf(p, `POST /mcp HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n${extra}Content-Length: ${JSON.stringify(INIT).length}\r\nConnection: close\r\n\r\n${JSON.stringify(INIT)}`);
    for (const bad of [`evil@localhost:${p}`, `localhost:${p}@evil`, 'local host', `localhost:${p}/x`, `[::1`, `localhost:abc`]) expect(await request(bad), bad).toBe(400);
    for (const foreign of [`evil.example:${p}`, `192.168.1.10:${p}`]) expect(await request(foreign), foreign).toBe(403);
    expect(await request(`localhost:${p}`, 'Origin: http://evil.example\r\n')).toBe(403);
    for (const good of [`localhost:${p}`, `127.0.0.1:${p}`, `[::1]:${p}`]) expect(await request(good, `Origin: http://${good}\r\n`), good).toBe(200);
  });

  it('takes a browser Origin only when it is this server\'s own, scheme, host and port: not a page of another port of this host', async () => {
    const { server } = await serving({ port: 0 });
    const p = server.port;
    const request = (host: string, origin: string): Promise<number> =>
      statusOf(p, `POST /mcp HTTP/1.1\r\nHost: ${host}\r\nOrigin: ${origin}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: ${JSON.stringify(INIT).length}\r\nConnection: close\r\n\r\n${JSON.stringify(INIT)}`);
    // Another local program's page (a dev server, another app) is another origin, though on a listed name.
    for (const other of ['http://localhost:3000', 'http://127.0.0.1:8080', `http://localhost:${p + 1}`, 'http://localhost', 'http://[::1]:3000', `ftp://localhost:${p}`, 'null']) {
      expect(await request(`localhost:${p}`, other), other).toBe(403);
    }
    // Our own: the origin the browser addressed, a listed name on our port, or https through a proxy that passes Host on.
    for (const own of [`http://localhost:${p}`, `http://LOCALHOST:${p}`, `http://127.0.0.1:${p}`, `http://[::1]:${p}`, `https://localhost:${p}`]) {
      expect(await request(`localhost:${p}`, own), own).toBe(200);
    }
  });
});
