// The JSON API and the event stream of the HTTP front (docs/http.md), as the page uses them.
// Errors carry the server's message (it names the parameter at fault). Paths are relative to
// the page: behind a reverse proxy that serves the monitor under a prefix (/perfwatch/), they
// stay under it.
import { openStream } from './stream.js';

/** The server's clock less the browser's, from the last answer (X-Perfwatch-Now). */
let skew = 0;

/**
 * The monitor's clock, as near as the browser can tell: every time the server keeps is in
 * it, which is not the browser's (another machine's clock, or the server's wall clock after it
 * stepped back: the monitor's never goes back), so ranges are reckoned from this.
 */
export const serverNow = () => Date.now() + skew;

async function answer(res) {
  const now = Number(res.headers.get('x-perfwatch-now'));
  if (Number.isFinite(now) && now > 0) skew = now - Date.now();
  const text = await res.text();
  let body;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const message = body?.error?.message ?? body?.message ?? body?.error ?? text ?? res.statusText;
    const error = new Error(`${res.status}: ${typeof message === 'string' ? message : JSON.stringify(message)}`);
    error.status = res.status;
    error.field = body?.error?.field ?? null;
    throw error;
  }
  return body;
}

/** The longest wait before asking again a server that answered busy, whatever its Retry-After. */
const BUSY_WAIT_MAX_MS = 60_000;
/** Requests waiting to ask again a server that answered busy; `onBusy(waitMs | null)` hears of each change. */
let busyWaiting = 0;
let onBusy = () => {};

/** `fn(waitMs)` when a request waits to ask a busy server again (the longest asked), `fn(null)` when none waits. */
export function whenBusy(fn) {
  onBusy = fn;
}

/**
 * fetch, asked again after the server's Retry-After while it answers 429: the server's calls
 * are at their limit (maxCallsInProgress, docs/http-security.md), a state it says will pass,
 * not a fault. The page said it as an error in red ("429: Too Many Requests: …") and dropped
 * the answer until the next poll; now it says the server is busy and asks again when told.
 * A 429 is a request the server did not start, so a POST is asked again as well.
 */
async function fetchPatiently(url, init) {
  for (;;) {
    const res = await fetch(url, init);
    if (res.status !== 429) return res;
    const seconds = Number(res.headers.get('retry-after'));
    const waitMs = Math.min(BUSY_WAIT_MAX_MS, 1000 * (Number.isFinite(seconds) && seconds >= 1 ? seconds : 1));
    await res.text().catch(() => '');
    busyWaiting++;
    onBusy(waitMs);
    try {
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    } finally {
      if (--busyWaiting === 0) onBusy(null);
    }
  }
}

export async function getJson(path, params = {}) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null) query.set(k, String(v));
  const qs = query.toString();
  return answer(await fetchPatiently(qs ? `${path}?${qs}` : path, { headers: { Accept: 'application/json' } }));
}

export async function postJson(path, body) {
  return answer(await fetchPatiently(path, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body) }));
}

/**
 * One metric's series over [from, to], at most maxPoints points each, the busiest in the range
 * first. `rates`: buckets over the whole range, never raw samples, and a counter's watched
 * steps without a sample at 0 (docs/http.md).
 */
export async function history({ metric, tags, from, to, maxPoints, rates }) {
  const params = { metric, from, to, max_points: maxPoints, order: 'busiest' };
  if (rates) Object.assign(params, { resolution: 'bucketed', zero_fill: true });
  if (tags && Object.keys(tags).length) params.tags = JSON.stringify(tags);
  try {
    return await getJson('api/history', params);
  } catch (error) {
    // More series match than the server ranks (10,000): the first registered, said as such (chart.js).
    if (error.status !== 400 || error.field !== 'order') throw error;
    delete params.order;
    return { ...(await getJson('api/history', params)), unranked: true };
  }
}

/** The monitor's status (the answer's `monitor`; `http` is the server's own). */
export const status = async () => (await getJson('api/status')).monitor;
/** The names of the metrics with data, for the metric picker (the first 1,000 by name). */
export const metricNames = async () => (await getJson('api/names')).names.map((n) => n.name);
/** { alerts: active ones, history: the latest transitions, oldest first }. */
export const alerts = (limit) => getJson('api/alerts', { history: true, limit });

/**
 * The latest report, or null when none was generated yet. Asked with optional=true, which
 * answers that with a 200 of { report: null }: the route's documented 404 was an error in the
 * browser's console on every load of a fresh monitor.
 */
export async function latestReport() {
  const body = await getJson('api/reports/latest', { optional: true });
  return body?.report === null ? null : body;
}

export const generateReport = (from, to) => postJson('api/reports', { from, to });

/** An event's data, or undefined when it is not JSON. */
function parsed(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Opens the event stream: alert transitions (`alert`) and the buckets of `metric` as they
 * close (`buckets`), from now on. `on[event](data)` per event, `onState(open)` when it
 * connects or drops. EventSource reconnects by itself after a drop (a server drops a slow
 * client, or ends a stream at its age), resuming after the last bucket it had.
 *
 * The tabs of one browser share one stream, held by a SharedWorker (stream-worker.js): a
 * browser opens six connections to a server at most, and a stream per tab took them all
 * from the sixth tab on. A browser without SharedWorker opens its own.
 */
export function subscribe(metric, on, onState) {
  const query = new URLSearchParams({ metric, max_points: '1', from: String(serverNow()) });
  // Absolute: the shared worker resolves a relative URL against its own script's.
  const url = new URL(`api/events?${query}`, document.baseURI).href;
  const deliver = (event, text) => {
    const data = parsed(text);
    if (data !== undefined) on[event]?.(data);
  };
  if (typeof SharedWorker !== 'function') return openStream(url, Object.keys(on), deliver, onState);
  const { port } = new SharedWorker(new URL('stream-worker.js', import.meta.url), { name: 'perfwatch-stream', type: 'module' });
  port.onmessage = ({ data }) => {
    if (data.type === 'state') onState(data.open);
    else if (data.type === 'event') deliver(data.name, data.data);
  };
  const join = () => port.postMessage({ type: 'subscribe', url, events: Object.keys(on) });
  const leave = () => port.postMessage({ type: 'leave' });
  join();
  // A tab put in the back/forward cache leaves, and joins again when it is shown.
  const shown = (e) => e.persisted && join();
  addEventListener('pagehide', leave);
  addEventListener('pageshow', shown);
  return () => {
    removeEventListener('pagehide', leave);
    removeEventListener('pageshow', shown);
    leave();
  };
}
