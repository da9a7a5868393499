/**
 * Errors thrown by perfwatch. Each failure has its own class and a stable `code`
 * (matched by callers and by the MCP/HTTP fronts), and a message that names the
 * field, what is wrong with the value and the limit.
 */
import type { z } from 'zod';

/** Base class: every error perfwatch throws on purpose is one of these. */
export class PerfwatchError extends Error {
  readonly code: string;
  /** The argument or option at fault, when there is one (`metric`, `tags.route`, …). */
  readonly field: string | undefined;

  constructor(code: string, message: string, field?: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.field = field;
  }
}

/** An argument or option is malformed or out of range. */
export class InvalidArgumentError extends PerfwatchError {
  constructor(field: string, message: string) {
    super('PW_ERR_INVALID_ARG', `${field} ${message}`, field);
  }
}

/** A new series would exceed the configured cardinality limit. */
export class CardinalityError extends PerfwatchError {
  constructor(message: string, field = 'tags') {
    super('PW_ERR_CARDINALITY', message, field);
  }
}

/** A metric name was registered before with another kind or unit. */
export class KindMismatchError extends PerfwatchError {
  constructor(message: string) {
    super('PW_ERR_KIND_MISMATCH', message, 'kind');
  }
}

/** A bounded shared buffer (registry arena, producer rings) has no room left. */
export class CapacityError extends PerfwatchError {
  constructor(field: string, message: string) {
    super('PW_ERR_CAPACITY', `${field} ${message}`, field);
  }
}

/** record() or another data call on a monitor (or producer) that is not running. */
export class MonitorStoppedError extends PerfwatchError {
  constructor(message = 'the monitor is not running: call start() before recording') {
    super('PW_ERR_STOPPED', message);
  }
}

/** A worker-thread actor failed; the coordinator restarts it. */
export class ActorError extends PerfwatchError {
  readonly actor: string;
  constructor(actor: string, message: string) {
    super('PW_ERR_ACTOR', `${actor}: ${message}`);
    this.actor = actor;
  }
}

/** A report or baseline task was cancelled through its AbortSignal. */
export class ReportAbortedError extends PerfwatchError {
  constructor(message = 'the report was cancelled: its AbortSignal was aborted') {
    super('PW_ERR_ABORTED', message, 'signal');
  }
}

/** A report or baseline task ran past reports.timeoutMs; its thread was replaced. */
export class ReportTimeoutError extends PerfwatchError {
  constructor(timeoutMs: number) {
    super('PW_ERR_REPORT_TIMEOUT', `the report task ran for more than reports.timeoutMs (${timeoutMs} ms): it was stopped and its thread replaced; raise reports.timeoutMs for reports over this much data`, 'reports.timeoutMs');
  }
}

/** A report task failed in the pool (a bug or an out-of-memory thread), not by bad input. */
export class ReportFailedError extends PerfwatchError {
  constructor(message: string) {
    super('PW_ERR_REPORT', `the report task failed: ${message}`);
  }
}

/** optimize() with dryRun false while another run is applying changes. */
export class OptimizationBusyError extends PerfwatchError {
  /** The run that is applying. */
  readonly runId: number;
  constructor(runId: number) {
    super('PW_ERR_BUSY', `optimisation run ${runId} is applying changes: wait for it to end or cancel it (one run applies at a time, so that each change is verified alone)`);
    this.runId = runId;
  }
}

/** Formats a value for an error message without flooding it. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  }
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value;
}

/** Turns the first schema issue into an InvalidArgumentError naming the field. */
export function toInvalidArgument(error: z.ZodError, input: unknown, prefix = '', what = 'option'): InvalidArgumentError {
  const issue = error.issues[0]!;
  const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys;
    return new InvalidArgumentError(path ? `${path}.${keys[0]}` : keys[0]!, `is not a known ${what}`);
  }
  let value: unknown = input;
  for (const key of issue.path) value = value && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key as PropertyKey] : undefined;
  return new InvalidArgumentError(path || 'options', `${issue.message}, got ${describeValue(value)}`);
}
