/**
 * The series an encoder has sent, by series id: each gets a stale marker at the monitor's stop,
 * and one an export no longer walks (a hub's forgotten member's: retired) gets its marker
 * once, in that export, and is let go then, so series gone long ago hold no memory. Each series
 * walked is stamped with the export's number; only an export that walked fewer series than are
 * held looks for the ones it missed. Shared by the remote_write and OTLP encoders.
 */
export class SentSeries<T extends { seen: number }> {
  /** Per series id, the series sent (undefined: never, or let go). */
  readonly byId: (T | undefined)[] = [];
  private held = 0;
  private exports = 0;
  private walked = 0;

  /** Starts an export: the stamp of the series it walks. */
  begin(): number {
    this.walked = 0;
    return ++this.exports;
  }

  /** The series of `id` walked by export `round`: the one sent before, else `make()`'s, now held. */
  walk(id: number, round: number, make: () => T): T {
    let s = this.byId[id];
    if (s === undefined) {
      s = this.byId[id] = make();
      this.held++;
    }
    s.seen = round;
    this.walked++;
    return s;
  }

  /** The series held that export `round` did not walk, each let go as it is given. */
  *gone(round: number): Generator<T, void, undefined> {
    if (this.walked >= this.held) return;
    for (let id = 0; id < this.byId.length; id++) {
      const s = this.byId[id];
      if (s === undefined || s.seen === round) continue;
      this.byId[id] = undefined;
      this.held--;
      yield s;
    }
  }
}
