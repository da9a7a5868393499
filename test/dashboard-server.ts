/**
 * A stand-in for the HTTP front's JSON API while it is being built on its own branch: the
 * dashboard's static route and the few /api routes the page calls, straight over the
 * library. Replaced by monitor.serveHttp() once that lands.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PerformanceMonitor } from '../dist/src/index.js';
import { DashboardAssets } from '../dist/src/http/dashboard.js';

export interface StandIn {
  url: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

export async function standIn(monitor: PerformanceMonitor): Promise<StandIn> {
  const assets = new DashboardAssets();
  const streams = new Set<ServerResponse>();
  const onAlert = (t: unknown): void => {
    for (const s of streams) s.write(`event: alert\ndata: ${JSON.stringify(t)}\n\n`);
  };
  monitor.on('alert', onAlert);
  const beat = setInterval(() => {
    for (const s of streams) s.write('event: buckets\ndata: {}\n\n');
  }, monitor.options.collectionIntervalMs);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (assets.handle(req, res, url.pathname)) return;
    const q = Object.fromEntries(url.searchParams);
    const answer = async (): Promise<void> => {
      switch (url.pathname) {
        case '/api/status':
          return send(res, 200, { monitor: monitor.status() });
        case '/api/metrics':
          return send(res, 200, { metrics: monitor.getMetrics() });
        case '/api/alerts':
          return send(res, 200, { alerts: monitor.getAlerts(), history: monitor.getAlertHistory() });
        case '/api/history':
          return send(res, 200, monitor.getMetricHistory({ metric: q.metric!, tags: q.tags ? JSON.parse(q.tags) : undefined, from: Number(q.from), to: Number(q.to), maxPoints: Number(q.max_points) }));
        case '/api/reports/latest': {
          const latest = monitor.getLatestReport();
          return latest ? send(res, 200, latest) : send(res, 404, { error: { message: 'no report yet' } });
        }
        case '/api/reports':
          return send(res, 200, await monitor.generateReport());
        case '/api/events':
          res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' }).write(':\n\n');
          streams.add(res);
          req.once('close', () => streams.delete(res));
          return;
        default:
          return send(res, 404, { error: { message: `no route ${url.pathname}` } });
      }
    };
    answer().catch((error: Error) => send(res, 400, { error: { message: error.message } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      clearInterval(beat);
      monitor.off('alert', onAlert);
      for (const s of streams) s.end();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
