/**
 * Errors thrown by perfwatch. Each failure has its own class and a stable `code`
 * (matched by callers and by the MCP/HTTP fronts), and a message that names the
 * field, what is wrong with the value and the limit.
 */

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
