/**
 * Options of the Streamable HTTP front (monitor.serveMcp, perfwatch serve --mcp-http): one
 * zod schema with their defaults and limits, resolved into the policy the server enforces.
 *
 * - A token (option `token`, else the environment variable PERFWATCH_TOKEN) is required to
 *   listen on anything but a loopback address: the server refuses to start without one.
 *   Given a token, every request must carry `Authorization: Bearer <token>`.
 * - Tools that change state need the token, unless the embedding code allows them without
 *   it (`allowStateChanges`); with neither, the endpoint is read-only.
 * - On a loopback bind, Host (and a browser's Origin) must name the loopback
 *   (DNS-rebinding protection); `allowedHosts` sets the list for any bind.
 * - Memory is bounded: sessions (count, idle expiry, eviction at the cap), the body of one
 *   request, the bytes buffered across requests, connections; slow clients are cut off
 *   (header and request timeouts), and so are clients that stop: a stream whose client
 *   answers no ping, an answer its client does not read.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import { toInvalidArgument } from '../schema-errors.js';
import { MAX_NAME_LENGTH } from '../engine/registry.js';
import { validatePort } from './port.js';
import { TOKEN_ENV, TOKEN_RULE, tokenKeepsRule } from './token.js';
import type { SessionStats } from './sessions.js';
import type { CallStats } from '../monitor/call-gate.js';
import { MAX_BATCH, MAX_TIME_LENGTH, intRange } from './schemas.js';

/** What an HTTP endpoint reports of itself (McpHttpServer.status(), get_monitoring_status). */
export interface EndpointStatus {
  sessions: SessionStats;
  /** Bytes of request bodies held now, and the cap. */
  bufferedBytes: number;
  maxBufferedBytes: number;
  maxBodyBytes: number;
  /** Bodies answered 413 (too long) and 503 (the cap was reached). */
  refusedBodies: { tooLarge: number; busy: number };
  /** Requests refused as no valid MCP message (a body not JSON-RPC, an empty batch, a bad envelope…) since the server started, by kind; the first of each kind is logged to stderr, the rest only counted here. */
  rejected: Record<string, number>;
  /** Answers and streams closed since the server started, their client having left written bytes unread for responseStallMs. */
  stalled: number;
  responseStallMs: number;
  /** Requests with calls in progress and waiting for a place, the limits, and those answered busy (call-gate.ts). */
  calls: CallStats;
  /** Whether the tools that change state run (policy.ts). */
  stateChanges: boolean;
  /** Whether clients must send a token. */
  token: boolean;
}

/** A running Streamable HTTP endpoint. */
export interface McpHttpServer {
  /** `http://127.0.0.1:PORT/mcp` */
  readonly url: string;
  readonly port: number;
  /** Sessions, buffered bytes and refusals (also in get_monitoring_status). */
  status(): EndpointStatus;
  /** Stops accepting connections, closes sessions and open streams. */
  close(): Promise<void>;
}


/** Bytes of tags one batch sample may carry in the largest request (MAX_REQUEST_BYTES). */
export const SAMPLE_TAG_BYTES = 256;
/** Room for the JSON-RPC envelope around the arguments: id, method, params._meta. */
const ENVELOPE_BYTES = 64 * 1024;
/** One batch sample at its longest: name, number and time at their limits, empty tags. */
const LONGEST_SAMPLE = JSON.stringify({ metric_type: 'a'.repeat(MAX_NAME_LENGTH), value: -2.2250738585072014e-308, tags: {}, timestamp: 't'.repeat(MAX_TIME_LENGTH) });

/**
 * The largest request a client needs to send: record_performance_metric with MAX_BATCH
 * samples at their longest, each with SAMPLE_TAG_BYTES of tags, in compact JSON (the
 * arguments of every other tool are far smaller). A larger batch is split by the client.
 */
export const MAX_REQUEST_BYTES = MAX_BATCH * (LONGEST_SAMPLE.length + 1 + SAMPLE_TAG_BYTES) + ENVELOPE_BYTES;

const MiB = 1024 * 1024;
const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export const ServeMcpOptionsSchema = z.strictObject({
  /** TCP port; 0 picks a free one (see the returned url). */
  port: z.number(),
  /** Interface to listen on (default 127.0.0.1); any other than a loopback address needs a token. */
  host: z.string().min(1).max(255).default('127.0.0.1'),
  /** Bearer token clients must send; default: the PERFWATCH_TOKEN environment variable. */
  token: z.string().optional(),
  /** Let clients without the token call the tools that change state (start/stop, record, alert rules, optimize with apply). */
  allowStateChanges: z.boolean().default(false),
  /** Host names (without port; IPv6 in brackets) that Host and a browser's Origin may name; default: the loopback names on a loopback bind, any otherwise. */
  allowedHosts: z.array(z.string().min(1).max(255)).min(1).max(64).optional(),
  /** Sessions of 2025-era clients open at once; at the limit an initialize takes the place of the least recently active idle session, and is answered 503 only when every session has a request or stream in progress. */
  maxSessions: intRange(1, 100_000).default(100),
  /**
   * A session with no request for this long (and no open stream) is closed. Eviction makes
   * room at the limit, so this bounds only how long an idle session is kept (~45 KB each):
   * long enough for a client without a stream to think between calls, since the SDK's client
   * does not initialize again by itself when its session is gone.
   */
  sessionIdleMs: intRange(100, 86_400_000).default(15 * 60_000),
  /** A session with its standalone stream open is sent an MCP ping this often; a client that answers none within sessionPingTimeoutMs has its streams closed, and its session is idle. */
  sessionPingMs: intRange(100, 3_600_000).default(30_000),
  /**
   * At maxSessions with no session idle, a session whose only activity is its open stream (no
   * request in progress) and whose client has sent no request for this long gives its place to
   * a new session: it is closed, its stream ended (evicted). Otherwise such a session is kept.
   */
  sessionStreamIdleMs: intRange(100, 86_400_000).default(5 * 60_000),
  /** How long a session's client has to answer a ping (the SDK's clients answer at once, by themselves). */
  sessionPingTimeoutMs: intRange(100, 600_000).default(20_000),
  /** How long an answer or stream may wait for its client to read what was written before its connection is closed. */
  responseStallMs: intRange(100, 600_000).default(30_000),
  /** Largest request body (default: the largest valid request, MAX_REQUEST_BYTES); a longer one is answered 413. */
  maxBodyBytes: intRange(1024, 1024 * MiB).default(MAX_REQUEST_BYTES),
  /** Bytes of request bodies held at once, across requests; a body beyond it is answered 503 with Retry-After. */
  maxBufferedBytes: intRange(1024, 4096 * MiB).optional(),
  /**
   * Requests with calls (tools, resources, any request of a client's) in progress at once on
   * the endpoint: their answers are built on the host's main thread, which these limits keep
   * for the service. More wait their turn (call-gate.ts).
   */
  maxCallsInProgress: intRange(1, 1_000).default(2),
  /** Of those, requests of one session (a 2025-era client) in progress at once. */
  maxSessionCalls: intRange(1, 1_000).default(2),
  /** Requests waiting for a place at once; one more is answered 429 with Retry-After. */
  maxQueuedCalls: intRange(0, 100_000).default(256),
  /** How long a request waits for a place before it is answered 429 with Retry-After. */
  callQueueMs: intRange(100, 600_000).default(10_000),
  /** Open TCP connections; more are closed at once. */
  maxConnections: intRange(1, 100_000).default(256),
  /** Time a client has to send its request headers. */
  headersTimeoutMs: intRange(100, 600_000).default(10_000),
  /** Time a client has to send its whole request, body included. */
  requestTimeoutMs: intRange(100, 3_600_000).default(30_000),
});

export type ServeMcpOptions = z.input<typeof ServeMcpOptionsSchema>;

export interface HttpPolicy extends Omit<z.output<typeof ServeMcpOptionsSchema>, 'token' | 'allowedHosts' | 'maxBufferedBytes'> {
  token: string | undefined;
  /** Whether the bind address is a loopback one. */
  loopback: boolean;
  /** Names Host and Origin may carry; undefined: any well-formed one. */
  allowedHosts: string[] | undefined;
  maxBufferedBytes: number;
  /** Whether tools that change state run for every client that got through (the token, or allowStateChanges). */
  stateChanges: boolean;
}

/** Whether `host` is a loopback address (a name other than localhost is not trusted to be one). */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (isIP(bare) === 6) return bare === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(bare) || /^::ffff:127\./i.test(bare);
  return false;
}

/** Validates the options and resolves the policy; `env` supplies PERFWATCH_TOKEN. */
export function resolveServeOptions(options: ServeMcpOptions, env: NodeJS.ProcessEnv = process.env): HttpPolicy {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object with a port');
  validatePort(options.port);
  // The token is checked apart: a schema error would echo a short one back.
  const { token: given, ...rest } = options;
  const parsed = ServeMcpOptionsSchema.omit({ token: true }).safeParse(rest);
  if (!parsed.success) throw toInvalidArgument(parsed.error, rest, '', 'option', ServeMcpOptionsSchema);
  const o = parsed.data;
  const fromEnv = env[TOKEN_ENV] === '' ? undefined : env[TOKEN_ENV];
  const token = given ?? fromEnv;
  const field = given !== undefined ? 'token' : TOKEN_ENV;
  if (token !== undefined && !tokenKeepsRule(token)) throw new InvalidArgumentError(field, TOKEN_RULE);
  const loopback = isLoopback(o.host);
  if (!loopback && token === undefined) {
    throw new InvalidArgumentError('token', `is required to listen on ${o.host}, which is not a loopback address: set the token option or ${TOKEN_ENV}`);
  }
  const maxBufferedBytes = o.maxBufferedBytes ?? o.maxBodyBytes + 8 * MiB;
  if (maxBufferedBytes < o.maxBodyBytes) throw new InvalidArgumentError('maxBufferedBytes', `must be at least maxBodyBytes (${o.maxBodyBytes})`, { value: maxBufferedBytes });
  if (o.headersTimeoutMs > o.requestTimeoutMs) throw new InvalidArgumentError('headersTimeoutMs', `must be at most requestTimeoutMs (${o.requestTimeoutMs})`, { value: o.headersTimeoutMs });
  return {
    ...o,
    token,
    loopback,
    allowedHosts: o.allowedHosts?.map((h) => h.toLowerCase()) ?? (loopback ? LOOPBACK_NAMES : undefined),
    maxBufferedBytes,
    stateChanges: token !== undefined || o.allowStateChanges,
  };
}
