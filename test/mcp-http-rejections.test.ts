/**
 * Refused /mcp bodies are logged once per kind and counted, not a stderr line each: any local
 * process could flood the host's logs (a trial: 500 bad bodies, 500 lines). The -32600 for a
 * body that is JSON but no JSON-RPC message says which field is wrong.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PerformanceMonitor, type McpHttpServer } from '../dist/src/index.js';

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

describe('serveMcp: refused bodies', () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
  let server: McpHttpServer;

  beforeAll(async () => {
    await monitor.start();
    server = await monitor.serveMcp({ port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await monitor.stop();
  });

  const post = async (body: string) => {
    const r = await fetch(server.url, { method: 'POST', headers: HEADERS, body });
    return { status: r.status, message: ((await r.json()) as { error: { code: number; message: string } }).error };
  };

  it('logs the first refused body of each kind and counts the rest in status().rejected', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    try {
      for (let i = 0; i < 100; i++) {
        expect((await post(`{"x":${i}}`)).status).toBe(400);
        expect((await post('[]')).status).toBe(400);
      }
    } finally {
      spy.mockRestore();
    }
    const ours = lines.filter((l) => l.startsWith('perfwatch http: '));
    expect(ours).toEqual([
      'perfwatch http: Rejected inbound request (invalid-json-rpc-body): "jsonrpc" is missing: it must be "2.0" (logged once per kind; counted in the MCP endpoint\'s status().rejected)\n',
      "perfwatch http: Rejected inbound request (empty-batch): Bad Request: empty JSON-RPC batch (logged once per kind; counted in the MCP endpoint's status().rejected)\n",
    ]);
    expect(server.status().rejected).toMatchObject({ 'invalid-json-rpc-body': 100, 'empty-batch': 100 });
  });

  it('says which field of a body that is no JSON-RPC message is wrong', async () => {
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await post('{"x":1}')).toEqual({ status: 400, message: { code: -32600, message: 'Bad Request: the request body is not a valid JSON-RPC message: "jsonrpc" is missing: it must be "2.0"' } });
      expect((await post('{"jsonrpc":"1.0","method":"ping","id":1}')).message.message).toBe('Bad Request: the request body is not a valid JSON-RPC message: "jsonrpc" must be "2.0", got "1.0"');
      expect((await post('{"jsonrpc":"2.0","method":5,"id":1}')).message.message).toBe('Bad Request: the request body is not a valid JSON-RPC message: "method" must be a string, got 5');
      expect((await post('{"jsonrpc":"2.0","id":1}')).message.message).toBe('Bad Request: the request body is not a valid JSON-RPC message: "method" (a string) is missing: a request or notification has one, a response has "result" or "error"');
      expect((await post('{"jsonrpc":"2.0","method":"ping","id":1.5}')).message.message).toBe('Bad Request: the request body is not a valid JSON-RPC message: "id" must be a string or an integer, got 1.5');
      expect((await post('[{"jsonrpc":"2.0","method":"ping","id":1},{"jsonrpc":"2.0","method":"ping","id":null}]')).message.message).toBe('Bad Request: JSON-RPC batch contains an invalid message: element 1: "id" must be a string or an integer, got null');
    } finally {
      spy.mockRestore();
    }
  });
});
