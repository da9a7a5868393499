/**
 * Why `perfwatch profile` / `perfwatch report --url` could not reach an endpoint. fetch's own
 * message is "fetch failed"; its cause says what happened (ECONNREFUSED: nothing listens there;
 * ENOTFOUND: no such host), which is what the user needs to fix the URL; a server that took the
 * connection and did not answer within --timeout is said as such, with the wait. An
 * endpoint that answered 401 was reached: it refused the token (none, or another), and the
 * user needs the token, not another URL. Any other HTTP error was an answer too (503: its
 * sessions are all taken), said with the server's own message, not as "cannot reach"; so is
 * an answer that is no MCP endpoint's (a web page, JSON that is not JSON-RPC, an HTTP error of
 * a path other than /mcp), said as such, with where the endpoint is; so is https:// to a server
 * that speaks plain http.
 * What the server said is shown on one line of at most SAID_MAX characters: a body may be
 * megabytes, or the SDK's multi-line list of schema issues, and the line goes to a terminal
 * or an agent's context.
 */
import { TOKEN_ENV } from '../mcp/token.js';

/** The most of a server's words (or the client's about them) a line shows. */
const SAID_MAX = 300;

export function unreachable(url: URL, error: unknown): string {
  const e = error as Error & { status?: unknown; code?: unknown; data?: { timeout?: unknown; text?: unknown } };
  if (isTimeout(e)) return `the server at ${url.href} did not answer within ${e.data.timeout / 1000} s: is it the monitor's MCP endpoint, and running? --timeout waits longer`;
  if (e.status === 401 || e.name === 'UnauthorizedError') {
    const said = e.name === 'UnauthorizedError' ? 'Unauthorized' : e.message;
    return `the MCP endpoint at ${url.href} refused the request, 401 (${shown(said)}): give its token with --token or ${TOKEN_ENV}`;
  }
  if (typeof e.status === 'number' && e.status >= 400) {
    // An error of another path than /mcp (the dashboard's `/`, which serve prints, answers a POST
    // 405) is the wrong URL, not the endpoint's refusal: said with where the endpoint is.
    if (url.pathname !== MCP_PATH) return notMcpLine(url, `HTTP ${e.status}: ${shown(answered(e))}`);
    return `the MCP endpoint at ${url.href} answered HTTP ${e.status}: ${shown(answered(e))}`;
  }
  // A server answered with something else than JSON-RPC (a web page: the service's own port, or
  // a path beside /mcp; JSON of another API, which the client's schema refused).
  const notMcp = e.name === 'ZodError' ? 'its JSON is not JSON-RPC' : typeof e.message === 'string' && e.message.startsWith('Unexpected content type') ? shown(e.message) : undefined;
  if (notMcp !== undefined) return notMcpLine(url, notMcp);
  const cause = e.cause as (Error & { code?: unknown }) | undefined;
  // https:// to a plain-HTTP server: OpenSSL's own words (`ssl3_get_record:wrong version number`) said nothing of the scheme.
  if (url.protocol === 'https:' && typeof cause?.code === 'string' && PLAIN_HTTP.has(cause.code)) {
    const plain = new URL(url.href);
    plain.protocol = 'http:';
    return `the server at ${url.host} speaks plain http, not https (its answer to the TLS handshake was no TLS): use --url ${plain.href}`;
  }
  return `cannot reach an MCP endpoint at ${url.href}: ${shown(String(e.message))}${cause?.message ? ` (${shown(cause.message)})` : ''}`;
}

/** The path of a monitor's MCP endpoint (serveMcp(), serveHttp()). */
const MCP_PATH = '/mcp';

/** OpenSSL's codes for an answer to its handshake that is not TLS: a plain-HTTP server's. */
const PLAIN_HTTP = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG']);

/** The line for a server that answered, but not as an MCP endpoint (`what` it answered), with where the endpoint is. */
function notMcpLine(url: URL, what: string): string {
  return `the server at ${url.href} answered, but not as an MCP endpoint (${what}): --url is the monitor's MCP endpoint, the URL serveMcp() or serveHttp() gave (its path ${MCP_PATH})`;
}

/** Whether the SDK's wait for an answer ran out (the server took the connection, or the request, and said nothing). */
export function isTimeout(error: unknown): error is Error & { data: { timeout: number } } {
  const e = error as { code?: unknown; data?: { timeout?: unknown } } | null;
  return e?.code === 'REQUEST_TIMEOUT' && typeof e.data?.timeout === 'number';
}

/** `text` on one line, cut to SAID_MAX characters with a word that it was. */
function shown(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= SAID_MAX ? line : `${line.slice(0, SAID_MAX)}… (cut: ${line.length} characters in all)`;
}

/** The message of an endpoint's HTTP error: its JSON-RPC error's, else the SDK's. */
function answered(e: Error & { data?: { text?: unknown } }): string {
  const text = e.data?.text;
  if (typeof text === 'string') {
    try {
      const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
      if (typeof message === 'string') return message;
    } catch {
      // Not JSON: the SDK's message carries the text.
    }
  }
  return e.message;
}
