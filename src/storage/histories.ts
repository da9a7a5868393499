/**
 * The stored rollups of many series as one set of columns, the storage actor's answer to
 * `histories` (a report's or the baselines' read of every series). Sent as a list of one
 * StoredRollups a series, the answer transferred nine buffers a series, and the time a
 * postMessage takes grows with the square of the buffers it transfers: at 10,000 series
 * the reply took 1.3-2.4 s of the storage actor's thread, an empty one as long, and eight
 * reports asked at once waited ~20 s in turn. Packed, it transfers twelve buffers whatever
 * the number of series; the reader takes each series' rows as views of them (no copy).
 */
import { emptyRollups, type StoredRollups } from './rollups.js';

export interface PackedHistories {
  /** Every series' rows one after another, each series' sketchAt relative to its own sketches. */
  rows: StoredRollups;
  /** Series i's rows are rows [rowAt[i], rowAt[i + 1]). */
  rowAt: Float64Array;
  /** Series i's sketches are sketches [sketchAt[i], sketchAt[i + 1]). */
  sketchAt: Float64Array;
  /** 1 where series i is stored, 0 where it is not (history() answered null). */
  found: Uint8Array;
}

const COLUMNS = ['start', 'count', 'sum', 'min', 'max', 'last', 'sketchAt', 'hourly'] as const;

/** `list` (one entry a request, null for a series not stored) as one set of columns. */
export function packHistories(list: readonly (StoredRollups | null)[]): PackedHistories {
  let n = 0;
  let runs = 0;
  for (const r of list) {
    n += r?.start.length ?? 0;
    runs += r?.sketches.length ?? 0;
  }
  const rows = emptyRollups(n, runs);
  const rowAt = new Float64Array(list.length + 1);
  const sketchAt = new Float64Array(list.length + 1);
  const found = new Uint8Array(list.length);
  let row = 0;
  let sketch = 0;
  list.forEach((r, i) => {
    rowAt[i] = row;
    sketchAt[i] = sketch;
    if (!r) return;
    found[i] = 1;
    for (const c of COLUMNS) rows[c].set(r[c], row);
    rows.sketches.set(r.sketches, sketch);
    row += r.start.length;
    sketch += r.sketches.length;
  });
  rowAt[list.length] = row;
  sketchAt[list.length] = sketch;
  return { rows, rowAt, sketchAt, found };
}

/** The buffers to transfer with a packed answer: twelve, whatever the number of series. */
export function packedBuffers(p: PackedHistories): ArrayBuffer[] {
  return [...COLUMNS.map((c) => p.rows[c].buffer), p.rows.sketches.buffer, p.rowAt.buffer, p.sketchAt.buffer, p.found.buffer] as ArrayBuffer[];
}

/** Series i's rows of a packed answer as views of its columns, or null where it is not stored. */
export function unpackHistory(p: PackedHistories, i: number): StoredRollups | null {
  if (p.found[i] !== 1) return null;
  const from = p.rowAt[i]!;
  const to = p.rowAt[i + 1]!;
  const r = p.rows;
  return {
    start: r.start.subarray(from, to),
    count: r.count.subarray(from, to),
    sum: r.sum.subarray(from, to),
    min: r.min.subarray(from, to),
    max: r.max.subarray(from, to),
    last: r.last.subarray(from, to),
    sketchAt: r.sketchAt.subarray(from, to),
    sketches: r.sketches.subarray(p.sketchAt[i]!, p.sketchAt[i + 1]!),
    hourly: r.hourly.subarray(from, to),
  };
}
