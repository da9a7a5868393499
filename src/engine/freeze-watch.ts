/**
 * A stop of the whole process, as the collector finds it: SIGSTOP and SIGCONT, a VM or laptop
 * suspended, a container frozen by its orchestrator (`docker pause`), a debugger's pause. Every
 * thread stops, the host's and the monitor's alike, so nobody watched that span: no sample was
 * taken and none could have been. Judged as watched, the buckets of the gap were empty, and on
 * SIGCONT after a 60 s stop every `count(jobs[5s]) < 1` and `rate(jobs[5s]) < 40` rule fired
 * with value 0 and resolved within a second, a notification pair per rule per stop.
 *
 * The collector tells a stop from a slow round the way the watchdog does (actors/watchdog.ts):
 * its thread neither ran nor waited for a CPU (Linux's schedstat) over a span longer than it
 * asked to sleep. Since a baseline it reads at most once a second, the time that is neither its
 * CPU time, its wait for a CPU nor the sleeps it asked for is time it was stopped; past
 * FREEZE_MS, the span from its last reading to now is written to FROZEN_FROM and FROZEN_TO
 * (control.ts) in the monitor's clock, under the seqlock FROZEN_SEQ. Readers (analysis/watched.ts,
 * afterFreeze) count it as a gap in the run, as between a stop() and a start(). Off Linux (no
 * schedstat) nothing is found, and the gap counts as watched, as before.
 *
 * One writer, the collector; a successor resumes from the cells (only the last stop is kept:
 * the main thread and the alert actor split their runs at each one they read).
 */
import { FROZEN_FROM, FROZEN_SEQ, FROZEN_SINCE, FROZEN_TO, type ControlViews } from './control.js';
import { ownThreadId, threadCpuMs, threadWaitMs } from './thread-cpu.js';
import { processHrtime } from './real-timers.js';

/** Time (ms) a thread neither ran, waited for a CPU nor slept by its own asking, past which the process was stopped. */
export const FREEZE_MS = 2_000;
/** How often the baseline is read (ms of the monotonic clock), so that the check costs two reads of /proc a second at most. */
const BASELINE_MS = 1_000;

/** The clocks the watch reads (tests stand in for them). */
export interface FreezeSources {
  mono(): number;
  cpuMs(): number;
  waitMs(): number;
}

function processMono(): number {
  const [s, ns] = processHrtime();
  return s * 1e3 + ns / 1e6;
}

export function systemFreezeSources(): FreezeSources {
  const tid = ownThreadId();
  return { mono: processMono, cpuMs: threadCpuMs, waitMs: () => threadWaitMs(tid) };
}

/** A stop found: [from, to) in the monitor's clock; it began at `since` at the earliest (see()). */
export interface Freeze {
  from: number;
  to: number;
  since: number;
}

export class FreezeWatch {
  private baseMono: number;
  private baseCpu: number;
  private baseWait: number;
  /** Sleeps asked for since the baseline (ms). */
  private slept = 0;
  private lastMono: number;
  private lastT = Number.NaN;

  constructor(
    private readonly ctl: ControlViews,
    private readonly sources: FreezeSources = systemFreezeSources(),
  ) {
    this.lastMono = this.baseMono = sources.mono();
    this.baseCpu = sources.cpuMs();
    this.baseWait = sources.waitMs();
  }

  /** The thread asks to sleep up to `ms`. */
  sleeping(ms: number): void {
    this.slept += ms;
  }

  /**
   * A reading of the monitor's clock `t` in the collector's loop. Returns the stop it found
   * ending now ([from, to) in the monitor's clock, written to the control block), or undefined.
   * `from` is where it began at the latest: the thread counts a sleep it asked for as slept,
   * and a stop that began in it was longer by up to that sleep (a second at most), so `since`,
   * its last reading before, is where it began at the earliest.
   */
  see(t: number): Freeze | undefined {
    const mono = this.sources.mono();
    const since = mono - this.lastMono;
    const lastT = this.lastT;
    this.lastMono = mono;
    this.lastT = t;
    let found: Freeze | undefined;
    // A gap longer than all it slept since the baseline could hold a stop: read the thread's times.
    if (since > FREEZE_MS && mono - this.baseMono - this.slept > FREEZE_MS) {
      const cpu = this.sources.cpuMs();
      const wait = this.sources.waitMs();
      const stopped = mono - this.baseMono - this.slept - (cpu - this.baseCpu) - (wait - this.baseWait);
      if (stopped > FREEZE_MS && lastT === lastT) {
        found = { from: Math.max(lastT, t - stopped), to: t, since: lastT };
        const { i32, f64 } = this.ctl;
        Atomics.add(i32, FROZEN_SEQ, 1);
        f64[FROZEN_FROM] = found.from;
        f64[FROZEN_TO] = found.to;
        f64[FROZEN_SINCE] = found.since;
        Atomics.add(i32, FROZEN_SEQ, 1);
      }
      this.rebase(mono, cpu, wait);
    } else if (mono - this.baseMono >= BASELINE_MS) this.rebase(mono, this.sources.cpuMs(), this.sources.waitMs());
    return found;
  }

  private rebase(mono: number, cpu: number, wait: number): void {
    this.baseMono = mono;
    this.baseCpu = cpu;
    this.baseWait = wait;
    this.slept = 0;
  }
}

/** The last stop of the process the collector found ([from, to) in the monitor's clock), or undefined for none (or a torn read). */
export function lastFreeze(ctl: ControlViews): Freeze | undefined {
  const { i32, f64 } = ctl;
  const seq = Atomics.load(i32, FROZEN_SEQ);
  if (seq === 0 || seq % 2 !== 0) return undefined;
  const from = f64[FROZEN_FROM]!;
  const to = f64[FROZEN_TO]!;
  const since = f64[FROZEN_SINCE]!;
  if (Atomics.load(i32, FROZEN_SEQ) !== seq || !(to > from)) return undefined;
  return { from, to, since: Math.min(since, from) };
}
