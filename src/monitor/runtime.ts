/**
 * Node.js runtime metrics of the host process, measured on the thread they describe (the
 * main thread): event-loop delay (a libuv timer histogram, its p99 per interval), event-loop
 * utilization, GC pauses (from a PerformanceObserver, per pause, tagged by type), the main
 * isolate's heap and the process's rss. A sample costs a few microseconds per interval.
 *
 * Its series are the monitor's own (Producer.ownMetric), so an application at its series
 * limit cannot make them fail; the GC observer's callback runs on its own in the host, so an
 * error in it is a fault of the monitor's (counted), never an exception in the host.
 */
import { PerformanceObserver, constants, type PerformanceEntry, monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { measured } from '../engine/precision.js';
import type { Faults } from './faults.js';
import type { MetricHandle, Producer } from '../engine/producer.js';

/** Every name the runtime sampler writes: the monitor's own while it runs (engine/reserved.ts). */
export const RUNTIME_SERIES = ['event_loop_lag', 'event_loop_utilization', 'gc_pause', 'heap_used', 'heap_total', 'rss'] as const;

const GC_TYPES: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/**
 * A utilization over less time than this is no reading of the loop: the tick that start()
 * runs at once would measure the few microseconds of synchronous code since the sampler
 * started (1.0, an alert on event_loop_utilization at every start), a stop() just after a
 * tick the stop's own code. Such a sample leaves it to the next, which covers the span from
 * the same start; ticks on their schedule are 250 ms apart at least (tick.ts).
 */
const MIN_ELU_SPAN_MS = 100;

export class RuntimeSampler {
  private readonly producer: Producer;
  private readonly resolutionMs: number;
  private readonly faults: Faults;
  private delay: IntervalHistogram | undefined;
  private gcObserver: PerformanceObserver | undefined;
  private elu: EventLoopUtilization | undefined;
  /** When the utilization's baseline (elu) was taken. */
  private eluFrom = 0;
  private readonly gcHandles = new Map<string, MetricHandle>();
  private handles: Record<'lag' | 'elu' | 'heapUsed' | 'heapTotal' | 'rss', MetricHandle> | undefined;

  constructor(producer: Producer, resolutionMs: number, faults: Faults) {
    this.producer = producer;
    this.resolutionMs = resolutionMs;
    this.faults = faults;
  }

  start(): void {
    const p = this.producer;
    this.handles ??= {
      lag: p.ownMetric('event_loop_lag'),
      elu: p.ownMetric('event_loop_utilization'),
      heapUsed: p.ownMetric('heap_used'),
      heapTotal: p.ownMetric('heap_total'),
      rss: p.ownMetric('rss'),
    };
    this.delay = monitorEventLoopDelay({ resolution: this.resolutionMs });
    this.delay.enable();
    this.elu = performance.eventLoopUtilization();
    this.eluFrom = performance.now();
    this.gcObserver = new PerformanceObserver((list) => {
      if (this.gcObserver === undefined) return; // stopped between the pause and this callback
      this.faults.guard('gc-observer', () => {
        for (const entry of list.getEntries()) {
          const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1;
          const type = GC_TYPES[kind] ?? 'other';
          let h = this.gcHandles.get(type);
          if (h === undefined) {
            h = p.ownMetric('gc_pause', { type });
            this.gcHandles.set(type, h);
          }
          h.record(measured(entry.duration));
        }
      });
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
  }

  /** Records one reading of each gauge and the interval's event-loop delay. */
  sample(): void {
    const h = this.handles;
    if (!h || !this.delay || !this.elu) return;
    const now = performance.now();
    // The histogram times its own timer, whose period is the resolution: the delay is the rest.
    if (this.delay.count > 0) h.lag.record(measured(Math.max(0, this.delay.percentile(99) / 1e6 - this.resolutionMs)));
    this.delay.reset();
    if (now - this.eluFrom >= MIN_ELU_SPAN_MS) {
      const elu = performance.eventLoopUtilization(this.elu);
      this.elu = performance.eventLoopUtilization();
      this.eluFrom = now;
      h.elu.record(measured(elu.utilization));
    }
    const heap = getHeapStatistics();
    h.heapUsed.record(heap.used_heap_size);
    h.heapTotal.record(heap.total_heap_size);
    h.rss.record(process.memoryUsage.rss());
  }

  stop(): void {
    this.delay?.disable();
    this.delay = undefined;
    this.gcObserver?.disconnect();
    this.gcObserver = undefined;
  }
}
