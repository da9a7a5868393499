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
 * The gate bounds main-thread work, not calls: a call that awaits work off the main thread (a
 * profile the inspector samples for up to 120 s, a report built in the pool) gives its place
 * back for that wait (Place.away) and takes one again to build its answer, ahead of the
 * requests that arrived meanwhile and never refused (its work is done). Two captures or
 * reports in progress held every dashboard request and every other call for callQueueMs, then
 * 429. A session's calls still count against maxSessionCalls while away: that, the captures
 * one at a time and the reports' own limits bound the work waited for.
 *
 * It is shared by the two fronts that answer on the main thread (/mcp's calls and serveHttp's
 * /api requests), hence here, below both.
 *
 * Notifications and responses (a client's answer to our ping, a cancellation) are never held:
 * they carry no call, and holding them would hold the calls they end.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { clearTimeout, monoNow, setImmediate, setTimeout } from '../engine/real-timers.js';

/**
 * The header the MCP endpoint sets on a request that holds a place (the client's own is
 * dropped), so that its tool calls, run by the SDK from the request it is given, find it
 * (placeOf): a random token, named only while the request is in progress.
 */
export const PLACE_HEADER = 'x-perfwatch-place';
const stamped = new Map<string, Place>();

/** Drops a client's own PLACE_HEADER from `req`, and names `place` there when given. */
export function stampPlace(req: IncomingMessage, place?: Place): void {
  delete req.headers[PLACE_HEADER];
  if (place === undefined) return;
  const token = randomUUID();
  stamped.set(token, place);
  place.onRelease = () => stamped.delete(token);
  req.headers[PLACE_HEADER] = token;
}

/** The place of the request whose PLACE_HEADER is `token`, while it is in progress. */
export function placeOf(token: string | null | undefined): Place | undefined {
  return token ? stamped.get(token) : undefined;
}

/** What the gate reports (EndpointStatus.calls, HttpServerStatus.calls). */
export interface CallStats {
  /** Calls with a place: on the main thread, at most `limit`. */
  inProgress: number;
  /** Calls that gave their place back while they await work off the main thread (a capture, a report in the pool). */
  away: number;
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
  /** When its wait ends (monoNow()), let in or refused: the queue has room by then. */
  until: number;
}

/**
 * A request's place: release() once its answer is done (or its client gone); away(work) while
 * it awaits `work` done off the main thread.
 */
export class Place {
  private held = true;
  private released = false;
  private awayCount = 0;
  /** Its return, while it waits for a place again (once, however many of its awaits end meanwhile). */
  private returning: (() => void) | undefined;
  private back: Promise<void> | undefined;
  /** What else its end lets go (stampPlace's token). */
  onRelease: (() => void) | undefined;

  constructor(
    private readonly gate: GateOfPlaces,
    readonly key: string | undefined,
  ) {}

  /** `work`, awaited with the place given back: another call's answer, or a dashboard's, is built meanwhile. */
  async away<T>(work: Promise<T>): Promise<T> {
    if (this.released) return work;
    if (this.awayCount++ === 0 && this.held) {
      this.held = false;
      this.gate.giveBack(this);
    }
    try {
      return await work;
    } finally {
      if (--this.awayCount === 0 && !this.released && !this.held) {
        await (this.back ??= new Promise<void>((resolve) => {
          this.returning = resolve;
          this.gate.comeBack(this);
        }));
      }
    }
  }

  /** The gate lets it in again: it holds a place unless it went away again (or ended) meanwhile; answers whether it took one. */
  granted(): boolean {
    const resolve = this.returning;
    this.returning = undefined;
    this.back = undefined;
    const takes = resolve !== undefined && !this.released && this.awayCount === 0;
    if (takes) this.held = true;
    resolve?.();
    return takes;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease?.();
    const held = this.held;
    this.held = false;
    if (this.returning) {
      this.gate.leaveReturning(this);
      this.returning();
      this.returning = undefined;
    }
    this.gate.ended(this, held);
  }
}

/** What a Place asks of its gate. */
interface GateOfPlaces {
  giveBack(place: Place): void;
  comeBack(place: Place): void;
  leaveReturning(place: Place): void;
  ended(place: Place, held: boolean): void;
}

export interface CallLimits {
  maxCallsInProgress: number;
  maxSessionCalls: number;
  maxQueuedCalls: number;
  callQueueMs: number;
}

export class CallGate implements GateOfPlaces {
  private inProgress = 0;
  private away = 0;
  /** Calls back from their work off the main thread, waiting for a place: let in before `waiting`. */
  private readonly returning: Place[] = [];
  private readonly bySession = new Map<string, number>();
  private readonly waiting: Waiter[] = [];
  private refusedBusy = 0;
  private pumping = false;
  private closed = false;

  constructor(private readonly limits: CallLimits) {}

  /**
   * Waits for a place for a request of session `key` (undefined: one of no session, held only
   * by the endpoint's limit); resolves with its place, to release once its answer is done, or
   * with why it is refused, or with undefined when `gone` ends the wait (its client left).
   */
  acquire(key: string | undefined, gone: AbortSignal): Promise<Place | Busy | undefined> {
    if (this.waiting.length === 0 && this.returning.length === 0 && this.fits(key)) return Promise.resolve(this.take(key));
    if (this.waiting.length >= this.limits.maxQueuedCalls) return Promise.resolve(this.busy('queue', key));
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
          resolve(this.busy('wait', key));
          this.pump();
        }, this.limits.callQueueMs),
        until: monoNow() + this.limits.callQueueMs,
      };
      waiter.timer.unref();
      gone.addEventListener('abort', onGone, { once: true });
      this.waiting.push(waiter);
    });
  }

  stats(): CallStats {
    const { maxCallsInProgress: limit, maxSessionCalls: sessionLimit, maxQueuedCalls: maxQueued, callQueueMs: queueMs } = this.limits;
    return { inProgress: this.inProgress, away: this.away, queued: this.waiting.length, limit, sessionLimit, maxQueued, queueMs, refusedBusy: this.refusedBusy };
  }

  /** Lets every waiter through, and any later request (the server closes, and its sessions with it). */
  close(): void {
    this.closed = true;
    for (const p of this.returning.splice(0)) this.letBackIn(p);
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

  private take(key: string | undefined): Place {
    this.inProgress++;
    if (key !== undefined) this.bySession.set(key, (this.bySession.get(key) ?? 0) + 1);
    return new Place(this, key);
  }

  /** Place.away: its place goes to the next in line at once (its call is about to await). */
  giveBack(_place: Place): void {
    this.inProgress--;
    this.away++;
    this.pump();
  }

  /** Place.away's end: a place again as soon as one is free, ahead of new requests; never refused. */
  comeBack(place: Place): void {
    this.returning.push(place);
    this.pump();
  }

  /** A call back from away takes a place, unless it went away again meanwhile (it stays away). */
  private letBackIn(place: Place): void {
    if (!place.granted()) return;
    this.away--;
    this.inProgress++;
  }

  /** Its call ended while it waited to come back. */
  leaveReturning(place: Place): void {
    const i = this.returning.indexOf(place);
    if (i >= 0) this.returning.splice(i, 1);
  }

  ended(place: Place, held: boolean): void {
    const { key } = place;
    if (!held) this.away--;
    // The place is handed on at the next turn of the loop, after the host's own I/O.
    setImmediate(() => {
      if (held) this.inProgress--;
      if (key !== undefined) {
        const n = (this.bySession.get(key) ?? 1) - 1;
        if (n === 0) this.bySession.delete(key);
        else this.bySession.set(key, n);
      }
      this.pump();
    });
  }

  /** Lets in the calls coming back, then the waiters that fit, in their order (one of a busy session waits, the next goes). */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.returning.length > 0 && (this.closed || this.inProgress < this.limits.maxCallsInProgress)) this.letBackIn(this.returning.shift()!);
      if (this.returning.length > 0) return;
      for (let i = 0; i < this.waiting.length && this.inProgress < this.limits.maxCallsInProgress; ) {
        const w = this.waiting[i]!;
        if (this.fits(w.key)) w.grant();
        else i++;
      }
    } finally {
      this.pumping = false;
    }
  }

  /**
   * The answer of a request refused, its Retry-After from the queue's state: one that found the
   * queue full is asked back once the oldest waiter's wait is over (let in or refused, it leaves
   * room), at most callQueueMs; one whose own wait is over, at once (1 s): a retry waits its turn
   * in the queue again, which paces it. A quarter of callQueueMs (3 s) whatever the queue held
   * asked a client that found the queue full back before it had room, and made the CLI, which
   * retried three times, give up after 9 s of waits on a server whose turns take 10 s.
   * The message names the limit that held it: the endpoint's (maxCallsInProgress), or its
   * session's (maxSessionCalls) when the endpoint had room.
   */
  private busy(why: 'queue' | 'wait', key: string | undefined): Busy {
    this.refusedBusy++;
    const { maxCallsInProgress: limit, maxSessionCalls, maxQueuedCalls, callQueueMs } = this.limits;
    const oldest = why === 'queue' ? this.waiting[0] : undefined;
    const retryAfterSeconds = Math.min(Math.max(1, Math.ceil(callQueueMs / 1000)), Math.max(1, Math.ceil(((oldest?.until ?? 0) - monoNow()) / 1000)));
    const ofSession = key === undefined ? 0 : (this.bySession.get(key) ?? 0);
    const held =
      this.inProgress < limit && ofSession >= maxSessionCalls
        ? `${ofSession} ${ofSession === 1 ? 'call' : 'calls'} of its session ${ofSession === 1 ? 'is' : 'are'} in progress, the limit (maxSessionCalls)`
        : `${limit} ${limit === 1 ? 'call is' : 'calls are'} in progress, the limit (maxCallsInProgress)`;
    const cause = why === 'queue' ? `${maxQueuedCalls.toLocaleString('en-US')} more wait, the limit (maxQueuedCalls)` : `this request waited callQueueMs (${callQueueMs.toLocaleString('en-US')} ms) for a place`;
    const fewer = held.endsWith('(maxSessionCalls)') ? 'with fewer calls at once in this session' : 'with fewer calls at once';
    return {
      retryAfterSeconds,
      message: `Too Many Requests: the server is busy: ${held}, and ${cause}; retry in ${retryAfterSeconds} s, ${fewer}`,
    };
  }
}
