/**
 * Resources: the same facts as the reading tools, for clients that attach context by URI.
 * Every resource here is also reachable through a tool (some clients use tools only):
 * perfwatch://status is get_monitoring_status { include_metrics: true }.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { statusMetrics, statusOut } from './format.js';
import type { McpFront } from './server.js';

export const STATUS_URI = 'perfwatch://status';

/** Most series a resource lists (the tools take a limit; a resource read cannot). */
const RESOURCE_SERIES = 200;

export function registerResources(server: McpServer, front: McpFront): void {
  server.registerResource(
    'status',
    STATUS_URI,
    {
      title: 'Monitor status',
      description: `Monitor state, ingestion, collector health, memory, and a summary of up to ${RESOURCE_SERIES} metric series (as get_monitoring_status with include_metrics)`,
      mimeType: 'application/json',
    },
    async (uri) => {
      await front.host.readable();
      const monitor = front.host.monitor;
      const body = { ...statusOut(monitor.status(), front.endpointStatus?.()), ...statusMetrics(monitor, RESOURCE_SERIES) };
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(body) }] };
    },
  );
}
