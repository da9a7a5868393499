/**
 * The series with data, counted by metric name as they come: what countMetrics() without tags
 * or `sampled` (the `total` of /api/metrics and get_performance_metrics) and getMetricNames()
 * (/api/names) answer, without reading every series at each call (6-20 ms each of the host's
 * main thread at 100,000 series: each one's name, tags and totals).
 *
 * A series has data once its store holds a sample (everRecorded, and a total count above 0),
 * and keeps it: a series found with data is counted for good, one found without is read again
 * at the next call (the waiting list), a new series once. A hub's member series leaves the
 * answers while retired (Registry.retire), which its hub turns either way at any time: those
 * are listed apart and read at each call, the others never again.
 */
import type { Registry, SeriesInfo } from '../engine/registry.js';
import type { StoreReader } from '../engine/store/reader.js';
import type { MetricKind, MetricUnit } from '../engine/metrics.js';

interface NameCount {
  info: SeriesInfo;
  /** Its series with data, retired ones included. */
  series: number;
}

export class SeriesWithData {
  private readonly byName = new Map<string, NameCount>();
  /** Series ids looked at so far: [0, seen). */
  private seen = 0;
  /** Of them, those without data when last read. */
  private waiting: number[] = [];
  /** A hub's member series with data: retired or not, read at each call. */
  private readonly members: number[] = [];

  constructor(
    private readonly registry: Registry,
    private readonly reader: StoreReader,
  ) {}

  /** Brings the counts up to the store: reads the new series and those that had no data. */
  private update(): void {
    const waiting = this.waiting;
    let kept = 0;
    for (let i = 0; i < waiting.length; i++) {
      const id = waiting[i]!;
      if (!this.found(id)) waiting[kept++] = id;
    }
    waiting.length = kept;
    const n = this.registry.seriesCount();
    for (let id = this.seen; id < n; id++) if (!this.found(id)) waiting.push(id);
    this.seen = Math.max(this.seen, n);
  }

  /** Counts series `id` if it has data now; false when it has none yet. */
  private found(id: number): boolean {
    if (!this.reader.everRecorded(id) || this.reader.snapshot(id).totalCount === 0) return false;
    const info = this.registry.info(id);
    const known = this.byName.get(info.name);
    if (known) known.series++;
    else this.byName.set(info.name, { info, series: 1 });
    if (this.registry.isMember(id)) this.members.push(id);
    return true;
  }

  /** Series with data by name, retired ones left out; a name whose series are all retired, left out. */
  counts(): Map<string, { info: SeriesInfo; series: number }> {
    this.update();
    const out = new Map<string, { info: SeriesInfo; series: number }>();
    for (const [name, c] of this.byName) out.set(name, { info: c.info, series: c.series });
    for (const id of this.members) {
      if (!this.registry.isRetired(id)) continue;
      const c = out.get(this.registry.nameOf(id))!;
      if (--c.series === 0) out.delete(c.info.name);
    }
    return out;
  }

  /** getMetricNames()'s answer (query.ts' MetricName): every name with a series with data, by name. */
  names(): { name: string; kind: MetricKind; unit: MetricUnit; series: number }[] {
    const out: { name: string; kind: MetricKind; unit: MetricUnit; series: number }[] = [];
    for (const [name, c] of this.counts()) out.push({ name, kind: c.info.kind, unit: c.info.unit, series: c.series });
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
