/**
 * GET /metrics under concurrent scrapes: those that arrive while a render of their format is in
 * flight share it. Each scrape had its own render and its own body, held on the main thread
 * until its client had read it: 16 scrapes at once (several Prometheus replicas, slow clients,
 * anyone within maxConnections) held 16 bodies of up to maxMetricsBytes and rendered 16 times.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type HttpServer } from '../dist/src/index.js';
import { raw, type RawAnswer } from './http-helpers.js';
import { parseExposition } from './http-metrics-helpers.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

/** A monitor whose exposition is some 2 MB (40 histogram series of a 4,000-character tag): a render takes a while. */
async function serving(): Promise<{ monitor: PerformanceMonitor; server: HttpServer }> {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, maxTagValueLength: 4096 });
  await monitor.start();
  cleanup.push(() => monitor.stop());
  for (let i = 0; i < 40; i++) monitor.record('wide', i, { key: `${i}-`.padEnd(4000, 'x') });
  monitor.define({ name: 'jobs', kind: 'counter' });
  monitor.record('jobs', 3);
  await monitor.flush();
  const server = await monitor.serveHttp({ port: 0 });
  cleanup.push(() => server.close());
  return { monitor, server };
}

const OPENMETRICS = 'application/openmetrics-text; version=1.0.0';

/** `n` scrapes written at once, each on its own connection. */
function scrapes(server: HttpServer, accepts: (string | undefined)[]): Promise<RawAnswer[]> {
  const { port } = server;
  return Promise.all(accepts.map((accept) => raw(port, `GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${accept ? `Accept: ${accept}\r\n` : ''}Connection: close\r\n\r\n`)));
}

describe('GET /metrics, scrapes at once', () => {
  it('answers scrapes that arrive while a render is in flight from that render: fewer renders than scrapes, every body the same valid exposition', async () => {
    const { server } = await serving();
    const before = server.status();
    const answers = await scrapes(server, Array<undefined>(16).fill(undefined));
    for (const a of answers) expect(a.status).toBe(200);
    const body = answers[0]!.body;
    expect(body.length).toBeGreaterThan(1_000_000);
    for (const a of answers) expect(a.body).toBe(body);
    const samples = parseExposition(body);
    expect(samples.filter((s) => s.name === 'wide_count')).toHaveLength(40);
    expect(samples.find((s) => s.name === 'jobs_total')?.value).toBe(3);
    const after = server.status();
    // Every scrape counted, each answered: the renders were shared.
    expect(after.scrapes - before.scrapes).toBe(16);
    const renders = after.renders - before.renders;
    expect(renders).toBeGreaterThan(0);
    expect(renders).toBeLessThan(16);
    // The stats are those of the render every scrape was answered from (the body read as latin1: a character a byte).
    expect(after.metrics.bytes).toBe(body.length);

    // A scrape after those renders finished gets a render of its own: nothing is kept past them.
    const [next] = await scrapes(server, [undefined]);
    expect(next!.status).toBe(200);
    expect(server.status().renders).toBe(after.renders + 1);
    expect(server.status().scrapes).toBe(after.scrapes + 1);
  });

  it('shares a render only between scrapes of its format: text and OpenMetrics scrapes at once each get their own format', async () => {
    const { server } = await serving();
    const accepts = Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? undefined : OPENMETRICS));
    const answers = await scrapes(server, accepts);
    const text = answers.filter((_, i) => accepts[i] === undefined);
    const om = answers.filter((_, i) => accepts[i] === OPENMETRICS);
    for (const a of text) {
      expect(a.status).toBe(200);
      expect(a.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(a.body).not.toContain('# EOF');
      expect(a.body).toBe(text[0]!.body);
    }
    for (const a of om) {
      expect(a.status).toBe(200);
      expect(a.headers['content-type']).toMatch(/^application\/openmetrics-text/);
      expect(a.body.endsWith('\n# EOF\n')).toBe(true);
      expect(a.body).toBe(om[0]!.body);
    }
    // OpenMetrics names a counter's family without _total in # TYPE; the text format with it.
    expect(text[0]!.body).toContain('# TYPE jobs_total counter');
    expect(om[0]!.body).toContain('# TYPE jobs counter');
  });
});
