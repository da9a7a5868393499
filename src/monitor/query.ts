/**
 * Current metrics: per series its value now and a summary of a recent window. A pure function
 * of (registry, reader, time), as history.ts: the coordinator and the report pool answer
 * the same way. A counter's value is its rate: per second over the time the window covers
 * (analysis/watched.ts). A metric name that no series or definition has is an error naming the
 * nearest known ones.
 */
import { InvalidArgumentError } from '../errors.js';
import { checkKeys } from '../known-keys.js';
import type { MetricKind, MetricUnit } from '../engine/metrics.js';
import { meantTags, unknownMetricError } from './names.js';
import { validateName, type CanonicalTags, type Registry } from '../engine/registry.js';
import { SketchAccumulator, clamp } from '../engine/sketch.js';
import type { SeriesSnapshot, StoreReader } from '../engine/store/reader.js';
import { heldFrom } from '../engine/store/held-from.js';
import { WindowSketches } from '../analysis/window-sketches.js';
import { ALWAYS_WATCHED, coveredSeconds, watchedOf, type Watched } from '../analysis/watched.js';
import { SeriesWithData } from './series-with-data.js';
import { memberWindowEnd } from '../alerts/member-window.js';

export const QUANTILES = [0.5, 0.9, 0.95, 0.99] as const;

/** The fields of a MetricQuery (getMetrics, suggestTags). */
const QUERY_FIELDS = ['names', 'tags', 'sampled', 'windowSeconds', 'offset', 'limit'] as const;
/** The fields countMetrics takes (windowSeconds with sampled alone): the rest of a MetricQuery would not change its count. */
const COUNT_FIELDS = ['names', 'tags', 'sampled', 'windowSeconds'] as const;

export interface MetricQuery {
  /** Only these metric names (default: all with data). */
  names?: string[];
  /** Only series whose tags include all of these. */
  tags?: Record<string, string>;
  /**
   * Only the series with (true) or without (false) a sample in the window (default: both).
   * Judged by the start of each series' newest bucket, not by a summary of its window, so
   * that a tag that churns (a request id: 20,000 series recorded once) costs a lookup a
   * series, and a page of the live ones is found among them.
   */
  sampled?: boolean;
  /** The recent window summarised per series, in seconds (default 60); the one `sampled` judges. */
  windowSeconds?: number;
  /**
   * A page of the series with data, in id order: skip `offset` of them (default 0) and
   * summarise at most `limit` (default all). A window's summary costs tens of microseconds a
   * series (its sketch's quantiles); the series outside the page cost a lookup each, so a page
   * of 200 of 20,000 series does not hold the event loop for a second. countMetrics() says
   * how many there are.
   */
  offset?: number;
  limit?: number;
}

export interface MetricWindow {
  seconds: number;
  count: number;
  sum: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  /**
   * Per second over the time the window covers: a counter's sum, the sample count for the
   * other kinds (as in reports); null when it covers less than one collection interval (in
   * the monitor's first moments), over which a count is no rate.
   */
  rate: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  /**
   * Present only when the quantiles stand for fewer samples than `count`: the samples they
   * were computed from. The others' buckets are counted in the window, but their sketches had
   * left the sketch log (`sketchLogBytes`; status().collector.sketchLogReachSeconds says how
   * far back it reaches).
   */
  quantileCount?: number;
  /**
   * Present only when this monitor watched less of the window than `seconds` (in its first
   * minutes, or after a restart: the stored samples of before are getMetricHistory()'s), or
   * its store no longer holds the window's oldest part of the series (past rollupCapacity
   * minutes, or the first, partial minute past the bucket ring): the seconds of the window it
   * watched and holds, which `count`, `sum` and `rate` stand for. On a hub, a member's own
   * series (tag `instance`) is watched from when its member started watching.
   */
  coveredSeconds?: number;
}

/** A metric name with data: what getMetricNames() lists. */
export interface MetricName {
  name: string;
  kind: MetricKind;
  unit: MetricUnit;
  /** Its series with data (getMetrics({ names: [name] }) lists them). */
  series: number;
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

export function tagMatch(tags: unknown, field = 'tags'): Record<string, string> | undefined {
  if (tags === undefined || tags === null) return undefined;
  if (typeof tags !== 'object' || Array.isArray(tags)) throw new InvalidArgumentError(field, 'must be an object of tag names to values', { value: tags });
  return Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, String(v)]));
}

function matches(tags: CanonicalTags, match: Record<string, string> | undefined): boolean {
  if (!match) return true;
  for (const k in match) if (tags[k] !== match[k]) return false;
  return true;
}

/** Reads of a window before one is taken as it is (see consistentWindow). */
const MAX_READS = 4;
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
  /** Samples counted whose sketch was gone (WindowAggregate.unsketched). */
  unsketched: number;
}

/** The longest window getMetrics() summarises (a day), as its fronts' parameters take it. */
export const MAX_WINDOW_SECONDS = 86_400;

/** A query's names, tags and sampled, checked: what walk() selects by. */
function parseQuery(query: MetricQuery): { names: Set<string> | undefined; match: Record<string, string> | undefined; sampled: boolean | undefined } {
  if (query === null || typeof query !== 'object') throw new InvalidArgumentError('query', 'must be an object', { value: query });
  checkKeys(query, QUERY_FIELDS, 'query field');
  let names: Set<string> | undefined;
  if (query.names !== undefined) {
    if (!Array.isArray(query.names)) throw new InvalidArgumentError('names', 'must be an array of metric names', { value: query.names });
    names = new Set(query.names.map((n, i) => validateName(n, `names[${i}]`)));
  }
  const match = tagMatch(query.tags);
  const sampled = query.sampled;
  if (sampled !== undefined && typeof sampled !== 'boolean') {
    throw new InvalidArgumentError('sampled', 'must be true (only the series with a sample in the window) or false (only those without)', { value: sampled });
  }
  return { names, match, sampled };
}

export class Query {
  private readonly registry: Registry;
  private readonly reader: StoreReader;
  private readonly acc: SketchAccumulator;
  private readonly windows = new Map<number, CachedWindow>();
  private readonly sketches: WindowSketches;
  private readonly watched: () => Watched;
  private readonly withData: SeriesWithData;

  constructor(registry: Registry, reader: StoreReader, watched: () => Watched = () => ALWAYS_WATCHED, acc = new SketchAccumulator()) {
    this.registry = registry;
    this.reader = reader;
    this.acc = acc;
    this.sketches = new WindowSketches(reader);
    this.watched = watched;
    this.withData = new SeriesWithData(registry, reader);
  }

  /** Every known metric name: defined (the built-in ones too) or recorded. */
  knownNames(): string[] {
    return this.registry.listNames().map((n) => n.name);
  }

  private checkName(name: string, field: string): void {
    if (this.registry.lookupName(name) === undefined) throw unknownMetricError(field, name, this.knownNames());
  }

  /**
   * For a query whose tags match no series with data: the tags a typo of a tag name or value
   * most likely meant, among the series of its names (or of all), or undefined (names.ts).
   */
  suggestTags(query: MetricQuery = {}): Record<string, string> | undefined {
    if (query === null || typeof query !== 'object') throw new InvalidArgumentError('query', 'must be an object', { value: query });
    checkKeys(query, QUERY_FIELDS, 'query field');
    const match = tagMatch(query.tags);
    if (!match) return undefined;
    const series: Readonly<Record<string, string>>[] = [];
    this.walk({ ...query, tags: undefined, sampled: undefined }, (_id, info) => void series.push(info.tags));
    return meantTags(match, series);
  }

  /**
   * The names of the series with data, by name, each once: a page of getMetrics() names only
   * the series it shows, and a picker of names built from the first 1,000 series (the
   * dashboard's) missed every name first recorded after a thousand series of a churned tag.
   */
  names(): MetricName[] {
    // Kept as series take data (series-with-data.ts): reading every series' name and totals
    // held the host's main thread 6-20 ms at 100,000 series at each /api/names.
    return this.withData.names();
  }

  /** How many series with data match `query` (its offset and limit aside): what metrics() pages through. */
  count(query: MetricQuery = {}, now: number = Date.now()): number {
    if (query === null || typeof query !== 'object') throw new InvalidArgumentError('query', 'must be an object', { value: query });
    // Taken and ignored, { limit: 1 } counted every series, and { windowSeconds: -1 } passed unchecked.
    for (const key of QUERY_FIELDS) {
      if (!(COUNT_FIELDS as readonly string[]).includes(key) && query[key] !== undefined) {
        throw new InvalidArgumentError(key, `is not a field of countMetrics(), which counts every series with data that names and tags match (the series getMetrics() pages through, whatever its ${key}); leave it out`, { value: query[key] });
      }
    }
    if (query.windowSeconds !== undefined && query.sampled === undefined) {
      throw new InvalidArgumentError('windowSeconds', 'is a field of countMetrics() only with sampled (the window whose samples it judges): without sampled it counts every series with data that names and tags match, whatever the window; leave it out, or give sampled', { value: query.windowSeconds });
    }
    // A getMetrics() field left undefined is no field given; any other is said with countMetrics' own fields.
    checkKeys(Object.fromEntries(Object.entries(query).filter(([key, value]) => value !== undefined || !(QUERY_FIELDS as readonly string[]).includes(key))), COUNT_FIELDS, 'query field');
    const windowStart = this.windowStart(query, now);
    const { names, match, sampled } = parseQuery(query);
    // By name alone: the counts kept as series take data (series-with-data.ts), no series read.
    if (match === undefined && sampled === undefined) {
      const counts = this.withData.counts();
      if (!names) {
        let total = 0;
        for (const c of counts.values()) total += c.series;
        return total;
      }
      let total = 0;
      for (const name of names) total += counts.get(name)?.series ?? 0;
      // A name asked for that no series has is known (defined, no data yet) or an error, as walk() checks it.
      query.names!.forEach((name, i) => counts.has(name) || this.checkName(name, `names[${i}]`));
      return total;
    }
    let total = 0;
    this.walk(query, () => void total++, windowStart, now);
    return total;
  }

  /** The start of the first bucket of `query`'s window, which it checks (windowSeconds): a window takes the buckets starting at or after it. */
  private windowStart(query: MetricQuery, now: number): number {
    const seconds = query.windowSeconds ?? 60;
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 1 || seconds > MAX_WINDOW_SECONDS) {
      throw new InvalidArgumentError('windowSeconds', `must be a number from 1 to ${MAX_WINDOW_SECONDS}`, { value: seconds });
    }
    const interval = this.reader.layout.intervalMs;
    return Math.ceil((now - seconds * 1000) / interval) * interval;
  }

  /**
   * Where the window of a hub's member series (Registry.isMember) ends: where its member's
   * data ends, not now. Its records are the member's closed buckets at their starts there,
   * each arriving a moment after the member closed it, and no open bucket fills the interval
   * of now: over a window ending now, `rate(x[3s])` read half the member's rate (its 1-2
   * newest intervals not there yet, counted as watched) and `count` two thirds of it. So, as a
   * window rule judges it (alerts/member-window.ts), it ends where the member's newest record
   * ends, or an interval behind the hub's newest boundary if later (a member that sends nothing
   * still has its window move on, and its rate fall).
   */
  private memberEnd(id: number, now: number): number {
    const interval = this.reader.layout.intervalMs;
    return memberWindowEnd(this.reader, id, Math.floor(now / interval) * interval - interval);
  }

  metrics(query: MetricQuery = {}, now: number = Date.now()): MetricSnapshot[] {
    if (query === null || typeof query !== 'object') throw new InvalidArgumentError('query', 'must be an object', { value: query });
    const offset = query.offset ?? 0;
    const limit = query.limit ?? Infinity;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidArgumentError('offset', 'must be an integer of at least 0', { value: offset });
    if (limit !== Infinity && (!Number.isSafeInteger(limit) || limit < 1)) throw new InvalidArgumentError('limit', 'must be an integer of at least 1', { value: limit });
    const nowStart = this.windowStart(query, now);
    const seconds = query.windowSeconds ?? 60;
    const interval = this.reader.layout.intervalMs;
    const from = now - seconds * 1000;
    const watched = this.watched();
    const covered = coveredSeconds(nowStart, now, watched);
    // The window starts on a bucket boundary, so a monitor that watched all of it covers
    // more than `seconds` less one interval.
    const shortOf = (c: number | null): { coveredSeconds?: number } => (c === null || c <= seconds - interval / 1000 ? { coveredSeconds: Math.round((c ?? 0) * 10) / 10 } : {});
    const short = shortOf(covered);
    const out: MetricSnapshot[] = [];
    let index = 0;
    this.walk(query, (id, info) => {
      const at = index++;
      // Past the page, no series is read: a page of 200 at 100,000 series read every one's
      // name, tags and totals, 7-20 ms of the host's main thread at each /api/metrics.
      if (at >= offset + limit) return false;
      if (at < offset) return;
      // A hub's member series: its window ends where its member's data does (memberEnd), and
      // is watched from when its member started watching (watchedOf).
      const member = this.registry.isMember(id);
      const end = member ? this.memberEnd(id, now) : now;
      const seriesFrom = member ? end - seconds * 1000 : from;
      const spanStart = member ? this.windowStart(query, end) : nowStart;
      // A series whose store dropped the window's oldest part is summarised from what it
      // holds, and its rate is over that part (engine/store/held-from.ts says why).
      const held = heldFrom(this.reader, id, seriesFrom);
      const cut = held > spanStart;
      const read = cut ? this.consistentWindow(id, held, seconds, held) : this.consistentWindow(id, spanStart, seconds, seriesFrom);
      if (read === undefined) return;
      const seriesCovered = cut || member ? coveredSeconds(cut ? held : spanStart, member ? Math.min(end, now) : now, member ? watchedOf(this.registry, id, watched) : watched) : covered;
      const { snap, agg } = read;
      const [p50, p90, p95, p99] = agg.quantiles;
      const mean = agg.count > 0 ? agg.sum / agg.count : Number.NaN;
      // One definition with reports (analysis/stats.ts): a counter's sum per second, the
      // sample count per second for the other kinds (a gauge's values summed per second is
      // no rate of anything).
      // Not over less than one interval: a sample 13 ms after start() read as 76.9 a second.
      const rate = seriesCovered === null || seriesCovered < interval / 1000 ? null : (info.kind === 'counter' ? agg.sum : agg.count) / seriesCovered;
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
          ...(agg.unsketched > 0 ? { quantileCount: agg.count - agg.unsketched } : {}),
          ...(cut ? { coveredSeconds: Math.round((seriesCovered ?? 0) * 10) / 10 } : member ? shortOf(seriesCovered) : short),
        },
      });
    }, nowStart, now);
    return out;
  }

  /**
   * Calls `visit` for each series with data that `query` matches (names, tags, and sampled:
   * whether its newest bucket starts at or after `windowStart`), in id order; checks the
   * query's names first and throws for a bad one: a name asked for that no series has is
   * known (defined, no data yet) or an error.
   */
  /** Visits the series with data that `query` matches, in id order, until `visit` answers false (a page filled). */
  private walk(query: MetricQuery, visit: (id: number, info: ReturnType<Registry['info']>) => boolean | void, nowStart = 0, now = Number.NaN): void {
    const { names, match, sampled } = parseQuery(query);
    const n = this.registry.seriesCount();
    const seen = names && new Set<string>();
    for (let id = 0; id < n; id++) {
      // A series never recorded has no data to show: skipped before its info and its slot are
      // read (engine/store/recorded.ts; a name of it alone is still known to checkName).
      if (!this.reader.everRecorded(id)) continue;
      // A hub's member series whose member it forgot: its history stays, its figures of now go.
      if (this.registry.isRetired(id)) continue;
      const info = this.registry.info(id);
      if (names && !names.has(info.name)) continue;
      seen?.add(info.name);
      if (!matches(info.tags, match)) continue;
      if (this.reader.snapshot(id).totalCount === 0) continue;
      // A member series' window ends where its member's data does (memberEnd).
      const windowStart = sampled !== undefined && !Number.isNaN(now) && this.registry.isMember(id) ? this.windowStart(query, this.memberEnd(id, now)) : nowStart;
      if (sampled !== undefined && this.reader.newestBucketStart(id) >= windowStart !== sampled) continue;
      if (visit(id, info) === false) break;
    }
    // A name not seen before the page filled is checked as one with no data is: known, or the error.
    if (seen && seen.size < names!.size) query.names!.forEach((name, i) => seen.has(name) || this.checkName(name, `names[${i}]`));
  }

  /**
   * A series' snapshot and window read with no bucket closing in between: a close moves the
   * open bucket's samples into a record, and a read that took the snapshot before it and the
   * open bucket's bins after it counted samples it found no bins for (quantiles read null
   * beside a count of thousands). The close is seen by the bucket count, which the writer
   * publishes before it empties the open bucket; the read is then made again (a close comes
   * once per interval, so the second read is all but certain to be clean).
   */
  private consistentWindow(id: number, spanStart: number, seconds: number, from: number): { snap: SeriesSnapshot; agg: CachedWindow } | undefined {
    for (let attempt = 1; ; attempt++) {
      const buckets = this.reader.bucketCount(id, 1);
      const snap = this.reader.snapshot(id);
      if (snap.totalCount === 0) return undefined;
      const agg = this.window(id, snap, buckets, spanStart, seconds, from);
      if (this.reader.bucketCount(id, 1) === buckets || attempt === MAX_READS) return { snap, agg };
      this.windows.delete(id);
    }
  }

  /**
   * The aggregate and quantiles of a series' window: the buckets starting at or after
   * firstBucket, and the open one. They change only when a sample is applied (the total
   * grows), a bucket closes (the ring's head moves) or the window passes a bucket start, so
   * a poll that finds none of these reuses the last answer. Otherwise the quantiles come from
   * the window's histogram kept between reads (WindowSketches), or, when the bucket ring does
   * not reach back far enough, from merging the window's sketches. The key is read before
   * the aggregate: a sample applied while it is computed makes the next poll compute it again.
   * `buckets` is the series' bucket count, read before `snap` (see consistentWindow).
   */
  private window(id: number, snap: SeriesSnapshot, buckets: number, firstBucket: number, seconds: number, from: number): CachedWindow {
    const { totalCount: total, openStart } = snap;
    const hit = this.windows.get(id);
    if (hit !== undefined && hit.total === total && hit.buckets === buckets && hit.openStart === openStart && hit.firstBucket === firstBucket && hit.seconds === seconds) return hit;
    const quantiles = [Number.NaN, Number.NaN, Number.NaN, Number.NaN];
    let agg: { count: number; sum: number; min: number; max: number; unsketched?: number } | undefined = this.sketches.read(id, seconds * 1000, firstBucket, snap, QUANTILES, quantiles);
    if (agg === undefined) {
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
      unsketched: agg.unsketched ?? 0,
    };
    this.windows.set(id, entry);
    return entry;
  }
}
