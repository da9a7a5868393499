/**
 * The MCP tools' arguments and answers, as zod schemas: the single source of their JSON
 * Schema (tools/list), of argument validation and of the handlers' types. Arguments are
 * snake_case and durations are seconds (except response_time, in ms, as requests are
 * measured); every list is bounded and every string has a length limit, so no argument can
 * make the server do unbounded work and no answer floods an agent's context.
 */
import { z } from 'zod';
import { MAX_NAME_LENGTH, MAX_TAG_KEY_LENGTH, NAME_PATTERN, TAG_KEY_PATTERN, TAG_NAME_RULE } from '../engine/registry.js';
import { KINDS } from '../engine/metrics.js';

/** Samples one record_performance_metric call may carry. */
export const MAX_BATCH = 100_000;
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
  .regex(TAG_KEY_PATTERN, { error: 'is not a valid tag name: it must match [a-zA-Z_][a-zA-Z0-9_]*', abort: true })
  // Reserved, as the registry has them: no series has such a tag, so a filter on one matched
  // nothing and said only that nothing matched.
  .refine((k) => !k.startsWith('__'), { error: TAG_NAME_RULE });

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
    .refine((tags) => Object.keys(tags).length <= l.maxTags, { error: (issue) => `has ${Object.keys(issue.input as object).length} tags; the limit is maxTags ${l.maxTags}` })
    .meta({ maxProperties: l.maxTags }),
);

/** `90s`, `15m`, `1h`, `24h`, `7d`: a span ending now. */
export const timeRange = z
  .string({ error: 'must be a duration such as 90s, 15m, 1h, 24h or 7d' })
  .max(16, { error: 'must be a duration such as 90s, 15m, 1h, 24h or 7d', abort: true })
  // A range longer than the history held is read from its oldest time (held.ts), as a start before it is.
  .regex(/^[1-9][0-9]{0,6}[smhd]$/, { error: 'must be a duration such as 90s, 15m, 1h, 24h or 7d' })
  .describe('e.g. 90s, 15m, 24h, 7d');

/** A time without Z or an offset is a local time of some zone the server cannot know: refused, and said why. */
const ISO_TIME = 'must be an ISO-8601 time with Z or an offset, such as 2026-11-27T10:00:00Z or 2026-11-27T11:00:00+01:00';

export const isoTime = z
  .string({ error: ISO_TIME })
  .max(MAX_TIME_LENGTH, { error: ISO_TIME, abort: true })
  .pipe(z.iso.datetime({ offset: true, error: ISO_TIME }));

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

/** The recent window a metric summary covers unless asked otherwise. */
export const DEFAULT_WINDOW_SECONDS = 60;

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
  p50: nullableNumber.optional(),
  p90: nullableNumber.optional(),
  p95: nullableNumber.optional(),
  p99: nullableNumber.optional(),
  quantile_count: z.number().optional(),
  total_count: z.number(),
});
