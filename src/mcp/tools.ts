/**
 * The tools: each is a schema, one call into the library, and the shaping of its answer. A
 * library error becomes a tool error (isError) that carries its stable code and names the
 * field; nothing a tool is given can stop the server or lose what was recorded before (the
 * library validates a whole batch before writing any of it).
 */
import type { CallToolResult, McpServer, ServerContext, StandardSchemaWithJSON, ToolAnnotations } from '@modelcontextprotocol/server';
import type { z } from 'zod';
import { PerfwatchError } from '../errors.js';
import type { BatchSample } from '../producer.js';
import { historyOut, historyText, iso, metricsText, statusMetrics, statusOut, statusText } from './format.js';
import type { McpFront } from './server.js';
import {
  HistoryInput,
  HistoryOutput,
  MAX_BATCH,
  MetricsInput,
  MetricsOutput,
  RecordInput,
  RecordOutput,
  RequestInput,
  RequestOutput,
  StartInput,
  StartOutput,
  StatusInput,
  StatusOutput,
  StopInput,
  StopOutput,
  acceptsBatch,
  parseTimeRange,
} from './schemas.js';
import { checker, listedSchema, toolSchema, type ToolSchemaOptions } from './validate.js';
import { PackedSamples } from './batch-wire.js';
import { alertsAnswer } from './alerts.js';
import { baselinesOut, baselinesText } from './reports.js';

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
}

/**
 * Longest a tool call may hold its request: clients give up at 60 s, some sooner, and an
 * agent waiting on one call waits for nothing else. Work that takes longer is a background
 * run with an id to read it by (optimize_performance); anything else is stopped here.
 */
export const TOOL_DEADLINE_MS = 25_000;

export interface ToolLimits {
  deadlineMs: number;
}

/** What a handler works under: its request's signal, aborted too when the deadline passes. */
export interface ToolWork {
  readonly signal: AbortSignal;
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
 * deadline, error mapping and the content/structuredContent pair.
 */
export function defineTool<I extends z.ZodType, O extends z.ZodObject>(
  server: McpServer,
  name: string,
  spec: ToolSpec<I, O>,
  handler: (args: z.output<I>, ctx: ServerContext, work: ToolWork) => Promise<ToolAnswer<z.output<O>>> | ToolAnswer<z.output<O>>,
  limits: ToolLimits = { deadlineMs: TOOL_DEADLINE_MS },
): void {
  const check = checker(spec.input, spec);
  const inputSchema = listedSchema(spec.input) as StandardSchemaWithJSON<z.input<I>, z.output<I>>;
  server.registerTool(
    name,
    { title: spec.title, description: spec.description, inputSchema, outputSchema: spec.checkedOutputItems ? toolSchema(spec.output, { checkedItems: spec.checkedOutputItems }) : spec.output, annotations: { title: spec.title, ...spec.annotations } },
    async (raw: unknown, ctx: ServerContext): Promise<CallToolResult> => {
      const checked = check(raw);
      if ('issue' in checked) return toolError(new PerfwatchError('PW_ERR_INVALID_ARG', checked.issue));
      const deadline = new AbortController();
      let signal: AbortSignal | undefined;
      const work: ToolWork = {
        get signal() {
          return (signal ??= AbortSignal.any([ctx.mcpReq.signal, deadline.signal]));
        },
      };
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          deadline.abort();
          reject(new PerfwatchError('PW_ERR_TIMEOUT', `${name} did not finish within ${limits.deadlineMs / 1000} s and was stopped${spec.onDeadline ? `: ${spec.onDeadline}` : ''}`));
        }, limits.deadlineMs);
      });
      try {
        const answer = await Promise.race([handler(checked.value, ctx, work), late]);
        return { content: [{ type: 'text', text: answer.text }], structuredContent: answer.structured as Record<string, unknown> };
      } catch (error) {
        return toolError(error);
      } finally {
        clearTimeout(timer);
      }
    },
  );
}

export const READ = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
export const WRITE = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false } as const;

/** Refuses a samples array over the limit by its length, before its elements are parsed. */
function batchPrecheck(input: unknown): string | undefined {
  const samples = (input as { samples?: unknown } | null)?.samples;
  if (Array.isArray(samples) && samples.length > MAX_BATCH) return `samples has ${samples.length} items; the limit is ${MAX_BATCH} per call`;
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
export function registerCoreTools(server: McpServer, front: McpFront): void {
  const host = front.host;
  defineTool(
    server,
    'start_performance_monitoring',
    {
      title: 'Start performance monitoring',
      description:
        'Start collecting metrics (cpu, memory, disk, network, event-loop lag, GC, heap, and whatever is recorded). Use it first if get_monitoring_status says the monitor is stopped. Optional config_path (a JSON options file) or collection_interval (seconds) apply to a monitor without data; calling it on a running monitor changes nothing.',
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
    front.limits,
  );

  defineTool(
    server,
    'stop_performance_monitoring',
    {
      title: 'Stop performance monitoring',
      description:
        'Stop collecting metrics. By default the data stays readable (preserve_data true) and start_performance_monitoring resumes on it; preserve_data false discards all recorded data. Recording tools fail while stopped.',
      input: StopInput,
      output: StopOutput,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    async (args) => {
      const { wasRunning } = await host.stop(args.preserve_data);
      const s = host.monitor.status();
      const structured = { state: s.state, was_running: wasRunning, data_preserved: args.preserve_data, series: s.series.count, samples_ingested: s.ingestion.ingested };
      return { structured, text: `${wasRunning ? 'stopped' : 'was not running'}; data ${args.preserve_data ? `kept (${s.series.count} series)` : 'discarded'}` };
    },
    front.limits,
  );

  defineTool(
    server,
    'record_performance_metric',
    {
      title: 'Record performance metrics',
      description:
        `Record a measurement: { metric_type, value, tags? }, or many at once with { samples: [{ metric_type, value, tags?, timestamp? }] } (up to ${MAX_BATCH}, all or nothing). Built-in metric types include response_time (ms), throughput, error_rate, active_connections, queue_size, cache_hit_rate, database_connections, formula_calculation_time, api_response_time; any name matching [a-zA-Z_:][a-zA-Z0-9_:]* works. For a handled request prefer record_request_performance.`,
      input: RecordInput,
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
    front.limits,
  );

  defineTool(
    server,
    'record_request_performance',
    {
      title: 'Record a handled request',
      description:
        'Record one handled request: its response_time (ms), whether it succeeded, and optionally its endpoint and HTTP status_code. Feeds response_time, throughput and error_rate, tagged by endpoint, so get_performance_metrics shows latency percentiles, request rate and error rate per endpoint.',
      input: RequestInput,
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
    front.limits,
  );

  defineTool(
    server,
    'get_performance_metrics',
    {
      title: 'Current performance metrics',
      description:
        'Current value and recent-window summary (count, mean, min, max; p50/p90/p95/p99 for distributions) of every metric series, or of the metric_types asked for. Use it to see how the system and service are doing now; use get_metric_history for how a metric changed over time.',
      input: MetricsInput,
      output: MetricsOutput,
      annotations: READ,
      // Most series answer with the summary they had last time (MetricSummaries).
      checkedOutputItems: { key: 'metrics', seen: front.checkedSummaries },
    },
    async (args) => {
      await host.readable();
      const all = host.monitor.getMetrics({ windowSeconds: args.window, ...(args.metric_types ? { names: args.metric_types } : {}), ...(args.tags ? { tags: args.tags } : {}) });
      const { metrics, lines } = front.summaries.of(all.length > args.limit ? all.slice(0, args.limit) : all);
      const truncated = all.length > args.limit;
      return { structured: { window_seconds: args.window, metrics, total: all.length, truncated, at: new Date().toISOString() }, text: metricsText(metrics, all.length, truncated, args.window, lines) };
    },
    front.limits,
  );

  defineTool(
    server,
    'get_metric_history',
    {
      title: 'Metric history',
      description:
        'How one metric changed over time: points (value, count, min, max, and p50/p90/p99 for distributions) per series over time_range (90s, 15m, 1h, 24h, 7d) or start/end (ISO-8601), downsampled on the server to max_points per series (default 500). Use it to find when something changed; get_performance_metrics gives the current state.',
      input: HistoryInput,
      output: HistoryOutput,
      annotations: READ,
    },
    async (args) => {
      await host.readable();
      const now = Date.now();
      const from = args.time_range !== undefined ? now - parseTimeRange(args.time_range) : args.start !== undefined ? Date.parse(args.start) : undefined;
      const to = args.end !== undefined ? Date.parse(args.end) : undefined;
      const h = host.monitor.getMetricHistory({
        metric: args.metric_type,
        maxPoints: args.max_points,
        ...(args.tags ? { tags: args.tags } : {}),
        ...(from !== undefined ? { from } : {}),
        ...(to !== undefined ? { to } : {}),
      });
      const structured = historyOut(h, args.limit);
      return { structured, text: historyText(structured) };
    },
    front.limits,
  );

  defineTool(
    server,
    'get_monitoring_status',
    {
      title: 'Monitoring status',
      description:
        'Whether the monitor runs, since when, its interval, series count against the limit, ingestion (rate, dropped samples), collector health, memory and alert counts; include_metrics adds a summary of every metric, include_alerts the active alerts, include_baselines each series\' learned baseline. Use it first to orient, and to check that recording works.',
      input: StatusInput,
      output: StatusOutput,
      annotations: READ,
      onDeadline: 'include_baselines reads the whole history of every series; ask without it',
    },
    async (args, _ctx, work) => {
      await host.readable();
      const structured = statusOut(host.monitor.status());
      let text = statusText(structured);
      if (args.include_metrics) {
        const part = statusMetrics(host.monitor, args.limit);
        Object.assign(structured, part);
        text += `\n${metricsText(part.metrics, part.metrics_total, part.metrics_truncated, part.metrics_window_seconds)}`;
      }
      if (args.include_alerts) {
        const alerts = alertsAnswer(host.monitor, { state: 'active', include_rules: false, include_history: false, limit: args.limit }, structured.alerting);
        structured.alerts = alerts.structured.alerts;
        structured.alerts_total = alerts.structured.total;
        structured.alerts_truncated = alerts.structured.truncated;
        text += `\n${alerts.text}`;
      }
      if (args.include_baselines) {
        const b = baselinesOut(await host.monitor.getBaselines({ signal: work.signal }), args.limit);
        structured.baselines = b.baselines;
        structured.baselines_total = b.total;
        structured.baselines_truncated = b.truncated;
        text += `\n${baselinesText(b)}`;
      }
      return { structured, text };
    },
    front.limits,
  );
}
