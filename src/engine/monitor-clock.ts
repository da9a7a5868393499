/**
 * The monitor's clock: the wall clock (Date.now(), ms since the epoch), except that it never
 * goes back.
 *
 * Every time the monitor keeps is in this clock: the collector stamps samples and closes
 * buckets by it, the actors beat in it, readers ask for "the last minute" by it. The wall
 * clock alone can step back (NTP correcting a clock that ran ahead, `date -s`, a VM restored
 * from a snapshot); the collector then waited for the wall clock to reach its open bucket's
 * end again, and for as long as the step (two minutes in a trial with libfaketime) no bucket
 * closed: every metric, window rule and dashboard stood still.
 *
 * So the collector, which alone closes buckets, reads the wall clock through SteadyClock:
 * a reading behind its last one is a step back, and from there on the monitor's clock runs
 * that far ahead of the wall clock (CLOCK_OFFSET in the control block, which every thread adds
 * to Date.now() through monitorNow). A step forward first pays back what is ahead (the wall
 * clock set back by mistake, then put right: the monitor's clock goes on as if neither had
 * happened); past that it is time passing, as after a suspend, and the buckets in between stay
 * empty. Otherwise the offset is kept for the monitor's life (a monitor created anew starts on
 * the wall clock, or, on a database whose data reaches further, there: resumeClock);
 * status().clock says how far ahead it is, and a fault says when it grew.
 */
import { CLOCK, CLOCK_OFFSET, CLOCK_READ, CLOCK_READ_MONO, CLOCK_READ_SEQ, CLOCK_STEPS, CLOCK_STEPPED_AT, type ControlViews } from './control.js';
import { processHrtime, wallNow } from './real-timers.js';

/**
 * How far the wall clock may run ahead of the monotonic clock between two readings before it
 * counts as a step forward (NTP slews it by 0.5 ms a second at most).
 */
const FORWARD_STEP_MS = 1_000;

/** The monitor's clock now, in any thread that has the control block. */
export function monitorNow(ctl: ControlViews, sources: ClockSources = SYSTEM): number {
  const f64 = ctl.f64;
  const offset = f64[CLOCK_OFFSET]!;
  const t = sources.wall() + offset;
  const read = f64[CLOCK_READ]!;
  // At or past the collector's last reading, with nothing ahead to pay back or too little
  // wall time since it for a step forward: the wall clock plus the offset, as the collector
  // will read it.
  if (t >= read && (offset === 0 || t - read <= FORWARD_STEP_MS)) return t;
  return aheadOfTheCollector(ctl, sources, t, offset);
}

/**
 * A reading in another thread of a step the collector has not read yet: between a step of the
 * wall clock and the collector's next reading (up to one of its rounds), Date.now() plus the
 * offset was behind the monitor's clock after a step back and, after a step forward that pays
 * back what it ran ahead, ahead by the whole offset (120 s after a two-minute step put right),
 * then back again once the collector read it. The collector's reading goes on at the pace of
 * the monotonic clock, which all threads share, and the step is read as the collector will.
 */
function aheadOfTheCollector(ctl: ControlViews, sources: ClockSources, t: number, offset: number): number {
  const { i32, f64 } = ctl;
  let seq: number;
  let read: number;
  let readMono: number;
  let tries = 0;
  do {
    seq = Atomics.load(i32, CLOCK_READ_SEQ);
    read = f64[CLOCK_READ]!;
    readMono = f64[CLOCK_READ_MONO]!;
  } while ((seq % 2 !== 0 || seq !== Atomics.load(i32, CLOCK_READ_SEQ)) && ++tries < 100);
  if (read === 0) return t;
  const expected = read + Math.max(0, sources.mono() - readMono);
  if (t < read) return expected;
  if (offset > 0 && t - expected > FORWARD_STEP_MS) return t - Math.min(offset, t - expected);
  return t;
}

/**
 * A monitor starting on a database whose data reaches `until` (the runs before it, in their
 * monitor's clock: storage/stored-until.ts) begins its clock no earlier: called before the
 * collector starts, whose first reading then finds the wall clock behind its last beat and
 * runs ahead of it by the step, as after a step back within a process (a `clock-step` fault
 * says so). Returns the monitor's clock from then on.
 */
export function resumeClock(ctl: ControlViews, until: number): number {
  if (until > ctl.f64[CLOCK]!) ctl.f64[CLOCK] = until;
  return Math.max(monitorNow(ctl), until);
}

/** How far the monitor's clock runs ahead of the wall clock (ms; 0 unless the wall clock stepped back). */
export function clockOffset(ctl: ControlViews): number {
  return ctl.f64[CLOCK_OFFSET]!;
}

/** The wall clock and a monotonic one (tests step the wall clock). */
export interface ClockSources {
  wall(): number;
  mono(): number;
}

/** The monotonic clock of every thread of the process (CLOCK_MONOTONIC; performance.now() counts from each thread's start). */
function processMono(): number {
  const [s, ns] = processHrtime();
  return s * 1e3 + ns / 1e6;
}

const SYSTEM: ClockSources = { wall: wallNow, mono: processMono };

/**
 * The collector's reading of the monitor's clock, the one writer of CLOCK_OFFSET. A reading
 * behind the last one (its own, or for a collector that replaces another, the last beat in
 * CLOCK) resumes from the last reading at the pace of the monotonic clock, and the offset
 * grows by the step.
 */
export class SteadyClock {
  private lastT: number;
  private lastMono: number;

  constructor(
    private readonly ctl: ControlViews,
    private readonly sources: ClockSources = SYSTEM,
  ) {
    this.lastT = ctl.f64[CLOCK]!;
    this.lastMono = sources.mono();
  }

  now(): number {
    const mono = this.sources.mono();
    const offset = this.ctl.f64[CLOCK_OFFSET]!;
    let t = this.sources.wall() + offset;
    const expected = this.lastT + Math.max(0, mono - this.lastMono);
    if (t < this.lastT) {
      this.ctl.f64[CLOCK_OFFSET] = offset + (expected - t);
      this.ctl.f64[CLOCK_STEPS]! += 1;
      this.ctl.f64[CLOCK_STEPPED_AT] = expected;
      t = expected;
    } else if (offset > 0 && t - expected > FORWARD_STEP_MS) {
      const back = Math.min(offset, t - expected);
      this.ctl.f64[CLOCK_OFFSET] = offset - back;
      t -= back;
    }
    this.lastT = t;
    this.lastMono = mono;
    const { i32, f64 } = this.ctl;
    Atomics.add(i32, CLOCK_READ_SEQ, 1);
    f64[CLOCK_READ] = t;
    f64[CLOCK_READ_MONO] = mono;
    Atomics.add(i32, CLOCK_READ_SEQ, 1);
    return t;
  }
}
