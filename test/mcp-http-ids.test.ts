/**
 * JSON-RPC ids over the HTTP front. The SDK's session transport finds the POST an answer
 * belongs to by the request's id alone, so two requests of a session with one id in progress
 * at once (a batch that repeats one, or a POST reusing the id of one still running) had one of
 * their answers lost: the batch answered once for two requests, and the earlier POST was never
 * answered at all. Every POST is answered: one that would use an id twice is refused, naming it.
 */
import { describe, expect, it } from 'vitest';
import { INIT, JSON_HEADERS, useServing } from './http-helpers.js';
import { waitFor } from './helpers.js';

const { serving } = useServing();

/** A session opened by hand: the headers its requests carry. */
async function session(url: string): Promise<Record<string, string>> {
  const opened = await fetch(url, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(INIT) });
  await opened.body?.cancel();
  const headers = { ...JSON_HEADERS, 'mcp-session-id': opened.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-11-25' };
  await (await fetch(url, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
  return headers;
}

/** A POST's status and the JSON-RPC messages of its answer (JSON or an SSE stream); fails past 20 s, for a hang. */
async function post(url: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; messages: Record<string, unknown>[] }> {
  const r = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(20_000) });
  const text = await r.text();
  const messages = (r.headers.get('content-type') ?? '').includes('text/event-stream')
    ? text.split('\n').filter((l) => l.startsWith('data: ') && l.length > 6).map((l) => JSON.parse(l.slice(6)) as Record<string, unknown>)
    : [JSON.parse(text) as Record<string, unknown>];
  return { status: r.status, messages };
}

const record = (id: number | string, metric: string) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'record_performance_metric', arguments: { metric_type: metric, value: 1 } } });
const ping = (id: number | string) => ({ jsonrpc: '2.0', id, method: 'ping' });

describe('JSON-RPC ids over HTTP', () => {
  it('refuses a batch that repeats an id, naming it, and runs none of it', async () => {
    const { monitor, server } = await serving({ port: 0, allowStateChanges: true });
    const headers = await session(server.url);
    const answer = await post(server.url, headers, [record(7, 'dup_a'), ping(8), record(7, 'dup_b')]);
    expect(answer.status).toBe(400);
    expect(answer.messages).toEqual([{ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: the batch has two requests with id 7; each request in progress needs an id of its own' } }]);
    await monitor.flush();
    expect(monitor.getMetrics().filter((m) => m.name.startsWith('dup_'))).toEqual([]);
    // A string id and a number id are two ids; the session serves on.
    const mixed = await post(server.url, headers, [ping('7'), ping(7)]);
    expect(mixed.status).toBe(200);
    expect(mixed.messages.map((m) => m.id)).toHaveLength(2);
    expect(new Set(mixed.messages.map((m) => m.id))).toEqual(new Set([7, '7']));
  });

  it('refuses a POST reusing the id of a request of its session still in progress, and answers that request', async () => {
    const { server } = await serving({ port: 0 });
    const headers = await session(server.url);
    const capture = { jsonrpc: '2.0', id: 30, method: 'tools/call', params: { name: 'capture_performance_profile', arguments: { seconds: 2 } } };
    const first = post(server.url, headers, capture);
    await waitFor(() => server.status().sessions.busy === 1 || undefined, 10_000, 'the capture under way');
    const again = await post(server.url, headers, ping(30));
    expect(again.status).toBe(409);
    expect(again.messages).toEqual([{ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: id 30 is the id of a request of this session still in progress; each request in progress needs an id of its own' } }]);
    // The capture's own POST gets its own answer, not lost to the ping.
    const answered = await first;
    expect(answered.status).toBe(200);
    expect(answered.messages).toHaveLength(1);
    expect(answered.messages[0]).toMatchObject({ id: 30, result: { structuredContent: { state: 'done' } } });
    // Once answered, the id is free again; and another session has ids of its own.
    expect((await post(server.url, headers, ping(30))).messages).toEqual([{ jsonrpc: '2.0', id: 30, result: {} }]);
    const other = await session(server.url);
    const held = post(server.url, headers, capture);
    await waitFor(() => server.status().sessions.busy === 1 || undefined, 10_000, 'the second capture under way');
    expect((await post(server.url, other, ping(30))).messages).toEqual([{ jsonrpc: '2.0', id: 30, result: {} }]);
    expect((await held).messages[0]).toMatchObject({ id: 30 });
  }, 40_000);
});
