/**
 * The user info of a receiver's URL (`https://user:secret@mimir.example/api/v1/push`), sent
 * as HTTP Basic authorization. fetch refuses a URL that carries credentials ("Request cannot
 * be constructed from a URL that includes credentials"), so such a URL, which the options
 * accept as an http(s) URL, would fail every request, be retried forever, and put the
 * password into the error shown in status, the MCP answers and the logs. The exporters and
 * the alert notifier send to the URL without its user info, with an `Authorization` header
 * made of it unless the options gave one, and show the URL without it.
 */

export interface CredentialedTarget {
  /** The URL to fetch: the one given without its user info. */
  url: string;
  /** The headers given, with `Authorization: Basic …` added when the URL carried user info and they had none. */
  headers: Record<string, string>;
}

/** Splits a URL's user info off into an Authorization header (the given headers win). */
export function withUrlCredentials(url: string, headers: Record<string, string>): CredentialedTarget {
  const u = new URL(url);
  if (u.username === '' && u.password === '') return { url, headers };
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  const given = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
  return {
    url: u.href,
    headers: given ? headers : { ...headers, authorization: `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}` },
  };
}


/**
 * A receiver's URL as status, errors and logs show it: without user info and query, and its
 * path cut after the first segment (`https://hooks.slack.com/services/…`). A chat webhook's
 * URL is its credential (Slack's and Discord's tokens are path segments, Google Chat's are in
 * the query), and status goes to agents' contexts and to logs. A path of one segment (`/hook`)
 * is shown whole.
 */
export function shownUrl(url: string): string {
  const u = new URL(url);
  const segments = u.pathname.split('/').filter((s) => s !== '');
  const path = segments.length <= 1 ? u.pathname : `/${segments[0]}/…`;
  return `${u.origin}${path}${u.search === '' ? '' : '?…'}`;
}
