/**
 * Incoming HTTP requests through node:diagnostics_channel, with no patching of node:http or
 * of any framework: `http.server.request.start` stamps the response with the time,
 * `http.server.response.finish` records response_time (ms), throughput and error_rate, tagged
 * endpoint (the route), method and status_class (error_rate without status_class: within a
 * class it would be all 0 or all 1). The route is the framework's template where it
 * publishes one on the request (Fastify's `tracing:fastify.request.handler:start`, Express 5's
 * `tracing:express.router.request:start`), else the path normalised (paths.ts), each under
 * the route cap (capped.ts). A response closed before it finished (the client went away) is
 * counted in http_requests_aborted instead.
 *
 * Per request: two clock reads, a listener on the response's close, two Map lookups and three
 * ring pushes through handles cached per (route, method, status class).
 */
import dc from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MetricHandle } from '../engine/producer.js';
import { CappedTags, classIndex, classTag, methodTag } from './capped.js';
import type { HttpServerInstrumentOptions } from './options.js';
import { normalizePath } from './paths.js';
import type { Recorder, Source } from './recorder.js';

const REQUEST_START = 'http.server.request.start';
const RESPONSE_FINISH = 'http.server.response.finish';
const FASTIFY_HANDLER = 'tracing:fastify.request.handler:start';
const EXPRESS_LAYER = 'tracing:express.router.request:start';

/** On the response: when its request started (performance.now()), 0 once recorded. */
const STARTED = Symbol('perfwatch.started');
/** On the request: the route template a framework matched. */
const ROUTE = Symbol('perfwatch.route');

type Stamped = ServerResponse & { [STARTED]?: number };
type Routed = IncomingMessage & { [ROUTE]?: string; baseUrl?: string };

interface ServerMessage {
  request: Routed;
  response: Stamped;
}

/** The handles of one (route, method). */
interface MethodEntry {
  route: string;
  method: string;
  byClass: (ClassHandles | undefined)[];
  errors: MetricHandle;
  aborted: MetricHandle | undefined;
}

interface RouteEntry {
  route: string;
  /** By the request's method as parsed (llhttp takes a fixed set, so the map stays small). */
  methods: Map<string | undefined, MethodEntry>;
}

type ClassHandles = { responseTime: MetricHandle; throughput: MetricHandle };

/** Raw URLs remembered with their normalised route; cleared whole when full (cheap, bounded). */
const PATH_CACHE_SIZE = 4_096;

export class HttpServerSource implements Source {
  private readonly recorder: Recorder;
  private readonly errorFrom: number;
  readonly routes: CappedTags<RouteEntry>;
  private readonly paths = new Map<string, string>();
  private attached = false;
  /** Requests closed before their response finished. */
  aborted = 0;

  /** The response's close listener: one function for every response, `this` being the response. */
  private readonly onClose: (this: Stamped) => void;

  constructor(recorder: Recorder, options: HttpServerInstrumentOptions) {
    this.recorder = recorder;
    const source = this;
    this.onClose = function (this: Stamped) {
      source.closed(this);
    };
    this.errorFrom = options.errorStatusFrom;
    this.routes = new CappedTags(options.maxRoutes, recorder.maxTagValueLength, (route) => ({ route, methods: new Map() }));
  }

  attach(): void {
    if (this.attached) return;
    this.attached = true;
    dc.subscribe(REQUEST_START, this.onStart);
    dc.subscribe(RESPONSE_FINISH, this.onFinish);
    dc.subscribe(FASTIFY_HANDLER, this.onFastify);
    dc.subscribe(EXPRESS_LAYER, this.onExpress);
  }

  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    dc.unsubscribe(REQUEST_START, this.onStart);
    dc.unsubscribe(RESPONSE_FINISH, this.onFinish);
    dc.unsubscribe(FASTIFY_HANDLER, this.onFastify);
    dc.unsubscribe(EXPRESS_LAYER, this.onExpress);
  }

  private readonly onStart = (message: unknown): void => {
    try {
      const { response } = message as ServerMessage;
      response[STARTED] = performance.now();
      response.on('close', this.onClose);
    } catch (error) {
      this.recorder.fault('instrument-http-server', error);
    }
  };

  private readonly onFinish = (message: unknown): void => {
    try {
      const { request, response } = message as ServerMessage;
      const started = response[STARTED];
      if (started === undefined || started === 0) return;
      response[STARTED] = 0;
      const ms = performance.now() - started;
      const status = response.statusCode;
      const m = this.methodEntry(this.entry(request), request.method);
      const cls = classIndex(status);
      const handles = m.byClass[cls] ?? this.classHandles(m, cls);
      handles.responseTime.record(ms);
      handles.throughput.record(1);
      m.errors.record(status >= this.errorFrom ? 1 : 0);
    } catch (error) {
      this.recorder.fault('instrument-http-server', error);
    }
  };

  /** A response's close: one that never finished was aborted by the client (or its socket failed). */
  private closed(response: Stamped): void {
    try {
      const started = response[STARTED];
      if (!this.attached || started === undefined || started === 0) return;
      response[STARTED] = 0;
      this.aborted++;
      const m = this.methodEntry(this.entry(response.req as Routed), response.req.method);
      m.aborted ??= this.recorder.metric('http_requests_aborted', { endpoint: m.route, method: m.method });
      m.aborted.record(1);
    } catch (error) {
      this.recorder.fault('instrument-http-server', error);
    }
  }

  private readonly onFastify = (message: unknown): void => {
    const m = message as { request?: { raw?: Routed }; route?: { url?: unknown } };
    const raw = m.request?.raw;
    if (raw !== undefined && typeof m.route?.url === 'string') raw[ROUTE] = m.route.url;
  };

  /**
   * Express 5 publishes every layer a request passes; only route handlers (layers with a
   * method) name the route. Their pattern is relative to the router they sit in: the mount
   * path is the request's baseUrl, normalised (a mount pattern with parameters is not
   * published with the route).
   */
  private readonly onExpress = (message: unknown): void => {
    const m = message as { req?: Routed; layer?: { method?: unknown }; route?: unknown; errorHandler?: boolean };
    const req = m.req;
    if (req === undefined || m.errorHandler === true || m.layer?.method === undefined || m.route === undefined) return;
    const base = req.baseUrl;
    const route = String(m.route);
    req[ROUTE] = base ? normalizePath(base) + (route === '/' ? '' : route) : route;
  };

  private entry(request: Routed): RouteEntry {
    const route = request[ROUTE] ?? this.normalized(request.url ?? '/');
    return this.routes.get(route);
  }

  private normalized(url: string): string {
    let route = this.paths.get(url);
    if (route === undefined) {
      if (this.paths.size >= PATH_CACHE_SIZE) this.paths.clear();
      route = normalizePath(url);
      this.paths.set(url, route);
    }
    return route;
  }

  private methodEntry(entry: RouteEntry, raw: string | undefined): MethodEntry {
    let m = entry.methods.get(raw);
    if (m === undefined) {
      const method = methodTag(raw);
      m = { route: entry.route, method, byClass: [], errors: this.recorder.metric('error_rate', { endpoint: entry.route, method }), aborted: undefined };
      entry.methods.set(raw, m);
    }
    return m;
  }

  /** Reached once per (route, method, status class). */
  private classHandles(m: MethodEntry, cls: number): ClassHandles {
    const tags = { endpoint: m.route, method: m.method, status_class: classTag(cls) };
    const handles = { responseTime: this.recorder.metric('response_time', tags), throughput: this.recorder.metric('throughput', tags) };
    m.byClass[cls] = handles;
    return handles;
  }
}
