/**
 * Why `perfwatch profile` / `perfwatch report --url` could not reach an endpoint. fetch's own
 * message is "fetch failed"; its cause says what happened (ECONNREFUSED: nothing listens there;
 * ENOTFOUND: no such host; a timeout), which is what the user needs to fix the URL.
 */
export function unreachable(url: URL, error: unknown): string {
  const e = error as Error;
  const cause = (e.cause as Error | undefined)?.message;
  return `cannot reach an MCP endpoint at ${url.href}: ${e.message}${cause ? ` (${cause})` : ''}`;
}
