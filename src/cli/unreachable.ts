/**
 * Why `perfwatch profile` / `perfwatch report --url` could not reach an endpoint. fetch's own
 * message is "fetch failed"; its cause says what happened (ECONNREFUSED: nothing listens there;
 * ENOTFOUND: no such host; a timeout), which is what the user needs to fix the URL. An
 * endpoint that answered 401 was reached: it refused the token (none, or another), and the
 * user needs the token, not another URL. Any other HTTP error was an answer too (503: its
 * sessions are all taken), said with the server's own message, not as "cannot reach"; so is
 * an answer that is no MCP endpoint's (a web page), said as such.
 */
import { TOKEN_ENV } from '../mcp/http-options.js';

export function unreachable(url: URL, error: unknown): string {
  const e = error as Error & { status?: unknown };
  if (e.status === 401 || e.name === 'UnauthorizedError') {
    const said = e.name === 'UnauthorizedError' ? 'Unauthorized' : e.message;
    return `the MCP endpoint at ${url.href} refused the request, 401 (${said}): give its token with --token or ${TOKEN_ENV}`;
  }
  if (typeof e.status === 'number' && e.status >= 400) return `the MCP endpoint at ${url.href} answered HTTP ${e.status}: ${answered(e)}`;
  // A server answered with something else than JSON-RPC (a web page: the service's own port, or a path beside /mcp).
  if (typeof e.message === 'string' && e.message.startsWith('Unexpected content type')) {
    return `the server at ${url.href} answered, but not as an MCP endpoint (${e.message}): --url is the monitor's MCP endpoint, the URL serveMcp() or serveHttp() gave (its path /mcp)`;
  }
  const cause = (e.cause as Error | undefined)?.message;
  return `cannot reach an MCP endpoint at ${url.href}: ${e.message}${cause ? ` (${cause})` : ''}`;
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
