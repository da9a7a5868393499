/**
 * The HTTP front's bounds, against real servers on loopback ports: sessions (cap, idle
 * expiry), bodies (one request's limit, the bytes held across requests), slow clients.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { MAX_REQUEST_BYTES, SAMPLE_TAG_BYTES } from '../dist/src/mcp/http-options.js';
import { MAX_JSON_DEPTH } from '../dist/src/mcp/json-depth.js';
import { MAX_BATCH, MAX_TIME_LENGTH } from '../dist/src/mcp/schemas.js';
import { StatusOutput } from '../dist/src/mcp/status-answer.js';
import * as schemas from '../dist/src/mcp/tools/index.js';
import { call, ok } from './mcp-helpers.js';
import { INIT, JSON_HEADERS, postHead, raw, useServing, type RawAnswer } from './http-helpers.js';
import { waitFor } from './helpers.js';

const { serving, client } = useServing();

/** An initialize POST: its status, session id and Retry-After (the answer's stream is let go). */
async function initialize(url: string): Promise<{ status: number; id: string | null; retryAfter: string | null }> {
  const r = await fetch(url, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(INIT) });
  await r.body?.cancel();
  return { status: r.status, id: r.headers.get('mcp-session-id'), retryAfter: r.headers.get('retry-after') };
}

describe('HTTP sessions', () => {
  it('are capped, expire once idle, and an open stream keeps one alive', async () => {
    const { server } = await serving({ port: 0, maxSessions: 3, sessionIdleMs: 1000 });
    // Each session opens its standalone GET stream as soon as it exists: in use, not idle, so
    // none expires while the cap is checked, however slowly this thread runs.
    const opened: Awaited<ReturnType<typeof initialize>>[] = [];
    const streams: AbortController[] = [];
    for (let k = 0; k < 3; k++) {
      const o = await initialize(server.url);
      expect(o).toMatchObject({ status: 200, id: expect.any(String) });
      const stream = new AbortController();
      const get = await fetch(server.url, { headers: { accept: 'text/event-stream', 'mcp-session-id': o.id!, 'mcp-protocol-version': '2025-11-25' }, signal: stream.signal });
      expect(get.status).toBe(200);
      opened.push(o);
      streams.push(stream);
    }
    // Every session has its stream open: none can be evicted to make room.
    expect(await initialize(server.url)).toMatchObject({ status: 503, retryAfter: '5' });
    expect(server.status().sessions).toMatchObject({ count: 3, busy: 3, limit: 3, refused: 1, expired: 0, evicted: 0 });
    // The first session keeps its stream open: in use, not idle. The other two let theirs go.
    const stream = streams[0]!;
    streams[1]!.abort();
    streams[2]!.abort();
    await waitFor(() => server.status().sessions.expired === 2, 10_000, 'the two idle sessions to expire');
    expect(server.status().sessions.count).toBe(1);
    const gone = await fetch(server.url, { method: 'POST', headers: { ...JSON_HEADERS, 'mcp-session-id': opened[1]!.id!, 'mcp-protocol-version': '2025-11-25' }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ error: { message: 'Session not found: initialize again' } });
    expect((await initialize(server.url)).status).toBe(200);
    stream.abort();
    await waitFor(() => server.status().sessions.count === 0, 10_000, 'every session to expire');
    expect(server.status().sessions).toMatchObject({ expired: 4, refused: 1 });
  });

  it('shows their count in get_monitoring_status', async () => {
    const { server } = await serving({ port: 0, maxSessions: 7 });
    await initialize(server.url);
    const c = await client(server.url);
    const status = await ok(c, 'get_monitoring_status', {}, StatusOutput);
    expect(status.http).toMatchObject({ sessions: 2, max_sessions: 7, sessions_expired: 0, state_changes: false });
  });
});

/** A 2025-era request of session `id`: its status and body. */
async function ask(url: string, id: string): Promise<{ status: number; text: string }> {
  const r = await fetch(url, { method: 'POST', headers: { ...JSON_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) });
  return { status: r.status, text: await r.text() };
}

describe('HTTP sessions at the cap', () => {
  const clients: Client[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  });

  /**
   * An SDK client connected to `url`. With `stream: false` its GET is answered 405, as by a
   * server without one: the client goes on without a standalone stream, so that only its
   * calls keep its session busy (as with clients that never open one).
   */
  async function connect(url: string, { stream = true } = {}): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
    const noStream = (input: string | URL | Request, init?: RequestInit) => (init?.method === 'GET' ? Promise.resolve(new Response(null, { status: 405 })) : fetch(input, init));
    const transport = new StreamableHTTPClientTransport(new URL(url), stream ? {} : { fetch: noStream });
    const client = new Client({ name: 'cap-test', version: '1.0.0' });
    await client.connect(transport);
    clients.push(client);
    return { client, transport };
  }

  /** A call of `client` in flight until cancelled (a 20 s capture); `settled` says whether it has ended. */
  function inFlight(client: Client): { capture: Promise<unknown>; cancel: AbortController; settled: () => boolean } {
    const cancel = new AbortController();
    let ended = false;
    const capture = client.callTool({ name: 'capture_performance_profile', arguments: { seconds: 20 } }, { signal: cancel.signal }).finally(() => (ended = true));
    // Handled here too, so that a failure before the cancel is the test's, not an unhandled rejection.
    capture.catch(() => {});
    return { capture, cancel, settled: () => ended };
  }

  it('make room for a new client by evicting the least recently active idle one: clients that left without ending their session lock no one out', async () => {
    // Idle sessions expire after 15 minutes: only eviction can make room within this test.
    const { server } = await serving({ port: 0, maxSessions: 3 });
    const ids: string[] = [];
    for (let k = 0; k < 6; k++) {
      const { client, transport } = await connect(server.url);
      expect((await client.listTools()).tools.length).toBeGreaterThan(0);
      ids.push(transport.sessionId!);
      await waitFor(() => server.status().sessions.busy === 1, 10_000, `client ${k}'s stream to open`);
      // It leaves as a script that exits, or an agent that crashes: its connections close,
      // and no DELETE ends its session.
      await client.close();
      await waitFor(() => server.status().sessions.busy === 0, 10_000, `the server to see client ${k} gone`);
    }
    expect(server.status().sessions).toMatchObject({ count: 3, busy: 0, limit: 3, evicted: 3, refused: 0, expired: 0 });
    // The least recently active went first. An evicted session's id is unknown: 404, after
    // which a client initializes again, as the protocol says. (Asked from the last, so that
    // session 5 is now the least recently active, and session 3 the oldest.)
    for (let k = 5; k >= 0; k--) {
      const answer = await ask(server.url, ids[k]!);
      expect(answer.status, `session ${k}`).toBe(k < 3 ? 404 : 200);
      if (k < 3) expect(JSON.parse(answer.text)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32001, message: 'Session not found: initialize again' } });
    }
    // This client takes the place of the least recently active, not of the oldest; the
    // counters are in get_monitoring_status.
    const c = await client(server.url);
    const status = await ok(c, 'get_monitoring_status', {}, StatusOutput);
    expect(status.http).toMatchObject({ sessions: 3, max_sessions: 3, sessions_evicted: 4, sessions_expired: 0, sessions_refused: 0 });
    expect((await ask(server.url, ids[5]!)).status).toBe(404);
    expect((await ask(server.url, ids[3]!)).status).toBe(200);
    expect((await call(c, 'get_monitoring_status')).content[0]!.text).toMatch(/^http: 3\/3 sessions \(1 busy; 0 expired, 4 evicted, 0 refused, 0 unresponsive\), 0 answers stalled, /m);
  });

  it('never evict a session with a request in flight, and refuse with 503 only when every session is busy', async () => {
    const { server } = await serving({ port: 0, maxSessions: 3 });
    // A has no stream: only its call keeps it busy. Its call is the oldest activity of all.
    const a = await connect(server.url, { stream: false });
    const { capture, cancel, settled } = inFlight(a.client);
    await waitFor(() => server.status().sessions.busy === 1, 10_000, "A's call to arrive");
    // B leaves without ending its session; C and D keep their streams open.
    const b = await connect(server.url);
    await waitFor(() => server.status().sessions.busy === 2, 10_000, "B's stream to open");
    await b.client.close();
    await waitFor(() => server.status().sessions.busy === 1, 10_000, 'the server to see B gone');
    await connect(server.url);
    await waitFor(() => server.status().sessions.busy === 2, 10_000, "C's stream to open");
    await connect(server.url);
    await waitFor(() => server.status().sessions.busy === 3, 10_000, "D's stream to open");
    expect(server.status().sessions).toMatchObject({ count: 3, busy: 3, evicted: 1, refused: 0 });
    // Every session is busy: the next client is refused, and told when to try again.
    const refused = await fetch(server.url, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(INIT) });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await refused.json()).toMatchObject({ error: { message: 'Service Unavailable: 3 sessions are open, the limit (maxSessions), each with a request in progress or a stream whose client sent a request less than sessionStreamIdleMs (300,000 ms) ago; retry later, or reuse a session' } });
    expect(server.status().sessions).toMatchObject({ count: 3, busy: 3, evicted: 1, refused: 1 });
    // A's call was in flight throughout, and its session is still there.
    expect(settled()).toBe(false);
    cancel.abort('done');
    await expect(capture).rejects.toThrow();
    expect((await a.client.listTools()).tools.length).toBeGreaterThan(0);
  });

  it('evict, when none is idle, the session that has only held its stream the longest since its last request, never one with a request in flight', async () => {
    // Pings every 100 ms, each answered by the SDK's client with a POST: an answer is no request.
    const { server } = await serving({ port: 0, maxSessions: 2, sessionStreamIdleMs: 3_000, sessionPingMs: 100 });
    // A keeps its stream open and has a call in flight; B keeps its stream open and calls nothing more.
    const a = await connect(server.url);
    const { capture, cancel, settled } = inFlight(a.client);
    await waitFor(() => server.status().sessions.busy === 1, 10_000, "A's stream or call to arrive");
    const b = await connect(server.url);
    expect((await b.client.listTools()).tools.length).toBeGreaterThan(0);
    await waitFor(() => server.status().sessions.busy === 2, 10_000, 'both streams to open');
    // B asked something a moment ago: it keeps its place.
    expect((await initialize(server.url)).status).toBe(503);
    expect(settled()).toBe(false);
    // Once B has sent no request for sessionStreamIdleMs, a new client takes its place; A's stays.
    const admitted = await waitFor(async () => {
      const o = await initialize(server.url);
      return o.status === 200 && o;
    }, 15_000, "B's place to be given to a new client");
    expect(admitted.id).toEqual(expect.any(String));
    expect(server.status().sessions).toMatchObject({ count: 2, evicted: 1, unresponsive: 0 });
    expect((await ask(server.url, b.transport.sessionId!)).status).toBe(404);
    expect(settled()).toBe(false);
    cancel.abort('done');
    await expect(capture).rejects.toThrow();
    expect((await a.client.listTools()).tools.length).toBeGreaterThan(0);
  });

  it('answer an evicted client 404, after which it starts a new session', async () => {
    const { server } = await serving({ port: 0, maxSessions: 2 });
    // E has no stream: idle between its calls, it can be evicted while its client lives.
    const e = await connect(server.url, { stream: false });
    await e.client.listTools();
    await connect(server.url);
    await waitFor(() => server.status().sessions.busy === 1, 10_000, "F's stream to open");
    // G takes E's place, then leaves without ending its session.
    const g = await connect(server.url);
    await waitFor(() => server.status().sessions.busy === 2, 10_000, "G's stream to open");
    await g.client.close();
    await waitFor(() => server.status().sessions.busy === 1, 10_000, 'the server to see G gone');
    expect(server.status().sessions).toMatchObject({ count: 2, evicted: 1 });
    await expect(e.client.listTools()).rejects.toMatchObject({ status: 404, message: expect.stringContaining('Session not found: initialize again') });
    // As the protocol says, the client initializes again; the place is G's, idle since it left.
    await e.client.close();
    const again = new StreamableHTTPClientTransport(new URL(server.url), { fetch: (input, init) => (init?.method === 'GET' ? Promise.resolve(new Response(null, { status: 405 })) : fetch(input, init)) });
    await e.client.connect(again);
    expect((await e.client.listTools()).tools.length).toBeGreaterThan(0);
    expect(again.sessionId).not.toBe(e.transport.sessionId);
    expect(server.status().sessions).toMatchObject({ count: 2, evicted: 2, refused: 0 });
  });

  it('count a session busy from the first byte of its request: one whose body is still arriving is not evicted', async () => {
    const { server } = await serving({ port: 0, maxSessions: 2 });
    // A is opened first and has no stream: the least recently active session.
    const a = await initialize(server.url);
    const b = await connect(server.url);
    await waitFor(() => server.status().sessions.busy === 1, 10_000, "B's stream to open");
    await b.client.close();
    await waitFor(() => server.status().sessions.busy === 0, 10_000, 'the server to see B gone');
    // A sends a request whose body has not all arrived (a large batch on a slow link).
    const body = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }).padEnd(8 * 1024, ' ');
    let sender!: Socket;
    const answer = raw(server.port, postHead(server.port, body.length, `Mcp-Session-Id: ${a.id}\r\nMcp-Protocol-Version: 2025-11-25\r\n`), (s) => {
      sender = s;
      s.write(body.slice(0, 1024));
    }, { headersOnly: true });
    await waitFor(() => server.status().bufferedBytes === body.length, 10_000, "A's body to start arriving");
    // The next client takes B's place, not A's.
    await connect(server.url);
    expect(server.status().sessions).toMatchObject({ count: 2, evicted: 1 });
    expect((await ask(server.url, b.transport.sessionId!)).status).toBe(404);
    sender.write(body.slice(1024));
    expect((await answer).status).toBe(200);
  });
});

describe('HTTP sessions of clients that went quiet', () => {
  const clients: Client[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  });

  /** Opens session `id`'s standalone stream and then neither reads it nor answers anything on it; resolves with what it got once the server closes it (read at `resume`). */
  function frozenStream(port: number, id: string, sockets: Socket[]): Promise<RawAnswer> {
    const head = `GET /mcp HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\nMcp-Session-Id: ${id}\r\nMcp-Protocol-Version: 2025-11-25\r\n\r\n`;
    return raw(port, head, (s) => {
      s.pause();
      sockets.push(s);
    }, { guardMs: 120_000 });
  }

  it('close the streams of clients that answer no ping: a frozen or vanished client holds no place', async () => {
    const { server } = await serving({ port: 0, maxSessions: 3, sessionPingMs: 200, sessionPingTimeoutMs: 5_000 });
    // The SDK's client answers a ping by itself: it keeps its stream through every round.
    const transport = new StreamableHTTPClientTransport(new URL(server.url));
    const live = new Client({ name: 'live', version: '1.0.0' });
    await live.connect(transport);
    clients.push(live);
    await waitFor(() => server.status().sessions.busy === 1, 10_000, "the live client's stream to open");
    // Two clients open their stream and then read nothing and answer nothing, as a process
    // stopped (SIGSTOP) or a host gone without a FIN: their connections stay open, and without
    // pings they held their places for good, every later client answered 503.
    const sockets: Socket[] = [];
    const frozen: Promise<RawAnswer>[] = [];
    for (let k = 0; k < 2; k++) frozen.push(frozenStream(server.port, (await initialize(server.url)).id!, sockets));
    await waitFor(() => server.status().sessions.unresponsive === 2 && server.status().sessions.busy <= 1, 30_000, 'the two silent sessions to be found unresponsive');
    expect(server.status().sessions).toMatchObject({ count: 3, refused: 0, evicted: 0 });
    // Their sessions are idle now: a new client takes the place of one of them.
    const next = await client(server.url);
    expect(server.status().sessions).toMatchObject({ count: 3, evicted: 1, refused: 0 });
    const status = await ok(next, 'get_monitoring_status', {}, StatusOutput);
    expect(status.http).toMatchObject({ sessions_unresponsive: 2, answers_stalled: 0 });
    // The live client answered every ping meanwhile: its stream was never closed, and it calls on.
    expect((await live.listTools()).tools.length).toBeGreaterThan(0);
    expect(server.status().sessions.unresponsive).toBe(2);
    // The silent clients were sent the ping they did not answer, and their connection was closed.
    for (const s of sockets) s.resume();
    for (const answer of await Promise.all(frozen)) {
      expect(answer.status).toBe(200);
      expect(answer.body).toContain('"method":"ping"');
    }
  });

  it("close an answer its client leaves unread for responseStallMs: the session is idle again, the answer's bytes let go", async () => {
    const { monitor, server } = await serving({ port: 0, maxSessions: 2, responseStallMs: 500 });
    monitor.recordBatch(Array.from({ length: 1000 }, (_, k) => ({ name: 'job_ms', value: k, tags: { job: `j${k}` } })));
    await monitor.flush();
    const { id } = await initialize(server.url);
    // About 28 MB of answers (100 pages of 1,000 series), far more than the kernel's buffers of
    // a connection take from a client that reads nothing (about 4 MB on loopback): the rest
    // waits in the host's memory for the client to read it.
    const body = JSON.stringify(Array.from({ length: 100 }, (_, k) => ({ jsonrpc: '2.0', id: 10 + k, method: 'tools/call', params: { name: 'get_performance_metrics', arguments: { limit: 1000 } } })));
    const sockets: Socket[] = [];
    const answer = raw(server.port, postHead(server.port, Buffer.byteLength(body), `Mcp-Session-Id: ${id}\r\nMcp-Protocol-Version: 2025-11-25\r\n`) + body, (s) => {
      s.pause();
      sockets.push(s);
    }, { guardMs: 120_000 });
    await waitFor(() => server.status().stalled === 1, 60_000, 'the unread answer to be closed');
    await waitFor(() => server.status().sessions.busy === 0, 10_000, 'the session to be idle');
    expect(server.status()).toMatchObject({ stalled: 1, responseStallMs: 500, sessions: { unresponsive: 0 } });
    sockets[0]!.resume();
    const got = await answer;
    expect(got.status).toBe(200);
    // What the kernel held reached the client; the rest was dropped with the connection.
    expect(got.body.split('event: message').length - 1).toBeLessThan(100);
  });
});

describe('HTTP calls whose client hangs up', () => {
  it('stop when the connection of their request closes: the capture ends, and the session serves the next call', async () => {
    const { server, monitor } = await serving({ port: 0 });
    const opened = await fetch(server.url, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(INIT) });
    const session = { ...JSON_HEADERS, 'mcp-session-id': opened.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-11-25' };
    await opened.body?.cancel();
    const capture = (id: number, seconds: number, signal?: AbortSignal) =>
      fetch(server.url, { method: 'POST', headers: session, signal, body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'capture_performance_profile', arguments: { seconds } } }) });
    // The client goes (a process killed, a connection cut) without a notifications/cancelled.
    const gone = new AbortController();
    const answered = capture(2, 20, gone.signal).then((r) => r.text());
    answered.catch(() => {});
    await waitFor(() => monitor.profilingStatus().busy !== null, 10_000, 'the capture running');
    gone.abort();
    await expect(answered).rejects.toThrow();
    // Left running, it held the one capture there is for its 20 s, for no one: every capture
    // asked for meanwhile was PW_ERR_BUSY.
    await waitFor(() => monitor.profilingStatus().busy === null, 10_000, 'the capture of the closed request ended');
    expect((monitor.getProfile(1) as { seconds: number }).seconds).toBeLessThan(20);
    const next = await (await capture(3, 1)).text();
    expect(next).toMatch(/"structuredContent":\{"id":2,"state":"done"/);
  }, 40_000);
});

describe('HTTP request bodies', () => {
  const LIMIT = 64 * 1024;

  it('refuses a declared length over the limit before reading a byte of it', async () => {
    const { server } = await serving({ port: 0, maxBodyBytes: LIMIT });
    for (const length of [1e12, LIMIT + 1]) {
      const head = postHead(server.port, length);
      const answer = await raw(server.port, head, undefined, { guardMs: 10_000 });
      expect(answer.status, String(length)).toBe(413);
      expect(answer.body).toContain(`the body is over ${LIMIT} bytes`);
      expect(answer.written).toBe(head.length);
    }
    expect(server.status().refusedBodies).toEqual({ tooLarge: 2, busy: 0 });
  });

  it('stops reading a chunked body at the limit', async () => {
    const { server } = await serving({ port: 0, maxBodyBytes: LIMIT });
    const chunk = `4000\r\n${' '.repeat(0x4000)}\r\n`;
    const answer = await raw(server.port, postHead(server.port, 'chunked'), (socket) => {
      for (let i = 0; i < 8; i++) socket.write(chunk);
    });
    expect(answer.status).toBe(413);
  });

  it('answers 503 with Retry-After, without buffering, when other requests hold the budget', async () => {
    const { server } = await serving({ port: 0, maxBodyBytes: LIMIT, maxBufferedBytes: LIMIT + 16 * 1024 });
    const body = JSON.stringify(INIT).padEnd(60 * 1024, ' ');
    // A holds 60 KiB of budget: it declared them and sent the first kilobyte only.
    let holder!: Socket;
    const a = raw(server.port, postHead(server.port, body.length), (s) => {
      holder = s;
      s.write(body.slice(0, 1024));
    }, { headersOnly: true });
    await waitFor(() => server.status().bufferedBytes === body.length, 10_000, 'A to hold its bytes');
    // B is answered at once; its body is read off the connection and dropped, not held.
    const b = await raw(server.port, postHead(server.port, body.length), (s) => s.write(body));
    expect(b.status).toBe(503);
    expect(b.headers['retry-after']).toBe('1');
    expect(server.status()).toMatchObject({ bufferedBytes: body.length, refusedBodies: { tooLarge: 0, busy: 1 } });
    holder.write(body.slice(1024));
    expect((await a).status).toBe(200);
    await waitFor(() => server.status().bufferedBytes === 0, 10_000, 'A to give its bytes back');
    expect((await raw(server.port, postHead(server.port, body.length), (s) => s.write(body), { headersOnly: true })).status).toBe(200);
  });

  it('takes the largest valid request, and nothing larger', async () => {
    const { monitor, server } = await serving({ port: 0, allowStateChanges: true }, { system: { enabled: false }, collectionIntervalMs: 60_000, ringCapacity: 1 << 17 });
    expect(server.status().maxBodyBytes).toBe(MAX_REQUEST_BYTES);
    expect((await raw(server.port, postHead(server.port, MAX_REQUEST_BYTES + 1))).status).toBe(413);
    // MAX_BATCH samples at their longest: name, number and time at the schema's limits, and
    // SAMPLE_TAG_BYTES of tags (two values within the monitor's default 128 characters). The
    // 60 s interval lets the time be up to a minute old when the server reads it: building and
    // sending the request took over 10 s on a loaded machine.
    const timestamp = `${new Date().toISOString().slice(0, 23)}${'0'.repeat(MAX_TIME_LENGTH - 29)}+00:00`;
    const tagValue = (SAMPLE_TAG_BYTES - '"route":"","region":""'.length) / 2;
    const sample = { metric_type: 'a'.repeat(200), value: -2.2250738585072014e-308, tags: { route: 'r'.repeat(tagValue), region: 'g'.repeat(tagValue) }, timestamp };
    expect(JSON.stringify(sample.tags).length - 2).toBe(SAMPLE_TAG_BYTES);
    const samples = new Array(MAX_BATCH).fill(sample);
    const request = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'record_performance_metric', arguments: { samples } } };
    const size = JSON.stringify(request).length;
    expect(size).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
    expect(size).toBeGreaterThan(MAX_REQUEST_BYTES - 64 * 1024);
    const c = await client(server.url);
    expect(await ok(c, 'record_performance_metric', { samples }, schemas.RecordOutput)).toMatchObject({ recorded: MAX_BATCH });
    await monitor.flush();
    expect(monitor.getMetrics({ names: ['a'.repeat(200)] })[0]?.totalCount).toBe(MAX_BATCH);
  });

  it('refuses a body nested deeper than MAX_JSON_DEPTH before parsing it, and takes one at the limit and brackets inside strings', async () => {
    const { server } = await serving({ port: 0, allowStateChanges: true });
    const post = async (body: string): Promise<{ status: number; text: string }> => {
      const r = await fetch(server.url, { method: 'POST', headers: JSON_HEADERS, body });
      return { status: r.status, text: await r.text() };
    };
    const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;
    // 200,000 levels: JSON.parse took it, then the SDK's walk over the id overflowed the stack (a 500).
    for (const body of [
      `{"jsonrpc":"2.0","id":${nested(200_000)},"method":"tools/list"}`,
      `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_performance_metrics","arguments":{"x":${nested(200_000)}}}}`,
      `[${nested(MAX_JSON_DEPTH)}]`,
    ]) {
      const answer = await post(body);
      expect(answer.status, body.slice(0, 80)).toBe(400);
      expect(JSON.parse(answer.text)).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700, message: expect.stringContaining(`more than ${MAX_JSON_DEPTH} levels deep`) } });
    }
    // At the limit the body is parsed and answered as JSON-RPC answers arrays that are no
    // request; brackets inside strings, after an escaped quote too, count for nothing.
    const atLimit = await post(nested(MAX_JSON_DEPTH));
    expect(atLimit.text).not.toContain('levels deep');
    const tags = { route: `\\"${'['.repeat(100)}` };
    const c = await client(server.url);
    const recorded = await call(c, 'record_performance_metric', { metric_type: 'depth_probe', value: 1, tags });
    expect(recorded.isError, JSON.stringify(recorded.content)).toBeFalsy();
  });
});

describe('slow HTTP clients', () => {
  it('are cut off when they dribble their headers or their body', async () => {
    const { server } = await serving({ port: 0, headersTimeoutMs: 300, requestTimeoutMs: 1_000 });
    const dribble = (bytes: string) => (socket: Socket) => {
      const timer = setInterval(() => socket.write(bytes), 50);
      socket.on('close', () => clearInterval(timer));
    };
    const body = await raw(server.port, postHead(server.port, 100_000), dribble('x'));
    expect(body.status).toBe(408);
    expect(body.written).toBeLessThan(postHead(server.port, 100_000).length + 100_000);
    const headers = await raw(server.port, 'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n', dribble('X-Slow: 1\r\n'));
    expect(headers.status).toBe(408);
  });
});
