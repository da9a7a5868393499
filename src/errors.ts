/**
 * Errors thrown by perfwatch. Each failure has its own class and a stable `code` (one of
 * ErrorCode, matched by callers and by the fronts), and keeps its parts apart: the `field` at
 * fault, the `rule` it broke and the value `given`. The message is composed from them
 * (`samples[3].value must be a finite number, got "abc"`), so code that re-says an error
 * under another field (a batch's sample, a tool's argument name) composes a new one with
 * withField() and never edits a message.
 *
 * `instanceof` works across two copies of the package (a service and a library each bringing
 * their own): each class brands its instances with a Symbol.for key and answers instanceof
 * by that brand, as undici and the MCP SDK do.
 */

/** Every code of an error perfwatch throws. */
export const ERROR_CODES = [
  'PW_ERR_INVALID_ARG',
  'PW_ERR_CARDINALITY',
  'PW_ERR_KIND_MISMATCH',
  'PW_ERR_CAPACITY',
  'PW_ERR_STOPPED',
  'PW_ERR_ACTOR',
  'PW_ERR_ABORTED',
  'PW_ERR_REPORT_TIMEOUT',
  'PW_ERR_REPORT',
  'PW_ERR_BUSY',
  'PW_ERR_FORBIDDEN',
  'PW_ERR_TIMEOUT',
  'PW_ERR_STORAGE',
  'PW_ERR_STORAGE_LOCKED',
  'PW_ERR_PROFILE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** A value an error shows: after its rule (`…, got "abc"`), or first, as the rule's subject (`name "cpu usage" must match …`). */
export interface Given {
  value: unknown;
  first?: boolean;
  /** How the message shows the value, where describeValue's word would say nothing of what was wrong (a record past its limit: `1000 entries`, not `object`). */
  shown?: string;
}

export interface ErrorParts {
  /** The argument or option at fault (`metric`, `tags.route`, `samples[3].value`). */
  field?: string;
  /** What is wrong with it (`must be a finite number`), or what happened. */
  rule: string;
  given?: Given;
  /** Whether the message begins with the field (default: when there is one). */
  named?: boolean;
}

/** Base class: every error perfwatch throws on purpose is one of these. */
export class PerfwatchError extends Error {
  readonly code: ErrorCode;
  /** The argument or option at fault, when there is one (`metric`, `tags.route`, …). */
  readonly field: string | undefined;
  readonly rule: string;
  /** The value given, when the message shows it. */
  readonly given: Given | undefined;
  private readonly named: boolean;

  constructor(code: ErrorCode, parts: ErrorParts) {
    super(composeMessage(parts));
    this.name = new.target.name;
    this.code = code;
    this.field = parts.field;
    this.rule = parts.rule;
    this.given = parts.given;
    this.named = parts.named ?? parts.field !== undefined;
  }

  /**
   * The same error about another field: `error.withField(`samples[${i}].${error.field}`)`
   * re-roots a sample's error in its batch. Same class, code, rule and value.
   */
  withField(field: string): this {
    return this.copyWith(field, this.rule);
  }

  /** The same error with another rule: a front's own way out added to it (the CLI's --config). Same class, code, field and value. */
  withRule(rule: string): this {
    return this.copyWith(this.field, rule);
  }

  private copyWith(field: string | undefined, rule: string): this {
    const parts: ErrorParts = { ...(field !== undefined ? { field } : {}), rule, named: this.named, ...(this.given ? { given: this.given } : {}) };
    const copy = Reflect.construct(PerfwatchError, [this.code, parts], this.constructor) as this;
    for (const [key, value] of Object.entries(this)) if (!Object.hasOwn(copy, key)) Object.defineProperty(copy, key, { value, enumerable: true });
    return copy;
  }
}

function composeMessage(parts: ErrorParts): string {
  const words: string[] = [];
  if (parts.field !== undefined && parts.named !== false) words.push(parts.field);
  if (parts.given?.first) words.push(parts.given.shown ?? describeValue(parts.given.value));
  words.push(parts.rule);
  const message = words.join(' ');
  return parts.given && !parts.given.first ? `${message}, got ${parts.given.shown ?? describeValue(parts.given.value)}` : message;
}

/** An argument or option is malformed or out of range. */
export class InvalidArgumentError extends PerfwatchError {
  constructor(field: string, rule: string, given?: Given) {
    super('PW_ERR_INVALID_ARG', { field, rule, ...(given ? { given } : {}) });
  }
}

/** A new series would exceed the configured cardinality limit. */
export class CardinalityError extends PerfwatchError {
  constructor(rule: string, field = 'tags') {
    super('PW_ERR_CARDINALITY', { field, rule, named: false });
  }
}

/** A metric name was registered before with another kind or unit. */
export class KindMismatchError extends PerfwatchError {
  constructor(rule: string) {
    super('PW_ERR_KIND_MISMATCH', { field: 'kind', rule, named: false });
  }
}

/** A bounded shared buffer (registry arena, producer rings) has no room left. */
export class CapacityError extends PerfwatchError {
  constructor(field: string, rule: string, given?: Given) {
    super('PW_ERR_CAPACITY', { field, rule, ...(given ? { given } : {}) });
  }
}

/** record() or another data call on a monitor (or producer) that is not running. */
export class MonitorStoppedError extends PerfwatchError {
  constructor(rule = 'the monitor is not running: call start() before recording') {
    super('PW_ERR_STOPPED', { rule });
  }
}

/** A worker-thread actor failed; the coordinator restarts it. */
export class ActorError extends PerfwatchError {
  readonly actor: string;
  constructor(actor: string, rule: string) {
    super('PW_ERR_ACTOR', { rule: `${actor}: ${rule}` });
    this.actor = actor;
  }
}

/** A report or baseline task was cancelled through its AbortSignal. */
export class ReportAbortedError extends PerfwatchError {
  constructor(rule = 'the report was cancelled: its AbortSignal was aborted') {
    super('PW_ERR_ABORTED', { field: 'signal', rule, named: false });
  }
}

/** A report or baseline task ran past reports.timeoutMs; its thread was replaced. */
export class ReportTimeoutError extends PerfwatchError {
  constructor(timeoutMs: number) {
    super('PW_ERR_REPORT_TIMEOUT', {
      field: 'reports.timeoutMs',
      rule: `the report task ran for more than reports.timeoutMs (${timeoutMs} ms): it was stopped and its thread replaced; raise reports.timeoutMs for reports over this much data`,
      named: false,
    });
  }
}

/** A report task failed in the pool (a bug or an out-of-memory thread), not by bad input. */
export class ReportFailedError extends PerfwatchError {
  constructor(cause: string) {
    super('PW_ERR_REPORT', { rule: `the report task failed: ${cause}` });
  }
}

/** optimize() with dryRun false while another run is applying changes. */
export class OptimizationBusyError extends PerfwatchError {
  /** The run that is applying. */
  readonly runId: number;
  constructor(runId: number) {
    super('PW_ERR_BUSY', { rule: `optimisation run ${runId} is applying changes: wait for it to end or cancel it (one run applies at a time, so that each change is verified alone)` });
    this.runId = runId;
  }
}

/**
 * The storage at `dataDir` cannot be used: the directory cannot be created or written, the
 * database file is corrupt, not a perfwatch database, or from a newer build. `path` names the
 * file or directory at fault; the file is left as it was.
 */
export class StorageError extends PerfwatchError {
  readonly path: string;
  constructor(path: string, rule: string) {
    super('PW_ERR_STORAGE', { field: 'dataDir', rule: `${path}: ${rule}`, named: false });
    this.path = path;
  }
}

/** Another live process owns the `dataDir` (its lock file names the pid). */
export class StorageLockedError extends PerfwatchError {
  readonly path: string;
  readonly pid: number;
  constructor(path: string, pid: number) {
    // The owner may be this very process (a second monitor on the directory): "stop that process" would then be the wrong advice.
    const owner = pid === process.pid ? `another monitor of this process (pid ${pid}): give each monitor its own dataDir, or stop() that one first` : `another perfwatch monitor (pid ${pid}): give each monitor its own dataDir, or stop that process`;
    super('PW_ERR_STORAGE_LOCKED', { field: 'dataDir', rule: `${path} is in use by ${owner}`, named: false });
    this.path = path;
    this.pid = pid;
  }
}

/**
 * Makes `instanceof` of an error class answer by a brand that every copy of perfwatch shares
 * (Symbol.for), so that an error thrown by one copy is recognised by the classes of another.
 */
export function brandError(cls: abstract new (...args: never[]) => PerfwatchError, name: string): void {
  const key = Symbol.for(`perfwatch.error.${name}`);
  Object.defineProperty(cls.prototype, key, { value: true });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value(this: unknown, x: unknown): boolean {
      // A subclass that is not branded itself inherits this: it answers the ordinary way.
      if (this !== cls) return Function.prototype[Symbol.hasInstance].call(this, x);
      return x !== null && typeof x === 'object' && (x as Record<symbol, unknown>)[key] === true;
    },
  });
}

brandError(PerfwatchError, 'PerfwatchError');
brandError(InvalidArgumentError, 'InvalidArgumentError');
brandError(CardinalityError, 'CardinalityError');
brandError(KindMismatchError, 'KindMismatchError');
brandError(CapacityError, 'CapacityError');
brandError(MonitorStoppedError, 'MonitorStoppedError');
brandError(ActorError, 'ActorError');
brandError(ReportAbortedError, 'ReportAbortedError');
brandError(ReportTimeoutError, 'ReportTimeoutError');
brandError(ReportFailedError, 'ReportFailedError');
brandError(OptimizationBusyError, 'OptimizationBusyError');
brandError(StorageError, 'StorageError');
brandError(StorageLockedError, 'StorageLockedError');

/** Formats a value for an error message without flooding it. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value);
  }
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'an invalid Date' : value.toISOString();
  return typeof value;
}

/** The rule of an error about a key that a schema does not know. */
export function unknownKeyRule(what: string): string {
  return `is not a known ${what}`;
}

/**
 * A field's path to a key of an object the caller gave (a tag name): `tags.route`, or, for a
 * key that would break the message or the log line it is written on (a control character, a line
 * separator, a quote, a backslash), the key quoted with JSON escapes, `tags["a b\n"]`, as a metric
 * name is (`name "a\nb" must match …`). A tag name with a newline was echoed raw, in the error's
 * field and message, and split a one-line log (a trial).
 */
const NEEDS_QUOTES = /[\p{Cc}\u2028\u2029"\\]/u;

export function keyField(prefix: string, key: string): string {
  if (!NEEDS_QUOTES.test(key)) return prefix === '' ? key : `${prefix}.${key}`;
  return `${prefix}[${JSON.stringify(key)}]`;
}
