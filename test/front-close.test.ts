/**
 * close() closes the fronts the monitor made (serveHttp(), serveMcp()): a monitor closed for
 * good leaves no port, thread or listener of theirs. stop() leaves them up.
 */
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { waitFor } from './helpers.js';

const threads = (): number => readdirSync('/proc/self/task').length;
const fds = (): number => readdirSync('/proc/self/fd').length;
const quiet = { storage: 'memory', system: { enabled: false }, runtime: { enabled: false } } as const;

/** Whether a new connection to `url`'s port is refused (nothing listens there any more). */
function refused(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/** One cycle of a service that builds its monitor anew: start, serve, scrape, close the monitor only. */
async function cycle(): Promise<{ monitor: PerformanceMonitor; url: string; mcpUrl?: string }> {
  const monitor = new PerformanceMonitor(quiet);
  await monitor.start();
  const server = await monitor.serveHttp({ port: 0 });
  const mcp = await monitor.serveMcp({ port: 0 });
  const r = await fetch(server.metricsUrl);
  expect(r.status).toBe(200);
  await r.text();
  expect(monitor.listenerCount('alert')).toBeGreaterThan(0);
  await monitor.close();
  return { monitor, url: server.url, mcpUrl: mcp.url };
}

describe('a closed monitor’s fronts', () => {
  it('are closed by close(): its ports refuse, and threads, fds and listeners are back to their base after 6 cycles', async () => {
    // The first cycle loads the fronts and starts what stays for the process (the libuv pool).
    await cycle();
    const base = { threads: threads(), fds: fds() };
    for (let k = 0; k < 6; k++) {
      const { monitor, url, mcpUrl } = await cycle();
      expect(await refused(`${url}metrics`)).toBe(true);
      expect(await refused(mcpUrl!)).toBe(true);
      expect(monitor.listenerCount('alert')).toBe(0);
      expect(monitor.listenerCount('alert-profile')).toBe(0);
    }
    // A thread ends a moment after its terminate() resolved; a hang guard only.
    await waitFor(() => threads() <= base.threads && fds() <= base.fds, 10_000, `threads ${threads()} <= ${base.threads}, fds ${fds()} <= ${base.fds}`);
  });

  it('stay up through stop(), serve the stopped monitor, and a front closed by its caller first is closed once', async () => {
    const monitor = new PerformanceMonitor(quiet);
    await monitor.start();
    const server = await monitor.serveHttp({ port: 0 });
    const listeners = monitor.listenerCount('alert');
    const closedFirst = await monitor.serveHttp({ port: 0 });
    expect(monitor.listenerCount('alert')).toBeGreaterThan(listeners);
    // A front closed by its caller takes its listeners off the monitor.
    await closedFirst.close();
    expect(monitor.listenerCount('alert')).toBe(listeners);
    await monitor.stop();
    const r = await fetch(`${server.url}api/status`);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { monitor: { state: string } }).monitor.state).toBe('stopped');
    await monitor.close();
    expect(await refused(`${server.url}api/status`)).toBe(true);
    expect(monitor.status().faults.byKind.fronts).toBeUndefined();
    // The caller's close after the monitor's is the same close, resolved.
    await server.close();
  });
});
