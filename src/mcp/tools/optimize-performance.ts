/**
 * optimize_performance: plans, or starts a run that applies changes, and reads or cancels a
 * run. Applying verifies each change over a window (a minute by default), far longer than a
 * client waits for an answer, so a run answers at once with its id and plan and goes on in
 * the monitor; `{ run_id }` reads its progress, outcome and log, `{ run_id, cancel: true }`
 * stops it (the change under verification is rolled back).
 *
 * Knobs are registered by the service's code (monitor.registerTunable), never through MCP:
 * answers say so and list the knobs there are.
 *
 * An answer is bounded as the read tools' are (budget.ts): a plan of 12 knobs answered 12.9 KB
 * and of 120 answered 99 KB. Its plan, changes applied and skipped knobs are pages of one
 * offset (as the alerts answer's lists), the knobs and the log are cut to what is left, and the
 * text says how to get more; asked with a limit, each list gives that many.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { InvalidArgumentError, OptimizationBusyError, PerfwatchError } from '../../errors.js';
import type { PerformanceMonitor } from '../../monitor/monitor.js';
import type { AppliedChange, OptimizationLogEntry, OptimizationRun } from '../../optimizer/optimization.js';
import { NAMED_KNOBS } from '../../optimizer/optimizer.js';
import { OPTIMIZATION_TYPES } from '../../optimizer/tunables.js';
import { ANSWER_BYTES, jsonBytes, sameNextOffset, take, textBytes, type Taken } from '../budget.js';
import { iso, num } from '../format.js';
import { intRange } from '../schemas.js';
import type { Front } from '../front.js';
import { WRITE, defineTool } from './define.js';

const RUN_KEYS = ['optimization_type', 'auto_apply', 'dry_run', 'verification_window'] as const;

export const OptimizeInput = z
  .strictObject({
    optimization_type: z.enum(OPTIMIZATION_TYPES, { error: `must be one of ${OPTIMIZATION_TYPES.join(', ')}` }).optional(),
    auto_apply: z.boolean({ error: 'must be true or false' }).optional().describe('Apply, step by step'),
    dry_run: z.boolean({ error: 'must be true or false' }).optional().describe('Default: true unless auto_apply'),
    verification_window: z
      .number({ error: 'must be a number of seconds from 0.1 to 3600' })
      .min(0.1, { error: 'must be a number of seconds from 0.1 to 3600' })
      .max(3600, { error: 'must be a number of seconds from 0.1 to 3600' })
      .optional()
      .describe('Seconds (default 60)'),
    run_id: intRange(1, 1e9).optional().describe('Read this run'),
    cancel: z.boolean({ error: 'must be true or false' }).optional().describe('With run_id: stop it'),
    log_limit: intRange(1, 1000).default(20),
    limit: intRange(1, 1000).optional(),
    offset: intRange(0, 10_000_000).optional(),
  })
  .superRefine((args, ctx) => {
    if (args.run_id !== undefined) {
      for (const key of RUN_KEYS) if (args[key] !== undefined) ctx.addIssue({ code: 'custom', path: [], message: `${key} must not be given with run_id: run_id reads (or cancels) a run started before` });
    } else {
      if (args.optimization_type === undefined) ctx.addIssue({ code: 'custom', path: [], message: 'optimization_type is required (or run_id, to read a run)' });
      if (args.cancel !== undefined) ctx.addIssue({ code: 'custom', path: [], message: 'cancel must be given with run_id' });
      if (args.dry_run === true && args.auto_apply === true) ctx.addIssue({ code: 'custom', path: [], message: 'dry_run must not be true with auto_apply true: a dry run changes nothing, pass one or the other' });
    }
  });

const Step = z.object({ knob: z.string(), from: z.number(), to: z.number(), target: z.string(), goal: z.string(), baseline: z.number().nullable(), why: z.string(), expected_effect: z.string() });
const Applied = z.object({
  knob: z.string(),
  from: z.number(),
  to: z.number(),
  outcome: z.enum(['kept', 'rolled-back', 'failed']),
  target: z.string(),
  before: z.number().nullable(),
  after: z.number().nullable().describe('null: not measured (see reason)'),
  improvement: z.number().nullable(),
  reason: z.string(),
});
const LogEntry = z.object({ at: z.string(), kind: z.string(), knob: z.string().nullable(), message: z.string() });
const Current = z.object({ knob: z.string(), from: z.number(), to: z.number(), target: z.string(), verify_until: z.string() });
const Knob = z.object({ name: z.string(), type: z.string(), target: z.string() });

export const OptimizeAnswer = z.object({
  run_id: z.number(),
  state: z.enum(['running', 'done', 'cancelled', 'failed']),
  optimization_type: z.string(),
  dry_run: z.boolean(),
  auto_apply: z.boolean(),
  verification_window: z.number(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  current: Current.nullable(),
  plan: z.array(Step),
  applied: z.array(Applied),
  skipped: z.array(z.object({ knob: z.string(), reason: z.string() })),
  notes: z.array(z.string()),
  knobs: z.array(Knob),
  log: z.array(LogEntry),
  log_total: z.number(),
  truncated: z.boolean(),
  next_offset: z.number().optional(),
  next: z.string(),
});

/**
 * The answer as tools/list shows it: the nested items by their field names only (its budget);
 * the handler's answer has OptimizeAnswer's type (the tests check answers against it), so each item has those fields and types.
 */
const listed = (fields: string) => z.record(z.string(), z.unknown()).describe(fields);
export const OptimizeOutput = OptimizeAnswer.extend({
  current: listed('knob, from, to, target, verify_until').nullable(),
  plan: z.array(listed('knob, from, to, target, goal, baseline, why, expected_effect')),
  applied: z.array(listed('knob, from, to, outcome, target, before, after, improvement, reason')),
  skipped: z.array(listed('knob, reason')),
  knobs: z.array(listed('name, type, target')),
  log: z.array(listed('at, kind, knob, message')),
});

type Out = z.output<typeof OptimizeAnswer>;

const finiteOrNull = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : x);

function logOut(e: OptimizationLogEntry): z.output<typeof LogEntry> {
  return { at: iso(e.at)!, kind: e.kind, knob: e.knob ?? null, message: e.message };
}

function nextStep(r: OptimizationRun): string {
  if (r.state === 'running') {
    const until = r.current ? ` (the change of ${r.current.knob} is judged at ${iso(r.current.verifyUntil)})` : '';
    return `the run goes on in the monitor${until}: read it with optimize_performance { run_id: ${r.runId} }; stop it with { run_id: ${r.runId}, cancel: true }`;
  }
  if (r.dryRun && r.plan.length > 0) return 'nothing changed: apply this plan with auto_apply true (each change is verified and rolled back if it does not help)';
  return 'the run is over';
}

/** The whole answer, before the budget cuts it (runAnswer). */
function runOut(monitor: PerformanceMonitor, r: OptimizationRun, logLimit: number): Out {
  const log = monitor.getOptimizationLog().filter((e) => e.runId === r.runId);
  return {
    run_id: r.runId,
    state: r.state,
    optimization_type: r.type,
    dry_run: r.dryRun,
    auto_apply: r.autoApply,
    verification_window: r.verificationWindowMs / 1000,
    started_at: iso(r.startedAt)!,
    finished_at: iso(r.finishedAt),
    current: r.current ? { knob: r.current.knob, from: r.current.from, to: r.current.to, target: r.current.target, verify_until: iso(r.current.verifyUntil)! } : null,
    plan: r.plan.map((s) => ({ knob: s.knob, from: s.from, to: s.to, target: s.target, goal: s.goal, baseline: finiteOrNull(s.baseline.value), why: s.why, expected_effect: s.expectedEffect })),
    applied: r.applied.map((a) => ({ ...a, before: finiteOrNull(a.before), after: finiteOrNull(a.after), improvement: finiteOrNull(a.improvement) })),
    skipped: r.skipped,
    notes: r.error ? [...r.notes, `the run failed: ${r.error}`] : r.notes,
    knobs: monitor.getTunables().map((t) => ({ name: t.name, type: t.type, target: t.target })),
    log: log.slice(-logLimit).map(logOut),
    log_total: log.length,
    truncated: false,
    next: nextStep(r),
  };
}

/** `cache.size 50 → 60: rolled back to 50; cache_hit_rate 0.5 before, 0.4 after: it got worse by 20%` */
export function appliedLine(a: Pick<AppliedChange, 'knob' | 'from' | 'to' | 'outcome' | 'target' | 'before' | 'after' | 'reason'>): string {
  const what = a.outcome === 'kept' ? `kept at ${num(a.to)}` : a.outcome === 'rolled-back' ? `rolled back to ${num(a.from)}` : `failed, put back to ${num(a.from)}`;
  const after = a.after === null ? 'not measured after' : `${num(a.after)} after`;
  return `${a.knob} ${num(a.from)} → ${num(a.to)}: ${what}; ${a.target} ${num(a.before)} before, ${after}: ${a.reason}`;
}

type Step = z.output<typeof Step>;
type Knob = z.output<typeof Knob>;

const planLine = (s: Step): string => `plan: ${s.knob} ${num(s.from)} → ${num(s.to)}, ${s.target} should ${s.goal}; ${s.why}`;
const skippedLine = (s: { knob: string; reason: string }): string => `skipped ${s.knob}: ${s.reason}`;
const knobLine = (k: Knob): string => `${k.name} (${k.type}, target ${k.target})`;

/**
 * The answer within ANSWER_BYTES unless a limit is asked for: the plan, the changes applied and
 * the skipped knobs from `offset` (each holding one at least, cut to fit when it does not whole),
 * sharing what the envelope and notes leave; then the knobs and the newest log entries, in what
 * is left; for a type without knobs, the few its note names (the knobs are not what it asked
 * for). The text says what was cut and how to get it.
 */
function runAnswer(full: Out, limit: number | undefined, offsetArg: number | undefined, ended: string | undefined): { structured: Out; text: string } {
  const offset = offsetArg ?? 0;
  const mode = full.dry_run ? 'plan (dry run, nothing changed)' : full.auto_apply ? 'auto_apply run' : 'apply run';
  const head = `${ended ? `${ended}\n` : ''}optimisation run ${full.run_id}, ${mode} for ${full.optimization_type}: ${full.state}${full.current ? `, verifying ${full.current.knob} ${num(full.current.from)} → ${num(full.current.to)} on ${full.current.target} until ${full.current.verify_until}` : ''}`;
  const notes = full.notes.map((n) => `note: ${n}`);
  const envelope: Out = { ...full, plan: [], applied: [], skipped: [], knobs: [], log: [], truncated: true, next_offset: 10_000_000 };
  // 600: the page, knobs and log lines, and the JSON around the text.
  let left = ANSWER_BYTES - 600 - jsonBytes(envelope) - textBytes(head) - textBytes(notes.join('\n')) - textBytes(full.next);
  // A quarter of what is left stays for the knobs and the log, which say what there is to tune and what was done.
  const rest = left / 4;
  left -= rest;
  const lists = [full.applied.length, full.plan.length, full.skipped.length].filter((n) => n > offset).length;
  const share = (): number => left / Math.max(1, lists);
  const applied = take(full.applied, (a) => `applied: ${appliedLine(a)}`, limit, share(), offset, 1, ['reason']);
  left -= applied.bytes;
  const plan = take(full.plan, planLine, limit, full.applied.length > offset ? left / Math.max(1, lists - 1) : share(), offset, 1, ['why', 'expected_effect']);
  left -= plan.bytes;
  const skipped = take(full.skipped, skippedLine, limit, left, offset, 1, ['reason']);
  left -= skipped.bytes;
  left += rest;
  const paged: [Taken, number, string][] = [[applied, full.applied.length, 'changes applied'], [plan, full.plan.length, 'plan steps'], [skipped, full.skipped.length, 'skipped knobs']];
  // One offset for the three: the next page starts at the same place in each.
  const next = sameNextOffset(paged.map(([l, total]) => [l, total]), offset);
  const ofType = full.knobs.some((k) => full.optimization_type === 'all' || k.type === full.optimization_type);
  const knobs = take(full.knobs, knobLine, limit ?? (ofType ? undefined : NAMED_KNOBS), left / 2, 0, 0, []);
  left -= knobs.bytes;
  // The newest entries: taken from the end. Asked with a limit, log_limit alone says how many.
  const log = take([...full.log].reverse(), () => '', limit !== undefined ? full.log.length : undefined, left, 0, 0, ['message']);
  log.shown.reverse();
  const truncated = next !== undefined || knobs.shown.length < full.knobs.length || log.shown.length < full.log.length;
  const structured: Out = { ...full, applied: applied.shown as Out['applied'], plan: plan.shown as Out['plan'], skipped: skipped.shown as Out['skipped'], knobs: knobs.shown as Out['knobs'], log: log.shown as Out['log'], truncated, ...(next !== undefined ? { next_offset: next } : {}) };
  const lines = [head, ...plan.lines, ...applied.lines, ...skipped.lines];
  const counts = paged.filter(([, total]) => total > 0).map(([l, total, what]) => `${l.shown.length} of ${total} ${what}`);
  if (next !== undefined) lines.push(`page${offset ? ` from offset ${offset}` : ''}: ${counts.join(', ')}: pass offset ${next} for the next page (limit: up to 1000 a page)`);
  else if (offset > 0) lines.push(`page from offset ${offset}: ${counts.join(', ') || 'none'}`);
  if (paged.some(([l]) => l.clipped && l.shown.length > 0)) lines.push(`an item at offset ${offset} was cut to fit ${ANSWER_BYTES / 1024} KB (clipped names the fields cut, each ending in …): pass offset ${offset} and limit 1 for it whole`);
  lines.push(...notes);
  const more = knobs.shown.length < full.knobs.length ? `; ${full.knobs.length - knobs.shown.length} more (pass limit, up to 1000, for more)` : '';
  lines.push(`knobs: ${knobs.lines.join(', ') || (full.knobs.length ? 'none shown' : "none (the service's code registers them with monitor.registerTunable)")}${more}`);
  if (full.log_total > log.shown.length) lines.push(`log: the newest ${log.shown.length} of ${full.log_total} entries are in structuredContent.log (${log.shown.length < full.log.length ? `cut to fit ${ANSWER_BYTES / 1024} KB: pass limit for the log_limit newest; ` : ''}raise log_limit, up to 1000, for more)`);
  lines.push(`next: ${full.next}`);
  return { structured, text: lines.join('\n') };
}

export default function register(server: McpServer, front: Front): void {
  const host = front.host;
  defineTool(
    server,
    front,
    'optimize_performance',
    {
      title: 'Optimise',
      description:
        "Tune the service's knobs: a plan by default; auto_apply starts a run (run_id) that changes each knob, verifies its target, keeps or rolls back.",
      input: OptimizeInput,
      output: OptimizeOutput,
      annotations: WRITE,
      // A plan and a read of a run change nothing; applying and cancelling (a rollback) do.
      changesState: (args) => (args.run_id !== undefined ? args.cancel === true : !(args.dry_run ?? !args.auto_apply)),
    },
    async (args) => {
      await host.readable();
      const monitor = host.monitor;
      let run: OptimizationRun | undefined;
      let ended: string | undefined;
      if (args.run_id !== undefined) {
        // A cancel of a run that had ended cancels nothing: said so, not answered as a plain read.
        const before = args.cancel ? monitor.getOptimizationRun(args.run_id)?.state : undefined;
        if (before !== undefined && before !== 'running') ended = `nothing to cancel: run ${args.run_id} had already ended (${before})`;
        run = args.cancel ? await monitor.cancelOptimization(args.run_id) : monitor.getOptimizationRun(args.run_id);
        if (!run) throw new InvalidArgumentError('run_id', `${args.run_id} is not a run of this monitor (the last 20 runs are kept): start one with optimization_type`);
      } else {
        try {
          run = monitor.startOptimization({
            type: args.optimization_type!,
            autoApply: args.auto_apply ?? false,
            ...(args.dry_run !== undefined ? { dryRun: args.dry_run } : {}),
            ...(args.verification_window !== undefined ? { verificationWindowMs: Math.round(args.verification_window * 1000) } : {}),
          });
        } catch (error) {
          if (error instanceof OptimizationBusyError) {
            throw new PerfwatchError(error.code, { rule: `optimisation run ${error.runId} is applying changes (one run at a time): read it with optimize_performance { run_id: ${error.runId} }, or stop it with { run_id: ${error.runId}, cancel: true }` });
          }
          throw error;
        }
      }
      return runAnswer(runOut(monitor, run, args.log_limit), args.limit, args.offset, ended);
    },
  );
}
