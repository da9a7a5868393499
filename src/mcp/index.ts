/**
 * The MCP front's entry point for a monitor embedded in a service: Streamable HTTP
 * (monitor.serveMcp). Loaded lazily by the monitor, so that a service that never serves MCP
 * never loads the SDK. (`perfwatch mcp` and `serve` build theirs in src/cli.)
 */
import type { PerformanceMonitor } from '../monitor/monitor.js';
import { MonitorHost } from './host.js';
import { serveMcpHttp } from './http.js';
import { resolveServeOptions, type McpHttpServer, type ServeMcpOptions } from './http-options.js';
import { McpFront } from './server.js';

/** Serves an embedded monitor over Streamable HTTP; the monitor stays the service's own. */
export async function serveMonitorMcp(monitor: PerformanceMonitor, options: ServeMcpOptions): Promise<McpHttpServer> {
  const policy = resolveServeOptions(options);
  const host = new MonitorHost(monitor, false);
  const front = new McpFront(host, { stateChanges: policy.stateChanges });
  const served = await serveMcpHttp(front, policy);
  return {
    url: served.url,
    port: served.port,
    status: served.status,
    close: async () => {
      await served.close();
      await host.close();
    },
  };
}
