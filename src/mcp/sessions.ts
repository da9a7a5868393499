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
 * Main thread only; a sweep runs every quarter of the idle time (at most every 30 s).
 */
import type { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';

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
}

/** A session taken for one request: its transport, busy until `done` is called. */
export interface SessionUse {
  transport: NodeStreamableHTTPServerTransport;
  done: () => void;
}

interface Session {
  transport: NodeStreamableHTTPServerTransport;
  lastSeen: number;
  /** Requests in progress, open streams included. */
  busy: number;
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
  private readonly limit: number;
  private readonly idleMs: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(limit: number, idleMs: number) {
    this.limit = limit;
    this.idleMs = idleMs;
    this.sweeper = setInterval(() => this.sweep(), Math.min(30_000, Math.max(25, idleMs / 4)));
    this.sweeper.unref();
  }

  stats(): SessionStats {
    let busy = 0;
    for (const session of this.open.values()) if (session.busy > 0) busy++;
    return { count: this.open.size, busy, limit: this.limit, idleMs: this.idleMs, expired: this.expired, evicted: this.evicted, refused: this.refused };
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

  added(id: string, transport: NodeStreamableHTTPServerTransport): void {
    this.open.set(id, { transport, lastSeen: Date.now(), busy: 0 });
  }

  removed(id: string | undefined): void {
    if (id !== undefined) this.open.delete(id);
  }

  /** The session's transport, marked busy until the returned function is called. */
  use(id: string): SessionUse | undefined {
    const session = this.open.get(id);
    if (session === undefined) return undefined;
    session.busy++;
    this.touch(id, session);
    let done = false;
    return {
      transport: session.transport,
      done: () => {
        if (done) return;
        done = true;
        session.busy--;
        // A session closed meanwhile (expired, deleted) stays out of the map.
        if (this.open.get(id) === session) this.touch(id, session);
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

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.open.values()];
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
  private evictIdlest(): boolean {
    for (const [id, session] of this.open) {
      if (session.busy > 0) continue;
      this.drop(id, session);
      this.evicted++;
      return true;
    }
    return false;
  }

  private drop(id: string, session: Session): void {
    this.open.delete(id);
    void session.transport.close().catch(() => {});
  }
}
