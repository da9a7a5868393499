import { AsyncLocalStorage } from 'node:async_hooks';
import dc from 'node:diagnostics_channel';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { PerformanceMonitor } from '../dist/src/index.js';
import { monitorStarter, waitFor } from './helpers.js';

/**
 * A service's async context (an AsyncLocalStorage store: OpenTelemetry's active span, a
 * request's logger) around the call that starts the monitor or a front is the caller's, not
 * the monitor's: what they make lives on, and its callbacks run in the context it was made in.
 */
const started = monitorStarter();
const als = new AsyncLocalStorage<{ name: string }>();
const undo: (() => unknown)[] = [];
afterEach(async () => {
  for (const u of undo.splice(0).reverse()) await u();
});

/** The store each request's start is published in, by path, from node:http's channels (a subscriber runs in the publisher's context). */
function storesAt(channel: string): Map<string, string | null> {
  const seen = new Map<string, string | null>();
  const onStart = (message: unknown) => {
    const { request } = message as { request: { path?: string; url?: string } };
    seen.set(request.path ?? request.url ?? '?', als.getStore()?.name ?? null);
  };
  dc.subscribe(channel, onStart);
  undo.push(() => dc.unsubscribe(channel, onStart));
  return seen;
}

describe("the host's async context", () => {
  it("runs the alert events and webhook posts of a monitor started inside a span of the host's boot outside it, and the caller resumes in its own", async () => {
    const posts: string[] = [];
    const receiver = http.createServer((req, res) => {
      posts.push(req.url!);
      req.resume();
      res.end();
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    undo.push(() => new Promise((r) => receiver.close(r)));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const posted = storesAt('http.client.request.start');
    let m!: PerformanceMonitor;
    let resumedIn: string | undefined;
    await als.run({ name: 'boot' }, async () => {
      m = await started({ alerts: { webhooks: [url] } });
      resumedIn = als.getStore()?.name;
    });
    expect(resumedIn).toBe('boot');
    const alertedIn: (string | null)[] = [];
    m.on('alert', () => alertedIn.push(als.getStore()?.name ?? null));
    await m.createAlertRule({ metric: 'work_ms', aggregation: 'max', window: 5, operator: '>', threshold: 1 });
    m.record('work_ms', 50);
    await waitFor(() => posts.length > 0 && alertedIn.length > 0, 15_000, 'the alert and its post');
    expect(alertedIn[0]).toBeNull();
    expect(posted.get('/hook')).toBeNull();
  });

  it("serves a front made inside a request's context outside it: its requests are not the host's request's", async () => {
    const m = await started();
    const served = storesAt('http.server.request.start');
    const server = await als.run({ name: 'request 1' }, () => m.serveHttp({ port: 0 }));
    undo.push(() => server.close());
    const r = await fetch(new URL('/metrics', server.url));
    await r.text();
    expect(r.status).toBe(200);
    expect(served.get('/metrics')).toBeNull();
  });
});
