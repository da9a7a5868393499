/**
 * What the instrumentation needs of the monitor: bound handles on the main thread's ring,
 * the tag length limit, and a place to report its own errors. Kept narrow so that the
 * sources do not depend on the monitor (imports point monitor → features → engine).
 */
import type { MetricHandle } from '../engine/producer.js';
import type { Tags } from '../engine/registry.js';

export interface Recorder {
  metric(name: string, tags: Tags): MetricHandle;
  /** Handles of several series, registered all or none (Producer.metrics): a slot's series, so that one refused leaves none of them taking a place of maxSeries. */
  metrics(series: readonly { name: string; tags: Tags }[]): MetricHandle[];
  readonly maxTagValueLength: number;
  /** An error in a subscriber: counted (status().faults, monitor_faults), never thrown into the host. */
  fault(kind: string, error: unknown): void;
}

/** A source of instrumentation: subscribed while attached. */
export interface Source {
  attach(): void;
  detach(): void;
}
