/**
 * The walk over every series with data that the /metrics exposition and the exporters share:
 * families by name in registration order, a gauge's newest value, a counter's running total
 * (never seen to go down), a distribution's histogram over fixed bounds folded in from the
 * closed buckets' sketches. The exposition renders text from it (http/exposition.ts); the
 * remote_write and OTLP exporters encode protobuf from it (export/): so a histogram pushed
 * is the histogram scraped, bound for bound.
 *
 * - Histogram buckets are folded in incrementally, record by record, from the sketches the
 *   store keeps per closed bucket (engine/sketch.ts: 64 bins per power of two). A sketch bin
 *   counts in the first bound at or above the value it stands for, so a bucket's count is
 *   exact for every sample except those in the one bin that straddles its bound (relative
 *   width ≤ 1/64). A bound on a bin edge (m·2^e with m an integer below 128: the defaults)
 *   straddles nothing: there the count is exact, a sample equal to the bound included (a
 *   positive bin holds its upper edge, as `le` does).
 * - Samples whose sketch the store no longer held when first read (the walk started late, or
 *   fell behind the bucket ring) are in the count, the sum and `+Inf` only.
 * - A family whose Prometheus names would repeat another's (a gauge `x_count` beside a
 *   histogram `x`) is left out, as is a series with a label the format reserves (`le` on a
 *   histogram, `quantile` when quantile families are rendered, any beginning with `__`): no
 *   series appears twice. `skipped` names them.
 * - Only counters end in `_total` (promNameOf): a gauge or distribution so named is walked,
 *   scraped and pushed as `heap_total_bytes`.
 *
 * One thread walks (the one that owns the instance); the store is read in place.
 */
import { BUILTIN_BY_NAME, OWN_HELP, type MetricKind, type MetricUnit } from '../engine/metrics.js';
import type { CanonicalTags, Registry } from '../engine/registry.js';
import { KEY_COUNT, valueOf } from '../engine/sketch.js';
import type { StoreReader } from '../engine/store/reader.js';
import type { FoldShare } from './fold-share.js';

/** Default histogram bounds (ms), each on a sketch bin edge so that its count is exact. */
export const DEFAULT_BUCKETS: readonly number[] = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 4000, 8000, 16000];
export const MAX_BUCKETS = 100;

const MAX_SKIPPED_SHOWN = 20;

export interface WalkFamily {
  readonly name: string;
  readonly kind: MetricKind;
  readonly unit: MetricUnit;
  readonly help: string;
  /**
   * The family's Prometheus name: the name, except a gauge's or distribution's that ends in
   * `_total`, which takes a suffix (promNameOf). Its histogram's `_bucket`, `_sum`, `_count`
   * hang off this one.
   */
  readonly prom: string;
  /** The counter's sample name (`name_total`), else `prom`. */
  readonly total: string;
  readonly ids: number[];
}

export interface HistogramState {
  /** Next tier-1 record to fold in. */
  next: number;
  /** Samples per bound (not cumulative); the last is `+Inf`'s own. */
  bins: Float64Array;
  count: number;
  sum: number;
}

/** One series as a visitor sees it: a reused object, valid during the call only. */
export interface SeriesPoint {
  family: WalkFamily;
  id: number;
  tags: CanonicalTags;
  /** Gauge: the newest value; counter: the running total. */
  value: number;
  /** Distribution: samples per bound (not cumulative, `+Inf`'s last), count and sum. */
  hist: HistogramState | undefined;
}

/**
 * What an exporter reads: every series with data, one visit each. The monitor's store walks
 * through SeriesWalk; any other source of series (a hub's cluster-wide ones) can offer the
 * same.
 */
export interface SeriesSource {
  /** The histograms' upper bounds, ascending, `+Inf` implied. */
  readonly bounds: readonly number[];
  /**
   * `stopped`: nothing writes the store any more (the monitor's last export, after the
   * collector drained the rings), so a histogram takes in its open bucket too. An iterator,
   * so that an encoder can give its thread back between requests (export/service.ts): a walk
   * of 100,000 histograms encoded in one go held the exporter's thread past its heartbeat.
   */
  points(stopped?: boolean): Iterable<SeriesPoint>;
}

export interface WalkOptions {
  /** `name_quantiles` families are rendered beside the histograms (their names are taken, `quantile` is reserved). */
  quantileFamilies?: boolean;
  /** Where the folds are kept past this walk, and taken up from one before it (fold-share.ts). */
  folds?: FoldShare;
}

/**
 * The suffix a gauge or histogram named `…_total` takes: its unit where Prometheus has a word
 * for it that promtool's lint accepts, else `value` (`_ms` is an "abbreviated unit", and
 * `_milliseconds` not the base unit; `_count` would read as a histogram's).
 */
const TOTAL_SUFFIX: Readonly<Record<MetricUnit, string>> = {
  '': 'value',
  ms: 'value',
  count: 'value',
  bytes: 'bytes',
  percent: 'percent',
  ratio: 'ratio',
  requests: 'requests',
  samples: 'samples',
  bytes_per_second: 'bytes_per_second',
  seconds: 'seconds',
};

/** Tags as a key, empty values left out (CanonicalTags are in name order). */
function keyWithoutEmpty(tags: CanonicalTags): string {
  let key = '';
  for (const [k, v] of Object.entries(tags)) if (v !== '') key += `${k}\u0000${v}\u0000`;
  return key;
}

/** `{a="1",b=""}` for a message. */
function labelText(tags: CanonicalTags): string {
  return `{${Object.entries(tags).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}}`;
}

/**
 * A family's Prometheus name. `_total` belongs to counters (OpenMetrics names a counter's
 * sample so, and promtool refuses it on anything else: "non-counter metrics should not have
 * _total suffix"), so a gauge or distribution named `…_total` (the built-in `heap_total`) is
 * exposed with a suffix: `heap_total_bytes`.
 */
export function promNameOf(name: string, kind: MetricKind, unit: MetricUnit): string {
  return kind !== 'counter' && name.endsWith('_total') ? `${name}_${TOTAL_SUFFIX[unit]}` : name;
}

function helpOf(name: string, kind: MetricKind, unit: MetricUnit): string {
  return BUILTIN_BY_NAME.get(name)?.help ?? OWN_HELP.get(name) ?? `perfwatch ${kind}${unit ? ` (${unit})` : ''}`;
}

export class SeriesWalk implements SeriesSource {
  readonly bounds: readonly number[];
  private readonly registry: Registry;
  private readonly reader: StoreReader;
  private readonly quantileFamilies: boolean;
  private readonly folds: FoldShare | undefined;
  /** Bound index + 1 per sketch key (0: not computed yet). */
  private readonly boundOfKey = new Uint8Array(KEY_COUNT);
  private readonly familyByName = new Map<string, WalkFamily>();
  private readonly taken = new Set<string>();
  private readonly clashing = new Set<string>();
  private readonly skippedNames: string[] = [];
  private skippedCount = 0;
  private known = 0;
  private readonly tagsOf: CanonicalTags[] = [];
  /** Per family with an empty tag value somewhere: its series' tags without the empty values (sameOnceEmptyDropped). */
  private readonly emptyKeys = new Map<WalkFamily, Set<string>>();
  private readonly hist: (HistogramState | undefined)[] = [];
  private readonly counterPeak: number[] = [];
  private readonly closed = new Float64Array(3);
  private readonly scratch: Float64Array;
  private readonly point: SeriesPoint = { family: undefined as unknown as WalkFamily, id: 0, tags: {}, value: 0, hist: undefined };
  /** A histogram with its open bucket (withOpen), valid until the next series. */
  private readonly open: HistogramState;
  private readonly addOpenBin = (key: number, count: number): void => {
    this.open.bins[this.boundIndex(key)]! += count;
  };

  constructor(registry: Registry, reader: StoreReader, bounds: readonly number[] = DEFAULT_BUCKETS, options: WalkOptions = {}) {
    this.registry = registry;
    this.reader = reader;
    this.bounds = bounds;
    this.quantileFamilies = options.quantileFamilies ?? false;
    this.folds = options.folds;
    this.scratch = new Float64Array(bounds.length + 1);
    this.open = { next: 0, bins: new Float64Array(bounds.length + 1), count: 0, sum: 0 };
  }

  /** The families, after taking in the series registered since the last look. */
  families(): Iterable<WalkFamily> {
    this.sync();
    return this.familyByName.values();
  }

  /** What was left out and why (the first 20, then how many more). */
  skipped(): string[] {
    const shown = this.skippedNames.slice();
    if (this.skippedCount > MAX_SKIPPED_SHOWN) shown.push(`… and ${this.skippedCount - MAX_SKIPPED_SHOWN} more`);
    return shown;
  }

  tags(id: number): CanonicalTags {
    return this.tagsOf[id]!;
  }

  /**
   * Whether a series is walked: it has data, and is not retired (a hub's member series whose
   * member was forgotten: every restart of a member named by its pid left a set of series on
   * the hub's /metrics and exports for good).
   */
  shows(id: number): boolean {
    return this.reader.totalCount(id) > 0 && !this.registry.isRetired(id);
  }

  gauge(id: number): number {
    return this.reader.lastValue(id);
  }

  /** The running total; a store that shows less than was seen (a restart's replay) does not make it go down. */
  counter(id: number): number {
    const total = Math.max(this.counterPeak[id] ?? 0, this.reader.totalSum(id));
    this.counterPeak[id] = total;
    return total;
  }

  /**
   * Every series with data. The point is filled in as each is reached: two walks suspended
   * at once (two exporters) share it, each reading it before it lets the other go on.
   */
  *points(stopped = false): Generator<SeriesPoint, void, undefined> {
    const p = this.point;
    for (const f of this.families()) {
      for (const id of f.ids) {
        if (!this.shows(id)) continue;
        p.family = f;
        p.id = id;
        p.tags = this.tagsOf[id]!;
        p.hist = undefined;
        if (f.kind === 'gauge') p.value = this.gauge(id);
        else if (f.kind === 'counter') p.value = this.counter(id);
        else p.hist = this.histogram(id, stopped);
        yield p;
      }
    }
  }

  /** A histogram's state: fold(id), or with `stopped` (nothing writes the store any more) withOpen(id), valid until the next series. */
  histogram(id: number, stopped: boolean): HistogramState {
    return stopped ? this.withOpen(id) : this.fold(id);
  }

  /** Folds every histogram's new closed buckets in: often enough that the bucket ring never laps the walk. */
  foldAll(): void {
    for (const family of this.families()) {
      if (family.kind === 'distribution') for (const id of family.ids) this.fold(id);
    }
  }

  /**
   * Folds in a histogram's closed buckets not seen yet. The closed totals are read first,
   * then the head: the newest record is folded only once the totals include it, so the
   * buckets never count a sample that the count does not.
   */
  fold(id: number): HistogramState {
    let st = this.hist[id];
    if (st === undefined) {
      st = { next: 0, bins: new Float64Array(this.bounds.length + 1), count: 0, sum: 0 };
      this.folds?.restore(id, st);
      this.hist[id] = st;
    }
    const before = st.next;
    const countBefore = st.count;
    const r = this.reader;
    r.closedTotals(id, this.closed);
    const count = this.closed[0]!;
    const sum = this.closed[1]!;
    const countedAt = this.closed[2]!;
    let head = r.bucketCount(id, 1);
    if (head > 0 && r.bucketStartAt(id, head - 1) !== countedAt) head--;
    const cap = r.layout.t1Cap;
    // One record of margin: the writer may be rewriting the oldest one now.
    const from = Math.max(st.next, head - cap + 1);
    const add = this.scratch;
    for (let k = from; k < head; k++) {
      add.fill(0);
      const whole = r.forEachBucketBin(id, k, (key, c) => {
        add[this.boundIndex(key)]! += c;
      });
      if (whole) for (let i = 0; i < add.length; i++) st.bins[i]! += add[i]!;
    }
    st.next = Math.max(st.next, head);
    if (count >= st.count) {
      st.count = count;
      st.sum = sum;
    }
    if (this.folds !== undefined && (st.next !== before || st.count !== countBefore)) this.folds.save(id, st);
    return st;
  }

  /**
   * fold(id) and the samples of the open bucket, once the store is written no more (the
   * monitor stopped): those are in a counter's total and in getMetrics, and without them the
   * last export's histogram lacked the last collection interval (every sample of a monitor
   * that ran less than one). Read into a state of its own, not folded in: a later start closes
   * that bucket, and fold() takes it in then.
   */
  private withOpen(id: number): HistogramState {
    const st = this.fold(id);
    const out = this.open;
    out.bins.set(st.bins);
    out.next = st.next;
    out.count = st.count;
    out.sum = st.sum;
    const count = this.reader.totalCount(id);
    // Totals beyond the closed ones: an open bucket not yet counted as closed.
    if (count > st.count) {
      this.reader.forEachOpenBin(id, this.addOpenBin);
      out.count = count;
      out.sum = this.reader.totalSum(id);
    }
    return out;
  }

  /** Takes in the series registered since the last look. */
  private sync(): void {
    const n = this.registry.seriesCount();
    for (let id = this.known; id < n; id++) {
      const info = this.registry.info(id);
      // A family left out takes its later series with it, without another word.
      if (this.clashing.has(info.name)) continue;
      const family = this.familyByName.get(info.name) ?? this.family(info.name, info.kind, info.unit);
      if (family === undefined) continue;
      const reserved = Object.keys(info.tags).find((k) => k.startsWith('__') || (info.kind === 'distribution' && (k === 'le' || (this.quantileFamilies && k === 'quantile'))));
      if (reserved !== undefined) {
        this.skip(`series ${info.name} with tag ${reserved}: a label name the format reserves`);
        continue;
      }
      if (this.sameOnceEmptyDropped(family, info.tags)) {
        this.skip(`series ${info.name}${labelText(info.tags)}: the same series as another of ${info.name} once empty tag values are dropped, as Prometheus drops an empty label`);
        continue;
      }
      this.tagsOf[id] = info.tags;
      family.ids.push(id);
    }
    this.known = n;
  }

  /**
   * Whether `tags` name a series of `family` already taken, once empty values are dropped:
   * Prometheus has no empty label (`x{route=""}` is `x`), and two such series in one scrape
   * or push are one series with two values. Keys are kept only for a family that has a
   * series with an empty value, the first one making them for the series before it.
   */
  private sameOnceEmptyDropped(family: WalkFamily, tags: CanonicalTags): boolean {
    let keys = this.emptyKeys.get(family);
    if (keys === undefined) {
      if (!Object.values(tags).includes('')) return false;
      keys = new Set(family.ids.map((id) => keyWithoutEmpty(this.tagsOf[id]!)));
      this.emptyKeys.set(family, keys);
    }
    const key = keyWithoutEmpty(tags);
    if (keys.has(key)) return true;
    keys.add(key);
    return false;
  }

  /** A new family, or undefined (and skipped) when one of its names is taken. */
  private family(name: string, kind: MetricKind, unit: MetricUnit): WalkFamily | undefined {
    const prom = promNameOf(name, kind, unit);
    const total = kind === 'counter' && !name.endsWith('_total') ? `${name}_total` : prom;
    const omName = kind === 'counter' ? total.slice(0, -'_total'.length) : prom;
    const quantiles = this.quantileFamilies ? [`${prom}_quantiles`, `${prom}_quantiles_sum`, `${prom}_quantiles_count`] : [];
    const names = kind === 'distribution' ? [prom, `${prom}_bucket`, `${prom}_sum`, `${prom}_count`, `${prom}_created`, ...quantiles] : kind === 'counter' ? [omName, total, `${omName}_created`] : [prom];
    const clash = names.find((n) => this.taken.has(n));
    if (clash !== undefined) {
      this.skip(`${kind} ${name}: its name ${clash} is another family's`);
      this.clashing.add(name);
      return undefined;
    }
    for (const n of names) this.taken.add(n);
    const family: WalkFamily = { name, kind, unit, help: helpOf(name, kind, unit), prom, total, ids: [] };
    this.familyByName.set(name, family);
    return family;
  }

  private skip(why: string): void {
    this.skippedCount++;
    if (this.skippedNames.length < MAX_SKIPPED_SHOWN) this.skippedNames.push(why);
  }

  /** The first bound at or above the value a sketch key stands for (bounds.length: +Inf). */
  private boundIndex(key: number): number {
    const known = this.boundOfKey[key]!;
    if (known !== 0) return known - 1;
    const v = valueOf(key);
    let i = 0;
    while (i < this.bounds.length && this.bounds[i]! < v) i++;
    this.boundOfKey[key] = i + 1;
    return i;
  }
}
