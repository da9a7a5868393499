/**
 * Options of monitor.instrument() and of the monitor option `instrument`: which sources to
 * subscribe to and their bounds. One zod schema, as for the monitor's options; a pool that is
 * not piscina's is refused here, naming its place (`piscina[1]`).
 */
import { z } from 'zod';
import { toInvalidArgument } from '../schema-errors.js';

function int(min: number, max: number, def: number) {
  const range = `must be an integer from ${min} to ${max}`;
  return z.number({ error: range }).int({ error: range }).min(min, { error: range }).max(max, { error: range }).default(def);
}

/** What instrument() reads of a piscina pool (piscina 4 and 5 expose all of it). */
export interface PiscinaLike {
  run: (...args: never[]) => unknown;
  readonly queueSize: number;
  readonly completed: number;
  readonly options: { maxThreads: number; minThreads?: number };
  readonly histogram: { runTime: { mean: number }; waitTime: { mean: number }; readonly histogram?: { readonly runTimeCount?: number } };
  /** piscina 5: the threads, and how many of them run nothing (pool_wait_time's count of tasks started). */
  readonly threads?: readonly unknown[];
  readonly idleThreads?: number;
}

export function isPiscinaPool(value: unknown): value is PiscinaLike {
  if (value === null || typeof value !== 'object') return false;
  const p = value as Record<string, unknown>;
  const h = p.histogram as Record<string, unknown> | undefined;
  const o = p.options as Record<string, unknown> | undefined;
  return typeof p.run === 'function' && typeof p.queueSize === 'number' && typeof p.completed === 'number' && typeof o?.maxThreads === 'number' && h !== null && typeof h === 'object' && typeof h.runTime === 'object' && typeof h.waitTime === 'object';
}

const pool = z.custom<PiscinaLike>(isPiscinaPool, { error: "must be a piscina pool (new Piscina(...)) with recordTiming on (piscina's default)" });

/** true → the defaults, false → off, an object → on with those options. */
function source<T extends z.ZodRawShape>(shape: T) {
  return z.preprocess(
    (v) => (v === true || v === undefined ? {} : v === false ? { enabled: false } : v),
    z.strictObject({ enabled: z.boolean().default(true), ...shape }, { error: 'must be true, false or an options object' }),
  );
}

const serverShape = {
  /** Responses with a status from this one up count in error_rate (default: 5xx). */
  errorStatusFrom: int(400, 599, 500),
  /** Distinct routes before later ones become `other` (4xx answers and aborts of paths not proven a route go to `unmatched`, outside the cap). */
  maxRoutes: int(1, 10_000, 200),
};

const clientShape = {
  /** Responses with a status from this one up count in api_error_rate (default: 5xx); failures without a response always do. */
  errorStatusFrom: int(400, 599, 500),
  /** Distinct hosts before later ones become `other`. */
  maxHosts: int(1, 10_000, 100),
};

const MAX_POOLS = 64;

const SOURCES_RULE = 'must be true (every source) or an object of sources: httpServer, httpClient, fetch, piscina';

const POOLS_RULE = 'must be an array of piscina pools or an object of them by name';

/**
 * The pools by name, each passed once. A pool given twice (`[pool, pool]`) was sampled as two,
 * its queue and utilisation in two series as if the service had twice the pools.
 */
const pools = z
  .record(z.string().min(1, { error: 'pool names must not be empty' }).max(64, { error: 'pool names must be at most 64 characters' }), pool, {
    // The obvious slip, `{ piscina: pool }`, said as such: "got object" did not say a pool came where its list belongs.
    error: (issue) => (isPiscinaPool(issue.input) ? `${POOLS_RULE}, got a piscina pool itself: pass [pool] or { name: pool }` : POOLS_RULE),
  })
  .superRefine((byName, ctx) => {
    const seen = new Map<PiscinaLike, string>();
    for (const [name, p] of Object.entries(byName)) {
      const first = seen.get(p);
      if (first === undefined) seen.set(p, name);
      else ctx.addIssue({ code: 'custom', path: [name], message: `must be a pool not passed already, got the same pool as ${/^\d+$/.test(first) ? `[${first}]` : JSON.stringify(first)}` });
    }
  });

export const InstrumentOptionsSchema = z.strictObject(
  {
    /** Incoming requests of node:http (and the frameworks over it): response_time, throughput, error_rate, http_requests_aborted. */
    httpServer: source(serverShape),
    /** Outgoing requests of node:http / node:https: api_response_time, api_error_rate. */
    httpClient: source(clientShape),
    /** Outgoing requests of fetch and undici: api_response_time, api_error_rate. */
    fetch: source(clientShape),
    /** Piscina pools to sample every collection interval, as a list (tag pool "0", "1", …) or by name. */
    piscina: z.preprocess(
      (v) => (Array.isArray(v) ? Object.fromEntries(v.map((p, i) => [String(i), p])) : v),
      pools
        .refine((r) => Object.keys(r).length <= MAX_POOLS, { error: `must hold at most ${MAX_POOLS} pools` })
        .default({}),
    ),
  },
  {
    error: (issue) =>
      issue.code !== 'invalid_type'
        ? undefined
        : // false read "got boolean", and did not say what ends instrumentation.
          `${SOURCES_RULE}${issue.input === false ? ', got false (uninstrument() turns instrumentation off)' : ''}`,
  },
);

/** One source: true for its defaults, false for off, or its options. */
export type InstrumentSource<T> = boolean | ({ enabled?: boolean } & Partial<T>);

/** What instrument() takes (every field optional; see InstrumentOptionsSchema). */
export interface InstrumentOptions {
  httpServer?: InstrumentSource<{ errorStatusFrom: number; maxRoutes: number }>;
  httpClient?: InstrumentSource<{ errorStatusFrom: number; maxHosts: number }>;
  fetch?: InstrumentSource<{ errorStatusFrom: number; maxHosts: number }>;
  piscina?: PiscinaLike[] | Record<string, PiscinaLike>;
}
export type ResolvedInstrumentOptions = z.output<typeof InstrumentOptionsSchema>;
export type HttpServerInstrumentOptions = ResolvedInstrumentOptions['httpServer'];
export type HttpClientInstrumentOptions = ResolvedInstrumentOptions['httpClient'];

/** The monitor option: true for every default source, or the options of instrument(). */
export const InstrumentOptionSchema = z.union([z.boolean(), InstrumentOptionsSchema], { error: 'must be true, false or the options of instrument()' });

/** instrument()'s options: true (as the monitor option) or none for every HTTP source at its defaults; false is refused. */
export function resolveInstrumentOptions(options: InstrumentOptions | true | undefined, prefix = ''): ResolvedInstrumentOptions {
  const given = options === true || options === undefined ? {} : options;
  const parsed = InstrumentOptionsSchema.safeParse(given);
  if (!parsed.success) throw toInvalidArgument(parsed.error, given, prefix, 'option', InstrumentOptionsSchema);
  return parsed.data;
}
