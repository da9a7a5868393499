/**
 * OTLP/HTTP metrics encoding: the series of a SeriesSource as an ExportMetricsServiceRequest,
 * serialized by the official OpenTelemetry serializers (@opentelemetry/otlp-transformer, the
 * Node-20 line), protobuf or JSON. A gauge is a Gauge, a counter a monotonic cumulative Sum,
 * a distribution a cumulative explicit-bounds Histogram with the bounds /metrics uses (its
 * last bucket holds what lies above the last bound, and the samples whose sketch was gone
 * before it was read, so the buckets add up to the count as OTLP requires). The resource
 * carries service.name (the job) and service.instance.id (the instance).
 *
 * The serializer reads the SDK's in-memory model (ResourceMetrics): one data point object
 * per series per export, whose attributes are the series' own tag object (not copied);
 * nothing is allocated per recorded sample. An export with more than `maxPoints` points, or
 * whose points would pass MAX_OTLP_REQUEST_BYTES by pointBytes()'s estimate, is cut into
 * several requests.
 *
 * At the monitor's stop every series exported gets a point with no value, flagged
 * FLAG_NO_RECORDED_VALUE: OTLP's stale marker (the data model's "no recorded value"), as
 * remote_write sends Prometheus's, so that a receiver (the collector's Prometheus exporters,
 * a backend's lookback) ends the series at once rather than repeat its last value. The
 * official serializers have no flags: those points are encoded through otlp-proto.ts. So does
 * a series exported before that an export no longer walks (a hub's forgotten member's), once,
 * in that export, after its points (sent-series.ts).
 */
import { ValueType, type HrTime } from '@opentelemetry/api';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { AggregationTemporality, DataPointType, type DataPoint, type Histogram, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { SeriesSource, WalkFamily } from '../analysis/series-walk.js';
import type { MetricUnit } from '../engine/metrics.js';
import type { Batch } from './batch.js';
import type { SeriesIdentity } from './remote-write.js';
import { ExportMetricsServiceRequest, FLAG_NO_RECORDED_VALUE, TEMPORALITY_CUMULATIVE, keyValues } from './otlp-proto.js';
import { hrTime, unixNano } from './otlp-time.js';
import { SentSeries } from './sent-series.js';

export type OtlpEncoding = 'protobuf' | 'json';

export const OTLP_CONTENT_TYPES: Record<OtlpEncoding, string> = { protobuf: 'application/x-protobuf', json: 'application/json' };

/** Our units in UCUM, as OpenTelemetry's semantic conventions spell them. */
const UCUM: Record<MetricUnit, string> = { '': '', ms: 'ms', bytes: 'By', percent: '%', ratio: '1', count: '{count}', requests: '{request}', samples: '{sample}', bytes_per_second: 'By/s', seconds: 's' };

/**
 * A request is cut before its points' estimated bytes (pointBytes) pass this, whatever
 * maxPoints allows: long tags (maxTags 64 of maxTagValueLength 4,096) made 5,000 points
 * gigabytes, where the OpenTelemetry collector refuses a body past 20 MiB
 * (max_request_body_size) and Prometheus's OTLP receiver past 32 MiB. At the default tags and
 * bounds, 5,000 histogram points are about 5 MB by the estimate (1.6 MB of protobuf, 2.7 MB
 * of JSON): the cut is by maxPoints there, as before.
 */
export const MAX_OTLP_REQUEST_BYTES = 8 * 1024 * 1024;

/**
 * A point's bytes in a request, JSON or protobuf, on the high side: every attribute's JSON
 * around it and 3 bytes a UTF-16 unit of its name and value (the most UTF-8 takes), the
 * point's times and value, and a histogram's bounds and counts (each point carries them).
 */
export function pointBytes(tags: Readonly<Record<string, string>>, bounds: number | undefined): number {
  let bytes = 128;
  for (const k in tags) bytes += 48 + 3 * (k.length + tags[k]!.length);
  return bounds === undefined ? bytes : bytes + 48 * (bounds + 1);
}

/** A series exported: its family and tags, its point's bytes (pointBytes), and the export that last walked it. */
interface Exported {
  family: WalkFamily;
  tags: Record<string, string>;
  bytes: number;
  seen: number;
}

export class OtlpEncoder {
  private readonly source: SeriesSource;
  private readonly encoding: OtlpEncoding;
  private readonly maxPoints: number;
  private readonly startTime: HrTime;
  private readonly resource: ResourceMetrics['resource'];
  private readonly scope = { name: 'perfwatch' };
  private readonly identity: SeriesIdentity;
  private readonly startedAt: number;
  /** Each series exported (those that get a stale marker). */
  private readonly exported = new SentSeries<Exported>();
  private readonly maxBytes: number;

  /** `startedAt`: when the cumulative counts began (the monitor's first start). */
  /** `maxBytes`: MAX_OTLP_REQUEST_BYTES but in tests. */
  constructor(source: SeriesSource, identity: SeriesIdentity, encoding: OtlpEncoding, maxPoints: number, startedAt: number, maxBytes = MAX_OTLP_REQUEST_BYTES) {
    this.source = source;
    this.maxBytes = maxBytes;
    this.encoding = encoding;
    this.maxPoints = maxPoints;
    this.startTime = hrTime(startedAt);
    this.startedAt = startedAt;
    this.identity = identity;
    // The serializer reads a resource's attributes (and schemaUrl) only.
    this.resource = { attributes: { 'service.name': identity.job, 'service.instance.id': identity.instance } } as unknown as ResourceMetrics['resource'];
  }

  /** Every series with data as requests of at most maxPoints points, each given as it is made (the caller may let its thread go between them); `stopped`: the monitor's last export (SeriesSource). */
  *encode(now: number, stopped = false): Generator<Batch, void, undefined> {
    const endTime = hrTime(now);
    let metrics: MetricData[] = [];
    let points = 0;
    let bytes = 0;
    let current: MetricData | undefined;
    let currentFamily: WalkFamily | undefined;
    const nb = this.source.bounds.length;
    const boundaries = this.source.bounds as number[];
    const round = this.exported.begin();
    for (const p of this.source.points(stopped)) {
      const family = p.family;
      const exported = this.exported.walk(p.id, round, () => ({ family, tags: p.tags, bytes: pointBytes(p.tags, p.hist === undefined ? undefined : nb), seen: 0 }));
      // The point is read whole before a request is given: another walk may refill it then.
      const h = p.hist;
      let point: DataPoint<number> | DataPoint<Histogram>;
      if (h === undefined) {
        point = { startTime: this.startTime, endTime, attributes: p.tags, value: p.value };
      } else {
        const counts = new Array<number>(nb + 1);
        let below = 0;
        for (let i = 0; i < nb; i++) {
          counts[i] = h.bins[i]!;
          below += h.bins[i]!;
        }
        counts[nb] = h.count - below;
        point = { startTime: this.startTime, endTime, attributes: p.tags, value: { buckets: { boundaries, counts }, sum: h.sum, count: h.count } };
      }
      // A request ends before the point that would pass maxPoints or maxBytes.
      if (points > 0 && (points >= this.maxPoints || bytes + exported.bytes > this.maxBytes)) {
        yield this.finish(metrics, points, now);
        metrics = [];
        points = 0;
        bytes = 0;
        current = undefined;
      }
      if (current === undefined || currentFamily !== family) {
        currentFamily = family;
        current = this.metric(family);
        metrics.push(current);
      }
      (current.dataPoints as (DataPoint<number> | DataPoint<Histogram>)[]).push(point);
      bytes += exported.bytes;
      points++;
    }
    if (points > 0) yield this.finish(metrics, points, now);
    // Series exported before and not walked now end here.
    yield* this.staleOf(this.exported.gone(round), now);
  }

  /**
   * A point with no value (FLAG_NO_RECORDED_VALUE) at `at` for every series exported so far,
   * as requests of at most maxPoints points, each given as it is made.
   */
  *encodeStale(at: number): Generator<Batch, void, undefined> {
    yield* this.staleOf(this.exported.byId, at);
  }

  /** A point with no value at `at` for each of `series`, as requests of at most maxPoints points, each given as it is made. */
  private *staleOf(series: Iterable<Exported | undefined>, at: number): Generator<Batch, void, undefined> {
    const startTimeUnixNano = unixNano(this.startedAt);
    const timeUnixNano = unixNano(at);
    let metrics: Record<string, unknown>[] = [];
    let points = 0;
    // A stale point has no value: its estimate (its value's or histogram's) is on the high side.
    let bytes = 0;
    let current: { family: WalkFamily; points: unknown[] } | undefined;
    for (const s of series) {
      if (s === undefined) continue;
      if (points > 0 && (points >= this.maxPoints || bytes + s.bytes > this.maxBytes)) {
        yield this.finishStale(metrics, points, at);
        metrics = [];
        points = 0;
        bytes = 0;
        current = undefined;
      }
      if (current === undefined || current.family !== s.family) {
        current = { family: s.family, points: [] };
        metrics.push(this.staleMetric(s.family, current.points));
      }
      current.points.push({ attributes: keyValues(s.tags), startTimeUnixNano, timeUnixNano, flags: FLAG_NO_RECORDED_VALUE });
      bytes += s.bytes;
      points++;
    }
    if (points > 0) yield this.finishStale(metrics, points, at);
  }

  private staleMetric(f: WalkFamily, dataPoints: unknown[]): Record<string, unknown> {
    const base = { name: f.name, description: f.help, unit: UCUM[f.unit] };
    if (f.kind === 'gauge') return { ...base, gauge: { dataPoints } };
    if (f.kind === 'counter') return { ...base, sum: { dataPoints, aggregationTemporality: TEMPORALITY_CUMULATIVE, isMonotonic: true } };
    return { ...base, histogram: { dataPoints, aggregationTemporality: TEMPORALITY_CUMULATIVE } };
  }

  private finishStale(metrics: Record<string, unknown>[], points: number, at: number): Batch {
    const message = ExportMetricsServiceRequest.fromObject({
      resourceMetrics: [{ resource: { attributes: keyValues({ 'service.name': this.identity.job, 'service.instance.id': this.identity.instance }) }, scopeMetrics: [{ scope: this.scope, metrics }] }],
    });
    const body = this.encoding === 'json' ? new TextEncoder().encode(JSON.stringify(ExportMetricsServiceRequest.toObject(message, { longs: String }))) : ExportMetricsServiceRequest.encode(message).finish();
    return { body, samples: points, at };
  }

  private metric(f: WalkFamily): MetricData {
    const descriptor = { name: f.name, description: f.help, unit: UCUM[f.unit], valueType: ValueType.DOUBLE };
    if (f.kind === 'gauge') return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE, dataPoints: [] };
    if (f.kind === 'counter') return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: true, dataPoints: [] };
    return { descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.HISTOGRAM, dataPoints: [] };
  }

  private finish(metrics: MetricData[], points: number, at: number): Batch {
    const request: ResourceMetrics = { resource: this.resource, scopeMetrics: [{ scope: this.scope, metrics }] };
    const serializer = this.encoding === 'json' ? JsonMetricsSerializer : ProtobufMetricsSerializer;
    const body = serializer.serializeRequest(request);
    if (body === undefined) throw new Error('the OTLP serializer returned nothing');
    return { body, samples: points, at };
  }
}
