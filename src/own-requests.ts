/**
 * The requests perfwatch itself makes from the service's thread (its alert notifications,
 * alerts/post.ts), branded so that instrument() leaves them out: they are the monitor's work,
 * not the service's calls. The brand is on the request, under a `Symbol.for` key, so that every
 * monitor in the process leaves them out, of this copy of perfwatch or another: told by their
 * URL, each monitor left out its own posts only, and a second monitor (a library's beside the
 * application's) recorded the first's webhooks as the service's calls, a failing receiver as a
 * failing dependency at 100% api_error_rate. node:http publishes a request's start when its
 * body is written (ClientRequest's _finish), after the caller got the request to brand.
 */
const OWN_REQUEST = Symbol.for('perfwatch.own-request');

type Branded = { [OWN_REQUEST]?: true };

/** Brands `request` (a node:http ClientRequest, before its end()) as perfwatch's own. */
export function markOwnRequest(request: object): void {
  (request as Branded)[OWN_REQUEST] = true;
}

/** Whether `request` is one perfwatch made (any copy of it in this process). */
export function isOwnRequest(request: unknown): boolean {
  return (request as Branded | null)?.[OWN_REQUEST] === true;
}
