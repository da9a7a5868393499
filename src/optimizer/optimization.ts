/**
 * What the optimisation engine takes and hands out: its options (a zod schema, the source of
 * their type and limits), the plan steps, the changes applied with their verification, runs
 * and the audit log. Plain data, as the MCP front and the library's callers keep copies.
 */
import { z } from 'zod';
import { OPTIMIZATION_TYPES, type Goal, type OptimizationType, type TargetReading, type TunableType } from './tunables.js';

/** The longest verification window, ms. */
export const MAX_VERIFICATION_WINDOW_MS = 3_600_000;

export const OptimizeOptionsSchema = z.strictObject({
  type: z.enum(OPTIMIZATION_TYPES, { error: `must be one of ${OPTIMIZATION_TYPES.join(', ')}` }).default('all'),
  dryRun: z.boolean({ error: 'must be a boolean' }).optional(),
  autoApply: z.boolean({ error: 'must be a boolean' }).default(false),
  verificationWindowMs: z.number({ error: 'must be an integer from 100 to 3600000 ms' }).int({ error: 'must be an integer from 100 to 3600000 ms' }).min(100, { error: 'must be an integer from 100 to 3600000 ms' }).max(MAX_VERIFICATION_WINDOW_MS, { error: 'must be an integer from 100 to 3600000 ms' }).optional(),
  minImprovement: z.number({ error: 'must be a number from 0 to 1' }).min(0, { error: 'must be a number from 0 to 1' }).max(1, { error: 'must be a number from 0 to 1' }).default(0.02),
  maxSteps: z.number({ error: 'must be an integer from 1 to 20' }).int({ error: 'must be an integer from 1 to 20' }).min(1, { error: 'must be an integer from 1 to 20' }).max(20, { error: 'must be an integer from 1 to 20' }).default(5),
  signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, { error: 'must be an AbortSignal' }).optional(),
});
export type OptimizeOptions = z.input<typeof OptimizeOptionsSchema>;

export interface PlanStep {
  knob: string;
  type: TunableType;
  from: number;
  to: number;
  direction: 'up' | 'down';
  target: string;
  goal: Goal;
  /**
   * The target over the window before the plan was made. Applied, the change is verified
   * against the window just before it is made (AppliedChange.before), which the steps applied
   * before it may have moved.
   */
  baseline: { value: number; count: number; from: number; to: number; source: TargetReading['source'] };
  why: string;
  expectedEffect: string;
}

export interface AppliedChange {
  knob: string;
  from: number;
  to: number;
  outcome: 'kept' | 'rolled-back' | 'failed';
  /**
   * The metric the change was verified on, and its value before and after the change: before,
   * over a verification window's length just before it was made; after, over the verification
   * window.
   */
  target: string;
  before: number | null;
  /** Null when the target was not measured after the change (the reason says why). */
  after: number | null;
  /** Relative improvement of the target in the good direction (negative: worse). */
  improvement: number | null;
  reason: string;
}

export interface OptimizationResult {
  runId: number;
  type: OptimizationType;
  dryRun: boolean;
  autoApply: boolean;
  verificationWindowMs: number;
  plan: PlanStep[];
  skipped: { knob: string; reason: string }[];
  applied: AppliedChange[];
  notes: string[];
}

export type RunState = 'running' | 'done' | 'cancelled' | 'failed';

/** A run as run(id) shows it: the result so far, where it is, and when it started and ended. */
export interface OptimizationRun extends OptimizationResult {
  state: RunState;
  startedAt: number;
  finishedAt: number | null;
  /** The step being verified: its knob, the change, and when its verification window ends. */
  current: { knob: string; from: number; to: number; target: string; verifyUntil: number } | null;
  /** Why a run failed (an error thrown by the engine itself, not by a knob). */
  error: string | null;
}

/** `restore`: a value a run kept, set again on a monitor restarted from its database (runId 0). */
export type LogKind = 'plan' | 'skip' | 'change' | 'verify' | 'keep' | 'rollback' | 'error' | 'restore';

export interface OptimizationLogEntry {
  seq: number;
  at: number;
  runId: number;
  kind: LogKind;
  knob?: string;
  from?: number;
  to?: number;
  message: string;
  details?: Record<string, number | string | boolean | null>;
}
