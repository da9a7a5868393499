/**
 * The `hub` option: which side of a hub this monitor is, over which transport, and the
 * bounds of each side. One process is a hub or a member, never both:
 *
 * - `{ listen: PATH }`: a hub on a Unix domain socket (`perfwatch serve --hub PATH`).
 * - `{ connect: PATH }`: a member of the hub at PATH.
 * - `'cluster'` or `{ cluster: true }`: node:cluster; the primary is the hub, every worker a
 *   member, over the cluster's IPC channel.
 */
import cluster from 'node:cluster';
import { z } from 'zod';
import { instanceNameProblem } from './instance-name.js';

const MiB = 1024 * 1024;
/** A hub socket's defaults (socket.ts): far more members than one host runs, and half the 1,024 descriptors a process is often given. */
export const DEFAULT_MAX_CONNECTIONS = 512;
/** A member says hello as soon as it connects: a few seconds is ample for a busy one. */
export const DEFAULT_HELLO_TIMEOUT_MS = 5_000;

function int(min: number, max: number, def: number, unit = '') {
  const range = `must be an integer from ${min} to ${max}${unit}`;
  return z.number({ error: range }).int({ error: range }).min(min, { error: range }).max(max, { error: range }).default(def);
}

/**
 * A socket path: Linux caps sun_path at 108 bytes, the terminating NUL included. A NUL in it
 * ends it there: '/tmp/a\0b.sock' made the socket at '/tmp/a', and a member given the whole
 * path looked for it elsewhere.
 */
const socketPath = z
  .string({ error: 'must be a Unix socket path' })
  .min(1, { error: 'must be a Unix socket path' })
  // 'tcp://host:9000' is a relative path to the system: a hub listened at ./tcp:/host:9000, or a
  // member dialed it and failed with ENOENT at each retry, for good.
  .refine((p) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(p), { error: 'must be a Unix socket path, not a URL: a hub listens, and is reached, on a Unix socket only (a path such as /run/myapp/perfwatch.sock)' })
  .refine((p) => !p.includes('\0'), { error: 'must be a Unix socket path without a NUL character (the system would cut the path at it)' })
  // The bytes said: a path of fewer characters than that can pass it in UTF-8.
  .refine((p) => Buffer.byteLength(p) <= 107, { error: (issue) => `must be at most 107 bytes (the limit of a Unix socket path), not ${Buffer.byteLength(String(issue.input))}` });

/** What the option takes, as its errors say it. */
const HUB_FORMS = "must be 'cluster' or an object: { listen: path } (be the hub), { connect: path } (a member) or { cluster: true }";

export const HubObjectSchema = z
  .strictObject({
    /** Be the hub, on this Unix socket. */
    listen: socketPath.optional(),
    /** Be a member of the hub on this Unix socket. */
    connect: socketPath.optional(),
    /** node:cluster: the primary is the hub, workers are members (over the IPC channel). */
    cluster: z.boolean({ error: 'must be true or false' }).optional(),
    /** A member's name, the `instance` tag of its series on the hub (default: host:app-N under PM2, worker-SLOT for a cluster worker linked to its primary, host:pid otherwise). */
    instance: z
      .string({ error: 'must be a string' })
      .min(1, { error: 'must not be empty' })
      .max(128, { error: 'must be at most 128 characters' })
      // The `instance` tag of each of its series on the hub, held to a tag value's rules
      // (engine/registry.ts), as export.instance is: taken, the hub refused every series of it.
      // The hub holds a hello to the same rule (instance-name.ts, wire.ts).
      .superRefine((s, ctx) => {
        const problem = s.length === 0 || s.length > 128 ? undefined : instanceNameProblem(s);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: s });
      })
      .optional(),
    /** A member's buffer: buckets (one series, one interval each) kept until the hub acknowledges them; beyond it the oldest are dropped and counted. */
    bufferLimit: int(1, 10_000_000, 200_000, ' buckets'),
    /** A member's longest wait between attempts to reach the hub (it starts at 100 ms and doubles). */
    retryMaxMs: int(100, 60_000, 2_000, ' ms'),
    /** The hub marks a member stale after this long without a word from it. */
    staleMs: int(500, 3_600_000, 5_000, ' ms'),
    /** The hub forgets a member (its status; its series stay in the store) after this long without a word from it. */
    dropMs: int(500, 86_400_000, 60_000, ' ms'),
    /**
     * The largest frame either side accepts; a longer one is malformed. A member's may not be
     * larger than its hub's: the hub refuses its hello (hub.ts), where it reset its link at
     * every batch too long for it, for good.
     */
    maxFrameBytes: int(1024, 256 * MiB, 16 * MiB, ' bytes'),
    /**
     * A hub's socket: connections it keeps open at most, members and peers that have not said
     * hello alike; one past it is told so, closed and counted. Each holds a file descriptor of
     * the host's process: unbounded, idle connections used them all up (EMFILE in the host's
     * own fs calls).
     */
    maxConnections: int(1, 100_000, DEFAULT_MAX_CONNECTIONS, ' connections'),
    /** A hub's socket: how long a connection may go without saying hello before it is closed and counted. */
    helloTimeoutMs: int(100, 600_000, DEFAULT_HELLO_TIMEOUT_MS, ' ms'),
  }, { error: (issue) => (issue.code === 'invalid_type' ? HUB_FORMS : undefined) })
  .refine((h) => [h.listen, h.connect, h.cluster === true ? true : undefined].filter((x) => x !== undefined).length === 1, {
    error: 'must give exactly one of listen (be the hub), connect (be a member) or cluster: true',
  })
  .refine((h) => h.dropMs > h.staleMs, { error: (issue) => `must be greater than hub.staleMs (${(issue.input as { staleMs: number }).staleMs} ms)`, path: ['dropMs'] })
  .refine((h) => h.instance === undefined || h.listen === undefined, {
    error: 'names a member (connect, or a cluster worker): this process is the hub (listen), whose own series carry no instance',
    path: ['instance'],
  });

/**
 * The options only one side reads, and what each is, for the other side given one: their
 * defaults hide whether they were given once parsed, so this looks at the input. Taken without
 * a word, a member's maxConnections, or a hub's bufferLimit, read as a bound it kept, while it
 * bounded nothing. A node:cluster process is either side with one `hub` for both (a worker is
 * given the primary's options), and takes them all.
 */
const HUB_ONLY: Record<string, string> = {
  staleMs: 'when it marks a silent member stale',
  dropMs: 'when it forgets a silent member',
  maxConnections: 'the connections its socket keeps open',
  helloTimeoutMs: 'how long its socket waits for a hello',
};
export const MEMBER_ONLY: Record<string, string> = {
  bufferLimit: 'the buckets it keeps while the hub is away',
  retryMaxMs: 'its longest wait between attempts to reach the hub',
};

function otherSideGiven(v: unknown, ctx: z.core.$RefinementCtx): void {
  if (v === null || typeof v !== 'object') return;
  const o = v as Record<string, unknown>;
  if (o.cluster === true || (o.connect === undefined) === (o.listen === undefined)) return;
  const [theirs, mine, other] = o.connect !== undefined ? [HUB_ONLY, 'a member (connect)', "a hub's option"] : [MEMBER_ONLY, 'the hub (listen)', "a member's option"];
  const to = o.connect !== undefined ? 'give it to the hub (listen)' : 'give it to each member (connect)';
  for (const [key, what] of Object.entries(theirs)) {
    if (o[key] === undefined) continue;
    ctx.addIssue({ code: 'custom', path: [key], input: o[key], message: `is ${other} (${what}): this process is ${mine}; ${to}` });
  }
}

export const HubOptionsSchema = z.preprocess((v, ctx) => {
  otherSideGiven(v, ctx);
  return v === 'cluster' ? { cluster: true } : v;
}, HubObjectSchema);

export type HubOptions = z.input<typeof HubObjectSchema> | 'cluster';
export type ResolvedHubOptions = z.output<typeof HubObjectSchema>;

/**
 * Whether these options make this process a node:cluster worker member. Such a member keeps
 * its history in memory by default (the hub, the primary, keeps the cluster's): every worker
 * shares the primary's working directory, so the SQLite default, ./perfwatch-data, would be
 * one directory for all of them, and the second to start would find it locked.
 */
export function isClusterWorkerMember(hub: ResolvedHubOptions | undefined): boolean {
  return hub?.cluster === true && cluster.isWorker;
}
