/**
 * Redirects from a receiver (an alert webhook, a remote_write or OTLP endpoint) are not
 * followed: fetch follows a 301 or 302 to a POST with a GET without the body, and the new
 * URL's 2xx counted what was sent as delivered though no receiver ever saw it. The exporters ask
 * fetch for `redirect: 'manual'`, the notifier posts through node:http, which follows none,
 * and both say where the redirect points, so that the URL can be configured instead.
 */
import { shownUrl } from './url-credentials.js';

/** What an answer that is a redirect adds to the error ('' for any other answer). */
export function redirectNote(response: { status: number; headers: { get(name: string): string | null } }, asked: string, what: string): string {
  const location = response.status >= 300 && response.status < 400 ? response.headers.get('location') : null;
  if (location === null) return '';
  return `, redirected to ${redirectTarget(location, asked)}: redirects are not followed (${what} would not reach the receiver), configure that URL instead`;
}

/**
 * A redirect's Location as status shows it: resolved against the URL asked, then as shownUrl()
 * shows a receiver's own URL (no user info, no query, the path cut after its first segment),
 * at most 200 characters. It is the receiver's new URL, and so as much a credential as the one
 * configured: a chat webhook's token in its path or query, a signed URL's in its query.
 */
function redirectTarget(location: string, base: string): string {
  let shown: string;
  try {
    shown = shownUrl(new URL(location, base).href);
  } catch {
    return 'a Location that is no URL';
  }
  return shown.length > 200 ? `${shown.slice(0, 200)}…` : shown;
}
