/**
 * stop_performance_monitoring: stops the monitor the front owns (keeping or discarding its
 * data); a monitor embedded in a service only pauses its own sampling. Called while
 * `perfwatch mcp`'s own start is under way, it stops once that start is done.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Front } from '../front.js';
import type { HeldData } from '../host.js';
import { defineTool } from './define.js';

export const StopInput = z.strictObject({
  // What false does is the tool's description (tools/list's budget).
  preserve_data: z.boolean({ error: 'must be true or false' }).default(true),
});

export const StopOutput = z.object({
  state: z.string(),
  was_running: z.boolean(),
  paused: z.boolean(),
  data_preserved: z.boolean(),
  series: z.number(),
  samples_ingested: z.number(),
});

export default function register(server: McpServer, front: Front): void {
  const host = front.host;
  defineTool(
    server,
    front,
    'stop_performance_monitoring',
    {
      title: 'Stop monitoring',
      description:
        'Stop collecting (data kept unless preserve_data: false); an embedded monitor pauses its own sampling.',
      input: StopInput,
      output: StopOutput,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      waitsForStart: () => false,
    },
    async (args) => {
      const { wasRunning, paused, held, waited } = await host.stop(args.preserve_data);
      const s = host.monitor.status();
      const structured = { state: paused ? 'paused' : s.state, was_running: wasRunning, paused, data_preserved: args.preserve_data, series: s.series.count, samples_ingested: s.ingestion.ingested };
      const done = paused
        ? `${wasRunning ? 'paused' : 'was paused'}: this monitor is embedded in a service, so its own sampling stops and what the service records is still kept`
        : wasRunning
          ? `stopped${waited ? ' once the start under way when called was done' : ''}`
          : `was not running${waited ? ' (the start under way when called failed)' : ''}`;
      const storage = s.storage.mode === 'sqlite' ? (held.stored?.file ?? s.storage.file ?? `${s.storage.dataDir}/perfwatch.db`) : null;
      return { structured, text: `${done}; ${args.preserve_data ? kept(held, storage) : discarded(held, storage)}` };
    },
  );
}

const n = (count: number, one: string, many = `${one}s`): string => `${count} ${count === 1 ? one : many}`;

function parts(held: HeldData): string {
  const d = held.stored;
  if (!d) return `${n(held.series, 'series', 'series')}, ${n(held.rules, 'alert rule')}, ${n(held.transitions, 'alert transition')}`;
  // The file's catalog, not the registry: a restart that left stored series out of it said "0 series" of a file holding them.
  return `${n(d.series, 'series', 'series')} (${n(d.rollups, 'rollup row')} on disk), ${n(d.rules, 'alert rule')}, ${n(d.transitions, 'alert transition')}, ${n(d.alerts, 'alert state')}, ${n(d.baselines, 'baseline')}, ${n(d.auditEntries, 'audit entry', 'audit entries')}, ${n(d.tunables, 'kept tunable value')}`;
}

/** `file`: the database, null with storage 'memory'. */
function kept(held: HeldData, file: string | null): string {
  if (file === null) return `data kept in memory only (storage "memory"): ${parts(held)}; lost when this process exits`;
  return `data kept in ${file}: ${parts(held)}; start_performance_monitoring resumes on it, and so does a new process on this dataDir`;
}

function discarded(held: HeldData, file: string | null): string {
  return `data discarded: ${parts(held)}${file === null ? '' : `; the database ${file} was deleted`}`;
}
