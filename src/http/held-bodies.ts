/**
 * The bytes of /metrics bodies held for responses not yet finished, against a bound. A body
 * stays in memory until its client has read it (or gone): renders a format shares are one body
 * for every response that holds it, but each scrape after a render is done gets a body of its
 * own, so slow clients arriving one after another (a slow-loris on the metrics port, stuck
 * scrapers behind a proxy, up to maxConnections) each held up to maxMetricsBytes, counted
 * nowhere: 256 × 64 MiB = 16 GiB at the defaults. A new render is admitted only while the
 * bodies held, the renders in flight and its own body at most fit in the bound.
 */
import type { ServerResponse } from 'node:http';

/**
 * The bound, in bodies of maxMetricsBytes: a render in flight and a body being read of each
 * format (text and OpenMetrics), what a pair of Prometheus replicas scraping at different times
 * hold at once when they read at network speed. 256 MiB at the default bound (against 16 GiB
 * unbounded), the host's to spare beside the worker's own buffer; and it scales with
 * maxMetricsBytes, so a user whose bodies need more room gives it by raising that one option.
 */
export const HELD_BODIES = 4;

export interface HeldStats {
  /** Bytes of bodies held now for responses whose clients have not read them all (one shared body counts once). */
  held: number;
  /** The bound of `held` and the renders in flight (HELD_BODIES × maxMetricsBytes). */
  maxHeld: number;
  /** Scrapes answered 503 because a new render could have taken the bodies held past `maxHeld`. */
  refusedBusy: number;
}

export class HeldBodies {
  readonly limit: number;
  private readonly maxBody: number;
  /** Each body held, and how many unfinished responses hold it. */
  private readonly holders = new Map<Uint8Array, number>();
  private bytes = 0;
  refused = 0;

  /** `maxBody`: the most bytes a body takes (maxMetricsBytes). */
  constructor(maxBody: number) {
    this.maxBody = maxBody;
    this.limit = HELD_BODIES * maxBody;
  }

  get held(): number {
    return this.bytes;
  }

  /** Whether a new render fits beside the bodies held and the `rendering` renders in flight, each counted at its most. */
  admits(rendering: number): boolean {
    return this.bytes + (rendering + 1) * this.maxBody <= this.limit;
  }

  /** Counts `body` until `res` closes ('close' comes when it finished or its socket closed); `res` must not have closed yet. */
  hold(body: Uint8Array, res: ServerResponse): void {
    const n = this.holders.get(body) ?? 0;
    this.holders.set(body, n + 1);
    if (n === 0) this.bytes += body.byteLength;
    res.once('close', () => {
      const left = this.holders.get(body)! - 1;
      if (left > 0) {
        this.holders.set(body, left);
        return;
      }
      this.holders.delete(body);
      this.bytes -= body.byteLength;
    });
  }

  stats(): HeldStats {
    return { held: this.bytes, maxHeld: this.limit, refusedBusy: this.refused };
  }
}
