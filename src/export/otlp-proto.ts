/**
 * The OTLP metrics request as protobufjs reflection, for what the official serializers
 * (@opentelemetry/otlp-transformer) cannot say: a data point's `flags`. The transformer
 * serializes the SDK's in-memory model, which has no flags, so a point marked
 * FLAG_NO_RECORDED_VALUE (a series that ended: OTLP's stale marker) is encoded here. The
 * subset of opentelemetry/proto/metrics/v1/metrics.proto, common.proto and resource.proto
 * (v1.5) such a point needs, with the field numbers of those files; field names in camelCase,
 * as OTLP/JSON spells them, and the temporality an integer, as OTLP/JSON requires.
 */
import protobuf from 'protobufjs';

/** DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK: the point has no value (the series ended). */
export const FLAG_NO_RECORDED_VALUE = 1;
/** AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE of the proto (the SDK's enum numbers it 1). */
export const TEMPORALITY_CUMULATIVE = 2;

const root = protobuf.Root.fromJSON({
  nested: {
    otlp: {
      nested: {
        ExportMetricsServiceRequest: { fields: { resourceMetrics: { rule: 'repeated', type: 'ResourceMetrics', id: 1 } } },
        ResourceMetrics: { fields: { resource: { type: 'Resource', id: 1 }, scopeMetrics: { rule: 'repeated', type: 'ScopeMetrics', id: 2 } } },
        Resource: { fields: { attributes: { rule: 'repeated', type: 'KeyValue', id: 1 } } },
        ScopeMetrics: { fields: { scope: { type: 'InstrumentationScope', id: 1 }, metrics: { rule: 'repeated', type: 'Metric', id: 2 } } },
        InstrumentationScope: { fields: { name: { type: 'string', id: 1 } } },
        KeyValue: { fields: { key: { type: 'string', id: 1 }, value: { type: 'AnyValue', id: 2 } } },
        AnyValue: { fields: { stringValue: { type: 'string', id: 1 } } },
        Metric: {
          fields: {
            name: { type: 'string', id: 1 },
            description: { type: 'string', id: 2 },
            unit: { type: 'string', id: 3 },
            gauge: { type: 'Gauge', id: 5 },
            sum: { type: 'Sum', id: 7 },
            histogram: { type: 'Histogram', id: 9 },
          },
        },
        Gauge: { fields: { dataPoints: { rule: 'repeated', type: 'NumberDataPoint', id: 1 } } },
        Sum: { fields: { dataPoints: { rule: 'repeated', type: 'NumberDataPoint', id: 1 }, aggregationTemporality: { type: 'int32', id: 2 }, isMonotonic: { type: 'bool', id: 3 } } },
        Histogram: { fields: { dataPoints: { rule: 'repeated', type: 'HistogramDataPoint', id: 1 }, aggregationTemporality: { type: 'int32', id: 2 } } },
        NumberDataPoint: {
          fields: {
            attributes: { rule: 'repeated', type: 'KeyValue', id: 7 },
            startTimeUnixNano: { type: 'fixed64', id: 2 },
            timeUnixNano: { type: 'fixed64', id: 3 },
            flags: { type: 'uint32', id: 8 },
          },
        },
        HistogramDataPoint: {
          fields: {
            attributes: { rule: 'repeated', type: 'KeyValue', id: 9 },
            startTimeUnixNano: { type: 'fixed64', id: 2 },
            timeUnixNano: { type: 'fixed64', id: 3 },
            count: { type: 'fixed64', id: 4 },
            flags: { type: 'uint32', id: 10 },
          },
        },
      },
    },
  },
});

export const ExportMetricsServiceRequest = root.lookupType('otlp.ExportMetricsServiceRequest');

/** Attributes as OTLP's KeyValue list of string values. */
export function keyValues(tags: Readonly<Record<string, string>>): { key: string; value: { stringValue: string } }[] {
  return Object.entries(tags).map(([key, stringValue]) => ({ key, value: { stringValue } }));
}
