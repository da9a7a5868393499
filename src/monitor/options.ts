/**
 * Monitor options: one zod schema, the single source of the option types, their defaults
 * and their limits. The CLI's config file and the MCP tools validate against the same one.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../errors.js';
import { toInvalidArgument } from '../schema-errors.js';
import { credentialSchema } from '../schema-credentials.js';
import { refusedPort } from '../fetch-ports.js';
import { userInfoFault } from '../url-credentials.js';
import { DEFAULT_STALL_MS } from '../engine/ring.js';
import { MAX_SERIES_LIMIT } from '../engine/registry.js';
import { OverheadOptionsSchema } from '../overhead/governor.js';
import { InstrumentOptionsSchema, type InstrumentOptions } from '../instrument/options.js';
import { HubOptionsSchema, isClusterWorkerMember } from '../hub/options.js';
import { ProfilingOptionsSchema } from '../profiling/options.js';
import { DEFAULT_BUCKETS, MAX_BUCKETS } from '../analysis/series-walk.js';
import { MIN_SAMPLES_PER_REQUEST } from '../export/batch.js';
import { DEFAULT_INTERVAL_MS, MAX_INTERVAL_MS, MIN_INTERVAL_MS } from './interval.js';
import { MAX_THREAD_HEAP_MB, MIN_THREAD_HEAP_MB, THREAD_KINDS, type ThreadKind } from '../actors/thread-limits.js';

const MiB = 1024 * 1024;
const HEAP_RANGE = `must be an integer from ${MIN_THREAD_HEAP_MB} to ${MAX_THREAD_HEAP_MB} (MB)`;

const isPowerOfTwo = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

function int(min: number, max: number, def: number, what = ''): z.ZodDefault<z.ZodNumber> {
  const range = `must be an integer from ${min} to ${max}${what}`;
  return z
    .number({ error: `${range}` })
    .int({ error: range })
    .min(min, { error: range })
    .max(max, { error: range })
    .default(def);
}

function powerOfTwo(min: number, max: number, def: number) {
  const range = `must be a power of two from ${min} to ${max}`;
  return z
    .number({ error: range })
    .int({ error: range })
    .min(min, { error: range })
    .max(max, { error: range })
    .refine(isPowerOfTwo, { error: range })
    .default(def);
}

export const SystemOptionsSchema = z.strictObject({
  /** Sample cpu_usage, memory_usage, disk_usage and network_io. */
  enabled: z.boolean().default(true),
  /** Filesystems for disk_usage; default: every mounted local filesystem, found with systeminformation. */
  diskPaths: z.array(z.string().min(1).max(4096)).max(64).optional(),
  /** Cadence of the calls that spawn processes (systeminformation fsSize, and the fallbacks off Linux). */
  slowCadenceMs: int(5_000, 3_600_000, 60_000),
});

export const RuntimeOptionsSchema = z.strictObject({
  /** Sample the host's event-loop lag, GC pauses, heap and rss on its main thread. */
  enabled: z.boolean().default(true),
  /**
   * Period of the event-loop delay timer. Each period wakes an idle loop once: 50 ms costs
   * about 0.1% of a core when idle, 20 ms about 0.4%. Stalls shorter than it are seen
   * partly, longer ones fully.
   */
  eventLoopResolutionMs: int(1, 1000, 50),
});

const httpUrl = z
  .string({ error: 'must be an http(s) URL' })
  .max(2048, { error: 'must be at most 2048 characters' })
  .refine(
    (u) => {
      try {
        const p = new URL(u).protocol;
        return p === 'http:' || p === 'https:';
      } catch {
        return false;
      }
    },
    { error: 'must be an http(s) URL' },
  );

/** An http(s) URL that perfwatch posts to: not on a port fetch refuses (fetch-ports.ts); a credential (its user info, path or query). */
const fetchUrl = credentialSchema(
  httpUrl.superRefine((u, ctx) => {
    const port = refusedPort(u);
    if (port !== undefined) ctx.addIssue({ code: 'custom', message: `has port ${port}, which fetch refuses to connect to (a "bad port" of the Fetch standard, as SMTP's, IRC's or X11's are): every post would fail; have the receiver listen on another port` });
  }),
);

/**
 * Request headers of a webhook or an exporter (authorization, tenant): at most 32, names and
 * values bounded, and each one fetch takes (a name with a space, a value with a line break
 * would fail every request, found only in a status' lastError). The message names the
 * header, never its value (a token). Names are case-insensitive: one given twice in two cases
 * went out as both values joined by a comma (`Bearer a, Bearer b`).
 */
const headerRecord = credentialSchema(
  z
    .record(z.string().min(1, { error: 'header names must not be empty' }).max(256, { error: 'header names must be at most 256 characters' }), z.string().max(8192, { error: 'header values must be at most 8192 characters' }), { error: 'must be an object of header names to string values' })
    .refine((h) => Object.keys(h).length <= 32, { error: 'must have at most 32 headers' })
    .superRefine((h, ctx) => {
      const seen = new Map<string, string>();
      for (const [name, value] of Object.entries(h)) {
        const fault = headerFault(name, value);
        if (fault) ctx.addIssue({ code: 'custom', message: fault });
        const before = seen.get(name.toLowerCase());
        if (before !== undefined) ctx.addIssue({ code: 'custom', message: `has header ${JSON.stringify(name)} twice, also as ${JSON.stringify(before)}: header names are case-insensitive, and both values would go out joined by a comma; keep one` });
        seen.set(name.toLowerCase(), name);
      }
    }),
);
const httpHeaders = headerRecord.optional();

/**
 * An exporter's headers: a webhook's, less those that describe the body, which the exporter
 * writes itself (snappy protobuf, or OTLP in its `encoding`), and Host, which fetch drops
 * without a word. Given in another case than the exporter's own (`content-type`), such a
 * header went out beside it, joined by a comma (`application/x-protobuf, application/json`);
 * in the same case it replaced it: either way every request was refused by the receiver, a
 * 4xx that blamed nothing the user could see (until 2026-12-06).
 */
const EXPORTER_SETS: Readonly<Record<string, string>> = {
  'content-type': 'the exporter sets it to what it sends (remote_write: protobuf; OTLP: its encoding, protobuf or json)',
  'content-encoding': 'the exporter sets it to how it compresses (remote_write: snappy; OTLP: none)',
  host: "fetch drops it and sends the url's host: put the host in the url",
};
const exportHeaders = credentialSchema(
  headerRecord.superRefine((h, ctx) => {
    for (const name of Object.keys(h)) {
      const why = EXPORTER_SETS[name.toLowerCase()];
      if (why) ctx.addIssue({ code: 'custom', message: `has header ${JSON.stringify(name)}, which an exporter does not take: ${why}` });
    }
  }),
).optional();

/**
 * Headers undici's fetch takes into a Headers object and then refuses when it sends the
 * request (lib/core/request.js): content-length (its own; one that does not match the body
 * hangs the request or fails it), transfer-encoding, keep-alive, upgrade and expect; connection
 * other than close or keep-alive. Taken here, every request failed as a network error, retried
 * for ever, and nothing was ever sent (until 2026-12-02).
 */
const FETCH_REFUSES = new Set(['content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'expect']);

/** Why fetch would refuse this header (the Fetch standard's rules, as undici applies them), or undefined. */
function headerFault(name: string, value: string): string | undefined {
  const lower = name.toLowerCase();
  if (FETCH_REFUSES.has(lower)) return `has header ${JSON.stringify(name)}, which fetch sets itself or refuses: not content-length, transfer-encoding, keep-alive, upgrade or expect`;
  if (lower === 'connection' && !/^\s*(close|keep-alive)\s*$/i.test(value)) return `has header ${JSON.stringify(name)}, whose value fetch refuses: close or keep-alive only`;
  try {
    new Headers([[name, value]]);
    return undefined;
  } catch {
    try {
      new Headers([[name, '']]);
    } catch {
      return `has an invalid header name ${JSON.stringify(name)}: letters, digits and !#$%&'*+-.^_\`|~ only`;
    }
    // fetch sends a value as bytes and refuses a character that is none (an ellipsis or a
    // typographic quote pasted with a token): its code point and place say which, and a
    // token, all bytes, has no such character to give away.
    const wide = /[^\x00-\xff]/u.exec(value);
    if (wide) return `has a value for header ${JSON.stringify(name)} with a character fetch cannot send, U+${wide[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} at index ${wide.index}: header values are bytes, U+0000 to U+00FF`;
    return `has an invalid value for header ${JSON.stringify(name)}: no line breaks or NUL`;
  }
}

export const AlertOptionsSchema = z.strictObject({
  /** URLs receiving the Alertmanager webhook payload (version 4) when an alert fires or resolves. */
  webhooks: z
    .array(z.union([fetchUrl, z.strictObject({ url: fetchUrl, headers: httpHeaders })]), { error: 'must be an array of http(s) URLs' })
    .max(16, { error: 'must list at most 16 webhooks' })
    .default([]),
  /** An Alertmanager to push alerts to (its api/v2/alerts, under the URL's path: a route prefix is kept). */
  alertmanagerUrl: fetchUrl.optional(),
  /** Firing alerts are re-sent to Alertmanager this often (it resolves alerts that stop arriving). */
  alertmanagerResendMs: int(1_000, 3_600_000, 60_000),
  /** A resolution is notified once it has held this long; a new firing meanwhile cancels it (flapping). */
  resolveHoldMs: int(0, 3_600_000, 30_000),
  /** Transitions kept in memory. */
  historyLimit: int(100, 10_000_000, 100_000),
  /** Notifications waiting per target; beyond it the oldest is dropped and counted. */
  queueLimit: int(1, 100_000, 1_000),
  timeoutMs: int(100, 60_000, 5_000),
  maxAttempts: int(1, 20, 6),
  retryBaseMs: int(10, 60_000, 500),
  /**
   * The address shown as the generator of notifications: each alert's generatorURL is it and
   * `#alert=<fingerprint>`. An http(s) URL: Alertmanager answers 422 to an alert whose
   * generatorURL is not a URI, so any other string failed every post to it (until 2026-12-03).
   */
  externalUrl: httpUrl.default('http://127.0.0.1/perfwatch'),
});

const exportTarget = {
  url: fetchUrl,
  headers: exportHeaders,
  /** How often the series are sent. */
  intervalMs: int(1_000, 3_600_000, 10_000, ' ms'),
  /** A request that takes longer fails (and is retried). */
  timeoutMs: int(100, 120_000, 10_000, ' ms'),
};

/**
 * An export's `instance` or `job`: a label value on every series pushed, held to a tag
 * value's rules (engine/registry.ts). Taken as given, an instance read from /etc/hostname
 * (`readFileSync(…, 'utf8')`, its line break included) pushed every series as
 * `instance="web-1\n"`, beside the `web-1` a scrape names, and a lone surrogate has no UTF-8
 * form, which an OpenTelemetry collector refuses, and with it every request (until 2026-12-03).
 */
const labelValue = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(256, { error: 'must be at most 256 characters' })
  .refine((v) => !/[\x00-\x1f\x7f]/.test(v), { error: 'must not contain control characters (a line break, a tab): it is a label value of every series pushed' })
  .refine((v) => v.isWellFormed(), { error: 'must be well-formed Unicode: it holds a lone UTF-16 surrogate' });

export const ExportOptionsSchema = z.strictObject({
  /** Prometheus remote_write 1.0 receivers (Prometheus with --web.enable-remote-write-receiver, Mimir, Thanos, VictoriaMetrics). */
  remoteWrite: z.array(z.strictObject(exportTarget), { error: 'must be an array of { url, headers?, intervalMs? }' }).max(4, { error: 'must list at most 4 endpoints' }).default([]),
  /** OTLP/HTTP metrics receivers (an OpenTelemetry collector's …/v1/metrics). */
  otlp: z
    .array(z.strictObject({ ...exportTarget, encoding: z.enum(['protobuf', 'json'], { error: 'must be "protobuf" or "json"' }).default('protobuf') }), { error: 'must be an array of { url, headers?, intervalMs?, encoding? }' })
    .max(4, { error: 'must list at most 4 endpoints' })
    .default([]),
  /** The `instance` label and OTLP's service.instance.id (default: host:pid, or host:app-N under PM2). */
  instance: labelValue.optional(),
  /** The `job` label and OTLP's service.name. */
  job: labelValue.default('perfwatch'),
  /** Histogram bounds of the distributions, as /metrics' histogramBuckets (the same default): give both the same to push what is scraped. */
  histogramBuckets: z
    .array(z.number({ error: 'must be finite numbers' }).finite({ error: 'must be finite numbers' }), { error: 'must be an array of numbers' })
    .min(1, { error: 'must have at least 1 bound' })
    .max(MAX_BUCKETS, { error: `must have at most ${MAX_BUCKETS} bounds` })
    .refine((b) => b.every((x, i) => i === 0 || x > b[i - 1]!), { error: 'must ascend strictly' })
    .default([...DEFAULT_BUCKETS]),
  /** Samples (remote_write) or points (OTLP) per request; an export larger than it is sent in several. */
  maxSamplesPerRequest: int(MIN_SAMPLES_PER_REQUEST, 100_000, 5_000),
  /** Requests waiting per endpoint (sending or retrying); beyond it the oldest is dropped and its samples counted. */
  queueLimit: int(1, 10_000, 60),
  /** First retry delay after a 5xx, a 429 or a network error; it doubles up to retryMaxMs. */
  retryBaseMs: int(10, 60_000, 500, ' ms'),
  retryMaxMs: int(10, 600_000, 30_000, ' ms'),
});

export const ReportsOptionsSchema = z.strictObject({
  /** Threads of the report pool (a tunable: optimize() may change it). */
  threads: int(1, 64, 1),
  /** Default verification window of optimize(). */
  verificationWindowMs: int(100, 3_600_000, 60_000, ' ms'),
  /** A report or baseline task running longer fails (ReportTimeoutError) and its thread is replaced. */
  timeoutMs: int(100, 3_600_000, 60_000, ' ms'),
});

export const MonitorOptionsSchema = z.strictObject({
  /** Bucket width and system sampling period. */
  collectionIntervalMs: int(MIN_INTERVAL_MS, MAX_INTERVAL_MS, DEFAULT_INTERVAL_MS, ' ms'),
  /** Cardinality limit: distinct series (name + tags). */
  maxSeries: int(16, MAX_SERIES_LIMIT, 10_000),
  /**
   * Alert rules at most (createAlertRule, the MCP tool): each is judged every round against
   * every series it matches, so their number bounds the alert actor's work (docs/alerts.md).
   * Rules a database holds beyond it are kept; new ones are refused until fewer remain.
   */
  maxAlertRules: int(1, 100_000, 1_000),
  maxTags: int(0, 64, 16),
  maxTagValueLength: int(1, 4096, 128),
  /** Samples per producer ring (12 bytes each). */
  ringCapacity: powerOfTwo(1024, 1 << 26, 1 << 16),
  /**
   * What a full ring does (see OverflowPolicy in engine/ring.ts): 'wait' for the collector while it
   * frees room, within a budget of the thread's time, then drop and count; 'drop' at once;
   * 'block' as long as the collector frees room.
   */
  overflow: z.enum(['wait', 'drop', 'block'], { error: 'must be "wait", "drop" or "block"' }).default('wait'),
  /**
   * The longest a recording thread waits on a full ring whose collector frees nothing (dead,
   * hung or being replaced); after it, samples drop at once (counted) until room appears.
   */
  stallTimeoutMs: int(1, 10_000, DEFAULT_STALL_MS, ' ms'),
  /** Rings in a producer() handle: worker threads that can attach to one handle. */
  producerThreads: int(1, 256, 16),
  /**
   * Whether the monitor's threads run the host's `--require` / `--import` preloads (from its
   * command line and NODE_OPTIONS): 'skip' (an APM agent or auto-instrumentation is not started
   * again on each of them), or 'inherit' (a preload they need, such as a proxy agent for the
   * exporter's and the webhooks' requests). See src/actors/worker-argv.ts.
   */
  threadPreloads: z.enum(['skip', 'inherit'], { error: 'must be "skip" or "inherit"' }).default('skip'),
  /**
   * Each of the monitor's threads' heap limit in MB (resourceLimits.maxOldGenerationSizeMb), by
   * thread; one not given is sized to the options that drive it, at most half a container's
   * memory limit (src/actors/thread-limits.ts). A thread at its limit ends alone, is reported
   * (a fault naming it, its limit and this option) and replaced; the host goes on.
   */
  threadHeapMb: z
    .strictObject(Object.fromEntries(THREAD_KINDS.map((k) => [k, z.number({ error: HEAP_RANGE }).int({ error: HEAP_RANGE }).min(MIN_THREAD_HEAP_MB, { error: HEAP_RANGE }).max(MAX_THREAD_HEAP_MB, { error: HEAP_RANGE }).optional()])) as Record<ThreadKind, z.ZodOptional<z.ZodNumber>>)
    .optional(),
  /** Recent raw samples kept per series. */
  rawCapacity: powerOfTwo(16, 1 << 16, 256),
  /** Closed buckets kept per series (300 × 1 s = 5 minutes). */
  bucketCapacity: int(2, 1_000_000, 300),
  /** One-minute rollups kept per series (360 = 6 hours). */
  rollupCapacity: int(1, 1_000_000, 360),
  /** Bytes for the sketches of closed buckets (older ones keep their stats, lose their shape). */
  sketchLogBytes: int(MiB, 4096 * MiB, 32 * MiB),
  rollupLogBytes: int(MiB, 4096 * MiB, 32 * MiB),
  /** Bytes for the sketches of open buckets (2.5 KB pages, a few per active series; 40 MiB holds the 16,000 pages 32 MiB held before the dense front bins). */
  sketchPoolBytes: int(MiB, 4096 * MiB, 40 * MiB),
  system: SystemOptionsSchema.prefault({}),
  runtime: RuntimeOptionsSchema.prefault({}),
  alerts: AlertOptionsSchema.prefault({}),
  /** The monitor's own CPU and memory budget, and the back-off when it is exceeded. */
  overhead: OverheadOptionsSchema.prefault({}),
  /** Report pool threads and optimize()'s default verification window. */
  reports: ReportsOptionsSchema.prefault({}),
  /** CPU and heap profile captures: where their files go, how many are kept, how often a rule may start one. */
  profiling: ProfilingOptionsSchema.prefault({}),
  /** Push the series to Prometheus remote_write and OTLP/HTTP receivers (see docs/export.md). */
  export: ExportOptionsSchema.prefault({}),
  /**
   * 'sqlite': rollups, the series catalog (and the state other modules persist) in a SQLite
   * file in dataDir, kept for retentionMs and found again by the next start(); 'memory':
   * nothing outlives the process. See docs/storage.md. A node:cluster worker member
   * (`hub: 'cluster'` in a worker) given neither storage nor dataDir takes 'memory': the
   * hub keeps the history, and the workers would all share one default dataDir.
   */
  storage: z.enum(['sqlite', 'memory'], { error: 'must be "sqlite" or "memory"' }).default('sqlite'),
  /** The directory of the database (created on start; one process owns it at a time). */
  dataDir: z
    .string({ error: 'must be a directory path' })
    .min(1, { error: 'must be a directory path' })
    .max(4096, { error: 'must be at most 4096 characters' })
    // No path holds one: the file system calls refuse it, at start() rather than here.
    .refine((d) => !d.includes('\0'), { error: 'must be a directory path without a NUL character' })
    .default('./perfwatch-data'),
  /** How long rollups are kept on disk (default 30 days). */
  retentionMs: int(60_000, 10 * 365 * 86_400_000, 30 * 86_400_000, ' ms'),
  /** How often rollups are written: a crash loses at most this much of what was recorded. */
  storageFlushMs: int(100, 5_000, 5_000, ' ms'),
  /**
   * Auto-instrumentation from start() on, as monitor.instrument() (docs/instrument.md): true
   * for incoming and outgoing HTTP and fetch, or the options of instrument().
   */
  instrument: z.preprocess((v) => (v === true ? {} : v === false ? undefined : v), InstrumentOptionsSchema.optional()),
  /** Cluster aggregation (docs/cluster.md): be a hub of other processes' monitors, or a member of one. */
  hub: HubOptionsSchema.optional(),
});

export type MonitorOptions = Omit<z.input<typeof MonitorOptionsSchema>, 'instrument'> & { instrument?: boolean | InstrumentOptions };
export type ResolvedOptions = z.output<typeof MonitorOptionsSchema>;

export function resolveOptions(options: MonitorOptions | undefined): ResolvedOptions {
  const parsed = MonitorOptionsSchema.safeParse(options ?? {});
  if (!parsed.success) throw toInvalidArgument(parsed.error, options ?? {}, '', 'option', MonitorOptionsSchema);
  const o = parsed.data;
  if (isClusterWorkerMember(o.hub) && options?.storage === undefined && options?.dataDir === undefined) o.storage = 'memory';
  const rollupMs = rollupIntervalMs(o.collectionIntervalMs);
  if (o.bucketCapacity * o.collectionIntervalMs < 2 * rollupMs) {
    throw new InvalidArgumentError('bucketCapacity', `must hold two rollup windows: at least ${Math.ceil((2 * rollupMs) / o.collectionIntervalMs)} buckets at collectionIntervalMs ${o.collectionIntervalMs}`, { value: o.bucketCapacity });
  }
  if (o.export.retryMaxMs < o.export.retryBaseMs) throw new InvalidArgumentError('export.retryMaxMs', `must be at least export.retryBaseMs (${o.export.retryBaseMs})`, { value: o.export.retryMaxMs });
  refuseBadUserInfo(o);
  return o;
}

/**
 * Refuses a URL perfwatch posts to whose user info would not decode (url-credentials.ts): it
 * passed as an http(s) URL, and the exporter's thread, decoding it to send it as Basic
 * authorization, ended at each start ("URI malformed") and failed start(). Here rather than in
 * the schema, whose refusals show the value: this one is a password.
 */
function refuseBadUserInfo(o: ResolvedOptions): void {
  const urls: [string, string | undefined][] = [
    ...o.export.remoteWrite.map((t, i): [string, string] => [`export.remoteWrite[${i}].url`, t.url]),
    ...o.export.otlp.map((t, i): [string, string] => [`export.otlp[${i}].url`, t.url]),
    ...o.alerts.webhooks.map((w, i): [string, string] => (typeof w === 'string' ? [`alerts.webhooks[${i}]`, w] : [`alerts.webhooks[${i}].url`, w.url])),
    ['alerts.alertmanagerUrl', o.alerts.alertmanagerUrl],
  ];
  for (const [field, url] of urls) {
    const fault = url === undefined ? undefined : userInfoFault(url);
    if (fault !== undefined) throw new InvalidArgumentError(field, fault);
  }
}

/** Rollups are one minute wide, or one interval when the interval is longer. */
export function rollupIntervalMs(collectionIntervalMs: number): number {
  return Math.max(60_000, collectionIntervalMs);
}
