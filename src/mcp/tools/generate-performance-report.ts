/**
 * generate_performance_report: a report of the monitor's data (score, statistics, anomalies,
 * diagnoses, recommendations, alert analysis), built in the report pool; progress
 * notifications when the client asks for them, stopped when the client cancels. The answer
 * is report-answer.ts's, also the perfwatch://report/latest resource's.
 */
import type { McpServer, ServerContext } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { REPORT_BYTES } from '../budget.js';
import type { Front } from '../front.js';
import type { MonitorHost } from '../host.js';
import { MAX_REPORT_LIMIT, ReportOutput, markdownOut, markdownWithin, reportOut, reportText } from '../report-answer.js';
import { REPORT_URI } from '../resources.js';
import { heldHistory } from '../held.js';
import { intRange, parseTimeRange, timeRange } from '../schemas.js';
import { READ, defineTool } from './define.js';

export const ReportInput = z.strictObject({
  time_range: timeRange.optional().describe('Default: all data'),
  include_recommendations: z.boolean({ error: 'must be true or false' }).default(true),
  include_alerts: z.boolean({ error: 'must be true or false' }).default(true),
  format: z.enum(['json', 'markdown'], { error: 'must be json or markdown' }).default('json').describe('markdown: a document in the text'),
  limit: intRange(1, MAX_REPORT_LIMIT).optional().describe('Per list (default: fits 16 KB)'),
});

/**
 * Progress notifications for a request whose client sent a progress token, and a promise of
 * the last one handed to the transport: the answer waits for it, so that it never overtakes
 * its own progress.
 */
function progressReporter(ctx: ServerContext): { onProgress: (done: number, total: number) => void; sent: () => Promise<void> } | undefined {
  const token = ctx.mcpReq._meta?.progressToken;
  if (token === undefined) return undefined;
  let last = -1;
  let sending: Promise<void> = Promise.resolve();
  return {
    onProgress: (done, total) => {
      if (done === last) return;
      last = done;
      sending = ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: done, total, message: `${done} of ${total} series` } }).catch(() => {});
    },
    sent: () => sending,
  };
}

export default function register(server: McpServer, front: Front): void {
  const host: MonitorHost = front.host;
  defineTool(
    server,
    front,
    'generate_performance_report',
    {
      title: 'Report',
      description:
        'Score 0-100, statistics per series, anomalies, diagnoses, recommendations, alert analysis. Sends progress; stops when cancelled.',
      input: ReportInput,
      output: ReportOutput,
      annotations: READ,
      onDeadline: 'ask for a shorter time_range',
    },
    async (args, ctx, work) => {
      await host.readable();
      const monitor = host.monitor;
      const progress = progressReporter(ctx);
      const common = {
        // Read within the history held, as get_metric_history's ranges are (held.ts).
        ...(args.time_range !== undefined ? { from: monitor.now() - Math.min(parseTimeRange(args.time_range), heldHistory(monitor.options).ms) } : {}),
        includeRecommendations: args.include_recommendations,
        includeAlerts: args.include_alerts,
        signal: work.signal,
        ...(progress ? { onProgress: progress.onProgress } : {}),
      };
      // Built in the pool: the call's place goes to others meanwhile.
      const report = await work.away(monitor.generateReport({ ...common, format: 'json' }));
      await progress?.sent();
      front.resourceUpdated(REPORT_URI);
      if (args.format === 'markdown') {
        // The document in the text, and in structuredContent only what it covers.
        const { text, truncated } = markdownWithin(report, args.limit, REPORT_BYTES - 1200);
        return { structured: markdownOut(report, truncated), text };
      }
      const out = reportOut(report, args.limit);
      return { structured: out, text: reportText(out, args.limit) };
    },
  );
}
