/**
 * Hub links over a Unix domain socket: length-prefixed MessagePack frames (wire.ts).
 *
 * The hub's path: a socket left by a hub of ours that died is reclaimed; anything else there is
 * a clear error and never deleted (socket-path.ts).
 * A member reconnects after every loss, waiting 100 ms and doubling up to retryMaxMs, from 100 ms
 * again once the hub welcomed it (a hub that refuses it accepts each connection all the same).
 *
 * The hub runs in the host's own process, each connection a file descriptor of it: it keeps
 * at most hub.maxConnections open (one more is told so and closed, not read), and closes one
 * that has said no hello within hub.helloTimeoutMs. Until 2026-12-06 it kept every one, for
 * good: some 990 idle connections used up a host's 1,024 descriptors (EMFILE in its own
 * fs.openSync), and 3,000 that each sent most of a first frame held 192 MB.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { clearTimeout, setTimeout } from '../engine/real-timers.js';
import { DEFAULT_HELLO_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS } from './options.js';
import { claimPath, dropOwner, holdClaim, listenError, recordOwner } from './socket-path.js';
import type { HubConnection, HubConnections, HubHandlers, HubTransport, MemberHandlers, MemberTransport } from './transport.js';
import { FrameReader, HELLO_MAX_BYTES, frame, type HubMessage, type MemberMessage } from './wire.js';

const FIRST_RETRY_MS = 100;
/** How long a link the hub reset may take to read the reason and close before it is destroyed. */
const RESET_GRACE_MS = 1_000;
/**
 * Connections past hub.maxConnections that are told so and given RESET_GRACE_MS to read it
 * (closed at once, a member's hello written meanwhile failed with EPIPE before it read why);
 * past these few, a flood's, each is closed at once without a word.
 */
const TURNING_AWAY_MAX = 16;

/** What a hub's socket keeps of its peers (options.ts). */
export interface SocketHubBounds {
  maxConnections: number;
  helloTimeoutMs: number;
}

export const DEFAULT_SOCKET_BOUNDS: SocketHubBounds = { maxConnections: DEFAULT_MAX_CONNECTIONS, helloTimeoutMs: DEFAULT_HELLO_TIMEOUT_MS };

export class SocketHub implements HubTransport {
  readonly kind = 'socket' as const;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Connections past the cap, told so, until they close (TURNING_AWAY_MAX). */
  private readonly turningAway = new Set<Socket>();
  private next = 0;
  reclaimed = 0;
  /** Connections turned away past maxConnections, and closed for saying no hello in time. */
  private refused = 0;
  private noHello = 0;

  constructor(
    readonly address: string,
    private readonly maxFrameBytes: number,
    private readonly bounds: SocketHubBounds = DEFAULT_SOCKET_BOUNDS,
  ) {}

  connections(): HubConnections {
    return { open: this.sockets.size, limit: this.bounds.maxConnections, refused: this.refused, noHello: this.noHello };
  }

  async start(h: HubHandlers): Promise<void> {
    // Held from the look at the path to the listen: another hub started at once on a stale
    // path could otherwise remove this one's new socket as the stale one, and listen in its place.
    const release = holdClaim(this.address, 'hub.listen');
    const server = createServer((socket) => this.accept(socket, h));
    try {
      if ((await claimPath(this.address, 'hub.listen')) === 'reclaimed') this.reclaimed++;
      await new Promise<void>((resolve, reject) => {
        server.once('error', (error) => reject(listenError(this.address, 'hub.listen', error)));
        server.listen(this.address, () => {
          server.removeAllListeners('error');
          resolve();
        });
      });
    } finally {
      release();
    }
    // Not the host's business to stay alive for: the hub ends with its process.
    server.unref();
    server.on('error', () => {});
    this.server = server;
    recordOwner(this.address);
  }

  private accept(socket: Socket, h: HubHandlers): void {
    socket.unref();
    socket.on('error', () => {});
    const { maxConnections, helloTimeoutMs } = this.bounds;
    if (this.sockets.size >= maxConnections) {
      this.refused++;
      h.turnedAway(`${this.address}: a connection past hub.maxConnections (${maxConnections} open) turned away`);
      if (this.turningAway.size >= TURNING_AWAY_MAX) {
        socket.destroy();
        return;
      }
      // Told why, for a member's lastError; nothing it sends is read.
      this.turningAway.add(socket);
      socket.once('close', () => this.turningAway.delete(socket));
      socket.end(frame({ t: 'reject', field: 'hub.maxConnections', message: `this hub keeps at most ${maxConnections} connections open (its hub.maxConnections), and has them: raise it on the hub, or look for what holds them (status().hub.connections)` }));
      setTimeout(() => socket.destroy(), RESET_GRACE_MS).unref();
      return;
    }
    this.sockets.add(socket);
    // A link starts with a hello: a peer whose first frame is longer is no member.
    const reader = new FrameReader(this.maxFrameBytes, Math.min(HELLO_MAX_BYTES, this.maxFrameBytes), "this hub's hub.maxFrameBytes");
    // Whether the hub welcomed it (a member, which reads the hub's answers), and whether it
    // reset the link: nothing more the peer sends is read then, its reason on the way.
    let welcomed = false;
    let resetting = false;
    // A member says hello as it connects; a peer that does not holds a descriptor of the host's for nothing.
    const label = `socket #${++this.next}`;
    const helloDue = setTimeout(() => {
      if (welcomed || socket.destroyed) return;
      this.noHello++;
      h.turnedAway(`${this.address} ${label}: said no hello within hub.helloTimeoutMs (${helloTimeoutMs} ms): closed`);
      socket.destroy();
    }, helloTimeoutMs);
    helloDue.unref();
    const conn: HubConnection = {
      label,
      via: 'socket',
      send: (m: HubMessage) => {
        if (socket.destroyed) return;
        // A peer that reads none of its answers (a client that only writes, a member whose
        // loop is held) would have them wait in this process's memory without bound.
        if (socket.writableLength >= this.maxFrameBytes) {
          h.malformed(conn, new Error(`read none of the hub's last ${socket.writableLength} bytes (hub.maxFrameBytes ${this.maxFrameBytes})`));
          socket.destroy();
          return;
        }
        if (m.t === 'welcome' && !welcomed) {
          welcomed = true;
          clearTimeout(helloDue);
        }
        socket.write(frame(m));
      },
      reset: (reason?: string) => {
        if (socket.destroyed || resetting) return;
        resetting = true;
        // Says why first to a member it welcomed, as the cluster channel does (cluster-ipc.ts):
        // the member shows it as its lastError, where a bare close left that null while the
        // hub reset its link at every batch (a member whose maxFrameBytes is larger than the
        // hub's). Not to a peer never welcomed (no member: a client that reads nothing would
        // hold the reason unread and never close), nor to one that reads none of the hub's
        // answers (send() above).
        if (reason === undefined || !welcomed || socket.writableLength >= this.maxFrameBytes) {
          socket.destroy();
          return;
        }
        socket.end(frame({ t: 'reset', message: reason }));
        setTimeout(() => socket.destroy(), RESET_GRACE_MS).unref();
      },
    };
    socket.on('data', (chunk: Buffer) => {
      if (resetting) return;
      let frames: Uint8Array[];
      try {
        frames = reader.push(chunk);
      } catch (error) {
        // The hub resets the link (conn.reset, with the reason).
        h.malformed(conn, error as Error);
        conn.reset();
        return;
      }
      for (const f of frames) {
        if (socket.destroyed || resetting) return;
        h.message(conn, f);
      }
    });
    socket.on('close', () => {
      clearTimeout(helloDue);
      this.sockets.delete(socket);
      h.closed(conn);
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of [...this.sockets, ...this.turningAway]) s.destroy();
    if (server) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      dropOwner(this.address);
    }
  }
}

/** The bytes of a peer that is no hub said in the member's error (notAHub). */
const FIRST_BYTES_SHOWN = 40;

/**
 * A member's error for a peer at its hub.connect path that answers with bytes no hub sends (an
 * HTTP server on that socket answers a hello with "HTTP/1.1 400 …", whose first four bytes,
 * read as a frame's length, made 1,213,486,160). Its first line is shown if it is printable,
 * else its first bytes in hex.
 */
export function notAHub(path: string, first: Buffer): Error {
  const end = first.findIndex((b) => b === 0x0d || b === 0x0a);
  const line = first.subarray(0, end === -1 ? first.length : end).toString('latin1');
  const look = line.length > 0 && /^[\x20-\x7e]+$/.test(line) ? `reads ${JSON.stringify(line)}` : `is ${first.subarray(0, 8).toString('hex').replace(/(..)(?!$)/g, '$1 ')}`;
  return new Error(`hub.connect ${path}: what answers there is not a perfwatch hub (its answer ${look}, where a hub's starts with a frame's length): point hub.connect at the socket a hub listens on (its hub.listen, or perfwatch serve --hub PATH)`);
}

export class SocketMember implements MemberTransport {
  readonly kind = 'socket' as const;
  readonly via = 'socket' as const;
  failures = 0;
  private socket: Socket | undefined;
  private open = false;
  private stopped = false;
  private retryMs = FIRST_RETRY_MS;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly address: string,
    private readonly maxFrameBytes: number,
    private readonly retryMaxMs: number,
  ) {}

  start(h: MemberHandlers): void {
    this.stopped = false;
    this.dial(h);
  }

  private dial(h: MemberHandlers): void {
    const socket = connect(this.address);
    socket.unref();
    this.socket = socket;
    const reader = new FrameReader(this.maxFrameBytes, this.maxFrameBytes, "this member's hub.maxFrameBytes");
    let lastError: Error | undefined;
    // What came first on this link, until a frame did: shown if it is no hub's.
    let first: Buffer | undefined = Buffer.alloc(0);
    // Said over what the peer's close brings after (EPIPE, ECONNRESET): it is why.
    let notHub: Error | undefined;
    socket.once('connect', () => {
      this.open = true;
      h.open();
    });
    socket.on('data', (chunk: Buffer) => {
      if (first !== undefined && first.length < FIRST_BYTES_SHOWN) first = Buffer.concat([first, chunk.subarray(0, FIRST_BYTES_SHOWN - first.length)]);
      try {
        for (const f of reader.push(chunk)) {
          first = undefined;
          h.message(f);
        }
      } catch (error) {
        // No frame yet: a hub's first is a short welcome or reject, so this peer is no hub, and
        // the reader's words (a hub's view of a first frame too long for a hello) misled.
        if (first !== undefined) notHub = notAHub(this.address, first);
        else lastError = error as Error;
        socket.destroy();
      }
    });
    socket.on('drain', () => h.drain());
    socket.on('error', (error) => {
      lastError = error;
    });
    socket.once('close', () => {
      const wasOpen = this.open;
      this.open = false;
      this.socket = undefined;
      if (this.stopped) return;
      this.failures++;
      if (wasOpen || lastError) h.closed(notHub ?? lastError);
      this.timer = setTimeout(() => this.dial(h), this.retryMs);
      this.timer.unref();
      this.retryMs = Math.min(this.retryMaxMs, this.retryMs * 2);
    });
  }

  welcomed(): void {
    this.retryMs = FIRST_RETRY_MS;
  }

  send(m: MemberMessage): boolean {
    if (!this.open || !this.socket || this.socket.writableLength >= this.maxFrameBytes) return false;
    this.socket.write(frame(m));
    return true;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.destroy();
  }
}
