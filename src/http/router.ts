/**
 * Routes of the HTTP front by method and path, and the answers every route shares: JSON,
 * errors as `{ error: { code, field, message } }`, and query parameters read strictly (an
 * unknown or repeated one is a 400 naming it). A route is one entry: the dashboard adds `/`
 * (or a prefix, `/static/*`) the same way.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PerfwatchError } from '../errors.js';

export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** `work` awaited with the request's place of the call gate given back (api-gate.ts): for work done off the main thread. */
  away?: <T>(work: Promise<T>) => Promise<T>;
}

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  /** An exact path, or a prefix ending in `/*`. */
  path: string;
  handle(ctx: RouteContext): Promise<void> | void;
}

/**
 * A client error: the status, the parameter at fault (when one is), and what is wrong. Its
 * code: a 400 (a bad, unknown or repeated parameter or body) is `PW_ERR_INVALID_ARG`, the code
 * the library's own validation answers with, so that a client tells bad input apart by one
 * stable code whichever layer caught it; the others are `HTTP_<status>` (404, 405, 414, 503).
 */
export class HttpError extends Error {
  readonly status: number;
  readonly field: string | undefined;
  readonly headers: Record<string, string>;
  readonly code: string;

  constructor(status: number, message: string, field?: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.field = field;
    this.headers = headers;
    this.code = status === 400 ? 'PW_ERR_INVALID_ARG' : `HTTP_${status}`;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', ...headers });
  res.end(text);
}

/** Answers an error thrown by a route: ours and the library's named ones as 4xx, the rest 500. */
export function sendError(res: ServerResponse, error: unknown, rename: (field: string) => string = (f) => f): void {
  if (error instanceof HttpError) {
    sendJson(res, error.status, { error: { code: error.code, field: error.field ?? null, message: error.message } }, error.headers);
    return;
  }
  if (error instanceof PerfwatchError) {
    const status = error.code === 'PW_ERR_INVALID_ARG' ? 400 : error.code === 'PW_ERR_FORBIDDEN' ? 403 : error.code === 'PW_ERR_BUSY' ? 503 : error.code === 'PW_ERR_REPORT_TIMEOUT' || error.code === 'PW_ERR_TIMEOUT' ? 504 : 409;
    const field = error.field === undefined ? null : rename(error.field);
    const message = field !== null && error.field !== undefined && error.message.startsWith(error.field) ? field + error.message.slice(error.field.length) : error.message;
    sendJson(res, status, { error: { code: error.code, field, message } });
    return;
  }
  sendJson(res, 500, { error: { code: 'HTTP_500', field: null, message: 'Internal error' } });
}

/**
 * A request target as a URL (against a placeholder origin), or undefined when it is none:
 * Node passes on targets such as `http://[`, which URL parsing refuses.
 */
export function requestUrl(target: string | undefined): URL | undefined {
  try {
    // A path is read as a path: against a base, `//metrics` is a URL of the host `metrics`
    // (path `/`, the dashboard) and `//x/api/alerts` one of `x` (path `/api/alerts`).
    if (target !== undefined && target.startsWith('/')) return new URL(`http://perfwatch.invalid${target}`);
    return new URL(target ?? '/', 'http://perfwatch.invalid');
  } catch {
    return undefined;
  }
}

/**
 * The path a request target is routed by: as URL parsing reads it, dot segments resolved
 * (`/./mcp` and `/api/../mcp` are `/mcp`) and a fragment dropped; undefined for a target
 * that is no URL. Every check of a path reads it so, or a target that reaches a route would
 * pass a check meant for another.
 */
export function requestPath(target: string | undefined): string | undefined {
  return requestUrl(target)?.pathname;
}

export class Router {
  private readonly routes: Route[] = [];

  add(...routes: Route[]): this {
    this.routes.push(...routes);
    return this;
  }

  /** The route of a request; throws 404 (no such path) or 405 (not that method). */
  find(method: string, path: string): Route {
    const matching = this.routes.filter((r) => (r.path.endsWith('/*') ? path.startsWith(r.path.slice(0, -1)) : r.path === path));
    if (matching.length === 0) throw new HttpError(404, `Not found: ${path} is no route of this server; see ${this.paths().join(', ')}`, 'path');
    const route = matching.find((r) => r.method === method || (method === 'HEAD' && r.method === 'GET'));
    if (!route) {
      const allowed = [...new Set(matching.map((r) => r.method))].join(', ');
      throw new HttpError(405, `Method Not Allowed: ${path} takes ${allowed}`, 'method', { Allow: allowed });
    }
    return route;
  }

  paths(): string[] {
    return [...new Set(this.routes.map((r) => r.path))];
  }
}

/**
 * The query parameters of a request, each at most once and each one the route takes; `get`
 * reads one (undefined when absent).
 */
export function queryParams(url: URL, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of url.searchParams) {
    if (!allowed.includes(key)) throw new HttpError(400, `unknown query parameter "${key}"${allowed.length ? `; this route takes ${allowed.join(', ')}` : '; this route takes none'}`, key);
    if (out.has(key)) throw new HttpError(400, `query parameter ${key} is given more than once`, key);
    out.set(key, value);
  }
  return out;
}

/** An integer parameter within [min, max], `fallback` when absent. */
export function intParam(params: Map<string, string>, name: string, min: number, max: number, fallback: number): number {
  const text = params.get(name);
  if (text === undefined) return fallback;
  const n = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new HttpError(400, `${name} must be an integer from ${min} to ${max}, got "${text.slice(0, 64)}"`, name);
  return n;
}

/**
 * The points one history answer may build on the host's thread, series (limit) × points each
 * (max_points): within each one's own range, 50 series of 20,000 stored minutes were one
 * answer of 93 MB that held the event loop 5.3 s and took the process's RSS to 930 MB.
 */
export const MAX_ANSWER_POINTS = 100_000;

/** Refuses limit × max_points beyond MAX_ANSWER_POINTS, naming max_points when it was given, else limit. */
export function checkAnswerPoints(params: Map<string, string>, limit: number, maxPoints: number): void {
  if (limit * maxPoints <= MAX_ANSWER_POINTS) return;
  const message = `max_points × limit must be at most ${MAX_ANSWER_POINTS} points, got ${maxPoints} × ${limit} = ${maxPoints * limit}: a history that long holds the host's event loop for seconds; ask for fewer points, or fewer series a page`;
  throw new HttpError(400, message, params.has('max_points') ? 'max_points' : 'limit');
}

/** An ISO 8601 date (`2026-12-05`, midnight UTC) or date and time with its zone (`Z` or `+02:00`). */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[Tt]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})?)?$/;

/**
 * A time parameter: ms since the epoch, or an ISO 8601 date. Date.parse alone took what a
 * typo makes of one (`1 2 3` as 2003-01-02, `+1000` as the year 1000, `12/05/2026` in the
 * server's zone); a time without its zone is refused, as the server's zone is not the caller's.
 */
export function timeParam(params: Map<string, string>, name: string): number | undefined {
  const text = params.get(name);
  if (text === undefined) return undefined;
  const wrong = (why: string): HttpError => new HttpError(400, `${name} must be ms since the epoch or an ISO 8601 date (2026-12-05, 2026-12-05T10:00:00Z, 2026-12-05T11:00:00+01:00)${why}, got "${text.slice(0, 64)}"`, name);
  if (/^-?\d+(\.\d+)?$/.test(text)) {
    // Past ~309 digits a number is Infinity.
    const ms = Number(text);
    if (!Number.isFinite(ms)) throw wrong(': a number of ms that size is no time');
    return ms;
  }
  const iso = ISO_DATE.exec(text);
  if (iso === null) throw wrong('');
  if (text.length > 10 && iso[1] === undefined) throw wrong(': a time needs its zone, Z or an offset such as +01:00');
  // Date.parse rolls a day past its month's over (2026-02-30 as March 2).
  const [y, m, d] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const t = Date.parse(text);
  if (!Number.isFinite(t) || new Date(Date.UTC(y, m - 1, d)).getUTCDate() !== d) throw wrong(': no such date');
  return t;
}

/**
 * A route's `from` with its `to` left out, which is then now: a `from` after it is refused as one
 * after a given `to` is (the library reads the range up to no end and answered it empty, its
 * `from` after its `to`).
 */
export function checkFromBeforeNow(from: number | undefined, to: number | undefined, now: number): void {
  // Past a Date's range (±8.64e15 ms) the library's words say what is wrong.
  if (from === undefined || to !== undefined || from <= now || from > 8.64e15) return;
  throw new HttpError(400, `from (${new Date(from).toISOString()}) must not be after to, which is now (${new Date(now).toISOString()}) when left out: nothing is recorded there yet`, 'from');
}

/** A comma-separated list of names: empty ones left out, and none at all refused (leave the parameter out for all). */
export function namesParam(params: Map<string, string>, name: string): string[] | undefined {
  const text = params.get(name);
  if (text === undefined) return undefined;
  const names = text.split(',').filter((n) => n !== '');
  if (names.length === 0) throw new HttpError(400, `${name} must list at least one metric name, comma-separated (leave it out for every metric), got "${text.slice(0, 64)}"`, name);
  return names;
}

/** A query parameter that is true or false (`fallback` when left out). */
export function boolParam(params: Map<string, string>, name: string, fallback: boolean): boolean {
  const text = params.get(name);
  if (text === undefined) return fallback;
  if (text !== 'true' && text !== 'false') throw new HttpError(400, `${name} must be true or false, got ${JSON.stringify(text.slice(0, 64))}`, name);
  return text === 'true';
}

/** Tags as a JSON object of strings: `tags={"endpoint":"/users"}`. */
export function tagsParam(params: Map<string, string>, name = 'tags'): Record<string, string> | undefined {
  const text = params.get(name);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, `${name} must be a JSON object of strings, such as {"endpoint":"/users"}`, name);
  }
  // The key at fault, and what it got: {"endpoint":1} was refused without saying which tag.
  const bad = Object.entries(value).find(([, v]) => typeof v !== 'string');
  if (bad) {
    const [key, v] = bad;
    throw new HttpError(400, `${name} must be a JSON object of strings, such as {"endpoint":"/users"}: the value of ${JSON.stringify(key.slice(0, 64))} is ${v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`} (${JSON.stringify(v).slice(0, 64)}), not a string`, name);
  }
  return value as Record<string, string>;
}
