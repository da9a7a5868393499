/**
 * The raw slots of a drained chunk's small groups, written in one tight loop before any group
 * is committed (StoreWriter.chunk; applyWritten then commits them without writing them again).
 *
 * Why: at 10,000 series a pass gives each series about three samples, and each group's first
 * raw store lands on a line (and a page) that no other group shares and that the writer last
 * touched seconds ago. Inside applyGroup, among the group's loads of its hot line and its
 * commit, those misses came one after another: in a profile of the collector at 1M samples/s
 * over 10,000 series, 62% of applyGroup's samples sat on its first raw store. Written here
 * back to back, the chunk's raw misses overlap: bench:collector at 10,000 series took 92-115
 * ns a sample against 102-145 in passes of 33 ms (the actor's), 126-136 against 176-198 in
 * passes of 10 ms (docs/benchmarks.md, issue 16's ninth pass).
 *
 * Crash safety is applyGroup's: a group's slots are past RAW_WRITTEN and RAW_AHEAD is raised
 * over them before they are written, so a reader distrusts them until the group's commit
 * moves RAW_WRITTEN; a writer killed here leaves them uncommitted, and a successor replaying
 * the chunk writes them again from CHUNK_DONE on (the same slots, the same values and stamp).
 *
 * Only groups of at most GROUP_MAX samples that, with those of the series still waiting to be
 * binned, stay under `binEvery` (half the raw ring at most) are written so: such a group is
 * applied in one part (applyWritten), with no binTail inside it that would read its slots, and
 * RAW_AHEAD never covers more than a part does. Longer groups (100 series: hundreds of
 * samples a pass) are written by applyParts part by part, as before.
 */
import { HOT_F64, RAW_AHEAD as AHEAD_CELL, RAW_BINNED as BINNED_CELL, RAW_WRITTEN as WRITTEN_CELL } from './layout.js';

// The cells as this module's own consts: V8 folds those into the code, where an imported
// binding is loaded from its cell and checked at each use.
const HOT_I32 = HOT_F64 * 2;
const RAW_WRITTEN = WRITTEN_CELL;
const RAW_AHEAD = AHEAD_CELL;
const RAW_BINNED = BINNED_CELL;
/**
 * The longest group written here: a longer one's stores run on a few lines in a row, which
 * applyGroup writes as it sums (with groups of 100 written here, bench:collector at 100
 * series took 0.4-1.3 ns a sample more in three pairs: their values read twice).
 */
const GROUP_MAX = 16;

/** The raw ring's place in the store: the series slots (f64), their stride and the raw ring's offset in one, its capacity. */
export interface RawRings {
  hotI32: Int32Array;
  f64: Float64Array;
  slotF64: number;
  rawOffsetF64: number;
  rawCap: number;
  binEvery: number;
}

/**
 * Writes the raw slots (stamp, value) of the small groups j0 to j1 (excluded) of a grouped
 * chunk: group j is series distinct[j] with values grouped[ends[distinct[j - 1]] ..
 * ends[distinct[j]]), past the `done` samples already committed. Marks in `written` (one byte
 * a series) each series whose slots it wrote; returns how many. The caller beats between
 * blocks of groups: a chunk of new series faults in a page of raw slots each (StoreWriter.chunk).
 */
export function writeRawFirst(rings: RawRings, grouped: Float64Array, distinct: Int32Array, j0: number, j1: number, ends: Int32Array, done: number, stamp: number, written: Uint8Array): number {
  const { hotI32, f64, slotF64, rawOffsetF64, binEvery } = rings;
  const rawMask = rings.rawCap - 1;
  let wrote = 0;
  let from = j0 > 0 ? ends[distinct[j0 - 1]!]! : 0;
  for (let j = j0; j < j1; j++) {
    const id = distinct[j]!;
    const to = ends[id]!;
    const start = from > done ? from : done;
    from = to;
    if (to <= start || to - start > GROUP_MAX) continue;
    const hi = id * HOT_I32;
    const w0 = hotI32[hi + RAW_WRITTEN]!;
    if (((w0 - hotI32[hi + RAW_BINNED]!) | 0) + (to - start) >= binEvery) continue;
    // Readers drop what they copied from slots up to RAW_AHEAD: it is raised before the slots are written.
    const reach = (w0 + to - start) | 0;
    if (((reach - hotI32[hi + RAW_AHEAD]!) | 0) > 0) hotI32[hi + RAW_AHEAD] = reach;
    const raw = id * slotF64 + rawOffsetF64;
    let w = w0;
    for (let i = start; i < to; i++) {
      const slot = raw + 2 * (w & rawMask);
      f64[slot] = stamp;
      f64[slot + 1] = grouped[i]!;
      w = (w + 1) | 0;
    }
    written[id] = 1;
    wrote++;
  }
  return wrote;
}
