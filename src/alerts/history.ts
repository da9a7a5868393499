/**
 * The alert history held in memory (getAlertHistory, status().alerts.historyLength): the
 * newest `limit` transitions, oldest first, exactly that many once that many were made.
 *
 * Cutting the oldest half whenever the array overflowed kept it amortised O(1) but held as few
 * as limit/2 (69 of 100 after 120 transitions, where a restart read back 100). Here the oldest
 * goes one at a time: its slot is cleared (the transition can be collected) and the start
 * moves on; the array is compacted once the cleared slots are half of it, which copies at most
 * the live half, so each transition costs O(1) amortised and the array holds at most twice
 * `limit` slots.
 */
export class TransitionHistory<T> {
  private items: (T | undefined)[] = [];
  /** Index of the oldest kept. */
  private start = 0;
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  get length(): number {
    return this.items.length - this.start;
  }

  push(t: T): void {
    this.items.push(t);
    if (this.length > this.limit) this.dropOldest(this.length - this.limit);
  }

  /** Older transitions (the database's, at a start) go before those held, the newest `limit` of all kept. */
  prepend(older: readonly T[]): void {
    this.items = [...older, ...this.items.slice(this.start)];
    this.start = 0;
    if (this.length > this.limit) this.dropOldest(this.length - this.limit);
  }

  /** Drops the oldest while `old` says so (a retention pass deleted them from the database). */
  dropWhile(old: (t: T) => boolean): void {
    let n = 0;
    while (n < this.length && old(this.items[this.start + n] as T)) n++;
    if (n > 0) this.dropOldest(n);
  }

  /** Those held, oldest first (a copy). */
  toArray(): T[] {
    return this.items.slice(this.start) as T[];
  }

  /** Those held that `keep` takes, oldest first. */
  filter(keep: (t: T) => boolean): T[] {
    const out: T[] = [];
    for (let i = this.start; i < this.items.length; i++) if (keep(this.items[i] as T)) out.push(this.items[i] as T);
    return out;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.start; i < this.items.length; i++) yield this.items[i] as T;
  }

  private dropOldest(n: number): void {
    for (let i = this.start; i < this.start + n; i++) this.items[i] = undefined;
    this.start += n;
    if (this.start * 2 >= this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
  }
}
