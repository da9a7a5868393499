/**
 * Options of the HTTP front (monitor.serveHttp, perfwatch serve --http): those of the MCP
 * endpoint (mcp/http-options.ts: bind, token, Host/Origin, body, connection and timeout
 * limits), which govern the whole server, plus the ones of /metrics and /api. One policy for
 * every route: the token, whenever there is one, is required on all of them.
 */
import { z } from 'zod';
import { InvalidArgumentError, unknownKeyRule } from '../errors.js';
import { toInvalidArgument } from '../schema-errors.js';
import { ServeMcpOptionsSchema, resolveServeOptions, type HttpPolicy, type ServeMcpOptions } from '../mcp/http-options.js';
import { didYouMean } from '../suggest.js';
import { intRange } from '../mcp/schemas.js';
import { DEFAULT_BUCKETS, DEFAULT_MAX_METRICS_BYTES, MAX_BUCKETS, MAX_MAX_METRICS_BYTES, MAX_QUANTILES, MIN_MAX_METRICS_BYTES } from './exposition.js';

const MiB = 1024 * 1024;

const QUANTILE = 'must be a quantile: a number above 0 and below 1';

export const HttpOnlyOptionsSchema = z.strictObject({
  /** Upper bounds of the /metrics histograms' buckets, ascending (default: DEFAULT_BUCKETS, in ms). */
  histogramBuckets: z
    .array(z.number({ error: 'must be a finite number' }).finite({ error: 'must be a finite number' }), { error: 'must be an array of numbers' })
    .min(1, { error: 'must have at least 1 bound' })
    .max(MAX_BUCKETS, { error: `must have at most ${MAX_BUCKETS} bounds` })
    .optional(),
  /** Quantiles (each in (0, 1)) of every histogram, as a summary family `<name>_quantiles` beside it; none by default. */
  quantiles: z
    .array(z.number({ error: QUANTILE }).gt(0, { error: QUANTILE }).lt(1, { error: QUANTILE }), { error: 'must be an array of quantiles' })
    .max(MAX_QUANTILES, { error: `must have at most ${MAX_QUANTILES} quantiles` })
    .optional(),
  /** The window those quantiles cover, back from the scrape. */
  quantileWindowMs: intRange(1000, 3_600_000).default(60_000),
  /**
   * The most bytes a /metrics body takes (64 KiB to 1 GiB; 64 MiB by default). Series that
   * would take it past are left out whole, counted in /api/status (`http.metrics.leftOut`), said
   * in a comment line of the text format and, at the first, in a fault of kind `metrics-limit`.
   * The bodies held for clients still reading them take at most 4 × this in total
   * (held-bodies.ts): a scrape past it is answered 503, at the first a fault `metrics-busy`.
   */
  maxMetricsBytes: intRange(MIN_MAX_METRICS_BYTES, MAX_MAX_METRICS_BYTES).default(DEFAULT_MAX_METRICS_BYTES),
  /** Server-Sent Event streams open at once (/api/events); one more is answered 503. */
  maxEventStreams: intRange(1, 10_000).default(32),
  /** Bytes an event stream may have waiting for a slow client; past it the client is dropped. */
  eventStreamBufferBytes: intRange(1024, 256 * MiB).default(MiB),
  /** How long a stream's client may leave written events unread before it is dropped. */
  eventStreamStallMs: intRange(100, 600_000).default(30_000),
  /** How long a stream lasts before it ends and its client reconnects (so a stopped client's place frees). */
  eventStreamMaxAgeMs: intRange(1000, 86_400_000).default(300_000),
  /** Longest request target (path and query); a longer one is answered 414. */
  maxUrlBytes: intRange(256, 65_536).default(8192),
  /** Reports (POST /api/reports) built at once; one more is answered 503. */
  maxConcurrentReports: intRange(1, 64).default(2),
});

export type HttpOnlyOptions = z.output<typeof HttpOnlyOptionsSchema>;

/** ServeMcpOptions (see there) and the options of /metrics and /api. */
export type ServeHttpOptions = ServeMcpOptions & z.input<typeof HttpOnlyOptionsSchema>;

const HTTP_KEYS = Object.keys(HttpOnlyOptionsSchema.shape);
const MCP_KEYS = Object.keys(ServeMcpOptionsSchema.shape);

export interface ResolvedHttp {
  policy: HttpPolicy;
  http: HttpOnlyOptions & { histogramBuckets: number[] };
}

export function resolveHttpOptions(options: ServeHttpOptions, env: NodeJS.ProcessEnv = process.env): ResolvedHttp {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('options', 'must be an object with a port');
  const mine: Record<string, unknown> = {};
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) (HTTP_KEYS.includes(key) ? mine : rest)[key] = value;
  // An unknown key is named against both halves' keys, so that a typo of an HTTP option finds it.
  const unknown = Object.keys(rest).find((k) => !MCP_KEYS.includes(k));
  if (unknown !== undefined) throw new InvalidArgumentError(unknown, `${unknownKeyRule('option')}${didYouMean(unknown, [...HTTP_KEYS, ...MCP_KEYS])}`);
  const policy = resolveServeOptions(rest as ServeMcpOptions, env);
  const parsed = HttpOnlyOptionsSchema.safeParse(mine);
  if (!parsed.success) throw toInvalidArgument(parsed.error, mine, '', 'option', HttpOnlyOptionsSchema);
  const buckets = parsed.data.histogramBuckets ?? [...DEFAULT_BUCKETS];
  for (let i = 1; i < buckets.length; i++) {
    if (!(buckets[i]! > buckets[i - 1]!)) throw new InvalidArgumentError(`histogramBuckets[${i}]`, `must be above the bound before it (${buckets[i - 1]}): bounds ascend`, { value: buckets[i] });
  }
  const quantiles = parsed.data.quantiles ?? [];
  for (let i = 1; i < quantiles.length; i++) {
    // A quantile given twice would write its series twice.
    if (!(quantiles[i]! > quantiles[i - 1]!)) throw new InvalidArgumentError(`quantiles[${i}]`, `must be above the quantile before it (${quantiles[i - 1]}): quantiles ascend`, { value: quantiles[i] });
  }
  return { policy, http: { ...parsed.data, histogramBuckets: buckets, quantiles } };
}
