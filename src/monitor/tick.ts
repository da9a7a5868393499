/**
 * The monitor's work on the host's main thread, once a second just before the collector's
 * bucket boundary: runtime samples (every interval), the ingestion rate, the drop report
 * (every interval), and now and then the collector's info for status(). The runtime samples
 * are published without waking the collector: it wakes for the boundary a few ms later
 * anyway, and an idle monitor then costs one collector wake-up per interval (a tick that ran
 * past the boundary rings instead). The time of that publish tells the collector how long
 * they waited (monitor_collector_lag). Supervision is not here: the watchdog thread does it,
 * so a busy or blocked main thread delays nothing.
 */
import type { CollectorApi, CollectorInfo } from '../actors/protocols.js';
import type { Supervisor } from '../actors/supervisor.js';
import { CLOCK_OFFSET, CLOCK_STEPS, INGESTED, QUIET_AT, type ControlViews } from '../engine/control.js';
import { lastFreeze } from '../engine/freeze-watch.js';
import { monitorNow } from '../engine/monitor-clock.js';
import type { RingWriter } from '../engine/ring.js';
import type { OverheadGovernor } from '../overhead/governor.js';
import { dropsText, type DropWatch } from './drops.js';
import type { Faults } from './faults.js';
import type { RuntimeSampler } from './runtime.js';
import { ringStatuses } from './status.js';
import { clearTimeout, monoNow, setTimeout, wallNow } from '../engine/real-timers.js';

const TICK_MS = 1_000;
/** The tick runs this long before each whole second, where bucket boundaries fall. */
const TICK_LEAD_MS = 15;
/** The collector's info is asked for every this many ticks. */
const INFO_EVERY = 5;

function nextTickDelay(now: number): number {
  const delay = TICK_MS - (now % TICK_MS) - TICK_LEAD_MS;
  return delay > TICK_MS / 4 ? delay : delay + TICK_MS;
}

/** True past the few ms before a whole second where a tick on time runs (timers may fire a ms early). */
function lateForBoundary(now: number): boolean {
  return now % TICK_MS < TICK_MS - TICK_LEAD_MS - 2;
}

export interface TickDeps {
  intervalMs: number;
  ctl: ControlViews;
  /** The main thread's ring. */
  mainWriter: RingWriter;
  runtime: RuntimeSampler | undefined;
  faults: Faults;
  drops: DropWatch;
  /** What to do about drops under the options in effect (drops.ts, dropAdvice). */
  dropAdvice(): string;
  collector: Supervisor<CollectorApi>;
  overhead: OverheadGovernor;
  /** The main thread's ring, then those of producer() handles. */
  rings(): SharedArrayBuffer[];
  running(): boolean;
  emit(event: string, ...args: unknown[]): void;
  /** Takes the series producer() threads refused (their count is shared), so that the fault comes without a look at status, and records the refusals in monitor_series_refused. */
  seriesRefusals(): void;
  /** The monitor's clock (monitorNow of ctl); a test gives its own, the global Date being out of the tick's reach. */
  now?: () => number;
}

export class Tick {
  private readonly deps: TickDeps;
  private timer: NodeJS.Timeout | undefined;
  private nextRuntimeSample = 0;
  private nextDropCheck = 0;
  /** Steps back of the wall clock already reported (CLOCK_STEPS). */
  private clockSteps = 0;
  /** The end of the last stop of the whole process already reported (FROZEN_TO). */
  private stoppedTo = 0;
  private count = 0;
  private rate = { at: 0, ingested: 0, perSecond: 0 };
  private info: CollectorInfo | undefined;

  constructor(deps: TickDeps) {
    this.deps = deps;
  }

  /** Samples per second over the last few seconds. */
  get ratePerSecond(): number {
    return this.rate.perSecond;
  }

  /** The collector's info as last asked for, undefined before the first answer. */
  get collectorInfo(): CollectorInfo | undefined {
    return this.info;
  }

  /** Starts ticking on a running monitor: the first tick now. */
  start(): void {
    const now = (this.deps.now?.() ?? monitorNow(this.deps.ctl));
    this.rate = { at: now, ingested: this.deps.ctl.f64[INGESTED]!, perSecond: 0 };
    this.nextRuntimeSample = 0;
    this.nextDropCheck = now + this.deps.intervalMs;
    // A stop found in an earlier run (a stop() and a start() since) was said then.
    this.stoppedTo = Math.max(this.stoppedTo, lastFreeze(this.deps.ctl)?.to ?? 0);
    this.onTick();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The next tick samples the runtime (after a pause ends). */
  sampleRuntimeNext(): void {
    this.nextRuntimeSample = 0;
  }

  private onTick(): void {
    if (!this.deps.running()) return;
    const busyFrom = monoNow();
    // The monitor's clock, the one its buckets close by (engine/monitor-clock.ts).
    const now = (this.deps.now?.() ?? monitorNow(this.deps.ctl));
    this.timer = setTimeout(() => this.onTick(), nextTickDelay(now));
    this.timer.unref();
    this.deps.faults.guard('tick', () => this.work(now));
    this.deps.overhead.mainBusy(monoNow() - busyFrom);
  }

  private work(now: number): void {
    const { ctl, mainWriter, runtime, faults, collector } = this.deps;
    if (runtime && now >= this.nextRuntimeSample) {
      this.nextRuntimeSample = now + this.deps.intervalMs - TICK_MS / 2;
      // A tick that ran late, past the boundary it leads, missed the collector's wake-up
      // for it: it rings, or the samples would wait for the next one (up to a second).
      const quiet = mainWriter.unpublished() === 0 && !lateForBoundary(now);
      faults.guard('runtime-sample', () => runtime.sample());
      if (quiet) ctl.f64[QUIET_AT] = now;
      mainWriter.publish(!quiet);
    }
    const ingested = ctl.f64[INGESTED]!;
    if (now - this.rate.at >= 2_000) {
      this.rate = { at: now, ingested, perSecond: ((ingested - this.rate.ingested) * 1000) / (now - this.rate.at) };
    }
    if (now >= this.nextDropCheck) {
      this.nextDropCheck = now + this.deps.intervalMs - TICK_MS / 2;
      this.deps.seriesRefusals();
      const report = this.deps.drops.check(ringStatuses(this.deps.rings()), now, ingested);
      if (report) {
        this.deps.emit('drops', report);
        // Counted by interval with drops, warned once: the samples are lost, and the event alone
        // reached no one who had not listened for it. Not a monitor_faults sample: monitor_dropped
        // counts them, and the sample would go into the ring that is full.
        faults.report('samples-dropped', new Error(`${dropsText(report)}: ${this.deps.dropAdvice()}`), false);
      }
    }
    const steps = ctl.f64[CLOCK_STEPS]!;
    if (steps > this.clockSteps) {
      // Found by the collector (engine/monitor-clock.ts): said once a step, as a fault, since every time the monitor gives is now ahead of the wall clock.
      this.clockSteps = steps;
      const ahead = Math.round(ctl.f64[CLOCK_OFFSET]!);
      faults.report('clock-step', new Error(`the wall clock stepped back (NTP, date -s, a restored VM), or is behind the data the runs before wrote to the dataDir; the monitor's clock goes on from where it was and now runs ${ahead} ms ahead of Date.now() (status().clock) until a step forward of the wall clock pays it back: ask for ranges from monitor.now()`));
    }
    const stop = lastFreeze(ctl);
    if (stop && stop.to > this.stoppedTo) {
      // Found by the collector (engine/freeze-watch.ts): said once a stop, so that a gap in every
      // series and the rules' silence over it read as what they were, not as the monitor's loss.
      this.stoppedTo = stop.to;
      faults.report('process-stopped', new Error(`the whole process was stopped for ${((stop.to - stop.from) / 1000).toFixed(1)} s (SIGSTOP, a VM or container suspended, a debugger's pause), from ${new Date(stop.from).toISOString()} to ${new Date(stop.to).toISOString()} in the monitor's clock: nobody watched that span, so rules and rates judge the time around it and the event-loop lag leaves it out`));
    }
    if (collector.state === 'running' && this.count++ % INFO_EVERY === 0) {
      collector
        .call((c) => c.info())
        .then((info) => {
          this.info = info;
        })
        .catch(() => {});
    }
  }
}
