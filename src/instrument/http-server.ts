/**
 * Incoming HTTP requests through node:diagnostics_channel, with no patching of node:http or
 * of any framework: `http.server.request.start` notes the time on the request's connection,
 * `http.server.response.finish` records response_time (ms), throughput and error_rate, tagged
 * endpoint (the route), method and status_class (error_rate without status_class: within a
 * class it would be all 0 or all 1). The route is the framework's template where it
 * publishes one on the request (Fastify's `tracing:fastify.request.handler:start`, Express 5's
 * `tracing:express.router.request:start`), else the path normalised (paths.ts), each under
 * the route cap (capped.ts). A path without a framework's route takes a place under the cap
 * only once it proves to be a route, by an answer other than a 4xx, not to OPTIONS, not on
 * a Fastify server (provesRoute): until then its answers that prove none (a scanner's `/.env`
 * answered 404, or 400 or 405 by a service without a router, 401 by an auth layer in front of
 * every path, a framework's own not-found handler, a CORS layer's preflights) and its aborts
 * are filed under UNMATCHED, outside the cap, so that paths nobody serves do not take the
 * places of the service's routes. A request whose connection closed before its response
 * finished (the client went away) is counted in http_requests_aborted instead, but for one
 * node:http answered 408 itself (its requestTimeout, timedOutByNode), recorded as answered.
 *
 * Per request: two clock reads, two property writes on the connection's flight (Flight), one
 * lookup of the raw URL in a table of recent URLs (recent-urls.ts) that holds the ring and
 * series of the URL's last answer (Recent; else a Map behind it, or the framework's route,
 * and handles cached per route, method and status class) and three ring pushes. Nothing is
 * added to the request or the response, and no listener: a per-request `close` listener and a stamp on the ServerResponse cost more than
 * the rest of the subscriber together (bench:instrument, docs/instrument.md); the
 * connection's `close` is listened to once per connection instead, for every instrument()
 * that meets it (FLIGHTS).
 */
import dc from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { MetricHandle } from '../engine/producer.js';
import type { RingWriter } from '../engine/ring.js';
import { CappedTags, classIndex, classTag, methodTag } from './capped.js';
import type { HttpServerInstrumentOptions } from './options.js';
import { normalizePath } from './paths.js';
import { RecentUrls } from './recent-urls.js';
import type { Recorder, Source } from './recorder.js';
import { monoNow } from '../engine/real-timers.js';

const REQUEST_START = 'http.server.request.start';
const RESPONSE_FINISH = 'http.server.response.finish';
const FASTIFY_HANDLER = 'tracing:fastify.request.handler:start';
const FASTIFY_INIT = 'fastify.initialization';
const EXPRESS_LAYER = 'tracing:express.router.request:start';

/** On the request: the route template a framework matched. */
const ROUTE = Symbol('perfwatch.route');

/** On the request: the routers Express mounted it into at a pattern, innermost first. */
const MOUNTS = Symbol('perfwatch.mounts');

/** A router mount the request went through: its concrete prefix (`baseUrl`) and its template. */
interface Mount {
  base: string;
  template: string;
  up: Mount | undefined;
}

type Routed = IncomingMessage & { [ROUTE]?: string; [MOUNTS]?: Mount; baseUrl?: string; originalUrl?: string };

/**
 * The URL the client asked for. Express (and Connect before it) strip a mount's path from
 * `url` while the middleware mounted there runs, and leave it stripped once that middleware
 * answers: `express.static` at `/static` and at `/assets` both answered `/app.js`, and a health
 * check at `/health` answered `/`. They keep the URL as it came in `originalUrl`.
 */
function urlOf(request: Routed): string {
  return request.originalUrl ?? request.url ?? '/';
}

/** A mount pattern whose segments are one each of the prefix it matched (no wildcard, no optional group). */
const PLAIN_PATTERN = /^(\/[^/*{}()?+]+)+$/;

/** The template of the prefix `base`: the mount's that set it, else `base` with its ids folded. */
function templateOf(req: Routed, base: string): string {
  for (let m = req[MOUNTS]; m !== undefined; m = m.up) if (m.base === base) return m.template;
  return normalizePath(base);
}

/**
 * On a server of perfwatch's own (serveMcp, serveHttp): its requests are the monitor's work,
 * not the service's, so they are not recorded (a 10 s capture over /mcp is not a 10 s request
 * of the service's, nor a scrape of /metrics its traffic). `Symbol.for`, so that two copies
 * of perfwatch in one process skip each other's servers too.
 */
const OWN_SERVER = Symbol.for('perfwatch.own-server');

/**
 * On a server Fastify serves: Fastify names the route of every request its handler runs, so
 * an answer without a route (its not-found handler's, a hook's that redirects to a login page
 * or throws, a body the schema refused, the 503s of a closing app) proves no route there,
 * whatever its status. Set when Fastify is made while attached (FASTIFY_INIT) and when its
 * handler runs, so an app made before instrument() is marked at its first routed request.
 * `Symbol.for`: a fact about the server that two copies of perfwatch share.
 */
const NAMES_ROUTES = Symbol.for('perfwatch.names-routes');

/** Marks `server` as perfwatch's own: instrument() records none of its requests. */
export function markOwnServer(server: Server): void {
  (server as Server & { [OWN_SERVER]?: true })[OWN_SERVER] = true;
}

type Marked = Server & { [OWN_SERVER]?: true; [NAMES_ROUTES]?: true };

interface ServerMessage {
  request: Routed;
  response: ServerResponse;
  socket: Socket;
  server: Marked;
}

/** A request started and not finished yet, with when it started (monoNow()). */
interface Pending {
  response: ServerResponse;
  started: number;
  /** The source's attachment it started in (HttpServerSource.attachment). */
  attachment: number;
}

/**
 * Whom a connection's flights of one source belong to: the source recording them, handed on
 * to the source of a later instrument() that keeps httpServer on (HttpServerSource's
 * `previous`), so that the requests in flight when instrument() is called again are recorded
 * by the new source as the old one would have (they were lost: neither recorded nor counted).
 */
interface Owner {
  source: HttpServerSource;
}

/**
 * What a connection has in flight for one source: its current request inline (one a
 * connection, nearly always), and the requests a client pipelined behind it, in order. One
 * per (connection, source), reused by its every request. The connection holds its first
 * and the others chain from it (almost always there is one source), so a request reaches
 * its start time through the socket's property and this object alone: the arrays of
 * sources and slots they replaced were three more objects a request, each a cache miss
 * away in a loaded server (docs/instrument.md, "Cost").
 */
interface Flight {
  owner: Owner;
  response: ServerResponse | undefined;
  started: number;
  /** The source's attachment `response` started in: one before the current may have finished unseen. */
  attachment: number;
  queue: Pending[] | undefined;
  next: Flight | undefined;
}

/**
 * The handles of one (route, method). A slot (of a status class, or `aborted`) is undefined
 * until made, then holds the route's handles, `other`'s where the registry refused the
 * route's, or null where it refused `other`'s too: nothing records there, and the registry
 * is not asked again (its series never go away, so at maxSeries it stays full).
 */
interface MethodEntry {
  entry: RouteEntry;
  method: string;
  byClass: (ClassHandles | null | undefined)[];
  /** The route's error_rate, once made: each of its classes' handles holds it. */
  errors: MetricHandle | undefined;
  aborted: MetricHandle | null | undefined;
}

interface RouteEntry {
  route: string;
  /** By the request's method as parsed (llhttp takes a fixed set, so the map stays small). */
  methods: Map<string | undefined, MethodEntry>;
  /** The method met last and its entry: node:http hands out the same method strings, so one comparison finds it. */
  lastMethod: string | undefined;
  last: MethodEntry | undefined;
}

/** The three series a request records into, all of one endpoint: the route's, or all `other`'s. */
type ClassHandles = { responseTime: MetricHandle; throughput: MetricHandle; errors: MetricHandle };

/**
 * A URL's last answer: its route's entry, and the method and status of that answer with the
 * ring and series ids it recorded into, in one object. A request that repeats them (the
 * common case: the same URL, method and status again) reads this object and pushes its
 * three samples; the way through the route's entry, the method's, the class array and the
 * handles reads six more objects, each a cache miss away in a loaded server. Never
 * `other`'s (the cap counts each of its requests).
 */
interface Recent {
  readonly url: string;
  readonly entry: RouteEntry;
  method: string | undefined;
  status: number;
  /** Where the three handles push (the recording thread's ring): the same for all three. */
  ring: RingWriter;
  responseTime: number;
  throughput: number;
  errors: number;
  /** error_rate's sample for `status`. */
  error: number;
}

/**
 * On a connection, its flights (one per source that met it). One `close` listener per
 * connection serves them all, so an instrument() that replaces another adds no listener to
 * connections it shares.
 */
const FLIGHTS = Symbol('perfwatch.inflight');
type Held = Socket & { [FLIGHTS]?: Flight };

/** A connection's close: what it had in flight never finished, for every source that met it. */
function onSocketClose(this: Held): void {
  let f = this[FLIGHTS];
  this[FLIGHTS] = undefined;
  if (f === undefined) return;
  const timedOut = timedOutByNode(this);
  for (; f !== undefined; f = f.next) f.owner.source.closed(f, timedOut);
}

/**
 * Whether node:http answered 408 on the connection itself: its `requestTimeout` ran out
 * while a request's body was still arriving, and, the server having no
 * `clientError` listener, it wrote `408 Request Timeout` straight to the socket and destroyed
 * it with ERR_HTTP_REQUEST_TIMEOUT (lib/_http_server.js, socketOnError): no response
 * 'finish' is published. It writes it only if the response in flight has not sent its
 * headers (closed() checks that); a `clientError` listener answers in its own way, unseen. A request whose headers never
 * completed (`headersTimeout`) is not seen at all: node:http publishes no start for it.
 */
function timedOutByNode(socket: Held): boolean {
  const error = (socket as Socket & { errored?: { code?: unknown } | null }).errored;
  if (error?.code !== 'ERR_HTTP_REQUEST_TIMEOUT') return false;
  const server = (socket as Socket & { server?: Server }).server;
  return server !== undefined && server.listenerCount('clientError') === 0;
}

/** `owner`'s flight on a connection whose first is `f`, if it met the connection. */
function flightOf(f: Flight | undefined, owner: Owner): Flight | undefined {
  while (f !== undefined && f.owner !== owner) f = f.next;
  return f;
}

/** The route of requests without a framework's route on paths not proven a route: one label, outside the cap. */
const UNMATCHED = 'unmatched';

/** A 4xx: what a server answers to paths it does not serve (404, 400, 405, an auth layer's 401), so it proves no route. */
function isClientError(status: number): boolean {
  return status >= 400 && status < 500;
}

/**
 * Whether an answer without a framework's route proves its path a route. A 4xx does not; nor
 * does an answer to OPTIONS, which a CORS layer gives every path a browser sends a preflight
 * to, and Express's router gives a route's path itself, without running a layer that names
 * it: each user's `/users/alice` took a route. Nor does any answer on a server whose
 * framework names its routes (NAMES_ROUTES).
 */
function provesRoute(status: number, method: string | undefined, server: Marked | undefined): boolean {
  return !isClientError(status) && method !== 'OPTIONS' && server?.[NAMES_ROUTES] !== true;
}

/** Raw URLs remembered with their route's entry; cleared whole when full (cheap, bounded). */
const PATH_CACHE_SIZE = 4_096;

/**
 * Longest raw URL remembered (in `paths` and the table of recent URLs): a longer one is
 * normalised again at each request. The caches bound their entries, not their bytes: long
 * query strings on a route that answers 200 (a catch-all, a scanner) kept 4,096 URLs of up to
 * node:http's 16 KiB header limit alive, 55 MB of the host's heap for 4,000 URLs of 14 KB.
 */
const MAX_REMEMBERED_URL = 512;

export class HttpServerSource implements Source {
  private readonly recorder: Recorder;
  private readonly errorFrom: number;
  readonly routes: CappedTags<RouteEntry>;
  /** Raw URL → its route's entry (never `other`'s: those go through the cap, which counts them). */
  private readonly paths: Map<string, RouteEntry> = new Map();
  /** In front of `paths`: the URLs met lately with their last answer, found without hashing the request's new URL string. */
  private readonly recent = new RecentUrls<Recent>();
  /** Whom this source's flights belong to: its own, or the one of the source it took over from. */
  private readonly owner: Owner;
  private attached = false;
  /** Counts attach()es: a response in flight from an earlier one may have finished while detached, its finish unseen. */
  private attachment = 0;
  /** Requests whose connection closed before their response finished. */
  aborted = 0;
  /** Requests without a framework's route on paths not proven a route (4xx answers, aborts), filed under UNMATCHED. */
  unmatched = 0;
  /** Requests recorded nowhere: the registry refused their route's series and `other`'s (full before they were made). */
  notRecorded = 0;
  private unmatchedEntry: RouteEntry | undefined;

  /**
   * `previous`: the source of the instrument() this one replaces, which the caller detaches
   * next. This one takes over its requests in flight (their flights' owner), its table of
   * routes proven and of URLs met, and its counters, so that replacing the options (adding a
   * piscina pool, another errorStatusFrom) loses no request and no route. Its table of recent
   * URLs is not taken: it holds error_rate's sample of the old errorStatusFrom.
   */
  constructor(recorder: Recorder, options: HttpServerInstrumentOptions, previous?: HttpServerSource) {
    this.recorder = recorder;
    this.errorFrom = options.errorStatusFrom;
    this.routes = new CappedTags(options.maxRoutes, recorder.maxTagValueLength, (route) => ({ route, methods: new Map(), lastMethod: undefined, last: undefined }), previous?.routes);
    if (previous === undefined) {
      this.owner = { source: this };
      return;
    }
    this.owner = previous.owner;
    this.owner.source = this;
    this.paths = previous.paths;
    this.unmatchedEntry = previous.unmatchedEntry;
    this.attachment = previous.attachment;
    this.aborted = previous.aborted;
    this.unmatched = previous.unmatched;
    this.notRecorded = previous.notRecorded;
  }

  attach(): void {
    if (this.attached) return;
    this.attached = true;
    this.attachment++;
    dc.subscribe(REQUEST_START, this.onStart);
    dc.subscribe(RESPONSE_FINISH, this.onFinish);
    dc.subscribe(FASTIFY_HANDLER, this.onFastify);
    dc.subscribe(FASTIFY_INIT, this.onFastifyMade);
    dc.subscribe(EXPRESS_LAYER, this.onExpress);
  }

  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    dc.unsubscribe(REQUEST_START, this.onStart);
    dc.unsubscribe(RESPONSE_FINISH, this.onFinish);
    dc.unsubscribe(FASTIFY_HANDLER, this.onFastify);
    dc.unsubscribe(FASTIFY_INIT, this.onFastifyMade);
    dc.unsubscribe(EXPRESS_LAYER, this.onExpress);
  }

  private readonly onStart = (message: unknown): void => {
    try {
      const { response, socket } = message as ServerMessage;
      const started = monoNow();
      const held = socket as Held;
      const first = held[FLIGHTS];
      const owner = this.owner;
      const f = first !== undefined && first.owner === owner ? first : flightOf(first, owner);
      if (f === undefined) {
        // A connection's first request (an own server's connections never get a flight, so each of theirs comes here).
        if ((message as ServerMessage).server?.[OWN_SERVER] === true) return;
        held[FLIGHTS] = { owner, response, started, attachment: this.attachment, queue: undefined, next: this.attachedOf(first) };
        if (first === undefined) {
          socket.once('close', onSocketClose);
        }
      } else if (f.response === undefined || (f.attachment !== this.attachment && f.response.writableFinished)) {
        // Free, or holding a response of an earlier attachment that finished while this
        // source was detached (a stop() and start() of the monitor): its finish was never
        // seen. Not one of this attachment's: a response ended at once is writableFinished
        // before its finish is published, and a client's pipelined request starts in that
        // gap (replaced, it was never counted: a quarter of the requests at pipelining 4).
        f.response = response;
        f.started = started;
        f.attachment = this.attachment;
      } else {
        (f.queue ??= []).push({ response, started, attachment: this.attachment });
      }
    } catch (error) {
      this.recorder.fault('instrument-http-server', error);
    }
  };

  private readonly onFinish = (message: unknown): void => {
    try {
      const { request, response, socket } = message as ServerMessage;
      const first = (socket as Held)[FLIGHTS];
      const owner = this.owner;
      const f = first !== undefined && first.owner === owner ? first : flightOf(first, owner);
      if (f === undefined) return;
      let started: number;
      if (f.response === response) {
        started = f.started;
        const next = f.queue?.shift();
        f.response = next?.response;
        f.started = next?.started ?? 0;
        f.attachment = next?.attachment ?? 0;
      } else {
        // Not the connection's first in flight: a pipelined response that finished out of
        // turn, or a request that started before this source attached (not in flight: skipped).
        const i = f.queue?.findIndex((p) => p.response === response) ?? -1;
        if (i === -1) return;
        started = f.queue![i]!.started;
        f.queue!.splice(i, 1);
      }
      const ms = monoNow() - started;
      const status = response.statusCode;
      const method = request.method;
      const route = request[ROUTE];
      if (route === undefined) {
        const url = urlOf(request);
        const recent = this.recent.get(url);
        // ms >= 0 (false for NaN; a difference of two clock readings is finite): valid as the handles check it.
        if (recent !== undefined && recent.status === status && recent.method === method && ms >= 0) {
          const ring = recent.ring;
          ring.push(recent.responseTime, ms);
          ring.push(recent.throughput, 1);
          ring.push(recent.errors, recent.error);
          return;
        }
        this.recordByUrl(url, recent, method, status, ms, (message as ServerMessage).server);
        return;
      }
      this.recordIn(this.routes.get(route), method, status, ms);
    } catch (error) {
      this.recorder.fault('instrument-http-server', error);
    }
  };

  /** A request answered, recorded under `entry` (a framework's route, or UNMATCHED). */
  private recordIn(entry: RouteEntry, method: string | undefined, status: number, ms: number): void {
    const m = this.methodEntry(entry, method);
    const cls = classIndex(status);
    // A slot not made yet (undefined), or one nothing records into (null): classHandles says which.
    const handles = m.byClass[cls] ?? this.classHandles(m, cls);
    if (handles === undefined) return;
    handles.responseTime.record(ms);
    handles.throughput.record(1);
    handles.errors.record(status >= this.errorFrom ? 1 : 0);
  }

  /** The chain from `f` without the flights of sources detached since (a new source's flight goes before it). */
  private attachedOf(f: Flight | undefined): Flight | undefined {
    if (f === undefined) return undefined;
    const rest = this.attachedOf(f.next);
    if (!f.owner.source.attached) return rest;
    f.next = rest;
    return f;
  }

  /**
   * A connection closed: whatever it had in flight never finished, so its client went away (or
   * its socket failed), but for the request node:http answered 408 itself (`timedOut`,
   * timedOutByNode): the one whose response it wrote in place of, the first in flight, if
   * that had sent no headers yet. The requests pipelined behind it were never answered.
   */
  closed(f: Flight, timedOut: boolean): void {
    try {
      if (!this.attached) return;
      // A response that finished while this source was detached (the monitor stopped and
      // started again) is still in the flight, its finish unseen: it was answered, not aborted.
      const head = f.response;
      if (head !== undefined && !head.writableFinished) {
        if (timedOut && !head.headersSent) this.recordTimeout(head.req as Routed, monoNow() - f.started);
        else this.abort(head);
      }
      for (const p of f.queue ?? []) if (!p.response.writableFinished) this.abort(p.response);
    } catch (error) {
      this.recorder.fault('instrument-http-server', error);
    }
  }

  /** node:http's own 408 to `request` (its requestTimeout): recorded as the answer it is, a 4xx (an error from errorStatusFrom 408 down). */
  private recordTimeout(request: Routed, ms: number): void {
    const route = request[ROUTE];
    if (route !== undefined) {
      this.recordIn(this.routes.get(route), request.method, 408, ms);
      return;
    }
    const url = urlOf(request);
    // A 4xx proves no route whatever the server: its path's own label if proven already, else UNMATCHED.
    this.recordByUrl(url, this.recent.get(url), request.method, 408, ms, undefined);
  }

  private abort(response: ServerResponse): void {
    this.aborted++;
    const request = response.req as Routed;
    const entry = this.entry(request);
    const m = this.methodEntry(entry ?? this.unmatchedRoute(), request.method);
    const handle = this.abortedHandle(m);
    if (handle === null) this.notRecorded++;
    else handle.record(1);
    if (entry === undefined) this.unmatched++;
  }

  /** The slot `aborted` of (route, method), made as the slot of a status class is (slot()), `other`'s first. */
  private abortedHandle(m: MethodEntry): MetricHandle | null {
    if (m.aborted !== undefined) return m.aborted;
    const fallback = this.routes.isOther(m.entry) ? null : this.abortedHandle(this.methodEntry(this.routes.otherEntry(), m.method));
    try {
      m.aborted = this.recorder.metric('http_requests_aborted', { endpoint: m.entry.route, method: m.method });
    } catch {
      this.refuse(m.entry);
      m.aborted = fallback;
    }
    return m.aborted;
  }

  private readonly onFastify = (message: unknown): void => {
    const m = message as { request?: { raw?: Routed }; route?: { url?: unknown } };
    const raw = m.request?.raw;
    if (raw === undefined || typeof m.route?.url !== 'string') return;
    raw[ROUTE] = m.route.url;
    const server = (raw.socket as (Socket & { server?: Marked }) | null)?.server;
    if (server !== undefined && server[NAMES_ROUTES] !== true) server[NAMES_ROUTES] = true;
  };

  /** A Fastify app made: its server's answers without a route prove none (NAMES_ROUTES). */
  private readonly onFastifyMade = (message: unknown): void => {
    const server = (message as { fastify?: { server?: Marked } }).fastify?.server;
    if (server !== null && typeof server === 'object') server[NAMES_ROUTES] = true;
  };

  /**
   * Express 5 publishes every layer a request passes; only route handlers (layers with a
   * method) name the route. Their pattern is relative to the router they sit in; the prefix
   * before it is the request's baseUrl, whose template comes from the mounts the request
   * passed (a router at `/orgs/:org` publishes its layer with that pattern and the prefix it
   * matched, `/orgs/acme`), else from baseUrl with its ids folded.
   */
  private readonly onExpress = (message: unknown): void => {
    const m = message as { req?: Routed; layer?: { method?: unknown }; route?: unknown; errorHandler?: boolean };
    const req = m.req;
    if (req === undefined || m.errorHandler === true || m.route === undefined) return;
    const base = req.baseUrl;
    if (m.layer?.method === undefined) {
      if (base && typeof m.route === 'string' && PLAIN_PATTERN.test(m.route)) this.mounted(req, base, m.route);
      return;
    }
    const route = String(m.route);
    req[ROUTE] = base ? templateOf(req, base) + (route === '/' ? '' : route) : route;
  };

  /**
   * A layer mounted at `pattern` (a router, or middleware at a path) took the request with
   * the prefix `base`: its parent's prefix followed by one segment per segment of the pattern.
   */
  private mounted(req: Routed, base: string, pattern: string): void {
    const segments = pattern.split('/').length - 1;
    const parts = base.split('/');
    if (parts.length - 1 < segments) return;
    const parent = parts.slice(0, parts.length - segments).join('/');
    req[MOUNTS] = { base, template: (parent ? templateOf(req, parent) : '') + pattern, up: req[MOUNTS] };
  }

  /**
   * A request answered without a framework's route whose URL, method and status are not the
   * URL's last answer: recorded through the route's entry, which becomes the URL's last
   * answer (`recent`, the slot's object if it holds this URL). An answer that proves no route
   * (provesRoute) takes no place under the cap: on a path whose route is not in the table it
   * goes to UNMATCHED instead, and is never a URL's last answer (the fast path's status and
   * method checks send each one here, so each is counted, and the path's first answer that
   * proves it takes its place).
   */
  private recordByUrl(url: string, recent: Recent | undefined, method: string | undefined, status: number, ms: number, server: Marked | undefined): void {
    const entry = recent?.entry ?? this.paths.get(url) ?? this.byPath(url, provesRoute(status, method, server));
    if (entry === undefined) {
      this.recordUnmatched(method, status, ms);
      return;
    }
    const m = this.methodEntry(entry, method);
    const cls = classIndex(status);
    // A slot not made yet (undefined), or one nothing records into (null): classHandles says which.
    const handles = m.byClass[cls] ?? this.classHandles(m, cls);
    if (handles === undefined) return;
    const error = status >= this.errorFrom ? 1 : 0;
    handles.responseTime.record(ms);
    handles.throughput.record(1);
    handles.errors.record(error);
    const ring = handles.responseTime.sink;
    if (this.routes.isOther(entry) || url.length > MAX_REMEMBERED_URL || handles.throughput.sink !== ring || handles.errors.sink !== ring) return;
    if (recent === undefined) {
      this.recent.set({ url, entry, method, status, ring, responseTime: handles.responseTime.id, throughput: handles.throughput.id, errors: handles.errors.id, error });
      return;
    }
    recent.method = method;
    recent.status = status;
    recent.ring = ring;
    recent.responseTime = handles.responseTime.id;
    recent.throughput = handles.throughput.id;
    recent.errors = handles.errors.id;
    recent.error = error;
  }

  private recordUnmatched(method: string | undefined, status: number, ms: number): void {
    this.unmatched++;
    this.recordIn(this.unmatchedRoute(), method, status, ms);
  }

  private unmatchedRoute(): RouteEntry {
    return (this.unmatchedEntry ??= { route: UNMATCHED, methods: new Map(), lastMethod: undefined, last: undefined });
  }

  /** An aborted request's route: the framework's, else its path's if that is in the table already (an abort proves no route). */
  private entry(request: Routed): RouteEntry | undefined {
    const route = request[ROUTE];
    if (route !== undefined) return this.routes.get(route);
    const url = urlOf(request);
    return this.recent.get(url)?.entry ?? this.paths.get(url) ?? this.byPath(url, false);
  }

  /**
   * A URL not met lately: its normalised route's entry, remembered unless it is `other`'s
   * (which must count each request). With `claim` false (the request proves no route), only
   * a route already in the table, else undefined: no place is taken, nothing is counted.
   */
  private byPath(url: string, claim: boolean): RouteEntry | undefined {
    const route = normalizePath(url);
    const entry = claim ? this.routes.get(route) : this.routes.find(route);
    if (entry !== undefined && !this.routes.isOther(entry) && url.length <= MAX_REMEMBERED_URL) {
      if (this.paths.size >= PATH_CACHE_SIZE) this.paths.clear();
      this.paths.set(url, entry);
    }
    return entry;
  }

  private methodEntry(entry: RouteEntry, raw: string | undefined): MethodEntry {
    if (entry.lastMethod === raw && entry.last !== undefined) return entry.last;
    let m = entry.methods.get(raw);
    if (m === undefined) {
      const method = methodTag(raw);
      m = { entry, method, byClass: [], errors: undefined, aborted: undefined };
      entry.methods.set(raw, m);
    }
    entry.lastMethod = raw;
    entry.last = m;
    return m;
  }

  /**
   * The handles of a slot not made yet, or of one nothing records into (null), when the
   * request is counted in notRecorded and undefined returned. Reached once per (route,
   * method, status class), and per request of a null slot.
   */
  private classHandles(m: MethodEntry, cls: number): ClassHandles | undefined {
    const handles = this.slot(m, cls);
    if (handles !== null) return handles;
    this.notRecorded++;
    return undefined;
  }

  /**
   * The slot of (route, method, status class), made at its first request: the route's three
   * series, else (the registry refused one: maxSeries reached, a tag it does not take) the
   * route counts as refused and `other`'s slot stands in for it, for good. `other`'s slot of
   * the method and class is made first, so that its series exist before the registry fills
   * up, and the requests of routes refused there are still recorded. Made at attach instead,
   * `other`'s series would be every method × status class (11 × 6 × 2 and 11 error_rate:
   * 143), all but a few never used and each taking a place of maxSeries; made here they
   * are at most one slot (two series, and error_rate at a method's first) per method and
   * class the service answers. Only a registry full before a method and class's first
   * request leaves a slot with nothing (null).
   */
  private slot(m: MethodEntry, cls: number): ClassHandles | null {
    const made = m.byClass[cls];
    if (made !== undefined) return made;
    const fallback = this.routes.isOther(m.entry) ? null : this.slot(this.methodEntry(this.routes.otherEntry(), m.method), cls);
    let handles: ClassHandles | null;
    try {
      const tags = { endpoint: m.entry.route, method: m.method, status_class: classTag(cls) };
      // All or none: one by one, the series that fit took places of maxSeries and were never
      // written, the slot being `other`'s once one was refused.
      const made = this.recorder.metrics([
        { name: 'response_time', tags },
        { name: 'throughput', tags },
        ...(m.errors === undefined ? [{ name: 'error_rate', tags: { endpoint: m.entry.route, method: m.method } }] : []),
      ]);
      m.errors ??= made[2]!;
      handles = { responseTime: made[0]!, throughput: made[1]!, errors: m.errors };
    } catch {
      this.refuse(m.entry);
      handles = fallback;
    }
    m.byClass[cls] = handles;
    return handles;
  }

  /** The registry refused a series of `entry`: a route of the table counts once (UNMATCHED is none). */
  private refuse(entry: RouteEntry): void {
    if (entry !== this.unmatchedEntry) this.routes.refuse(entry);
  }
}
