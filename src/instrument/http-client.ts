/**
 * Outgoing HTTP through node:diagnostics_channel: node:http's `http.client.request.start`,
 * `http.client.response.finish` and `http.client.request.error`, and undici's (fetch's)
 * `undici:request:create`, `undici:request:headers` and `undici:request:error`. Each request
 * is stamped at its start and recorded once, when its final response's headers arrive (an
 * interim 1xx is not the answer) or when it fails without them: api_response_time (ms, tagged method, host, status_class, `error` for
 * no response) and api_error_rate (1 or 0, tagged method and host). Hosts are capped as
 * routes are (capped.ts). A redirect fetch follows is one call with its hops (park()).
 */
import dc from 'node:diagnostics_channel';
import type { MetricHandle } from '../engine/producer.js';
import { isOwnRequest } from '../own-requests.js';
import { CappedTags, CLASS_COUNT, ERROR_CLASS, classIndex, classTag, methodTag } from './capped.js';
import type { HttpClientInstrumentOptions } from './options.js';
import type { Recorder, Source } from './recorder.js';
import { clearImmediate, monoNow, setImmediate } from '../engine/real-timers.js';

/** A request's start time, under the symbol of the source that stamped it (HttpClientSource.started). */
type Stamped = Record<symbol, number | undefined>;

/**
 * Set on a request by every source that sees its start, whichever monitor or instrument() it
 * belongs to: one without this source's stamp but with this mark started before this source
 * was attached (an uninstrument() and instrument() while it was in flight), and is not
 * recorded; counted `untimed` it read as a call answered before its body was written.
 */
const SEEN = Symbol('perfwatch.clientSeen');

/** A redirect answer of a call fetch may follow: recorded as itself unless a hop to its Location starts before setImmediate (HttpClientSource.park). */
interface Parked {
  request: Stamped;
  started: number;
  status: number;
}

/** The two series a call records into, both of one host: the host's, or both `other`'s. */
type ClassHandles = { responseTime: MetricHandle; errors: MetricHandle };

/**
 * The handles of one (host, method), by status class: undefined until made, then the host's,
 * `other`'s where the registry refused the host's, or null where it refused `other`'s too
 * (nothing records there, and the registry, full for good, is not asked again).
 */
interface MethodEntry {
  byClass: (ClassHandles | null | undefined)[];
  /** The host's api_error_rate, once made: each of its classes' handles holds it. */
  errors: MetricHandle | undefined;
  entry: HostEntry;
  method: string;
}

interface HostEntry {
  host: string;
  methods: Map<string, MethodEntry>;
}

/** The channels of one client library and how to read a request's method and host from them. */
export interface ClientChannels {
  kind: string;
  start: string;
  response: string;
  error: string;
  method(request: unknown): string | undefined;
  host(request: unknown): string;
  status(message: unknown): number;
  /**
   * The start may be published after the answer, or never (node:http: once the body is
   * written): a call without a start is recorded untimed. undici publishes it as the request
   * is made, so a call without it began before this source was attached, and is left out.
   */
  startMayLag: boolean;
  /**
   * Where a redirect answer points (origin, path and query, as `url` gives a request's), for
   * a client that follows redirects itself (fetch): the hop that follows is the same call.
   */
  redirectTo?(message: unknown): string | undefined;
  /** The request's origin, path and query (fetch: a followed redirect's hop is found by it). */
  url?(request: unknown): string;
}

export const NODE_HTTP: ClientChannels = {
  kind: 'instrument-http-client',
  start: 'http.client.request.start',
  response: 'http.client.response.finish',
  error: 'http.client.request.error',
  method: (r) => (r as { method?: string }).method,
  host: (r) => nodeDestination(r),
  status: (m) => (m as { response: { statusCode?: number } }).response.statusCode ?? 0,
  startMayLag: true,
};

export const UNDICI: ClientChannels = {
  kind: 'instrument-fetch',
  start: 'undici:request:create',
  response: 'undici:request:headers',
  error: 'undici:request:error',
  method: (r) => (r as { method?: string }).method,
  host: (r) => {
    const origin = String((r as { origin?: unknown }).origin ?? 'unknown').toLowerCase();
    const at = origin.indexOf('//');
    if (at === -1) return origin;
    const host = origin.slice(at + 2);
    // The origin leaves the protocol's default port out (a URL's host does).
    return host.endsWith(']') || !host.includes(':') ? `${host}:${origin.startsWith('https:') ? 443 : 80}` : host;
  },
  status: (m) => (m as { response: { statusCode?: number } }).response.statusCode ?? 0,
  startMayLag: false,
  redirectTo: (m) => {
    const { request, response } = m as { request: { origin?: unknown; path?: unknown }; response: { statusCode?: number; headers?: unknown } };
    if (!REDIRECTS.has(response.statusCode ?? 0) || !Array.isArray(response.headers)) return undefined;
    const headers = response.headers as unknown[];
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() !== 'location') continue;
      try {
        const to = new URL(String(headers[i + 1]), `${String(request.origin)}${String(request.path)}`);
        return `${to.origin}${to.pathname}${to.search}`;
      } catch {
        return undefined;
      }
    }
    return undefined;
  },
  url: (r) => {
    const request = r as { origin?: unknown; path?: unknown };
    return `${String(request.origin)}${String(request.path)}`;
  },
};

/**
 * Where a node:http request went, `host:port` (the host lower-cased, an IPv6 address in
 * brackets, the port always): the request's host, not its Host header (a virtual name, in any
 * case). The port is the Host header's when that names the same host (node:http writes it so,
 * without the protocol's default), else the socket's peer once connected, else the protocol's
 * default (ClientRequest keeps no port).
 */
function nodeDestination(r: unknown): string {
  const request = r as { host?: unknown; protocol?: unknown; socket?: { remotePort?: number } | null; getHeader(n: string): unknown };
  const name = String(request.host ?? 'unknown').toLowerCase();
  const host = name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
  const header = request.getHeader('host');
  let port: string | number | undefined;
  if (typeof header === 'string') {
    const h = header.toLowerCase();
    if (h === host) port = '';
    else if (h.startsWith(`${host}:`)) port = h.slice(host.length + 1);
  }
  if (port === '' || port === undefined) port = (port === undefined ? request.socket?.remotePort : undefined) ?? (request.protocol === 'https:' ? 443 : 80);
  return `${host}:${port}`;
}

/** The statuses fetch follows (with a Location header): its redirect statuses. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * A CONNECT opens a tunnel through a proxy, not a call of the service's: undici's ProxyAgent
 * (and EnvHttpProxyAgent) sends one to the proxy for each connection it opens, before the
 * service's own request goes through it, and the tunnelling libraries over node:http (`tunnel`)
 * do the same. The service's call is the request sent through the tunnel, recorded with its
 * own host, and a tunnel the proxy refuses fails that call. Recorded, a fetch() through a
 * proxy that answered 407 was two failed calls, one of them `CONNECT` to the proxy; every new
 * connection an extra call to the proxy; and node:http's tunnels, whose answer it publishes
 * only when it fails, read as a proxy failing every CONNECT. Neither fetch nor undici's
 * request() sends a CONNECT of its own, so none is a call (as a 101's upgrade is none).
 */
function isTunnel(method: string | undefined): boolean {
  return method === 'CONNECT';
}

/** A 1xx answer that another answer follows: every 1xx but 101 Switching Protocols (RFC 9110, 15.2). */
function isInterim(status: number): boolean {
  return status >= 100 && status < 200 && status !== 101;
}

export class HttpClientSource implements Source {
  private readonly recorder: Recorder;
  private readonly channels: ClientChannels;
  private readonly errorFrom: number;
  readonly hosts: CappedTags<HostEntry>;
  /**
   * Where this source stamps a request's start: one symbol per source, since a request is
   * seen by every source subscribed (two monitors in one process), and each records it once.
   * A symbol shared by all of them let the first to record it clear the stamp, and every
   * other monitor missed each call.
   */
  private readonly started: symbol;
  private attached = false;
  /** Redirect answers of calls fetch may follow, by their Location, until setImmediate (park()); a successor takes them on. */
  private readonly parked: Map<string, Parked[]>;
  private parkedFlush: NodeJS.Immediate | undefined;
  /** A followed redirect's hop → the call's first request, whose host and method tag the call. */
  private readonly firsts = new WeakMap<object, Stamped>();
  /** Calls recorded nowhere: the registry refused their host's series and `other`'s (full before they were made). */
  notRecorded = 0;
  /** Calls recorded in api_error_rate without a time: they ended before node:http published their start (finish()). */
  untimed = 0;

  /**
   * `previous`: the source of the same channels of the instrument() this one replaces, which
   * the caller detaches next. This one takes its symbol, so that the calls it stamped and
   * that are still in flight are recorded here (they were lost: neither recorded nor
   * counted), and its table of hosts and counts.
   */
  constructor(recorder: Recorder, channels: ClientChannels, options: HttpClientInstrumentOptions, previous?: HttpClientSource) {
    this.recorder = recorder;
    this.channels = channels;
    this.errorFrom = options.errorStatusFrom;
    this.hosts = new CappedTags(options.maxHosts, recorder.maxTagValueLength, (host) => ({ host, methods: new Map() }), previous?.hosts);
    this.started = previous?.started ?? Symbol('perfwatch.clientStarted');
    this.parked = previous?.parked ?? new Map();
    this.notRecorded = previous?.notRecorded ?? 0;
    this.untimed = previous?.untimed ?? 0;
  }

  attach(): void {
    if (this.attached) return;
    this.attached = true;
    dc.subscribe(this.channels.start, this.onStart);
    dc.subscribe(this.channels.response, this.onResponse);
    dc.subscribe(this.channels.error, this.onError);
    if (this.parked.size > 0) this.parkedFlush ??= setImmediate(this.flushParked);
  }

  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    dc.unsubscribe(this.channels.start, this.onStart);
    dc.unsubscribe(this.channels.response, this.onResponse);
    dc.unsubscribe(this.channels.error, this.onError);
    clearImmediate(this.parkedFlush);
    this.parkedFlush = undefined;
  }

  private readonly onStart = (message: unknown): void => {
    const request = (message as { request: Stamped }).request;
    // Not stamped, so never recorded: a notification of perfwatch's own, any monitor's, or a tunnel (finish()).
    if (isOwnRequest(request) || isTunnel(this.channels.method(request))) return;
    request[this.started] = monoNow();
    request[SEEN] = 1;
    if (this.parked.size > 0) this.follow(request);
  };

  /**
   * A hop of a redirect fetch follows (a request to a parked answer's Location): the same
   * call, timed from its first request's start, tagged with its first request's host and
   * method, and answered by the last hop's response.
   */
  private follow(request: Stamped): void {
    const key = this.channels.url!(request);
    const waiting = this.parked.get(key);
    const from = waiting?.shift();
    if (from === undefined) return;
    if (waiting!.length === 0) this.parked.delete(key);
    request[this.started] = from.started;
    this.firsts.set(request, this.firsts.get(from.request) ?? from.request);
  }

  /**
   * Holds a redirect answer (fetch) whose Location is known, until setImmediate: fetch
   * creates the hop it follows with (microtasks after the answer's headers), and that hop is
   * the same call. One not followed (redirect: 'manual', 'error', a limit reached) is
   * recorded as itself then. Counted per hop, 3 fetch() calls through a 302 were 6 calls,
   * and none was timed to the answer its caller got.
   */
  private park(request: Stamped, message: unknown, status: number): boolean {
    const started = request[this.started];
    if (started === undefined || started === 0) return false;
    const to = this.channels.redirectTo!(message);
    if (to === undefined) return false;
    // This hop is over: a later error of its own (its body left unread) is not the call's.
    request[this.started] = 0;
    const waiting = this.parked.get(to);
    if (waiting === undefined) this.parked.set(to, [{ request, started, status }]);
    else waiting.push({ request, started, status });
    this.parkedFlush ??= setImmediate(this.flushParked);
    return true;
  }

  /** Records the redirect answers no hop followed, each as its own call. */
  private readonly flushParked = (): void => {
    this.parkedFlush = undefined;
    try {
      for (const waiting of this.parked.values()) for (const p of waiting) this.record(p.request, p.started, classIndex(p.status), p.status >= this.errorFrom);
    } catch (error) {
      this.recorder.fault(this.channels.kind, error);
    } finally {
      this.parked.clear();
    }
  };

  private readonly onResponse = (message: unknown): void => {
    try {
      const status = this.channels.status(message);
      // An interim answer (100 Continue, 102 Processing, 103 Early Hints) is not the call's:
      // undici publishes `undici:request:headers` for each of them too, and the first one
      // ended the call, so a fetch() whose upstream sent Early Hints before a 503 was filed
      // under 1xx, no error, timed to the hint. The final answer follows on the same request.
      // 101 Switching Protocols is final. node:http publishes final answers only.
      if (isInterim(status)) return;
      const request = (message as { request: Stamped }).request;
      if (status >= 300 && status < 400 && this.channels.redirectTo !== undefined && this.park(request, message, status)) return;
      this.finish(request, classIndex(status), status >= this.errorFrom);
    } catch (error) {
      this.recorder.fault(this.channels.kind, error);
    }
  };

  private readonly onError = (message: unknown): void => {
    try {
      this.finish((message as { request: Stamped }).request, ERROR_CLASS, true);
    } catch (error) {
      this.recorder.fault(this.channels.kind, error);
    }
  };

  /**
   * Records a request once: a failure after its headers (a body cut short) is not a second
   * request. One never stamped is recorded in api_error_rate alone, and counted `untimed`:
   * node:http publishes a request's start only once its body is written (ClientRequest's
   * _finish, Node 20), so an upload answered early (413, 401) or cut (a reset, a refused
   * connection: a proxy's piped body), or a lookup that failed at once, ended without one; its
   * failure went unrecorded, uncounted. Its time is not known. One whose start another source
   * saw (SEEN), or a fetch() without a start, began before this source was attached: left out.
   */
  private finish(request: Stamped, cls: number, failed: boolean): void {
    const started = request[this.started];
    if (started === 0) return;
    // perfwatch's own calls are never stamped either, nor tunnels: node:http publishes a failed CONNECT's error.
    if (started === undefined && (isOwnRequest(request) || isTunnel(this.channels.method(request)))) return;
    // Started before this source was attached: not this source's to record.
    if (started === undefined && (request[SEEN] !== undefined || !this.channels.startMayLag)) return;
    request[this.started] = 0;
    this.record(request, started, cls, failed);
  }

  /** Records one call: its time (none: untimed) and whether it failed, under its first request's host and method. */
  private record(request: Stamped, started: number | undefined, cls: number, failed: boolean): void {
    const first = this.channels.redirectTo === undefined ? request : (this.firsts.get(request) ?? request);
    const m = this.methodEntry(this.hosts.get(this.channels.host(first)), methodTag(this.channels.method(first)));
    // A slot not made yet (undefined), or one nothing records into (null): slot() says which.
    const handles = m.byClass[cls] ?? this.slot(m, cls);
    if (handles === null) {
      this.notRecorded++;
      return;
    }
    if (started === undefined) this.untimed++;
    else handles.responseTime.record(monoNow() - started);
    handles.errors.record(failed ? 1 : 0);
  }

  private methodEntry(entry: HostEntry, method: string): MethodEntry {
    let m = entry.methods.get(method);
    if (m === undefined) {
      m = { entry, method, byClass: new Array(CLASS_COUNT), errors: undefined };
      entry.methods.set(method, m);
    }
    return m;
  }

  /**
   * The slot of (host, method, status class), made at its first call: the host's series, else
   * (the registry refused one: maxSeries reached, a tag it does not take) the host counts as
   * refused and `other`'s slot stands in for it, for good. `other`'s slot is made first, so
   * that its series exist before the registry fills up (why not at attach: the incoming
   * side's slot(), http-server.ts).
   */
  private slot(m: MethodEntry, cls: number): ClassHandles | null {
    const made = m.byClass[cls];
    if (made !== undefined) return made;
    const other = this.hosts.otherEntry();
    const fallback = m.entry === other ? null : this.slot(this.methodEntry(other, m.method), cls);
    let handles: ClassHandles | null;
    try {
      // Both or neither (as the incoming side's slot()): one refused leaves no series taking a place of maxSeries unwritten.
      const made = this.recorder.metrics([
        { name: 'api_response_time', tags: { host: m.entry.host, method: m.method, status_class: classTag(cls) } },
        ...(m.errors === undefined ? [{ name: 'api_error_rate', tags: { host: m.entry.host, method: m.method } }] : []),
      ]);
      m.errors ??= made[1]!;
      handles = { responseTime: made[0]!, errors: m.errors };
    } catch {
      this.hosts.refuse(m.entry);
      handles = fallback;
    }
    m.byClass[cls] = handles;
    return handles;
  }
}
