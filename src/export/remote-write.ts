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
 * An export larger than `maxSamples` is cut into several requests. The label lists are built
 * once per series and reused: an export allocates the samples and the request, nothing per
 * label.
 *
 * At the monitor's stop every series pushed gets a stale marker: remote_write 1.0 says a
 * sender must send one when a series will no longer be appended to, and Prometheus then ends
 * the series at once, as it does a scraped target's that went away, where it would answer the
 * last value for its lookback (5 minutes) as if the stopped monitor still reported it.
 */
import snappy from 'snappyjs';
import type { SeriesPoint, SeriesSource } from '../analysis/series-walk.js';
import type { Batch } from './batch.js';
import { WriteRequest, type Label, type TimeSeries } from './prompb.js';

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

function byName(a: Label, b: Label): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export class RemoteWriteEncoder {
  private readonly source: SeriesSource;
  private readonly identity: SeriesIdentity;
  private readonly maxSamples: number;
  /** Per series id: the label lists of its output series (one, or the buckets, sum and count). */
  private readonly labelSets: (Label[][] | undefined)[] = [];
  private readonly le: string[];

  constructor(source: SeriesSource, identity: SeriesIdentity, maxSamples: number) {
    this.source = source;
    this.identity = identity;
    this.maxSamples = maxSamples;
    // Bounds are finite: String() spells them as /metrics does.
    this.le = [...source.bounds.map(String), '+Inf'];
  }

  /**
   * Every series with data, read now, as requests of at most maxSamples samples, each given
   * as it is made (the caller may let its thread go between them); `stopped`: the monitor's
   * last export (SeriesSource). A histogram's samples may end one request and begin the next.
   */
  *encode(now: number, stopped = false): Generator<Batch, void, undefined> {
    let series: TimeSeries[] = [];
    const push = (labels: Label[], value: number): void => {
      series.push({ labels, samples: [{ value, timestamp: now }] });
    };
    for (const p of this.source.points(stopped)) {
      // The point is read whole before a request is given: another walk may refill it then.
      const sets = this.labelSets[p.id] ?? this.labelsOf(p);
      const h = p.hist;
      if (h === undefined) {
        push(sets[0]!, p.value);
      } else {
        let cumulative = 0;
        const nb = this.le.length - 1;
        for (let i = 0; i < nb; i++) {
          cumulative += h.bins[i]!;
          push(sets[i]!, cumulative);
        }
        push(sets[nb]!, h.count);
        push(sets[nb + 1]!, h.sum);
        push(sets[nb + 2]!, h.count);
      }
      while (series.length >= this.maxSamples) {
        const rest = series.splice(this.maxSamples);
        yield this.finish(series, now);
        series = rest;
      }
    }
    if (series.length > 0) yield this.finish(series, now);
  }

  /** A stale marker at `at` for every series pushed so far, as requests of at most maxSamples samples, each given as it is made. */
  *encodeStale(at: number): Generator<Batch, void, undefined> {
    let series: TimeSeries[] = [];
    for (const sets of this.labelSets) {
      if (sets === undefined) continue;
      for (const labels of sets) {
        series.push({ labels, samples: [{ value: STALE_NAN, timestamp: at }] });
        if (series.length >= this.maxSamples) {
          yield this.finish(series, at);
          series = [];
        }
      }
    }
    if (series.length > 0) yield this.finish(series, at);
  }

  private finish(timeseries: TimeSeries[], at: number): Batch {
    const raw = WriteRequest.encode({ timeseries }).finish();
    return { body: snappy.compress(raw), samples: timeseries.length, at };
  }

  private labelsOf(p: SeriesPoint): Label[][] {
    const f = p.family;
    const base: Label[] = [];
    for (const name in p.tags) base.push({ name, value: p.tags[name]! });
    if (!('instance' in p.tags)) base.push({ name: 'instance', value: this.identity.instance });
    if (!('job' in p.tags)) base.push({ name: 'job', value: this.identity.job });
    const named = (name: string, extra?: Label): Label[] => [{ name: '__name__', value: name }, ...base, ...(extra ? [extra] : [])].sort(byName);
    const sets =
      f.kind === 'distribution'
        ? [...this.le.map((le) => named(`${f.prom}_bucket`, { name: 'le', value: le })), named(`${f.prom}_sum`), named(`${f.prom}_count`)]
        : [named(f.total)];
    this.labelSets[p.id] = sets;
    return sets;
  }
}
