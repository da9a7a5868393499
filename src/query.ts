/**
 * Queries over the series store: current metrics with a recent window, and history with
 * server-side downsampling. Pure functions of (registry, reader, time) so that the
 * coordinator and the report pool answer the same way.
 *
 * A point's `value` depends on the kind: a gauge's last value, a counter's rate per second
 * over the point, a distribution's mean. Raw points carry the sample itself.
 *
 * Rates have one definition: per second over the time the window actually covers, that is
 * the part of it the monitor watched (from its first start, up to now or to when it stopped)
 * and that has passed. A counter's rate over the last 60 s of a monitor up 11 s is per second
 * of those 11 s; over a window the monitor did not watch at all it is null.
 *
 * A metric name that no series or definition has is an error naming the nearest known ones.
 */
import { InvalidArgumentError, describeValue } from './errors.js';
import type { MetricKind, MetricUnit } from './metrics.js';
import { unknownMetricError } from './names.js';
import { validateName, type CanonicalTags, type Registry } from './registry.js';
import { SketchAccumulator, rankOf } from './sketch.js';
import type { BucketRecord, StoreReader, Tier } from './store/reader.js';
import { WindowSketches } from './window-sketches.js';

export const QUANTILES = [0.5, 0.9, 0.95, 0.99] as const;

export interface MetricQuery {
  /** Only these metric names (default: all with data). */
  names?: string[];
  /** Only series whose tags include all of these. */
  tags?: Record<string, string>;
  /** The recent window summarised per series, in seconds (default 60). */
  windowSeconds?: number;
}

export interface MetricWindow {
  seconds: number;
  count: number;
  sum: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  /** Sum per second over the time the window covers (a counter's rate); null when it covers none. */
  rate: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
}

export interface MetricSnapshot {
  id: number;
  name: string;
  tags: CanonicalTags;
  kind: MetricKind;
  unit: MetricUnit;
  /** Gauge: last value; counter: rate per second over the window; distribution: window mean. */
  value: number | null;
  last: number | null;
  /** When the newest sample arrived (ms since the epoch). */
  lastTimestamp: number | null;
  totalCount: number;
  totalSum: number;
  window: MetricWindow;
}

export type Resolution = 'auto' | 'raw' | 'bucket' | 'rollup';

export interface HistoryQuery {
  metric: string;
  tags?: Record<string, string>;
  /** ms since the epoch, or a Date; default: the oldest data held. */
  from?: number | Date;
  /** ms since the epoch, or a Date; default: now. */
  to?: number | Date;
  resolution?: Resolution;
  /** Points per series at most; longer histories are merged into groups (default 10,000). */
  maxPoints?: number;
  /** Series at most (default all); the answer's totalSeries says how many matched. */
  limit?: number;
}

export interface HistoryPoint {
  /** Start of the point (ms since the epoch): the sample time for raw points. */
  t: number;
  value: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  p50?: number;
  p90?: number;
  p99?: number;
}

export interface SeriesHistory {
  id: number;
  tags: CanonicalTags;
  resolution: Exclude<Resolution, 'auto'>;
  /** Width of a point in ms (0 for raw points). */
  stepMs: number;
  /** Points before downsampling. */
  sourcePoints: number;
  points: HistoryPoint[];
}

export interface MetricHistory {
  metric: string;
  kind: MetricKind;
  unit: MetricUnit;
  from: number;
  to: number;
  series: SeriesHistory[];
  /** Series of the metric (with data) that matched, listed or not. */
  totalSeries: number;
}

/** When the monitor watched: from its first start, to now (Infinity while running) or to when it stopped. */
export interface Watched {
  from: number;
  to: number;
}

/** Seconds of [from, to) that the monitor watched (see the module comment), or null for none. */
export function coveredSeconds(from: number, to: number, watched: Watched): number | null {
  const a = Math.max(from, watched.from);
  const b = Math.min(to, watched.to);
  return b > a ? (b - a) / 1000 : null;
}

const ALWAYS: Watched = { from: -Infinity, to: Infinity };

const RESOLUTIONS: readonly Resolution[] = ['auto', 'raw', 'bucket', 'rollup'];

/** A time bound given as ms or a Date, `fallback` when absent. */
export function timeArg(value: number | Date | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  const t = value instanceof Date ? value.getTime() : value;
  if (typeof t !== 'number' || !Number.isFinite(t)) throw new InvalidArgumentError(field, `must be a Date or a finite number of ms since the epoch, got ${describeValue(value)}`);
  return t;
}

function tagMatch(tags: unknown, field = 'tags'): Record<string, string> | undefined {
  if (tags === undefined || tags === null) return undefined;
  if (typeof tags !== 'object' || Array.isArray(tags)) throw new InvalidArgumentError(field, `must be an object of tag names to values, got ${describeValue(tags)}`);
  return Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, String(v)]));
}

function matches(tags: CanonicalTags, match: Record<string, string> | undefined): boolean {
  if (!match) return true;
  for (const k in match) if (tags[k] !== match[k]) return false;
  return true;
}

const orNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** A series' window aggregate, and what it was computed from (see Query.window). */
interface CachedWindow {
  total: number;
  buckets: number;
  openStart: number;
  firstBucket: number;
  seconds: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  quantiles: number[];
}

export class Query {
  private readonly registry: Registry;
  private readonly reader: StoreReader;
  private readonly acc = new SketchAccumulator();
  private readonly windows = new Map<number, CachedWindow>();
  private readonly sketches: WindowSketches;
  private readonly watched: () => Watched;

  constructor(registry: Registry, reader: StoreReader, watched: () => Watched = () => ALWAYS) {
    this.registry = registry;
    this.reader = reader;
    this.sketches = new WindowSketches(reader);
    this.watched = watched;
  }

  /** Every known metric name: defined (the built-in ones too) or recorded. */
  knownNames(): string[] {
    return this.registry.listNames().map((n) => n.name);
  }

  private checkName(name: string, field: string): void {
    if (this.registry.lookupName(name) === undefined) throw unknownMetricError(field, name, this.knownNames());
  }

  metrics(query: MetricQuery = {}, now: number = Date.now()): MetricSnapshot[] {
    if (query === null || typeof query !== 'object') throw new InvalidArgumentError('query', `must be an object, got ${describeValue(query)}`);
    const seconds = query.windowSeconds ?? 60;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 1 || seconds > 86_400) {
      throw new InvalidArgumentError('windowSeconds', `must be a number from 1 to 86400, got ${describeValue(seconds)}`);
    }
    let names: Set<string> | undefined;
    if (query.names !== undefined) {
      if (!Array.isArray(query.names)) throw new InvalidArgumentError('names', `must be an array of metric names, got ${describeValue(query.names)}`);
      names = new Set(query.names.map((n, i) => validateName(n, `names[${i}]`)));
      query.names.forEach((n, i) => this.checkName(n, `names[${i}]`));
    }
    const match = tagMatch(query.tags);
    const interval = this.reader.layout.intervalMs;
    const from = now - seconds * 1000;
    const spanStart = Math.ceil(from / interval) * interval;
    const covered = coveredSeconds(spanStart, now, this.watched());
    const out: MetricSnapshot[] = [];
    const n = this.registry.seriesCount();
    for (let id = 0; id < n; id++) {
      const info = this.registry.info(id);
      if (names && !names.has(info.name)) continue;
      if (!matches(info.tags, match)) continue;
      const snap = this.reader.snapshot(id);
      if (snap.totalCount === 0) continue;
      const agg = this.window(id, snap.totalCount, snap.openStart, spanStart, seconds, from);
      const [p50, p90, p95, p99] = agg.quantiles;
      const mean = agg.count > 0 ? agg.sum / agg.count : Number.NaN;
      const rate = covered === null ? null : agg.sum / covered;
      out.push({
        id,
        name: info.name,
        tags: info.tags,
        kind: info.kind,
        unit: info.unit,
        value: info.kind === 'gauge' ? snap.lastValue : info.kind === 'counter' ? rate : orNull(mean),
        last: snap.lastValue,
        lastTimestamp: snap.lastTs,
        totalCount: snap.totalCount,
        totalSum: snap.totalSum,
        window: {
          seconds,
          count: agg.count,
          sum: agg.sum,
          mean: orNull(mean),
          min: orNull(agg.min),
          max: orNull(agg.max),
          rate,
          p50: orNull(p50!),
          p90: orNull(p90!),
          p95: orNull(p95!),
          p99: orNull(p99!),
        },
      });
    }
    return out;
  }

  /**
   * The aggregate and quantiles of a series' window: the buckets starting at or after
   * firstBucket, and the open one. They change only when a sample is applied (the total
   * grows), a bucket closes (the ring's head moves) or the window passes a bucket start, so
   * a poll that finds none of these reuses the last answer. Otherwise the quantiles come from
   * the window's histogram kept between reads (WindowSketches), or, when the bucket ring does
   * not reach back far enough, from merging the window's sketches. The key is read before
   * the aggregate: a sample applied while it is computed makes the next poll compute it again.
   */
  private window(id: number, total: number, openStart: number, firstBucket: number, seconds: number, from: number): CachedWindow {
    const buckets = this.reader.bucketCount(id, 1);
    const hit = this.windows.get(id);
    if (hit !== undefined && hit.total === total && hit.buckets === buckets && hit.openStart === openStart && hit.firstBucket === firstBucket && hit.seconds === seconds) return hit;
    let agg = this.reader.aggregate(id, from, Infinity);
    const quantiles = [Number.NaN, Number.NaN, Number.NaN, Number.NaN];
    if (agg.count > 0 && !this.sketches.quantiles(id, seconds * 1000, firstBucket, openStart >= firstBucket, QUANTILES, quantiles)) {
      agg = this.reader.aggregate(id, from, Infinity, this.acc);
      this.acc.quantiles(QUANTILES).forEach((q, i) => (quantiles[i] = q));
    }
    const entry: CachedWindow = {
      total,
      buckets,
      openStart,
      firstBucket,
      seconds,
      count: agg.count,
      sum: agg.sum,
      min: agg.min,
      max: agg.max,
      quantiles: quantiles.map((q) => clamp(q, agg.min, agg.max)),
    };
    this.windows.set(id, entry);
    return entry;
  }

  history(query: HistoryQuery, now: number = Date.now()): MetricHistory {
    if (query === null || typeof query !== 'object') throw new InvalidArgumentError('query', `must be an object, got ${describeValue(query)}`);
    const metric = validateName(query.metric, 'metric');
    // Without `to`, everything up to now, including samples stamped this very millisecond.
    const to = timeArg(query.to, 'to', Infinity);
    const from = timeArg(query.from, 'from', -Infinity);
    if (from > to) throw new InvalidArgumentError('from', `(${new Date(from).toISOString()}) must not be after to (${new Date(to).toISOString()})`);
    const shownTo = Number.isFinite(to) ? to : now;
    const resolution = query.resolution ?? 'auto';
    if (!RESOLUTIONS.includes(resolution)) throw new InvalidArgumentError('resolution', `must be one of ${RESOLUTIONS.join(', ')}, got ${describeValue(resolution)}`);
    const maxPoints = query.maxPoints ?? 10_000;
    if (!Number.isInteger(maxPoints) || maxPoints < 1 || maxPoints > 100_000) throw new InvalidArgumentError('maxPoints', `must be an integer from 1 to 100000, got ${describeValue(maxPoints)}`);
    const limit = query.limit ?? Infinity;
    if (limit !== Infinity && (!Number.isInteger(limit) || limit < 1)) throw new InvalidArgumentError('limit', `must be a positive integer, got ${describeValue(limit)}`);
    const def = this.registry.lookupName(metric);
    if (def === undefined) throw unknownMetricError('metric', metric, this.knownNames());
    const series: SeriesHistory[] = [];
    let totalSeries = 0;
    const watched = this.watched();
    for (const id of this.registry.find(metric, tagMatch(query.tags))) {
      if (this.reader.totalCount(id) === 0) continue;
      if (totalSeries++ < limit) series.push(this.seriesHistory(id, def.kind, from, to, resolution, maxPoints, { from: watched.from, to: Math.min(watched.to, now) }));
    }
    return { metric, kind: def.kind, unit: def.unit, from, to: shownTo, series, totalSeries };
  }

  private seriesHistory(id: number, kind: MetricKind, from: number, to: number, resolution: Resolution, maxPoints: number, watched: Watched): SeriesHistory {
    const L = this.reader.layout;
    const tags = this.registry.info(id).tags;
    let chosen = resolution;
    if (chosen === 'auto') {
      const rawOldest = this.reader.rawOldest(id);
      const t1Oldest = this.reader.oldestBucket(id, 1);
      const t1Wrapped = this.reader.bucketCount(id, 1) > L.t1Cap;
      // Raw when the raw ring reaches back to `from`, or holds every sample ever.
      if (from >= rawOldest || this.reader.totalCount(id) <= L.rawCap) chosen = 'raw';
      else if (Number.isNaN(t1Oldest) || !t1Wrapped || from >= t1Oldest) chosen = 'bucket';
      else chosen = 'rollup';
    }
    if (chosen === 'raw') {
      const raw = this.reader.raw(id, from, to);
      const points: HistoryPoint[] = raw.t.map((t, i) => {
        const v = raw.v[i]!;
        return { t, value: v, count: 1, sum: v, min: v, max: v, last: v };
      });
      return { id, tags, resolution: 'raw', stepMs: 0, sourcePoints: points.length, points: downsampleRaw(points, maxPoints, kind) };
    }
    // Bucketed: rollups up to the newest one written, buckets after it, then the open bucket.
    const pieces: { r: BucketRecord; tier: Tier | 0 }[] = [];
    let boundary = from;
    if (chosen === 'rollup') {
      const rollups = this.reader.buckets(id, 2, from, to);
      for (const r of rollups) pieces.push({ r, tier: 2 });
      const newest = rollups[rollups.length - 1];
      if (newest) boundary = newest.start + L.rollupMs;
    }
    for (const r of this.reader.buckets(id, 1, boundary, to)) pieces.push({ r, tier: 1 });
    const s = this.reader.snapshot(id);
    if (s.openCount > 0 && s.openStart >= boundary && s.openStart < to) {
      pieces.push({ r: { start: s.openStart, count: s.openCount, sum: s.openSum, min: s.openMin, max: s.openMax, last: s.openLast, sketchPos: -1, sketchLen: 0 }, tier: 0 });
    }
    const group = Math.max(1, Math.ceil(pieces.length / maxPoints));
    const points: HistoryPoint[] = [];
    for (let i = 0; i < pieces.length; i += group) {
      const slice = pieces.slice(i, i + group);
      let count = 0;
      let sum = 0;
      let min = Infinity;
      let max = -Infinity;
      let coveredMs = 0;
      this.acc.reset();
      for (const { r, tier } of slice) {
        count += r.count;
        sum += r.sum;
        min = Math.min(min, r.min);
        max = Math.max(max, r.max);
        coveredMs += (coveredSeconds(r.start, r.start + (tier === 2 ? L.rollupMs : L.intervalMs), watched) ?? 0) * 1000;
        if (kind === 'distribution') {
          if (tier === 0) this.reader.addOpenSketch(id, this.acc);
          else this.reader.addSketch(tier, r, this.acc);
        }
      }
      const first = slice[0]!.r;
      const last = slice[slice.length - 1]!.r.last;
      const point: HistoryPoint = { t: first.start, value: pointValue(kind, sum, count, last, coveredMs), count, sum, min, max, last };
      if (kind === 'distribution' && this.acc.total > 0) {
        const [p50, p90, p99] = this.acc.quantiles([0.5, 0.9, 0.99]).map((q) => clamp(q, min, max));
        point.p50 = p50!;
        point.p90 = p90!;
        point.p99 = p99!;
      }
      points.push(point);
    }
    const usedRollups = pieces.some((p) => p.tier === 2);
    return { id, tags, resolution: usedRollups ? 'rollup' : 'bucket', stepMs: group * (usedRollups ? L.rollupMs : L.intervalMs), sourcePoints: pieces.length, points };
  }
}

/** A sketch estimate never lies outside the exact min and max that the bucket stats hold. */
function clamp(q: number, min: number, max: number): number {
  return q < min ? min : q > max ? max : q;
}

/** A point's value; a counter's is per second of the time its buckets cover (see coveredSeconds). */
function pointValue(kind: MetricKind, sum: number, count: number, last: number, coveredMs: number): number {
  if (kind === 'gauge') return last;
  if (kind === 'counter') return coveredMs > 0 ? sum / (coveredMs / 1000) : sum;
  return count > 0 ? sum / count : 0;
}

/** Merges consecutive raw samples into at most maxPoints points (exact stats per group). */
function downsampleRaw(points: HistoryPoint[], maxPoints: number, kind: MetricKind): HistoryPoint[] {
  if (points.length <= maxPoints) return points;
  const group = Math.ceil(points.length / maxPoints);
  const out: HistoryPoint[] = [];
  for (let i = 0; i < points.length; i += group) {
    const slice = points.slice(i, i + group);
    const values = slice.map((p) => p.value).sort((a, b) => a - b);
    const sum = values.reduce((a, b) => a + b, 0);
    const rank = (q: number): number => values[rankOf(q, values.length)]!;
    const last = slice[slice.length - 1]!.value;
    const spanMs = slice[slice.length - 1]!.t - slice[0]!.t;
    out.push({
      t: slice[0]!.t,
      value: kind === 'gauge' ? last : kind === 'counter' ? (spanMs > 0 ? sum / (spanMs / 1000) : sum) : sum / values.length,
      count: values.length,
      sum,
      min: values[0]!,
      max: values[values.length - 1]!,
      last,
      ...(kind === 'distribution' ? { p50: rank(0.5), p90: rank(0.9), p99: rank(0.99) } : {}),
    });
  }
  return out;
}
