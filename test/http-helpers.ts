/**
 * Talking to the HTTP front byte by byte, for what a well-behaved client never sends: a
 * malformed Host, a declared length nobody will send, a body dribbled in, a body held back.
 */
import { connect, type Socket } from 'node:net';
import { afterEach } from 'vitest';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { PerformanceMonitor, type McpHttpServer, type MonitorOptions } from '../dist/src/index.js';
import type { AnyClient } from './mcp-helpers.js';

/** A 2025-era initialize request. */
export const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };
export const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** A 2025-era MCP session at `url`, initialized: its id. */
export async function mcpSession(url: string): Promise<string> {
  const r = await fetch(url, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(INIT) });
  await r.text();
  const id = r.headers.get('mcp-session-id')!;
  const n = await fetch(url, { method: 'POST', headers: { ...JSON_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  await n.text();
  return id;
}

export interface RawAnswer {
  /** The status line's code; 0 when the server closed without answering. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Bytes this client had written when the connection closed. */
  written: number;
}

/**
 * Opens a connection, writes `head`, lets `drive` write more (it gets the socket), and
 * resolves once the server has closed the connection, or with `headersOnly` once the answer's
 * head is in (an SSE answer stays open). Fails after `guardMs` (a hang guard).
 */
export function raw(port: number, head: string, drive?: (socket: Socket) => void, { guardMs = 20_000, headersOnly = false } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const guard = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${guardMs} ms`));
    }, guardMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (headersOnly && text.includes('\r\n\r\n')) socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(guard);
      const end = text.indexOf('\r\n\r\n');
      const lines = (end < 0 ? text : text.slice(0, end)).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0), headers, body: end < 0 ? '' : text.slice(end + 4), written: socket.bytesWritten });
    });
    socket.write(head);
    drive?.(socket);
  });
}

/** The status code of a request written as it is. */
export async function statusOf(port: number, request: string): Promise<number> {
  return (await raw(port, request, undefined, { headersOnly: true })).status;
}

/** A request head for POST /mcp with the given Content-Length (and Connection: close). */
export function postHead(port: number, length: number | 'chunked', extra = ''): string {
  const framing = length === 'chunked' ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`;
  return `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n${extra}${framing}\r\nConnection: close\r\n\r\n`;
}

/**
 * Monitors serving MCP over HTTP, and SDK clients of theirs, all closed after each test
 * (call at the top of a test file).
 */
export function useServing(): {
  serving: (options: Parameters<PerformanceMonitor['serveMcp']>[0], monitorOptions?: MonitorOptions) => Promise<{ monitor: PerformanceMonitor; server: McpHttpServer }>;
  client: (url: string, token?: string) => Promise<AnyClient>;
} {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  });
  return {
    serving: async (options, monitorOptions = { system: { enabled: false } }) => {
      const monitor = new PerformanceMonitor({ storage: 'memory', ...monitorOptions });
      await monitor.start();
      cleanup.push(() => monitor.stop());
      const server = await monitor.serveMcp(options);
      cleanup.push(() => server.close());
      return { monitor, server };
    },
    client: async (url, token) => {
      const c = new Client({ name: 'http-test', version: '1.0.0' });
      await c.connect(new StreamableHTTPClientTransport(new URL(url), token ? { authProvider: { token: async () => token } } : {}));
      cleanup.push(() => c.close());
      return c as unknown as AnyClient;
    },
  };
}

/**
 * A request that holds a place of serveHttp's call gate, as an answer built on the host's main
 * thread does, for as long as a test wants: a POST /api/reports whose body is held back (its
 * route reads the body once it has its place). release() sends the body; `answered` is its answer.
 */
export function holdPlace(port: number): { release: () => void; answered: Promise<RawAnswer> } {
  let socket: Socket | undefined;
  const answered = raw(port, `POST /api/reports HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n`, (s) => (socket = s), { guardMs: 120_000 });
  return { release: () => void socket?.write('{}'), answered };
}
