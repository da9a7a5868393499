/**
 * A method /mcp does not take, on both HTTP fronts: 405 with `Allow` and a JSON-RPC error,
 * before any session is looked at. serveHttp answered a PUT in the JSON API's error shape;
 * serveMcp answered it 400 "send initialize first" without a session and the SDK's 405 with one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type HttpServer, type McpHttpServer } from '../dist/src/index.js';
import { INIT, JSON_HEADERS } from './http-helpers.js';

const TOKEN = 'test-token-0123456789abcdef';
const AUTH = { Authorization: `Bearer ${TOKEN}` };
const NOT_ALLOWED = { jsonrpc: '2.0', error: { code: -32000, message: 'Method Not Allowed: /mcp takes GET, POST, DELETE' }, id: null };

describe('a method /mcp does not take', () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
  let http: HttpServer;
  let mcp: McpHttpServer;
  beforeAll(async () => {
    await monitor.start();
    http = await monitor.serveHttp({ port: 0, token: TOKEN });
    mcp = await monitor.serveMcp({ port: 0, token: TOKEN });
  });
  afterAll(async () => {
    await http.close();
    await mcp.close();
    await monitor.stop();
  });

  /** A session of `url`'s endpoint. */
  const session = async (url: string): Promise<string> => {
    const r = await fetch(url, { method: 'POST', headers: { ...AUTH, ...JSON_HEADERS }, body: JSON.stringify(INIT) });
    await r.text();
    const id = r.headers.get('mcp-session-id');
    expect(id).toBeTruthy();
    return id!;
  };

  for (const front of ['serveHttp', 'serveMcp'] as const) {
    it(`is answered 405 with Allow and a JSON-RPC error on ${front}, with a session or without`, async () => {
      const url = front === 'serveHttp' ? new URL('/mcp', http.url).href : mcp.url;
      const sid = await session(url);
      for (const method of ['PUT', 'PATCH', 'OPTIONS']) {
        for (const headers of [AUTH, { ...AUTH, 'Mcp-Session-Id': sid }]) {
          const r = await fetch(url, { method, headers });
          const what = `${method} ${'Mcp-Session-Id' in headers ? 'with' : 'without'} a session`;
          expect(r.status, what).toBe(405);
          expect(r.headers.get('allow'), what).toBe('GET, POST, DELETE');
          expect(await r.json(), what).toEqual(NOT_ALLOWED);
        }
      }
    });
  }
});
