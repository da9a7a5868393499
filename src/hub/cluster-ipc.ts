/**
 * Hub links over node:cluster's IPC channel: the primary is the hub, each worker a member.
 *
 * Our messages travel in an envelope, `{ [ENVELOPE]: base64 MessagePack }`, so that they
 * survive the channel's default JSON serialization, and so that both sides pick theirs out
 * of the application's own messages by that key alone and leave every other message to it.
 * (The application's own 'message' listeners see our envelopes too: Node hands every
 * message to every listener; they carry the key below and nothing else.) A send on a
 * channel that is closing is dropped, never thrown into the host.
 */
import cluster, { type Worker } from 'node:cluster';
import type { HubConnection, HubHandlers, HubTransport, MemberHandlers, MemberTransport } from './transport.js';
import { encodeMessage, type HubMessage, type MemberMessage } from './wire.js';

export const ENVELOPE = '__perfwatch_hub';

function wrap(m: MemberMessage | HubMessage): Record<string, string> {
  return { [ENVELOPE]: Buffer.from(encodeMessage(m)).toString('base64') };
}

/** The payload of one of our envelopes; undefined for any other message. */
function unwrap(msg: unknown): Uint8Array | undefined {
  if (typeof msg !== 'object' || msg === null || !(ENVELOPE in msg)) return undefined;
  const body = (msg as Record<string, unknown>)[ENVELOPE];
  return typeof body === 'string' ? Buffer.from(body, 'base64') : new Uint8Array(0);
}

export class ClusterHub implements HubTransport {
  readonly kind = 'cluster' as const;
  readonly address = 'node:cluster primary';
  private readonly conns = new Map<Worker, HubConnection>();
  private onMessage: ((worker: Worker, msg: unknown) => void) | undefined;
  private onExit: ((worker: Worker) => void) | undefined;

  async start(h: HubHandlers): Promise<void> {
    if (!cluster.isPrimary) throw new Error('a cluster hub runs in the primary');
    this.onMessage = (worker, msg) => {
      const bytes = unwrap(msg);
      if (bytes === undefined) return;
      let conn = this.conns.get(worker);
      if (!conn) {
        conn = {
          label: `worker ${worker.id}`,
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
    this.onExit = (worker) => this.drop(worker, h);
    cluster.on('message', this.onMessage);
    cluster.on('exit', this.onExit);
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
    this.conns.clear();
  }
}

export class ClusterMember implements MemberTransport {
  readonly kind = 'cluster' as const;
  readonly address = 'node:cluster primary';
  failures = 0;
  private onMessage: ((msg: unknown) => void) | undefined;
  private onDisconnect: (() => void) | undefined;

  start(h: MemberHandlers): void {
    if (!process.send) throw new Error('a cluster member runs in a cluster worker');
    this.onMessage = (msg) => {
      const bytes = unwrap(msg);
      if (bytes !== undefined) h.message(bytes);
    };
    this.onDisconnect = () => h.closed(new Error('the IPC channel to the primary closed'));
    process.on('message', this.onMessage);
    process.on('disconnect', this.onDisconnect);
    h.open();
  }

  send(m: MemberMessage): boolean {
    if (!process.send || !process.connected) return false;
    try {
      process.send(wrap(m), undefined, {}, (error: Error | null) => {
        if (error) this.failures++;
      });
      return true;
    } catch {
      this.failures++;
      return false;
    }
  }

  stop(): void {
    if (this.onMessage) process.off('message', this.onMessage);
    if (this.onDisconnect) process.off('disconnect', this.onDisconnect);
  }
}
