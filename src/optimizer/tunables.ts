/**
 * Tunables: knobs the application (and the monitor itself) registers for the optimisation
 * engine, each naming the metric it should improve and which way is better. The schema is
 * the single source of the definition's type and limits.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import { toInvalidArgument } from '../schema-errors.js';
import { validateName, type Registry, type Tags } from '../engine/registry.js';
import type { StoreReader } from '../engine/store/reader.js';
import { kindMean, sketchStddev } from '../analysis/stats.js';
import type { SketchAccumulator } from '../engine/sketch.js';
import type { MetricKind, MetricUnit } from '../engine/metrics.js';

export const OPTIMIZATION_TYPES = ['memory', 'cpu', 'cache', 'database', 'network', 'formula', 'concurrency', 'all'] as const;
export type OptimizationType = (typeof OPTIMIZATION_TYPES)[number];
export const TUNABLE_TYPES = ['memory', 'cpu', 'cache', 'database', 'network', 'formula', 'concurrency'] as const;
export type TunableType = (typeof TUNABLE_TYPES)[number];
export type Goal = 'decrease' | 'increase';

const finite = (what: string) => z.number({ error: `must be a finite number${what}` }).refine(Number.isFinite, { error: `must be a finite number${what}` });
const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { error: 'must be a function' });

export const TunableSchema = z
  .strictObject({
    name: z.string({ error: 'must be a string' }).min(1, { error: 'must be 1 to 200 characters' }).max(200, { error: 'must be 1 to 200 characters' }),
    type: z.enum(TUNABLE_TYPES, { error: `must be one of ${TUNABLE_TYPES.join(', ')}` }),
    /** Reads the knob's current value. */
    get: fn,
    /** Sets it; may be async, and may return the value it applied. */
    set: fn,
    min: finite(''),
    max: finite(''),
    step: finite(' > 0').refine((x) => x > 0, { error: 'must be a finite number > 0' }),
    /** The metric the knob should improve, and optionally which of its series. */
    target: z.string({ error: 'must be a metric name' }),
    targetTags: z.record(z.string(), z.string()).optional(),
    /** Which way is better for the target; derived for the built-in metrics. */
    goal: z.enum(['decrease', 'increase'], { error: 'must be "decrease" or "increase"' }).optional(),
    /** The direction tried first when nothing has been learned yet. */
    prefer: z.enum(['up', 'down'], { error: 'must be "up" or "down"' }).default('up'),
    description: z.string().max(500).optional(),
  })
  .refine((t) => t.min < t.max, { error: 'must be below max', path: ['min'] });

export type TunableDefinition = z.input<typeof TunableSchema> & {
  get: () => number;
  set: (value: number) => void | number | Promise<void | number>;
};

export interface Tunable {
  name: string;
  type: TunableType;
  get: () => number;
  set: (value: number) => void | number | Promise<void | number>;
  min: number;
  max: number;
  step: number;
  target: string;
  targetTags: Record<string, string> | undefined;
  goal: Goal;
  prefer: 'up' | 'down';
  description: string | undefined;
  /** Registered by the monitor for its own knobs. */
  builtin: boolean;
}

/** Which way is better for the metrics perfwatch knows. */
const INCREASE = new Set(['cache_hit_rate', 'throughput']);
const DECREASE = new Set([
  'response_time', 'api_response_time', 'formula_calculation_time', 'error_rate', 'cpu_usage', 'cpu_iowait', 'memory_usage', 'disk_usage',
  'event_loop_lag', 'event_loop_utilization', 'gc_pause', 'heap_used', 'heap_total', 'heap_usage', 'rss', 'queue_size', 'active_connections', 'database_connections',
  'monitor_dropped', 'monitor_collector_lag', 'monitor_ring_fill', 'monitor_overhead_cpu', 'monitor_overhead_memory', 'monitor_report_time',
]);

export function defaultGoal(metric: string): Goal | undefined {
  if (INCREASE.has(metric)) return 'increase';
  if (DECREASE.has(metric)) return 'decrease';
  return undefined;
}

export function parseTunable(input: unknown, builtin = false): Tunable {
  const parsed = TunableSchema.safeParse(input);
  if (!parsed.success) throw toInvalidArgument(parsed.error, input, 'tunable', 'option', TunableSchema);
  const t = parsed.data;
  validateName(t.target, 'tunable.target');
  const goal = t.goal ?? defaultGoal(t.target);
  if (!goal) throw new InvalidArgumentError('tunable.goal', `is required for target "${t.target}": say whether the metric should "decrease" or "increase"`);
  const get = t.get as () => number;
  let value: unknown;
  try {
    value = get();
  } catch (error) {
    throw new InvalidArgumentError('tunable.get', `threw: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || value < t.min || value > t.max) {
    throw new InvalidArgumentError('tunable.get', `must return a finite number from min ${t.min} to max ${t.max}`, { value: value });
  }
  return {
    name: t.name,
    type: t.type,
    get,
    set: t.set as Tunable['set'],
    min: t.min,
    max: t.max,
    step: t.step,
    target: t.target,
    targetTags: t.targetTags,
    goal,
    prefer: t.prefer,
    description: t.description,
    builtin,
  };
}

export interface TargetReading {
  /** The kind's mean over the window (a counter's rate); NaN without samples. */
  value: number;
  count: number;
  /**
   * The standard error of `value` (NaN when unknown: a single sample, or buckets read without
   * their sketches), and its degrees of freedom (count − 1): what tells a change of the target
   * from its noise. From the samples themselves when read raw, else from the spread their
   * sketches give. A counter's rate is a sum of increments arriving at random: its error is
   * √(Σ increment²) per second.
   */
  se: number;
  df: number;
  /** `raw`: samples timed to the millisecond; `buckets`: the whole buckets that start in the window (for a window none starts in, the one it lies in). */
  source: 'raw' | 'buckets' | 'none';
  /** What `value` is counted in, to write after it ('' for a plain number or a ratio; ' ms', '%', ' requests/s' for a counter's rate). */
  unit: string;
  /** The least and the most a value of the metric's unit can be (a ratio 0 to 1, a time 0 up; a plain number any). */
  range: readonly [number, number];
}

/** The values a metric of `unit` can take: a target at the end its goal moves to can be improved by nothing. */
export function unitRange(kind: MetricKind, unit: MetricUnit): readonly [number, number] {
  if (kind !== 'counter' && unit === 'ratio') return [0, 1];
  if (kind !== 'counter' && unit === 'percent') return [0, 100];
  return unit === '' ? [-Infinity, Infinity] : [0, Infinity];
}

/** The words after a value of a metric of `kind` in `unit`, as the optimizer's texts give it (a counter's value is its rate). */
export function valueUnit(kind: MetricKind, unit: MetricUnit): string {
  const base = unit === 'percent' ? '%' : unit === '' || unit === 'ratio' || unit === 'count' ? '' : unit === 'bytes_per_second' ? ' bytes/s' : ` ${unit}`;
  return kind === 'counter' ? `${base === '' || base === '%' ? '' : base}/s` : base;
}

/**
 * The target metric over [from, to], all matching series together: from raw samples when
 * the raw ring reaches back to `from` (exact to the millisecond), otherwise from the buckets
 * that start in the window. The bucket `from` falls in is left out: a verification window
 * starts at the change, and that bucket's samples came before it (they took a 10 s window's
 * reading of a hit rate the change had raised from 40% to 60% down to 58%). A window that no
 * bucket starts in (shorter than the interval) is read from the bucket it lies in, the
 * samples before it included: diluted towards the reading before, never none. `sketches` gives
 * an accumulator (reset here) for the buckets' sketches, which give the spread of their samples.
 */
export function measureTarget(registry: Registry, reader: StoreReader, metric: string, tags: Tags | undefined, from: number, to: number, sketches?: () => SketchAccumulator): TargetReading {
  const def = registry.lookupName(metric);
  if (!def) return { value: Number.NaN, count: 0, se: Number.NaN, df: 0, source: 'none', unit: '', range: [-Infinity, Infinity] };
  const unit = valueUnit(def.kind, def.unit);
  const range = unitRange(def.kind, def.unit);
  const match = tags ? Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, String(v)])) : undefined;
  const L = reader.layout;
  let count = 0;
  let sum = 0;
  // Sum of squared deviations from the mean, all series together (Chan's pairwise update).
  let m2 = 0;
  const add = (n: number, s: number, seriesM2: number): void => {
    if (n === 0) return;
    if (count > 0) {
      const delta = s / n - sum / count;
      m2 += seriesM2 + (delta * delta * count * n) / (count + n);
    } else m2 = seriesM2;
    count += n;
    sum += s;
  };
  let source: TargetReading['source'] = 'raw';
  const inWindow = Math.ceil(from / L.intervalMs) * L.intervalMs;
  const firstBucket = inWindow < to ? inWindow : Math.floor(from / L.intervalMs) * L.intervalMs;
  for (const id of registry.find(metric, match)) {
    const total = reader.totalCount(id);
    if (total === 0) continue;
    if (total <= L.rawCap || reader.rawOldest(id) <= from) {
      // to included: a sample is stamped when the collector drains it, and one drained by the
      // flush just before this reading bears the very millisecond `to` is read at.
      const raw = reader.raw(id, from, to + 1);
      let s = 0;
      for (const v of raw.v) s += v;
      const mean = raw.v.length > 0 ? s / raw.v.length : 0;
      let ss = 0;
      for (const v of raw.v) ss += (v - mean) ** 2;
      add(raw.v.length, s, ss);
    } else {
      const acc = sketches?.();
      const agg = reader.aggregate(id, firstBucket, to, acc);
      // The spread of the window's samples from their merged sketch; without one, unknown.
      const sd = acc && acc.total > 0 && agg.count > 0 ? sketchStddev(acc, agg.sum / agg.count, agg.min, agg.max, 0) : Number.NaN;
      add(agg.count, agg.sum, sd * sd * agg.count);
      source = 'buckets';
    }
  }
  if (count === 0) return { value: Number.NaN, count: 0, se: Number.NaN, df: 0, source: 'none', unit, range };
  const seconds = (to - (source === 'buckets' ? firstBucket : from)) / 1000;
  const se = count < 2 ? Number.NaN : def.kind === 'counter' ? Math.sqrt(m2 + (sum * sum) / count) / seconds : Math.sqrt(m2 / (count - 1) / count);
  return { value: kindMean(def.kind, count, sum, seconds), count, se, df: count - 1, source, unit, range };
}
