/**
 * start_performance_monitoring: starts the monitor the front serves; with config_path or
 * collection_interval, a monitor without data is first replaced by one built from them.
 * Called while `perfwatch mcp`'s own start is under way, it joins that start (MonitorHost.start).
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Front } from '../front.js';
import { iso } from '../format.js';
import { MAX_PATH_LENGTH } from '../schemas.js';
import { defineTool } from './define.js';

export const StartInput = z.strictObject({
  config_path: z
    .string({ error: 'must be a path (a string)' })
    .min(1, { error: 'must not be empty' })
    .max(MAX_PATH_LENGTH, { error: `must be at most ${MAX_PATH_LENGTH} characters`, abort: true })
    .optional()
    .describe('JSON options file (at most 1 MB) in the server\'s --config-dir (default: its cwd)'),
  collection_interval: z
    .number({ error: 'must be a number of seconds from 1 to 300' })
    .int({ error: 'must be a whole number of seconds from 1 to 300' })
    .min(1, { error: 'must be a number of seconds from 1 to 300' })
    .max(300, { error: 'must be a number of seconds from 1 to 300' })
    .optional()
    .describe('Seconds (default 1)'),
});

export const StartOutput = z.object({
  state: z.string(),
  started: z.boolean(),
  collection_interval: z.number(),
  started_at: z.string().nullable(),
  series: z.number(),
  config_path: z.string().nullable(),
});

export default function register(server: McpServer, front: Front): void {
  const host = front.host;
  defineTool(
    server,
    front,
    'start_performance_monitoring',
    {
      title: 'Start monitoring',
      description:
        'Start collecting. config_path and collection_interval apply to a monitor without data.',
      input: StartInput,
      output: StartOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      waitsForStart: () => false,
    },
    async (args) => {
      const { started, resumed, joined } = await host.start({
        ...(args.config_path !== undefined ? { configPath: args.config_path } : {}),
        ...(args.collection_interval !== undefined ? { intervalSeconds: args.collection_interval } : {}),
      });
      const m = host.monitor;
      const s = m.status();
      const structured = {
        state: s.state,
        started,
        collection_interval: m.options.collectionIntervalMs / 1000,
        started_at: iso(s.startedAt),
        series: s.series.count,
        config_path: host.config,
      };
      const done = joined ? 'running (started by the start under way when called, which this call waited for rather than start twice)' : resumed ? 'resumed' : started ? 'started' : 'already running';
      return { structured, text: `${done}: interval ${structured.collection_interval}s, ${s.series.count} series${host.config ? `, config ${host.config}` : ''}` };
    },
  );
}
