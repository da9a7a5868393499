/**
 * The remote_write 1.0 WriteRequest, as protobufjs reflection: the subset of Prometheus'
 * prompb/remote.proto and prompb/types.proto (v2.42) that a sender fills, with the field
 * numbers and types of those files. Fields not sent (metadata, exemplars, native histograms)
 * are left out; a receiver reads what is there. The exporter writes these messages by hand
 * (prompb-wire.ts, from the types below); the reflection is the schema the tests decode
 * requests with and hold the hand-written bytes to (test/export-prompb-wire.test.ts).
 */
import protobuf from 'protobufjs';

const root = protobuf.Root.fromJSON({
  nested: {
    prometheus: {
      nested: {
        WriteRequest: { fields: { timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 } } },
        TimeSeries: {
          fields: {
            labels: { rule: 'repeated', type: 'Label', id: 1 },
            samples: { rule: 'repeated', type: 'Sample', id: 2 },
          },
        },
        Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        Sample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
      },
    },
  },
});

export const WriteRequest = root.lookupType('prometheus.WriteRequest');

export interface Label {
  name: string;
  value: string;
}

export interface Sample {
  value: number;
  /** ms since the epoch. */
  timestamp: number;
}

export interface TimeSeries {
  labels: Label[];
  samples: Sample[];
}
