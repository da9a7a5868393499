/**
 * get_monitoring_status: the monitor's state, ingestion, collector, memory and alert counts,
 * and on request a summary of every metric, the active alerts and the baselines, within the
 * read budget (the answer: status-answer.ts, also the perfwatch://status resource's).
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { ANSWER_BYTES } from '../budget.js';
import type { Front } from '../front.js';
import { StatusInput, StatusOutput, statusAnswer } from '../status-answer.js';
import { READ, defineTool } from './define.js';

export default function register(server: McpServer, front: Front): void {
  const host = front.host;
  defineTool(
    server,
    front,
    'get_monitoring_status',
    {
      title: 'Status',
      description:
        'State, ingestion, collector, memory, alert counts; include_* add metrics, alerts, baselines. Call it first.',
      input: StatusInput,
      output: StatusOutput,
      annotations: READ,
      onDeadline: 'include_baselines reads the whole history of each series it shows; ask without it, or with a smaller limit',
      // The state alone answers at once, `starting` included; what reads the data waits for the start.
      waitsForStart: (args) => args.include_metrics || args.include_alerts || args.include_baselines,
    },
    async (args, _ctx, work) => {
      await host.readable();
      return statusAnswer(front, args, work.signal, ANSWER_BYTES);
    },
  );
}
