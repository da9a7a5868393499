/**
 * How much of the host's main thread the MCP endpoint's calls may take: the answers (a status
 * with every section, metrics over 10,000 series, a history) are built on the host's main
 * thread, so clients calling in tight loops took it from the service (five looping clients cut
 * a 10 ms timer of the host's to half its rate, twenty to a fifth, its event-loop delay p99
 * from 13 to 220 ms). A request that carries calls runs only when fewer than
 * `maxCallsInProgress` of the endpoint's and fewer than `maxSessionCalls` of its session's
 * are in progress; others wait their turn, first come first served, for at most
 * `callQueueMs`, and at most `maxQueuedCalls` of them: past either, the request is answered
 * busy (HTTP 429 with Retry-After, a JSON-RPC error saying the limit and when to retry). A
 * call that ends hands its place on at the next turn of the event loop (setImmediate), so the
 * host's own I/O and timers run between two calls of the endpoint, however many wait.
 *
 * Notifications and responses (a client's answer to our ping, a cancellation) are never held:
 * they carry no call, and holding them would hold the calls they end.
 */
import { clearTimeout, setImmediate, setTimeout } from '../engine/real-timers.js';

/** What the gate reports (EndpointStatus.calls). */
export interface CallStats {
  inProgress: number;
  queued: number;
  limit: number;
  sessionLimit: number;
  maxQueued: number;
  queueMs: number;
  /** Requests answered busy since the server started: the queue full, or their wait over. */
  refusedBusy: number;
}

/** Why a request was not let through: the text of its busy answer. */
export interface Busy {
  message: string;
  retryAfterSeconds: number;
}

interface Waiter {
  key: string | undefined;
  grant: () => void;
  timer: NodeJS.Timeout;
}

export interface CallLimits {
  maxCallsInProgress: number;
  maxSessionCalls: number;
  maxQueuedCalls: number;
  callQueueMs: number;
}

export class CallGate {
  private inProgress = 0;
  private readonly bySession = new Map<string, number>();
  private readonly waiting: Waiter[] = [];
  private refusedBusy = 0;
  private pumping = false;
  private closed = false;

  constructor(private readonly limits: CallLimits) {}

  /**
   * Waits for a place for a request of session `key` (undefined: one of no session, held only
   * by the endpoint's limit); resolves with its release, to call once its answer is done, or
   * with why it is refused, or with undefined when `gone` ends the wait (its client left).
   */
  acquire(key: string | undefined, gone: AbortSignal): Promise<(() => void) | Busy | undefined> {
    if (this.waiting.length === 0 && this.fits(key)) return Promise.resolve(this.take(key));
    if (this.waiting.length >= this.limits.maxQueuedCalls) return Promise.resolve(this.busy('queue'));
    return new Promise((resolve) => {
      const leave = (): void => {
        clearTimeout(waiter.timer);
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        gone.removeEventListener('abort', onGone);
      };
      const onGone = (): void => {
        leave();
        resolve(undefined);
      };
      const waiter: Waiter = {
        key,
        grant: () => {
          leave();
          resolve(this.take(key));
        },
        timer: setTimeout(() => {
          leave();
          resolve(this.busy('wait'));
          this.pump();
        }, this.limits.callQueueMs),
      };
      waiter.timer.unref();
      gone.addEventListener('abort', onGone, { once: true });
      this.waiting.push(waiter);
    });
  }

  stats(): CallStats {
    const { maxCallsInProgress: limit, maxSessionCalls: sessionLimit, maxQueuedCalls: maxQueued, callQueueMs: queueMs } = this.limits;
    return { inProgress: this.inProgress, queued: this.waiting.length, limit, sessionLimit, maxQueued, queueMs, refusedBusy: this.refusedBusy };
  }

  /** Lets every waiter through, and any later request (the server closes, and its sessions with it). */
  close(): void {
    this.closed = true;
    for (const w of this.waiting.slice()) {
      clearTimeout(w.timer);
      w.grant();
    }
  }

  private fits(key: string | undefined): boolean {
    if (this.closed) return true;
    if (this.inProgress >= this.limits.maxCallsInProgress) return false;
    return key === undefined || (this.bySession.get(key) ?? 0) < this.limits.maxSessionCalls;
  }

  private take(key: string | undefined): () => void {
    this.inProgress++;
    if (key !== undefined) this.bySession.set(key, (this.bySession.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The place is handed on at the next turn of the loop, after the host's own I/O.
      setImmediate(() => {
        this.inProgress--;
        if (key !== undefined) {
          const n = (this.bySession.get(key) ?? 1) - 1;
          if (n === 0) this.bySession.delete(key);
          else this.bySession.set(key, n);
        }
        this.pump();
      });
    };
  }

  /** Lets in the waiters that fit, in their order (one of a busy session waits, the next goes). */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let i = 0; i < this.waiting.length && this.inProgress < this.limits.maxCallsInProgress; ) {
        const w = this.waiting[i]!;
        if (this.fits(w.key)) w.grant();
        else i++;
      }
    } finally {
      this.pumping = false;
    }
  }

  private busy(why: 'queue' | 'wait'): Busy {
    this.refusedBusy++;
    const { maxCallsInProgress: limit, maxQueuedCalls, callQueueMs } = this.limits;
    const retryAfterSeconds = Math.max(1, Math.ceil(callQueueMs / 1000 / 4));
    const cause = why === 'queue' ? `${maxQueuedCalls.toLocaleString('en-US')} more wait, the limit (maxQueuedCalls)` : `this request waited callQueueMs (${callQueueMs.toLocaleString('en-US')} ms) for a place`;
    return {
      retryAfterSeconds,
      message: `Too Many Requests: the server is busy: ${limit} ${limit === 1 ? 'call is' : 'calls are'} in progress, the limit (maxCallsInProgress), and ${cause}; retry in ${retryAfterSeconds} s, with fewer calls at once`,
    };
  }
}
