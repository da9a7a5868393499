/**
 * The CLI's requests to a busy endpoint (`perfwatch report --url`, `perfwatch profile`): an
 * endpoint whose calls fill its share of the host's main thread answers 429 with Retry-After
 * (mcp/call-gate.ts), which the runs printed as "answered HTTP 429" and gave up on, though the
 * server had said when to come back. A 429 is now retried after the wait it names (at least 1
 * s, at most MAX_RETRY_WAIT_S), at most BUSY_RETRIES times, each retry said on stderr; past
 * them, the 429 is the run's answer, said as before. Only a request whose body can be sent
 * again (none, or text: every request of the MCP client) is retried.
 */
import type { FetchLike } from '@modelcontextprotocol/client';

/** How many times one request answered 429 is sent again. */
export const BUSY_RETRIES = 3;
/** The longest wait before a retry, whatever Retry-After says: the run's user is waiting. */
export const MAX_RETRY_WAIT_S = 30;

/** The seconds of a Retry-After header (seconds, or an HTTP date), within [1, MAX_RETRY_WAIT_S]; 1 when absent or unreadable. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number {
  const text = header?.trim() ?? '';
  let seconds = /^\d+$/.test(text) ? Number(text) : Math.ceil((Date.parse(text) - now) / 1000);
  if (!Number.isFinite(seconds)) seconds = 1;
  return Math.min(MAX_RETRY_WAIT_S, Math.max(1, seconds));
}

/** Waits `ms`, or until `signal` aborts (then throws its reason, as fetch would). */
function pause(ms: number, signal: AbortSignal | null | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A fetch that retries a 429 of the endpoint at `url` as above; `say` writes a line to stderr. */
export function busyRetryingFetch(url: URL, say: (line: string) => void, retries = BUSY_RETRIES, send: FetchLike = fetch): FetchLike {
  return async (input, init) => {
    const body = init?.body;
    const resendable = body === undefined || body === null || typeof body === 'string';
    for (let retry = 1; ; retry++) {
      const response = await send(input, init);
      if (response.status !== 429 || !resendable || retry > retries) return response;
      const seconds = retryAfterSeconds(response.headers.get('retry-after'));
      await response.body?.cancel().catch(() => {});
      say(`perfwatch: the MCP endpoint at ${url.host} is busy (HTTP 429); retrying in ${seconds} s as its Retry-After says (retry ${retry} of ${retries})\n`);
      await pause(seconds * 1000, init?.signal);
    }
  };
}
