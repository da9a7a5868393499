/**
 * The hourly tier on disk: one row per series and hour (count, sum, min, max, last and the
 * merged sketch), built from that hour's one-minute rows, so that a long history reads ~720
 * rows for 30 days instead of 43,200 (docs/storage.md, "The hourly tier").
 *
 * Invariant, in every committed state: an hourly row equals the merge of the minute rows of
 * its hour. A minute row is written (RollupTable.write tells `touched`) into an open hour,
 * which has no hourly row yet, or, late, into a closed one, whose hourly row is then deleted
 * in the same transaction. Either way the hour is pending; `build` (run in the flush's
 * transaction, at most `budget` hours at a time so that the flush after an hour closes stays
 * short) writes the closed ones. An hour without its row is read from its minute rows, so a
 * pending hour, or one a crash left unbuilt, costs speed, never exactness. After a start the
 * hours from each series' newest hourly row on are built again in the background (the open
 * hours of a process that was killed; every hour of a file from before this tier).
 */
import { SketchAccumulator } from '../engine/sketch.js';
import type { Db, Statement } from './driver.js';
import { decodeSketchInto, encodeSketch, runBound } from './sketch-codec.js';

export const HOUR_MS = 3_600_000;

/** Hours built per flush at most: about 1 ms each for a busy distribution (bench:storage builds 720 in 0.8 s), so ~0.2 s a flush. */
export const HOURS_PER_FLUSH = 200;

export class HourlyTier {
  private readonly minutes: Statement;
  private readonly put: Statement;
  private readonly remove: Statement;
  private readonly nextMinute: Statement;
  private readonly newestHours: Statement;
  /** Hours with new minute rows, by series id: rebuilt once closed. */
  private readonly pending = new Map<number, Set<number>>();
  /** Per series, the hour from which the minute rows are not known to be rolled up (start()). */
  private cursors: Map<number, number> | undefined;
  private readonly acc = new SketchAccumulator();
  private run = new Int32Array(4096);
  private out = new Int32Array(4096);

  constructor(db: Db) {
    this.minutes = db.prepare('SELECT count, sum, min, max, last, sketch FROM rollups WHERE series = ? AND start >= ? AND start < ? ORDER BY start');
    this.put = db.prepare('INSERT OR REPLACE INTO hourly (series, start, count, sum, min, max, last, sketch) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.remove = db.prepare('DELETE FROM hourly WHERE series = ? AND start = ?');
    this.nextMinute = db.prepare('SELECT min(start) FROM rollups WHERE series = ? AND start >= ?');
    this.newestHours = db.prepare('SELECT s.id, (SELECT max(start) FROM hourly h WHERE h.series = s.id) FROM series s');
  }

  /** A minute row of `series` starting at `start` was written at `now` (inside the transaction). */
  touched(series: number, start: number, now: number): void {
    const hour = hourOf(start);
    if (hour + HOUR_MS <= now) this.remove.run([series, hour]);
    let set = this.pending.get(series);
    if (set === undefined) this.pending.set(series, (set = new Set()));
    set.add(hour);
  }

  /**
   * What is left to build: hours marked by minute rows (the open ones among them) and series
   * whose hours since a start are still being built (null until the first build looked).
   */
  backlog(): { hours: number; series: number | null } {
    let hours = 0;
    for (const set of this.pending.values()) hours += set.size;
    return { hours, series: this.cursors ? this.cursors.size : null };
  }

  /** Forgets pending hours (their transaction rolled back, or the file was replaced). */
  forget(): void {
    this.pending.clear();
    this.cursors = undefined;
  }

  /**
   * Builds up to `budget` closed hours (before `now`): pending ones first, then those a start
   * found unbuilt. Returns how many. Call inside a transaction; on rollback call forget().
   */
  build(now: number, budget: number = HOURS_PER_FLUSH): number {
    let built = 0;
    for (const [series, hours] of this.pending) {
      for (const hour of hours) {
        if (built >= budget) return built;
        if (hour + HOUR_MS > now) continue;
        this.buildHour(series, hour);
        hours.delete(hour);
        built++;
      }
      if (hours.size === 0) this.pending.delete(series);
    }
    this.cursors ??= new Map(this.newestHours.all().map(([id, newest]) => [Number(id), newest === null ? -Infinity : Number(newest) + HOUR_MS]));
    for (const [series, from] of this.cursors) {
      let cursor = from;
      while (built < budget) {
        const next = this.nextMinute.get([series, Math.max(cursor, Number.MIN_SAFE_INTEGER)])?.[0];
        const hour = next === null || next === undefined ? Infinity : hourOf(Number(next));
        if (hour + HOUR_MS > now) {
          cursor = Infinity;
          break;
        }
        this.buildHour(series, hour);
        cursor = hour + HOUR_MS;
        built++;
      }
      if (cursor === Infinity) this.cursors.delete(series);
      else this.cursors.set(series, cursor);
      if (built >= budget) break;
    }
    return built;
  }

  private buildHour(series: number, hour: number): void {
    const rows = this.minutes.all([series, hour, hour + HOUR_MS]);
    if (rows.length === 0) {
      this.remove.run([series, hour]);
      return;
    }
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    let last = 0;
    this.acc.reset();
    for (const [c, s, lo, hi, l, blob] of rows) {
      count += Number(c);
      sum += Number(s);
      min = Math.min(min, Number(lo));
      max = Math.max(max, Number(hi));
      last = Number(l);
      if (!(blob instanceof Uint8Array)) continue;
      const bound = runBound(blob);
      if (this.run.length < bound) this.run = new Int32Array(Math.max(bound, this.run.length * 2));
      if (decodeSketchInto(blob, this.run, 0) > 0) this.acc.addEncoded(this.run, 0);
    }
    let sketch: Uint8Array | null = null;
    if (this.acc.total > 0) {
      const len = this.acc.encodedLengthBound();
      if (this.out.length < len) this.out = new Int32Array(Math.max(len, this.out.length * 2));
      this.acc.encodeInto(this.out, 0);
      sketch = encodeSketch(this.out, 0);
    }
    this.put.run([series, hour, count, sum, min, max, last, sketch]);
  }
}

export function hourOf(t: number): number {
  return Math.floor(t / HOUR_MS) * HOUR_MS;
}
