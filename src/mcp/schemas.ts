/**
 * The MCP tools' arguments and answers, as zod schemas: the single source of their JSON
 * Schema (tools/list), of argument validation and of the handlers' types. Arguments are
 * snake_case and durations are seconds (except response_time, in ms, as requests are
 * measured); every list is bounded and every string has a length limit, so no argument can
 * make the server do unbounded work and no answer floods an agent's context.
 */
import { z } from 'zod';
import { MAX_NAME_LENGTH, MAX_TAG_KEY_LENGTH, NAME_PATTERN, TAG_KEY_PATTERN } from '../engine/registry.js';
import { KINDS } from '../engine/metrics.js';

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

/** The tag limits of a monitor (its options maxTags and maxTagValueLength), which its tools' schemas advertise. */
export interface TagLimits {
  maxTags: number;
  maxTagValueLength: number;
}

/** The largest limits any monitor may be configured with: what the batch fast path checks. */
export const MAX_TAG_LIMITS: TagLimits = { maxTags: MAX_TAGS, maxTagValueLength: MAX_TAG_VALUE_LENGTH };

/** A schema builder memoised per tag limits, so each set of limits is converted to JSON Schema once. */
export function perLimits<T>(build: (limits: TagLimits) => T): (limits: TagLimits) => T {
  const built = new Map<string, T>();
  return (limits) => {
    const key = `${limits.maxTags}/${limits.maxTagValueLength}`;
    let value = built.get(key);
    if (value === undefined) built.set(key, (value = build(limits)));
    return value;
  };
}

/** A series' tags under the given limits. */
export const tagsFor = perLimits((l: TagLimits) =>
  z
    .record(tagKey, z.string({ error: 'must be a string' }).max(l.maxTagValueLength, { error: `must be at most ${l.maxTagValueLength} characters`, abort: true }), {
      error: 'must be an object of tag names to string values',
    })
    .refine((tags) => Object.keys(tags).length <= l.maxTags, { error: `must have at most ${l.maxTags} tags` })
    .meta({ maxProperties: l.maxTags }),
);

const finite = (what: string) => z.number({ error: `must be ${what}` });

/** `90s`, `15m`, `1h`, `24h`, `7d`: a span ending now. */
export const timeRange = z
  .string({ error: 'must be a duration such as 90s, 15m, 1h, 24h or 7d' })
  .max(16, { error: 'must be a duration such as 90s, 15m, 1h, 24h or 7d', abort: true })
  .regex(/^[1-9][0-9]{0,6}[smhd]$/, { error: 'must be a duration such as 90s, 15m, 1h, 24h or 7d' })
  .refine((s) => parseTimeRange(s) <= MAX_RANGE_SECONDS * 1000, { error: `must be at most 30d (the retention period)` })
  .describe('e.g. 90s, 15m, 24h, 7d');

export const isoTime = z
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

// ---- start / stop -------------------------------------------------------------------

export const StartInput = z.strictObject({
  config_path: z
    .string({ error: 'must be a path (a string)' })
    .min(1, { error: 'must not be empty' })
    .max(MAX_PATH_LENGTH, { error: `must be at most ${MAX_PATH_LENGTH} characters`, abort: true })
    .optional()
    .describe('JSON options file (at most 1 MB) in the server\'s --config-dir (default: its cwd)'),
  collection_interval: z
    .number({ error: 'must be a number of seconds from 1 to 300' })
    .int({ error: 'must be a whole number of seconds from 1 to 300' })
    .min(1, { error: 'must be a number of seconds from 1 to 300' })
    .max(300, { error: 'must be a number of seconds from 1 to 300' })
    .optional()
    .describe('Seconds (default 1)'),
});

export const StartOutput = z.object({
  state: z.string(),
  started: z.boolean(),
  collection_interval: z.number(),
  started_at: z.string().nullable(),
  series: z.number(),
  config_path: z.string().nullable(),
});

export const StopInput = z.strictObject({
  preserve_data: z
    .boolean({ error: 'must be true or false' })
    .default(true)
    .describe('false discards the data'),
});

export const StopOutput = z.object({
  state: z.string(),
  was_running: z.boolean(),
  paused: z.boolean(),
  data_preserved: z.boolean(),
  series: z.number(),
  samples_ingested: z.number(),
});

// ---- recording ------------------------------------------------------------------------

export const recordInputFor = perLimits((l: TagLimits) => {
  const tags = tagsFor(l);
  const sample = z.strictObject({
    metric_type: metricName,
    value: finite('a finite number'),
    tags: tags.optional(),
    timestamp: z
      .union([finite('a time (ms since the epoch or ISO-8601)'), isoTime], { error: 'must be ms since the epoch or an ISO-8601 time' })
      .optional()
      .describe('ms since the epoch or ISO-8601, at most one interval ago'),
  });
  return z
    .strictObject({
      metric_type: metricName.optional(),
      value: finite('a finite number').optional(),
      tags: tags.optional(),
      samples: z
        .array(sample, { error: 'must be an array of samples' })
        .min(1, { error: 'must hold at least one sample' })
        .max(MAX_BATCH, { error: `must hold at most ${MAX_BATCH} samples per call` })
        .optional()
        .describe('A batch instead, all or nothing'),
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
});

/** The arguments of record_performance_metric at the largest limits: what the batch fast path must agree with. */
export const RecordInput = recordInputFor(MAX_TAG_LIMITS);

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
  recorded: z.number(),
  metrics: z.array(z.string()).describe('names written (first 20)'),
  truncated: z.boolean(),
});

export const requestInputFor = perLimits((l: TagLimits) =>
  z.strictObject({
    response_time: z
      .number({ error: 'must be a finite number of ms >= 0' })
      .min(0, { error: 'must be a finite number of ms >= 0' })
      .describe('ms'),
    success: z.boolean({ error: 'must be true or false' }),
    // The endpoint becomes the endpoint tag's value: the tag limit applies.
    endpoint: z
      .string({ error: 'must be a string' })
      .min(1, { error: 'must not be empty' })
      .max(l.maxTagValueLength, { error: `must be at most ${l.maxTagValueLength} characters`, abort: true })
      .optional()
      .describe('e.g. /users'),
    status_code: intRange(100, 599).optional(),
  }),
);

export const RequestOutput = z.object({
  recorded: z.array(z.string()),
  endpoint: z.string().nullable(),
});

// ---- reading --------------------------------------------------------------------------

/** The recent window a metric summary covers unless asked otherwise. */
export const DEFAULT_WINDOW_SECONDS = 60;

export const metricsInputFor = perLimits((l: TagLimits) =>
  z.strictObject({
    metric_types: z
      .array(metricName, { error: 'must be an array of metric names' })
      .max(256, { error: 'must list at most 256 metric names' })
      .optional()
      .describe('Default: all'),
    tags: tagsFor(l).optional().describe('Series with these tags'),
    window: z
      .number({ error: 'must be a number of seconds from 1 to 86400' })
      .min(1, { error: 'must be a number of seconds from 1 to 86400' })
      .max(86_400, { error: 'must be a number of seconds from 1 to 86400' })
      .default(DEFAULT_WINDOW_SECONDS)
      .describe(`Seconds (default ${DEFAULT_WINDOW_SECONDS})`),
    limit: intRange(1, 1000).optional().describe('Default: fits 8 KB'),
  }),
);

const nullableNumber = z.number().nullable();

export const MetricSummary = z.object({
  name: z.string(),
  tags: z.record(z.string(), z.string()),
  kind: z.enum(KINDS),
  unit: z.string(),
  value: nullableNumber.describe('gauge: last; counter: per second; distribution: mean'),
  last: nullableNumber.optional(),
  last_at: z.string().nullable(),
  count: z.number(),
  mean: nullableNumber,
  min: nullableNumber,
  max: nullableNumber,
  p50: nullableNumber.optional().describe('p50-p99: distributions only'),
  p90: nullableNumber.optional(),
  p95: nullableNumber.optional(),
  p99: nullableNumber.optional(),
  total_count: z.number(),
});

const windowSeconds = z.number();

export const MetricsOutput = z.object({
  window_seconds: windowSeconds,
  metrics: z.array(MetricSummary),
  total: z.number(),
  truncated: z.boolean(),
  at: z.string(),
});
