/**
 * A notification's POST, through node:http(s) rather than fetch, so that its socket can be
 * unref'd: fetch (undici, inside Node) gives no way to, and its open socket held the host's
 * event loop while a receiver took its time. A service whose work ended with a post in flight
 * to a receiver that never answered stayed up until the post's timeoutMs (up to 60 s), since
 * 'beforeExit', where the monitor is stopped and its posts given LAST_POST_MS
 * (src/monitor/host-exit.ts), cannot come while a ref'd socket is open.
 *
 * The socket holds the loop only while its `LoopHold` says so: not while the monitor runs
 * (the post still goes on while the host has work of its own), but once it is stopped, so that
 * a post in flight then gets its LAST_POST_MS rather than being cut by the process's end.
 *
 * What fetch did that the notifier relies on is kept: no redirect is followed (node:http
 * follows none), header values are taken as fetch takes them (a Headers object: a trailing
 * line break trimmed), the body is sent with its content-length, `accept: *\/*` and
 * `user-agent: node` are sent unless given, TLS is Node's (the same CA store and
 * NODE_EXTRA_CA_CERTS), and connections are kept alive for the next post (an agent of the
 * notifier's own: a host's settings of node:http's global agent do not apply to it, as they
 * did not to fetch). Only the start of an answer is read: at most `limit` bytes, for at most
 * `drainMs` after the status, and the rest is cancelled, which closes the connection.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { markOwnRequest } from '../own-requests.js';
import { clearTimeout, setTimeout } from '../engine/real-timers.js';

/** What the notifier reads of an answer: its status and its headers (Location, Retry-After). */
export interface PostAnswer {
  status: number;
  headers: { get(name: string): string | null };
}

/** Whether a post's socket holds the host's event loop; changed while the post is in flight (park, unpark). */
export class LoopHold {
  private socket: Socket | undefined;
  private held: boolean;

  constructor(held: boolean) {
    this.held = held;
  }

  set(held: boolean): void {
    this.held = held;
    this.apply();
  }

  /** The post's socket, once it has one (a new connection's, or a kept one's: the agent refs those it hands out). */
  attach(socket: Socket): void {
    this.socket = socket;
    this.apply();
  }

  /** The post ended: its socket, kept alive for another post, is the agent's again (unref'd while idle). */
  detach(): void {
    this.socket = undefined;
  }

  private apply(): void {
    if (this.held) this.socket?.ref();
    else this.socket?.unref();
  }
}

const AGENTS: Record<string, http.Agent> = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

/**
 * POSTs `body` (JSON) to `url`; settles with the answer once at most `limit` bytes of its
 * body were read (or `drainMs` passed), or rejects with the network's error, or with
 * `signal`'s reason once it aborts before the answer.
 */
export async function postUnheld(url: string, given: Record<string, string>, body: string, signal: AbortSignal, hold: LoopHold, limit: number, drainMs: number): Promise<PostAnswer> {
  signal.throwIfAborted();
  const target = new URL(url);
  const agent = AGENTS[target.protocol];
  if (agent === undefined) throw new Error(`${target.protocol} is no http(s) URL`);
  // The user's headers over the notifier's whatever the case of their names: spread into one
  // object, a given `Content-Type` went out beside ours, the two joined by a comma
  // (`application/json, text/plain`), and a receiver that checks it refused every post.
  const merged = new Headers({ 'content-type': 'application/json' });
  for (const [name, value] of Object.entries(given)) merged.set(name, value);
  const headers: Record<string, string> = Object.fromEntries(merged);
  headers.accept ??= '*/*';
  headers['user-agent'] ??= 'node';
  headers['content-length'] = String(Buffer.byteLength(body));
  const request = (target.protocol === 'https:' ? https : http).request(target, { method: 'POST', headers, agent });
  // Before end(), where node:http publishes its start: no monitor's instrument() records it.
  markOwnRequest(request);
  const abort = (): void => void request.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
  signal.addEventListener('abort', abort, { once: true });
  request.on('socket', (socket) => hold.attach(socket));
  try {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      request.once('response', resolve);
      // Kept for the request's life: an error after the answer (an abort while its body is read) is no host's crash.
      request.on('error', reject);
      request.end(body);
    });
    response.on('error', () => {});
    const drain = setTimeout(() => response.destroy(), drainMs);
    drain.unref();
    try {
      let read = 0;
      for await (const chunk of response) {
        read += (chunk as Buffer).byteLength;
        if (read > limit) break;
      }
    } catch {
      // a reset, cut or timed-out answer: its status is known, which is all that matters
    } finally {
      clearTimeout(drain);
    }
    return {
      status: response.statusCode ?? 0,
      headers: {
        get: (name) => {
          const value = response.headers[name.toLowerCase()];
          return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
        },
      },
    };
  } finally {
    signal.removeEventListener('abort', abort);
    hold.detach();
  }
}
