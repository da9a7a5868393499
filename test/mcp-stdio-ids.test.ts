/**
 * JSON-RPC ids over stdio. A request with the id of one still in progress ran beside it, and
 * both answers carried the id: the client could not tell them apart (and a cancel reached only
 * the later one). It is refused, as over HTTP (test/mcp-http-ids.test.ts), with the id named
 * and cut, and the request in progress is answered as usual.
 */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { MonitorHost } from '../dist/src/mcp/host.js';
import { McpFront } from '../dist/src/mcp/server.js';
import { serveFrontOverStdio, type StdioServing } from '../dist/src/mcp/serve-stdio.js';
import { waitFor } from './helpers.js';

const hosts: MonitorHost[] = [];
const servings: StdioServing[] = [];
afterEach(async () => {
  for (const s of servings.splice(0)) await s.close();
  for (const h of hosts.splice(0)) await h.close();
});

type Message = { id?: unknown; result?: Record<string, unknown>; error?: { code: number; message: string } };

/** A front over stdio, initialized: `send` writes lines, `got` is every message it wrote. */
async function connect(): Promise<{ send: (...messages: unknown[]) => void; got: Message[] }> {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
  await monitor.start();
  const host = new MonitorHost(monitor, true);
  hosts.push(host);
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  servings.push(serveFrontOverStdio(new McpFront(host), { stdin, stdout }));
  const got: Message[] = [];
  let buffered = '';
  stdout.setEncoding('utf8');
  stdout.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
      got.push(JSON.parse(buffered.slice(0, nl)) as Message);
      buffered = buffered.slice(nl + 1);
    }
  });
  const send = (...messages: unknown[]): void => {
    stdin.write(messages.map((m) => `${JSON.stringify(m)}\n`).join(''));
  };
  send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }, { jsonrpc: '2.0', method: 'notifications/initialized' });
  await waitFor(() => got.some((m) => m.id === 0), 10_000, 'the initialize answer');
  return { send, got };
}

const capture = (id: unknown) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'capture_performance_profile', arguments: { seconds: 1 } } });
const ping = (id: unknown) => ({ jsonrpc: '2.0', id, method: 'ping' });
const refusal = (named: string) => ({ jsonrpc: '2.0', id: null, error: { code: -32600, message: `Invalid Request: id ${named} is the id of a request of this connection still in progress; each request in progress needs an id of its own` } });

describe('JSON-RPC ids over stdio', () => {
  it('refuses a request reusing the id of one in progress, naming the id (cut to 64 characters), and answers that one', async () => {
    const { send, got } = await connect();
    const long = 'k'.repeat(1_000);
    // Each line is read in order: the capture is in progress when the ping with its id comes.
    send(capture(30), ping(30), capture(long), ping(long), ping('30'));
    await waitFor(() => got.filter((m) => m.id === 30 || m.id === long).length >= 2, 20_000, 'the captures to end');
    expect(got.filter((m) => m.id === null)).toEqual([refusal('30'), refusal(JSON.stringify(`${'k'.repeat(64)}…`))]);
    // One answer for each id, its request's own: the capture's, and the second capture's
    // refusal (one capture runs at a time); a string '30' is an id of its own.
    const answers = (id: unknown) => got.filter((m) => m.id === id);
    expect(answers(30)).toHaveLength(1);
    expect(answers(30)[0]!.result).toMatchObject({ structuredContent: { state: 'done' } });
    expect(answers(long)).toHaveLength(1);
    expect(answers(long)[0]!.result).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/^PW_ERR_BUSY: profile capture 1 \(cpu\) is running/) }] });
    expect(got.filter((m) => m.id === '30')).toEqual([{ jsonrpc: '2.0', id: '30', result: {} }]);
    // Once answered, the id is free again.
    send(ping(30));
    await waitFor(() => got.filter((m) => m.id === 30).length === 2, 10_000, 'the second ping');
    expect(got.filter((m) => m.id === 30)[1]).toEqual({ jsonrpc: '2.0', id: 30, result: {} });
  }, 40_000);

  it('frees the id of a request the client cancelled, which gets no answer', async () => {
    const { send, got } = await connect();
    send(capture('c'), { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'c', reason: 'changed my mind' } }, ping('c'));
    await waitFor(() => got.some((m) => m.id === 'c'), 10_000, 'the ping');
    expect(got.filter((m) => m.id === 'c' || m.id === null)).toEqual([{ jsonrpc: '2.0', id: 'c', result: {} }]);
  });
});
