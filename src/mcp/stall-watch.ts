/**
 * Answers whose client has stopped reading. The SDK writes an answer or an SSE stream into the
 * response as the socket drains (honouring backpressure), and keeps what is still to write in
 * memory meanwhile: a client that stops reading (a process stopped, a host gone without a FIN)
 * held its answer there, and its session busy, for as long as its connection stayed open, which
 * with the kernel ACKing for a stopped process is for good. A response that has waited for its
 * socket to drain for `stallMs` has its connection closed, which ends its request (its session
 * idle again) and lets the SDK drop what it held.
 *
 * Main thread only; one timer for every response watched, a check every quarter of stallMs.
 */
import type { ServerResponse } from 'node:http';
import { clearInterval, setInterval, wallNow } from '../engine/real-timers.js';

interface Watched {
  /** When the response was first seen waiting for its socket to drain, since it last drained. */
  since: number | undefined;
}

export class StallWatch {
  private readonly watched = new Map<ServerResponse, Watched>();
  private readonly timer: NodeJS.Timeout;
  private closed = 0;

  constructor(private readonly stallMs: number) {
    this.timer = setInterval(() => this.check(), Math.min(5_000, Math.max(25, stallMs / 4)));
    this.timer.unref();
  }

  /** Responses closed because their client left written bytes unread for stallMs. */
  get stalled(): number {
    return this.closed;
  }

  watch(res: ServerResponse): void {
    const entry: Watched = { since: undefined };
    this.watched.set(res, entry);
    // A drain between two checks is progress: a client that reads slowly but reads is not stalled.
    res.on('drain', () => (entry.since = undefined));
    res.once('close', () => this.watched.delete(res));
  }

  close(): void {
    clearInterval(this.timer);
    this.watched.clear();
  }

  private check(now = wallNow()): void {
    for (const [res, entry] of this.watched) {
      if (!res.writableNeedDrain) {
        entry.since = undefined;
        continue;
      }
      entry.since ??= now;
      if (now - entry.since < this.stallMs) continue;
      this.watched.delete(res);
      this.closed++;
      res.destroy();
    }
  }
}
