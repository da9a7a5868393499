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
 * nothing is allocated per recorded sample. An export with more than `maxPoints` points is
 * cut into several requests.
 */
import { ValueType, type HrTime } from '@opentelemetry/api';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { AggregationTemporality, DataPointType, type DataPoint, type Histogram, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { SeriesSource, WalkFamily } from '../analysis/series-walk.js';
import type { MetricUnit } from '../engine/metrics.js';
import type { Batch } from './batch.js';
import type { SeriesIdentity } from './remote-write.js';

export type OtlpEncoding = 'protobuf' | 'json';

export const OTLP_CONTENT_TYPES: Record<OtlpEncoding, string> = { protobuf: 'application/x-protobuf', json: 'application/json' };

/** Our units in UCUM, as OpenTelemetry's semantic conventions spell them. */
const UCUM: Record<MetricUnit, string> = { '': '', ms: 'ms', bytes: 'By', percent: '%', ratio: '1', count: '{count}', requests: '{request}', samples: '{sample}', bytes_per_second: 'By/s', seconds: 's' };

function hrTime(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}

export class OtlpEncoder {
  private readonly source: SeriesSource;
  private readonly encoding: OtlpEncoding;
  private readonly maxPoints: number;
  private readonly startTime: HrTime;
  private readonly resource: ResourceMetrics['resource'];
  private readonly scope = { name: 'perfwatch' };

  /** `startedAt`: when the cumulative counts began (the monitor's first start). */
  constructor(source: SeriesSource, identity: SeriesIdentity, encoding: OtlpEncoding, maxPoints: number, startedAt: number) {
    this.source = source;
    this.encoding = encoding;
    this.maxPoints = maxPoints;
    this.startTime = hrTime(startedAt);
    // The serializer reads a resource's attributes (and schemaUrl) only.
    this.resource = { attributes: { 'service.name': identity.job, 'service.instance.id': identity.instance } } as unknown as ResourceMetrics['resource'];
  }

  /** Every series with data as requests of at most maxPoints points, each given as it is made (the caller may let its thread go between them); `stopped`: the monitor's last export (SeriesSource). */
  *encode(now: number, stopped = false): Generator<Batch, void, undefined> {
    const endTime = hrTime(now);
    let metrics: MetricData[] = [];
    let points = 0;
    let current: MetricData | undefined;
    let currentFamily: WalkFamily | undefined;
    const nb = this.source.bounds.length;
    const boundaries = this.source.bounds as number[];
    for (const p of this.source.points(stopped)) {
      if (current === undefined || currentFamily !== p.family) {
        currentFamily = p.family;
        current = this.metric(p.family);
        metrics.push(current);
      }
      const h = p.hist;
      if (h === undefined) {
        (current.dataPoints as DataPoint<number>[]).push({ startTime: this.startTime, endTime, attributes: p.tags, value: p.value });
      } else {
        const counts = new Array<number>(nb + 1);
        let below = 0;
        for (let i = 0; i < nb; i++) {
          counts[i] = h.bins[i]!;
          below += h.bins[i]!;
        }
        counts[nb] = h.count - below;
        const value: Histogram = { buckets: { boundaries, counts }, sum: h.sum, count: h.count };
        (current.dataPoints as DataPoint<Histogram>[]).push({ startTime: this.startTime, endTime, attributes: p.tags, value });
      }
      // The point is read whole before a request is given: another walk may refill it then.
      if (++points >= this.maxPoints) {
        yield this.finish(metrics, points, now);
        metrics = [];
        points = 0;
        current = undefined;
      }
    }
    if (points > 0) yield this.finish(metrics, points, now);
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
