/**
 * The instrumentation's samples on their way to the ring, held for up to BATCH_MS. Recording
 * each request straight into the main thread's ring made the ring publish at the end of every
 * event-loop turn, and each publish that found the collector asleep woke it: under load, a
 * wake-up (an Atomics.notify, and the collector's pass) every few requests, the largest share
 * of instrument()'s cost in bench:instrument's profile. Held here, the samples reach the ring
 * together, a few hundred per wake-up. They land in the bucket of the moment they reach the
 * ring: at most BATCH_MS late, against 1 s buckets. Holds no timer while empty.
 */
import type { MetricHandle } from '../engine/producer.js';

export const BATCH_MS = 10;
const CAPACITY = 4_096;

export class SampleBatch {
  private readonly handles: (MetricHandle | undefined)[] = new Array(CAPACITY);
  private readonly values = new Float64Array(CAPACITY);
  private length = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly fault: (error: unknown) => void;
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.flush();
  };

  constructor(fault: (error: unknown) => void) {
    this.fault = fault;
  }

  add(handle: MetricHandle, value: number): void {
    const n = this.length;
    this.handles[n] = handle;
    this.values[n] = value;
    this.length = n + 1;
    if (n === 0) {
      this.timer = setTimeout(this.onTimer, BATCH_MS);
      this.timer.unref();
    } else if (n + 1 === CAPACITY) this.flush();
  }

  /** Records every held sample now (and on detach, before the monitor closes its ring). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const n = this.length;
    this.length = 0;
    for (let i = 0; i < n; i++) {
      try {
        this.handles[i]!.record(this.values[i]!);
      } catch (error) {
        this.fault(error);
      }
    }
  }
}
