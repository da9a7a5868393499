/**
 * What a profile capture is asked with and what it answers: the zod schema of a request is
 * the single source of its fields and limits (monitor.profile(), the MCP tool and the CLI map
 * onto it), and the summary is plain data, so that it can travel to the report pool, into the
 * alert history's database rows and into notifications unchanged.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import { toInvalidArgument } from '../schema-errors.js';
import { DEFAULT_SECONDS, MAX_SECONDS, MIN_SECONDS, PROFILE_KINDS, type ProfileKind } from './limits.js';

const secondsRule = `must be a number of seconds from ${MIN_SECONDS} to ${MAX_SECONDS}`;
/** A capture's length when none is given (an alert rule's too: alerts/schema.ts reads it here). */
export { DEFAULT_SECONDS };

export const captureSeconds = z.number({ error: secondsRule }).min(MIN_SECONDS, { error: secondsRule }).max(MAX_SECONDS, { error: secondsRule });
export const captureKind = z.enum(PROFILE_KINDS, { error: `must be one of ${PROFILE_KINDS.join(', ')}` });

export const ProfileRequestSchema = z.strictObject({
  /** 'cpu': a sampling CPU profile of the main thread; 'heap': a sampling heap profile (allocations still live at the end). */
  kind: captureKind.default('cpu'),
  seconds: captureSeconds.default(DEFAULT_SECONDS),
});

export type ProfileRequest = z.input<typeof ProfileRequestSchema>;

export function parseProfileRequest(input: unknown): z.output<typeof ProfileRequestSchema> {
  if (input !== undefined && (input === null || typeof input !== 'object' || Array.isArray(input))) {
    throw new InvalidArgumentError('options', 'must be an object such as { kind: "cpu", seconds: 10 }');
  }
  const parsed = ProfileRequestSchema.safeParse(input ?? {});
  if (!parsed.success) throw toInvalidArgument(parsed.error, input ?? {}, '', 'option', ProfileRequestSchema);
  return parsed.data;
}

/** Where in the code: a function at file:line (1-based), as DevTools shows it. */
export interface CodeSite {
  function: string;
  /** The script, relative to the process's working directory when under it; '' for native and V8 internals. */
  file: string;
  line: number;
  column: number;
}

export interface FunctionTime extends CodeSite {
  /** Samples with the function on top of the stack (self) and anywhere on it (total), as shares of all samples. */
  selfShare: number;
  totalShare: number;
  selfMs: number;
  totalMs: number;
  /**
   * The source line (1-based) with the most of the function's own samples, and its share of
   * them; absent where the profile has no lines. V8 charges a function it inlined to its
   * caller, at the inlined function's own line, which may be in another file
   * (docs/profiling.md): a line outside the function's body is inlined code.
   */
  hotLine?: { line: number; share: number };
}

export interface HotStack {
  share: number;
  ms: number;
  /** Outermost first, the sampled function last (at most STACK_FRAMES frames). */
  frames: string[];
}

export interface AllocationSite extends CodeSite {
  /** Sampled bytes still live at the end of the capture, allocated by the function itself. */
  bytes: number;
  share: number;
}

/**
 * What a headline names: the code on top of the most samples (cpu) or that allocated the most
 * live bytes (heap), once each frame with no file (native code, a V8 builtin) or in Node's own
 * JavaScript (`node:`) is charged to its nearest caller in a file of the service's: a service's
 * time in crypto.pbkdf2Sync is its function's that called it, which the top lists name only as
 * `run`, and the bytes Buffer#toString allocates in node:buffer's `slice` likewise.
 */
export interface LeadSite extends CodeSite {
  /** Share of samples (cpu) or of live sampled bytes (heap): the site's own and its callees' outside the service's files. */
  share: number;
  /** The part of `share` in frames with no file under it, and the function it called to get there; absent when none. */
  native?: { share: number; via: string };
  /** The part of `share` in Node's own JavaScript (`node:`) under it, and the function it called to get there; absent when none. */
  node?: { share: number; via: string };
}

export interface CpuSummary {
  kind: 'cpu';
  samples: number;
  /** Share of samples: idle (the loop waiting), GC, program (V8 and native work outside JS), and JS (the rest). */
  idle: number;
  gc: number;
  program: number;
  js: number;
  topSelf: FunctionTime[];
  topTotal: FunctionTime[];
  stacks: HotStack[];
  /** What the headline names (absent from summaries kept before it was added: topSelf[0] then). */
  lead?: LeadSite;
}

export interface HeapSummary {
  kind: 'heap';
  /** Sampled bytes of the allocations still live when the capture ended. */
  liveBytes: number;
  sites: AllocationSite[];
  stacks: { bytes: number; share: number; frames: string[] }[];
  /** What the headline names (absent from summaries kept before it was added: sites[0] then). */
  lead?: LeadSite;
}

/** One capture: its window, its summary, and its file (or why there is none). */
export interface Capture {
  id: number;
  kind: ProfileKind;
  startedAt: number;
  endedAt: number;
  seconds: number;
  /** One line: what the capture found first ("71% of samples in renderPlayerStats at src/stats.js:88"). */
  headline: string;
  summary: CpuSummary | HeapSummary;
  /** The .cpuprofile / .heapprofile, loadable in Chrome DevTools; null when it could not be written, or was pruned since (files.ts's bounds). */
  file: string | null;
  fileBytes: number;
  /** Why the file is missing, when it is: not written, or `pruned: deleted at … to keep profiling.maxFiles (20), when capture 21's file was written`. */
  fileError: string | null;
  /** The alert whose rule asked for it. */
  alert: { ruleId: string; ruleName: string; fingerprint: string; metric: string } | null;
  /** Main-thread time the capture cost here beyond the profiler's sampling (start, stop, summary, file). */
  mainThreadMs: number;
}

/** What an alert's history entry and the reports carry of a capture: its headline and where the file is, not the whole summary. */
export interface CaptureNote {
  id: number;
  kind: ProfileKind;
  at: number;
  seconds: number;
  headline: string;
  file: string | null;
  /** Top functions (self time for cpu, live bytes for heap), a few. */
  top: string[];
  /** What the headline names: `fn at file:line` and its share (of samples, or of live sampled bytes), native code it called included (LeadSite). */
  lead: { site: string; share: number } | null;
  /** Which alert asked for it (rule name), if one did. */
  rule: string | null;
  /** That rule's metric (absent from notes kept before it was added): one on event_loop_lag fires once the block it measured has ended. */
  ruleMetric?: string;
  /** Why `file` is null though the capture ran: its file was not written, or was pruned since (absent from notes kept before it was added). */
  fileError?: string;
  /** cpu: the share of samples in which the main thread was idle (absent from notes kept before it was added). */
  idle?: number;
  /** Set instead of the rest when no capture ran: busy, rate-limited, or failed, and why. */
  skipped?: string;
}
