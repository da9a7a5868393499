/**
 * What an operator sees of the exporters: status().export, the monitor_export_* series on
 * /metrics, the MCP status tool's bounded summary; an exporter actor killed is replaced and
 * its counts carry over; bad export options fail with the field and the limit named.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { PerformanceMonitor } from '../dist/src/index.js';
import { MonitorHost } from '../dist/src/mcp/host.js';
import { McpFront } from '../dist/src/mcp/server.js';
import { decodeWrite, Receiver, sampleCount } from './export-helpers.js';
import { caught, monitorStarter, once, waitFor } from './helpers.js';
import { parseExposition, valueOf } from './http-metrics-helpers.js';

const started = monitorStarter();
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function receiver(): Promise<Receiver> {
  const r = await new Receiver().listen(0);
  cleanup.push(() => r.close());
  return r;
}

describe('export status', () => {
  it('puts every monitor_export_* counter on /metrics from the first report, at 0 when nothing was counted', async () => {
    const ok = await receiver();
    const m = await started({ export: { remoteWrite: [{ url: ok.url, intervalMs: 3_600_000 }] } });
    m.define({ name: 'queue_depth', kind: 'gauge' });
    m.record('queue_depth', 3);
    await m.flush();
    expect((await m.exportNow()).exporters[0]!.sent).toBeGreaterThan(0);
    await m.flush();
    const server = await m.serveHttp({ port: 0 });
    cleanup.push(() => server.close());
    const samples = parseExposition(await (await fetch(server.metricsUrl)).text());
    const tags = { exporter: 'remoteWrite[0]' };
    expect(valueOf(samples, 'monitor_export_sent_total', tags)).toBeGreaterThan(0);
    // A counter that appeared only with its first failure would hide that failure from increase().
    for (const name of ['failed', 'dropped', 'retries']) expect([name, valueOf(samples, `monitor_export_${name}_total`, tags)]).toEqual([name, 0]);
  });

  it('lists every exporter configured in status() from start() on, idle, before the actor first reports; the same endpoint as its reports show', async () => {
    const r = await receiver();
    const m = await started({ export: { remoteWrite: [{ url: r.url.replace('://', '://user:pw@') + '?key=secret', intervalMs: 3_600_000 }], otlp: [{ url: r.url, intervalMs: 3_600_000 }] } });
    // Right after start(): the list was empty for about a second (the actor reports every
    // second), and exporters[0].sent threw.
    const st = m.status().export;
    const idle = { sent: 0, failed: 0, dropped: 0, requests: 0, retries: 0, bytes: 0, encodeErrors: 0, queueDepth: 0, queuedSamples: 0, lastError: null, lastSuccessAt: null, lagMs: 0 };
    expect(st.actor.state).toBe('running');
    expect(st.exporters).toEqual([
      { exporter: 'remoteWrite[0]', kind: 'remoteWrite', url: r.url + '?…', ...idle },
      { exporter: 'otlp[0]', kind: 'otlp', url: r.url, ...idle },
    ]);
    expect(st.exporters[0]!.sent).toBe(0);
    // The actor's report: the same endpoints, shown the same.
    const reported = await m.exportNow();
    expect(reported.exporters.map((e) => [e.exporter, e.kind, e.url])).toEqual(st.exporters.map((e) => [e.exporter, e.kind, e.url]));
  });

  it('shows every exporter in status(), as monitor_export_* series on /metrics, and in the MCP status answer, its error cut short', async () => {
    const ok = await receiver();
    const refusing = await receiver();
    refusing.script.push(...Array<number>(50).fill(400));
    // A long path of plain words (shown whole) makes a long error message: the MCP answer cuts it.
    const long = `${refusing.url}${'/x'.repeat(150)}`;
    const m = await started({ export: { remoteWrite: [{ url: ok.url, intervalMs: 3_600_000 }], otlp: [{ url: `${long}?token=secret`, intervalMs: 3_600_000 }] } });
    m.define({ name: 'queue_depth', kind: 'gauge' });
    m.record('queue_depth', 3);
    await m.flush();
    const st = await m.exportNow();
    expect(st.actor.state).toBe('running');
    const [rw, otlp] = st.exporters;
    expect(rw).toMatchObject({ exporter: 'remoteWrite[0]', kind: 'remoteWrite', failed: 0 });
    expect(rw!.sent).toBeGreaterThan(0);
    expect(otlp).toMatchObject({ exporter: 'otlp[0]', kind: 'otlp', sent: 0, url: `${long}?…` });
    expect(otlp!.failed).toBeGreaterThan(0);
    expect(otlp!.lastError?.status).toBe(400);

    const server = await m.serveHttp({ port: 0 });
    cleanup.push(() => server.close());
    await m.flush();
    const samples = parseExposition(await (await fetch(server.metricsUrl)).text());
    expect(valueOf(samples, 'monitor_export_sent_total', { exporter: 'remoteWrite[0]' })).toBe(rw!.sent);
    expect(valueOf(samples, 'monitor_export_failed_total', { exporter: 'otlp[0]' })).toBe(otlp!.failed);
    expect(valueOf(samples, 'monitor_export_queue_depth', { exporter: 'otlp[0]' })).toBe(0);
    expect(valueOf(samples, 'monitor_faults_total', { kind: 'export-rejected' })).toBe(1);

    const mcp = new McpFront(new MonitorHost(m, false), {}).createServer('legacy');
    const client = new Client({ name: 'export-status', version: '1.0.0' });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await mcp.connect(a);
    await client.connect(b);
    cleanup.push(() => client.close());
    const answer = (await client.callTool({ name: 'get_monitoring_status', arguments: {} })) as { content: { text: string }[] };
    const lines = answer.content[0]!.text.split('\n').filter((l) => l.startsWith('export '));
    expect(lines).toHaveLength(2);
    const [rwLine, otlpLine] = lines.map((l) => l.slice('export '.length));
    expect(rwLine).toMatch(new RegExp(`^remoteWrite\\[0\\] ${ok.url}: sent ${rw!.sent}, failed 0, dropped 0, queue 0, lag 0 ms$`));
    expect(otlp!.lastError!.message).toContain('400');
    expect(otlpLine!.startsWith(`otlp[0] ${long}?…: sent 0, failed ${otlp!.failed}, dropped 0, queue 0, lag 0 ms; last error: `)).toBe(true);
    // The error is cut to 200 characters: the answer stays bounded whatever an endpoint says.
    expect(otlpLine!.split('; last error: ')[1]).toHaveLength(200);
    expect(otlpLine!.endsWith('…')).toBe(true);
    expect(JSON.stringify(answer)).not.toContain('secret');
  });

  it('shows an endpoint\'s path of plain words, and hides a key put in the path and the query', async () => {
    const key = '0123456789abcdef0123456789abcdef';
    // Closed ports: the exporters fail at once, and their status says where they sent.
    const m = await started({ export: { remoteWrite: [{ url: 'http://127.0.0.1:9999/api/v1/push', intervalMs: 3_600_000 }], otlp: [{ url: `http://u:pa55@127.0.0.1:9999/v1/metrics/${key}?token=s3cret`, intervalMs: 3_600_000 }] } });
    const st = await m.exportNow();
    expect(st.exporters.map((e) => e.url)).toEqual(['http://127.0.0.1:9999/api/v1/push', 'http://127.0.0.1:9999/v1/metrics/…?…']);
    expect(JSON.stringify(m.status())).not.toMatch(new RegExp(`${key}|pa55|s3cret`));
  });

  it('replaces a killed exporter actor, which exports on; the counts of the one before carry over', async () => {
    const r = await receiver();
    const m = await started({ export: { remoteWrite: [{ url: r.url, intervalMs: 3_600_000 }] } });
    m.define({ name: 'queue_depth', kind: 'gauge' });
    m.record('queue_depth', 3);
    await m.flush();
    const before = (await m.exportNow()).exporters[0]!.sent;
    expect(before).toBeGreaterThan(0);
    const restarted = once(m, 'actor-restart');
    await m.injectFault('kill', 'exporter');
    expect(((await restarted) as { actor: string }).actor).toBe('exporter');
    const requests = r.requests.length;
    const after = await waitFor(async () => {
      const s = await m.exportNow();
      return s.actor.state === 'running' && r.requests.length > requests && s.exporters[0]!;
    }, 15_000, 'the successor to export');
    // Every sample the receiver took, from the first actor and its successor.
    expect(after.sent).toBe(r.requests.reduce((n, q) => n + sampleCount(q.body), 0));
    expect(m.status().export.actor.restarts).toBe(1);
  });

  it("counts as dropped what a killed exporter actor still held in its queue", async () => {
    // The queue went with the thread, counted nowhere: neither sent, nor failed, nor dropped.
    const r = await receiver();
    r.script.push({ status: 503, headers: { 'retry-after': '3600' } });
    const m = await started({ export: { remoteWrite: [{ url: r.url, intervalMs: 3_600_000 }] } });
    m.define({ name: 'queue_depth', kind: 'gauge' });
    m.record('queue_depth', 3);
    await m.flush();
    const held = (await m.exportNow()).exporters[0]!;
    expect(held).toMatchObject({ sent: 0, dropped: 0, queueDepth: 1 });
    expect(held.queuedSamples).toBeGreaterThan(0);
    const restarted = once(m, 'actor-restart');
    await m.injectFault('kill', 'exporter');
    await restarted;
    const after = await waitFor(async () => {
      const s = await m.exportNow();
      return s.actor.state === 'running' && s.exporters[0]!.sent > 0 && s.exporters[0]!;
    }, 15_000, 'the successor to export');
    expect(after.dropped).toBe(held.queuedSamples);
    expect(after.queuedSamples).toBe(0);
  });

  it("counts in monitor_export_sent the last export made at stop(), once the monitor starts again", async () => {
    // The last export's counts come in at stop(), when the monitor records no more: its
    // monitor_export_* counters never took them, and stayed below status() for good.
    const r = await receiver();
    const m = await started({ export: { remoteWrite: [{ url: r.url, intervalMs: 3_600_000 }] } });
    m.define({ name: 'jobs', kind: 'counter' });
    m.record('jobs', 1);
    await m.flush();
    await m.exportNow();
    await m.stop();
    await m.start();
    const sent = (await m.exportNow()).exporters[0]!.sent;
    expect(sent).toBe(r.requests.reduce((n, q) => n + sampleCount(q.body), 0));
    await m.flush();
    const series = m.getMetrics({ names: ['monitor_export_sent'] });
    expect(series).toHaveLength(1);
    expect(series[0]!.totalSum).toBe(sent);
  });

  it('refuses an instance or job no label value can be: a line break (read from /etc/hostname), a lone surrogate', () => {
    // Taken as given, every series was pushed as instance="web-1\n", beside the web-1 a scrape
    // names, and a lone surrogate, which has no UTF-8 form, made an OpenTelemetry collector
    // refuse every request.
    const bad = (exp: unknown) => caught<Error & { field: string }>(() => new PerformanceMonitor({ storage: 'memory', export: exp as never }));
    expect(bad({ instance: 'web-1\n' })).toMatchObject({ field: 'export.instance', message: expect.stringContaining('must not contain control characters') });
    expect(bad({ job: 'check\tout' })).toMatchObject({ field: 'export.job', message: expect.stringContaining('must not contain control characters') });
    expect(bad({ instance: 'web-\ud800' })).toMatchObject({ field: 'export.instance', message: expect.stringContaining('must be well-formed Unicode') });
    expect(new PerformanceMonitor({ storage: 'memory', export: { instance: 'wéb-1 🎉', job: 'check"out' } })).toBeDefined();
  });

  it('refuses bad export options, naming the field and the limit; with no endpoint, no actor runs', async () => {
    const bad = (exp: unknown) => caught<Error & { field: string }>(() => new PerformanceMonitor({ storage: 'memory', export: exp as never }));
    expect(bad({ remoteWrite: [{ url: 'ftp://x' }] })).toMatchObject({ field: 'export.remoteWrite[0].url', message: expect.stringContaining('must be an http(s) URL') });
    expect(bad({ otlp: [{ url: 'http://x', encoding: 'xml' }] }).message).toContain('must be "protobuf" or "json"');
    expect(bad({ remoteWrite: Array(5).fill({ url: 'http://x' }) }).message).toContain('at most 4 endpoints');
    expect(bad({ remoteWrite: [{ url: 'http://x', intervalMs: 10 }] }).message).toContain('from 1000 to 3600000');
    expect(bad({ histogramBuckets: [1, 1] }).field).toBe('export.histogramBuckets');
    expect(bad({ queueLimit: 0 }).message).toContain('from 1 to 10000');
    expect(bad({ retryBaseMs: 1000, retryMaxMs: 500 }).field).toBe('export.retryMaxMs');
    // A header fetch would refuse fails every request, retried for ever: refused here, naming the header, never its value.
    expect(bad({ remoteWrite: [{ url: 'http://x', headers: { 'X Scope OrgID': 'tenant-1' } }] })).toMatchObject({
      field: 'export.remoteWrite[0].headers',
      message: expect.stringContaining('has an invalid header name "X Scope OrgID"'),
    });
    const value = bad({ otlp: [{ url: 'http://x', headers: { Authorization: 'Bearer s3cret\nX-Other: 1' } }] });
    expect(value).toMatchObject({ field: 'export.otlp[0].headers', message: expect.stringContaining('has an invalid value for header "Authorization": no line breaks') });
    expect(value.message).not.toContain('s3cret');
    // A character beyond U+00FF (the docs' 'Bearer …', a typographic quote pasted with a token) is
    // no byte, which fetch refuses: the error said "no line breaks or NUL", of a value with neither.
    expect(bad({ remoteWrite: [{ url: 'http://x', headers: { Authorization: 'Bearer …' } }] })).toMatchObject({
      field: 'export.remoteWrite[0].headers',
      message: expect.stringContaining('has a value for header "Authorization" with a character fetch cannot send, U+2026 at index 7: header values are bytes, U+0000 to U+00FF'),
    });
    // Headers fetch takes into its Headers and refuses at the request: every request failed, retried for ever.
    for (const name of ['Content-Length', 'transfer-encoding', 'Keep-Alive', 'upgrade', 'Expect']) {
      expect(bad({ remoteWrite: [{ url: 'http://x', headers: { [name]: '5' } }] })).toMatchObject({
        field: 'export.remoteWrite[0].headers',
        message: expect.stringContaining(`has header "${name}", which fetch sets itself or refuses`),
      });
    }
    // The headers of the body the exporter writes, and Host, which fetch drops: in another case
    // than the exporter's own they went out joined to it by a comma, in the same case they
    // replaced it, and every request was refused by the receiver for a reason nobody could see.
    for (const [name, why] of <[string, string][]>[['Content-Type', 'the exporter sets it to what it sends'], ['content-encoding', 'the exporter sets it to how it compresses'], ['Host', "fetch drops it and sends the url's host"]]) {
      expect(bad({ otlp: [{ url: 'http://x', headers: { [name]: 's3cret' } }] })).toMatchObject({ field: 'export.otlp[0].headers', message: expect.stringContaining(`has header "${name}", which an exporter does not take: ${why}`) });
      expect(bad({ otlp: [{ url: 'http://x', headers: { [name]: 's3cret' } }] }).message).not.toContain('s3cret');
    }
    // Header names are case-insensitive: one given twice would go out as both values, joined.
    expect(bad({ remoteWrite: [{ url: 'http://x', headers: { Authorization: 'Bearer a', authorization: 'Bearer b' } }] })).toMatchObject({
      field: 'export.remoteWrite[0].headers',
      message: expect.stringContaining('has header "authorization" twice, also as "Authorization": header names are case-insensitive'),
    });
    const conn = bad({ otlp: [{ url: 'http://x', headers: { Connection: 'upgrade-s3cret' } }] });
    expect(conn).toMatchObject({ field: 'export.otlp[0].headers', message: expect.stringContaining('has header "Connection", whose value fetch refuses: close or keep-alive only') });
    expect(conn.message).not.toContain('s3cret');
    expect(new PerformanceMonitor({ storage: 'memory', export: { remoteWrite: [{ url: 'http://x', headers: { Connection: 'close' } }] } })).toBeDefined();
    const m = await started();
    expect(m.status().export).toEqual({ actor: { state: 'stopped', restarts: 0, cpuMs: 0 }, exporters: [] });
  });
});
