/**
 * Metric history: raw samples, buckets or rollups of one metric over a time range, per series,
 * downsampled on the server to at most maxPoints points. A point's `value` depends on the
 * kind: a gauge's last value, a counter's rate per second over the time the point covers (see
 * analysis/watched.ts), a distribution's mean; raw points carry the sample itself. A pure function of
 * (registry, reader, stored rollups, time), like the metric queries.
 *
 * With storage, the rollups on disk (fetched by the caller: see plan()) come first, up to
 * where the memory's data of the series begins, then the memory's own pieces, so that a
 * history spans restarts and the 30 days on disk without a seam or a sample counted twice.
 */
import { InvalidArgumentError } from '../errors.js';
import { checkKeys } from '../known-keys.js';
import type { MetricKind, MetricUnit } from '../engine/metrics.js';
import { unknownMetricError } from './names.js';
import { timeArg } from '../analysis/time-arg.js';
import { tagMatch } from './query.js';
import { validateName, type CanonicalTags, type Registry } from '../engine/registry.js';
import { clamp, rankOf, type SketchAccumulator } from '../engine/sketch.js';
import type { BucketRecord, RawSamples, StoreReader, Tier } from '../engine/store/reader.js';
import { HOUR_MS } from '../storage/hourly.js';
import type { StoredRollups } from '../storage/rollups.js';
import { memoryFrom } from '../reports/span-reader.js';
import { coveredSeconds, watchedOf, watchedUntil, withEarlier, type Watched, type WatchedSpan } from '../analysis/watched.js';
import { SharedRankings } from './history-order.js';
import { memberWindowEnd } from '../alerts/member-window.js';

/**
 * 'bucketed' is 'auto' without raw samples: buckets where every bucket that starts in the
 * range is held, else rollups. Raw samples carry no rate (a counter's sample is its
 * increment, a ratio's a 0 or a 1): a chart of rates or ratios over the whole range asks this.
 */
export type Resolution = 'auto' | 'raw' | 'bucket' | 'rollup' | 'bucketed';

/** The order of a history's series: 'id' (registration, the default) or 'busiest' (samples in the range, most first: history-order.ts). */
export type HistoryOrder = 'id' | 'busiest';

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
  /** Series with data to pass over before the first listed (default 0): the next page of a history cut at `limit`. Those passed over are counted, not read. */
  offset?: number;
  /** The series' order, which `offset` and `limit` page through (default 'id'). */
  order?: HistoryOrder;
  /**
   * A counter's bucketed steps with no sample that the monitor watched as points of rate 0
   * (count 0), for a series with samples in the range; steps it did not watch keep no point.
   * Other kinds have no value where nothing was recorded: it changes nothing of theirs.
   */
  zeroFill?: boolean;
}

/** The fields of a HistoryQuery. */
const HISTORY_FIELDS = ['metric', 'tags', 'from', 'to', 'resolution', 'maxPoints', 'limit', 'offset', 'order', 'zeroFill'] as const;

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
  /** A point that merges raw samples (downsampled): the time of its last one. */
  lastAt?: number;
}

export interface SeriesHistory {
  /** The series' id in this process; -1 for a stored series it has not registered (read from the database alone: HistoryReader.addStored). */
  id: number;
  tags: CanonicalTags;
  resolution: Exclude<Resolution, 'auto' | 'bucketed'>;
  /** Width of a point in ms (0 for raw points). */
  stepMs: number;
  /** Points before downsampling. */
  sourcePoints: number;
  points: HistoryPoint[];
  /**
   * Raw points only, when the raw ring has let samples go (it keeps the last rawCapacity) and
   * no longer reaches back to the range's `from`: the time of the oldest sample read. Samples before
   * it are not held raw; resolution 'bucket' or 'rollup' has them.
   */
  rawFrom?: number;
}

export interface MetricHistory {
  metric: string;
  kind: MetricKind;
  unit: MetricUnit;
  /**
   * The range's start as asked (ms since the epoch), or null when the query gave no `from`:
   * the answer then reaches back as far as the history held. Never -Infinity, which a reader's
   * `new Date(from).toISOString()` would throw on, as `to` is never Infinity.
   */
  from: number | null;
  /** The range's end: the `to` asked, or the time of the read when none was. */
  to: number;
  series: SeriesHistory[];
  /** Series of the metric (with data) that matched, listed or not. */
  totalSeries: number;
  /**
   * Series whose stored rollups could not be read (a damaged file, a storage actor that could
   * not answer), and the first error: each is listed with its memory's part only, or not at
   * all when the memory holds none of it. Absent when every read succeeded.
   */
  unread?: { series: number; error: string };
}

const RESOLUTIONS: readonly Resolution[] = ['auto', 'raw', 'bucket', 'rollup', 'bucketed'];
const ORDERS: readonly HistoryOrder[] = ['id', 'busiest'];

export class HistoryReader {
  private readonly registry: Registry;
  private readonly reader: StoreReader;
  private readonly acc: SketchAccumulator;
  private readonly watched: () => Watched;
  /**
   * The store takes members' buckets (a hub: docs/cluster.md): a series' raw ring then holds
   * one slot a bucket (its last value), not its samples, so no history is read from it.
   */
  private readonly buckets: boolean;
  /** Busiest-first rankings, shared by the queries of one interval (history-order.ts). */
  private readonly rankings: SharedRankings;

  /** `acc` may be shared with the metric queries of the same thread (one at a time runs). */
  constructor(registry: Registry, reader: StoreReader, acc: SketchAccumulator, watched: () => Watched, buckets = false) {
    this.registry = registry;
    this.reader = reader;
    this.acc = acc;
    this.watched = watched;
    this.buckets = buckets;
    this.rankings = new SharedRankings(reader.layout.intervalMs);
  }

  /**
   * Validates a query and finds its series (throws InvalidArgumentError on bad input).
   * `unknown`: the error for a metric name the registry does not hold (by default, that it is
   * not a known metric, with the nearest known names).
   */
  plan(query: HistoryQuery, now: number = Date.now(), unknown: (name: string, known: string[]) => Error = (name, known) => unknownMetricError('metric', name, known)): HistoryPlan {
    if (query === null || typeof query !== 'object') throw new InvalidArgumentError('query', 'must be an object', { value: query });
    checkKeys(query, HISTORY_FIELDS, 'query field');
    const metric = validateName(query.metric, 'metric');
    // Without `to`, everything up to now, including samples stamped this very millisecond.
    const to = timeArg(query.to, 'to', Infinity);
    const from = timeArg(query.from, 'from', -Infinity);
    if (from > to) throw new InvalidArgumentError('from', `(${new Date(from).toISOString()}) must not be after to (${new Date(to).toISOString()})`);
    const shownTo = Number.isFinite(to) ? to : now;
    const resolution = query.resolution ?? 'auto';
    if (!RESOLUTIONS.includes(resolution)) throw new InvalidArgumentError('resolution', `must be one of ${RESOLUTIONS.join(', ')}`, { value: resolution });
    const maxPoints = query.maxPoints ?? 10_000;
    if (!Number.isInteger(maxPoints) || maxPoints < 1 || maxPoints > 100_000) throw new InvalidArgumentError('maxPoints', 'must be an integer from 1 to 100000', { value: maxPoints });
    const limit = query.limit ?? Infinity;
    if (limit !== Infinity && (!Number.isInteger(limit) || limit < 1)) throw new InvalidArgumentError('limit', 'must be a positive integer', { value: limit });
    const offset = query.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError('offset', 'must be an integer of at least 0', { value: offset });
    const order = query.order ?? 'id';
    if (!ORDERS.includes(order)) throw new InvalidArgumentError('order', `must be one of ${ORDERS.join(', ')}`, { value: order });
    const zeroFill = query.zeroFill ?? false;
    if (typeof zeroFill !== 'boolean') throw new InvalidArgumentError('zeroFill', 'must be true or false', { value: zeroFill });
    const def = this.registry.lookupName(metric);
    if (def === undefined) throw unknown(metric, this.registry.listNames().map((n) => n.name));
    const match = tagMatch(query.tags);
    // Ids alone: each series' tags and memoryFrom are read when first asked for, by the page's
    // series (and those read from the file). Read for every matching series before the page
    // was taken, a page of 20 of 10,000 held the host's thread 3-8 ms, each tab's each interval.
    let ids: PlannedSeries[] = this.registry.find(metric, match).map((id) => new Planned(id, this.registry, this.reader));
    if (order === 'busiest') ids = this.rankings.busiestFirst(this.reader, metric, match, ids, from, to, now);
    return { metric, kind: def.kind, unit: def.unit, from, to, shownTo, resolution, maxPoints, limit, offset, match, ids, zeroFill };
  }

  /**
   * Adds to a plan stored series this process has not registered (the oldest, left out at
   * start: src/storage/restore.ts), after its own: their history is the database's alone.
   */
  addStored(plan: HistoryPlan, stored: readonly CanonicalTags[]): void {
    for (const tags of stored) plan.ids.push({ id: -1, tags: Object.freeze({ ...tags }), memoryFrom: Infinity });
  }

  /**
   * The answer to a plan, with each series' stored rollups (by its entry in plan.ids) where there are some, and
   * the runs of the processes that wrote them (storage/watched-runs.ts), when read: a counter's
   * stored minute is per second of the part of it a process watched. `counted`: for a page (a
   * `limit`), the series the memory does not hold that have stored rows in the range, whose
   * rows were read for the page's alone: each counts in totalSeries, listed or not, so that
   * an answer cut at its limit says how many there are (registered or not: after a restart
   * every series is on disk only until it is recorded again).
   */
  build(plan: HistoryPlan, stored: ReadonlyMap<PlannedSeries, StoredRollups> = new Map(), now: number = Date.now(), unread?: MetricHistory['unread'], runs?: readonly WatchedSpan[], counted?: ReadonlySet<PlannedSeries>): MetricHistory {
    const series: SeriesHistory[] = [];
    let totalSeries = 0;
    const watched = runs ? withEarlier(this.watched(), runs) : this.watched();
    for (const entry of plan.ids) {
      const id = entry.id;
      const rows = stored.get(entry);
      // A series with no stored rows has no stored part: its memoryFrom is not read.
      const disk = rows === undefined ? [] : storedBefore(rows, entry.memoryFrom);
      if (!this.inMemory(id) && disk.length === 0) {
        // Past the page (or before it), or a page's whose rows could not be read (`unread` says so).
        if (counted?.has(entry)) totalSeries++;
        continue;
      }
      // Those before the page are counted only: reading them cost the host's thread as much
      // as the page, and a walk through N series page by page cost N²/limit reads.
      const index = totalSeries++;
      if (index >= plan.offset && index - plan.offset < plan.limit) {
        series.push(this.seriesHistory(id, entry.tags, plan.kind, plan.from, plan.to, plan.resolution, plan.maxPoints, watchedUntil(watchedOf(this.registry, id, { ...watched, to: Math.min(watched.to, now) }), this.memberTo(id, now)), disk, entry.memoryFrom, plan.zeroFill && plan.kind === 'counter'));
      }
    }
    return { metric: plan.metric, kind: plan.kind, unit: plan.unit, from: Number.isFinite(plan.from) ? plan.from : null, to: plan.shownTo, series, totalSeries, ...(unread ? { unread } : {}) };
  }

  /** Whether the memory holds samples of a planned series (one not registered has none). */
  inMemory(id: number): boolean {
    return id >= 0 && this.reader.totalCount(id) > 0;
  }

  /** plan() and build() without stored rollups (storage 'memory'). */
  read(query: HistoryQuery, now: number = Date.now()): MetricHistory {
    return this.build(this.plan(query, now), new Map(), now);
  }

  /** A series' history; `id` -1: a stored series not registered, its stored rows alone. */
  private seriesHistory(id: number, tags: CanonicalTags, kind: MetricKind, from: number, to: number, resolution: Resolution, maxPoints: number, watched: Watched, disk: StoredPiece[], memoryFrom: number, zeroFill: boolean): SeriesHistory {
    const L = this.reader.layout;
    let chosen = resolution;
    const stored = disk.filter((p) => p.r.start >= from && p.r.start < to);
    if (id < 0) {
      chosen = 'rollup';
    } else if (stored.length > 0 && (chosen === 'auto' || chosen === 'raw' || chosen === 'bucketed')) {
      // The history reaches back past the memory: the memory's part at its bucketed grain.
      chosen = this.reader.bucketCount(id, 1) > L.t1Cap ? 'rollup' : 'bucket';
    } else if (chosen === 'auto' || chosen === 'bucketed' || (chosen === 'raw' && this.buckets)) {
      const rawOldest = this.reader.rawOldest(id);
      const t1Oldest = this.reader.oldestBucket(id, 1);
      const t1Wrapped = this.reader.bucketCount(id, 1) > L.t1Cap;
      // Raw when the raw ring reaches back to `from`, or holds every sample ever; never on a
      // hub, whose raw slots are its members' buckets: a bucket of 5 samples read as one point
      // of count 1, its last value.
      if (chosen !== 'bucketed' && !this.buckets && (from >= rawOldest || this.reader.totalCount(id) <= L.rawCap)) chosen = 'raw';
      // Buckets when every bucket that starts in the range is held: one let go that began
      // before `from` (the one `from` falls in) is in no answer. A 300 s chart over a ring of
      // 300 buckets fell to a minute's rollups a point.
      else if (Number.isNaN(t1Oldest) || !t1Wrapped || from > t1Oldest - L.intervalMs) chosen = 'bucket';
      else chosen = 'rollup';
    }
    if (chosen === 'raw') {
      const raw = inTimeOrder(this.reader.raw(id, from, to));
      const points: HistoryPoint[] = raw.t.map((t, i) => {
        const v = raw.v[i]!;
        return { t, value: v, count: 1, sum: v, min: v, max: v, last: v };
      });
      // Asked for raw, from before what the ring holds: the last 256 of 1,000 came without a word of the 744 before.
      const rawOldest = this.reader.rawOldest(id);
      const wrapped = this.reader.totalCount(id) > L.rawCap && from < rawOldest;
      return { id, tags, resolution: 'raw', stepMs: 0, sourcePoints: points.length, points: downsampleRaw(points, maxPoints, kind, Math.min(to, watched.to)), ...(wrapped ? { rawFrom: raw.t[0] ?? rawOldest } : {}) };
    }
    // Bucketed: stored rollups, then rollups up to the newest one written, buckets after it,
    // then the open bucket.
    const pieces: { r: BucketRecord; tier: Tier | 0 | 3; rollups?: StoredRollups }[] = stored.map((p) => ({ r: p.r, tier: 3, rollups: p.rollups }));
    if (id >= 0) this.memoryPieces(id, chosen === 'rollup', from, to, pieces);
    const usedRollups = pieces.some((p) => p.tier === 2 || p.tier === 3);
    const usedHours = pieces.some((p) => p.tier === 3 && p.rollups!.hourly[p.r.sketchLen] === 1);
    // One point a step of the coarsest grain used: stored rows (a restarted monitor's partial
    // minutes among them), rollups and buckets of one minute (or hour) make one point of it,
    // so that the answer's stepMs holds for every point.
    const step = usedHours ? HOUR_MS : usedRollups ? L.rollupMs : L.intervalMs;
    const cells: (typeof pieces)[] = [];
    const cellAt: number[] = [];
    for (const piece of pieces) {
      const at = Math.floor(piece.r.start / step);
      if (at !== cellAt[cellAt.length - 1]) {
        cells.push([]);
        cellAt.push(at);
      }
      cells[cells.length - 1]!.push(piece);
    }
    // Points of `group` steps each, laid on the time from the first cell: a point is the steps
    // it says it is (stepMs), those with no sample among them. Grouped by cells with data, a
    // counter recorded every 3 s read 2 s steps, each point spanning 6 s.
    // zeroFill (a counter with samples in the range): the points are laid from the range's
    // first step to its end, or to now, so that the watched steps with no sample, between the
    // pieces and around them, are there to read 0; otherwise from the first cell with data.
    const fill = zeroFill && cells.length > 0;
    const anchor = fill && Number.isFinite(from) ? Math.floor(from / step) : (cellAt[0] ?? 0);
    const lastStep = fill ? Math.ceil(Math.min(to, watched.to) / step) : 0;
    const group = fill ? Math.max(1, Math.ceil((lastStep - anchor) / maxPoints)) : groupSize(cellAt, maxPoints);
    const points: HistoryPoint[] = [];
    /** Points of rate 0 for the steps from `k` up to `until` (exclusive) that the monitor watched. */
    const zeros = (k: number, until: number): void => {
      for (; fill && k < until; k++) {
        const stepStart = (anchor + k * group) * step;
        const t = Math.max(from, stepStart);
        if (coveredSeconds(t, Math.min(to, stepStart + group * step, watched.to), watched) !== null) points.push({ t, value: 0, count: 0, sum: 0, min: 0, max: 0, last: 0 });
      }
    };
    let nextK = 0;
    for (let i = 0; i < cells.length; ) {
      const k = Math.floor((cellAt[i]! - anchor) / group);
      let j = i;
      while (j < cells.length && Math.floor((cellAt[j]! - anchor) / group) === k) j++;
      const slice = cells.slice(i, j).flat();
      i = j;
      zeros(nextK, k);
      nextK = k + 1;
      const stepStart = (anchor + k * group) * step;
      // The step's start, or `from` where the range begins inside it.
      const t = Math.max(from, stepStart);
      const end = Math.min(to, stepStart + group * step);
      let count = 0;
      let sum = 0;
      let min = Infinity;
      let max = -Infinity;
      // A counter's rate is per second of the point's time the monitor watched, each second
      // once: the seconds between its pieces (it took no sample there; over its pieces' alone,
      // a counter recorded once every 3 s read 1 a second), and those of a minute two processes
      // wrote rows of (counted from each row's start to the minute's end, the later process's
      // seconds counted twice) or that a process began before its first sample (counted from
      // that sample: 3.04 a second for 1.08).
      let reach = end;
      // Stored rows from before this process with no run read to say when their process
      // watched (watched.earlier): their span is all that is known.
      let unknownMs = 0;
      this.acc.reset();
      for (const { r, tier, rollups } of slice) {
        count += r.count;
        sum += r.sum;
        min = Math.min(min, r.min);
        max = Math.max(max, r.max);
        if (tier !== 3) reach = Math.max(reach, Math.min(r.start + (tier === 2 ? L.rollupMs : L.intervalMs), stepStart + group * step));
        else if (!watched.earlier) {
          const width = rollups!.hourly[r.sketchLen] === 1 ? HOUR_MS : L.rollupMs;
          unknownMs += Math.max(0, Math.min((Math.floor(r.start / width) + 1) * width, to, memoryFrom, watched.from) - r.start);
        }
        if (kind === 'distribution') {
          if (tier === 0) this.reader.addOpenSketch(id, this.acc);
          else if (tier === 3) {
            if (r.sketchPos >= 0) this.acc.addEncoded(rollups!.sketches, r.sketchPos);
          } else this.reader.addSketch(tier, r, this.acc);
        }
      }
      const coveredMs = (coveredSeconds(t, reach, watched) ?? 0) * 1000 + unknownMs;
      const last = slice[slice.length - 1]!.r.last;
      const point: HistoryPoint = { t, value: pointValue(kind, sum, count, last, coveredMs), count, sum, min, max, last };
      if (kind === 'distribution' && this.acc.total > 0) {
        const [p50, p90, p99] = this.acc.quantiles([0.5, 0.9, 0.99]).map((q) => clamp(q, min, max));
        point.p50 = p50!;
        point.p90 = p90!;
        point.p99 = p99!;
      }
      points.push(point);
    }
    zeros(nextK, Math.ceil((lastStep - anchor) / group));
    return { id, tags, resolution: usedRollups ? 'rollup' : 'bucket', stepMs: group * step, sourcePoints: pieces.length, points };
  }

  /**
   * How far a hub's member series is known: where its member's newest bucket ends (or an
   * interval behind the hub's newest boundary, for a member that sends nothing), as its windows
   * end (query.ts, memberEnd); Infinity for other series, or one with an open bucket (a bucket
   * that came too late for its place). Its records are the member's closed buckets, each
   * arriving a moment after its interval: counted to now, the last point's rate (a minute's,
   * at rollup grain) was over time whose buckets had not arrived, and zeroFill read 0 there.
   */
  private memberTo(id: number, now: number): number {
    if (!this.registry.isMember(id) || this.reader.snapshot(id).openCount > 0) return Infinity;
    const interval = this.reader.layout.intervalMs;
    return memberWindowEnd(this.reader, id, Math.floor(now / interval) * interval - interval);
  }

  /** The memory's pieces of a series in [from, to): rollups (with `rollups`) up to the newest one written, buckets after it, then the open bucket. */
  private memoryPieces(id: number, rollups: boolean, from: number, to: number, pieces: { r: BucketRecord; tier: Tier | 0 | 3 }[]): void {
    let boundary = from;
    if (rollups) {
      const written = this.reader.buckets(id, 2, from, to);
      for (const r of written) pieces.push({ r, tier: 2 });
      const newest = written[written.length - 1];
      if (newest) boundary = newest.start + this.reader.layout.rollupMs;
    }
    for (const r of this.reader.buckets(id, 1, boundary, to)) pieces.push({ r, tier: 1 });
    const s = this.reader.snapshot(id);
    if (s.openCount > 0 && s.openStart >= boundary && s.openStart < to) {
      pieces.push({ r: { start: s.openStart, count: s.openCount, sum: s.openSum, min: s.openMin, max: s.openMax, last: s.openLast, sketchPos: -1, sketchLen: 0 }, tier: 0 });
    }
  }
}

export interface HistoryPlan {
  metric: string;
  kind: MetricKind;
  unit: MetricUnit;
  from: number;
  to: number;
  shownTo: number;
  resolution: Resolution;
  maxPoints: number;
  limit: number;
  offset: number;
  /** The tags asked for (a series matches when its tags include them). */
  match: Record<string, string> | undefined;
  /** The matching series, with where the memory's data of each begins (rollups stored before it count), in the query's order. */
  ids: PlannedSeries[];
  zeroFill: boolean;
}

/** A series a history reads: id -1 (memoryFrom Infinity) for a stored one not registered (addStored). */
export interface PlannedSeries {
  readonly id: number;
  readonly tags: CanonicalTags;
  /** Where the memory's data of the series begins (Infinity when it holds none): its stored rows before it count. */
  readonly memoryFrom: number;
}

/**
 * A registered series of a plan, its tags and memoryFrom read when first asked for and kept
 * (a read's stored rows and its memory's part cut at the same time).
 */
class Planned implements PlannedSeries {
  private knownTags: CanonicalTags | undefined;
  private knownFrom: number | undefined;

  constructor(
    readonly id: number,
    private readonly registry: Registry,
    private readonly reader: StoreReader,
  ) {}

  get tags(): CanonicalTags {
    return (this.knownTags ??= this.registry.info(this.id).tags);
  }

  get memoryFrom(): number {
    return (this.knownFrom ??= memoryFrom(this.reader, this.id));
  }
}

interface StoredPiece {
  r: BucketRecord;
  rollups: StoredRollups;
}

/**
 * Whether the stored part of a history, from `from` to where the memory's data begins, is
 * read from the hourly tier: with resolution 'auto' (or 'raw', which the stored part cannot
 * have) when it spans more than a day or more minutes than maxPoints (so minute rows would be
 * grouped anyway); 'rollup' asks for the minute rows whatever the range.
 */
export function storedHourly(resolution: Resolution, from: number, to: number, maxPoints: number): boolean {
  if (resolution !== 'auto' && resolution !== 'raw' && resolution !== 'bucketed') return false;
  const span = to - from;
  return span > 24 * HOUR_MS || span / 60_000 > maxPoints;
}

/** Stored rollups that start before the memory's data, as bucket records (sketchPos: the run's index in `sketches`, or -1; sketchLen: the row's index in `rollups`). */
function storedBefore(rollups: StoredRollups | undefined, memoryFrom: number): StoredPiece[] {
  if (rollups === undefined) return [];
  const out: StoredPiece[] = [];
  for (let i = 0; i < rollups.start.length && rollups.start[i]! < memoryFrom; i++) {
    out.push({
      r: { start: rollups.start[i]!, count: rollups.count[i]!, sum: rollups.sum[i]!, min: rollups.min[i]!, max: rollups.max[i]!, last: rollups.last[i]!, sketchPos: rollups.sketchAt[i]!, sketchLen: i },
      rollups,
    });
  }
  return out;
}

/**
 * The steps a point spans: the fewest that leave at most maxPoints points, a point being the
 * `group` steps from the first cell's on that hold a cell (`cells`: the steps that hold data,
 * ascending).
 */
function groupSize(cells: readonly number[], maxPoints: number): number {
  let group = Math.max(1, Math.ceil(cells.length / maxPoints));
  for (;;) {
    let points = 0;
    let at = Number.NaN;
    for (const c of cells) {
      const k = Math.floor((c - cells[0]!) / group);
      if (k !== at) points++;
      at = k;
    }
    if (points <= maxPoints) return group;
    // Ends: once a point spans more than (last - first) / maxPoints steps, maxPoints hold them all.
    group = Math.max(group + 1, Math.ceil((group * points) / maxPoints));
  }
}

/** A point's value; a counter's is per second of the time its step covers that the monitor watched (see coveredSeconds). */
function pointValue(kind: MetricKind, sum: number, count: number, last: number, coveredMs: number): number {
  if (kind === 'gauge') return last;
  if (kind === 'counter') return coveredMs > 0 ? sum / (coveredMs / 1000) : sum;
  return count > 0 ? sum / count : 0;
}

/**
 * Merges consecutive raw samples into at most maxPoints points (exact stats per group). A
 * counter's point is its rate over the time it covers, as a bucket's is: from its first sample
 * to the next point's first later sample, the last point to `end` (the range's end, or now, or
 * when the monitor stopped). Its own first-to-last span would count n samples over n − 1 gaps,
 * and over none for a burst in one millisecond.
 */
function downsampleRaw(points: HistoryPoint[], maxPoints: number, kind: MetricKind, end: number): HistoryPoint[] {
  if (points.length <= maxPoints) return points;
  const group = Math.ceil(points.length / maxPoints);
  const out: HistoryPoint[] = [];
  for (let i = 0; i < points.length; i += group) {
    const slice = points.slice(i, i + group);
    const values = slice.map((p) => p.value).sort((a, b) => a - b);
    const sum = values.reduce((a, b) => a + b, 0);
    const rank = (q: number): number => values[rankOf(q, values.length)]!;
    const last = slice[slice.length - 1]!.value;
    const t = slice[0]!.t;
    let next = i + group;
    while (next < points.length && points[next]!.t <= t) next++;
    const coveredMs = (next < points.length ? points[next]!.t : Math.max(end, slice[slice.length - 1]!.t)) - t;
    out.push({
      t,
      value: kind === 'gauge' ? last : kind === 'counter' ? (coveredMs > 0 ? sum / (coveredMs / 1000) : sum) : sum / values.length,
      count: values.length,
      sum,
      min: values[0]!,
      max: values[values.length - 1]!,
      last,
      ...(kind === 'distribution' ? { p50: rank(0.5), p90: rank(0.9), p99: rank(0.99) } : {}),
      lastAt: slice[slice.length - 1]!.t,
    });
  }
  return out;
}

/**
 * Raw samples by time (arrival order among equal times), as they are when none arrived out of
 * it: the ring keeps them as they arrived, and a batch's timestamps may lie an interval back,
 * which gave a history whose `t` went back between points.
 */
function inTimeOrder(raw: RawSamples): RawSamples {
  const { t, v } = raw;
  let ordered = true;
  for (let i = 1; i < t.length && ordered; i++) ordered = t[i]! >= t[i - 1]!;
  if (ordered) return raw;
  const order = Array.from(t.keys()).sort((a, b) => t[a]! - t[b]! || a - b);
  return { t: order.map((i) => t[i]!), v: order.map((i) => v[i]!) };
}
