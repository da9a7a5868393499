/**
 * The places of maxSeries held by series restored from the database at start (the stored
 * catalog, src/storage/restore.ts) and not recorded by this process since. A restored series
 * keeps its place until the monitor stops: ids are shared by every thread and written into the
 * rings and the store, so one cannot be handed to another series while the monitor runs. When
 * they make a live series refused, the refusal says how many they are (a trial: 300 of 1,000
 * places, and the error said only "reduce tag values"). Counted from the store's sample counts
 * (a series recorded since has one); at most once every RECOUNT_MS, as a refusal may come at
 * every record() of a hot loop, and the count only falls: a series recorded once stays so.
 */
import type { StoreReader } from '../engine/store/reader.js';

const RECOUNT_MS = 1_000;

export class RestoredPlaces {
  private ids: number[] = [];
  private countedAt = -Infinity;

  constructor(private readonly reader: StoreReader) {}

  /** The series a restore registered (added to those of an earlier attach). */
  add(ids: readonly number[]): void {
    this.ids.push(...ids);
    this.countedAt = -Infinity;
  }

  /** How many of them have no sample recorded by this process, read at most once every RECOUNT_MS of `now`. */
  unrecorded(now: number): number {
    if (now - this.countedAt >= RECOUNT_MS) {
      this.ids = this.ids.filter((id) => this.reader.totalCount(id) === 0);
      this.countedAt = now;
    }
    return this.ids.length;
  }

  /** What a refusal at maxSeries says of them, or undefined when none holds a place. */
  note(now: number, maxSeries: number): string | undefined {
    const n = this.unrecorded(now);
    if (n === 0) return undefined;
    return `${n.toLocaleString('en-US')} of the ${maxSeries.toLocaleString('en-US')} places are held by series restored from the database at start and not recorded since (an earlier run's, kept for their history until the monitor stops)`;
  }
}
