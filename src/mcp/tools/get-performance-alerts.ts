/**
 * get_performance_alerts: alerts by state and severity with counts per rule, and on request
 * the rules and the latest changes (the answer: alerts-answer.ts).
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { AlertsArgs, AlertsOutput, alertsAnswer } from '../alerts-answer.js';
import type { Front } from '../front.js';
import { READ, defineTool } from './define.js';

export default function register(server: McpServer, front: Front): void {
  const host = front.host;
  defineTool(
    server,
    front,
    'get_performance_alerts',
    {
      title: 'Alerts',
      description:
        'Alerts by state and severity, with counts per rule; include_* add rules and changes.',
      input: AlertsArgs,
      output: AlertsOutput,
      annotations: READ,
    },
    // An offset, 0 when not given, makes a cut answer name where its next page starts.
    (args) => alertsAnswer(host.monitor, { ...args, offset: args.offset ?? 0 }),
  );
}
