/**
 * The HTTP front of a monitor (monitor.serveHttp, perfwatch serve --http): one server, one
 * port, one policy (mcp/http-options.ts) for every route:
 *   /mcp            the MCP endpoint (as serveMcp)
 *   /metrics        Prometheus text format or OpenMetrics, rendered by a worker
 *   /api/*          the JSON API (api.ts) and its event stream (events.ts)
 *   /, /dashboard/* the dashboard's page and files (dashboard.ts)
 * Every request passes the Host/Origin check and, whenever there is a token, the token check
 * before it is routed (mcp/http-listen.ts); a browser signs in once with `?token=` and then
 * carries a session cookie (browser-session.ts). Loaded lazily by the monitor, like serveMcp.
 */
import { isOutOfMemory } from '../actors/thread-limits.js';
import type { PerformanceMonitor } from '../monitor/monitor.js';
import type { RegistryBuffers } from '../engine/registry.js';
import type { StoreBuffers } from '../engine/store/layout.js';
import { MonitorHost } from '../mcp/host.js';
import { MCP_METHODS, MCP_PATH, logHttpError, mcpEndpoint } from '../mcp/http.js';
import { jsonRpcRefusal } from '../mcp/http-guard.js';
import { listenGuarded } from '../mcp/http-listen.js';
import { McpFront } from '../mcp/server.js';
import { apiRoutes } from './api.js';
import { gateRoutes } from './api-gate.js';
import { CallGate } from '../monitor/call-gate.js';
import { browserAccess } from './browser-session.js';
import { DashboardAssets } from './dashboard.js';
import { eventRoutes } from './events.js';
import { ExpositionWorker } from './exposition-worker.js';
import { HELD_BODIES, HeldBodies } from './held-bodies.js';
import { writeSliced } from './sliced-body.js';
import { StallWatch } from '../mcp/stall-watch.js';
import { emptyStats, type ExpositionStats } from './exposition.js';
import { resolveHttpOptions, type ServeHttpOptions } from './options.js';
import { HttpError, Router, queryParams, requestPath, requestUrl, sendError, sendJson, type Route } from './router.js';
import { CONTENT_TYPES, formatFor } from './text-format.js';
import type { HttpServer, HttpServerStatus } from './types.js';
import type { ThreadPreloads } from '../actors/worker-argv.js';

export type { HttpServer, HttpServerStatus } from './types.js';

/** What the front reads in place: the monitor's control block (its clock), shared registry and store. */
export interface SharedMemory {
  control: SharedArrayBuffer;
  registry: RegistryBuffers;
  store: StoreBuffers;
}

/** Whether a request target is routed to the MCP endpoint. */
function isMcpPath(target: string | undefined): boolean {
  return requestPath(target) === MCP_PATH;
}

/**
 * The fault of the first exposition that maxMetricsBytes cut: what was left out, that nothing
 * recorded is lost, and what to do.
 */
function boundMessage(stats: ExpositionStats): string {
  const { leftOut } = stats;
  const named = Object.entries(leftOut.byMetric).slice(0, 5).map(([name, n]) => `${name} ${n}`);
  const more = leftOut.metrics - named.length;
  const which = `${named.join(', ')}${more > 0 ? `, and ${more} more metric${more === 1 ? '' : 's'}` : ''}`;
  return `/metrics reached maxMetricsBytes (${stats.maxBytes} bytes): ${leftOut.series} series were left out of the exposition (${which}), and are while it stays over (counted in /api/status http.metrics.leftOut, said in a comment line of the text format); the whole exposition would take up to ${stats.bytes + leftOut.bytes} bytes. Nothing recorded is lost (getMetrics(), /api/metrics and the exporters have every series): raise serveHttp's maxMetricsBytes (perfwatch serve --http-max-metrics-bytes), or lower maxTags or maxTagValueLength (long tag values make every line of a series long)`;
}

/**
 * Why a scrape was refused for the bodies held, and what to do: in its 503 and, at the first,
 * in the fault.
 */
function busyMessage(held: HeldBodies, rendering: number, maxMetricsBytes: number): string {
  return `the bodies held for clients still reading them take ${held.held} bytes${rendering > 0 ? ` and ${rendering} render${rendering === 1 ? '' : 's'} in flight up to ${rendering * maxMetricsBytes} more` : ''}, and one more body of up to maxMetricsBytes (${maxMetricsBytes} bytes) would take them past ${held.limit} bytes (${HELD_BODIES} × maxMetricsBytes): each stays in memory until its client has read it or gone. Scrapes are served again as they finish; retry later, and look for clients of /metrics that read slowly or not at all (a stuck scraper or proxy)`;
}

/** `fault`: reports a fault of the monitor's (status().faults, monitor_faults). */
export async function serveMonitorHttp(monitor: PerformanceMonitor, shared: SharedMemory, preloads: ThreadPreloads, options: ServeHttpOptions, fault: (kind: string, error: Error) => void = () => {}, heapMb?: (maxMetricsBytes: number) => number): Promise<HttpServer> {
  const { policy, http } = resolveHttpOptions(options);
  const host = new MonitorHost(monitor, false);
  const front = new McpFront(host, { stateChanges: policy.stateChanges });
  // One gate for /mcp's calls and /api's requests: both are answered on the host's one main thread.
  const gate = new CallGate(policy);
  const mcp = mcpEndpoint(front, policy, gate);
  const exposition = new ExpositionWorker({ ...shared, bounds: http.histogramBuckets, quantiles: http.quantiles ?? [], quantileWindowMs: http.quantileWindowMs, maxBytes: http.maxMetricsBytes }, preloads, heapMb?.(http.maxMetricsBytes));
  const events = eventRoutes(monitor, http);
  let lastExposition: ExpositionStats | undefined;
  /** The fault of an exposition that the bound cut is reported once a server. */
  let boundSaid = false;
  const held = new HeldBodies(http.maxMetricsBytes);
  /** The fault of a scrape refused for the bodies held, likewise. */
  let busySaid = false;
  /** /metrics answers whose client left their body unread for responseStallMs are closed, their bodies let go. */
  const stalls = new StallWatch(policy.responseStallMs);
  let scrapes = 0;
  let origin = '';
  let connections = (): HttpServerStatus['connections'] => ({ open: 0, limit: policy.maxConnections, refused: 0 });

  const status = (): HttpServerStatus => ({
    url: `${origin}/`,
    connections: connections(),
    mcp: mcp.status(),
    calls: gate.stats(),
    metrics: { ...(lastExposition ?? emptyStats(http.maxMetricsBytes)), ...held.stats(), stalled: stalls.stalled },
    scrapes,
    renders: exposition.renders,
    workerStarts: exposition.starts,
    histogramBuckets: http.histogramBuckets,
    events: events.stats(),
  });

  const metricsRoute: Route = {
    method: 'GET',
    path: '/metrics',
    handle: async ({ req, res, url }) => {
      try {
        queryParams(url, []);
        const format = formatFor(req.headers.accept);
        // A stopped monitor's histograms take in the interval still open at stop(), as its last export did.
        const stopped = monitor.state === 'stopped';
        // A scrape that shares a render in flight adds no body; a new render is refused before it is asked for.
        if (!exposition.shares(format, stopped) && !held.admits(exposition.rendering)) {
          held.refused++;
          const why = busyMessage(held, exposition.rendering, http.maxMetricsBytes);
          if (!busySaid) {
            busySaid = true;
            fault('metrics-busy', new Error(`/metrics refused a scrape: ${why}. Refusals are counted in /api/status http.metrics.refusedBusy`));
          }
          throw new HttpError(503, `Service Unavailable: ${why}`, undefined, { 'Retry-After': '5' });
        }
        let closed = false;
        res.once('close', () => (closed = true));
        const rendered = await exposition.render(format, stopped).catch((error: Error) => {
          logHttpError(error);
          // A renderer ended at its heap limit is the monitor's fault to report (the limit and the option in it).
          if (isOutOfMemory(error)) fault('exposition', error);
          throw new HttpError(503, `Service Unavailable: the exposition worker failed (${error.message}); the next scrape starts a new one`, undefined, { 'Retry-After': '1' });
        });
        scrapes++;
        lastExposition = rendered.stats;
        if (rendered.stats.leftOut.series > 0 && !boundSaid) {
          boundSaid = true;
          fault('metrics-limit', new Error(boundMessage(rendered.stats)));
        }
        // A client gone during the render holds nothing ('close' will not come again).
        if (!closed) {
          held.hold(rendered.body, res);
          stalls.watch(res);
        }
        res.writeHead(200, { 'Content-Type': CONTENT_TYPES[format], 'Content-Length': rendered.body.byteLength, 'Cache-Control': 'no-store' });
        writeSliced(res, rendered.body);
      } catch (error) {
        sendError(res, error);
      }
    },
  };

  const router = new Router()
    // Listed for the paths a 404 names; requests to /mcp go to mcp.handle before the router.
    .add(...MCP_METHODS.map((method): Route => ({ method, path: MCP_PATH, handle: ({ req, res }) => mcp.handle(req, res) })))
    .add(metricsRoute, events.route, ...gateRoutes(gate, apiRoutes({ monitor, maxConcurrentReports: http.maxConcurrentReports, serverStatus: status })))
    .add(...new DashboardAssets().routes());

  const listening = await listenGuarded(
    policy,
    async (req, res) => {
      const target = req.url ?? '/';
      try {
        if (Buffer.byteLength(target) > http.maxUrlBytes) throw new HttpError(414, `URI Too Long: the request target is over ${http.maxUrlBytes} bytes (maxUrlBytes)`, 'url');
        const url = requestUrl(target);
        if (url === undefined) throw new HttpError(400, `the request target is no URL path: "${target.slice(0, 64)}"`, 'url');
        // The monitor's clock, which every time in an answer is in: the dashboard reckons its
        // ranges by it, not by the browser's clock (another machine's, or the wall clock after
        // a step back: docs/architecture.md, Time).
        res.setHeader('X-Perfwatch-Now', String(Math.round(monitor.now())));
        // /mcp takes every method to its endpoint, which answers one it does not take 405 in
        // JSON-RPC, as serveMcp does (the router's 405 is the API's shape).
        if (url.pathname === MCP_PATH) return await mcp.handle(req, res);
        await router.find(req.method ?? 'GET', url.pathname).handle({ req, res, url });
      } catch (error) {
        sendError(res, error);
      }
    },
    logHttpError,
    policy.token === undefined ? undefined : browserAccess(policy.token, MCP_PATH),
    // /mcp answers a refusal in JSON-RPC, as serveMcp does; every other route in the API's shape.
    (req, res, status, header, message) => (isMcpPath(req.url) ? jsonRpcRefusal(req, res, status, header, message) : sendJson(res, status, { error: { code: status === 400 ? 'PW_ERR_INVALID_ARG' : 'PW_ERR_FORBIDDEN', field: header, message } })),
    // A token refused: /mcp answers the SDK's OAuth body; the other routes the API's shape,
    // with the challenge and the monitor's clock as every other answer has them.
    (req, res, status, headers, message) => {
      if (isMcpPath(req.url)) return false;
      res.setHeader('X-Perfwatch-Now', String(Math.round(monitor.now())));
      sendJson(res, status, { error: { code: 'PW_ERR_UNAUTHORIZED', field: 'authorization', message: `${message}: send Authorization: Bearer <token> (the server's token: serveHttp()'s token option, or PERFWATCH_TOKEN of perfwatch serve)` } }, headers);
      return true;
    },
  );
  origin = listening.origin;
  connections = listening.connections;

  return {
    url: `${origin}/`,
    port: listening.port,
    mcpUrl: `${origin}${MCP_PATH}`,
    metricsUrl: `${origin}/metrics`,
    router,
    status,
    close: async () => {
      stalls.close();
      await mcp.close();
      await exposition.close();
      await listening.close();
      await host.close();
    },
  };
}
