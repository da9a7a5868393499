/**
 * How long the oldest sample waiting in a ring has waited. A ring holds no times (a sample
 * is a series id and a value), so the consumer notes, at each pass, the write index it finds
 * published and when; the oldest pending sample is then known to have been published by the
 * first mark past the read index. Measured from the last pass alone, as before, a collector
 * busy with a backlog of ~240,000 samples read a lag of 0 (it had just passed).
 *
 * One instance per ring, used by its consumer only. Indices wrap as the ring's do (compare
 * with `(a - b) | 0`). At most MARKS marks are kept: past it the newest mark is moved
 * forward instead of a new one added, which keeps the older time (the lag can only read
 * longer, never shorter, than the truth).
 */
import { CLOCK, PENDING_SINCE, QUIET_AT, RUNG_AT, type ControlViews } from './control.js';

const MARKS = 64;

export class PendingClock {
  private readonly writes = new Int32Array(MARKS);
  private readonly times = new Float64Array(MARKS);
  private head = 0;
  private n = 0;

  /** Whether no published sample is waiting as far as the marks know. */
  get empty(): boolean {
    return this.n === 0;
  }

  /** The ring's write index was `write` at time `t` (before a drain). */
  see(write: number, t: number): void {
    if (this.n > 0) {
      const last = (this.head + this.n - 1) % MARKS;
      if (this.writes[last] === write) return;
      if (this.n === MARKS) {
        this.writes[last] = write;
        return;
      }
    }
    const at = (this.head + this.n) % MARKS;
    this.writes[at] = write;
    this.times[at] = t;
    this.n++;
  }

  /** The consumer has read up to `read`: forgets what it passed. */
  consumed(read: number): void {
    while (this.n > 0 && ((this.writes[this.head]! - read) | 0) <= 0) {
      this.head = (this.head + 1) % MARKS;
      this.n--;
    }
  }

  /** When the oldest sample still waiting was first seen published, or NaN when none waits. */
  oldest(): number {
    return this.n > 0 ? this.times[this.head]! : Number.NaN;
  }
}

/**
 * The collector's lag as status() reports it, with `pending` samples waiting in the rings:
 * since the collector first saw the oldest of them (PENDING_SINCE), or, for samples published
 * after its last pass, since that pass (or the doorbell or quiet publish that announced
 * them): a stuck collector's lag grows with the wait. 0 when nothing waits.
 */
export function collectorLag(ctl: ControlViews, now: number, pending: number): number {
  if (pending === 0) return 0;
  const seen = ctl.f64[PENDING_SINCE]!;
  if (seen > 0) return Math.max(0, now - seen);
  const pass = ctl.f64[CLOCK]!;
  const rung = ctl.f64[RUNG_AT]!;
  const quiet = ctl.f64[QUIET_AT]!;
  const known = Math.min(rung > pass ? rung : Infinity, quiet > pass ? quiet : Infinity);
  return Math.max(0, now - (known === Infinity ? pass : known));
}
