/// <reference path="./snappyjs.d.ts" />
/**
 * Prometheus remote_write 1.0 encoding: the series of a SeriesSource as a protobuf
 * WriteRequest (prompb.ts), snappy block compressed. A gauge is `name`, a counter
 * `name_total`, a distribution `name_bucket{le}` (cumulative, `+Inf` equal to the count),
 * `name_sum` and `name_count`: the names and bounds /metrics shows. Every series carries
 * `instance` and `job` (a tag of the series' own of that name wins), its labels sorted by
 * name as the protocol requires; each series has one sample per export, stamped with the
 * time the series were read, so the samples of a series go out in time order as long as the
 * requests do (the sender keeps them in order).
 *
 * An export larger than `maxSamples` samples, or than MAX_REQUEST_BYTES of protobuf, is cut
 * into several requests. The labels of a series are encoded once, when it is first exported
 * (prompb-wire.ts): its tags with instance and job, sorted, and the bytes where `__name__` and
 * `le` go among them; an export copies those bytes and writes its samples into one buffer
 * reused from request to request, allocating nothing per series or sample (protobufjs's
 * objects made 100,000 histograms cost seconds of garbage collection an export).
 *
 * At the monitor's stop every series pushed gets a stale marker: remote_write 1.0 says a
 * sender must send one when a series will no longer be appended to, and Prometheus then ends
 * the series at once, as it does a scraped target's that went away, where it would answer the
 * last value for its lookback (5 minutes) as if the stopped monitor still reported it. So does
 * a series pushed before that an export no longer walks (a hub's forgotten member's), once, in
 * that export (sent-series.ts).
 *
 * A counter's series (a counter's `_total`, a histogram's `_bucket`, `_sum` and `_count`) goes
 * out the first time this process exports it with a sample of 0 before its first value: the
 * counts are this process's, from its start, and a process that restarted (a crash, a hub
 * whose members' backlog arrived at once) could resume above its last value before the
 * restart, a reset Prometheus could not see, so increase() and rate() lost the total before
 * it. The 0 is Prometheus's own mark of a counter's (re)start (created-timestamp zero
 * samples): at the monitor's first start for a series of the first export, else a millisecond
 * after the previous export, which did not have it yet; each after every sample of that
 * series before the restart, as a receiver requires. Only the first exporter of the monitor's
 * first start sends them (`resetFrom`): a successor actor's, or a later start's, counts go on.
 */
import snappy from 'snappyjs';
import type { SeriesPoint, SeriesSource, WalkFamily } from '../analysis/series-walk.js';
import type { Batch } from './batch.js';
import type { Label } from './prompb.js';
import { WireBuffer, encodeLabels, seriesLength } from './prompb-wire.js';
import { SentSeries } from './sent-series.js';

export interface SeriesIdentity {
  instance: string;
  job: string;
}

export const REMOTE_WRITE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Encoding': 'snappy',
  'Content-Type': 'application/x-protobuf',
  'X-Prometheus-Remote-Write-Version': '0.1.0',
};

/** Prometheus's stale marker: the one NaN whose bits (0x7ff0000000000002) say a series ended (value.StaleNaN). */
export const STALE_NAN = new Float64Array(new BigUint64Array([0x7ff0000000000002n]).buffer)[0]!;

/**
 * A request is cut once its protobuf (before snappy) would pass this, whatever maxSamples
 * allows: long tags (maxTags 64 of maxTagValueLength 4,096) made 5,000 samples hundreds of
 * megabytes, where receivers refuse a body past 32 MiB (Prometheus's remote-write
 * handler, VictoriaMetrics's -maxInsertRequestSize) and Prometheus's own sender stays near
 * 2,000 samples. At the default tags a request of 5,000 samples is well below it.
 */
export const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/**
 * How far before an export a counter's first 0 may go: Prometheus refuses (400, the whole
 * request) a sample more than an hour behind the newest it holds, so a first export long
 * after the monitor's start puts it no further back than this.
 */
export const RESET_LOOKBACK_MS = 30 * 60 * 1000;

/**
 * One series' labels on the wire: its tags with instance and job, sorted, encoded once; the
 * family's `__name__` labels go in at `nameAt`, a histogram bucket's `le` at `leAt` (byte
 * offsets into `base`: the names sort there).
 */
interface WireSeries {
  family: WalkFamily;
  base: Uint8Array;
  nameAt: number;
  leAt: number;
  /** The export that last walked it (SentSeries). */
  seen: number;
}

function byName(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export class RemoteWriteEncoder {
  private readonly source: SeriesSource;
  private readonly identity: SeriesIdentity;
  private readonly maxSamples: number;
  private readonly maxBytes: number;
  /** Each series pushed so far with its labels' bytes (those that get a stale marker). */
  private readonly wire = new SentSeries<WireSeries>();
  /** Per family, its `__name__` labels encoded: the name, or the buckets', sum's and count's. */
  private readonly names = new Map<WalkFamily, Uint8Array[]>();
  /** The `le` label of each bucket, encoded. */
  private readonly le: Uint8Array[];

  /** Per series id, whether this encoder has exported it (a counter's first export brings its 0). */
  private readonly exported: boolean[] = [];
  /** The previous export's time, ms (-1: none yet). */
  private previousMs = -1;

  /**
   * `maxBytes`: MAX_REQUEST_BYTES but in tests. `resetFrom`: when the counts began (the
   * monitor's first start), given to the first exporter of that start alone: each counter
   * series then goes out first with a sample of 0 (the file's comment).
   */
  constructor(
    source: SeriesSource,
    identity: SeriesIdentity,
    maxSamples: number,
    maxBytes = MAX_REQUEST_BYTES,
    private readonly resetFrom?: number,
  ) {
    this.source = source;
    this.identity = identity;
    this.maxSamples = maxSamples;
    this.maxBytes = maxBytes;
    // Bounds are finite: String() spells them as /metrics does.
    this.le = [...source.bounds.map(String), '+Inf'].map((value) => encodeLabels([{ name: 'le', value }]));
  }

  /**
   * Every series with data, read now, as requests of at most maxSamples samples and about
   * maxBytes, each given as it is made (the caller may let its thread go between them);
   * `stopped`: the monitor's last export (SeriesSource). A histogram's samples may end one
   * request and begin the next.
   */
  *encode(now: number, stopped = false): Generator<Batch, void, undefined> {
    // An int64 of ms: protobufjs dropped the fraction of a clock's reading too.
    const ms = Math.trunc(now);
    const request = new RequestWriter(this.maxSamples, this.maxBytes, now);
    // One point's sample values, read whole before a request may be given.
    const values = new Float64Array(this.le.length + 2);
    const round = this.wire.begin();
    // A counter's first 0: at the first start for the first export's series (at most
    // RESET_LOOKBACK_MS back, within what a receiver still appends), else just after the
    // previous export, which did not have the series; none if that is not before now.
    let zeroAt: number | undefined;
    if (this.resetFrom !== undefined) {
      const from = this.previousMs < 0 ? Math.max(Math.trunc(this.resetFrom), ms - RESET_LOOKBACK_MS) : this.previousMs + 1;
      if (from < ms) zeroAt = from;
    }
    this.previousMs = ms;
    for (const p of this.source.points(stopped)) {
      // The point is read whole before a request is given: another walk may refill it then.
      const w = this.wire.walk(p.id, round, () => this.wireOf(p));
      const first = this.exported[p.id] !== true;
      if (first) this.exported[p.id] = true;
      const reset = first && p.family.kind !== 'gauge' ? zeroAt : undefined;
      const h = p.hist;
      if (h === undefined) {
        values[0] = p.value;
      } else {
        let cumulative = 0;
        const nb = this.le.length - 1;
        for (let i = 0; i < nb; i++) {
          cumulative += h.bins[i]!;
          values[i] = cumulative;
        }
        values[nb] = h.count;
        values[nb + 1] = h.sum;
        values[nb + 2] = h.count;
      }
      const n = h === undefined ? 1 : this.le.length + 2;
      for (let i = 0; i < n; i++) {
        const full = this.add(request, w, i, values[i]!, ms, reset);
        if (full) yield full;
      }
    }
    // Series pushed before and not walked now end here, after the values of those that go on.
    yield* this.markStale(request, this.wire.gone(round), ms);
    if (request.samples > 0) yield request.finish();
  }

  /** A stale marker at `at` for every series pushed so far, as requests of at most maxSamples samples, each given as it is made. */
  *encodeStale(at: number): Generator<Batch, void, undefined> {
    const request = new RequestWriter(this.maxSamples, this.maxBytes, at);
    yield* this.markStale(request, this.wire.byId, Math.trunc(at));
    if (request.samples > 0) yield request.finish();
  }

  /** Writes a stale marker at `ms` for each of `series` (a histogram's buckets, sum and count) into `request`; gives each request filled. */
  private *markStale(request: RequestWriter, series: Iterable<WireSeries | undefined>, ms: number): Generator<Batch, void, undefined> {
    for (const w of series) {
      if (w === undefined) continue;
      const n = w.family.kind === 'distribution' ? this.le.length + 2 : 1;
      for (let i = 0; i < n; i++) {
        const full = this.add(request, w, i, STALE_NAN, ms);
        if (full) yield full;
      }
    }
  }

  /**
   * Writes output series `i` of `w` (a histogram's buckets, then sum and count) with its one
   * sample at `ms` (after a sample of 0 at `zeroAt` if given); the request made when the one
   * being written was full (cut before this series), else undefined.
   */
  private add(request: RequestWriter, w: WireSeries, i: number, value: number, ms: number, zeroAt?: number): Batch | undefined {
    const names = this.names.get(w.family)!;
    const bucket = w.family.kind === 'distribution' && i < this.le.length;
    const name = names[bucket ? 0 : w.family.kind === 'distribution' ? i - this.le.length + 1 : 0]!;
    const le = bucket ? this.le[i]! : undefined;
    const labels = w.base.length + name.length + (le?.length ?? 0);
    const made = request.room(seriesLength(labels, value, ms, zeroAt), zeroAt === undefined ? 1 : 2);
    const out = request.out;
    out.seriesStart(labels, value, ms, zeroAt);
    out.bytes(w.base, 0, w.nameAt);
    out.bytes(name);
    if (le === undefined) {
      out.bytes(w.base, w.nameAt);
    } else {
      out.bytes(w.base, w.nameAt, w.leAt);
      out.bytes(le);
      out.bytes(w.base, w.leAt);
    }
    if (zeroAt !== undefined) {
      out.sample(0, zeroAt);
      request.samples++;
    }
    out.sample(value, ms);
    request.samples++;
    return made;
  }

  private wireOf(p: SeriesPoint): WireSeries {
    const f = p.family;
    const base: Label[] = [];
    for (const name in p.tags) base.push({ name, value: p.tags[name]! });
    if (!('instance' in p.tags)) base.push({ name: 'instance', value: this.identity.instance });
    if (!('job' in p.tags)) base.push({ name: 'job', value: this.identity.job });
    base.sort(byName);
    // Where `__name__` and `le` sort among the tags (none is named so: the walk leaves out a
    // series with a reserved label), as byte offsets into the encoded list.
    const before = (name: string): number => encodeLabels(base.filter((l) => l.name < name)).length;
    const w: WireSeries = { family: f, base: encodeLabels(base), nameAt: before('__name__'), leAt: before('le'), seen: 0 };
    if (!this.names.has(f)) {
      const name = (value: string): Uint8Array => encodeLabels([{ name: '__name__', value }]);
      this.names.set(f, f.kind === 'distribution' ? [name(`${f.prom}_bucket`), name(`${f.prom}_sum`), name(`${f.prom}_count`)] : [name(f.total)]);
    }
    return w;
  }
}

/** The request being written, one export's (or its stale markers'): its buffer is reused from request to request. */
class RequestWriter {
  readonly out = new WireBuffer();
  samples = 0;

  /** `at`: when the series were read, every batch's time. */
  constructor(
    private readonly maxSamples: number,
    private readonly maxBytes: number,
    private readonly at: number,
  ) {}

  /**
   * Makes room for a series of `bytes` and `samples` (2 with a counter's first 0): the request
   * so far, given whole, when that series would not fit in it.
   */
  room(bytes: number, samples: number): Batch | undefined {
    if (this.samples === 0 || (this.samples + samples <= this.maxSamples && this.out.pos + bytes <= this.maxBytes)) return undefined;
    const made = this.finish();
    this.out.reset();
    this.samples = 0;
    return made;
  }

  finish(): Batch {
    // snappyjs writes into a buffer of its own: the body outlives the reused one.
    return { body: snappy.compress(this.out.view()), samples: this.samples, at: this.at };
  }
}
