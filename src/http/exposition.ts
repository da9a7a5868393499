/**
 * The /metrics exposition, rendered from the shared store in place (by the exposition
 * worker, so that a scrape costs the host's event loop nothing but the bytes' write).
 *
 * - gauge: the newest value; counter: the running total, `_total`; distribution: a
 *   histogram of the closed buckets (the open one joins when it closes, at most one
 *   collection interval later): `_bucket{le}` cumulative up to `+Inf`, `_sum`, `_count`.
 *   Only counters end in `_total`: a gauge or distribution named so takes a suffix
 *   (`heap_total_bytes`, see promNameOf in the walk).
 * - The series, the histograms' buckets and what is left out come from the walk the
 *   exporters share (analysis/series-walk.ts). Samples whose sketch the store no longer held
 *   when first read are in `_count`, `_sum` and `+Inf` only: `+Inf` always equals `_count`,
 *   and each bucket only grows. `unbucketed` says how many.
 * - Quantiles, when asked for (`quantiles`): a summary family `x_quantiles{quantile="0.99"}`
 *   beside each histogram `x`, over the closed buckets that started in the last
 *   `quantileWindowMs`, from their merged sketches (relative error within the sketch's
 *   0.78%), clamped to those buckets' exact min and max as /api/metrics clamps its own; a
 *   series with no bucket in that window has none. It has no `_sum`/`_count` (the
 *   histogram has them; a window's would not be counters). A summary, because
 *   promtool refuses a `quantile` label on anything else. A histogram's own quantile
 *   (`histogram_quantile`) can only interpolate within a bucket; these do not. A window
 *   whose older buckets' sketches had left the store's log gives quantiles of the samples
 *   left: `partialQuantiles` counts those series and `unquantiled` the samples left out (a
 *   series whose window held no sketch at all has no quantiles, and counts in both).
 * - A family whose names would repeat another's, or a series with a label the format
 *   reserves, is left out (see the walk): no series appears twice. `skipped` names them.
 * - Bounded in bytes (`maxBytes`, serveHttp's maxMetricsBytes): 64 tags of 4,096 characters
 *   make a histogram series some 14 MB of text, and 100 of them a body over 1 GB that the
 *   worker built in full (at 400, a typed array of 8 GiB, which failed). Before a series is
 *   written, the bytes it can take at most (cached per series, counted from its tags without
 *   building them) are checked against what is left: a series that does not fit is left out
 *   whole, and the render goes on with the next, so the body ends at a series boundary, holds
 *   every series that fits, and is never built past the bound. The writer's buffer never
 *   grows past it either, and a series left out drops the label bytes cached for it. A
 *   histogram series left out takes its quantile series with it. `leftOut` counts them (per
 *   metric too), and the text format says so in a comment line at the end (OpenMetrics has no
 *   comments: there, /api/status and the fault say it).
 */
import type { Registry } from '../engine/registry.js';
import { SketchAccumulator, clamp } from '../engine/sketch.js';
import type { StoreReader, WindowAggregate } from '../engine/store/reader.js';
import type { FoldShare } from '../analysis/fold-share.js';
import { DEFAULT_BUCKETS, MAX_BUCKETS, SeriesWalk, type WalkFamily } from '../analysis/series-walk.js';
import { ByteWriter, utf8 } from './byte-writer.js';
import { labelValue } from '../series-text.js';
import { escapeHelp, formatNumber, labelPairs, type ExpositionFormat } from './text-format.js';

export { DEFAULT_BUCKETS, MAX_BUCKETS };
export const MAX_QUANTILES = 10;

const MiB = 1024 * 1024;
/** The bound of an exposition's bytes (serveHttp's maxMetricsBytes): its default and range. */
export const DEFAULT_MAX_METRICS_BYTES = 64 * MiB;
export const MIN_MAX_METRICS_BYTES = 64 * 1024;
export const MAX_MAX_METRICS_BYTES = 1024 * MiB;
/** Kept free at the end for the comment line that says what the bound left out, and OpenMetrics' `# EOF`. */
const TAIL_BYTES = 1024;
/** The metrics `leftOut` names (the most series first). */
const MAX_LEFT_OUT_NAMED = 20;
const EOF = utf8('# EOF\n');
/** A sample line's value and newline at most: the longest number is 24 characters (-1.2345678901234567e-308). */
const VALUE_BYTES = 25;

/** The optional sketch quantiles of the histograms. */
export interface QuantileOptions {
  /** Each in (0, 1); none by default. */
  quantiles: readonly number[];
  /** The window they cover, back from now. */
  windowMs: number;
  /** The clock (ms since the epoch, as the store's bucket starts). */
  now?: () => number;
}

/** A family's bytes, cached the first time it is rendered. */
interface FamilyBytes {
  sumName: Uint8Array;
  countName: Uint8Array;
  /** `# HELP`/`# TYPE`, in each format. */
  head: Uint8Array;
  omHead: Uint8Array;
  /** `# HELP`/`# TYPE` of the quantile family (histograms, when there are quantiles). */
  quantileHead: Uint8Array;
  /** UTF-8 bytes of the sample name a series' line starts with (`total`; a histogram's `prom`). */
  nameBytes: number;
}

/** Series left out of an exposition because it would have passed its bound. */
export interface ExpositionLeftOut {
  /** Series left out (a histogram's quantile series left out with it are not counted apart). */
  series: number;
  /** The bytes they would have taken, at most (so the whole exposition needs at most `bytes` + this). */
  bytes: number;
  /** Metrics with a series left out, and how many of each (the first 20 by count; `metrics` counts them all). */
  metrics: number;
  byMetric: Record<string, number>;
}

export interface ExpositionStats {
  families: number;
  series: number;
  /** Families and series left out, with why. */
  skipped: string[];
  /** Histogram samples counted in `+Inf` only: their sketch was gone before it was read. */
  unbucketed: number;
  /** Series whose quantiles cover only part of their window (some buckets' sketches were gone), and the samples left out. */
  partialQuantiles: number;
  unquantiled: number;
  /** The body's bytes, and the bound it is held to (maxMetricsBytes). */
  bytes: number;
  maxBytes: number;
  /** What the bound left out (series 0: nothing). */
  leftOut: ExpositionLeftOut;
}

/** The stats before any render. */
export function emptyStats(maxBytes: number): ExpositionStats {
  return { families: 0, series: 0, skipped: [], unbucketed: 0, partialQuantiles: 0, unquantiled: 0, bytes: 0, maxBytes, leftOut: { series: 0, bytes: 0, metrics: 0, byMetric: {} } };
}

export class Exposition {
  private readonly walk: SeriesWalk;
  private readonly reader: StoreReader;
  private readonly bounds: readonly number[];
  /** `0.5"} ` per bound, then `+Inf"} `. */
  private readonly leBytes: Uint8Array[];
  private readonly familyBytes = new Map<WalkFamily, FamilyBytes>();
  /**
   * Per series: `name_bucket{labels,le="` (histograms) or the whole `name{labels} ` of a
   * gauge's or counter's line (one copy where two cost more), and `{labels} ` (or a space).
   */
  private readonly prefix: (Uint8Array | undefined)[] = [];
  private readonly labels: (Uint8Array | undefined)[] = [];
  /** Per series: the UTF-8 bytes of its `k="v",…` (escaped), and the most its lines take (quantiles apart), counted once. */
  private readonly pairBytes: number[] = [];
  private readonly need: number[] = [];
  private readonly maxBytes: number;
  private readonly out: ByteWriter;
  private lastStats: ExpositionStats;
  /** This render's series left out at the bound, per metric; and the histogram series of the family being written left out (their quantiles go with them). */
  private readonly leftOutBy = new Map<string, number>();
  private leftOutSeries = 0;
  private leftOutBytes = 0;
  private readonly leftOutIds = new Set<number>();
  private readonly quantiles: QuantileOptions;
  /** `0.99"} ` per quantile. */
  private readonly qBytes: Uint8Array[];
  /** Per histogram series: `name_quantiles{labels,quantile="`. */
  private readonly qPrefix: (Uint8Array | undefined)[] = [];
  private readonly window = new SketchAccumulator();
  /**
   * What the last render's quantile windows left out: addWindowSketch adds into its
   * sketchless and unsketched. Its min and max are the current series' (reset per series).
   */
  private readonly coverage: WindowAggregate = { count: 0, sum: 0, min: Infinity, max: -Infinity, last: Number.NaN, lastTs: Number.NaN, sketchless: 0, unsketched: 0 };
  private partialQuantiles = 0;

  /**
   * `maxBytes`: the most bytes a render's body takes (at least MIN_MAX_METRICS_BYTES).
   * `folds`: where the histograms are kept past this exposition's worker, for the next.
   */
  constructor(registry: Registry, reader: StoreReader, bounds: readonly number[] = DEFAULT_BUCKETS, quantiles: QuantileOptions = { quantiles: [], windowMs: 60_000 }, maxBytes = DEFAULT_MAX_METRICS_BYTES, folds?: FoldShare) {
    if (!(maxBytes >= MIN_MAX_METRICS_BYTES)) throw new RangeError(`maxBytes must be at least ${MIN_MAX_METRICS_BYTES}, got ${maxBytes}`);
    this.maxBytes = maxBytes;
    this.out = new ByteWriter(maxBytes);
    this.lastStats = emptyStats(maxBytes);
    this.walk = new SeriesWalk(registry, reader, bounds, { quantileFamilies: quantiles.quantiles.length > 0, folds });
    this.reader = reader;
    this.bounds = bounds;
    this.quantiles = quantiles;
    this.qBytes = quantiles.quantiles.map((q) => utf8(`${formatNumber(q)}"} `));
    this.leBytes = [...bounds.map(formatNumber), '+Inf'].map((le) => utf8(`${le}"} `));
  }

  get stats(): ExpositionStats {
    return this.lastStats;
  }

  /** Folds every histogram's new closed buckets in (also done by render()). */
  foldAll(): void {
    this.walk.foldAll();
  }

  /**
   * `stopped`: the monitor stopped, its collector having drained the rings: a histogram takes
   * in its open collection interval, which the counters and getMetrics hold.
   */
  render(format: ExpositionFormat, stopped = false): Uint8Array {
    const om = format === 'openmetrics';
    const w = this.out;
    const NL = 10;
    w.reset();
    this.coverage.sketchless = 0;
    this.coverage.unsketched = 0;
    this.partialQuantiles = 0;
    this.leftOutBy.clear();
    this.leftOutSeries = 0;
    this.leftOutBytes = 0;
    // Every series is written only if what it takes at most fits below this: the tail's room
    // (the comment line, `# EOF`) is kept apart.
    const limit = this.maxBytes - TAIL_BYTES;
    let families = 0;
    let series = 0;
    let unbucketed = 0;
    const nb = this.bounds.length;
    for (const f of this.walk.families()) {
      let headed = false;
      const fb = this.bytesOf(f);
      const head = om ? fb.omHead : fb.head;
      this.leftOutIds.clear();
      for (const id of f.ids) {
        if (!this.walk.shows(id)) continue;
        const need = this.need[id] ?? this.measure(f, fb, id);
        if (w.length + need + (headed ? 0 : head.length) > limit) {
          this.leaveOut(f, id, need, true);
          if (f.kind === 'distribution') this.leftOutIds.add(id);
          continue;
        }
        if (!headed) {
          headed = true;
          families++;
          w.bytes(head);
        }
        if (this.prefix[id] === undefined) this.seriesBytes(f, id);
        if (f.kind !== 'distribution') {
          w.line(this.prefix[id]!, f.kind === 'gauge' ? this.walk.gauge(id) : this.walk.counter(id));
          series++;
          continue;
        }
        const labels = this.labels[id]!;
        const st = this.walk.histogram(id, stopped);
        const prefix = this.prefix[id]!;
        let cumulative = 0;
        for (let i = 0; i < nb; i++) {
          cumulative += st.bins[i]!;
          w.bytes(prefix);
          w.bytes(this.leBytes[i]!);
          w.number(cumulative);
          w.byte(NL);
        }
        unbucketed += st.count - cumulative - st.bins[nb]!;
        w.bytes(prefix);
        w.bytes(this.leBytes[nb]!);
        w.number(st.count);
        w.byte(NL);
        // OpenMetrics: a histogram's sum is a counter, never negative.
        if (!om || st.sum >= 0) {
          w.bytes(fb.sumName);
          w.bytes(labels);
          w.number(st.sum);
          w.byte(NL);
        }
        w.bytes(fb.countName);
        w.bytes(labels);
        w.number(st.count);
        w.byte(NL);
        series++;
      }
      if (f.kind === 'distribution' && this.qBytes.length > 0) {
        const n = this.renderQuantiles(f, fb, limit);
        if (n > 0) families++;
        series += n;
      }
    }
    const leftOut = this.leftOutStats();
    const skipped = this.walk.skipped();
    if (leftOut.series > 0) {
      skipped.push(`${leftOut.series} series (${namedCounts(leftOut, Infinity)}): they would have taken the exposition past maxMetricsBytes (${this.maxBytes} bytes)`);
      // The text format has comments; OpenMetrics has none (a `#` line that is not HELP, TYPE, UNIT or EOF is an error).
      if (!om) w.bytes(utf8(leftOutComment(leftOut, this.maxBytes, w.length)));
    }
    if (om) w.bytes(EOF);
    this.lastStats = { families, series, skipped, unbucketed, partialQuantiles: this.partialQuantiles, unquantiled: this.coverage.unsketched, bytes: w.length, maxBytes: this.maxBytes, leftOut };
    return w.take();
  }

  /** A histogram family's quantile family; how many series it wrote. */
  private renderQuantiles(f: WalkFamily, fb: FamilyBytes, limit: number): number {
    const w = this.out;
    const from = (this.quantiles.now ?? Date.now)() - this.quantiles.windowMs;
    const acc = this.window;
    const nq = this.qBytes.length;
    let written = 0;
    for (const id of f.ids) {
      // A histogram series left out takes its quantiles with it; one unmeasured began to show
      // after the histograms were written (its first samples came meanwhile), and waits for the next render.
      const pairs = this.pairBytes[id];
      if (pairs === undefined || !this.walk.shows(id) || this.leftOutIds.has(id)) continue;
      acc.reset();
      const span = this.coverage;
      span.min = Infinity;
      span.max = -Infinity;
      if (this.reader.addWindowSketch(id, from, Infinity, acc, span) > 0) this.partialQuantiles++;
      if (acc.total === 0) continue;
      // `name_quantiles{pairs,quantile="` per quantile, then its bytes and the value.
      let need = nq * (fb.nameBytes + '_quantiles{'.length + pairs + (pairs === 0 ? 0 : 1) + 'quantile="'.length + VALUE_BYTES);
      for (const q of this.qBytes) need += q.length;
      if (w.length + need + (written === 0 ? fb.quantileHead.length : 0) > limit) {
        this.leaveOut(f, id, need, false);
        continue;
      }
      if (written++ === 0) w.bytes(fb.quantileHead);
      if (this.qPrefix[id] === undefined) this.seriesBytes(f, id);
      const values = acc.quantiles(this.quantiles.quantiles);
      for (let i = 0; i < values.length; i++) {
        w.bytes(this.qPrefix[id]!);
        w.bytes(this.qBytes[i]!);
        // Within the samples' exact min and max, as /api/metrics gives them (query.ts).
        w.number(clamp(values[i]!, span.min, span.max));
        w.byte(10);
      }
    }
    return written;
  }

  /**
   * The most bytes a series' lines take (its quantiles apart), from its tags' byte lengths:
   * nothing is built, so a series that never fits costs no copy of its labels.
   */
  private measure(f: WalkFamily, fb: FamilyBytes, id: number): number {
    const tags = this.walk.tags(id);
    let pairs = 0;
    let n = 0;
    for (const key in tags) {
      // k="v" and the comma before all but the first.
      pairs += (n++ === 0 ? 0 : 1) + key.length + 3 + Buffer.byteLength(labelValue(tags[key]!));
    }
    this.pairBytes[id] = pairs;
    // `{pairs} ` or a space.
    const labels = pairs === 0 ? 1 : pairs + 3;
    let need: number;
    if (f.kind !== 'distribution') need = fb.nameBytes + labels + VALUE_BYTES;
    else {
      // name_bucket{pairs,le=" per line, then the bound and the value; _sum and _count with the labels.
      const prefix = fb.nameBytes + '_bucket{'.length + pairs + (pairs === 0 ? 0 : 1) + 'le="'.length;
      need = fb.sumName.length + fb.countName.length + 2 * (labels + VALUE_BYTES);
      for (const le of this.leBytes) need += prefix + le.length + VALUE_BYTES;
    }
    this.need[id] = need;
    return need;
  }

  /**
   * Counts a series left out at the bound; `drop`: and drops the bytes cached for it (a render
   * before may have written it), so that what is cached stays what the bound lets be written.
   * A quantile series left out keeps them: its histogram series was written.
   */
  private leaveOut(f: WalkFamily, id: number, need: number, drop: boolean): void {
    this.leftOutSeries++;
    this.leftOutBytes += need;
    this.leftOutBy.set(f.name, (this.leftOutBy.get(f.name) ?? 0) + 1);
    if (!drop) return;
    this.prefix[id] = undefined;
    this.labels[id] = undefined;
    this.qPrefix[id] = undefined;
  }

  private leftOutStats(): ExpositionLeftOut {
    const byMetric: Record<string, number> = {};
    if (this.leftOutSeries === 0) return { series: 0, bytes: 0, metrics: 0, byMetric };
    const most = [...this.leftOutBy].sort((a, b) => b[1] - a[1]).slice(0, MAX_LEFT_OUT_NAMED);
    for (const [name, n] of most) byMetric[name] = n;
    return { series: this.leftOutSeries, bytes: this.leftOutBytes, metrics: this.leftOutBy.size, byMetric };
  }

  private bytesOf(f: WalkFamily): FamilyBytes {
    let fb = this.familyBytes.get(f);
    if (fb !== undefined) return fb;
    const type = f.kind === 'distribution' ? 'histogram' : f.kind;
    const omName = f.kind === 'counter' ? f.total.slice(0, -'_total'.length) : f.prom;
    const help = escapeHelp(f.help);
    fb = {
      sumName: utf8(`${f.prom}_sum`),
      countName: utf8(`${f.prom}_count`),
      head: utf8(`# HELP ${f.total} ${help}\n# TYPE ${f.total} ${type}\n`),
      omHead: utf8(`# HELP ${omName} ${help}\n# TYPE ${omName} ${type}\n`),
      quantileHead: utf8(`# HELP ${f.prom}_quantiles ${escapeHelp(`quantiles of ${f.prom} over the last ${this.quantiles.windowMs} ms, from the sketch (relative error within 0.78%)`)}\n# TYPE ${f.prom}_quantiles summary\n`),
      nameBytes: Buffer.byteLength(f.kind === 'distribution' ? f.prom : f.total),
    };
    this.familyBytes.set(f, fb);
    return fb;
  }

  /**
   * A series' bytes, made once it is written (and made again after a render that left it out):
   * a gauge's or counter's whole `name{labels} `; a histogram's `{labels} ` and its prefixes.
   */
  private seriesBytes(f: WalkFamily, id: number): void {
    const pairs = labelPairs(this.walk.tags(id));
    if (f.kind === 'distribution') {
      this.labels[id] = utf8(pairs === '' ? ' ' : `{${pairs}} `);
      this.prefix[id] = utf8(`${f.prom}_bucket{${pairs}${pairs === '' ? '' : ','}le="`);
      if (this.qBytes.length > 0) this.qPrefix[id] = utf8(`${f.prom}_quantiles{${pairs}${pairs === '' ? '' : ','}quantile="`);
    } else this.prefix[id] = utf8(`${f.total}${pairs === '' ? ' ' : `{${pairs}} `}`);
  }
}

/** `big 380, other 2` of the metrics named, at most `max` of them (then `…`). */
function namedCounts(leftOut: ExpositionLeftOut, max: number): string {
  const named = Object.entries(leftOut.byMetric);
  const shown = named.slice(0, max).map(([name, n]) => `${name} ${n}`);
  const more = leftOut.metrics - shown.length;
  return more > 0 ? `${shown.join(', ')}, and ${more} more metric${more === 1 ? '' : 's'}` : shown.join(', ');
}

/**
 * The text format's last line when the bound left series out: what, why and what to do. At
 * most 3 metrics named, fewer when their names are long, so that it fits in TAIL_BYTES.
 */
function leftOutComment(leftOut: ExpositionLeftOut, maxBytes: number, written: number): string {
  for (let named = 3; ; named--) {
    const line = `# perfwatch: ${leftOut.series} series left out (${named === 0 ? `of ${leftOut.metrics} metric${leftOut.metrics === 1 ? '' : 's'}` : namedCounts(leftOut, named)}) to hold this exposition to maxMetricsBytes (${maxBytes} bytes; all of it would take up to ${written + leftOut.bytes}): raise serveHttp's maxMetricsBytes (perfwatch serve --http-max-metrics-bytes), or lower maxTags or maxTagValueLength; /api/status http.metrics.leftOut counts them\n`;
    if (named === 0 || Buffer.byteLength(line) <= TAIL_BYTES - 8) return line;
  }
}
