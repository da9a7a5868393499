/**
 * Copies the store's data to disk: for every series with new samples, the rollup records the
 * collector wrote (tier 2) that are not on disk yet, as minute rows, and what came since in
 * the minutes the collector has not closed: in the journal (journal.ts), one blob a flush of
 * the buckets closed since the last flush and the open ones. So a flush leaves on disk
 * everything the collector had drained, and a process killed between flushes loses at most
 * what came after the last one; the next open folds the journal into rows. The last flush
 * (stop) writes the open minutes as rows instead, built from their closed buckets (tier 1) and
 * the open bucket, and empties the journal. It reads the shared store in place (StoreReader)
 * and never writes to it.
 *
 * A row's start is its minute, or, for the first minute of a series in this process, the
 * time of its first sample: a restarted process then adds a row beside the minute that the
 * one before it left, instead of replacing it.
 *
 * What is on disk per series is tracked here and advanced only once the flush's transaction
 * committed: a flush that fails (full disk) is retried whole by the next one, from the store,
 * which holds 6 hours of rollups by default.
 */
import type { Registry } from '../engine/registry.js';
import { SketchAccumulator } from '../engine/sketch.js';
import type { BucketRecord, StoreReader } from '../engine/store/reader.js';
import type { Statement } from './driver.js';
import { JournalBuilder } from './journal.js';
import type { RollupRow, RollupTable } from './rollups.js';
import { encodeSketch } from './sketch-codec.js';

interface SeriesState {
  dbId: number;
  /** Start of the newest tier-2 record on disk. */
  done: number;
  /** The series' sample count at its last flush: unchanged means nothing to write. */
  total: number;
  /** Start of the newest closed bucket in the journal. */
  journaled: number;
  /** Journaled since its last rows: the last flush writes its open minute even when no sample came since. */
  inJournal: boolean;
  /** A distribution (its sketches are kept), and its first sample's time in this process (set with dbId). */
  sketches: boolean;
  floor: number;
  /** The series' rollups ever written by the collector (its tier-2 head) after its last flush, or -1 before its first (lostRollups). */
  head: number;
}

/** A journal blob on disk: deleted once every series in it has rows up to its newest minute there. */
interface JournalBlob {
  seq: number;
  ids: number[];
  minutes: number[];
}

export interface FlushResult {
  rows: number;
  series: number;
  /** Rollups the store had overwritten before this flush could write them (lostRollups), and the series they were of. */
  lost: { rollups: number; series: number };
}

export class Persister {
  private readonly registry: Registry;
  private readonly reader: StoreReader;
  private readonly table: RollupTable;
  private states: (SeriesState | undefined)[] = [];
  private readonly acc = new SketchAccumulator();
  private scratch = new Int32Array(4096);
  /** Whether every series' rollups since its start should be on disk: not after reset(), whose file lost what the one before held. */
  private fromStart = true;
  /** This flush's lostRollups, kept only if it commits. */
  private lost = { rollups: 0, series: 0 };
  private readonly journal = new JournalBuilder();
  private blobs: JournalBlob[] = [];
  private seq: number;
  private readonly putBlob: Statement;
  private readonly deleteBlob: Statement;
  private readonly clearJournal: Statement;

  constructor(registry: Registry, reader: StoreReader, table: RollupTable) {
    this.registry = registry;
    this.reader = reader;
    this.table = table;
    const db = table.database;
    this.putBlob = db.prepare('INSERT INTO journal (seq, body) VALUES (?, ?)');
    this.deleteBlob = db.prepare('DELETE FROM journal WHERE seq = ?');
    this.clearJournal = db.prepare('DELETE FROM journal');
    this.seq = Number(db.prepare('SELECT max(seq) FROM journal').get()?.[0] ?? 0);
  }

  /**
   * Writes what is new in one transaction, with the hours that closed by `now` (HourlyTier);
   * `last`: the open minutes as rows, the journal emptied (stop, or a flush asked for);
   * `within`: more writes that commit or fail with these (a hub's members' numbers). On
   * failure nothing is marked written (it throws).
   */
  flush(now: number = Date.now(), last = false, within?: () => void): FlushResult {
    const next = new Map<number, SeriesState>();
    let rows = 0;
    let blob: JournalBlob | undefined;
    const gone: JournalBlob[] = [];
    this.lost = { rollups: 0, series: 0 };
    try {
      this.table.database.transaction(() => {
        this.journal.reset();
        const n = this.registry.seriesCount();
        for (let id = 0; id < n; id++) {
          // Not a page of each never-recorded series' slot read every flush (engine/store/recorded.ts).
          if (!this.reader.everRecorded(id)) continue;
          const total = this.reader.totalCount(id);
          const known = this.states[id];
          // A journaled series with no sample since still has a row to write once the collector
          // rolls its minute up (its tier-2 head moves): a series recorded once (a user id in a
          // tag) otherwise had none until stop(), and the blobs holding it were never deleted.
          if (total === 0 || (known?.total === total && !(known.inJournal && (last || this.reader.bucketCount(id, 2) !== known.head)))) continue;
          const state: SeriesState = known
            ? { dbId: known.dbId, done: known.done, total, journaled: known.journaled, inJournal: known.inJournal, sketches: known.sketches, floor: known.floor, head: known.head }
            : { dbId: -1, done: -Infinity, total, journaled: -Infinity, inJournal: false, sketches: false, floor: 0, head: -1 };
          rows += this.flushSeries(id, state, now, last);
          next.set(id, state);
        }
        const done = (id: number): number => (next.get(id) ?? this.states[id])?.done ?? -Infinity;
        if (last) {
          this.clearJournal.run();
        } else {
          if (this.journal.records > 0) {
            blob = { seq: this.seq + 1, ids: [...this.journal.minutes.keys()], minutes: [...this.journal.minutes.values()] };
            this.putBlob.run([blob.seq, this.journal.bytes()]);
            rows += this.journal.records;
          }
          for (const b of this.blobs) {
            if (b.ids.every((id, i) => done(id) >= b.minutes[i]!)) {
              this.deleteBlob.run([b.seq]);
              gone.push(b);
            }
          }
        }
        this.table.hourly.build(now);
        within?.();
      });
    } catch (error) {
      // Series the rolled-back transaction added are not on disk: their cached ids are void,
      // and the hours it touched are found again from the disk.
      this.table.forgetIds();
      this.table.hourly.forget();
      throw error;
    }
    for (const [id, state] of next) this.states[id] = state;
    if (last) this.blobs = [];
    else this.blobs = this.blobs.filter((b) => !gone.includes(b));
    if (blob) {
      this.blobs.push(blob);
      this.seq = blob.seq;
    }
    return { rows, series: next.size, lost: this.lost };
  }

  /** Writes every series of the registry into the catalog (a new file: the series without new samples too). */
  catalogAll(): void {
    this.table.database.transaction(() => {
      const n = this.registry.seriesCount();
      for (let id = 0; id < n; id++) {
        const info = this.registry.info(id);
        this.table.seriesId({ name: info.name, tags: { ...info.tags }, kind: info.kind, unit: info.unit, own: this.registry.isOwn(id) });
      }
    });
  }

  /** Catalog ids this persister writes to (its series' and the table's cached ones): retention must not delete them under it. */
  seriesInUse(): Set<number> {
    const ids = new Set(this.table.cachedIds());
    for (const state of this.states) if (state && state.dbId >= 0) ids.add(state.dbId);
    return ids;
  }

  /** Forgets what is on disk (the file was replaced): the next flush writes all the store holds. */
  reset(): void {
    this.fromStart = false;
    this.states = [];
    this.blobs = [];
    this.table.forgetIds();
    this.table.hourly.forget();
  }

  private flushSeries(id: number, state: SeriesState, now: number, last: boolean): number {
    const L = this.reader.layout;
    const R = L.rollupMs;
    if (state.dbId < 0) {
      const info = this.registry.info(id);
      state.dbId = this.table.seriesId({ name: info.name, tags: { ...info.tags }, kind: info.kind, unit: info.unit, own: this.registry.isOwn(id) });
      state.sketches = info.kind === 'distribution';
      // The first sample's own time (ms), not its bucket's: two processes restarted within one
      // interval would otherwise key their first rows alike, and the second replace the first.
      state.floor = this.reader.snapshot(id).firstTs;
      // A successor of a storage actor that died: what is on disk need not be written again,
      // but for the last minutes, which the one before may have written before they closed.
      const newest = this.table.newest(state.dbId);
      if (state.done === -Infinity && newest > -Infinity) state.done = Math.floor(newest / R) * R - 2 * R;
      // With nothing of the series on disk, every rollup it ever had is to be written now.
      if (this.fromStart && newest === -Infinity) state.head = 0;
    }
    const { sketches, floor } = state;
    let rows = 0;
    const head = this.reader.bucketCount(id, 2);
    for (const r of this.reader.buckets(id, 2, state.done + 1)) {
      this.table.write(state.dbId, this.row(Math.max(r.start, floor), [r], 2, sketches, id, false), now);
      state.done = r.start;
      rows++;
    }
    this.lostRollups(id, state, head, rows);
    // The minutes the collector has not rolled up yet: their closed buckets and the open one.
    const after = state.done === -Infinity ? -Infinity : state.done + R;
    if (!last) return rows + this.journalSeries(id, state, Math.max(after, state.journaled + 1), floor, sketches);
    // The open minute is a row now; should more come, the journal takes the whole minute
    // again, so that a fold replaces this row rather than leaves out what it lacks.
    state.inJournal = false;
    state.journaled = -Infinity;
    for (let attempt = 0; attempt < 3; attempt++) {
      const head = this.reader.bucketCount(id, 1);
      const buckets = this.reader.buckets(id, 1, after);
      const s = this.reader.snapshot(id);
      const open = s.openCount > 0 && s.openStart >= after && !closing(buckets, s.openStart);
      if (this.reader.bucketCount(id, 1) !== head) continue;
      const windows = new Map<number, BucketRecord[]>();
      for (const b of buckets) {
        const w = Math.floor(b.start / R) * R;
        const list = windows.get(w) ?? [];
        list.push(b);
        windows.set(w, list);
      }
      const openWindow = Math.floor(s.openStart / R) * R;
      if (open && !windows.has(openWindow)) windows.set(openWindow, []);
      for (const [w, list] of windows) {
        const withOpen = open && w === openWindow;
        const all = withOpen ? [...list, { start: s.openStart, count: s.openCount, sum: s.openSum, min: s.openMin, max: s.openMax, last: s.openLast, sketchPos: -1, sketchLen: 0 }] : list;
        this.table.write(state.dbId, this.row(Math.max(w, floor), all, 1, sketches, id, withOpen), now);
        rows++;
      }
      return rows;
    }
    return rows + tornRead(state);
  }

  /**
   * Counts the rollups of series `id` that the store overwrote before a flush wrote them:
   * while flushes fail (a full disk) the store holds `rollupCapacity` minutes a series, and a
   * longer outage loses the oldest, which the history would then miss without a word. Of the
   * `head − state.head` rollups written since the last flush, `read` were still there
   * (`head` is read before them: one written meanwhile makes this count low, never high).
   */
  private lostRollups(id: number, state: SeriesState, head: number, read: number): void {
    if (state.head >= 0 && head - state.head > read) {
      this.lost.rollups += head - state.head - read;
      this.lost.series++;
    }
    // Read after the rollups: those written meanwhile, read now or at the next flush, are not counted again.
    state.head = this.reader.bucketCount(id, 2);
  }

  /** Journals the buckets of `id` from `after` on: the closed ones merged per minute, then the open one. */
  private journalSeries(id: number, state: SeriesState, after: number, floor: number, sketches: boolean): number {
    const R = this.reader.layout.rollupMs;
    const acc = sketches ? this.acc : null;
    for (let attempt = 0; attempt < 3; attempt++) {
      const head = this.reader.bucketCount(id, 1);
      const buckets = this.reader.buckets(id, 1, after);
      const s = this.reader.snapshot(id);
      if (this.reader.bucketCount(id, 1) !== head) continue;
      for (let i = 0; i < buckets.length; ) {
        const w = Math.floor(buckets[i]!.start / R) * R;
        let end = i;
        while (end < buckets.length && buckets[end]!.start < w + R) end++;
        this.journal.add(id, state.dbId, Math.max(w, floor), w, { start: buckets[i]!.start, ...this.fold(buckets, i, end, 1, acc, -1) }, false, acc);
        i = end;
      }
      if (buckets.length > 0) state.journaled = buckets[buckets.length - 1]!.start;
      const open = s.openCount > 0 && s.openStart >= after && !closing(buckets, s.openStart);
      if (open) {
        const w = Math.floor(s.openStart / R) * R;
        acc?.reset();
        if (acc) this.reader.addOpenSketch(id, acc);
        this.journal.add(id, state.dbId, Math.max(w, floor), w, { start: s.openStart, count: s.openCount, sum: s.openSum, min: s.openMin, max: s.openMax, last: s.openLast }, true, acc);
      }
      state.inJournal ||= buckets.length > 0 || open;
      return buckets.length + (open ? 1 : 0);
    }
    return tornRead(state);
  }

  /** One row from records of a tier (and the open bucket, the last of `records`, when `withOpen`). */
  private row(start: number, records: readonly BucketRecord[], tier: 1 | 2, sketches: boolean, id: number, withOpen: boolean): RollupRow {
    const { count, sum, min, max, last } = this.fold(records, 0, records.length, tier, sketches ? this.acc : null, withOpen ? id : -1);
    let sketch: Uint8Array | null = null;
    if (sketches && this.acc.total > 0) {
      const len = this.acc.encodedLengthBound();
      if (this.scratch.length < len) this.scratch = new Int32Array(Math.max(len, this.scratch.length * 2));
      this.acc.encodeInto(this.scratch, 0);
      sketch = encodeSketch(this.scratch, 0);
    }
    return { start, count, sum, min, max, last, sketch };
  }

  /**
   * Count, sum, min, max and last of records[from, to), their sketches added to `acc` (reset
   * first); the last record's from the open bucket of series `openOf` when it is not -1.
   */
  private fold(records: readonly BucketRecord[], from: number, to: number, tier: 1 | 2, acc: SketchAccumulator | null, openOf: number): { count: number; sum: number; min: number; max: number; last: number } {
    let count = 0;
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    let last = 0;
    acc?.reset();
    for (let i = from; i < to; i++) {
      const r = records[i]!;
      count += r.count;
      sum += r.sum;
      if (r.min < min) min = r.min;
      if (r.max > max) max = r.max;
      last = r.last;
      if (acc === null) continue;
      if (openOf !== -1 && i === to - 1) this.reader.addOpenSketch(openOf, acc);
      else this.reader.addSketch(tier, r, acc);
    }
    return { count, sum, min, max, last };
  }
}

/**
 * Every read of a series met one of its closes (a close each interval: all but never): its
 * new samples are left for the next flush, which a total that matches no count makes read it
 * again even if no sample comes meanwhile. Returns the rows written: none.
 */
function tornRead(state: SeriesState): number {
  state.total = -1;
  return 0;
}

/**
 * Whether the open bucket starting at `openStart` is being closed: its record is published
 * (the newest of `buckets`) and the collector has not emptied it yet (closes.ts). Its samples
 * are then in the record; read from both, they would count twice.
 */
function closing(buckets: readonly BucketRecord[], openStart: number): boolean {
  return buckets.length > 0 && buckets[buckets.length - 1]!.start === openStart;
}
