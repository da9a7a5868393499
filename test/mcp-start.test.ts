/**
 * `perfwatch mcp` answers its client at once and starts the monitor meanwhile (MonitorHost
 * launch): initialize, tools/list and a plain get_monitoring_status answer while the start is
 * under way; a tool call that needs the monitor waits for the start, then answers as usual,
 * or with the start's error; start_performance_monitoring joins the start instead of starting
 * twice, and stop_performance_monitoring stops once it is done.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { PerformanceMonitor, type MonitorOptions } from '../dist/src/index.js';
import { MonitorHost } from '../dist/src/mcp/host.js';
import { McpFront } from '../dist/src/mcp/server.js';
import { dataDirWithSeries } from './helpers.js';
import { ChildTransport, call, text, type AnyClient } from './mcp-helpers.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'perfwatch-mcp-start-'));
  dirs.push(dir);
  return dir;
}

/** Series in a large dataDir (as one that watched a large service leaves it): restoring them makes the monitor's start last seconds. */
const STORED_SERIES = 20_000;

/** A client of a front over a monitor of `options`, in this process; the monitor is not started. */
async function inProcess(options: MonitorOptions, toolDeadlineMs?: number): Promise<{ host: MonitorHost; monitor: PerformanceMonitor; client: AnyClient; close(): Promise<void> }> {
  const monitor = new PerformanceMonitor({ system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false }, ...options });
  const host = new MonitorHost(monitor, true, { baseOptions: options });
  const server = new McpFront(host, toolDeadlineMs === undefined ? {} : { toolDeadlineMs }).createServer('legacy');
  const client = new Client({ name: 'mcp-start', version: '1.0.0' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  await client.connect(b);
  return {
    host,
    monitor,
    client: client as unknown as AnyClient,
    close: async () => {
      await client.close();
      await host.close();
    },
  };
}

describe('perfwatch mcp with a monitor whose start takes seconds', () => {
  it('answers initialize, tools/list and the status while the start is under way, and a tool call once it is done', async () => {
    const config = join(tempDir(), 'config.json');
    const dataDir = dataDirWithSeries('checkout_latency', STORED_SERIES);
    dirs.push(dataDir);
    writeFileSync(config, JSON.stringify({ dataDir, maxSeries: STORED_SERIES + 1000, system: { enabled: false } }));
    const transport = new ChildTransport(['mcp', '--config', config]);
    const client = new Client({ name: 'mcp-start', version: '1.0.0' });
    try {
      await client.connect(transport);
      const c = client as unknown as AnyClient;
      expect((await c.listTools()).tools.length).toBeGreaterThan(0);
      // Sent in this order and read by the server in it: the status answering `starting`
      // means the start was still under way when the two calls before it came in.
      const [record, start, status] = await Promise.all([
        call(c, 'record_performance_metric', { metric_type: 'start_wait', value: 7 }),
        call(c, 'start_performance_monitoring'),
        call(c, 'get_monitoring_status'),
      ]);
      expect(text(status)).toMatch(/^monitor starting, interval 1s$/m);
      expect(status.structuredContent).toMatchObject({ state: 'starting' });
      expect(record.isError, text(record)).toBeFalsy();
      expect(text(record)).toBe('recorded 1 sample of start_wait');
      expect(start.isError, text(start)).toBeFalsy();
      expect(start.structuredContent).toMatchObject({ state: 'running', started: false });
      expect(text(start)).toMatch(/^running \(started by the start under way when called, which this call waited for rather than start twice\): interval 1s, \d+ series/);
      // The sample recorded while the monitor started, and the series it restored.
      const metrics = await call(c, 'get_performance_metrics', { metric_types: ['start_wait'] });
      expect(metrics.structuredContent).toMatchObject({ metrics: [{ name: 'start_wait', count: 1, max: 7 }] });
      const after = (await call(c, 'get_monitoring_status')).structuredContent as { state: string; series: { count: number } };
      expect(after.state).toBe('running');
      expect(after.series.count).toBeGreaterThanOrEqual(STORED_SERIES);
    } finally {
      await client.close();
    }
  }, 60_000);
});

describe('a tool call while the monitor starts', () => {
  it('waits for the start and answers as usual; start joins it, and a plain status says starting', async () => {
    const f = await inProcess({ storage: 'memory' });
    try {
      const launched = f.host.launch();
      const [record, start, status] = await Promise.all([
        call(f.client, 'record_performance_metric', { metric_type: 'start_wait', value: 3 }),
        call(f.client, 'start_performance_monitoring'),
        call(f.client, 'get_monitoring_status'),
      ]);
      await launched;
      expect(status.structuredContent).toMatchObject({ state: 'starting' });
      expect(text(record)).toBe('recorded 1 sample of start_wait');
      expect(start.structuredContent).toMatchObject({ state: 'running', started: false });
      expect(text(start)).toMatch(/^running \(started by the start under way when called/);
      expect(f.monitor.state).toBe('running');
      // Asked again once running, it says so as it always did.
      expect(text(await call(f.client, 'start_performance_monitoring'))).toMatch(/^already running: /);
    } finally {
      await f.close();
    }
  });

  it('stops once the start under way is done, and a start asked after the stop starts again', async () => {
    const f = await inProcess({ storage: 'memory' });
    try {
      const launched = f.host.launch();
      const [stop, start] = await Promise.all([call(f.client, 'stop_performance_monitoring'), call(f.client, 'start_performance_monitoring')]);
      await launched;
      expect(stop.isError, text(stop)).toBeFalsy();
      expect(text(stop)).toMatch(/^stopped once the start under way when called was done; /);
      // Asked after the stop, this start follows it: it does not join the launch's and leave the monitor stopped.
      expect(start.structuredContent).toMatchObject({ state: 'running', started: true });
      expect(f.monitor.state).toBe('running');
    } finally {
      await f.close();
    }
  });

  it('answers a call whose deadline passes during the start that it did nothing, and does nothing after', async () => {
    const dataDir = dataDirWithSeries('checkout_latency', STORED_SERIES);
    dirs.push(dataDir);
    const f = await inProcess({ dataDir, maxSeries: STORED_SERIES + 1000 }, 300);
    try {
      const launched = f.host.launch();
      const late = await call(f.client, 'record_performance_metric', { metric_type: 'start_wait', value: 3 });
      expect(f.monitor.state).toBe('starting');
      expect(text(late)).toBe('PW_ERR_TIMEOUT: record_performance_metric did not finish within 0.3 s and was stopped: the monitor was still starting, so nothing was done: call it again once get_monitoring_status says running');
      await launched;
      await f.monitor.flush();
      expect(f.monitor.getMetrics().some((m) => m.name === 'start_wait')).toBe(false);
    } finally {
      await f.close();
    }
  });

  it("answers the start's error to the calls that waited for a start that failed, and leaves the tools served", async () => {
    const dir = tempDir();
    // A dataDir locked by a live monitor of this process, as `perfwatch serve` holds ./perfwatch-data.
    const holder = new PerformanceMonitor({ storage: 'sqlite', dataDir: dir, system: { enabled: false }, runtime: { enabled: false } });
    await holder.start();
    const f = await inProcess({ storage: 'sqlite', dataDir: dir });
    try {
      const launched = f.host.launch().catch((error: Error) => error);
      const [record, start, stop] = await Promise.all([
        call(f.client, 'record_performance_metric', { metric_type: 'start_wait', value: 3 }),
        call(f.client, 'start_performance_monitoring'),
        call(f.client, 'stop_performance_monitoring'),
      ]);
      expect(await launched).toMatchObject({ code: 'PW_ERR_STORAGE_LOCKED' });
      // The lock's owner is this process: the error says so.
      const locked = `PW_ERR_STORAGE_LOCKED: ${dir} is in use by another monitor of this process (pid ${process.pid})`;
      expect(record.isError).toBe(true);
      expect(text(record)).toContain(`PW_ERR_STOPPED: the monitor is not running: its start failed (${locked}`);
      expect(text(record)).toMatch(/; start_performance_monitoring tries again$/);
      expect(start.isError).toBe(true);
      expect(text(start)).toContain(locked);
      expect(text(stop)).toMatch(/^was not running \(the start under way when called failed\); /);
      // A call after the failure: the stopped monitor's answer, as before there was a launch.
      expect(text(await call(f.client, 'record_performance_metric', { metric_type: 'start_wait', value: 3 }))).toBe('PW_ERR_STOPPED: the monitor is not running: call start_performance_monitoring before recording');
      expect((await call(f.client, 'get_monitoring_status')).structuredContent).toMatchObject({ state: 'stopped' });
    } finally {
      await f.close();
      await holder.stop();
    }
  });
});
