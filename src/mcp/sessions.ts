/**
 * The sessions of 2025-era HTTP clients (one transport and server instance each, ~45 KB):
 * at most `limit` open or opening at once, and each closed once it has been idle for
 * `idleMs` (no request in progress, no open stream, no request for that long). A client
 * whose session expired is answered 404 and initializes again, as the protocol says.
 *
 * Main thread only; a sweep runs every quarter of the idle time (at most every 30 s).
 */
import type { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';

export interface SessionStats {
  /** Sessions open now. */
  count: number;
  limit: number;
  idleMs: number;
  /** Closed for idling, since the server started. */
  expired: number;
  /** initialize requests answered 503 at the limit. */
  refused: number;
}

interface Session {
  transport: NodeStreamableHTTPServerTransport;
  lastSeen: number;
  /** Requests in progress, open streams included. */
  busy: number;
}

export class Sessions {
  private readonly open = new Map<string, Session>();
  private opening = 0;
  private expired = 0;
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
    return { count: this.open.size, limit: this.limit, idleMs: this.idleMs, expired: this.expired, refused: this.refused };
  }

  /** Seconds a refused client should wait: until an idle session can have expired. */
  get retryAfterSeconds(): number {
    return Math.ceil(this.idleMs / 1000);
  }

  /**
   * Takes a place for a session about to open, if there is one; the caller calls the
   * returned release once the opening request is over (whether a session opened or not).
   */
  admit(): (() => void) | undefined {
    if (this.open.size + this.opening >= this.limit) {
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
  use(id: string): { transport: NodeStreamableHTTPServerTransport; done: () => void } | undefined {
    const session = this.open.get(id);
    if (session === undefined) return undefined;
    session.busy++;
    session.lastSeen = Date.now();
    let done = false;
    return {
      transport: session.transport,
      done: () => {
        if (done) return;
        done = true;
        session.busy--;
        session.lastSeen = Date.now();
      },
    };
  }

  /** Closes every session that has idled past idleMs. */
  sweep(now = Date.now()): void {
    for (const [id, session] of this.open) {
      if (session.busy > 0 || now - session.lastSeen < this.idleMs) continue;
      this.open.delete(id);
      this.expired++;
      void session.transport.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((s) => s.transport.close().catch(() => {})));
  }
}
