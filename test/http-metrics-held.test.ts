/**
 * GET /metrics against clients that stop reading: the bodies held for responses not yet
 * finished are bounded in total. Each scrape after a render was done got a render and a body
 * of its own, held until its client had read it, so slow clients arriving one after another
 * (a slow-loris on the metrics port, stuck scrapers behind a proxy, up to maxConnections) each
 * held up to maxMetricsBytes, uncounted: 256 × 64 MiB at the defaults.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PerformanceMonitor, type HttpServer } from '../dist/src/index.js';
import { raw } from './http-helpers.js';
import { parseExposition } from './http-metrics-helpers.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

const MiB = 1024 * 1024;
const MAX_BYTES = 8 * MiB;

/** A monitor whose exposition is some 6.5 MB (90 histogram series of a 4,000-character tag): more than loopback's socket buffers take. */
async function serving(options: { responseStallMs?: number } = {}): Promise<{ monitor: PerformanceMonitor; server: HttpServer }> {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, maxTagValueLength: 4096 });
  await monitor.start();
  cleanup.push(() => monitor.stop());
  for (let i = 0; i < 90; i++) monitor.record('wide', i, { key: `${i}-`.padEnd(4000, 'x') });
  await monitor.flush();
  const server = await monitor.serveHttp({ port: 0, maxMetricsBytes: MAX_BYTES, ...options });
  cleanup.push(() => server.close());
  return { monitor, server };
}

interface SlowScrape {
  socket: Socket;
  status: number;
  headers: Record<string, string>;
  /** What came with the head (the whole body of a short answer). */
  rest: string;
}

/** Sends GET /metrics, reads the answer's head and stops reading: the rest of a large body stays unread. */
function slowScrape(port: number): Promise<SlowScrape> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    cleanup.push(async () => socket.destroy());
    let text = '';
    socket.setEncoding('latin1');
    socket.on('error', reject);
    socket.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.pause();
      socket.removeAllListeners('data');
      const lines = text.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
      resolve({ socket, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0]!)?.[1] ?? 0), headers, rest: text.slice(end + 4) });
    });
    socket.write(`GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  });
}

/** The bytes of the bodies these answers declared. */
function heldBy(scrapes: SlowScrape[]): number {
  return scrapes.reduce((sum, s) => sum + Number(s.headers['content-length']), 0);
}

interface MetricsStatus {
  bytes: number;
  leftOut: { series: number };
  held: number;
  maxHeld: number;
  refusedBusy: number;
}

async function metricsStatus(server: HttpServer): Promise<MetricsStatus> {
  return ((await (await fetch(new URL('/api/status', server.url))).json()) as { http: { metrics: MetricsStatus } }).http.metrics;
}

describe('GET /metrics, bodies held for slow clients', () => {
  it('closes an answer whose client left its body unread for responseStallMs, and lets its body go: scrapes are served again without the client leaving', async () => {
    const { server } = await serving({ responseStallMs: 400 });
    const stuck = await slowScrape(server.port);
    expect(stuck.status).toBe(200);
    expect((await metricsStatus(server)).held).toBe(heldBy([stuck]));
    // The client never reads again nor closes: the server closes the answer, its body let go.
    await vi.waitFor(async () => expect((await metricsStatus(server)).held).toBe(0), { timeout: 20_000, interval: 100 });
    expect(server.status().metrics.stalled).toBe(1);
    // Its connection was closed: read again, the client meets its end short of the body.
    let read = 0;
    const ended = new Promise((resolve) => stuck.socket.once('close', resolve));
    stuck.socket.on('data', (chunk: string) => (read += chunk.length));
    stuck.socket.resume();
    await ended;
    expect(Buffer.byteLength(stuck.rest, 'latin1') + read).toBeLessThan(Number(stuck.headers['content-length']));
    // A client that reads gets its whole body, however long it takes past the first slice.
    const whole = await fetch(server.metricsUrl);
    expect(whole.status).toBe(200);
    const text = await whole.text();
    expect(Buffer.byteLength(text)).toBe(Number(whole.headers.get('content-length')));
    expect(parseExposition(text).filter((s) => s.name === 'wide_count')).toHaveLength(90);
    expect(server.status().metrics.stalled).toBe(1);
  });

  it('answers 503 with Retry-After, before any render, once the bodies held for clients still reading would pass the bound; counts it, says it once; scrapes that share a render in flight still share it; serves again once they go', async () => {
    const { monitor, server } = await serving();
    const first = await fetch(server.metricsUrl);
    expect(first.status).toBe(200);
    const size = Buffer.byteLength(await first.text());
    // Well over what loopback's socket buffers take (the monitor's own series vary a little from one render to the next).
    expect(size).toBeGreaterThan(5 * MiB);
    expect((await metricsStatus(server)).leftOut.series).toBe(0);
    // Read whole, that body is held no more.
    await vi.waitFor(async () => expect((await metricsStatus(server)).held).toBe(0));
    expect((await metricsStatus(server)).maxHeld).toBe(4 * MAX_BYTES);

    // Slow clients, one after another (each arrives once the last one's render is done), until one is refused.
    const slow: SlowScrape[] = [];
    let refused: SlowScrape | undefined;
    for (let i = 0; i < 8 && refused === undefined; i++) {
      const renders = server.status().renders;
      const s = await slowScrape(server.port);
      if (s.status !== 200) {
        refused = s;
        // Refused before any render: the worker was asked nothing.
        expect(server.status().renders).toBe(renders);
        break;
      }
      slow.push(s);
      // Each body is counted whole while its client has not read it.
      expect((await metricsStatus(server)).held).toBe(heldBy(slow));
    }
    expect(refused?.status).toBe(503);
    expect(slow.length).toBeGreaterThan(0);
    expect(Number(refused!.headers['retry-after'])).toBeGreaterThan(0);
    const error = (JSON.parse(refused!.rest) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('HTTP_503');
    expect(error.message).toContain(`bodies held for clients still reading them take ${heldBy(slow)} bytes`);
    expect(error.message).toContain('maxMetricsBytes');

    // Every scrape refused meanwhile is counted; the fault is said once.
    const again = await fetch(server.metricsUrl);
    expect(again.status).toBe(503);
    expect(again.headers.get('retry-after')).toBe(refused!.headers['retry-after']);
    const st = await metricsStatus(server);
    expect(st.refusedBusy).toBe(2);
    expect(st.held).toBe(heldBy(slow));
    expect(server.status().metrics.refusedBusy).toBe(2);
    const fault = monitor.status().faults.byKind['metrics-busy'];
    expect(fault?.count).toBe(1);
    expect(fault?.lastMessage).toMatch(/^\/metrics refused a scrape: the bodies held for clients still reading them take \d+ bytes/);

    // Slow clients go until there is room for one render and not two: scrapes at once still
    // share it (a sharer adds no body), where each asking for its own would be refused.
    while ((await metricsStatus(server)).held + MAX_BYTES > st.maxHeld) {
      slow.pop()!.socket.destroy();
      await vi.waitFor(async () => expect((await metricsStatus(server)).held).toBe(heldBy(slow)));
    }
    expect(heldBy(slow) + 2 * MAX_BYTES).toBeGreaterThan(st.maxHeld);
    const renders = server.status().renders;
    const { port } = server;
    const burst = await Promise.all(Array.from({ length: 8 }, () => raw(port, `GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)));
    const served = burst.filter((a) => a.status === 200).length;
    expect(served).toBeGreaterThan(server.status().renders - renders);

    // The slow clients go: their bodies are let go, and a scrape is served whole again.
    for (const s of slow) s.socket.destroy();
    await vi.waitFor(async () => expect((await metricsStatus(server)).held).toBe(0));
    const healed = await fetch(server.metricsUrl);
    expect(healed.status).toBe(200);
    const text = await healed.text();
    expect(Buffer.byteLength(text)).toBeGreaterThan(5 * MiB);
    expect(text).not.toContain('# perfwatch:');
    expect(parseExposition(text).filter((s) => s.name === 'wide_count')).toHaveLength(90);
    expect((await metricsStatus(server)).refusedBusy).toBe(2 + burst.length - served);
    expect(monitor.status().faults.byKind['metrics-busy']?.count).toBe(1);
  });

  it('counts a body shared by scrapes at once once, and lets it go when the last response holding it closes', async () => {
    const { server } = await serving();
    const renders = server.status().renders;
    // 16 at once: those that arrive while a render is in flight share it (test/http-metrics-shared.test.ts).
    const answers = await Promise.all(Array.from({ length: 16 }, () => slowScrape(server.port)));
    const served = answers.filter((a) => a.status === 200);
    const rendered = server.status().renders - renders;
    expect(rendered).toBeLessThan(served.length);
    const { held } = await metricsStatus(server);
    // One body a render, however many responses hold it (counted per response, 16 bodies of some 6.5 MB).
    expect(held).toBeLessThanOrEqual(rendered * MAX_BYTES);
    expect(held).toBeGreaterThanOrEqual(Math.max(...served.map((a) => Number(a.headers['content-length']))));
    for (const a of answers) a.socket.destroy();
    await vi.waitFor(async () => expect((await metricsStatus(server)).held).toBe(0));
  });
});
