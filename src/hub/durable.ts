/**
 * A hub's acknowledgements when its store goes to disk (storage 'sqlite'; docs/cluster.md).
 * With a memory store a hub acknowledges a batch once applied: a hub that restarts has
 * nothing and takes everything its members still hold. On disk that would count twice (a
 * batch flushed, then resent) or lose (a batch acknowledged, then gone before a flush), so:
 *
 * - the flushes are the hub's, between its applies: the storage actor does not flush on its
 *   own (StorageActorData.driven), and a flush waits for the applies in flight and holds the
 *   next ones while it reads the store (FlushGate), so what it writes is whole batches;
 * - each flush writes, in its transaction, every member's epoch and the highest seq applied
 *   (src/storage/hub-seqs.ts): the rows and the numbers that cover them commit together;
 * - a batch is acknowledged once a flush that holds it committed (the hub's `done`);
 * - a hub that starts reads the numbers back (`known`), and welcomes each member with them.
 *
 * A batch cut by a failed apply (its collector killed mid-way) has part of its rows in the
 * store and no number: the hub finishes it (the store goes on after the rows applied) before
 * a flush may run, and a flush is skipped while one stays cut (`blocked`).
 */
/** A member epoch's number: its highest seq applied (or, on disk, held by the rows). The monitor stores it with storage/hub-seqs.ts. */
export interface HubSeq {
  instance: string;
  epoch: string;
  acked: number;
}

/** What a durable hub needs of its storage. */
export interface SeqDisk {
  /** The numbers the disk holds. */
  load(): Promise<HubSeq[]>;
  /** A flush with `seqs` in its transaction (`last`: the open minutes as rows); resolves with whether it committed. */
  flush(seqs: HubSeq[], last: boolean): Promise<boolean>;
  /** The flush cadence (storageFlushMs). */
  flushMs: number;
}

/**
 * Applies and flushes kept apart: any number of applies at once, or one flush, never both.
 * One thread (the hub's); applies entered wait while a flush runs or waits to, a flush waits
 * for the applies in flight to leave. An apply in flight that waits for other members'
 * applies before it leaves (span(): a batch applied interval by interval, Hub.applyBatch)
 * lets new applies in past a waiting flush: held at the gate, they held it a grace.
 */
export class FlushGate {
  private inFlight = 0;
  /** Applies in flight between span() and unspan(): while any, the flush cannot start (inFlight > 0). */
  private spanning = 0;
  private flushing: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  async enter(): Promise<void> {
    while (this.flushing && this.spanning === 0) await this.flushing;
    this.inFlight++;
  }

  /** An apply entered that will wait for others' applies before it leaves; unspan() once it no longer does. */
  span(): void {
    this.spanning++;
  }

  unspan(): void {
    this.spanning--;
  }

  leave(): void {
    this.inFlight--;
    if (this.inFlight === 0) this.drained?.();
  }

  /** Runs `fn` with no apply in flight and none let in until it ends; one at a time. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.flushing) await this.flushing;
    let open!: () => void;
    this.flushing = new Promise((resolve) => (open = resolve));
    try {
      if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
      this.drained = null;
      return await fn();
    } finally {
      this.flushing = null;
      open();
    }
  }
}

export class DurableAcks {
  readonly gate = new FlushGate();
  private readonly disk: SeqDisk;
  /** Per member instance: its epoch and highest seq applied (loaded, then kept as batches apply). */
  private readonly numbers = new Map<string, HubSeq>();
  /** Per member instance: its epoch and highest seq a committed flush holds (loaded, then kept as flushes commit). */
  private readonly committed = new Map<string, HubSeq>();

  constructor(disk: SeqDisk) {
    this.disk = disk;
  }

  get flushMs(): number {
    return this.disk.flushMs;
  }

  async load(): Promise<void> {
    for (const s of await this.disk.load()) {
      this.numbers.set(s.instance, s);
      this.committed.set(s.instance, { ...s });
    }
  }

  /**
   * For a member epoch this hub has no record of (a start, or a member forgotten and back): the
   * highest seq applied, which the hub must not apply again, and the highest the disk holds,
   * which alone it may acknowledge (0: none). They differ for a member forgotten with batches
   * applied since the last flush: acknowledged at the next flush, not in its welcome.
   */
  known(instance: string, epoch: string): { applied: number; committed: number } {
    const s = this.numbers.get(instance);
    const c = this.committed.get(instance);
    return { applied: s?.epoch === epoch ? s.acked : 0, committed: c?.epoch === epoch ? c.acked : 0 };
  }

  /** A batch applied: call before the apply leaves the gate, so that no flush sees its rows without its number. */
  applied(instance: string, epoch: string, seq: number): void {
    this.numbers.set(instance, { instance, epoch, acked: seq });
  }

  /** Every member's numbers as they are now (a copy). */
  numbersNow(): HubSeq[] {
    return [...this.numbers.values()].map((s) => ({ ...s }));
  }

  /**
   * A flush between applies with the members' numbers that moved since the last commit,
   * unless `blocked()` (a batch cut); `done(seqs)` once it committed. Resolves with whether it
   * committed. Only those: the numbers of every member epoch ever seen stay (one may come
   * back), and with names that change at each restart (host:pid) each restart adds one, so
   * writing them all made every flush longer for as long as the file lived.
   */
  flush(last: boolean, blocked: () => boolean, done: (seqs: HubSeq[]) => void): Promise<boolean> {
    return this.gate.exclusive(async () => {
      if (blocked()) return false;
      const seqs = this.numbersNow().filter((s) => {
        const c = this.committed.get(s.instance);
        return c === undefined || c.epoch !== s.epoch || c.acked !== s.acked;
      });
      const ok = await this.disk.flush(seqs, last);
      if (ok) {
        for (const s of seqs) this.committed.set(s.instance, s);
        done(seqs);
      }
      return ok;
    });
  }
}
