/**
 * The resources a front serves, each the answer of a tool for a client to read or subscribe
 * to: perfwatch://status (get_monitoring_status with include_metrics), perfwatch://alerts
 * (get_performance_alerts with the rules and history; changes are notified, see
 * alert-notices.ts) and perfwatch://report/latest (the last report, as
 * generate_performance_report answers it). A read while the monitor's start is under way
 * (MonitorHost.starting) waits for it, as the tools do, and answers as they would then.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { alertsAnswer } from './alerts-answer.js';
import { ANSWER_BYTES } from './budget.js';
import type { Front } from './front.js';
import { latestReportBody } from './report-answer.js';
import { statusAnswer } from './status-answer.js';

export const STATUS_URI = 'perfwatch://status';
export const ALERTS_URI = 'perfwatch://alerts';
export const REPORT_URI = 'perfwatch://report/latest';

export function registerResources(server: McpServer, front: Front): void {
  const host = front.host;
  server.registerResource(
    'status',
    STATUS_URI,
    { title: 'Monitor status', description: 'As get_monitoring_status with include_metrics (within 8 KB)', mimeType: 'application/json' },
    async (uri) => {
      await host.starting;
      await host.readable();
      const { structured } = await statusAnswer(front, { include_metrics: true, include_alerts: false, include_baselines: false }, undefined, ANSWER_BYTES);
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(structured) }] };
    },
  );

  server.registerResource(
    'alerts',
    ALERTS_URI,
    {
      title: 'Active alerts',
      description: 'As get_performance_alerts with include_rules and include_history (within 8 KB); subscribe to be told of changes',
      mimeType: 'application/json',
    },
    async (uri) => {
      await host.starting;
      // The tool's answer with these arguments: its offset, 0, makes a page hold one item of
      // each list at least (cut to fit when it does not fit whole), as the tool's does.
      const { structured } = alertsAnswer(host.monitor, { state: 'active', include_rules: true, include_history: true, offset: 0 });
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(structured) }] };
    },
  );

  server.registerResource(
    'report-latest',
    REPORT_URI,
    { title: 'Latest performance report', description: 'The last report built, as generate_performance_report answers it in json (within 16 KB)', mimeType: 'application/json' },
    async (uri) => {
      await host.starting;
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(latestReportBody(host.monitor)) }] };
    },
  );
}
