/**
 * The server bench:dashboard loads the page from: the dashboard's static route and the
 * API routes the page calls on first load, over the library.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PerformanceMonitor } from '../src/index.js';
import { DashboardAssets } from '../src/http/dashboard.js';

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

export async function serveDashboard(monitor: PerformanceMonitor): Promise<{ url: string; close(): Promise<void> }> {
  const assets = new DashboardAssets();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (assets.handle(req, res, url.pathname)) return;
    const q = Object.fromEntries(url.searchParams);
    try {
      if (url.pathname === '/api/status') return send(res, 200, { monitor: monitor.status() });
      if (url.pathname === '/api/metrics') return send(res, 200, { metrics: monitor.getMetrics() });
      if (url.pathname === '/api/alerts') return send(res, 200, { alerts: monitor.getAlerts(), history: monitor.getAlertHistory() });
      if (url.pathname === '/api/history') return send(res, 200, monitor.getMetricHistory({ metric: q.metric!, from: Number(q.from), to: Number(q.to), maxPoints: Number(q.max_points) }));
      return send(res, 404, { error: { message: 'not here' } });
    } catch (error) {
      return send(res, 400, { error: { message: (error as Error).message } });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
