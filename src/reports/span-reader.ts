/**
 * A store reader that also sees the rollups on disk: a report or a baseline built through it
 * spans the stored minutes and hours (from before a restart, or older than the memory holds)
 * and the memory's rollups, buckets and open bucket, without a seam and each sample once, as
 * getMetricHistory does (src/monitor/history.ts).
 *
 * Per series, the stored rows taken are those that start before where the memory's data of
 * the series begins (memoryFrom); the caller fetches them with that as the end of the range,
 * so an hour of the hourly tier that the memory's data reaches into is read as its minutes.
 * They appear as tier-2 records older than the memory's own: totalCount, oldestBucket(2),
 * buckets(2), aggregate and addSketch include them, and recordWidth gives a row the part of
 * its minute (or hour) that was watched. A stored record is marked by its sketchPos (STORED and up: far beyond any position of
 * the store's sketch logs), which also says where its run is (the series' index among the
 * stored ones times RUNS, plus the run's position); its sketchLen holds two flags (HAS_SKETCH,
 * HOURLY).
 */
import type { HistoryRequest } from '../actors/protocols.js';
import type { Registry } from '../engine/registry.js';
import type { SketchAccumulator } from '../engine/sketch.js';
import { StoreReader, type BucketRecord, type Tier, type WindowAggregate } from '../engine/store/reader.js';
import type { StoredRollups } from '../storage/rollups.js';
import { coveredSeconds, watchedEnd, type Watched } from '../analysis/watched.js';

const STORED = 2 ** 52;
const HAS_SKETCH = 1;
const HOURLY = 2;
const HOUR_MS = 3_600_000;
/** Room for each stored series' runs in a sketchPos: 2^32 ints (2^20 series fit below 2^53). */
const RUNS = 2 ** 32;

/**
 * Where the memory's data of a series begins: its oldest rollup or bucket, or, when the
 * memory still holds the series' first minute, its first sample's time (a stored row of that
 * minute from before a restart lies before it: see storage/persister.ts); Infinity when the
 * memory holds none.
 */
export function memoryFrom(reader: StoreReader, id: number): number {
  if (reader.totalCount(id) === 0) return Infinity;
  const first = reader.snapshot(id).firstTs;
  const oldest = [reader.oldestBucket(id, 2), reader.oldestBucket(id, 1)].filter((t) => !Number.isNaN(t));
  return Math.max(first, oldest.length > 0 ? Math.min(...oldest) : first);
}

interface StoredSeries {
  rows: StoredRollups;
  /** Rows taken: those before the memory's data (rows.start[i] < memoryFrom for i < n). */
  n: number;
  count: number;
  /** Its index in `runs`. */
  k: number;
}

export class SpanReader extends StoreReader {
  private stored = new Map<number, StoredSeries>();
  private runs: Int32Array[] = [];
  /** Per index in `runs`, where the memory's data of its series begins (memoryFrom). */
  private memoryFroms: number[] = [];
  private watched: Watched | undefined;
  /** While the memory's own aggregate is read (aggregate()): buckets() gives the memory's records alone. */
  private ownOnly = false;

  /**
   * The stored rollups of this task's series, by series id (replaces the last task's), and
   * when the monitor and the processes that wrote them watched (analysis/watched.ts), which
   * says how much of a row's minute its samples stand for.
   */
  setStored(rows: ReadonlyMap<number, StoredRollups>, watched?: Watched): void {
    this.stored = new Map();
    this.runs = [];
    this.memoryFroms = [];
    this.watched = watched;
    for (const [id, r] of rows) {
      const before = memoryFrom(this, id);
      let n = 0;
      let count = 0;
      while (n < r.start.length && r.start[n]! < before) count += r.count[n++]!;
      if (n > 0) {
        this.stored.set(id, { rows: r, n, count, k: this.runs.push(r.sketches) - 1 });
        this.memoryFroms.push(before);
      }
    }
  }

  /** Series with stored rows taken. */
  storedSeries(): number {
    return this.stored.size;
  }

  /** Samples of the series in memory only (since this process started, or as far back as it holds). */
  memoryCount(id: number): number {
    return super.totalCount(id);
  }

  override totalCount(id: number): number {
    return super.totalCount(id) + (this.stored.get(id)?.count ?? 0);
  }

  override oldestBucket(id: number, tier: Tier): number {
    const own = super.oldestBucket(id, tier);
    const s = tier === 2 ? this.stored.get(id) : undefined;
    if (!s) return own;
    const first = s.rows.start[0]!;
    return Number.isNaN(own) ? first : Math.min(first, own);
  }

  override oldestStored(id: number): number {
    const s = this.ownOnly ? undefined : this.stored.get(id);
    return s ? s.rows.start[0]! : Number.NaN;
  }

  override buckets(id: number, tier: Tier, from = -Infinity, to = Infinity): BucketRecord[] {
    const taken = tier === 2 ? this.stored.get(id) : undefined;
    // A full rollup ring's oldest record is left out of where the memory's data begins (the
    // collector writes over it next), so its minute's stored row is taken: read from both, a
    // range past the memory's rollups counted that minute twice (a steady 20/s read 20.7 over
    // 30 minutes at 10 minutes of rollups, and 23.6 over 300 s at 4).
    const ownFrom = taken && this.bucketCount(id, 2) > this.layout.t2Cap ? Math.max(from, this.memoryFroms[taken.k]!) : from;
    const own = super.buckets(id, tier, ownFrom, to);
    const s = this.ownOnly ? undefined : taken;
    if (!s) return own;
    const out: BucketRecord[] = [];
    const r = s.rows;
    for (let i = 0; i < s.n; i++) {
      const start = r.start[i]!;
      if (start < from || start >= to) continue;
      const at = r.sketchAt[i]!;
      out.push({ start, count: r.count[i]!, sum: r.sum[i]!, min: r.min[i]!, max: r.max[i]!, last: r.last[i]!, sketchPos: STORED + s.k * RUNS + Math.max(0, at), sketchLen: (at >= 0 ? HAS_SKETCH : 0) | (r.hourly[i] ? HOURLY : 0) });
    }
    return out.length === 0 ? own : out.concat(own);
  }

  /**
   * A stored row's span: to the end of its minute (or hour), or to where the memory's data of
   * its series begins (whose buckets count the time after, in a minute one process stopped in
   * and the next started in), the part of that the runs watched. A process's first row starts
   * at its first sample (see storage/persister.ts), and it holds that minute's samples only;
   * its last ends at its last flush. Over the whole rest of its minute, the minute a process
   * stopped in read its counter's rate low, a dip at every restart in a report's charts.
   */
  override recordWidth(tier: Tier, record: BucketRecord): number {
    if (record.sketchPos < STORED) return super.recordWidth(tier, record);
    const end = this.rowEnd(record);
    const watched = this.watched ? coveredSeconds(record.start, end, this.watched) : null;
    return watched !== null ? watched * 1000 : end - record.start;
  }

  /**
   * A stored row's samples lie before the end of its span (recordWidth) and of the run that
   * wrote it: a report over a range ending inside the minute a process stopped in keeps the
   * row, which has no sample after the range's end (engine/store/held-from.ts, heldTo).
   */
  override recordEnd(tier: Tier, record: BucketRecord): number {
    if (record.sketchPos < STORED) return super.recordEnd(tier, record);
    const end = this.rowEnd(record);
    const run = this.watched ? watchedEnd(this.watched, record.start) : Number.NaN;
    return run < end ? run : end;
  }

  /** The end of a stored row's minute (or hour), or where the memory's data of its series begins. */
  private rowEnd(record: BucketRecord): number {
    const width = record.sketchLen & HOURLY ? HOUR_MS : this.layout.rollupMs;
    const k = Math.floor((record.sketchPos - STORED) / RUNS);
    return Math.min((Math.floor(record.start / width) + 1) * width, this.memoryFroms[k] ?? Infinity);
  }

  override isStored(record: BucketRecord): boolean {
    return record.sketchPos >= STORED;
  }

  /** False for a stored row without a sketch (a gauge's or counter's: storage keeps none), as for one gone from the log. */
  override addSketch(tier: Tier, record: BucketRecord, acc: SketchAccumulator): boolean {
    if (record.sketchPos < STORED) return super.addSketch(tier, record, acc);
    if (!(record.sketchLen & HAS_SKETCH)) return false;
    const at = record.sketchPos - STORED;
    const k = Math.floor(at / RUNS);
    acc.addEncoded(this.runs[k]!, at - k * RUNS);
    return true;
  }

  /**
   * The memory's aggregate plus the stored rows in [from, to) (all older than the memory's
   * data), each once: the memory's is read with buckets() giving the memory's records alone.
   * StoreReader.aggregate reads a range's whole minutes through buckets(), and with the stored
   * rows in it too, a stored row that starts on a minute (every one but a process's first) was
   * counted twice: a report after a restart counted 10,802 requests for 6,591, and 950 errors
   * for 498.
   */
  override aggregate(id: number, from: number, to: number, acc?: SketchAccumulator): WindowAggregate {
    let out: WindowAggregate;
    this.ownOnly = true;
    try {
      out = super.aggregate(id, from, to, acc);
    } finally {
      this.ownOnly = false;
    }
    const s = this.stored.get(id);
    if (!s) return out;
    const r = s.rows;
    for (let i = 0; i < s.n; i++) {
      const start = r.start[i]!;
      if (start < from || start >= to) continue;
      out.count += r.count[i]!;
      out.sum += r.sum[i]!;
      if (r.min[i]! < out.min) out.min = r.min[i]!;
      if (r.max[i]! > out.max) out.max = r.max[i]!;
      if (!(start < out.lastTs)) {
        out.last = r.last[i]!;
        out.lastTs = start;
      }
      if (!acc) continue;
      if (r.sketchAt[i]! >= 0) {
        acc.addEncoded(r.sketches, r.sketchAt[i]!);
      } else {
        // A gauge's or counter's row: storage keeps no sketch for them. Its samples count, not
        // their shape: unsketched says so, or the quantiles of the samples since the restart
        // (one, of four) stood for all of them, without a quantileCount.
        out.sketchless++;
        out.unsketched += r.count[i]!;
      }
    }
    return out;
  }
}

/** A stored range longer than this is read from the hourly tier (its ragged ends as minutes). */
const HOURLY_OVER_MS = 24 * HOUR_MS;

/**
 * What to ask the storage actor for, to build over [from, to) (from: -Infinity for all
 * kept): every series' rows (or those of `only`) up to where its memory's data begins, from
 * `from` less one span more (a report compares the range with the same span before it),
 * hourly for long spans; and `from`, where they begin.
 */
export function spanRequests(registry: Registry, reader: StoreReader, from: number, to: number, only?: readonly number[]): { ids: number[]; requests: HistoryRequest[]; from: number } {
  const start = Number.isFinite(from) ? from - (to - from) : -Infinity;
  const ids: number[] = [];
  const requests: HistoryRequest[] = [];
  for (const id of only ?? Array.from({ length: registry.seriesCount() }, (_, i) => i)) {
    const end = Math.min(to, memoryFrom(reader, id));
    if (!(start < end)) continue;
    const info = registry.info(id);
    ids.push(id);
    requests.push({ name: info.name, tags: { ...info.tags }, from: start, to: end, hourly: end - start > HOURLY_OVER_MS });
  }
  return { ids, requests, from: start };
}
