/**
 * The series catalog and the one-minute rollups on disk. A series is (name, tags as the JSON
 * of its canonical tags); a rollup row is keyed by (series, start) and holds count, sum,
 * min, max, last and the sketch (sketch-codec.ts). The table keeps its rowid: with a 1 KB
 * sketch in the row, a WITHOUT ROWID table stores the row in the primary key's b-tree, whose
 * leaf cells overflow and waste most of a page each; docs/storage.md has the measurement.
 *
 * Statements are prepared once. Callers run writes inside the flush's transaction.
 */
import type { Db, SqlValue, Statement } from './driver.js';
import { HOUR_MS, HourlyTier, hourOf } from './hourly.js';
import { decodeSketchInto, runBound } from './sketch-codec.js';

export interface CatalogEntry {
  name: string;
  tags: Record<string, string>;
  kind: string;
  unit: string;
  /** One of the monitor's own series (runtime, system, monitor_*): not the application's. */
  own: boolean;
}

/** A series of the catalog as start() reads it: with the start (ms) of its newest stored row, null when it has none. */
export interface StoredSeries extends CatalogEntry {
  newest: number | null;
}

export interface RollupRow {
  start: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  last: number;
  sketch: Uint8Array | null;
}

/** One series' stored rollups with from <= start < to (StorageActorApi.history, histories and storedIn). */
export interface HistoryRequest {
  name: string;
  tags: Record<string, string>;
  from: number;
  to: number;
  hourly: boolean;
}

/**
 * Stored rollups of one series, oldest first, in columns (cheap to send between threads):
 * row i has its sketch as a run at sketches[sketchAt[i]] (engine/sketch.ts's encoded form),
 * or sketchAt[i] = -1 when it has none.
 */
export interface StoredRollups {
  start: Float64Array;
  count: Float64Array;
  sum: Float64Array;
  min: Float64Array;
  max: Float64Array;
  last: Float64Array;
  sketchAt: Float64Array;
  sketches: Int32Array;
  /** 1 where the row is an hour of the hourly tier, 0 where it is a minute. */
  hourly: Uint8Array;
}

export class RollupTable {
  private readonly db: Db;
  private readonly ids = new Map<string, number>();
  private readonly insertSeries: Statement;
  private readonly findSeries: Statement;
  private readonly put: Statement;
  private readonly range: Statement;
  private readonly newestOf: Statement;
  private readonly deleteOld: Statement;
  private readonly oldestStmt: Statement;
  private readonly catalogStmt: Statement;
  private readonly tagsStmt: Statement;
  private readonly rowsStmt: Statement;
  private readonly rowsFromStmt: Statement;
  private readonly rowsBetweenStmt: Statement;
  private readonly hourRange: Statement;
  private readonly deleteOldHours: Statement;
  private readonly anyMinute: Statement;
  private readonly anyHour: Statement;
  readonly hourly: HourlyTier;

  constructor(db: Db) {
    this.db = db;
    this.insertSeries = db.prepare('INSERT OR IGNORE INTO series (name, tags, kind, unit, own) VALUES (?, ?, ?, ?, ?)');
    this.findSeries = db.prepare('SELECT id FROM series WHERE name = ? AND tags = ?');
    this.put = db.prepare('INSERT OR REPLACE INTO rollups (series, start, count, sum, min, max, last, sketch) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.range = db.prepare('SELECT start, count, sum, min, max, last, sketch FROM rollups WHERE series = ? AND start >= ? AND start < ? ORDER BY start');
    this.newestOf = db.prepare('SELECT max(start) FROM rollups WHERE series = ?');
    this.deleteOld = db.prepare('DELETE FROM rollups WHERE rowid IN (SELECT rowid FROM rollups WHERE start < ? LIMIT ?)');
    this.oldestStmt = db.prepare('SELECT min(start) FROM rollups');
    // Newest first (a seek of the primary key per series; the hourly tier's for one whose
    // minute rows are gone), then in id order: restoreCatalog() registers what fits in that order.
    this.catalogStmt = db.prepare(`
      SELECT name, tags, kind, unit, own,
        coalesce((SELECT max(start) FROM rollups WHERE series = s.id), (SELECT max(start) FROM hourly WHERE series = s.id)) AS newest
      FROM series s ORDER BY newest DESC, id`);
    this.tagsStmt = db.prepare('SELECT tags FROM series WHERE name = ? ORDER BY id');
    this.rowsStmt = db.prepare('SELECT count(*) FROM rollups');
    this.rowsFromStmt = db.prepare('SELECT count(*) FROM rollups WHERE start >= ?');
    this.rowsBetweenStmt = db.prepare('SELECT count(*) FROM rollups WHERE start >= ? AND start < ?');
    this.hourRange = db.prepare('SELECT start, count, sum, min, max, last, sketch FROM hourly WHERE series = ? AND start >= ? AND start < ? ORDER BY start');
    this.deleteOldHours = db.prepare('DELETE FROM hourly WHERE rowid IN (SELECT rowid FROM hourly WHERE start < ? LIMIT ?)');
    this.anyMinute = db.prepare('SELECT 1 FROM rollups WHERE series = ? AND start >= ? AND start < ? LIMIT 1');
    this.anyHour = db.prepare('SELECT 1 FROM hourly WHERE series = ? AND start >= ? AND start < ? LIMIT 1');
    this.hourly = new HourlyTier(db);
  }

  /** The catalog id of a series, added when new (call inside a transaction). */
  seriesId(entry: CatalogEntry): number {
    const tags = JSON.stringify(entry.tags);
    const key = `${entry.name}\u0000${tags}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      this.insertSeries.run([entry.name, tags, entry.kind, entry.unit, entry.own ? 1 : 0]);
      id = Number(this.findSeries.get([entry.name, tags])![0]);
      this.ids.set(key, id);
    }
    return id;
  }

  /** The catalog ids cached (series this process writes to). */
  cachedIds(): IterableIterator<number> {
    return this.ids.values();
  }

  /** Forgets cached ids (after a transaction that added series was rolled back). */
  forgetIds(): void {
    this.ids.clear();
  }

  /** Writes a minute row at `now` (its hour is then rebuilt once closed: see HourlyTier). */
  write(series: number, row: RollupRow, now: number): void {
    this.put.run([series, row.start, row.count, row.sum, row.min, row.max, row.last, row.sketch]);
    this.hourly.touched(series, row.start, now);
  }

  /** Start of the newest row of a series, or -Infinity. */
  newest(series: number): number {
    const v = this.newestOf.get([series])?.[0];
    return v === null || v === undefined ? -Infinity : Number(v);
  }

  /** Every stored series, the one with the newest row first (those without a row last). */
  catalog(): StoredSeries[] {
    return this.catalogStmt.all().map(([name, tags, kind, unit, own, newest]) => ({
      name: String(name),
      tags: JSON.parse(String(tags)) as Record<string, string>,
      kind: String(kind),
      unit: String(unit),
      own: Number(own) === 1,
      newest: newest === null || newest === undefined ? null : Number(newest),
    }));
  }

  /** The tags of every stored series of `name`, in the catalog's order (a range of its unique index). */
  tagsOf(name: string): Record<string, string>[] {
    return this.tagsStmt.all([name]).map(([tags]) => JSON.parse(String(tags)) as Record<string, string>);
  }

  /**
   * Rows of the series (name, tags) with from <= start < to, oldest first; null when the
   * series is not stored. With `hourly`, the hours that lie whole in the range and have their
   * hourly row come from the hourly tier, the rest (the range's ragged ends, hours not built
   * yet) from the minute rows: the same samples either way, each once.
   */
  read(name: string, tags: Record<string, string>, from: number, to: number, hourly = false): StoredRollups | null {
    const found = this.findSeries.get([name, JSON.stringify(tags)]);
    if (found === undefined) return null;
    const id = found[0]!;
    const parts: { rows: SqlValue[][]; hourly: boolean }[] = [];
    const minutes = (a: number, b: number): void => {
      if (a < b) parts.push({ rows: this.range.all([id, clampTime(a), clampTime(b)]), hourly: false });
    };
    const first = Math.ceil(from / HOUR_MS) * HOUR_MS;
    const end = hourOf(to);
    if (!hourly || !(first < end)) {
      minutes(from, to);
    } else {
      // Infinite ends: the hours from the first stored one (no minute row lies before it but ragged ones).
      const hours = this.hourRange.all([id, clampTime(first), clampTime(end)]);
      let at = from;
      for (const h of hours) {
        const start = Number(h[0]);
        minutes(at, start);
        parts.push({ rows: [h], hourly: true });
        at = start + HOUR_MS;
      }
      minutes(at, to);
    }
    return columns(parts);
  }

  /**
   * Whether read() with the same arguments answers rows: a seek of the primary key or two, no
   * row read. A minute row in the range is read (as itself, or within its hour's row), and so
   * is, with `hourly`, an hour's row that lies whole in it.
   */
  has(name: string, tags: Record<string, string>, from: number, to: number, hourly = false): boolean {
    const found = this.findSeries.get([name, JSON.stringify(tags)]);
    if (found === undefined || !(from < to)) return false;
    const id = found[0]!;
    if (this.anyMinute.get([id, clampTime(from), clampTime(to)]) !== undefined) return true;
    const first = Math.ceil(from / HOUR_MS) * HOUR_MS;
    const end = hourOf(to);
    return hourly && first < end && this.anyHour.get([id, clampTime(first), clampTime(end)]) !== undefined;
  }

  /** The hourly rows of catalog series `series` with from <= start < to. */
  hours(series: number, from: number, to: number): StoredRollups {
    return columns([{ rows: this.hourRange.all([series, clampTime(from), clampTime(to)]), hourly: true }]);
  }

  /**
   * Deletes up to `limit` minute rows and `limit` hourly rows that start before `cutoff`:
   * the minute rows deleted, and whether either table may hold more.
   */
  deleteBefore(cutoff: number, limit: number): { rows: number; more: boolean } {
    // An hour that starts before the cutoff goes too: its minutes after it are read as minutes.
    const hours = this.deleteOldHours.run([clampTime(cutoff), limit]).changes;
    const rows = this.deleteOld.run([clampTime(cutoff), limit]).changes;
    return { rows, more: hours === limit || rows === limit };
  }

  /** Start of the oldest row, or null when there is none. */
  oldest(): number | null {
    const v = this.oldestStmt.get()?.[0];
    return v === null || v === undefined ? null : Number(v);
  }

  rows(): number {
    return Number(this.rowsStmt.get()?.[0] ?? 0);
  }

  /** Minute rows whose start is `from` or later (a range of the start index: cheap for a recent `from`). */
  rowsFrom(from: number): number {
    return Number(this.rowsFromStmt.get([from])?.[0] ?? 0);
  }

  /** Minute rows whose start is from `from` up to `to` (excluded): a range of the start index. */
  rowsBetween(from: number, to: number): number {
    return Number(this.rowsBetweenStmt.get([from, to])?.[0] ?? 0);
  }

  get database(): Db {
    return this.db;
  }
}

/** Columns for `rows` rows and `runs` ints of sketch runs, zeroed. */
export function emptyRollups(rows: number, runs: number): StoredRollups {
  return {
    start: new Float64Array(rows),
    count: new Float64Array(rows),
    sum: new Float64Array(rows),
    min: new Float64Array(rows),
    max: new Float64Array(rows),
    last: new Float64Array(rows),
    sketchAt: new Float64Array(rows),
    sketches: new Int32Array(runs),
    hourly: new Uint8Array(rows),
  };
}

/** Rows (start, count, sum, min, max, last, sketch) of consecutive parts as columns. */
function columns(parts: readonly { rows: SqlValue[][]; hourly: boolean }[]): StoredRollups {
  const n = parts.reduce((a, p) => a + p.rows.length, 0);
  let runs = 0;
  for (const p of parts) for (const r of p.rows) if (r[6] instanceof Uint8Array) runs += runBound(r[6]);
  const out = emptyRollups(n, runs);
  let pos = 0;
  let i = 0;
  for (const p of parts) {
    for (const r of p.rows) {
      out.start[i] = Number(r[0]);
      out.count[i] = Number(r[1]);
      out.sum[i] = Number(r[2]);
      out.min[i] = Number(r[3]);
      out.max[i] = Number(r[4]);
      out.last[i] = Number(r[5]);
      out.hourly[i] = p.hourly ? 1 : 0;
      const blob = r[6];
      const len = blob instanceof Uint8Array ? decodeSketchInto(blob, out.sketches, pos) : 0;
      out.sketchAt[i] = len > 0 ? pos : -1;
      pos += len;
      i++;
    }
  }
  return out;
}

/** Times as SQLite integers: ±Infinity become the extremes of the column's range. */
function clampTime(t: number): SqlValue {
  if (t === Infinity) return Number.MAX_SAFE_INTEGER;
  if (t === -Infinity) return Number.MIN_SAFE_INTEGER;
  return Math.floor(t);
}
