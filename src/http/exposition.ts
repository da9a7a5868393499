/**
 * The /metrics exposition, rendered from the shared store in place (by the exposition
 * worker, so that a scrape costs the host's event loop nothing but the bytes' write).
 *
 * - gauge: the newest value; counter: the running total, `_total`; distribution: a
 *   histogram of the closed buckets (the open one joins when it closes, at most one
 *   collection interval later): `_bucket{le}` cumulative up to `+Inf`, `_sum`, `_count`.
 * - Histogram buckets are folded in incrementally, record by record, from the sketches the
 *   store keeps per closed bucket (engine/sketch.ts: 64 bins per power of two). A sketch bin
 *   counts in the first bound at or above the value it stands for, so a bucket's count is
 *   exact for every sample except those in the one bin that straddles its bound (relative
 *   width ≤ 1/64). A bound on a bin edge (m·2^e with m an integer below 128: 0.5, 1, 2.5, 5,
 *   10, 25, 50, 100, 250, 500, 1000, 2000, … the defaults) straddles nothing: there the
 *   count is exact, except that a sample exactly equal to the bound counts in the next bucket.
 * - Samples whose sketch the store no longer held when first read (the exporter started
 *   late, or fell behind the bucket ring) are in `_count`, `_sum` and `+Inf` only: `+Inf`
 *   always equals `_count`, and each bucket only grows. `unbucketed` says how many.
 * - Quantiles, when asked for (`quantiles`): a summary family `x_quantiles{quantile="0.99"}`
 *   beside each histogram `x`, over the closed buckets that started in the last
 *   `quantileWindowMs`, from their merged sketches (relative error within the sketch's
 *   0.78%); a series with no bucket in that window has none. It has no `_sum`/`_count`
 *   (the histogram has them; a window's would not be counters). A summary, because
 *   promtool refuses a `quantile` label on anything else. A histogram's own quantile
 *   (`histogram_quantile`) can only interpolate within a bucket; these do not.
 * - A family whose names would repeat another's (a gauge `x_count` beside a histogram `x`)
 *   is left out, as is a series with a label the format reserves (`le` on a histogram,
 *   `quantile` when there are quantiles, any beginning with `__`): no series appears twice.
 *   `skipped` names them.
 */
import { BUILTIN_BY_NAME, type MetricKind, type MetricUnit } from '../engine/metrics.js';
import type { Registry } from '../engine/registry.js';
import { KEY_COUNT, SketchAccumulator, valueOf } from '../engine/sketch.js';
import type { StoreReader } from '../engine/store/reader.js';
import { ByteWriter, utf8 } from './byte-writer.js';
import { escapeHelp, formatNumber, labelPairs, type ExpositionFormat } from './text-format.js';

/** Default histogram bounds (ms), each on a sketch bin edge so that its count is exact. */
export const DEFAULT_BUCKETS: readonly number[] = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 4000, 8000, 16000];
export const MAX_BUCKETS = 100;
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

interface Family {
  name: string;
  kind: MetricKind;
  help: string;
  /** `name ` or `name_total ` (a sample without labels), then its labelled form's start. */
  bare: Uint8Array;
  sumName: Uint8Array;
  countName: Uint8Array;
  /** `# HELP`/`# TYPE` of the quantile family (histograms, when there are quantiles). */
  quantileHead: string;
  /** Name of the counter's samples, and its OpenMetrics family name. */
  total: string;
  omName: string;
  ids: number[];
}

interface HistogramState {
  /** Next tier-1 record to fold in. */
  next: number;
  /** Samples per bound (not cumulative). */
  bins: Float64Array;
  count: number;
  sum: number;
}

export interface ExpositionStats {
  families: number;
  series: number;
  /** Families and series left out, with why. */
  skipped: string[];
  /** Histogram samples counted in `+Inf` only: their sketch was gone before it was read. */
  unbucketed: number;
}

const MAX_SKIPPED_SHOWN = 20;

function helpOf(name: string, kind: MetricKind, unit: MetricUnit): string {
  return BUILTIN_BY_NAME.get(name)?.help ?? `perfwatch ${kind}${unit ? ` (${unit})` : ''}`;
}

export class Exposition {
  private readonly registry: Registry;
  private readonly reader: StoreReader;
  private readonly bounds: readonly number[];
  /** `0.5"} ` per bound, then `+Inf"} `. */
  private readonly leBytes: Uint8Array[];
  /** Bound index + 1 per sketch key (0: not computed yet). */
  private readonly boundOfKey = new Uint8Array(KEY_COUNT);
  private readonly families = new Map<string, Family>();
  private readonly taken = new Set<string>();
  private readonly clashing = new Set<string>();
  private readonly skippedNames: string[] = [];
  private skippedCount = 0;
  private known = 0;
  private readonly hist: (HistogramState | undefined)[] = [];
  private readonly counterPeak: number[] = [];
  /** Per series: `name_bucket{labels,le="` (histograms), and `{labels} ` (or a space). */
  private readonly prefix: (Uint8Array | undefined)[] = [];
  private readonly labels: (Uint8Array | undefined)[] = [];
  private readonly out = new ByteWriter();
  private readonly closed = new Float64Array(3);
  private readonly scratch: Float64Array;
  private lastStats: ExpositionStats = { families: 0, series: 0, skipped: [], unbucketed: 0 };
  private readonly quantiles: QuantileOptions;
  /** `0.99"} ` per quantile. */
  private readonly qBytes: Uint8Array[];
  /** Per histogram series: `name_quantiles{labels,quantile="`. */
  private readonly qPrefix: (Uint8Array | undefined)[] = [];
  private readonly window = new SketchAccumulator();

  constructor(registry: Registry, reader: StoreReader, bounds: readonly number[] = DEFAULT_BUCKETS, quantiles: QuantileOptions = { quantiles: [], windowMs: 60_000 }) {
    this.registry = registry;
    this.reader = reader;
    this.bounds = bounds;
    this.quantiles = quantiles;
    this.qBytes = quantiles.quantiles.map((q) => utf8(`${formatNumber(q)}"} `));
    this.leBytes = [...bounds.map(formatNumber), '+Inf'].map((le) => utf8(`${le}"} `));
    this.scratch = new Float64Array(bounds.length + 1);
  }

  get stats(): ExpositionStats {
    return this.lastStats;
  }

  /** Folds every histogram's new closed buckets in (also done by render()). */
  foldAll(): void {
    this.sync();
    for (const family of this.families.values()) {
      if (family.kind === 'distribution') for (const id of family.ids) this.fold(id);
    }
  }

  render(format: ExpositionFormat): Uint8Array {
    this.sync();
    const om = format === 'openmetrics';
    const w = this.out;
    const NL = 10;
    w.reset();
    let families = 0;
    let series = 0;
    let unbucketed = 0;
    const nb = this.bounds.length;
    for (const f of this.families.values()) {
      let headed = false;
      for (const id of f.ids) {
        if (this.reader.totalCount(id) === 0) continue;
        if (!headed) {
          headed = true;
          families++;
          const typeName = f.kind === 'counter' ? (om ? f.omName : f.total) : f.name;
          w.text(`# HELP ${typeName} ${escapeHelp(f.help)}\n# TYPE ${typeName} ${f.kind === 'distribution' ? 'histogram' : f.kind}\n`);
        }
        const labels = this.labels[id]!;
        if (f.kind === 'gauge') {
          w.bytes(f.bare);
          w.bytes(labels);
          w.number(this.reader.lastValue(id));
        } else if (f.kind === 'counter') {
          const total = Math.max(this.counterPeak[id] ?? 0, this.reader.totalSum(id));
          this.counterPeak[id] = total;
          w.bytes(f.bare);
          w.bytes(labels);
          w.number(total);
        } else {
          const st = this.fold(id);
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
            w.bytes(f.sumName);
            w.bytes(labels);
            w.number(st.sum);
            w.byte(NL);
          }
          w.bytes(f.countName);
          w.bytes(labels);
          w.number(st.count);
        }
        w.byte(NL);
        series++;
      }
      if (headed && f.kind === 'distribution' && this.qBytes.length > 0) {
        const n = this.renderQuantiles(f);
        if (n > 0) families++;
        series += n;
      }
    }
    if (om) w.text('# EOF\n');
    this.lastStats = { families, series, skipped: this.skippedNames.slice(0, MAX_SKIPPED_SHOWN), unbucketed };
    if (this.skippedCount > MAX_SKIPPED_SHOWN) this.lastStats.skipped.push(`… and ${this.skippedCount - MAX_SKIPPED_SHOWN} more`);
    return w.take();
  }

  /** A histogram family's quantile family; how many series it wrote. */
  private renderQuantiles(f: Family): number {
    const w = this.out;
    const from = (this.quantiles.now ?? Date.now)() - this.quantiles.windowMs;
    const acc = this.window;
    let written = 0;
    for (const id of f.ids) {
      acc.reset();
      this.reader.addWindowSketch(id, from, Infinity, acc);
      if (acc.total === 0) continue;
      if (written++ === 0) w.text(f.quantileHead);
      const values = acc.quantiles(this.quantiles.quantiles);
      for (let i = 0; i < values.length; i++) {
        w.bytes(this.qPrefix[id]!);
        w.bytes(this.qBytes[i]!);
        w.number(values[i]!);
        w.byte(10);
      }
    }
    return written;
  }

  /** Takes in the series registered since the last look. */
  private sync(): void {
    const n = this.registry.seriesCount();
    for (let id = this.known; id < n; id++) {
      const info = this.registry.info(id);
      let family = this.families.get(info.name);
      // A family left out takes its later series with it, without another word.
      if (this.clashing.has(info.name)) continue;
      if (family === undefined) {
        family = this.family(info.name, info.kind, info.unit);
        if (family === undefined) continue;
      }
      const quantiles = this.qBytes.length > 0;
      const reserved = Object.keys(info.tags).find((k) => k.startsWith('__') || (info.kind === 'distribution' && (k === 'le' || (quantiles && k === 'quantile'))));
      if (reserved !== undefined) {
        this.skip(`series ${info.name} with tag ${reserved}: a label name the format reserves`);
        continue;
      }
      const pairs = labelPairs(info.tags);
      this.labels[id] = utf8(pairs === '' ? ' ' : `{${pairs}} `);
      this.prefix[id] = utf8(`${info.name}_bucket{${pairs}${pairs === '' ? '' : ','}le="`);
      if (quantiles && info.kind === 'distribution') this.qPrefix[id] = utf8(`${info.name}_quantiles{${pairs}${pairs === '' ? '' : ','}quantile="`);
      family.ids.push(id);
    }
    this.known = n;
  }

  /** A new family, or undefined (and skipped) when one of its names is taken. */
  private family(name: string, kind: MetricKind, unit: MetricUnit): Family | undefined {
    const total = kind === 'counter' && !name.endsWith('_total') ? `${name}_total` : name;
    const omName = kind === 'counter' ? total.slice(0, -'_total'.length) : name;
    const quantiles = this.qBytes.length > 0 ? [`${name}_quantiles`, `${name}_quantiles_sum`, `${name}_quantiles_count`] : [];
    const names = kind === 'distribution' ? [name, `${name}_bucket`, `${name}_sum`, `${name}_count`, `${name}_created`, ...quantiles] : kind === 'counter' ? [omName, total, `${omName}_created`] : [name];
    const clash = names.find((n) => this.taken.has(n));
    if (clash !== undefined) {
      this.skip(`${kind} ${name}: its name ${clash} is another family's`);
      this.clashing.add(name);
      return undefined;
    }
    for (const n of names) this.taken.add(n);
    const family: Family = {
      name,
      kind,
      help: helpOf(name, kind, unit),
      bare: utf8(kind === 'counter' ? total : name),
      sumName: utf8(`${name}_sum`),
      countName: utf8(`${name}_count`),
      quantileHead: `# HELP ${name}_quantiles ${escapeHelp(`quantiles of ${name} over the last ${this.quantiles.windowMs} ms, from the sketch (relative error within 0.78%)`)}\n# TYPE ${name}_quantiles summary\n`,
      total,
      omName,
      ids: [],
    };
    this.families.set(name, family);
    return family;
  }

  private skip(why: string): void {
    this.skippedCount++;
    if (this.skippedNames.length < MAX_SKIPPED_SHOWN) this.skippedNames.push(why);
  }

  /**
   * Folds in a histogram's closed buckets not seen yet. The closed totals are read first,
   * then the head: the newest record is folded only once the totals include it, so the
   * buckets never count a sample that `_count` does not.
   */
  private fold(id: number): HistogramState {
    let st = this.hist[id];
    if (st === undefined) {
      st = { next: 0, bins: new Float64Array(this.bounds.length + 1), count: 0, sum: 0 };
      this.hist[id] = st;
    }
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
    return st;
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
