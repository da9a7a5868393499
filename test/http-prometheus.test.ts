/**
 * /metrics against the real thing (Debian's prometheus package, provided by the test run):
 * promtool accepts the exposition with awkward label values, and a Prometheus server that
 * scrapes it every second stores what we recorded: a gauge's value, and a histogram whose
 * histogram_quantile is the one our buckets give.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { PerformanceMonitor, type HttpServer, type MonitorOptions, type ServeHttpOptions } from '../dist/src/index.js';
import { waitFor } from './helpers.js';
import { histogramQuantile, logValues as values, parseExposition, runPrometheus, valueOf } from './http-metrics-helpers.js';
import { describeWithPeer } from './peers/use.js';

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function serving(options: Partial<ServeHttpOptions> = {}, monitorOptions: MonitorOptions = { system: { enabled: false }, runtime: { enabled: false } }): Promise<{ monitor: PerformanceMonitor; server: HttpServer }> {
  const monitor = new PerformanceMonitor({ storage: 'memory', ...monitorOptions });
  await monitor.start();
  cleanup.push(() => monitor.stop());
  const server = await monitor.serveHttp({ port: 0, ...options });
  cleanup.push(() => server.close());
  return { monitor, server };
}

/** Awkward label values: quotes, backslashes, unicode, a lone `}` and `=`, an empty one. */
const AWKWARD = [{ route: 'say "hi"' }, { route: 'C:\\path\\' }, { route: 'Grüße 世界 🚀' }, { route: '}{=,' }, { route: '' }];

function promtoolCheck(binary: string, text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(binary, ['check', 'metrics'], (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }));
    child.stdin!.end(text);
  });
}

describeWithPeer('promtool', 'promtool check metrics', (peer) => {
  it('accepts the exposition, awkward label values, every kind and the sketch quantiles included', async () => {
    const { monitor, server } = await serving({ quantiles: [0.5, 0.99] });
    monitor.define({ name: 'jobs', kind: 'counter' });
    monitor.define({ name: 'queue_depth', kind: 'gauge' });
    for (const tags of AWKWARD) {
      for (const v of values(200, 7)) monitor.record('api_response_time', v, tags);
      monitor.record('jobs', 1, tags);
      monitor.record('queue_depth', 3, tags);
    }
    await monitor.flush();
    const text = await waitFor(async () => {
      const t = await (await fetch(server.metricsUrl)).text();
      return valueOf(parseExposition(t), 'api_response_time_count', AWKWARD[0]!) === 200 && t;
    }, 15_000, 'the histogram to close its bucket');
    const { code, output } = await promtoolCheck(peer.binary, text);
    expect(text).toContain('api_response_time_quantiles{');
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it('accepts an exposition that maxMetricsBytes cut: whole series, quantiles and the comment line that says what was left out', async () => {
    const bound = 256 * 1024;
    const { monitor, server } = await serving({ quantiles: [0.5, 0.99], maxMetricsBytes: bound }, { system: { enabled: false }, runtime: { enabled: false }, maxTags: 16, maxTagValueLength: 4096 });
    // 2 tags of 3,000 characters of 'say "hi" C:\ Grüße': some 19 KB a sample line, 340 KB a histogram series.
    const long = (k: number) => `${k} say "hi" C:\\ Grüße `.padEnd(3000, 'Grüße ');
    for (let k = 0; k < 4; k++) for (const v of values(20, k)) monitor.record('api_response_time', v, { a: long(k), b: long(k + 1) });
    for (const tags of AWKWARD) for (const v of values(20, 3)) monitor.record('api_response_time', v, tags);
    monitor.define({ name: 'queue_depth', kind: 'gauge' });
    monitor.record('queue_depth', 3, { zone: 'eu' });
    await monitor.flush();
    const text = await waitFor(async () => {
      const t = await (await fetch(server.metricsUrl)).text();
      return valueOf(parseExposition(t), 'api_response_time_count', AWKWARD[0]!) === 20 && t.includes('api_response_time_quantiles{') && t;
    }, 15_000, 'the histogram to close its bucket');
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(bound);
    expect(text).toMatch(/\n# perfwatch: (\d) series left out \(api_response_time \1\) to hold this exposition to maxMetricsBytes \(262144 bytes/);
    expect(valueOf(parseExposition(text), 'queue_depth', { zone: 'eu' })).toBe(3);
    const { code, output } = await promtoolCheck(peer.binary, text);
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it('accepts a default monitor\'s exposition, its system and runtime samplers on (heap_total among them)', async () => {
    const { monitor, server } = await serving({}, {});
    // A user's gauge and histogram named …_total, which only counters may be.
    monitor.define({ name: 'pool_total', kind: 'gauge', unit: 'bytes' });
    monitor.define({ name: 'share_total', kind: 'distribution', unit: 'ratio' });
    monitor.record('pool_total', 1);
    monitor.record('share_total', 0.5);
    const text = await waitFor(async () => {
      const t = await (await fetch(server.metricsUrl)).text();
      // heap_used: sampled with heap_total, whatever name that one is given.
      return t.includes('\nheap_used ') && /\nshare_total(_ratio)?_count 1\n/.test(t) && t;
    }, 15_000, 'the runtime sampler and the histogram');
    const { code, output } = await promtoolCheck(peer.binary, text);
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it("accepts the monitor's own times once there are some: a hub's lag and a built report's (no `_ms` in their names)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-prom-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const { monitor, server } = await serving({}, { system: { enabled: false }, runtime: { enabled: false }, hub: { listen: join(dir, 'hub.sock') } });
    await monitor.generateReport();
    const text = await waitFor(async () => {
      const t = await (await fetch(server.metricsUrl)).text();
      // Whatever they are named: the lint judges the names (`monitor_report_ms` was refused).
      return /\nmonitor_report_\w*_count 1\n/.test(t) && /\nmonitor_hub_lag\w* /.test(t) && t;
    }, 15_000, "the report pool's time and the hub's lag");
    const { code, output } = await promtoolCheck(peer.binary, text);
    expect(output).toBe('');
    expect(code).toBe(0);
    // Their HELP says what they measure and in which unit, not the generic `perfwatch gauge (ms)`.
    expect(text).toMatch(/# HELP monitor_report_time .*in ms\n/);
    expect(text).toMatch(/# HELP monitor_hub_lag .*in ms/);
  });
});

describeWithPeer('prometheus', 'a Prometheus server scraping /metrics every second', (peer) => {
  it('stores a recorded value, and its histogram_quantile is the one our buckets give', async () => {
    const { monitor, server } = await serving();
    monitor.define({ name: 'queue_depth', kind: 'gauge' });
    monitor.record('queue_depth', 42.5, AWKWARD[0]);
    const vs = values(4000, 99);
    const h = monitor.metric('api_response_time', AWKWARD[2]);
    for (const v of vs) h.record(v);
    await monitor.flush();

    const prometheus = await runPrometheus(peer.binary, `global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: perfwatch\n    static_configs:\n      - targets: ['127.0.0.1:${server.port}']\n`);
    cleanup.push(() => prometheus.stop());
    const query = prometheus.query;
    const selector = `{job="perfwatch",route="Grüße 世界 🚀"}`;
    await waitFor(async () => (await query(`api_response_time_count${selector}`)) === vs.length, 40_000, 'Prometheus to store the histogram');
    expect(await query('queue_depth{route="say \\"hi\\""}')).toBe(42.5);
    const samples = parseExposition(await (await fetch(server.metricsUrl)).text());
    const buckets = [...server.status().histogramBuckets, Infinity].map((le) => ({ le, count: valueOf(samples, 'api_response_time_bucket', { ...AWKWARD[2], le: le === Infinity ? '+Inf' : String(le) })! }));
    for (const q of [0.5, 0.9, 0.99]) {
      const stored = (await query(`histogram_quantile(${q}, api_response_time_bucket${selector})`))!;
      expect(stored).toBeCloseTo(histogramQuantile(q, buckets), 9);
      // Our sketch's quantile lies in the bucket Prometheus interpolated in: the buckets' error.
      const window = monitor.getMetrics({ names: ['api_response_time'] })[0]!.window;
      const ours = (q === 0.5 ? window.p50 : q === 0.9 ? window.p90 : window.p99)!;
      const b = buckets.findIndex((x) => x.le >= stored);
      expect(ours).toBeGreaterThan(b === 0 ? 0 : buckets[b - 1]!.le);
      expect(ours).toBeLessThanOrEqual(buckets[b]!.le);
    }
  });
});
