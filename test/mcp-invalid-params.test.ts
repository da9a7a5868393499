/**
 * Protocol requests whose params the SDK's schemas refuse: answered -32602 Invalid params in
 * one sentence naming the field, on stdio and over HTTP alike. They were -32603 Internal
 * error with the validator's issues as multi-line JSON in the message (tools/call: -32602 with
 * that JSON after `Invalid tools/call request: `).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type McpHttpServer } from '../dist/src/index.js';
import { ChildTransport, quietConfig } from './mcp-helpers.js';
import { waitFor } from './helpers.js';

const INIT = { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

/** The requests and the error each must get. */
const CASES: [Record<string, unknown>, string][] = [
  [{ method: 'logging/setLevel', params: { level: 'bogus' } }, 'Invalid params for logging/setLevel: params.level must be "debug", "info", "notice", "warning", "error", "critical", "alert" or "emergency", got "bogus"'],
  [{ method: 'resources/read' }, 'Invalid params for resources/read: params is required: it must be an object'],
  [{ method: 'resources/read', params: {} }, 'Invalid params for resources/read: params.uri is required: it must be a string'],
  [{ method: 'resources/subscribe', params: { uri: 5 } }, 'Invalid params for resources/subscribe: params.uri must be a string, got 5'],
  // tools/call is checked by a handler of McpServer's own, whose refusal was `Invalid tools/call request: [\n  {\n    "expected": …`.
  [{ method: 'tools/call' }, 'Invalid params for tools/call: params is required: it must be an object'],
  [{ method: 'tools/call', params: { arguments: {} } }, 'Invalid params for tools/call: params.name is required: it must be a string'],
  [{ method: 'tools/call', params: { name: 5 } }, 'Invalid params for tools/call: params.name must be a string, got 5'],
];

describe('invalid params of a protocol request', () => {
  it('are answered -32602 naming the field, on stdio', async () => {
    const t = new ChildTransport(['mcp', '--config', quietConfig()]);
    await t.start();
    try {
      await t.send(INIT as never);
      await t.send({ jsonrpc: '2.0', method: 'notifications/initialized' } as never);
      for (const [i, [request]] of CASES.entries()) await t.send({ jsonrpc: '2.0', id: i + 1, ...request } as never);
      const answer = (id: number) => t.lines.find((l) => (l as { id?: unknown }).id === id) as { error?: { code: number; message: string } } | undefined;
      await waitFor(() => CASES.every((_, i) => answer(i + 1) !== undefined), 10_000, 'the answers');
      for (const [i, [, message]] of CASES.entries()) expect(answer(i + 1)?.error).toEqual({ code: -32602, message });
    } finally {
      await t.close();
    }
  });

  describe('over HTTP (a session)', () => {
    const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
    let server: McpHttpServer;
    const TOKEN = 'test-token-0123456789abcdef';
    beforeAll(async () => {
      await monitor.start();
      server = await monitor.serveMcp({ port: 0, token: TOKEN });
    });
    afterAll(async () => {
      await server.close();
      await monitor.stop();
    });

    const post = async (body: unknown, session?: string): Promise<{ res: Response; message: { error?: { code: number; message: string } } }> => {
      const res = await fetch(server.url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${TOKEN}`, 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream', ...(session ? { 'Mcp-Session-Id': session, 'Mcp-Protocol-Version': '2025-11-25' } : {}) },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      const data = text.startsWith('{') ? text : (text.split('\n').find((l) => l.startsWith('data: ')) ?? 'data: {}').slice(6);
      return { res, message: JSON.parse(data) as never };
    };

    it('are answered -32602 naming the field', async () => {
      const { res } = await post(INIT);
      const session = res.headers.get('mcp-session-id')!;
      expect(session).toBeTruthy();
      await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session);
      for (const [i, [request, message]] of CASES.entries()) {
        expect((await post({ jsonrpc: '2.0', id: i + 1, ...request }, session)).message.error).toEqual({ code: -32602, message });
      }
    });
  });
});
