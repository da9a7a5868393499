/**
 * The journal of the minutes not closed yet: what makes a SIGKILL lose at most one flush
 * interval without rewriting every busy series' current minute at each flush.
 *
 * A minute row is written once, when the collector has closed the minute (its rollup record).
 * Between, each flush appends ONE journal row: a blob with, per series with new samples, the
 * buckets it closed since the flush before, merged into one record per minute, and its open
 * bucket so far. At 10,000 busy series that is one insert instead of 10,000 upserts, and
 * merging five seconds of buckets instead of a whole minute's (bench:storage). A blob is
 * deleted once every minute in it has its row.
 *
 * Opening the file folds what a killed process left (foldJournal). Closed records are never
 * journaled twice, so they add up; an open bucket is superseded by the next blob that has the
 * series (the bucket is then in its closed record, or is its open one, grown), so of each
 * series only the open record of its newest blob counts. The records are grouped into the
 * rows they belong to. A group whose row is already on disk with as many samples or more was
 * superseded by it (the row is the closed minute, the journal only part of it); a group with
 * more replaces the row: after a flush of whole minutes (stop(), flushStorage()) the journal
 * takes the whole minute again, and the row holds only the part written then. Either way one
 * is part of the other: both come from the same store.
 *
 * Blob: two u32 (f64 and i32 counts), then the records' f64 (RECORD_F64 each: series, row
 * start, first bucket start, count, sum, min, max, last, run position or -1, open 1 or 0),
 * then the runs (engine/sketch.ts's encoded form).
 */
import type { SketchAccumulator } from '../engine/sketch.js';
import type { BucketRecord } from '../engine/store/reader.js';
import type { Db, Statement } from './driver.js';
import type { RollupTable } from './rollups.js';
import { encodeSketch } from './sketch-codec.js';

const RECORD_F64 = 10;

export class JournalBuilder {
  private f64 = new Float64Array(RECORD_F64 * 4096);
  private i32 = new Int32Array(1 << 16);
  private nf = 0;
  private ni = 0;
  /** The newest minute of each store series in the blob: it is superseded once those have rows. */
  readonly minutes = new Map<number, number>();

  get records(): number {
    return this.nf / RECORD_F64;
  }

  reset(): void {
    this.nf = 0;
    this.ni = 0;
    this.minutes.clear();
  }

  /**
   * Adds a record of store series `id`, row `series` (row start `rowStart`, in `minute`),
   * with the sketch `acc` holds (none when null or empty).
   */
  add(id: number, series: number, rowStart: number, minute: number, r: Omit<BucketRecord, 'sketchPos' | 'sketchLen'>, open: boolean, acc: SketchAccumulator | null): void {
    const bound = acc && acc.total > 0 ? acc.encodedLengthBound() : 0;
    if (this.nf + RECORD_F64 > this.f64.length) {
      const f = new Float64Array(this.f64.length * 2);
      f.set(this.f64);
      this.f64 = f;
    }
    if (this.ni + bound > this.i32.length) {
      const i = new Int32Array(Math.max(this.ni + bound, this.i32.length * 2));
      i.set(this.i32);
      this.i32 = i;
    }
    const f = this.f64;
    const k = this.nf;
    f[k] = series;
    f[k + 1] = rowStart;
    f[k + 2] = r.start;
    f[k + 3] = r.count;
    f[k + 4] = r.sum;
    f[k + 5] = r.min;
    f[k + 6] = r.max;
    f[k + 7] = r.last;
    f[k + 8] = bound > 0 ? this.ni : -1;
    f[k + 9] = open ? 1 : 0;
    if (bound > 0) this.ni += acc!.encodeInto(this.i32, this.ni);
    this.nf += RECORD_F64;
    if (!(this.minutes.get(id)! >= minute)) this.minutes.set(id, minute);
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(8 + this.nf * 8 + this.ni * 4);
    const view = new DataView(out.buffer);
    view.setUint32(0, this.nf, true);
    view.setUint32(4, this.ni, true);
    out.set(new Uint8Array(this.f64.buffer, 0, this.nf * 8), 8);
    out.set(new Uint8Array(this.i32.buffer, 0, this.ni * 4), 8 + this.nf * 8);
    return out;
  }
}

interface Folded {
  f64: Float64Array;
  i32: Int32Array;
  at: number;
}

/** What a fold did: rows written, and of the journal's blobs, those it could not read. */
export interface FoldResult {
  rows: number;
  blobs: number;
  damaged: number;
}

/**
 * Writes the rows the journal holds (see the module comment) and empties it. Call inside a
 * transaction. A blob that cannot be read (cut short, its header not its length) is left out
 * and deleted with the rest: its samples are lost, and the result counts it for the caller to
 * say so.
 */
export function foldJournal(db: Db, table: RollupTable, acc: SketchAccumulator, now: number): FoldResult {
  const blobs = db.prepare('SELECT body FROM journal ORDER BY seq').all();
  if (blobs.length === 0) return { rows: 0, blobs: 0, damaged: 0 };
  let damaged = 0;
  const closed: Folded[] = [];
  // Of each series, the open record of the newest blob that has the series (or none).
  const open = new Map<number, Folded | null>();
  for (const [body] of blobs) {
    if (!(body instanceof Uint8Array) || body.length < 8) {
      damaged++;
      continue;
    }
    const copy = new Uint8Array(body);
    const view = new DataView(copy.buffer);
    const nf = view.getUint32(0, true);
    const ni = view.getUint32(4, true);
    if (nf % RECORD_F64 !== 0 || copy.length !== 8 + nf * 8 + ni * 4) {
      damaged++;
      continue;
    }
    const f64 = new Float64Array(copy.buffer, 8, nf);
    const i32 = new Int32Array(copy.buffer, 8 + nf * 8, ni);
    const opened = new Map<number, Folded | null>();
    for (let at = 0; at < nf; at += RECORD_F64) {
      const record = { f64, i32, at };
      if (f64[at + 9] === 1) opened.set(f64[at]!, record);
      else {
        closed.push(record);
        if (!opened.has(f64[at]!)) opened.set(f64[at]!, null);
      }
    }
    for (const [series, record] of opened) open.set(series, record);
  }
  const rows = new Map<string, Folded[]>();
  for (const b of [...closed, ...open.values()]) {
    if (b === null) continue;
    const key = `${b.f64[b.at]}:${b.f64[b.at + 1]}`;
    const list = rows.get(key);
    if (list) list.push(b);
    else rows.set(key, [b]);
  }
  const existing: Statement = db.prepare('SELECT count FROM rollups WHERE series = ? AND start = ?');
  const scratch = new Int32Array(1 << 16);
  let written = 0;
  for (const list of rows.values()) {
    list.sort((a, b) => a.f64[a.at + 2]! - b.f64[b.at + 2]!);
    const series = list[0]!.f64[list[0]!.at]!;
    const start = list[0]!.f64[list[0]!.at + 1]!;
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    let last = 0;
    acc.reset();
    for (const { f64, i32, at } of list) {
      count += f64[at + 3]!;
      sum += f64[at + 4]!;
      min = Math.min(min, f64[at + 5]!);
      max = Math.max(max, f64[at + 6]!);
      last = f64[at + 7]!;
      const run = f64[at + 8]!;
      if (run >= 0 && run < i32.length) acc.addEncoded(i32, run);
    }
    const stored = existing.get([series, start])?.[0];
    if (stored !== undefined && stored !== null && Number(stored) >= count) continue;
    let sketch: Uint8Array | null = null;
    if (acc.total > 0) {
      const out = acc.encodedLengthBound() > scratch.length ? new Int32Array(acc.encodedLengthBound()) : scratch;
      acc.encodeInto(out, 0);
      sketch = encodeSketch(out, 0);
    }
    table.write(series, { start, count, sum, min, max, last, sketch }, now);
    written++;
  }
  db.exec('DELETE FROM journal');
  return { rows: written, blobs: blobs.length, damaged };
}
