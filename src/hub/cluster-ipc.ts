/**
 * Hub links in a node:cluster: the primary is the hub, each worker a member.
 *
 * The channel first: our messages travel in an envelope, `{ [ENVELOPE]: base64 MessagePack }`,
 * so that they survive the channel's default JSON serialization, and so that both sides pick
 * theirs out of the application's own messages by that key alone and leave every other
 * message to it. (The application's own 'message' listeners see our envelopes too: Node hands
 * every message to every listener; they carry our keys and nothing else.) A send on a channel
 * that is closing is dropped, never thrown into the host.
 *
 * Then a socket: a batch is bytes (wire.ts), which the channel carries as base64 inside JSON,
 * encoded, serialized, parsed and decoded again at both ends (a quarter of the hub's main
 * thread at 4 × 1,000 series, docs/cluster.md). So the primary also listens on a Unix socket
 * of its own (a fresh path in the temporary folder, gone when it stops), and tells each worker
 * its path, `{ [SOCKET_ENVELOPE]: path }`, when the worker's first envelope comes. The worker
 * dials it and says hello again there: the socket carries the link from then on, as frames
 * (socket.ts), and the hub takes the new connection as a member's reconnection. The channel
 * stays the rendezvous and the fallback: a worker that cannot reach the socket, or loses it,
 * goes on over the channel at once (hello there: what it holds is resent, nothing applied
 * twice) and dials the socket again, 100 ms later and doubling up to retryMaxMs, for as long
 * as it runs; the hub's `reset` of a link may come either way.
 *
 * Names: node:cluster numbers its workers 1, 2, … and never again, so a worker forked to
 * replace one that died would be a new member, a new set of series on the hub each time (a
 * crash loop fills its maxSeries). A worker left to its default name is named by its slot
 * instead, `worker-<slot>`: the lowest number no other live worker holds, given in the order
 * workers were forked and freed when one exits, so a replacement takes the name (and goes on
 * with the series) of the worker it replaces, as PM2's instance numbers do.
 */
import { randomBytes } from 'node:crypto';
import cluster, { type Worker } from 'node:cluster';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearTimeout, setTimeout } from '../engine/real-timers.js';
import { DEFAULT_SOCKET_BOUNDS, SocketHub, type SocketHubBounds } from './socket.js';
import { sweepStale } from './socket-path.js';
import type { HubConnection, HubConnections, HubHandlers, HubTransport, MemberHandlers, MemberTransport } from './transport.js';
import { FrameReader, encodeMessage, frame, type HubMessage, type MemberMessage } from './wire.js';

export const ENVELOPE = '__perfwatch_hub';
export const SOCKET_ENVELOPE = '__perfwatch_hub_socket';

function wrap(m: MemberMessage | HubMessage): Record<string, string> {
  return { [ENVELOPE]: Buffer.from(encodeMessage(m)).toString('base64') };
}

/** The payload of one of our envelopes; undefined for any other message. */
function unwrap(msg: unknown): Uint8Array | undefined {
  if (typeof msg !== 'object' || msg === null || !(ENVELOPE in msg)) return undefined;
  const body = (msg as Record<string, unknown>)[ENVELOPE];
  return typeof body === 'string' ? Buffer.from(body, 'base64') : new Uint8Array(0);
}

/** A path for the primary's socket, unused so far; undefined when the temporary folder's name is too long for one. */
function freshSocketPath(): string | undefined {
  const path = join(tmpdir(), `perfwatch-hub-${process.pid}-${randomBytes(6).toString('hex')}.sock`);
  return Buffer.byteLength(path) <= 107 ? path : undefined;
}

/**
 * Each live worker's slot, by worker id; one table for the process, kept across its hub's
 * restarts, so that a hub started again names every worker as before.
 */
class Slots {
  private readonly byWorker = new Map<number, number>();
  private readonly held = new Set<number>();

  /** The worker's slot, the lowest free one given now if it has none. */
  take(worker: number): number {
    let slot = this.byWorker.get(worker);
    if (slot !== undefined) return slot;
    for (slot = 1; this.held.has(slot); slot++);
    this.byWorker.set(worker, slot);
    this.held.add(slot);
    return slot;
  }

  free(worker: number): void {
    const slot = this.byWorker.get(worker);
    if (slot === undefined) return;
    this.byWorker.delete(worker);
    this.held.delete(slot);
  }

  /** Frees the slots of workers gone while no hub listened, then gives the live ones theirs in the order they were forked. */
  sync(): void {
    const live = cluster.workers ?? {};
    for (const id of [...this.byWorker.keys()]) if (live[id] === undefined) this.free(id);
    for (const id of Object.keys(live).map(Number).sort((a, b) => a - b)) this.take(id);
  }
}

const slots = new Slots();

export class ClusterHub implements HubTransport {
  readonly kind = 'cluster' as const;
  readonly address = 'node:cluster primary';
  private readonly conns = new Map<Worker, HubConnection>();
  /** Workers told the socket's path (this start's: a hub started again listens on a new one). */
  private told = new WeakSet<Worker>();
  private socket: SocketHub | undefined;
  private onMessage: ((worker: Worker, msg: unknown) => void) | undefined;
  private onExit: ((worker: Worker) => void) | undefined;
  private onFork: ((worker: Worker) => void) | undefined;
  reclaimed = 0;
  /** The connections closed by the sockets of this hub's earlier starts (refused, no hello). */
  private before = { refused: 0, noHello: 0 };

  constructor(
    private readonly maxFrameBytes: number,
    private readonly bounds: SocketHubBounds = DEFAULT_SOCKET_BOUNDS,
  ) {}

  /** Its own socket's (the channel's links are no connections of it). */
  connections(): HubConnections {
    const now = this.socket?.connections();
    return { open: now?.open ?? 0, limit: this.bounds.maxConnections, refused: this.before.refused + (now?.refused ?? 0), noHello: this.before.noHello + (now?.noHello ?? 0) };
  }

  async start(h: HubHandlers): Promise<void> {
    if (!cluster.isPrimary) throw new Error('a cluster hub runs in the primary');
    this.told = new WeakSet<Worker>();
    this.reclaimed = await sweepStale(tmpdir());
    const path = freshSocketPath();
    if (path !== undefined) {
      const socket = new SocketHub(path, this.maxFrameBytes, this.bounds);
      // Without it the channel carries every link, as it can.
      this.socket = await socket.start(h).then(
        () => socket,
        () => undefined,
      );
    }
    this.onMessage = (worker, msg) => {
      const bytes = unwrap(msg);
      if (bytes === undefined) return;
      if (this.socket && !this.told.has(worker) && worker.isConnected()) {
        this.told.add(worker);
        worker.send({ [SOCKET_ENVELOPE]: this.socket.address }, undefined, () => {});
      }
      let conn = this.conns.get(worker);
      if (!conn) {
        conn = {
          label: `worker ${worker.id}`,
          via: 'channel',
          send: (m) => {
            if (worker.isConnected()) worker.send(wrap(m), undefined, () => {});
          },
          // The channel is the worker's own: the link resets by forgetting it; the worker's
          // next hello starts it again, which a worker whose message was unreadable is told
          // to send (it would otherwise go on sending batches the hub refuses, forever).
          reset: (reason) => {
            if (reason !== undefined && worker.isConnected()) worker.send(wrap({ t: 'reset', message: reason }), undefined, () => {});
            this.drop(worker, h);
          },
        };
        this.conns.set(worker, conn);
      }
      h.message(conn, bytes);
    };
    this.onExit = (worker) => {
      slots.free(worker.id);
      this.drop(worker, h);
    };
    // node:cluster emits 'fork' on the next tick: a replacement forked in an application's
    // own 'exit' listener, called before ours, takes its slot once ours has freed the dead one's.
    this.onFork = (worker) => {
      if (!worker.isDead()) slots.take(worker.id);
    };
    slots.sync();
    cluster.on('message', this.onMessage);
    cluster.on('exit', this.onExit);
    cluster.on('fork', this.onFork);
  }

  memberName(worker: number): string | undefined {
    const live = cluster.workers?.[worker];
    return live === undefined || live.isDead() ? undefined : `worker-${slots.take(worker)}`;
  }

  private drop(worker: Worker, h: HubHandlers): void {
    const conn = this.conns.get(worker);
    if (!conn) return;
    this.conns.delete(worker);
    h.closed(conn);
  }

  async stop(): Promise<void> {
    if (this.onMessage) cluster.off('message', this.onMessage);
    if (this.onExit) cluster.off('exit', this.onExit);
    if (this.onFork) cluster.off('fork', this.onFork);
    this.conns.clear();
    await this.socket?.stop();
    const last = this.socket?.connections();
    if (last) this.before = { refused: this.before.refused + last.refused, noHello: this.before.noHello + last.noHello };
    this.socket = undefined;
  }
}

const FIRST_REDIAL_MS = 100;

export class ClusterMember implements MemberTransport {
  readonly kind = 'cluster' as const;
  readonly address = 'node:cluster primary';
  failures = 0;
  /** The primary's socket, once connected; undefined: the channel carries the link. */
  private socket: Socket | undefined;
  /** The primary's socket path, once told. */
  private path: string | undefined;
  private dialing = false;
  private stopped = false;
  private redialMs = FIRST_REDIAL_MS;
  private timer: NodeJS.Timeout | undefined;
  private onMessage: ((msg: unknown) => void) | undefined;
  private onDisconnect: (() => void) | undefined;
  private handlers: MemberHandlers | undefined;
  /** Bytes sent on the channel whose write has not completed. */
  private channelBytes = 0;
  /** A send was refused for the channel's backlog: say drain() once it is below the bound. */
  private channelFull = false;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly retryMaxMs: number,
  ) {}

  get via(): 'socket' | 'channel' {
    return this.socket ? 'socket' : 'channel';
  }

  start(h: MemberHandlers): void {
    if (!process.send) throw new Error('a cluster member runs in a cluster worker');
    this.stopped = false;
    this.handlers = h;
    this.onMessage = (msg) => {
      if (typeof msg === 'object' && msg !== null && SOCKET_ENVELOPE in msg) {
        const path = (msg as Record<string, unknown>)[SOCKET_ENVELOPE];
        // A new path: the primary's hub was started again (its monitor stopped and started),
        // on a socket of its own; the old one is gone.
        if (typeof path === 'string' && path !== this.path) {
          this.path = path;
          clearTimeout(this.timer);
          this.redialMs = FIRST_REDIAL_MS;
          this.dial(h);
        }
        return;
      }
      const bytes = unwrap(msg);
      if (bytes !== undefined) h.message(bytes);
    };
    this.onDisconnect = () => h.closed(new Error('the IPC channel to the primary closed'));
    process.on('message', this.onMessage);
    process.on('disconnect', this.onDisconnect);
    h.open();
    // Started again (its monitor stopped and started): the primary told this worker its socket
    // once, and tells it no more. Until 2026-12-06 the link stayed on the channel for good then,
    // every batch base64 in JSON through the primary's IPC. A hub started again since tells
    // its new path, which replaces this one.
    this.redialMs = FIRST_REDIAL_MS;
    this.dial(h);
  }

  /**
   * Moves the link to the primary's socket: hello again there once connected. Lost, or not
   * reached, the link stays on (or goes back to) the channel, and the socket is dialed again
   * later: a socket file removed for good costs a failed connect every retryMaxMs.
   */
  private dial(h: MemberHandlers): void {
    const path = this.path;
    if (path === undefined || this.socket || this.dialing || this.stopped) return;
    this.dialing = true;
    const socket = connect(path);
    socket.unref();
    const reader = new FrameReader(this.maxFrameBytes, this.maxFrameBytes, "this member's hub.maxFrameBytes");
    socket.once('connect', () => {
      this.dialing = false;
      if (this.stopped) {
        socket.destroy();
        return;
      }
      this.socket = socket;
      h.open();
    });
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const f of reader.push(chunk)) h.message(f);
      } catch {
        socket.destroy();
      }
    });
    socket.on('drain', () => h.drain());
    socket.on('error', () => {});
    socket.once('close', () => {
      this.dialing = false;
      if (this.stopped) return;
      this.timer = setTimeout(() => this.dial(h), this.redialMs);
      this.timer.unref();
      this.redialMs = Math.min(this.retryMaxMs, this.redialMs * 2);
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.failures++;
      h.closed(new Error('the socket to the primary closed: on over the IPC channel, dialing it again'));
      if (process.connected) h.open();
    });
  }

  /** The hub welcomed this member: a socket lost from now on is redialed after the first wait again. */
  welcomed(): void {
    this.redialMs = FIRST_REDIAL_MS;
  }

  send(m: MemberMessage): boolean {
    if (this.socket) {
      // The primary's loop held: what waits unsent stays bounded (transport.ts, send).
      if (this.socket.writableLength >= this.maxFrameBytes) return false;
      this.socket.write(frame(m));
      return true;
    }
    if (!process.send || !process.connected) return false;
    // The channel likewise: messages whose write has not completed count against the bound.
    if (this.channelBytes >= this.maxFrameBytes) {
      this.channelFull = true;
      return false;
    }
    const message = wrap(m);
    const bytes = message[ENVELOPE]!.length;
    this.channelBytes += bytes;
    try {
      process.send(message, undefined, {}, (error: Error | null) => {
        this.channelBytes -= bytes;
        if (error) this.failures++;
        else if (this.channelFull && this.channelBytes < this.maxFrameBytes) {
          this.channelFull = false;
          this.handlers?.drain();
        }
      });
      return true;
    } catch {
      this.channelBytes -= bytes;
      this.failures++;
      return false;
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.destroy();
    this.socket = undefined;
    if (this.onMessage) process.off('message', this.onMessage);
    if (this.onDisconnect) process.off('disconnect', this.onDisconnect);
  }
}
