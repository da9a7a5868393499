/**
 * The sessions of 2025-era HTTP clients (one transport and server instance each, ~45 KB):
 * at most `limit` open or opening at once, and each closed once it has been idle for
 * `idleMs` (no request in progress, no open stream, no request for that long). A client
 * whose session expired is answered 404 and initializes again, as the protocol says.
 *
 * At the limit, a new session takes the place of the least recently active idle one, which
 * is closed (evicted) as if it had expired: a client that goes away without ending its
 * session (a script that exits, an agent that crashes; the SDK's client sends no DELETE on
 * close) leaves an idle session, and 100 such runs in 15 minutes otherwise held every place
 * until they expired, every later client refused. A session with a request in progress or
 * a stream open is never evicted; only when every session has one is a new one refused.
 *
 * An open stream proves nothing of its client: one that stopped (a process stopped, a laptop
 * closed, a container killed behind NAT) leaves its connection open, without a FIN, and its
 * session busy for good, so that `limit` such clients locked every later one out. A session
 * with its standalone stream open is sent an MCP ping every `pingMs` (the SDK's clients answer
 * by themselves, on a POST); one whose client answers none within `pingTimeoutMs` has its
 * streams and requests closed, and is idle: evicted at the limit, or expired.
 *
 * A client that keeps its stream open and answers the pings, but sends no request any more (an
 * agent's SDK client left open by a script that dropped it, in a process that lives on), holds
 * its place as long as that: 100 of them locked every later client out for good (a soak trial).
 * So at the limit, when no session is idle, a new session takes the place of the one whose
 * client has sent no request for the longest, if that is `streamIdleMs` or more and its only
 * activity is its stream (no request in progress): it is closed, its stream ended, and counted
 * evicted. A ping's answer is no request; a session with a request in progress is never evicted.
 *
 * Main thread only; a sweep runs every quarter of the idle time (at most every 30 s), and a
 * round of pings every quarter of the ping interval (at most every 5 s).
 */
import type { ServerResponse } from 'node:http';
import type { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { IdsInProgress } from './request-ids.js';
import { clearInterval, clearTimeout, setInterval, setTimeout } from '../engine/real-timers.js';

export interface SessionStats {
  /** Sessions open now. */
  count: number;
  /** Of those, the ones with a request in progress or a stream open now. */
  busy: number;
  limit: number;
  idleMs: number;
  /** Closed for idling, since the server started. */
  expired: number;
  /** Closed to make room for a new session at the limit, since the server started. */
  evicted: number;
  /** initialize requests answered 503 at the limit, every session busy. */
  refused: number;
  /** Sessions whose streams were closed since the server started, their client having answered no ping within pingTimeoutMs. */
  unresponsive: number;
  pingMs: number;
  pingTimeoutMs: number;
}

/** How often a session with a stream open is pinged, and how long its client has to answer. */
export interface Liveness {
  pingMs: number;
  pingTimeoutMs: number;
  /** How long a session whose only activity is its stream must have sent no request to give its place at the limit. */
  streamIdleMs: number;
}

/** A session taken for one request: its transport and its requests' ids in progress, busy until `done` is called. */
export interface SessionUse {
  transport: NodeStreamableHTTPServerTransport;
  ids: IdsInProgress;
  done: () => void;
  /** The request carries a message of the client's own (a request or notification, not the answer to a ping). */
  requested: () => void;
}

interface Session {
  transport: NodeStreamableHTTPServerTransport;
  ids: IdsInProgress;
  /** Sends the session's client an MCP ping; settles with its answer. */
  ping: () => Promise<unknown>;
  lastSeen: number;
  /** When the client last sent a message of its own (initialize, a request, a notification): not a GET, not a ping's answer. */
  requestedAt: number;
  /** Requests in progress, open streams included. */
  busy: number;
  /** Their responses, closed if the client answers no ping. */
  responses: Set<ServerResponse>;
  /** Standalone streams open (GET requests in progress), which pings travel on. */
  streams: number;
  /** When the client last showed it reads its stream: the stream opened, or a ping was answered. */
  heardAt: number;
  /** The deadline of the ping awaiting its answer, if one is. */
  pinging: NodeJS.Timeout | undefined;
}

/**
 * Seconds a refused client should wait. A place frees as soon as one session's requests and
 * streams are over, which cannot be foreseen (expiry frees none: a busy session does not
 * expire), so the client is told to look again soon rather than after the idle time.
 */
const RETRY_AFTER_SECONDS = 5;

export class Sessions {
  /** By last activity, the least recent first: a session is moved to the end when a request of it starts or ends. */
  private readonly open = new Map<string, Session>();
  private opening = 0;
  private expired = 0;
  private evicted = 0;
  private refused = 0;
  private unresponsive = 0;
  private readonly limit: number;
  private readonly idleMs: number;
  private readonly liveness: Liveness;
  private readonly sweeper: NodeJS.Timeout;
  private readonly pinger: NodeJS.Timeout;

  constructor(limit: number, idleMs: number, liveness: Liveness) {
    this.limit = limit;
    this.idleMs = idleMs;
    this.liveness = liveness;
    this.sweeper = setInterval(() => this.sweep(), Math.min(30_000, Math.max(25, idleMs / 4)));
    this.sweeper.unref();
    this.pinger = setInterval(() => this.pingQuiet(), Math.min(5_000, Math.max(25, liveness.pingMs / 4)));
    this.pinger.unref();
  }

  stats(): SessionStats {
    let busy = 0;
    for (const session of this.open.values()) if (session.busy > 0) busy++;
    return {
      count: this.open.size,
      busy,
      limit: this.limit,
      idleMs: this.idleMs,
      expired: this.expired,
      evicted: this.evicted,
      refused: this.refused,
      unresponsive: this.unresponsive,
      ...this.liveness,
    };
  }

  get retryAfterSeconds(): number {
    return RETRY_AFTER_SECONDS;
  }

  /**
   * Takes a place for a session about to open, if there is one, evicting the least recently
   * active idle session at the limit; the caller calls the returned release once the opening
   * request is over (whether a session opened or not).
   */
  admit(): (() => void) | undefined {
    if (this.open.size + this.opening >= this.limit && !this.evictIdlest()) {
      this.refused++;
      return undefined;
    }
    this.opening++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.opening--;
    };
  }

  /** A session opened; `ping` sends its client an MCP ping. */
  added(id: string, transport: NodeStreamableHTTPServerTransport, ping: () => Promise<unknown>): void {
    const now = Date.now();
    this.open.set(id, { transport, ids: new IdsInProgress('this session'), ping, lastSeen: now, requestedAt: now, busy: 0, responses: new Set(), streams: 0, heardAt: now, pinging: undefined });
  }

  removed(id: string | undefined): void {
    if (id === undefined) return;
    const session = this.open.get(id);
    if (session === undefined) return;
    clearTimeout(session.pinging);
    this.open.delete(id);
  }

  /**
   * The session's transport for the request answered by `res`, marked busy until the returned
   * function is called; `stream` says the request is a GET, which opens the standalone stream.
   */
  use(id: string, res: ServerResponse, stream: boolean): SessionUse | undefined {
    const session = this.open.get(id);
    if (session === undefined) return undefined;
    session.busy++;
    session.responses.add(res);
    if (stream) {
      session.streams++;
      // A stream that opens shows its client alive; a ping sent on a stream before it went
      // with that stream, and its answer is not to be waited for.
      session.heardAt = Date.now();
      clearTimeout(session.pinging);
      session.pinging = undefined;
    }
    this.touch(id, session);
    let done = false;
    return {
      transport: session.transport,
      ids: session.ids,
      done: () => {
        if (done) return;
        done = true;
        session.busy--;
        session.responses.delete(res);
        if (stream) session.streams--;
        // A session closed meanwhile (expired, deleted) stays out of the map.
        if (this.open.get(id) === session) this.touch(id, session);
      },
      requested: () => {
        session.requestedAt = Date.now();
      },
    };
  }

  /** Closes every session that has idled past idleMs. */
  sweep(now = Date.now()): void {
    for (const [id, session] of this.open) {
      if (session.busy > 0 || now - session.lastSeen < this.idleMs) continue;
      this.drop(id, session);
      this.expired++;
    }
  }

  /** Pings each session whose stream is open and whose client has not been heard from for pingMs. */
  pingQuiet(now = Date.now()): void {
    for (const [id, session] of this.open) {
      if (session.streams === 0 || session.pinging !== undefined || now - session.heardAt < this.liveness.pingMs) continue;
      const deadline = setTimeout(() => this.unanswered(id, session, deadline), this.liveness.pingTimeoutMs);
      deadline.unref();
      session.pinging = deadline;
      // A ping that fails to go out (the stream closed meanwhile) is left to its deadline,
      // which finds no stream to close if none is open.
      session.ping().then(() => {
        if (session.pinging !== deadline) return;
        clearTimeout(deadline);
        session.pinging = undefined;
        session.heardAt = Date.now();
      }, () => {});
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    clearInterval(this.pinger);
    const all = [...this.open.values()];
    for (const session of all) clearTimeout(session.pinging);
    this.open.clear();
    await Promise.all(all.map((s) => s.transport.close().catch(() => {})));
  }

  /** Marks the session active now: to the end of the map's order. */
  private touch(id: string, session: Session): void {
    session.lastSeen = Date.now();
    this.open.delete(id);
    this.open.set(id, session);
  }

  /**
   * Closes the least recently active session that is idle, if there is one. The map is in
   * the order of last activity, so the first idle session found is that one: the busy ones
   * before it are all that is passed over, not every session at each initialize.
   */
  private evictIdlest(now = Date.now()): boolean {
    const chosen = this.idlest() ?? this.quietestStream(now);
    if (chosen === undefined) return false;
    this.drop(...chosen);
    this.evicted++;
    return true;
  }

  /** The least recently active idle session: the first in the map's order with nothing in progress. */
  private idlest(): [string, Session] | undefined {
    for (const entry of this.open) if (entry[1].busy === 0) return entry;
    return undefined;
  }

  /**
   * Of the sessions whose only activity is their stream (no request in progress), the one whose
   * client has sent no request for the longest, if for streamIdleMs or more.
   */
  private quietestStream(now: number): [string, Session] | undefined {
    let quietest: [string, Session] | undefined;
    for (const entry of this.open) {
      const session = entry[1];
      if (session.busy !== session.streams || now - session.requestedAt < this.liveness.streamIdleMs) continue;
      if (quietest === undefined || session.requestedAt < quietest[1].requestedAt) quietest = entry;
    }
    return quietest;
  }

  private drop(id: string, session: Session): void {
    clearTimeout(session.pinging);
    this.open.delete(id);
    void session.transport.close().catch(() => {});
  }

  /**
   * The client answered no ping within pingTimeoutMs: its connections are closed, which ends
   * its requests and streams (each one's close marks it done), and the session is idle. It is
   * kept, not closed: a client that was only slow opens its stream again in the same session.
   */
  private unanswered(id: string, session: Session, deadline: NodeJS.Timeout): void {
    if (session.pinging !== deadline) return;
    session.pinging = undefined;
    if (this.open.get(id) !== session || session.streams === 0) return;
    this.unresponsive++;
    for (const res of session.responses) res.destroy();
  }
}
