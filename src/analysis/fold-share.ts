/**
 * The histograms a walk has folded (series-walk.ts), kept in shared memory so that they
 * outlive the thread that folded them. A walk folds each distribution's closed buckets from
 * the store's ring of them; a walk begun anew (a successor of an exporter actor the watchdog
 * replaced, the exporter of a monitor's next start(), the /metrics worker a scrape started
 * after one died) could read back only what the ring still held, and put the samples older
 * than it in `+Inf` alone: every pushed bucket but `+Inf` went down, a counter reset to
 * Prometheus in each `_bucket` series (a false spike in rate(), the buckets short of the count
 * for good after it; in a trial, 3,020 of 14,750 samples of 5 ms read as above 16,000 ms after
 * a stop() and start() of a monitor that ran past its 2-minute ring, until 2026-12-07). From
 * here, a new walk takes each series' fold up where the one before left it.
 *
 * Per series id, two copies of the state (next record, count, sum, a count per bound and
 * `+Inf`'s) and the number of copies written: a state is written into the copy not in use,
 * then that number moves on, so a thread terminated mid-write leaves the copy before it whole.
 * One walk writes at a time (an actor's successor, or the next /metrics worker, starts once
 * the one before is gone).
 */
/** A series' fold, as series-walk.ts's HistogramState holds it. */
export interface FoldState {
  next: number;
  count: number;
  sum: number;
  bins: Float64Array;
}

/** next, count, sum: then the bins. */
const HEAD = 3;

/** f64s of one series' slot: the writes counted, then two copies of its state. */
function slotLength(bounds: number): number {
  return 1 + 2 * (HEAD + bounds + 1);
}

/** Bytes of the shared folds of `seriesCapacity` series ids with histograms of `bounds` bounds. */
export function foldShareBytes(seriesCapacity: number, bounds: number): number {
  return 8 * seriesCapacity * slotLength(bounds);
}

export class FoldShare {
  private readonly f64: Float64Array;
  private readonly slot: number;
  private readonly copy: number;

  /** `bounds`: the walk's bounds, `+Inf` not counted (as foldShareBytes was given them). */
  constructor(buffer: SharedArrayBuffer, bounds: number) {
    this.f64 = new Float64Array(buffer);
    this.slot = slotLength(bounds);
    this.copy = HEAD + bounds + 1;
  }

  /** Fills `st` with the fold a walk before this one left for series `id`; false when none did (or the id is past the buffer). */
  restore(id: number, st: FoldState): boolean {
    const at = id * this.slot;
    const written = at + this.slot <= this.f64.length ? this.f64[at]! : 0;
    if (written === 0) return false;
    const from = at + 1 + (written % 2) * this.copy;
    st.next = this.f64[from]!;
    st.count = this.f64[from + 1]!;
    st.sum = this.f64[from + 2]!;
    st.bins.set(this.f64.subarray(from + HEAD, from + this.copy));
    return true;
  }

  /** Keeps `st` as series `id`'s fold, for a walk after this one. */
  save(id: number, st: FoldState): void {
    const at = id * this.slot;
    if (at + this.slot > this.f64.length) return;
    const written = this.f64[at]!;
    const to = at + 1 + ((written + 1) % 2) * this.copy;
    this.f64[to] = st.next;
    this.f64[to + 1] = st.count;
    this.f64[to + 2] = st.sum;
    this.f64.set(st.bins, to + HEAD);
    this.f64[at] = written + 1;
  }
}
