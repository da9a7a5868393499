/**
 * The optimisation engine: plans one step per tunable (hill climbing on its target metric),
 * and on request applies each step alone, watches the target over a verification window
 * against the window before the change, keeps it when the target improved by at least
 * `minImprovement` and beyond the noise of the two windows (Welch's t-test at LEVEL), and
 * rolls it back otherwise: worse beyond the noise, or not shown to differ from it. The window before a change is read just before
 * it, not taken from the plan: the plan's reading is from when the run started, and the steps
 * before this one moved the target since (a knob that did nothing was once kept for the gain
 * of the knob before it). After a rollback the next step waits a window, in this run or the
 * next, so that the window before it holds none of the change rolled back. A setter that throws, or leaves the knob out
 * of its range or at another value than asked, is rolled back at once. Every plan, change,
 * verification, keep and rollback is appended to the audit log.
 *
 * Direction: a knob continues in the direction that last helped; a direction that did not
 * help from a value is not tried again from that value, nor the step back over a kept change
 * (the side it was shown better than); with both ruled out, the knob is at a local optimum
 * and the plan says so.
 *
 * Runs: applying takes a verification window per step (a minute by default), so a run is
 * started (start()), answers at once with its plan, and goes on by itself; run(id) reads its
 * progress and outcome, cancel(id) stops it (the step being verified is rolled back).
 * optimize() is start() and a wait for the end.
 */
import { InvalidArgumentError, OptimizationBusyError, ReportAbortedError } from '../errors.js';
import { toInvalidArgument } from '../schema-errors.js';
import { welchTest } from '../analysis/stats.js';
import { parseTunable, type OptimizationType, type TargetReading, type Tunable, type TunableDefinition } from './tunables.js';
import { MAX_VERIFICATION_WINDOW_MS, OptimizeOptionsSchema, type AppliedChange, type OptimizationLogEntry, type OptimizationResult, type OptimizationRun, type OptimizeOptions, type PlanStep } from './optimization.js';
import { clearTimeout, setTimeout } from '../engine/real-timers.js';

export interface OptimizerDeps {
  /** Reads the target over [from, to], in the monitor's clock (engine/monitor-clock.ts). */
  measure(tunable: Tunable, from: number, to: number): TargetReading;
  /** The monitor's clock (default Date.now): a verification window is measured in it. */
  now?: () => number;
  /** Makes what the host recorded so far visible to measure(). */
  flush(): Promise<void>;
  verificationWindowMs: () => number;
  /** Facts about knobs that cannot change at runtime, repeated in every result. */
  notes: () => string[];
  /** How long a knob's set() may take (default SET_TIMEOUT_MS). */
  setTimeoutMs?: number;
  /** Keeps audit entries and kept values in the monitor's database (none: memory only). */
  persist?: (change: { entry: OptimizationLogEntry } | { tunable: string; value: number; at: number }) => void;
}

/** What a restarted monitor finds in its database: the newest audit entries and the values the optimiser kept. */
export interface OptimizerState {
  log: OptimizationLogEntry[];
  values: { name: string; value: number; at: number }[];
}

const LOG_LIMIT = 1000;
/**
 * How long a knob's set() (a change, a rollback, a restore) may take to settle before the
 * optimiser gives up on it: a setter whose promise never settled held its run, the busy lock,
 * cancelOptimization() and the host's stop() (or start(), restoring a kept value) forever.
 */
export const SET_TIMEOUT_MS = 10_000;
/** Knobs a note that none of a type exists names; the others are counted by type. */
export const NAMED_KNOBS = 5;
/** Finished runs kept for run(id); a running one is always kept. */
const RUNS_KEPT = 20;
const fmt = (x: number): string => String(Number(x.toPrecision(4)));
/**
 * Samples of the target a window needs, before a change and during its verification: a mean
 * of fewer is one reading's noise, and a step planned or judged on it is a guess (a plan's
 * baseline of one report's time was once its whole evidence).
 */
export const MIN_SAMPLES = 10;
/**
 * The confidence level of a verdict: a change is kept only when its window's mean differs from
 * the window before it's by more than the noise of both at this level (Welch's t-test), and
 * the improvement is at least minImprovement.
 */
export const LEVEL = 0.95;
const samples = (n: number): string => `${n} sample${n === 1 ? '' : 's'}`;

/**
 * What to do about a window with `count` (≥ 1) samples of the target, fewer than MIN_SAMPLES:
 * the window that holds them at this rate, in whole seconds (an agent passes seconds, the
 * library ms), with a sample to spare for where the window's edges fall. "Pass a longer
 * window" alone left the caller to guess: the monitor's own knob on monitor_overhead_cpu,
 * recorded every 10 s, had 6 in the default 60 s and needs 110.
 */
function longerWindow(windowMs: number, count: number): string {
  const seconds = Math.ceil((windowMs * (MIN_SAMPLES + 1)) / count / 1000);
  return seconds * 1000 <= MAX_VERIFICATION_WINDOW_MS
    ? `record it more often, or verify over at least ${seconds} s (which holds ${MIN_SAMPLES} at this rate)`
    : `record it more often (at this rate ${MIN_SAMPLES} take longer than the longest verification window, ${MAX_VERIFICATION_WINDOW_MS / 1000} s)`;
}

/** The samples of a target in a window longer than the one asked, which held none. */
interface Seen {
  windowMs: number;
  count: number;
}

interface Memory {
  /** The value these notes are about; a knob moved by someone else starts afresh. */
  value: number;
  failed: Set<'up' | 'down'>;
  helped?: 'up' | 'down';
}

export class Optimizer {
  private readonly deps: OptimizerDeps;
  private readonly now: () => number;
  private readonly setTimeoutMs: number;
  private readonly tunables = new Map<string, Tunable>();
  private readonly memory = new Map<string, Memory>();
  private readonly log: OptimizationLogEntry[] = [];
  private seq = 0;
  private runCount = 0;
  private readonly runs = new Map<number, { status: OptimizationRun; abort: AbortController; done: Promise<OptimizationRun> }>();
  /** The run applying changes, if any: one at a time, so that each change is verified alone. */
  private applying: number | undefined;
  /**
   * The change the applying run has made and not yet judged or rolled back: its knob reads the
   * value under trial, and its target that value's effect. A plan of another run (a dry run)
   * made from them planned a step from a value about to be rolled back, and took the knob's
   * moved value for someone else's move: what the run had learned of it was dropped, and the
   * next run retried a direction already shown not to help.
   */
  private changing: { runId: number; knob: string; from: number; to: number } | undefined;
  /**
   * When a run last set a knob (a change, a rollback), once what was recorded before was drained
   * (mark()), or undefined before the first change: a window before the next change starts no
   * earlier, in this run or the next.
   */
  private settledAt: number | undefined;
  /**
   * With a database: values kept by a run (restored, or this process's), put back on a knob
   * when it is registered. Changes reach the database only once restore() put the stored
   * ones first, so that the audit log's numbers follow on.
   */
  private readonly kept = new Map<string, number>();
  private restored = false;

  constructor(deps: OptimizerDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
    this.setTimeoutMs = deps.setTimeoutMs ?? SET_TIMEOUT_MS;
  }

  register(definition: TunableDefinition, builtin = false): void {
    const t = parseTunable(definition, builtin);
    if (this.tunables.has(t.name)) throw new InvalidArgumentError('tunable.name', `"${t.name}" is already registered`);
    this.tunables.set(t.name, t);
    if (this.kept.has(t.name)) void this.reapply(t);
  }

  /**
   * Puts back what the database held (a monitor restarted on its dataDir): the audit log
   * (entries made since construction follow it, renumbered), and the kept values, set on the
   * knobs registered now and on the others when they are; resolves once the first are set.
   */
  async restore(state: OptimizerState): Promise<void> {
    const lastSeq = state.log.at(-1)?.seq ?? 0;
    const since = this.log.splice(0).map((e, i) => ({ ...e, seq: lastSeq + i + 1 }));
    this.log.push(...state.log, ...since);
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
    this.seq = lastSeq + since.length;
    this.restored = true;
    for (const e of since) this.deps.persist?.({ entry: e });
    this.runCount = Math.max(this.runCount, ...state.log.map((e) => e.runId));
    const fresh = state.values.filter((v) => !this.kept.has(v.name));
    for (const v of fresh) this.kept.set(v.name, v.value);
    await Promise.all(fresh.map((v) => this.tunables.get(v.name)).filter((t) => t !== undefined).map((t) => this.reapply(t)));
  }

  /** Sets a knob to the value a run kept, if it is elsewhere and the value is in its range now; audited either way. */
  private async reapply(t: Tunable): Promise<void> {
    const value = this.kept.get(t.name)!;
    const skip = (message: string): void => this.append({ runId: 0, kind: 'error', knob: t.name, to: value, message: `not restored: ${message}` });
    try {
      const from = t.get();
      if (value < t.min || value > t.max) return skip(`the kept value ${fmt(value)} is outside [${fmt(t.min)}, ${fmt(t.max)}] now`);
      if (Math.abs(from - value) <= t.step / 2) return;
      await setKnob(t, value, this.setTimeoutMs);
      this.append({ runId: 0, kind: 'restore', knob: t.name, from, to: value, message: `set ${t.name} back to ${fmt(value)}, the value a run kept` });
    } catch (error) {
      skip(setFailure(value, error));
    }
  }

  unregister(name: string): boolean {
    this.memory.delete(name);
    return this.tunables.delete(name);
  }

  list(): Omit<Tunable, 'get' | 'set'>[] {
    return [...this.tunables.values()].map(({ get: _g, set: _s, ...rest }) => rest);
  }

  /** The values runs kept (restored or this process's), for a new database (the file was removed while running). */
  keptValues(): { name: string; value: number }[] {
    return [...this.kept].map(([name, value]) => ({ name, value }));
  }

  getLog(): OptimizationLogEntry[] {
    return this.log.map((e) => ({ ...e, ...(e.details ? { details: { ...e.details } } : {}) }));
  }

  /**
   * Plans, and unless it is a dry run starts applying in the background: answers at once
   * with the run as it stands (a dry run's is done). Validation and busy errors throw here.
   */
  start(input?: OptimizeOptions): OptimizationRun {
    const parsed = OptimizeOptionsSchema.safeParse(input ?? {});
    if (!parsed.success) throw toInvalidArgument(parsed.error, input ?? {}, '', 'option', OptimizeOptionsSchema);
    const o = parsed.data;
    if (o.autoApply && o.dryRun === true) throw new InvalidArgumentError('autoApply', 'cannot be true with dryRun true: a dry run changes nothing');
    const dryRun = o.dryRun ?? !o.autoApply;
    const windowMs = o.verificationWindowMs ?? this.deps.verificationWindowMs();
    if (!dryRun && this.applying !== undefined) throw new OptimizationBusyError(this.applying);
    const runId = ++this.runCount;
    const status: OptimizationRun = {
      runId, type: o.type, dryRun, autoApply: o.autoApply, verificationWindowMs: windowMs, plan: [], skipped: [], applied: [], notes: this.deps.notes(),
      state: 'running', startedAt: this.now(), finishedAt: null, current: null, error: null,
    };
    const knobs = [...this.tunables.values()].filter((t) => o.type === 'all' || t.type === o.type);
    if (knobs.length === 0) status.notes.push(this.noKnobsNote(o.type));
    for (const t of knobs) {
      const step = this.planStep(t, windowMs, runId, status);
      if (step) status.plan.push(step);
    }
    const abort = new AbortController();
    o.signal?.addEventListener('abort', () => abort.abort(), { once: true });
    let done: Promise<OptimizationRun>;
    if (dryRun || status.plan.length === 0) {
      status.state = 'done';
      status.finishedAt = this.now();
      done = Promise.resolve(status);
    } else {
      this.applying = runId;
      done = this.applyPlan(status, o.maxSteps, o.minImprovement, abort.signal).finally(() => {
        this.applying = undefined;
      });
    }
    this.runs.set(runId, { status, abort, done });
    this.forgetOldRuns();
    return copyRun(status);
  }

  /** Plans and (unless a dry run) applies, resolving when the run ends. */
  async optimize(input?: OptimizeOptions): Promise<OptimizationResult> {
    const { runId } = this.start(input);
    const run = await this.runs.get(runId)!.done;
    const { state: _s, startedAt: _a, finishedAt: _f, current: _c, error: _e, ...result } = copyRun(run);
    return result;
  }

  /** A run as it stands (a copy), or undefined when there is no such run (or it was forgotten). */
  run(runId: number): OptimizationRun | undefined {
    const run = this.runs.get(runId);
    return run ? copyRun(run.status) : undefined;
  }

  /** Ids of the runs kept, newest last. */
  runIds(): number[] {
    return [...this.runs.keys()];
  }

  /**
   * Stops a run: the step being verified is rolled back, the steps after it are not tried.
   * Resolves with the run once it has stopped; a run already over is returned as it is.
   */
  async cancel(runId: number): Promise<OptimizationRun | undefined> {
    const run = this.runs.get(runId);
    if (!run) return undefined;
    run.abort.abort();
    return copyRun(await run.done);
  }

  /** Cancels every running run and waits for their rollbacks (the monitor is stopping). */
  async cancelAll(): Promise<void> {
    await Promise.all([...this.runs.keys()].filter((id) => this.runs.get(id)!.status.state === 'running').map((id) => this.cancel(id)));
  }

  private async applyPlan(status: OptimizationRun, maxSteps: number, minImprovement: number, signal: AbortSignal): Promise<OptimizationRun> {
    const runId = status.runId;
    const tried = new Set<PlanStep>();
    try {
      for (const first of [...status.plan]) {
        let step: PlanStep | undefined = first;
        for (let i = 0; step && i < maxSteps; i++) {
          // Every change settles first, a run's first too: the window before it must hold none of
          // the last run's change rolled back or cancelled (a knob that did nothing was kept for
          // the recovery from the rollback just before its run). Before any change, none waits.
          if (signal.aborted || (this.settledAt !== undefined && !(await this.settle(this.settledAt, status.verificationWindowMs, signal)))) break;
          tried.add(step);
          // Unregistered since it was planned: the run goes on with the other knobs. Looked up
          // blindly, a knob gone mid-run failed the whole run with "Cannot read properties of
          // undefined (reading 'name')", and the knobs after it were never tried.
          const t: Tunable | undefined = this.tunables.get(step.knob);
          if (t === undefined) {
            const reason = `not applied: unregistered during the run, before this step (${fmt(step.from)} → ${fmt(step.to)})`;
            status.skipped.push({ knob: step.knob, reason });
            this.append({ runId, kind: 'skip', knob: step.knob, message: reason });
            break;
          }
          let change: AppliedChange | undefined;
          try {
            change = await this.apply(t, step, status, minImprovement, signal);
          } finally {
            this.changing = undefined;
          }
          if (!change) break;
          status.applied.push(change);
          if (!status.autoApply || change.outcome !== 'kept') break;
          // The last step maxSteps allows: no next one is planned (a plan step is one done or to
          // be done), and the run says why the knob stopped while its steps still helped.
          if (i + 1 === maxSteps) {
            // At the knob's bound another run cannot go on either: its range must widen first.
            const bound = change.to >= t.max ? 'max' : change.to <= t.min ? 'min' : undefined;
            const next = bound === undefined ? 'start another run to go on' : `it is at its bound (${fmt(change.to)} in [${fmt(t.min)}, ${fmt(t.max)}]): widen the knob's range (${bound}) for it to go further`;
            this.skip(t, `not stepped further: maxSteps (${maxSteps}) ended the run after ${maxSteps} step${maxSteps === 1 ? '' : 's'} of it, the last of which helped (${fmt(change.from)} → ${fmt(change.to)}); ${next}`, runId, status);
            break;
          }
          // The next step is planned only while the knob is still registered (its next turn looks it up again).
          step = this.tunables.has(t.name) ? this.planStep(t, status.verificationWindowMs, runId, status) : undefined;
          if (step) status.plan.push(step);
        }
      }
      status.state = signal.aborted ? 'cancelled' : 'done';
    } catch (error) {
      status.state = 'failed';
      status.error = error instanceof Error ? error.message : String(error);
      this.append({ runId, kind: 'error', message: `the run stopped: ${status.error}` });
    }
    if (status.state === 'cancelled') {
      for (const s of status.plan) if (!tried.has(s)) status.skipped.push({ knob: s.knob, reason: `not applied: the run was cancelled before it (${fmt(s.from)} → ${fmt(s.to)})` });
    }
    status.current = null;
    status.finishedAt = this.now();
    return status;
  }

  /**
   * Before a change after one of this or an earlier run: makes what was recorded visible, as before a
   * verification, once a window has passed since the knobs were last set (after a rollback it
   * waits; after a kept change its verification window has passed), so that the window read
   * before the change holds only the knobs as they stand. False when the run was cancelled.
   */
  private async settle(settledAt: number, windowMs: number, signal: AbortSignal): Promise<boolean> {
    try {
      for (;;) {
        await this.deps.flush().catch(() => {});
        const wait = settledAt + windowMs - this.now();
        if (wait <= 0) return !signal.aborted;
        await sleep(wait, signal);
      }
    } catch {
      return false;
    }
  }

  /**
   * What to do when no knob of `type` exists: only the service's code can register one. The
   * knobs registered are named up to NAMED_KNOBS, then counted by type: a service with 120
   * knobs of type cache made the note of "no tunable of type memory" 24.7 KB over MCP.
   */
  private noKnobsNote(type: OptimizationType): string {
    const all = [...this.tunables.values()];
    const named = all.slice(0, NAMED_KNOBS).map((t) => `${t.name} (${t.type})`);
    const byType = new Map<string, number>();
    for (const t of all) byType.set(t.type, (byType.get(t.type) ?? 0) + 1);
    const more = all.length > named.length ? ` and ${all.length - named.length} more (${[...byType].map(([k, n]) => `${n} of type ${k}`).join(', ')} in all)` : '';
    return `No tunable of type ${type} is registered. Knobs are registered by the service's code, not by a caller of optimize: monitor.registerTunable({ name, type${type === 'all' ? '' : `: '${type}'`}, get, set, min, max, step, target }). Registered now: ${named.length ? named.join(', ') : 'none'}${more}.`;
  }

  private forgetOldRuns(): void {
    for (const [id, run] of this.runs) {
      if (this.runs.size <= RUNS_KEPT) break;
      if (run.status.state !== 'running') this.runs.delete(id);
    }
  }

  private append(entry: Omit<OptimizationLogEntry, 'seq' | 'at'>): void {
    const full = { seq: ++this.seq, at: this.now(), ...entry };
    this.log.push(full);
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
    if (this.restored) this.deps.persist?.({ entry: full });
  }

  private skip(t: Tunable, reason: string, runId: number, result: OptimizationResult): undefined {
    result.skipped.push({ knob: t.name, reason });
    this.append({ runId, kind: 'skip', knob: t.name, message: reason });
    return undefined;
  }

  private planStep(t: Tunable, windowMs: number, runId: number, result: OptimizationResult): PlanStep | undefined {
    let from: number;
    try {
      from = t.get();
    } catch (error) {
      return this.skip(t, `get() threw: ${error instanceof Error ? error.message : String(error)}`, runId, result);
    }
    if (!Number.isFinite(from)) return this.skip(t, `get() returned ${from}, not a finite number`, runId, result);
    const c = this.changing;
    if (c && c.knob === t.name && c.runId !== runId) {
      return this.skip(t, `run ${c.runId} is trying it at ${fmt(c.to)} (from ${fmt(c.from)}) and has not judged that change yet: the knob and ${t.target} now show the trial, not where the knob stays; plan it once run ${c.runId} is over`, runId, result);
    }
    let mem = this.memory.get(t.name);
    if (!mem || mem.value !== from) {
      mem = { value: from, failed: new Set(), ...(mem?.helped ? { helped: mem.helped } : {}) };
      this.memory.set(t.name, mem);
    }
    const first = mem.helped ?? t.prefer;
    const order: ('up' | 'down')[] = [first, first === 'up' ? 'down' : 'up'];
    let direction: 'up' | 'down' | undefined;
    let to = from;
    for (const d of order) {
      if (mem.failed.has(d)) continue;
      const next = Math.min(t.max, Math.max(t.min, d === 'up' ? from + t.step : from - t.step));
      if (next === from) continue;
      direction = d;
      to = next;
      break;
    }
    if (!direction) {
      const bound = `at its bound (${fmt(from)} in [${fmt(t.min)}, ${fmt(t.max)}])`;
      const reason =
        mem.failed.size === 2
          ? `at a local optimum: neither direction improved ${t.target} from ${fmt(from)}`
          : mem.helped && !mem.failed.has(mem.helped)
            ? `${bound}: the last step ${mem.helped} helped, and a step back would undo it; widen the knob's range (${mem.helped === 'up' ? 'max' : 'min'}) for it to go further`
            : `${bound} and the other direction did not help`;
      return this.skip(t, reason, runId, result);
    }
    const now = this.now();
    const reading = this.deps.measure(t, now - windowMs, now);
    const unfit = unfitBaseline(t, reading, windowMs, () => this.seen(t, now, windowMs));
    if (unfit) return this.skip(t, unfit, runId, result);
    const reason = mem.helped === direction ? `the last step ${direction} improved it` : mem.failed.size ? `a step ${direction === 'up' ? 'down' : 'up'} from here did not help` : `first step, ${direction} as preferred`;
    const step: PlanStep = {
      knob: t.name,
      type: t.type,
      from,
      to,
      direction,
      target: t.target,
      goal: t.goal,
      baseline: { value: reading.value, count: reading.count, from: now - windowMs, to: now, source: reading.source },
      why: `${t.target} averaged ${fmt(reading.value)}${reading.unit} over the last ${windowMs} ms (${samples(reading.count)}) and should ${t.goal}; ${reason}.`,
      expectedEffect: `${t.target} to ${t.goal} from ${fmt(reading.value)}${reading.unit}; the change is kept only if it improves by at least the minimum, beyond the noise, over a ${windowMs} ms verification window, else rolled back to ${fmt(from)}.`,
    };
    this.append({ runId, kind: 'plan', knob: t.name, from, to, message: step.why, details: { baseline: reading.value, samples: reading.count } });
    return step;
  }

  /**
   * Applies a step and judges it against the target over the window just before it (read here:
   * the plan's baseline is from when the run started). Undefined when that window cannot be a
   * baseline (too few samples, or the target already at its best): the step is skipped, the
   * knob left as it is.
   */
  private async apply(t: Tunable, step: PlanStep, run: OptimizationRun, minImprovement: number, signal: AbortSignal): Promise<AppliedChange | undefined> {
    const { runId, verificationWindowMs: windowMs } = run;
    const mem = this.memory.get(t.name)!;
    const at = this.now();
    const baseline = this.deps.measure(t, at - windowMs, at);
    const unfit = unfitBaseline(t, baseline, windowMs, () => this.seen(t, at, windowMs));
    if (unfit) return this.skip(t, `not applied (${fmt(step.from)} → ${fmt(step.to)}): ${unfit}`, runId, run);
    const before = baseline.value;
    const change: AppliedChange = { knob: t.name, from: step.from, to: step.to, outcome: 'failed', target: t.target, before, after: null, improvement: null, reason: '' };
    // `judged` false: rolled back before its effect could be judged (cancelled, too few samples),
    // which says nothing of its direction: counted as failed, it kept the knob from that
    // direction for the rest of the process, and plans said it "did not help".
    const fail = async (reason: string, outcome: AppliedChange['outcome'] = 'failed', judged = true): Promise<AppliedChange> => {
      run.current = null;
      change.outcome = outcome;
      change.reason = await this.rollback(t, step, reason, runId);
      if (judged) mem.failed.add(step.direction);
      return change;
    };
    this.append({ runId, kind: 'change', knob: t.name, from: step.from, to: step.to, message: `setting ${t.name} from ${fmt(step.from)} to ${fmt(step.to)}; ${t.target} averaged ${fmt(before)}${baseline.unit} over the last ${windowMs} ms (${samples(baseline.count)})`, details: { before, samples: baseline.count } });
    run.current = { knob: t.name, from: step.from, to: step.to, target: t.target, verifyUntil: this.now() + windowMs };
    this.changing = { runId, knob: t.name, from: step.from, to: step.to };
    let returned: unknown;
    try {
      returned = await setKnob(t, step.to, this.setTimeoutMs, signal);
    } catch (error) {
      // Cancelled while set() was pending: its effect was never judged, its direction not failed.
      return error instanceof SetCancelled ? fail(error.message, 'rolled-back', false) : fail(setFailure(step.to, error));
    }
    const out = this.outOfRange(t, returned, step.to);
    if (out) return fail(out);
    await this.mark();
    const changedAt = this.now();
    // The verification window starts past the samples the flush drained (mark()).
    const windowFrom = this.settledAt!;
    run.current.verifyUntil = changedAt + windowMs;
    try {
      await sleep(windowMs, signal);
    } catch {
      return fail(`cancelled after ${fmt((this.now() - changedAt) / 1000)} s of the ${fmt(windowMs / 1000)} s verification window, before ${t.target} could be judged`, 'rolled-back', false);
    }
    run.current = null;
    await this.deps.flush().catch(() => {});
    const reading = this.deps.measure(t, windowFrom, this.now());
    if (reading.count === 0) return fail(`no ${t.target} samples during the ${fmt(windowMs / 1000)} s verification window: the change could not be judged`, 'rolled-back', false);
    if (reading.count < MIN_SAMPLES) return fail(`only ${samples(reading.count)} of ${t.target} during the ${fmt(windowMs / 1000)} s verification window, fewer than the ${MIN_SAMPLES} needed to judge the change`, 'rolled-back', false);
    const delta = t.goal === 'decrease' ? before - reading.value : reading.value - before;
    const improvement = before !== 0 ? delta / Math.abs(before) : delta > 0 ? Infinity : delta < 0 ? -Infinity : 0;
    change.after = reading.value;
    change.improvement = Number.isFinite(improvement) ? improvement : null;
    // Two windows of the same knob differ by their noise alone: a knob that did nothing read
    // 24.86% better, then 23.49% worse, and one slow request before it 94.2% better. Welch's
    // test of the two means, each with the spread of its samples, says whether the difference
    // is beyond that noise.
    const test = welchTest({ mean: before, se: baseline.se, df: baseline.df }, { mean: reading.value, se: reading.se, df: reading.df }, LEVEL);
    const significant = test.p < 1 - LEVEL;
    const u = reading.unit;
    const noise = Number.isFinite(test.margin) ? `±${fmt(test.margin)}${u} (${LEVEL * 100}%)` : 'the spread of its samples unknown';
    const moved = `${fmt(before)}${u} → ${fmt(reading.value)}${u}`;
    const pct = fmt(Math.abs(improvement) * 100);
    this.append({ runId, kind: 'verify', knob: t.name, from: step.from, to: step.to, message: `${t.target} ${fmt(before)}${u} before, ${fmt(reading.value)}${u} after (${improvement === 0 ? 'no change' : `${pct}% ${improvement > 0 ? 'better' : 'worse'}`}; difference ${noise}: ${significant ? 'beyond the noise' : 'within the noise'})`, details: { before, after: reading.value, improvement, samples: reading.count, margin: Number.isFinite(test.margin) ? test.margin : null, p: Number.isFinite(test.p) ? test.p : null } });
    if (significant && improvement > 0 && improvement >= minImprovement) {
      change.outcome = 'kept';
      change.reason = `${t.target} improved ${pct}% (${moved}), beyond the noise: difference ${noise}`;
      mem.value = step.to;
      mem.failed.clear();
      mem.helped = step.direction;
      // The step back from here lands where this change came from, or past it: that is the
      // side this change was just shown worse than. Tried, it applied a known-worse value for
      // a window (at the top of a climb, or at the knob's bound) to learn it again.
      const back = step.direction === 'up' ? Math.max(t.min, step.to - t.step) : Math.min(t.max, step.to + t.step);
      if (step.direction === 'up' ? back <= step.from : back >= step.from) mem.failed.add(step.direction === 'up' ? 'down' : 'up');
      if (this.restored && this.deps.persist) {
        this.kept.set(t.name, step.to);
        this.deps.persist({ tunable: t.name, value: step.to, at: this.now() });
      }
      this.append({ runId, kind: 'keep', knob: t.name, from: step.from, to: step.to, message: change.reason });
      return change;
    }
    // Not shown to help (within the noise, or less than the minimum): rolled back, as a change
    // that cannot be shown to help should not stay.
    const why = !significant
      ? `no change of ${t.target} shown beyond the noise: mean ${moved}, difference ${noise}`
      : improvement < 0
        ? `${t.target} got worse by ${pct}% (${moved}), beyond the noise: difference ${noise}`
        : `${t.target} improved ${pct}% (${moved}), less than the ${fmt(minImprovement * 100)}% needed`;
    if (mem.helped === step.direction) delete mem.helped;
    return fail(why, 'rolled-back');
  }

  /** Why the knob is not where it was asked to go, or undefined when it is. */
  private outOfRange(t: Tunable, returned: unknown, wanted: number): string | undefined {
    if (typeof returned === 'number' && (!Number.isFinite(returned) || returned < t.min || returned > t.max)) {
      return `set(${fmt(wanted)}) returned ${returned}, outside [${fmt(t.min)}, ${fmt(t.max)}]`;
    }
    let actual: number;
    try {
      actual = t.get();
    } catch (error) {
      return `get() threw after set: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (!Number.isFinite(actual) || actual < t.min || actual > t.max) return `after set(${fmt(wanted)}) the knob reads ${actual}, outside [${fmt(t.min)}, ${fmt(t.max)}]`;
    if (Math.abs(actual - wanted) > t.step / 2) return `set(${fmt(wanted)}) left the knob at ${fmt(actual)}`;
    return undefined;
  }

  /**
   * For a window of `windowMs` to `at` that held no sample of the target: the first window
   * doubling from it (up to the longest verification window) that holds one, and its count,
   * or undefined. The shortest such window: a longer one may reach back past the monitor's
   * start, and its rate would read lower than the target is sampled.
   */
  private seen(t: Tunable, at: number, windowMs: number): Seen | undefined {
    for (let w = Math.min(2 * windowMs, MAX_VERIFICATION_WINDOW_MS); w > windowMs; w = Math.min(2 * w, MAX_VERIFICATION_WINDOW_MS)) {
      const { count } = this.deps.measure(t, at - w, at);
      if (count > 0) return { windowMs: w, count };
      if (w === MAX_VERIFICATION_WINDOW_MS) break;
    }
    return undefined;
  }

  /** Puts the knob back and says how that went; returns the reason with the rollback's outcome. */
  private async rollback(t: Tunable, step: PlanStep, reason: string, runId: number): Promise<string> {
    try {
      await setKnob(t, step.from, this.setTimeoutMs);
      const now = t.get();
      if (Math.abs(now - step.from) > t.step / 2) throw new Error(`the knob reads ${now} after set(${step.from})`);
      this.append({ runId, kind: 'rollback', knob: t.name, from: step.to, to: step.from, message: `rolled back to ${fmt(step.from)}: ${reason}` });
      return reason;
    } catch (error) {
      const message = `rollback of ${t.name} to ${fmt(step.from)} failed: ${error instanceof Error ? error.message : String(error)} (after: ${reason})`;
      this.append({ runId, kind: 'error', knob: t.name, from: step.to, to: step.from, message });
      return message;
    } finally {
      await this.mark();
    }
  }

  /**
   * After a knob was set: drains what the host recorded so far, and notes the millisecond
   * after that (a window read from then holds only what was recorded after the set). A sample
   * is stamped when the collector drains it, up to a pass (~250 ms) after it was recorded:
   * those recorded before a change and drained after it fell in the window after it (a
   * verification read 0.58 for the 0.6 a change made), and so in the window before the next
   * step; the flush stamps them with its own millisecond, which a window's start includes.
   */
  private async mark(): Promise<void> {
    await this.deps.flush().catch(() => {});
    this.settledAt = this.now() + 1;
  }
}

/**
 * Why a reading of the target over the last window cannot be a step's baseline (no or too few
 * samples, or the target already at the end of its range its goal moves to), or undefined.
 * `seen` reads a longer window, only for a reading without samples.
 */
function unfitBaseline(t: Tunable, reading: TargetReading, windowMs: number, seen: () => Seen | undefined): string | undefined {
  if (reading.count === 0) {
    // A target sampled less often than the window (monitor_overhead_cpu every 10 s, in a 5 s
    // window) holds none in any such window: the rate seen over a longer one says which would.
    const wider = seen();
    const hint = wider ? `; ${samples(wider.count)} in the last ${wider.windowMs} ms: ${longerWindow(wider.windowMs, wider.count)}` : '';
    return `no ${t.target} samples in the last ${windowMs} ms: nothing to verify a change against${hint}`;
  }
  if (reading.count < MIN_SAMPLES) {
    return `only ${samples(reading.count)} of ${t.target} in the last ${windowMs} ms, fewer than the ${MIN_SAMPLES} a step needs before and after a change: ${longerWindow(windowMs, reading.count)}`;
  }
  // A target already at the end of its range its goal moves to (no errors left, every lookup a
  // hit) can be improved by no change: a step would only risk the service, and be rolled back.
  const best = t.goal === 'decrease' ? reading.range[0] : reading.range[1];
  if (reading.value === best) {
    return `${t.target} averaged ${fmt(reading.value)}${reading.unit} over the last ${windowMs} ms (${samples(reading.count)}), the ${t.goal === 'decrease' ? 'least' : 'most'} it can be: no change can ${t.goal} it`;
  }
  return undefined;
}

/** set() did not settle within the limit. */
class SetTimedOut extends Error {}
/** The run was cancelled while set() was pending. */
class SetCancelled extends Error {}

/** Why set(value) failed, as a change's or a restore's reason gives it. */
function setFailure(value: number, error: unknown): string {
  if (error instanceof SetTimedOut) return error.message;
  return `set(${fmt(value)}) threw: ${error instanceof Error ? error.message : String(error)}`;
}

/**
 * Calls the knob's set() (at once, as a synchronous setter expects) and waits for it at most
 * `limitMs`, or until `signal` aborts: what it returns, or a rejection (its own error,
 * SetTimedOut, SetCancelled). A set() that settles later is left to do so: it cannot be
 * stopped, and waiting for it held the run, its cancel and the host's stop() forever.
 */
function setKnob(t: Tunable, value: number, limitMs: number, signal?: AbortSignal): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let pending: Promise<unknown>;
    try {
      pending = Promise.resolve(t.set(value));
    } catch (error) {
      return reject(error);
    }
    const onAbort = (): void => {
      end();
      reject(new SetCancelled(`cancelled while set(${fmt(value)}) was pending, before ${t.target} could be judged`));
    };
    const timer = setTimeout(() => {
      end();
      reject(new SetTimedOut(`set(${fmt(value)}) did not settle within ${limitMs} ms, the limit on a knob's set(): make it finish sooner (it may still complete, and move the knob, later)`));
    }, limitMs);
    timer.unref();
    const end = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    pending.then(
      (v) => {
        end();
        resolve(v);
      },
      (error: unknown) => {
        end();
        reject(error);
      },
    );
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ReportAbortedError('optimize() was cancelled'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    // A run of startOptimization() (an agent's through MCP) has no caller waiting on it: ref'd,
    // its verification windows (up to an hour each) held a service that closed its server on
    // SIGTERM until the run's end. The monitor's stop at 'beforeExit' cancels it instead, the
    // change under verification rolled back; optimize(), whose caller waits, holds the host.
    timer.unref();
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new ReportAbortedError('optimize() was cancelled'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A deep enough copy for a caller to keep: the run goes on changing its own. */
function copyRun(r: OptimizationRun): OptimizationRun {
  return {
    ...r,
    plan: r.plan.map((s) => ({ ...s, baseline: { ...s.baseline } })),
    skipped: r.skipped.map((s) => ({ ...s })),
    applied: r.applied.map((a) => ({ ...a })),
    notes: [...r.notes],
    current: r.current ? { ...r.current } : null,
  };
}
