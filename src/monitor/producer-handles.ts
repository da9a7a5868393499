/**
 * The producer() handles a monitor gave out, and how many it keeps. Each handle is
 * producerThreads rings (12.6 MB of address space at the defaults) that the collector drains
 * for as long as the monitor lives: a service that called producer() for each worker it
 * started, or each piscina task it ran, added a handle a call, for good (3,000 calls: 38 GB
 * of address space, 3 GB resident, the collector busy with 48,000 rings).
 *
 * Up to MAX_HANDLES each call gets rings of its own, as it always did (a handle per pool
 * keeps serving its pool's producerThreads threads). Past it, a call gets again a handle
 * with a ring free for one more thread: one of its rings held by no thread that still runs,
 * and a thread came for it (attachProducer) since it was last handed out, so no worker on its
 * way to it is left without a ring. A handle serves producerThreads threads at once, so 33
 * long-lived workers given a producer() each share the first handles' free rings. With none
 * such, the call is refused, naming the limit.
 */
import { CapacityError } from '../errors.js';
import { attachesOf, ringHeldByLiveThread } from '../engine/ring.js';

/** Handles of rings of their own; past it, producer() hands out one no thread needs any more. */
export const MAX_HANDLES = 32;

interface Given {
  rings: SharedArrayBuffer[];
  /** attachesOf(its first ring) when it was last handed out. */
  attachesAtHandout: number;
}

export class ProducerHandles {
  private readonly given: Given[] = [];

  /** Whether the next handle needs rings of its own (false: reuse() one). */
  get roomForNew(): boolean {
    return this.given.length < MAX_HANDLES;
  }

  /** Notes a handle of new rings, handed out now. */
  add(rings: SharedArrayBuffer[]): void {
    this.given.push({ rings, attachesAtHandout: attachesOf(rings[0]!) });
  }

  /**
   * The rings of a handle given out before with a ring free for one more thread, noted as
   * handed out again; throws CapacityError when every handle is in use.
   */
  reuse(producerThreads: number): SharedArrayBuffer[] {
    for (const g of this.given) {
      const attaches = attachesOf(g.rings[0]!);
      if (attaches === g.attachesAtHandout || g.rings.every(ringHeldByLiveThread)) continue;
      g.attachesAtHandout = attaches;
      return g.rings;
    }
    throw new CapacityError(
      'producer()',
      `handles are all in use: this monitor gave out ${MAX_HANDLES}, its limit, each with threads that still run on all of its rings or one it was given to that has not attached it yet; give one handle to every thread rather than one each (a handle serves producerThreads, ${producerThreads}, threads at a time, and the ring of a thread that ended goes to the next)`,
    );
  }
}
