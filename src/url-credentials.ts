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

/**
 * Why a URL's user info cannot be sent (a `%` not followed by two hex digits, or escapes that
 * are no UTF-8: decodeURIComponent throws), or undefined. Taken by the options, such a URL
 * threw "URI malformed" where the exporter's thread started, which ended it three times and
 * failed start(). The reason names the part, never its value (a password).
 */
export function userInfoFault(url: string): string | undefined {
  const u = new URL(url);
  for (const [part, value] of [['user name', u.username], ['password', u.password]] as const) {
    try {
      decodeURIComponent(value);
    } catch {
      return `has a ${part} in its user info whose percent-encoding is malformed (a % not followed by two hex digits, or escapes that are not UTF-8): write a % there as %25`;
    }
  }
  return undefined;
}

/** Splits a URL's user info off into an Authorization header (the given headers win); the URL passed userInfoFault (the options). */
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
 * A path segment shown as it is: a plain lower-case word of at most 20 characters (`api`,
 * `v1`, `push`, `metrics`, `tenant-1`) that is not a run of 8 or more hex digits. Anything
 * else may be a credential: Slack's `T0…/B0…/<24 characters>`, Discord's webhook id and token,
 * Google Chat's space, a vendor's key put in the path (hex, base64, mixed case, long).
 */
const PLAIN_SEGMENT = /^[a-z0-9][a-z0-9._-]{0,19}$/;
const HEX_RUN = /^[0-9a-f]{8,}$/;

/**
 * A receiver's URL as status, errors and logs show it: without user info and query (`?…`),
 * and its path cut at the first segment that is not a plain word (PLAIN_SEGMENT), the rest
 * shown as `…`: `https://mimir.example/api/v1/push` and `https://otlp.example/v1/metrics`
 * whole, `https://hooks.slack.com/services/…`. A chat webhook's URL is its credential
 * (Slack's and Discord's tokens are path segments, Google Chat's are in the query), some
 * vendors put a key in the path, and status goes to agents' contexts and to logs. One rule
 * for the alert notifier, the exporters and the redirects they report.
 */
export function shownUrl(url: string): string {
  const u = new URL(url);
  const segments = u.pathname.split('/');
  const cut = pathCut(segments);
  const path = cut === -1 ? u.pathname : `${segments.slice(0, cut).join('/')}/…`;
  return `${u.origin}${path}${u.search === '' ? '' : '?…'}`;
}

/** The index of the first path segment shownUrl hides (from there on), or -1. */
function pathCut(segments: readonly string[]): number {
  return segments.findIndex((s, i) => i > 0 && s !== '' && !(PLAIN_SEGMENT.test(s) && !HEX_RUN.test(s)));
}

/**
 * Credentials shorter than this are left in a receiver's words: a tenant id or a short value
 * is no secret worth a gap in the reason, and a short one would blank common words.
 */
const SHORTEST_CREDENTIAL = 8;

/**
 * What of a receiver's URL and headers may be a credential, as it could come back in the
 * receiver's answer: the user info, the query's values and the path past its plain words
 * (what shownUrl hides), each as written and decoded, and every header value and word of one
 * (`Bearer <token>`), longest first.
 */
export function credentialsOf(url: string, headers: Record<string, string>): string[] {
  const u = new URL(url);
  const found = new Set<string>();
  const add = (text: string): void => {
    for (const form of [text, safeDecode(text)]) if (form.length >= SHORTEST_CREDENTIAL) found.add(form);
  };
  add(u.username);
  add(u.password);
  for (const pair of u.search.slice(1).split('&')) add(pair.slice(pair.indexOf('=') + 1));
  const segments = u.pathname.split('/');
  const cut = pathCut(segments);
  if (cut !== -1) for (const segment of segments.slice(cut)) add(segment);
  for (const value of Object.values(headers)) for (const word of [value, ...value.split(/\s+/)]) add(word.trim());
  return [...found].sort((a, b) => b.length - a.length);
}

/** `text` with every one of `credentials` (credentialsOf) written `…`. */
export function withoutCredentials(text: string, credentials: readonly string[]): string {
  let out = text;
  for (const c of credentials) out = out.split(c).join('…');
  return out;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
