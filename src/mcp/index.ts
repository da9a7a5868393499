/**
 * The MCP front's entry points: Streamable HTTP for a monitor embedded in a service
 * (monitor.serveMcp), stdio for `perfwatch mcp`. Loaded lazily by the monitor, so that a
 * service that never serves MCP never loads the SDK.
 */
import type { PerformanceMonitor } from '../monitor.js';
import { MonitorHost } from './host.js';
import { serveMcpHttp, type McpHttpServer, type ServeMcpOptions } from './http.js';
import { McpFront } from './server.js';

export { MonitorHost } from './host.js';
export { McpFront, VERSION } from './server.js';
export type { Era, LogLevel } from './server.js';
export { serveMcpHttp, MCP_PATH } from './http.js';
export type { McpHttpServer, ServeMcpOptions } from './http.js';
export { serveFrontOverStdio } from './serve-stdio.js';
export { LineTransport } from './stdio.js';

/** Serves an embedded monitor over Streamable HTTP; the monitor stays the service's own. */
export async function serveMonitorMcp(monitor: PerformanceMonitor, options: ServeMcpOptions): Promise<McpHttpServer> {
  const host = new MonitorHost(monitor, false);
  const front = new McpFront(host);
  const served = await serveMcpHttp(front, options);
  return {
    url: served.url,
    port: served.port,
    close: async () => {
      await served.close();
      await host.close();
    },
  };
}
