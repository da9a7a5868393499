/**
 * How a tool is defined (one tool per file in this folder, listed in index.ts): a schema, one
 * call into the library, and the shaping of its answer. A library error becomes a tool error
 * (isError) that carries its stable code and names the field; nothing a tool is given can
 * stop the server or lose what was recorded before (the library validates a whole batch
 * before writing any of it).
 */
import type { CallToolResult, McpServer, ServerContext, StandardSchemaWithJSON, ToolAnnotations } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import { InvalidArgumentError, MonitorStoppedError, PerfwatchError } from '../../errors.js';
import type { Front } from '../front.js';
import type { MonitorHost } from '../host.js';
import { StateChangeRefusedError } from '../policy.js';
import { checker, listedSchema, toolSchema, type ToolSchemaOptions } from '../validate.js';
import { clearTimeout, setTimeout } from '../../engine/real-timers.js';
import { PLACE_HEADER, placeOf } from '../../monitor/call-gate.js';

/** What a tool handler returns: the structured answer and its text rendering. */
export interface ToolAnswer<T> {
  structured: T;
  text: string;
}

/** A tool: its texts, schemas and annotations, and the input check's options (see checker). */
export interface ToolSpec<I extends z.ZodType, O extends z.ZodObject> extends Pick<ToolSchemaOptions, 'precheck' | 'accepts'> {
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: Required<Pick<ToolAnnotations, 'readOnlyHint' | 'destructiveHint' | 'idempotentHint' | 'openWorldHint'>>;
  /** What to ask for instead when the tool runs out of time (e.g. a shorter time_range). */
  onDeadline?: string;
  /** Which calls change state (default: every call, unless annotations.readOnlyHint); see policy.ts. */
  changesState?: (args: z.output<I>) => boolean;
  /** Items of an output array that need checking only once (see checker's checkedItems). */
  checkedOutputItems?: { key: string; seen: WeakSet<object> };
  /**
   * Which calls wait for the monitor's start under way (MonitorHost.starting; default: every
   * call): those that need the monitor started. start and stop are ordered by the host instead.
   */
  waitsForStart?: (args: z.output<I>) => boolean;
}

/**
 * Longest a tool call may hold its request: clients give up at 60 s, some sooner, and an
 * agent waiting on one call waits for nothing else. Work that takes longer is a background
 * run with an id to read it by (optimize_performance); anything else is stopped here.
 */
export const TOOL_DEADLINE_MS = 25_000;

/**
 * What a handler works under: its request's signal, aborted too when the deadline passes.
 * Made on first use: most handlers never ask.
 */
export class ToolWork {
  /** Whether the handler runs: false while the call waits for the monitor's start (see afterStart). */
  handling = true;
  private readonly request: AbortSignal;
  private readonly http: Request | undefined;
  private deadline: AbortController | undefined;
  private combined: AbortSignal | undefined;

  constructor(request: AbortSignal, http?: Request) {
    this.request = request;
    this.http = http;
  }

  /**
   * `work` (done off the main thread: a capture, a report in the pool), awaited with the
   * request's place of the HTTP endpoint's call gate given back, so that other calls and the
   * dashboard are answered meanwhile; taken again, ahead of new requests, to build the answer.
   * Over stdio, or with no place, `work` as it is.
   */
  away<T>(work: Promise<T>): Promise<T> {
    const place = placeOf(this.http?.headers.get(PLACE_HEADER));
    return place ? place.away(work) : work;
  }

  get signal(): AbortSignal {
    return (this.combined ??= AbortSignal.any([this.request, (this.deadline ??= new AbortController()).signal]));
  }

  /** The deadline passed: what listens to the signal stops. */
  expire(): void {
    (this.deadline ??= new AbortController()).abort();
  }
}

/** What a call that waited for the monitor's start answers when the deadline passes first: its handler never runs. */
const STILL_STARTING = 'the monitor was still starting, so nothing was done: call it again once get_monitoring_status says running';

const LIBRARY_STOPPED = new MonitorStoppedError();
const MCP_STOPPED = new MonitorStoppedError('the monitor is not running: call start_performance_monitoring before recording');

/** Turns a thrown error into a tool error an agent can act on; unexpected ones go to stderr too. */
export function toolError(error: unknown): CallToolResult {
  // The library's advice names its method; over MCP the tool that does it is the one to name.
  if (error instanceof MonitorStoppedError && error.rule === LIBRARY_STOPPED.rule) error = MCP_STOPPED;
  if (error instanceof PerfwatchError) return { isError: true, content: [{ type: 'text', text: `${error.code}: ${error.message}` }] };
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`perfwatch mcp: a tool failed unexpectedly: ${error instanceof Error ? (error.stack ?? message) : message}\n`);
  return { isError: true, content: [{ type: 'text', text: `PW_ERR_INTERNAL: ${message}` }] };
}

/**
 * Registers one tool: its arguments checked here (so that every bad argument, caught by the
 * schema or by the library, reads `PW_ERR_INVALID_ARG: <field> <rule>, got <value>`), the
 * state-change policy (a call that changes state runs only where the front allows it, see
 * policy.ts), the deadline, error mapping and the content/structuredContent pair.
 */
export function defineTool<I extends z.ZodType, O extends z.ZodObject>(
  server: McpServer,
  front: Pick<Front, 'stateChanges' | 'limits'> & { host: Pick<MonitorHost, 'starting'> },
  name: string,
  spec: ToolSpec<I, O>,
  handler: (args: z.output<I>, ctx: ServerContext, work: ToolWork) => Promise<ToolAnswer<z.output<O>>> | ToolAnswer<z.output<O>>,
): void {
  const check = checker(spec.input, spec);
  const changesState = spec.changesState ?? (() => !spec.annotations.readOnlyHint);
  const waitsForStart = spec.waitsForStart ?? (() => true);
  const limits = front.limits;
  const inputSchema = listedSchema(spec.input) as StandardSchemaWithJSON<z.input<I>, z.output<I>>;
  server.registerTool(
    name,
    { title: spec.title, description: spec.description, inputSchema, outputSchema: toolSchema(spec.output, spec.checkedOutputItems ? { checkedItems: spec.checkedOutputItems } : {}), annotations: spec.annotations },
    async (raw: unknown, ctx: ServerContext): Promise<CallToolResult> => {
      const checked = check(raw);
      if ('error' in checked) return toolError(checked.error);
      // The deadline's timer is set only for work that is asynchronous: a handler that
      // answers at once cannot be stopped, and most answer at once.
      const work = new ToolWork(ctx.mcpReq.signal, ctx.http?.req);
      try {
        if (!front.stateChanges && changesState(checked.value)) throw new StateChangeRefusedError(name);
        const starting = waitsForStart(checked.value) ? front.host.starting : undefined;
        const answer = starting ? afterStart(starting, work, () => handler(checked.value, ctx, work)) : handler(checked.value, ctx, work);
        const hint = (): string | undefined => (work.handling ? spec.onDeadline : STILL_STARTING);
        const done = answer instanceof Promise ? await withDeadline(answer, limits.deadlineMs, () => work.expire(), name, hint) : answer;
        return { content: [{ type: 'text', text: done.text }], structuredContent: done.structured as Record<string, unknown> };
      } catch (error) {
        return toolError(error);
      }
    },
  );
}

/**
 * The handler's answer once the monitor's start under way has ended: when the start failed,
 * the stopped monitor's error with the start's; when the call was given up meanwhile (its
 * deadline, or the client's cancel), nothing runs.
 */
async function afterStart<T>(starting: Promise<Error | undefined>, work: ToolWork, run: () => Promise<T> | T): Promise<T> {
  work.handling = false;
  const failed = await starting;
  if (work.signal.aborted) throw new PerfwatchError('PW_ERR_ABORTED', { rule: 'given up while the monitor was starting' });
  work.handling = true;
  if (failed !== undefined) {
    const said = failed instanceof PerfwatchError ? `${failed.code}: ${failed.message}` : failed.message;
    throw new MonitorStoppedError(`the monitor is not running: its start failed (${said}); start_performance_monitoring tries again`);
  }
  return run();
}

/**
 * `work`, or past `ms` a PW_ERR_TIMEOUT (after `abort()`, which stops what listens to the
 * work's signal: a tool with a `hint` stops its work, the others' may still complete).
 */
async function withDeadline<T>(work: Promise<T>, ms: number, abort: () => void, tool: string, hint: () => string | undefined): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      abort();
      const stopped = hint();
      const said = stopped ? `and was stopped: ${stopped}` : '; it may still take effect: see get_monitoring_status';
      reject(new PerfwatchError('PW_ERR_TIMEOUT', { rule: `${tool} did not finish within ${ms / 1000} s ${said}` }));
    }, ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A library error about its field `field` (`names[1]`), re-said with the tool's argument name (`metric_types[1]`). */
export function asArgument(error: unknown, field: string, argument: string): unknown {
  if (!(error instanceof InvalidArgumentError) || error.field === undefined) return error;
  const f = error.field;
  if (f !== field && !f.startsWith(`${field}[`) && !f.startsWith(`${field}.`)) return error;
  return error.withField(argument + f.slice(field.length));
}

export const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
export const WRITE = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false } as const;
