/**
 * capture_performance_profile: a CPU or heap profile of the service's main thread, summarised
 * (top functions with file:line, hottest stacks, idle/GC/program shares; heap: allocation
 * sites with bytes), with the path of the full profile. A capture that would outlast the
 * tool's deadline answers at once with its id, read back with { id } once it ends.
 * It changes no state of the monitor (it writes a bounded profile file), so a read-only
 * endpoint serves it; one capture runs at a time (PW_ERR_BUSY otherwise).
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { PerfwatchError } from '../../errors.js';
import { DEFAULT_SECONDS } from '../../profiling/limits.js';
import { captureKind, captureSeconds, type Capture } from '../../profiling/schema.js';
import { captureText } from '../../profiling/text.js';
import type { Front } from '../front.js';
import { ANSWER_BYTES, jsonBytes } from '../budget.js';
import { intRange } from '../schemas.js';
import { defineTool } from './define.js';

/** Time a capture's answer needs past its length (stop, summary, file): a capture that cannot fit the deadline with it answers at once. */
const MARGIN_MS = 5_000;
const DEFAULT_TOP = 10;

// kind and seconds are for a new capture (cpu, DEFAULT_SECONDS when left out); with `id`, a
// kind that is not that capture's is refused rather than answered with the other kind.
export const ProfileArgs = z.strictObject({
  kind: captureKind.optional().meta({ default: 'cpu' }),
  seconds: captureSeconds.optional().meta({ default: DEFAULT_SECONDS }),
  id: intRange(1, 1e9).optional().describe('Read this capture'),
  top: intRange(1, 100).optional().describe('Per list (default: fits 8 KB)'),
});

export const ProfileOutput = z.object({
  id: z.number(),
  state: z.enum(['running', 'done']),
  ends_at: z.string(),
  headline: z.string().optional(),
  file: z.string().nullable().optional(),
  summary: z.record(z.string(), z.unknown()).optional(),
});

type Out = z.output<typeof ProfileOutput>;

/** The summary with each list cut to `top` (stacks to 3 at most). */
function cut(c: Capture, top: number): Record<string, unknown> {
  const s = c.summary;
  if (s.kind === 'cpu') return { ...s, topSelf: s.topSelf.slice(0, top), topTotal: s.topTotal.slice(0, top), stacks: s.stacks.slice(0, Math.min(top, 3)) };
  return { ...s, sites: s.sites.slice(0, top), stacks: s.stacks.slice(0, Math.min(top, 3)) };
}

function answer(c: Capture, top: number): { structured: Out; text: string } {
  return {
    structured: { id: c.id, state: 'done', ends_at: new Date(c.endedAt).toISOString(), headline: c.headline, file: c.file, summary: { ...cut(c, top), ...(c.fileError ? { fileError: c.fileError } : {}) } },
    text: captureText(c, top),
  };
}

/** The answer with `top` entries per list; without an explicit `top`, fewer until it fits ANSWER_BYTES (the text then says how to get more). */
export function captureAnswer(c: Capture, top: number | undefined): { structured: Out; text: string } {
  if (top !== undefined) return answer(c, top);
  for (let n = DEFAULT_TOP; ; n--) {
    const a = answer(c, n);
    if (n === 1 || jsonBytes(a.structured) + Buffer.byteLength(a.text) <= ANSWER_BYTES) return a;
  }
}

function running(id: number, endsAt: number): { structured: Out; text: string } {
  const at = new Date(endsAt).toISOString();
  return { structured: { id, state: 'running', ends_at: at }, text: `capture ${id} runs until ${at}: call this tool again with { id: ${id} } from then on for its summary` };
}

export default function register(server: McpServer, front: Front): void {
  const host = front.host;
  defineTool(
    server,
    front,
    'capture_performance_profile',
    {
      title: 'Profile',
      description: 'Profile the main thread: top functions at file:line, hot stacks, idle/GC shares, the file for DevTools.',
      input: ProfileArgs,
      output: ProfileOutput,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      changesState: () => false,
    },
    async (args, _ctx, work) => {
      const monitor = host.monitor;
      const waitable = front.limits.deadlineMs - MARGIN_MS;
      if (args.id !== undefined) {
        // A length asked of a capture read back would change nothing: said, as a kind that is not its own is.
        if (args.seconds !== undefined) throw new PerfwatchError('PW_ERR_INVALID_ARG', { field: 'seconds', rule: `is a new capture's length: with id, capture ${args.id} is read as it was taken; leave seconds out to read it`, given: { value: args.seconds } });
        const found = monitor.getProfile(args.id);
        if (found === undefined) throw new PerfwatchError('PW_ERR_INVALID_ARG', { field: 'id', rule: `is not a capture kept: the last ${monitor.options.profiling.keep} are (profiling.keep)`, given: { value: args.id } });
        const status = monitor.profilingStatus().busy;
        const kind = found instanceof Promise ? status?.kind : found.kind;
        if (args.kind !== undefined && kind !== undefined && args.kind !== kind) {
          throw new PerfwatchError('PW_ERR_INVALID_ARG', { field: 'kind', rule: `is not capture ${args.id}'s, a ${kind} capture: leave kind out to read it`, given: { value: args.kind } });
        }
        if (!(found instanceof Promise)) return captureAnswer(found, args.top);
        if (status && status.endsAt - Date.now() > waitable) return running(args.id, status.endsAt);
        return captureAnswer(await work.away(found), args.top);
      }
      const seconds = args.seconds ?? DEFAULT_SECONDS;
      const started = monitor.startProfile({ kind: args.kind ?? 'cpu', seconds });
      // The agent's capture is the monitor's work, not the service's: it does not hold a
      // service that closed its server on SIGTERM until its end, up to 120 s (past an
      // orchestrator's grace period, into SIGKILL); the stop at 'beforeExit' ends it early.
      started.unref();
      if (seconds * 1000 > waitable) return running(started.id, started.endsAt);
      // A client that cancels no longer waits for it: the capture ends then, kept with what it
      // sampled, instead of holding the one capture there is for its length.
      work.signal.addEventListener('abort', started.stop, { once: true });
      // The inspector samples on its own: the call's place goes to others meanwhile.
      return captureAnswer(await work.away(started.done), args.top);
    },
  );
}
