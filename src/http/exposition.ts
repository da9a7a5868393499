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
 */
import type { Registry } from '../engine/registry.js';
import { SketchAccumulator, clamp } from '../engine/sketch.js';
import type { StoreReader, WindowAggregate } from '../engine/store/reader.js';
import { DEFAULT_BUCKETS, MAX_BUCKETS, SeriesWalk, type WalkFamily } from '../analysis/series-walk.js';
import { ByteWriter, utf8 } from './byte-writer.js';
import { escapeHelp, formatNumber, labelPairs, type ExpositionFormat } from './text-format.js';

export { DEFAULT_BUCKETS, MAX_BUCKETS };
export const MAX_QUANTILES = 10;

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
  head: string;
  omHead: string;
  /** `# HELP`/`# TYPE` of the quantile family (histograms, when there are quantiles). */
  quantileHead: string;
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
  private readonly out = new ByteWriter();
  private lastStats: ExpositionStats = { families: 0, series: 0, skipped: [], unbucketed: 0, partialQuantiles: 0, unquantiled: 0 };
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

  constructor(registry: Registry, reader: StoreReader, bounds: readonly number[] = DEFAULT_BUCKETS, quantiles: QuantileOptions = { quantiles: [], windowMs: 60_000 }) {
    this.walk = new SeriesWalk(registry, reader, bounds, { quantileFamilies: quantiles.quantiles.length > 0 });
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
    let families = 0;
    let series = 0;
    let unbucketed = 0;
    const nb = this.bounds.length;
    for (const f of this.walk.families()) {
      let headed = false;
      const fb = this.bytesOf(f);
      for (const id of f.ids) {
        if (!this.walk.shows(id)) continue;
        if (!headed) {
          headed = true;
          families++;
          w.text(om ? fb.omHead : fb.head);
        }
        const labels = this.labels[id] ?? this.seriesBytes(f, id);
        if (f.kind !== 'distribution') {
          w.line(this.prefix[id]!, f.kind === 'gauge' ? this.walk.gauge(id) : this.walk.counter(id));
          series++;
          continue;
        }
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
      if (headed && f.kind === 'distribution' && this.qBytes.length > 0) {
        const n = this.renderQuantiles(f, fb);
        if (n > 0) families++;
        series += n;
      }
    }
    if (om) w.text('# EOF\n');
    this.lastStats = { families, series, skipped: this.walk.skipped(), unbucketed, partialQuantiles: this.partialQuantiles, unquantiled: this.coverage.unsketched };
    return w.take();
  }

  /** A histogram family's quantile family; how many series it wrote. */
  private renderQuantiles(f: WalkFamily, fb: FamilyBytes): number {
    const w = this.out;
    const from = (this.quantiles.now ?? Date.now)() - this.quantiles.windowMs;
    const acc = this.window;
    let written = 0;
    for (const id of f.ids) {
      if (!this.walk.shows(id)) continue;
      acc.reset();
      const span = this.coverage;
      span.min = Infinity;
      span.max = -Infinity;
      if (this.reader.addWindowSketch(id, from, Infinity, acc, span) > 0) this.partialQuantiles++;
      if (acc.total === 0) continue;
      if (written++ === 0) w.text(fb.quantileHead);
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

  private bytesOf(f: WalkFamily): FamilyBytes {
    let fb = this.familyBytes.get(f);
    if (fb !== undefined) return fb;
    const type = f.kind === 'distribution' ? 'histogram' : f.kind;
    const omName = f.kind === 'counter' ? f.total.slice(0, -'_total'.length) : f.prom;
    const help = escapeHelp(f.help);
    fb = {
      sumName: utf8(`${f.prom}_sum`),
      countName: utf8(`${f.prom}_count`),
      head: `# HELP ${f.total} ${help}\n# TYPE ${f.total} ${type}\n`,
      omHead: `# HELP ${omName} ${help}\n# TYPE ${omName} ${type}\n`,
      quantileHead: `# HELP ${f.prom}_quantiles ${escapeHelp(`quantiles of ${f.prom} over the last ${this.quantiles.windowMs} ms, from the sketch (relative error within 0.78%)`)}\n# TYPE ${f.prom}_quantiles summary\n`,
    };
    this.familyBytes.set(f, fb);
    return fb;
  }

  /** A series' label bytes (and its histogram's prefixes), made once. */
  private seriesBytes(f: WalkFamily, id: number): Uint8Array {
    const pairs = labelPairs(this.walk.tags(id));
    const labels = utf8(pairs === '' ? ' ' : `{${pairs}} `);
    this.labels[id] = labels;
    if (f.kind === 'distribution') {
      this.prefix[id] = utf8(`${f.prom}_bucket{${pairs}${pairs === '' ? '' : ','}le="`);
      if (this.qBytes.length > 0) this.qPrefix[id] = utf8(`${f.prom}_quantiles{${pairs}${pairs === '' ? '' : ','}quantile="`);
    } else this.prefix[id] = utf8(`${f.total}${pairs === '' ? ' ' : `{${pairs}} `}`);
    return labels;
  }
}
