/**
 * A call to an actor waits for its answer or the actor's exit, whichever comes first. It was
 * `Promise.race([call, exited])`, with `exited` a promise of the actor's that settles only
 * when it exits: each race left a reaction on `exited` until then, and the reaction holds the
 * race's promise and so the call's answer. A monitor that ran for days kept every answer its
 * actors ever gave (a soak with storage: every storage call holding its history read's
 * columns, and the collector's and exporter's answers beside them: 194 reactions
 * on the storage actor's `exited` after 5 minutes). Here a
 * call waits on an entry of its own, removed once the call is answered, and an exit fails
 * the calls waiting at that moment and every later one.
 */
export class ExitRace {
  private readonly waiting = new Set<(error: Error) => void>();
  private exitError: Error | undefined;

  /** `work`'s outcome, or the exit's error if the actor exits first (or has exited). */
  until<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.exitError) {
        work.catch(() => {});
        reject(this.exitError);
        return;
      }
      this.waiting.add(reject);
      work.then(
        (value) => {
          this.waiting.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          this.waiting.delete(reject);
          reject(error);
        },
      );
    });
  }

  /** The actor exited: every call waiting and every later one fails with `error`. */
  exit(error: Error): void {
    this.exitError ??= error;
    for (const reject of this.waiting) reject(error);
    this.waiting.clear();
  }
}
