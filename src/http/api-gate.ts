/**
 * The JSON API's share of the host's main thread: its answers (a status with every section, a
 * page of 1,000 summaries, a history of 100,000 points, a report over 10,000 series) are built
 * on the host's main thread as the MCP endpoint's are, and clients looping on /api/history or
 * POST /api/reports took it from the service as looping MCP clients had. Each /api request
 * takes a place of the same gate as /mcp's calls (monitor/call-gate.ts, one per server: the thread
 * is one): at most maxCallsInProgress in progress, the rest wait their turn, first come first
 * served, for at most callQueueMs, and at most maxQueuedCalls of them; past either, 429 with
 * Retry-After in the API's error shape. A dashboard tab's few requests a second wait a turn
 * and are answered; they are refused only when hundreds wait or a wait lasts 10 s.
 *
 * The event stream (/api/events) is not gated: it is one long answer with its own bound
 * (maxEventStreams), and holding a place for its life would hold every other request.
 */
import type { CallGate } from '../monitor/call-gate.js';
import { HttpError, sendError, type Route } from './router.js';

/** `routes`, each answered only once it has a place of `gate` (held until its answer is done or its client gone). */
export function gateRoutes(gate: CallGate, routes: Route[]): Route[] {
  return routes.map((route) => ({
    ...route,
    handle: async (ctx) => {
      const { res } = ctx;
      const gone = new AbortController();
      const onClose = (): void => gone.abort();
      res.once('close', onClose);
      const place = await gate.acquire(undefined, gone.signal);
      // Its client left while it waited: nothing to answer.
      if (place === undefined) return;
      if ('message' in place) return sendError(res, new HttpError(429, place.message, undefined, { 'Retry-After': String(place.retryAfterSeconds) }));
      res.off('close', onClose);
      if (res.destroyed) place.release();
      else res.once('close', () => place.release());
      await route.handle({ ...ctx, away: (work) => place.away(work) });
    },
  }));
}
