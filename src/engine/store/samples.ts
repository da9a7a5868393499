/**
 * The sample path, the collector's hot path: drain() takes a ring's published samples in
 * chunks, groups each chunk by series (countSeries, scatter), writes the raw slots of its
 * small groups first (raw-first.ts) and applies it group by group (applyGroup: applyWritten
 * or applyParts), each series' samples into its raw ring and its open bucket's totals; its
 * sketch bins come later, in runs (binTail, pages.ts). A time mark or a corrupt id is taken
 * alone (special).
 *
 * Invariants. A series' part of a chunk is committed in one run of straight-line stores (its
 * hot cells, RAW_WRITTEN and the ring's CHUNK_DONE), which V8 cannot split; a chunk is
 * announced in the ring's header before any of it is applied and counted in APPLIED (and in
 * the reader's `counted` cell, status()'s ingested) at its end, so a successor replays a chunk left in flight from CHUNK_DONE on, at the same stamp,
 * grouped the same way (drain). RAW_AHEAD is raised over raw slots before they are written,
 * and a series' raw ring never laps a sample its sketch has not counted (binEvery).
 */
import { APPLIED, CHUNK_DONE, CHUNK_K, CHUNK_R0, CHUNK_STAMP_I32, TIME_MARK, WRITE, type RingReader } from '../ring.js';
import { BucketRows } from './bucket-rows.js';
import { HOT_F64, OPEN_COUNT, OPEN_LAST, OPEN_MAX, OPEN_MIN, OPEN_START, OPEN_SUM, RAW_AHEAD, RAW_BINNED, RAW_WRITTEN } from './layout.js';
import { writeRawFirst } from './raw-first.js';
import { BEAT_MASK, CHUNK_MAX, CHUNK_MIN, CHUNK_PER_SERIES } from './writer-state.js';

/** The groups of a chunk between two beats (BEAT_MASK + 1: the passes over all series beat as often). */
const BEAT_GROUPS = BEAT_MASK + 1;

// A chunk's stamp goes into the ring's header (an Int32Array) as two words through this pair of views.
const stampScratch = new Float64Array(1);
const stampWords = new Int32Array(stampScratch.buffer);

/** countSeries()'s second result: the series it found. */
const tally = new Int32Array(1);

/**
 * Counts per series the samples in ring slots [r0, r0 + n), listing each series as first
 * seen (its count in `tally`), up to the first slot that is no sample; returns the slots
 * counted. chunk()'s two loops over the ring are functions of their own, over arrays passed
 * in: bench:collector's grouping took 7.9-8.3 ns a sample so against 8.6-8.8 inside chunk()
 * (docs/benchmarks.md, issue 16's seventh pass).
 */
function countSeries(ids: Int32Array, mask: number, r0: number, n: number, maxSeries: number, counts: Int32Array, distinct: Int32Array): number {
  let d = 0;
  let k = 0;
  for (; k < n; k++) {
    const id = ids[(r0 + k) & mask]!;
    if (id >>> 0 >= maxSeries) break;
    const seen = counts[id]!;
    counts[id] = seen + 1;
    if (seen === 0) distinct[d++] = id;
  }
  tally[0] = d;
  return k;
}

/** Copies the values of ring slots [r0, r0 + k) to their series' places in `grouped`, each series' first place in `at`, which moves past them. */
function scatter(ids: Int32Array, values: Float64Array, mask: number, r0: number, k: number, at: Int32Array, grouped: Float64Array): void {
  for (let i = 0; i < k; i++) {
    const slot = (r0 + i) & mask;
    grouped[at[ids[slot]!]!++] = values[slot]!;
  }
}

export class SamplePath extends BucketRows {
  /**
   * Applies up to `max` published samples of one ring, stamped with `now` (or with the time
   * of the ring's last time mark). Returns how many samples, marks not counted.
   * The caller publishes raw heads with publish() after a pass over all rings.
   *
   * The collector's hot path. Samples go in chunks (CHUNK_MAX), each grouped by series
   * (a counting sort that copies the values into group order) and applied group by group: a
   * series' samples are written to its raw ring past RAW_WRITTEN (a small group's before any
   * group commits: raw-first.ts), summed in registers, and
   * committed in one run of straight-line stores (the hot cells, RAW_WRITTEN, and the ring's
   * CHUNK_DONE), which V8 cannot split: it stops a terminated worker only at function entries
   * and loop back-edges.
   * The chunk is announced in the ring's header first (CHUNK_R0, CHUNK_K, CHUNK_STAMP) and
   * counted in APPLIED at its end. A successor that finds it in flight applies the same slots
   * at the same time again, grouped the same way, past the CHUNK_DONE samples already
   * committed: exact after a kill anywhere. Sketch bins come later, in runs (binTail).
   */
  drain(reader: RingReader, now: number, max: number): number {
    let n = (Atomics.load(reader.hdr, WRITE) - reader.r) | 0;
    if (n <= 0) return 0;
    if (n > max) n = max;
    let moved = 0;
    let left = n;
    const half = (reader.mask + 1) >>> 1;
    while (left > 0) {
      // Sized by the series of the ring's last chunk (CHUNK_PER_SERIES): the chunk before sets the next.
      const wide = reader.spread * CHUNK_PER_SERIES;
      const most = Math.min(CHUNK_MAX, Math.max(CHUNK_MIN, half < wide ? half : wide));
      const taken = this.chunk(reader, now, left < most ? left : most);
      moved += this.grouped;
      left -= taken;
      reader.release();
    }
    return moved;
  }

  /**
   * Applies the samples of one chunk: up to `n` slots from the reader's index, ending before
   * the first time mark or corrupt id after at least one sample (those are taken alone, in
   * ring order); or the chunk a dead writer left in flight, whatever `n`. Returns the slots
   * consumed; `grouped` says how many samples were applied.
   */
  protected chunk(reader: RingReader, now: number, n: number): number {
    const hdr = reader.hdr;
    const ids = reader.ids;
    const mask = reader.mask;
    const maxSeries = this.layout.maxSeries;
    const counts = this.groupCounts;
    const r0 = reader.r;
    const replay = hdr[CHUNK_K] !== 0 && hdr[CHUNK_R0] === r0;
    const slots = replay ? hdr[CHUNK_K]! : n;
    // A larger ring's chunk (or one a predecessor left in flight): the buffers grow to it, once.
    if (slots > this.groupValues.length) this.growGroups(slots);
    const distinct = this.groupIds;
    // Count per series, up to the first slot that is no sample.
    const k = countSeries(ids, mask, r0, slots, maxSeries, counts, distinct);
    if (k === 0) {
      this.special(reader, ids[r0 & mask]!);
      this.grouped = 0;
      return 1;
    }
    const d = tally[0]!;
    reader.spread = d;
    let stamp: number;
    let done: number;
    if (replay) {
      stampWords[0] = hdr[CHUNK_STAMP_I32]!;
      stampWords[1] = hdr[CHUNK_STAMP_I32 + 1]!;
      stamp = stampScratch[0]!;
      done = hdr[CHUNK_DONE]!;
    } else {
      stamp = reader.stamp === reader.stamp ? reader.stamp : now;
      done = 0;
      stampScratch[0] = stamp;
      hdr[CHUNK_R0] = r0;
      hdr[CHUNK_STAMP_I32] = stampWords[0]!;
      hdr[CHUNK_STAMP_I32 + 1] = stampWords[1]!;
      hdr[CHUNK_DONE] = 0;
      hdr[CHUNK_K] = k;
    }
    // The values, grouped by series in the order first seen, each series' in ring order. Read
    // in ring order, the ring's lines come one after another (in the collector the producer's
    // core has just written them); applyGroup then reads its series' values in a run, where it
    // had read them from the ring through their positions, one line's transfer after another.
    const values = reader.values;
    const grouped = this.groupValues;
    let pos = 0;
    for (let j = 0; j < d; j++) {
      const id = distinct[j]!;
      const c = counts[id]!;
      counts[id] = pos;
      pos += c;
    }
    scatter(ids, values, mask, r0, k, counts, grouped);
    this.rawFirst(distinct, d, done, stamp);
    // A beat between blocks of 1,024 groups, between their commits (here and in rawFirst): a
    // chunk of up to 32,768 new series faults in pages for each (raw slots, hot line, bucket
    // rows), and at 10,000 of them on a loaded machine that ran 300-700 ms without a beat,
    // which the watchdog took for a hang.
    let from = 0;
    for (let j0 = 0; j0 < d; j0 += BEAT_GROUPS) {
      if (j0 > 0) this.beat();
      const j1 = j0 + BEAT_GROUPS < d ? j0 + BEAT_GROUPS : d;
      for (let j = j0; j < j1; j++) {
        const id = distinct[j]!;
        const to = counts[id]!;
        counts[id] = 0;
        if (to > done) this.applyGroup(reader, id, from > done ? from : done, to, stamp, now);
        from = to;
      }
    }
    // Counted in the straight-line stores that end the chunk (a kill cannot fall between
    // them), the whole chunk: a successor that finished it had its predecessor's commits in it.
    reader.r = (r0 + k) | 0;
    hdr[APPLIED] = reader.r;
    hdr[CHUNK_K] = 0;
    reader.counted[0]! += k;
    this.grouped = pos - done;
    return k;
  }

  /** The grouping's buffers for chunks of `slots`: the next power of two, at least twice their size. */
  protected growGroups(slots: number): void {
    let size = this.groupValues.length * 2;
    while (size < slots) size *= 2;
    this.groupIds = new Int32Array(size);
    this.groupValues = new Float64Array(size);
  }

  /** The raw slots of the chunk's small groups, before any is committed (raw-first.ts). */
  protected rawFirst(distinct: Int32Array, d: number, done: number, stamp: number): void {
    for (let j0 = 0; j0 < d; j0 += BEAT_GROUPS) {
      if (j0 > 0) this.beat();
      writeRawFirst(this.rawRings, this.groupValues, distinct, j0, j0 + BEAT_GROUPS < d ? j0 + BEAT_GROUPS : d, this.groupCounts, done, stamp, this.rawWritten);
    }
  }

  /** A time mark (the samples after it take its time; NaN: back to drain time) or a corrupt id (counted, skipped). */
  protected special(reader: RingReader, id: number): void {
    const at = reader.r & reader.mask;
    if (id === TIME_MARK) reader.stamp = reader.values[at]!;
    else this.counters.badSamples++;
    reader.r = (reader.r + 1) | 0;
    reader.hdr[APPLIED] = reader.r;
  }

  /** Applies the samples of one series, its grouped values [from..to): those rawFirst() wrote the raw slots of, or part by part. */
  protected applyGroup(reader: RingReader, id: number, from: number, to: number, stamp: number, now: number): void {
    if (this.rawWritten[id] !== 0) this.applyWritten(reader, id, from, to, now);
    else this.applyParts(reader, id, from, to, stamp, now);
  }

  /**
   * Applies the samples of one series, its grouped values [from..to), in parts of at
   * most binEvery less the samples not yet binned, so that its raw ring never overwrites a
   * sample its sketch has not counted; each part ends in its commit.
   */
  protected applyParts(reader: RingReader, id: number, from: number, to: number, stamp: number, now: number): void {
    const values = this.groupValues;
    const hdr = reader.hdr;
    const hot = this.hot;
    const hotI32 = this.hotI32;
    const f = this.f64;
    const hb = id * HOT_F64;
    const hi = hb * 2;
    this.ready(id, now);
    let count = hot[hb + OPEN_COUNT]!;
    let sum = hot[hb + OPEN_SUM]!;
    let min = hot[hb + OPEN_MIN]!;
    let max = hot[hb + OPEN_MAX]!;
    let last = hot[hb + OPEN_LAST]!;
    let written = hotI32[hi + RAW_WRITTEN]!;
    let binned = hotI32[hi + RAW_BINNED]!;
    const raw = id * this.layout.slotF64 + this.layout.rawOffsetF64;
    const rawMask = this.layout.rawCap - 1;
    const binEvery = this.binEvery;
    let i = from;
    for (;;) {
      if (((written - binned) | 0) >= binEvery) {
        this.binTail(id);
        binned = written;
      }
      if (i >= to) break;
      let end = i + binEvery - ((written - binned) | 0);
      if (end > to) end = to;
      // Readers drop what they copied from slots up to RAW_AHEAD: it is set before the slots are.
      const ahead = (written + end - i) | 0;
      if (((ahead - hotI32[hi + RAW_AHEAD]!) | 0) > 0) hotI32[hi + RAW_AHEAD] = ahead;
      for (; i < end; i++) {
        const v = values[i]!;
        const slot = raw + 2 * (written & rawMask);
        f[slot] = stamp;
        f[slot + 1] = v;
        written = (written + 1) | 0;
        count++;
        sum += v;
        if (v < min) min = v;
        if (v > max) max = v;
        last = v;
      }
      // The commit: straight-line stores, all or none of them.
      hot[hb + OPEN_COUNT] = count;
      hot[hb + OPEN_SUM] = sum;
      hot[hb + OPEN_MIN] = min;
      hot[hb + OPEN_MAX] = max;
      hot[hb + OPEN_LAST] = last;
      hotI32[hi + RAW_WRITTEN] = written;
      hdr[CHUNK_DONE] = end;
    }
    this.touch(id);
  }

  /** Readies the open bucket of `id` for data: one that ended and that the sweep has not reached yet closes first, and an empty one opens. */
  protected ready(id: number, now: number): void {
    const hot = this.hot;
    const hb = id * HOT_F64;
    if (hot[hb + OPEN_START]! < this.bucketStart && hot[hb + OPEN_COUNT]! > 0) this.close(id, id * this.layout.slotF64);
    if (hot[hb + OPEN_COUNT] === 0) this.open(id, now);
  }

  /**
   * applyParts() for a group whose raw slots rawFirst() wrote: in one part (rawFirst takes no
   * group that would pass binEvery), the sums and the commit.
   */
  protected applyWritten(reader: RingReader, id: number, from: number, to: number, now: number): void {
    const values = this.groupValues;
    const hot = this.hot;
    const hotI32 = this.hotI32;
    const hb = id * HOT_F64;
    const hi = hb * 2;
    this.rawWritten[id] = 0;
    this.ready(id, now);
    let count = hot[hb + OPEN_COUNT]!;
    let sum = hot[hb + OPEN_SUM]!;
    let min = hot[hb + OPEN_MIN]!;
    let max = hot[hb + OPEN_MAX]!;
    let last = hot[hb + OPEN_LAST]!;
    for (let i = from; i < to; i++) {
      const v = values[i]!;
      count++;
      sum += v;
      if (v < min) min = v;
      if (v > max) max = v;
      last = v;
    }
    const written = (hotI32[hi + RAW_WRITTEN]! + to - from) | 0;
    // The commit: straight-line stores, all or none of them.
    hot[hb + OPEN_COUNT] = count;
    hot[hb + OPEN_SUM] = sum;
    hot[hb + OPEN_MIN] = min;
    hot[hb + OPEN_MAX] = max;
    hot[hb + OPEN_LAST] = last;
    hotI32[hi + RAW_WRITTEN] = written;
    reader.hdr[CHUNK_DONE] = to;
    this.touch(id);
  }
}
