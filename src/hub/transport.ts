/**
 * The two ends of a hub link, whatever carries them (socket.ts, cluster-ipc.ts). A transport
 * moves whole messages and reports bytes it could not cut into messages; what they mean
 * (hub.ts, member.ts) is not its business.
 */
import type { HubMessage, MemberMessage } from './wire.js';

/** The hub's view of one member connection. */
export interface HubConnection {
  /** A name for logs and status (socket #3, worker 2). */
  readonly label: string;
  /** What carries it: a socket, or a cluster worker's IPC channel. */
  readonly via: 'socket' | 'channel';
  send(m: HubMessage): void;
  /**
   * Drops the connection (the member reconnects and resends what it holds). With `reason`
   * (the hub could not read what the member sent), a channel that outlives the link (a
   * cluster worker's) tells the member so, and it says hello again at its next interval.
   */
  reset(reason?: string): void;
}

export interface HubHandlers {
  message(conn: HubConnection, bytes: Uint8Array): void;
  /** Bytes that are no frame (too long, cut short); the transport resets the connection after. */
  malformed(conn: HubConnection, error: Error): void;
  closed(conn: HubConnection): void;
  /** A connection the transport closed before it said hello (past hub.maxConnections, or silent past hub.helloTimeoutMs): why. */
  turnedAway(message: string): void;
}

/** A hub socket's connections (socket.ts), for status(). */
export interface HubConnections {
  /** Open now, said hello or not. */
  open: number;
  /** hub.maxConnections. */
  limit: number;
  /** Closed at once for coming past the limit. */
  refused: number;
  /** Closed for saying no hello within hub.helloTimeoutMs. */
  noHello: number;
}

export interface HubTransport {
  readonly kind: 'socket' | 'cluster';
  readonly address: string;
  /** Socket files of hubs of ours that died, removed at start (socket-path.ts). */
  readonly reclaimed: number;
  /** Its socket's connections (a cluster hub's own socket; none open on a channel). */
  connections(): HubConnections;
  start(handlers: HubHandlers): Promise<void>;
  stop(): Promise<void>;
  /**
   * The name of a member that sent its node:cluster worker id (a member left to its default
   * name): a cluster hub's `worker-<slot>`; undefined where the transport knows no such worker.
   */
  memberName?(worker: number): string | undefined;
}

export interface MemberHandlers {
  open(): void;
  message(bytes: Uint8Array): void;
  closed(error: Error | undefined): void;
  /** What the link held unsent went out: what send() refused for its backlog can go now. */
  drain(): void;
}

export interface MemberTransport {
  readonly kind: 'socket' | 'cluster';
  readonly address: string;
  /** What carries the link now: a cluster worker's is the channel until it reaches the primary's socket, and again while it has lost it. */
  readonly via: 'socket' | 'channel';
  /** Connects, and reconnects after every loss until stop(). */
  start(handlers: MemberHandlers): void;
  /**
   * False when there is no connection now, or when what was sent before waits unsent past
   * maxFrameBytes (a hub that reads nothing: its loop held, its process stopped); the caller
   * keeps the message, and sends it again at drain() or at its next welcome. Written anyway,
   * those messages waited in the process's memory, unbounded however bufferLimit bounds what
   * the member holds.
   */
  send(m: MemberMessage): boolean;
  /** Connection attempts that failed, and losses of an open connection. */
  readonly failures: number;
  /**
   * The hub welcomed this member: the next loss is redialed after the first wait again. Not a
   * connect: a hub that refuses the member (its options differ) accepts every connection, and
   * a backoff reset by each would redial it every 100 ms for good.
   */
  welcomed(): void;
  stop(): void;
}
