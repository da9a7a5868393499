/**
 * The async context the monitor's long-lived work runs in: the one this module was loaded in
 * (a service's static import: no AsyncLocalStorage store, no OpenTelemetry span), not that of
 * the call that started it. Whatever start() and the fronts create (threads and their ports,
 * timers, the alert actor's messages, the notifier's posts, a front's listening socket) keeps
 * the context it was created in for its whole life, and every callback of it runs there. A
 * monitor started inside a span of the service's boot (`tracer.startActiveSpan('bootstrap',
 * …)`), or lazily by the service's first request, ran its 'alert' events and its webhook posts
 * in that span's (that request's) context for good: the host's handlers saw that request's
 * store, and OpenTelemetry filed every post under the boot's ended trace. The caller's own
 * code after its `await` stays in its context: an await resumes in the awaiting function's.
 */
import { AsyncResource } from 'node:async_hooks';

const loaded = new AsyncResource('perfwatch');

/** Runs `fn` (and what it schedules) in the context perfwatch was loaded in, not the caller's. */
export function inOwnContext<T>(fn: () => T): T {
  return loaded.runInAsyncScope(fn);
}
