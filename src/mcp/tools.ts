/**
 * The tools: each is a schema, one call into the library, and the shaping of its answer. A
 * library error becomes a tool error (isError) that carries its stable code and names the
 * field; nothing a tool is given can stop the server or lose what was recorded before (the
 * library validates a whole batch before writing any of it).
 */
import type { CallToolResult, McpServer, ServerContext, StandardSchemaWithJSON, ToolAnnotations } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import { InvalidArgumentError, PerfwatchError } from '../errors.js';
import type { BatchSample } from '../engine/producer.js';
import { iso, metricsText } from './format.js';
import type { Front } from './front.js';
import {
  MAX_BATCH,
  metricsInputFor,
  MetricsOutput,
  recordInputFor,
  RecordOutput,
  requestInputFor,
  RequestOutput,
  StartInput,
  StartOutput,
  StopInput,
  StopOutput,
  acceptsBatch,
} from './schemas.js';
import { checker, listedSchema, toolSchema, type ToolSchemaOptions } from './validate.js';
import { PackedSamples } from './batch-wire.js';
import { ANSWER_BYTES } from './budget.js';
import { StateChangeRefusedError } from './policy.js';

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
  /** Items of an output array that need checking only once (see toolSchema). */
  checkedOutputItems?: { key: string; seen: WeakSet<object> };
  /** What to ask for instead when the tool runs out of time (e.g. a shorter time_range). */
  onDeadline?: string;
  /** Which calls change state (default: every call, unless annotations.readOnlyHint); see policy.ts. */
  changesState?: (args: z.output<I>) => boolean;
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
  private readonly request: AbortSignal;
  private deadline: AbortController | undefined;
  private combined: AbortSignal | undefined;

  constructor(request: AbortSignal) {
    this.request = request;
  }

  get signal(): AbortSignal {
    return (this.combined ??= AbortSignal.any([this.request, (this.deadline ??= new AbortController()).signal]));
  }

  /** The deadline passed: what listens to the signal stops. */
  expire(): void {
    (this.deadline ??= new AbortController()).abort();
  }
}

/** Turns a thrown error into a tool error an agent can act on; unexpected ones go to stderr too. */
export function toolError(error: unknown): CallToolResult {
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
  front: Pick<Front, 'stateChanges' | 'limits'>,
  name: string,
  spec: ToolSpec<I, O>,
  handler: (args: z.output<I>, ctx: ServerContext, work: ToolWork) => Promise<ToolAnswer<z.output<O>>> | ToolAnswer<z.output<O>>,
): void {
  const check = checker(spec.input, spec);
  const changesState = spec.changesState ?? (() => !spec.annotations.readOnlyHint);
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
      const work = new ToolWork(ctx.mcpReq.signal);
      try {
        if (!front.stateChanges && changesState(checked.value)) throw new StateChangeRefusedError(name);
        const answer = handler(checked.value, ctx, work);
        const done = answer instanceof Promise ? await withDeadline(answer, limits.deadlineMs, () => work.expire(), name, spec.onDeadline) : answer;
        return { content: [{ type: 'text', text: done.text }], structuredContent: done.structured as Record<string, unknown> };
      } catch (error) {
        return toolError(error);
      }
    },
  );
}

/**
 * `work`, or past `ms` a PW_ERR_TIMEOUT (after `abort()`, which stops what listens to the
 * work's signal: a tool with a `hint` stops its work, the others' may still complete).
 */
async function withDeadline<T>(work: Promise<T>, ms: number, abort: () => void, tool: string, hint: string | undefined): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      abort();
      const said = hint ? `and was stopped: ${hint}` : '; it may still take effect: see get_monitoring_status';
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

/** Refuses a samples array over the limit by its length, before its elements are parsed. */
function batchPrecheck(input: unknown): InvalidArgumentError | undefined {
  const samples = (input as { samples?: unknown } | null)?.samples;
  if (Array.isArray(samples) && samples.length > MAX_BATCH) return new InvalidArgumentError('samples', `has ${samples.length} items; the limit is ${MAX_BATCH} per call`);
  return undefined;
}

/** `{ samples: PackedSamples }`, as the stdio batch lane delivers it. */
function isPackedBatch(input: unknown): boolean {
  if (input === null || typeof input !== 'object') return false;
  const keys = Object.keys(input);
  return keys.length === 1 && keys[0] === 'samples' && (input as { samples: unknown }).samples instanceof PackedSamples;
}

/** The answer to a batch: how many were recorded, and the first 20 distinct metric names. */
function batchAnswer(recorded: number, names: Iterable<string>): ToolAnswer<z.output<typeof RecordOutput>> {
  const distinct = [...new Set(names)];
  const metrics = distinct.slice(0, 20);
  const truncated = distinct.length > 20;
  return { structured: { recorded, metrics, truncated }, text: `recorded ${recorded} samples (${metrics.join(', ')}${truncated ? ', …' : ''})` };
}

/** The monitor-lifecycle, recording and reading tools (backed by the engine core). */
export function registerCoreTools(server: McpServer, front: Front): void {
  const host = front.host;
  defineTool(
    server,
    front,
    'start_performance_monitoring',
    {
      title: 'Start monitoring',
      description:
        'Start collecting. config_path and collection_interval apply to a monitor without data.',
      input: StartInput,
      output: StartOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    async (args) => {
      const { started } = await host.start({
        ...(args.config_path !== undefined ? { configPath: args.config_path } : {}),
        ...(args.collection_interval !== undefined ? { intervalSeconds: args.collection_interval } : {}),
      });
      const m = host.monitor;
      const s = m.status();
      const structured = {
        state: s.state,
        started,
        collection_interval: m.options.collectionIntervalMs / 1000,
        started_at: iso(s.startedAt),
        series: s.series.count,
        config_path: host.config,
      };
      return { structured, text: `${started ? 'started' : 'already running'}: interval ${structured.collection_interval}s, ${s.series.count} series${host.config ? `, config ${host.config}` : ''}` };
    },
  );

  defineTool(
    server,
    front,
    'stop_performance_monitoring',
    {
      title: 'Stop monitoring',
      description:
        'Stop collecting (data kept unless preserve_data is false); an embedded monitor pauses its own sampling.',
      input: StopInput,
      output: StopOutput,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async (args) => {
      const { wasRunning, paused } = await host.stop(args.preserve_data);
      const s = host.monitor.status();
      const structured = { state: paused ? 'paused' : s.state, was_running: wasRunning, paused, data_preserved: args.preserve_data, series: s.series.count, samples_ingested: s.ingestion.ingested };
      const done = paused
        ? `${wasRunning ? 'paused' : 'was paused'}: this monitor is embedded in a service, so its own sampling stops and what the service records is still kept`
        : wasRunning
          ? 'stopped'
          : 'was not running';
      return { structured, text: `${done}; data ${args.preserve_data ? `kept (${s.series.count} series)` : 'discarded'}` };
    },
  );

  defineTool(
    server,
    front,
    'record_performance_metric',
    {
      title: 'Record metrics',
      description:
        'Record { metric_type, value, tags? } or a batch of samples, all or nothing; any name, e.g. response_time (ms).',
      input: recordInputFor(front.tagLimits),
      output: RecordOutput,
      annotations: WRITE,
      precheck: batchPrecheck,
      accepts: (input) => isPackedBatch(input) || acceptsBatch(input),
    },
    (args) => {
      const m = host.monitor;
      const packed: unknown = args.samples;
      if (packed instanceof PackedSamples) {
        // A batch read off the stdio wire into columns (batch-wire.ts): validated there.
        const recorded = m.recordColumns(packed);
        host.wrote();
        return batchAnswer(recorded, packed.series.map((s) => s.name));
      }
      if (args.samples === undefined) {
        m.record(args.metric_type!, args.value!, args.tags);
        host.wrote();
        return { structured: { recorded: 1, metrics: [args.metric_type!], truncated: false }, text: `recorded 1 sample of ${args.metric_type}` };
      }
      const samples: BatchSample[] = new Array(args.samples.length);
      const names = new Set<string>();
      for (let i = 0; i < args.samples.length; i++) {
        const s = args.samples[i]!;
        const sample: BatchSample = { name: s.metric_type, value: s.value };
        if (s.tags !== undefined) sample.tags = s.tags;
        if (s.timestamp !== undefined) sample.timestamp = typeof s.timestamp === 'number' ? s.timestamp : Date.parse(s.timestamp);
        samples[i] = sample;
        if (names.size <= 20) names.add(s.metric_type);
      }
      const recorded = m.recordBatch(samples);
      host.wrote();
      return batchAnswer(recorded, names);
    },
  );

  defineTool(
    server,
    front,
    'record_request_performance',
    {
      title: 'Record a request',
      description:
        'Record one handled request. Feeds response_time, throughput and error_rate per endpoint.',
      input: requestInputFor(front.tagLimits),
      output: RequestOutput,
      annotations: WRITE,
    },
    (args) => {
      host.monitor.recordRequest({
        responseTimeMs: args.response_time,
        success: args.success,
        ...(args.endpoint !== undefined ? { endpoint: args.endpoint } : {}),
        ...(args.status_code !== undefined ? { statusCode: args.status_code } : {}),
      });
      host.wrote();
      return {
        structured: { recorded: ['response_time', 'throughput', 'error_rate'], endpoint: args.endpoint ?? null },
        text: `recorded ${args.success ? 'a successful' : 'a failed'} request${args.endpoint ? ` to ${args.endpoint}` : ''}: ${args.response_time} ms`,
      };
    },
  );

  defineTool(
    server,
    front,
    'get_performance_metrics',
    {
      title: 'Current metrics',
      description:
        "Each series' value now and its summary over the last window seconds (count, mean, min, max; p50-p99 for distributions).",
      input: metricsInputFor(front.tagLimits),
      output: MetricsOutput,
      annotations: READ,
      // Most series answer with the summary they had last time (MetricSummaries).
      checkedOutputItems: { key: 'metrics', seen: front.checkedSummaries },
    },
    (args) => {
      const answer = (): ToolAnswer<z.output<typeof MetricsOutput>> => {
        let all;
        try {
          all = host.monitor.getMetrics({ windowSeconds: args.window, ...(args.metric_types ? { names: args.metric_types } : {}), ...(args.tags ? { tags: args.tags } : {}) });
        } catch (error) {
          throw asArgument(error, 'names', 'metric_types');
        }
        // Without a limit, as many series as fit in the answer budget.
        const { metrics, lines } = args.limit !== undefined ? front.summaries.of(all.slice(0, args.limit)) : front.summaries.of(all, ANSWER_BYTES - 512);
        const truncated = metrics.length < all.length;
        return { structured: { window_seconds: args.window, metrics, total: all.length, truncated, at: new Date().toISOString() }, text: metricsText(metrics, all.length, truncated, args.window, lines) };
      };
      // The common poll has nothing of its own to flush first: it answers in this turn.
      const flushing = host.readable();
      return flushing ? flushing.then(answer) : answer();
    },
  );
}
