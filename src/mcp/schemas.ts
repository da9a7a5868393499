/**
 * The MCP tools' arguments and answers, as zod schemas: the single source of their JSON
 * Schema (tools/list), of argument validation and of the handlers' types. Arguments are
 * snake_case and durations are seconds (except response_time, in ms, as requests are
 * measured); every list is bounded and every string has a length limit, so no argument can
 * make the server do unbounded work and no answer floods an agent's context.
 */
import { z } from 'zod';
import { MAX_NAME_LENGTH, MAX_TAG_KEY_LENGTH, NAME_PATTERN, TAG_KEY_PATTERN } from '../registry.js';
import { KINDS } from '../metrics.js';

/** Samples one record_performance_metric call may carry. */
export const MAX_BATCH = 100_000;
/** Longest time_range, and how far back start may lie: the retention period. */
export const MAX_RANGE_SECONDS = 30 * 86_400;
export const MAX_PATH_LENGTH = 4096;
/** Tags of one sample: how many, and how long a value may be (a name: MAX_TAG_KEY_LENGTH). */
export const MAX_TAGS = 64;
export const MAX_TAG_VALUE_LENGTH = 4096;
/** Longest ISO-8601 time an argument takes. */
export const MAX_TIME_LENGTH = 40;

export const metricName = z
  .string({ error: 'must be a metric name (a string)' })
  .min(1, { error: `must be 1 to ${MAX_NAME_LENGTH} characters`, abort: true })
  .max(MAX_NAME_LENGTH, { error: `must be 1 to ${MAX_NAME_LENGTH} characters`, abort: true })
  .regex(NAME_PATTERN, { error: 'must match [a-zA-Z_:][a-zA-Z0-9_:]*' });

const tagKey = z
  .string()
  .max(MAX_TAG_KEY_LENGTH, { error: `is a tag name longer than ${MAX_TAG_KEY_LENGTH} characters`, abort: true })
  .regex(TAG_KEY_PATTERN, { error: 'is not a valid tag name: it must match [a-zA-Z_][a-zA-Z0-9_]*' });

export const tagsSchema = z
  .record(tagKey, z.string({ error: 'must be a string' }).max(MAX_TAG_VALUE_LENGTH, { error: `must be at most ${MAX_TAG_VALUE_LENGTH} characters`, abort: true }), {
    error: 'must be an object of tag names to string values',
  })
  .refine((tags) => Object.keys(tags).length <= MAX_TAGS, { error: `must have at most ${MAX_TAGS} tags` })
  .describe('Tags of the series, e.g. {"endpoint": "/users"}; values are strings');

const finite = (what: string) => z.number({ error: `must be ${what}` });

/** `90s`, `15m`, `1h`, `24h`, `7d`: a span ending now. */
export const timeRange = z
  .string({ error: 'must be a duration such as 90s, 15m, 1h, 24h or 7d' })
  .max(16, { error: 'must be a duration such as 90s, 15m, 1h, 24h or 7d', abort: true })
  .regex(/^[1-9][0-9]{0,6}[smhd]$/, { error: 'must be a duration such as 90s, 15m, 1h, 24h or 7d' })
  .refine((s) => parseTimeRange(s) <= MAX_RANGE_SECONDS * 1000, { error: `must be at most 30d (the retention period)` })
  .describe('How far back from now: 90s, 15m, 1h, 24h or 7d');

const isoTime = z
  .string({ error: 'must be an ISO-8601 time such as 2026-11-27T10:00:00Z' })
  .max(MAX_TIME_LENGTH, { error: 'must be an ISO-8601 time such as 2026-11-27T10:00:00Z', abort: true })
  .pipe(z.iso.datetime({ offset: true, error: 'must be an ISO-8601 time such as 2026-11-27T10:00:00Z' }));

/** Milliseconds in a time_range such as `15m`. */
export function parseTimeRange(range: string): number {
  const n = Number(range.slice(0, -1));
  const unit = range[range.length - 1];
  return n * (unit === 's' ? 1_000 : unit === 'm' ? 60_000 : unit === 'h' ? 3_600_000 : 86_400_000);
}

/** An integer from min to max, with one message for every way of missing it. */
export const intRange = (min: number, max: number) => {
  const rule = { error: `must be an integer from ${min} to ${max}` };
  return z.number(rule).int(rule).min(min, rule).max(max, rule);
};

export const limit = (def: number, max: number, what: string) =>
  intRange(1, max).default(def).describe(`Most ${what} to return (default ${def}); the answer says when there were more`);

// ---- start / stop -------------------------------------------------------------------

export const StartInput = z.strictObject({
  config_path: z
    .string({ error: 'must be a path (a string)' })
    .min(1, { error: 'must not be empty' })
    .max(MAX_PATH_LENGTH, { error: `must be at most ${MAX_PATH_LENGTH} characters`, abort: true })
    .optional()
    .describe('A JSON file of monitor options (a regular file of at most 1 MB, validated against the options schema), inside the directory the server takes config files from (its working directory unless started with --config-dir); a relative path starts there'),
  collection_interval: z
    .number({ error: 'must be a number of seconds from 1 to 300' })
    .int({ error: 'must be a whole number of seconds from 1 to 300' })
    .min(1, { error: 'must be a number of seconds from 1 to 300' })
    .max(300, { error: 'must be a number of seconds from 1 to 300' })
    .optional()
    .describe('Bucket width and system sampling period, in seconds (1-300; default 1)'),
});

export const StartOutput = z.object({
  state: z.string(),
  started: z.boolean().describe('false when the monitor was already running'),
  collection_interval: z.number().describe('seconds'),
  started_at: z.string().nullable(),
  series: z.number(),
  config_path: z.string().nullable(),
});

export const StopInput = z.strictObject({
  preserve_data: z
    .boolean({ error: 'must be true or false' })
    .default(true)
    .describe('Keep the recorded data readable after stopping (default true); false discards it'),
});

export const StopOutput = z.object({
  state: z.string(),
  was_running: z.boolean(),
  paused: z.boolean().describe('true for a monitor embedded in a service: its own sampling is paused, the service\'s records are still kept'),
  data_preserved: z.boolean(),
  series: z.number().describe('series still readable'),
  samples_ingested: z.number(),
});

// ---- recording ------------------------------------------------------------------------

export const SampleInput = z.strictObject({
  metric_type: metricName,
  value: finite('a finite number'),
  tags: tagsSchema.optional(),
  timestamp: z
    .union([finite('a time (ms since the epoch or ISO-8601)'), isoTime], { error: 'must be ms since the epoch or an ISO-8601 time' })
    .optional()
    .describe('When the sample was taken: ms since the epoch or ISO-8601; at most one collection interval ago'),
});

export const RecordInput = z
  .strictObject({
    metric_type: metricName.optional().describe('Metric name, e.g. response_time, queue_size, cpu_usage or your own'),
    value: finite('a finite number').optional().describe('The sample'),
    tags: tagsSchema.optional(),
    samples: z
      .array(SampleInput, { error: 'must be an array of samples' })
      .min(1, { error: 'must hold at least one sample' })
      .max(MAX_BATCH, { error: `must hold at most ${MAX_BATCH} samples per call` })
      .optional()
      .describe(`Many samples in one call (up to ${MAX_BATCH}), recorded all or nothing`),
  })
  .superRefine((args, ctx) => {
    if (args.samples !== undefined) {
      for (const key of ['metric_type', 'value', 'tags'] as const) {
        if (args[key] !== undefined) ctx.addIssue({ code: 'custom', path: [], message: `${key} must not be given with samples: pass either metric_type and value, or samples` });
      }
      return;
    }
    if (args.metric_type === undefined) ctx.addIssue({ code: 'custom', path: [], message: 'metric_type is required (or samples)' });
    else if (args.value === undefined) ctx.addIssue({ code: 'custom', path: [], message: 'value is required with metric_type' });
  });

const SAMPLE_KEYS = new Set(['metric_type', 'value', 'tags', 'timestamp']);
/** Names and tag keys already seen valid (bounded: a flood of distinct ones just stops being cached). */
const knownNames = new Set<string>();
const knownTagKeys = new Set<string>();
const CACHE_LIMIT = 10_000;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Whether metricName takes this name as it is (names seen valid are remembered). */
export function takesName(name: string): boolean {
  if (knownNames.has(name)) return true;
  if (name.length === 0 || name.length > MAX_NAME_LENGTH || !NAME_PATTERN.test(name)) return false;
  if (knownNames.size < CACHE_LIMIT) knownNames.add(name);
  return true;
}

/** Whether tagsSchema takes these tags unchanged: few enough, valid keys, short string values. */
export function takesTags(tags: Record<string, unknown>): boolean {
  let count = 0;
  for (const key in tags) {
    if (++count > MAX_TAGS) return false;
    if (!knownTagKeys.has(key)) {
      if (key.length > MAX_TAG_KEY_LENGTH || !TAG_KEY_PATTERN.test(key)) return false;
      if (knownTagKeys.size < CACHE_LIMIT) knownTagKeys.add(key);
    }
    const v = tags[key];
    if (typeof v !== 'string' || v.length > MAX_TAG_VALUE_LENGTH) return false;
  }
  return true;
}

/**
 * The fast acceptance of RecordInput for `{ samples: [...] }` with numeric or absent
 * timestamps: true only where the schema accepts the input unchanged (it has no defaults or
 * transforms on this path). test/mcp-schemas.test.ts checks it against the schema.
 */
export function acceptsBatch(input: unknown): boolean {
  if (!isPlainObject(input)) return false;
  let keys = 0;
  for (const key in input) {
    if (key !== 'samples') return false;
    keys++;
  }
  const samples = input.samples;
  if (keys !== 1 || !Array.isArray(samples) || samples.length === 0 || samples.length > MAX_BATCH) return false;
  let lastName: string | undefined;
  for (let i = 0; i < samples.length; i++) {
    const s: unknown = samples[i];
    if (!isPlainObject(s)) return false;
    for (const key in s) if (!SAMPLE_KEYS.has(key)) return false;
    const name = s.metric_type;
    if (typeof name !== 'string') return false;
    if (name !== lastName) {
      if (!takesName(name)) return false;
      lastName = name;
    }
    const value = s.value;
    // v - v is 0 for every finite number and NaN for NaN and ±Infinity.
    if (typeof value !== 'number' || value - value !== 0) return false;
    const tags = s.tags;
    if (tags !== undefined && (!isPlainObject(tags) || !takesTags(tags))) return false;
    const t = s.timestamp;
    if (t !== undefined && (typeof t !== 'number' || t - t !== 0)) return false;
  }
  return true;
}

export const RecordOutput = z.object({
  recorded: z.number().describe('samples recorded'),
  metrics: z.array(z.string()).describe('the metric names written (at most 20 listed)'),
  truncated: z.boolean(),
});

export const RequestInput = z.strictObject({
  response_time: z
    .number({ error: 'must be a finite number of ms >= 0' })
    .min(0, { error: 'must be a finite number of ms >= 0' })
    .describe('How long the request took, in milliseconds'),
  success: z.boolean({ error: 'must be true or false' }).describe('Whether the request succeeded'),
  endpoint: z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must not be empty' })
    .max(4096, { error: 'must be at most 4096 characters', abort: true })
    .optional()
    .describe('Route or operation, e.g. /users; becomes the endpoint tag'),
  status_code: intRange(100, 599)
    .optional()
    .describe('HTTP status'),
});

export const RequestOutput = z.object({
  recorded: z.array(z.string()).describe('the series fed: response_time, throughput and error_rate'),
  endpoint: z.string().nullable(),
});

// ---- reading --------------------------------------------------------------------------

/** The recent window a metric summary covers unless asked otherwise. */
export const DEFAULT_WINDOW_SECONDS = 60;

export const MetricsInput = z.strictObject({
  metric_types: z
    .array(metricName, { error: 'must be an array of metric names' })
    .max(256, { error: 'must list at most 256 metric names' })
    .optional()
    .describe('Only these metrics (default: every metric with data)'),
  tags: tagsSchema.optional().describe('Only series whose tags include all of these'),
  window: z
    .number({ error: 'must be a number of seconds from 1 to 86400' })
    .min(1, { error: 'must be a number of seconds from 1 to 86400' })
    .max(86_400, { error: 'must be a number of seconds from 1 to 86400' })
    .default(DEFAULT_WINDOW_SECONDS)
    .describe(`The recent window summarised per series, in seconds (default ${DEFAULT_WINDOW_SECONDS})`),
  limit: limit(100, 1000, 'series'),
});

const nullableNumber = z.number().nullable();

export const MetricSummary = z.object({
  name: z.string(),
  tags: z.record(z.string(), z.string()),
  kind: z.enum(KINDS),
  unit: z.string(),
  value: nullableNumber.describe('gauge: last value; counter: per second over the window; distribution: window mean'),
  last: nullableNumber.optional().describe("counters and distributions: the newest sample (a gauge's is its value)"),
  last_at: z.string().nullable(),
  count: z.number().describe('samples in the window'),
  mean: nullableNumber,
  min: nullableNumber,
  max: nullableNumber,
  p50: nullableNumber.optional().describe('distributions only, like p90, p95 and p99 (within 1%)'),
  p90: nullableNumber.optional(),
  p95: nullableNumber.optional(),
  p99: nullableNumber.optional(),
  total_count: z.number().describe('samples since the series began'),
});

const windowSeconds = z.number().describe('The recent window each summary covers: count, mean, min, max and quantiles (mean, rates and quantiles to 6 significant digits)');

export const MetricsOutput = z.object({
  window_seconds: windowSeconds,
  metrics: z.array(MetricSummary),
  total: z.number().describe('series that matched'),
  truncated: z.boolean(),
  at: z.string(),
});

export const HistoryInput = z
  .strictObject({
    metric_type: metricName.describe('The metric, e.g. response_time'),
    tags: tagsSchema.optional().describe('Only series whose tags include all of these'),
    time_range: timeRange.optional(),
    start: isoTime.optional().describe('Start of the range (ISO-8601); use instead of time_range'),
    end: isoTime.optional().describe('End of the range (ISO-8601; default now)'),
    max_points: intRange(1, 10_000)
      .default(500)
      .describe('Points per series at most (default 500); longer histories are downsampled on the server'),
    limit: limit(10, 100, 'series'),
  })
  .superRefine((args, ctx) => {
    if (args.time_range !== undefined && (args.start !== undefined || args.end !== undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'time_range must not be given with start or end: pass one or the other' });
    }
    if (args.start !== undefined && args.end !== undefined && Date.parse(args.start) > Date.parse(args.end)) {
      ctx.addIssue({ code: 'custom', path: [], message: `start (${args.start}) must not be after end (${args.end})` });
    }
  });

export const HistoryPointOut = z.object({
  t: z.string(),
  value: z.number(),
  count: z.number(),
  min: z.number(),
  max: z.number(),
  p50: z.number().optional(),
  p90: z.number().optional(),
  p99: z.number().optional(),
});

export const HistoryOutput = z.object({
  metric: z.string(),
  kind: z.enum(KINDS),
  unit: z.string(),
  from: z.string().nullable(),
  to: z.string(),
  series: z.array(
    z.object({
      tags: z.record(z.string(), z.string()),
      resolution: z.enum(['raw', 'bucket', 'rollup']),
      step_seconds: z.number().describe('width of a point (0 for raw samples)'),
      source_points: z.number().describe('points before downsampling'),
      points: z.array(HistoryPointOut),
    }),
  ),
  total_series: z.number(),
  truncated: z.boolean(),
});

export const StatusInput = z.strictObject({
  include_metrics: z.boolean({ error: 'must be true or false' }).default(false).describe('Add a summary of every metric (bounded by limit)'),
  include_alerts: z.boolean({ error: 'must be true or false' }).default(false).describe('Add the active alerts (bounded by limit)'),
  include_baselines: z.boolean({ error: 'must be true or false' }).default(false).describe('Add each series\' learned baseline: mean, spread, p50, p99 (bounded by limit)'),
  limit: limit(50, 1000, 'metrics and alerts with include_metrics and include_alerts'),
});

export const StatusOutput = z.object({
  state: z.string(),
  running: z.boolean(),
  paused: z.boolean().describe('running with its own system and runtime sampling paused (stop_performance_monitoring on a monitor embedded in a service)'),
  started_at: z.string().nullable(),
  uptime_seconds: z.number(),
  collection_interval: z.number().describe('seconds'),
  series: z.object({ count: z.number(), limit: z.number() }),
  ingestion: z.object({
    ingested: z.number(),
    rate_per_second: z.number(),
    dropped: z.number(),
    pending: z.number(),
    overflow: z.string(),
  }),
  collector: z.object({
    state: z.string(),
    restarts: z.number(),
    lag_ms: z.number(),
    heartbeat_age_ms: z.number().nullable(),
  }),
  memory: z.object({ total_bytes: z.number(), series_in_use_bytes: z.number(), ring_bytes: z.number() }),
  alerting: z.object({ state: z.string(), rules: z.number(), pending: z.number(), firing: z.number() }),
  http: z
    .object({
      sessions: z.number(),
      max_sessions: z.number(),
      session_idle_seconds: z.number(),
      sessions_expired: z.number(),
      sessions_refused: z.number(),
      buffered_bytes: z.number(),
      max_buffered_bytes: z.number(),
      max_body_bytes: z.number(),
      bodies_too_large: z.number(),
      bodies_refused_busy: z.number(),
      state_changes: z.boolean(),
      token: z.boolean(),
    })
    .optional()
    .describe('the Streamable HTTP endpoint this answer came through, when it did'),
  metrics_window_seconds: windowSeconds.optional(),
  metrics: z.array(MetricSummary).optional(),
  metrics_total: z.number().optional(),
  metrics_truncated: z.boolean().optional(),
  alerts: z.array(z.record(z.string(), z.unknown())).optional().describe('active alerts, as get_performance_alerts answers them'),
  alerts_total: z.number().optional(),
  alerts_truncated: z.boolean().optional(),
  baselines: z.array(z.record(z.string(), z.unknown())).optional().describe('per-series baselines learned from the history held'),
  baselines_total: z.number().optional(),
  baselines_truncated: z.boolean().optional(),
});

