/**
 * The series slots' pages written so far, kept by the writer as it writes: the figure that
 * status()'s memory touched needs (usage.ts), without a walk of every series on the host's
 * main thread (12-19 ms at 100,000 series at each dashboard poll, get_monitoring_status and
 * overhead check of a service whose collector writes every second).
 *
 * A series' reach only grows (its samples ever, its bucket and rollup records ever), so the
 * pages it reached are a set that only grows too: a bit a page of the series buffer, set as
 * a write reaches it, and a count of the bits set; per series, how far each region (raw ring,
 * bucket ring, rollup ring) is counted, so that each write adds only what it grew by. A
 * record's page is counted as the writer publishes it (records()), a raw slot's as it commits
 * samples (sampled(), from the series' hot line, until its raw ring's reach is counted to the
 * ring's end), each while those lines are in cache; a series not counted yet (new, or after a
 * successor's start) is listed and read whole at the settle (settle()), which the writer runs
 * before it tells readers it wrote (the epochs); readers then read the count from the control
 * block (STORE_PAGES) in O(1). The same ranges as the walk (usage.ts, seriesRanges), so the
 * same figure (but for a hub's series: sampled()).
 *
 * What it costs the collector (bench:ingest's steady rows, 1M samples/s over 10,000 series,
 * the settle's own time, 2026-12-07): each region added from its front at every settle, and
 * every series listed and read at every pass it took samples in, 10-20 ms of CPU a second; with
 * the reach kept per series and counted where the writer has the lines at hand, under 1 ms.
 *
 * Crash safety: the set is this writer's own. A successor starts with none and lists every
 * series in its recover(), so a writer killed between a write and its settle leaves the count
 * short only until the next writer's start.
 */
import { BUCKET_F64, type StoreLayout } from './layout.js';
import { PAGE_BYTES } from './usage.js';

const BUCKET_BYTES = BUCKET_F64 * 8;

export class TouchedPages {
  private readonly bits: Uint32Array;
  private readonly listed: Uint8Array;
  private readonly ids: Int32Array;
  /** Per series, the bytes of its raw ring, bucket ring and rollup ring counted so far (0 for the raw ring: not counted yet, nor its header). */
  private readonly reached: Int32Array;
  /** Per series, 1 once its raw ring's reach is counted to the ring's end: samples then write no new page, and sampled() lists it no more. */
  private readonly rawFull: Uint8Array;
  private count = 0;
  private pages = 0;
  private readonly slot: number;
  private readonly rawAt: number;
  private readonly t1At: number;
  private readonly t2At: number;
  private readonly scratch = new Float64Array(3);

  constructor(private readonly layout: StoreLayout) {
    const pages = Math.ceil((layout.maxSeries * layout.slotBytes()) / PAGE_BYTES);
    this.bits = new Uint32Array((pages >>> 5) + 1);
    this.listed = new Uint8Array(layout.maxSeries);
    this.ids = new Int32Array(layout.maxSeries);
    this.reached = new Int32Array(layout.maxSeries * 3);
    this.rawFull = new Uint8Array(layout.maxSeries);
    this.slot = layout.slotBytes();
    this.rawAt = layout.rawOffsetF64 * 8;
    this.t1At = layout.t1OffsetF64 * 8;
    this.t2At = layout.t2OffsetF64 * 8;
  }

  /**
   * The writer applied samples to series `id`, whose raw slots written ever are now `written`
   * (RAW_WRITTEN, just stored: a cell of its hot line, in cache): the raw ring's pages they
   * reached counted now, or the series listed whole for the settle when it is not counted yet.
   * Its raw slots are its samples (the walk's `total`), but for a hub's series, which write one
   * slot a member bucket: there the walk counts a slot a sample, more than were written.
   */
  sampled(id: number, written: number): void {
    if (this.rawFull[id] !== 0) return;
    const k = id * 3;
    if (this.reached[k] === 0) return this.grew(id);
    const cap = this.layout.rawCap;
    const raw = (written >>> 0 < cap ? written >>> 0 : cap) * 16;
    this.region(id * this.slot + this.rawAt, k, raw);
    if (raw === cap * 16) this.rawFull[id] = 1;
  }

  /** Lists a series whose reach the next settle() reads whole (a successor's recovery, a series not counted yet). */
  grew(id: number): void {
    if (this.listed[id] !== 0) return;
    this.listed[id] = 1;
    this.ids[this.count++] = id;
  }

  /**
   * The writer published record `count` - 1 of tier `tier` (1: buckets, 2: rollups) of series
   * `id`: its page counted now, unless the series is not counted yet (then listed, read whole
   * at the settle, as the walk counts no record of a series without samples).
   */
  records(id: number, tier: 1 | 2, count: number): void {
    const k = id * 3;
    if (this.reached[k] === 0) return this.grew(id);
    const L = this.layout;
    if (tier === 1) this.region(id * this.slot + this.t1At, k + 1, Math.min(count, L.t1Cap) * BUCKET_BYTES);
    else this.region(id * this.slot + this.t2At, k + 2, Math.min(count, L.t2Cap) * BUCKET_BYTES);
  }

  /**
   * Adds the pages the listed series reached, read by `reach` (its samples ever, records of
   * tier 1 and 2 ever; `total` 0 for a series without data) with the writer between writes,
   * and returns the pages written so far.
   */
  settle(reach: (id: number, out: Float64Array) => void): number {
    const out = this.scratch;
    const L = this.layout;
    const r = this.reached;
    for (let i = 0; i < this.count; i++) {
      const id = this.ids[i]!;
      this.listed[id] = 0;
      reach(id, out);
      if (!(out[0]! > 0)) continue;
      const base = id * this.slot;
      const k = id * 3;
      if (r[k] === 0) this.add(base, this.rawAt);
      const raw = Math.min(out[0]!, L.rawCap) * 16;
      this.region(base + this.rawAt, k, raw);
      if (raw === L.rawCap * 16) this.rawFull[id] = 1;
      this.region(base + this.t1At, k + 1, Math.min(out[1]!, L.t1Cap) * BUCKET_BYTES);
      this.region(base + this.t2At, k + 2, Math.min(out[2]!, L.t2Cap) * BUCKET_BYTES);
    }
    this.count = 0;
    return this.pages;
  }

  /** A region at byte `at` whose reach is now `bytes`: the pages past what reached[k] counted. */
  private region(at: number, k: number, bytes: number): void {
    const was = this.reached[k]!;
    if (!(bytes > was)) return;
    this.add(at + was, bytes - was);
    this.reached[k] = bytes;
  }

  private add(from: number, length: number): void {
    if (length <= 0) return;
    const last = Math.floor((from + length - 1) / PAGE_BYTES);
    for (let p = Math.floor(from / PAGE_BYTES); p <= last; p++) {
      const bit = 1 << (p & 31);
      const w = p >>> 5;
      if ((this.bits[w]! & bit) === 0) {
        this.bits[w] = this.bits[w]! | bit;
        this.pages++;
      }
    }
  }
}
