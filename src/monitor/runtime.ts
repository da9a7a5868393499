/**
 * Node.js runtime metrics of the host process, measured on the thread they describe (the
 * main thread): event-loop delay (the lateness of a timer of the resolution's period, its p99
 * per interval), event-loop utilization, the time the main thread waited for a CPU (Linux's
 * schedstat: a loop late by that wait is late because the machine was busy, not because its
 * own code held it), GC pauses (from a PerformanceObserver, per pause, tagged by type), the
 * main isolate's heap (in bytes, and as a share of its limit) and the process's rss. A sample
 * costs some 15 microseconds per interval, most of it the read of schedstat (Linux).
 *
 * Its series are the monitor's own (Producer.ownMetric), so an application at its series
 * limit cannot make them fail; the GC observer's callback runs on its own in the host, so an
 * error in it is a fault of the monitor's (counted), never an exception in the host.
 */
import { PerformanceObserver, constants, createHistogram, type PerformanceEntry, performance, type EventLoopUtilization, type RecordableHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { heapLimit } from '../engine/heap-limit.js';
import { measured } from '../engine/precision.js';
import { CLOCK, type ControlViews } from '../engine/control.js';
import { FREEZE_MS, lastFreeze } from '../engine/freeze-watch.js';
import { ownThreadId, threadWaitMs } from '../engine/thread-cpu.js';
import type { Faults } from './faults.js';
import type { MetricHandle, Producer } from '../engine/producer.js';
import { clearInterval, monoNow, setInterval } from '../engine/real-timers.js';

/** Every name the runtime sampler writes: the monitor's own while it runs (engine/reserved.ts). */
export const RUNTIME_SERIES = ['event_loop_lag', 'event_loop_utilization', 'event_loop_cpu_wait', 'gc_pause', 'heap_used', 'heap_total', 'heap_usage', 'rss'] as const;

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

/**
 * A beat later than a stop the collector can find (engine/freeze-watch.ts) is held until the
 * collector has looked past its end, at most this many samples (a collector restarting, or
 * gone, never looks: the beat then counts whole).
 */
const HELD_SAMPLES = 3;
/** Beats held at most (a stop is one long beat; a loop blocked again and again settles each in a sample or three). */
const HELD_MOST = 8;

/** A beat late enough to hold a stop of the whole process: [from, to) in the monitor's clock, `ms` its time since the beat before. */
interface HeldBeat {
  from: number;
  to: number;
  ms: number;
  samples: number;
}

export class RuntimeSampler {
  private readonly producer: Producer;
  private readonly resolutionMs: number;
  private readonly faults: Faults;
  private delay: RecordableHistogram | undefined;
  private delayTimer: NodeJS.Timeout | undefined;
  /** When the delay timer last ran, or a sample took the delay pending since then (ms, performance.now()). */
  private lastBeat = 0;
  private gcObserver: PerformanceObserver | undefined;
  private elu: EventLoopUtilization | undefined;
  /** When the utilization's baseline (elu) was taken. */
  private eluFrom = 0;
  /** The monitor's own main-thread work since the last beat (ownWork()), not the service's delay. */
  private ownSinceBeat = 0;
  /** The same since the utilization's baseline: not the service's use of its loop. */
  private ownSinceElu = 0;
  /** The main thread's id (0 off Linux) and its time waiting for a CPU at the last sample (ms; NaN: unknown). */
  private mainTid = 0;
  private lastWait = Number.NaN;
  private readonly gcHandles = new Map<string, MetricHandle>();
  private handles: Record<'lag' | 'elu' | 'cpuWait' | 'heapUsed' | 'heapTotal' | 'heapUsage' | 'rss', MetricHandle> | undefined;
  /** Beats that may span a stop of the whole process, until the collector says whether one did (settleHeld()). */
  private held: HeldBeat[] = [];

  /**
   * `clock`: the control block and the monitor's clock, where the collector writes the stops
   * of the whole process it finds (SIGSTOP, a VM or container suspended): without it, a beat
   * across one counts whole.
   */
  constructor(
    producer: Producer,
    resolutionMs: number,
    faults: Faults,
    private readonly clock?: { ctl: ControlViews; now(): number },
  ) {
    this.producer = producer;
    this.resolutionMs = resolutionMs;
    this.faults = faults;
  }

  start(): void {
    const p = this.producer;
    this.handles ??= {
      lag: p.ownMetric('event_loop_lag'),
      elu: p.ownMetric('event_loop_utilization'),
      cpuWait: p.ownMetric('event_loop_cpu_wait'),
      heapUsed: p.ownMetric('heap_used'),
      heapTotal: p.ownMetric('heap_total'),
      heapUsage: p.ownMetric('heap_usage'),
      rss: p.ownMetric('rss'),
    };
    // The event-loop delay is timed here, not by monitorEventLoopDelay(): that histogram's
    // reset() also forgets when its timer last ran (Node's Histogram::Reset sets prev_ to 0),
    // so two delays went unrecorded: the one pending at the reset (a freeze that ended as the
    // tick sampled, in the same timers pass: its timer had no turn in between), and the
    // first one after it (a freeze that began right after the tick: the timer's first run
    // after a reset only notes the time). A 3 s freeze read as 1-10 ms in 8 of 14 runs. Here
    // the last beat's time survives the reset and a sample takes the delay pending since it
    // (sample()): every stretch of time lands in one interval's readings, in whatever order
    // the tick, this timer and the host's callbacks run. The tick's own lateness would not
    // do: a freeze that ends before the tick is due, or begins after it ran, leaves it on
    // time. The cost is the histogram's (a timer callback per resolution), plus a JS call in
    // it, a microsecond or so.
    this.delay = createHistogram();
    this.lastBeat = monoNow();
    this.ownSinceBeat = 0;
    this.ownSinceElu = 0;
    this.delayTimer = setInterval(() => this.beat(), this.resolutionMs);
    this.delayTimer.unref();
    this.elu = performance.eventLoopUtilization();
    this.eluFrom = monoNow();
    // start() runs on the main thread, whose id this is (the process id, on Linux).
    this.mainTid = ownThreadId();
    this.lastWait = threadWaitMs(this.mainTid);
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

  /**
   * `ms` of the monitor's own synchronous work just ran on this thread (a front's load and
   * start: monitor/front-stages.ts). The loop was held for it, and the service's timers were
   * late by it, but the lateness is perfwatch's, counted in status().overhead (frontsMs), not
   * the service's: the next beat leaves it out of its time since the last one, and the next
   * utilization out of the loop's active time. Synchronous work runs between two beats whole,
   * so the beat after it is the one that measured it.
   */
  ownWork(ms: number): void {
    if (!(ms > 0)) return;
    this.ownSinceBeat += ms;
    this.ownSinceElu += ms;
  }

  /**
   * The delay timer's callback: the time since the last beat, less the monitor's own work in
   * it, goes into the interval's histogram. A beat late by more than a stop the collector
   * finds is held (settleHeld()): after a 60 s SIGSTOP, the loop's lag read 59,979 ms, and
   * `max(event_loop_lag) > 1000` fired after every stop and resolved 5 s later, while the
   * service's loop had not been late at all.
   */
  private beat(): void {
    const now = monoNow();
    const ms = now - this.lastBeat - this.ownSinceBeat;
    if (ms > FREEZE_MS && this.clock && this.held.length < HELD_MOST) {
      const to = this.clock.now();
      this.held.push({ from: to - (now - this.lastBeat), to, ms, samples: 0 });
    } else this.delay?.record(Math.max(1, Math.round(ms * 1e6)));
    this.lastBeat = now;
    this.ownSinceBeat = 0;
  }

  /**
   * Held beats into the histogram, less the part of a stop of the whole process in them: no
   * thread ran then, the service's loop no more than the monitor's, so that time is not the
   * loop's lag (it is said as what it was: the `process-stopped` fault, tick.ts). The
   * collector finds a stop at its first round after it, which may come after this thread's
   * first beat: a beat is settled once the collector's heartbeat (CLOCK, written after its
   * look) is past its end, so a loop held by the service's own code for more than FREEZE_MS
   * reads its lag an interval later than it ended, in whole.
   */
  private settleHeld(): void {
    const { ctl } = this.clock!;
    const stop = lastFreeze(ctl);
    const looked = ctl.f64[CLOCK]!;
    const keep: HeldBeat[] = [];
    for (const b of this.held) {
      // From where the stop began at the earliest: the collector reads its start up to a
      // sleep of its own late, and the rest read as a lag of up to a second (932 ms after a 20 s stop).
      const stopped = stop ? Math.max(0, Math.min(b.to, stop.to) - Math.max(b.from, stop.since)) : 0;
      if (stopped === 0 && looked < b.to && ++b.samples < HELD_SAMPLES) keep.push(b);
      else this.delay?.record(Math.max(1, Math.round((b.ms - stopped) * 1e6)));
    }
    this.held = keep;
  }

  /** Records one reading of each gauge and the interval's event-loop delay. */
  sample(): void {
    const h = this.handles;
    if (!h || !this.delay || !this.elu) return;
    const now = monoNow();
    // A beat overdue now (the loop was held since the last one, and its timer has not run
    // yet) is this interval's: taken as if it ran now, and the timer's next beat counts from here.
    if (now - this.lastBeat > this.resolutionMs) this.beat();
    if (this.held.length > 0) this.settleHeld();
    // The histogram holds the times between beats, whose period is the resolution: the delay is the rest.
    if (this.delay.count > 0) h.lag.record(measured(Math.max(0, this.delay.percentile(99) / 1e6 - this.resolutionMs)));
    this.delay.reset();
    if (now - this.eluFrom >= MIN_ELU_SPAN_MS) {
      const elu = performance.eventLoopUtilization(this.elu);
      this.elu = performance.eventLoopUtilization();
      this.eluFrom = now;
      const total = elu.idle + elu.active;
      const own = Math.min(this.ownSinceElu, elu.active);
      this.ownSinceElu = 0;
      h.elu.record(measured(total > 0 ? (elu.active - own) / total : elu.utilization));
    }
    // The wait since the last sample: the same span as the lag's reading, so that the report
    // can tell a loop its own code held from one whose thread was ready and found no CPU free.
    const wait = threadWaitMs(this.mainTid);
    if (Number.isFinite(wait) && Number.isFinite(this.lastWait)) h.cpuWait.record(measured(Math.max(0, wait - this.lastWait)));
    this.lastWait = wait;
    const heap = getHeapStatistics();
    h.heapUsed.record(heap.used_heap_size);
    h.heapTotal.record(heap.total_heap_size);
    // The heap against its limit (--max-old-space-size, or V8's default), which a rule can
    // watch without knowing each service's flag: at 48.8 MB of a 64 MB limit only
    // memory_usage, the machine's 10%, said anything of memory.
    h.heapUsage.record((100 * heap.used_heap_size) / heapLimit(heap));
    h.rss.record(process.memoryUsage.rss());
  }

  stop(): void {
    clearInterval(this.delayTimer);
    this.delayTimer = undefined;
    this.delay = undefined;
    this.held = [];
    this.gcObserver?.disconnect();
    this.gcObserver = undefined;
  }
}
