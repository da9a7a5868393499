/**
 * The CLI's requests to a busy endpoint (`perfwatch report --url`, `perfwatch profile`): an
 * endpoint whose calls fill its share of the host's main thread answers 429 with Retry-After
 * (monitor/call-gate.ts), which the runs printed as "answered HTTP 429" and gave up on, though
 * the server had said when to come back. A 429 is retried after the wait it names, each retry
 * said on stderr, for as long as the run's --timeout allows from the request's first send (its
 * budget, less BUDGET_MARGIN_MS so that the busy answer, not the client's "did not answer",
 * ends a run that runs out of it); a Retry-After longer than what is left, or a retry still
 * waiting in the server's queue when the budget ends, leaves the last 429 the run's answer,
 * said as before. Three retries whatever the server said gave up after 9 s of waits on a
 * server whose queue holds a request 10 s (callQueueMs) before its 429, and its fourth 429
 * came after the run's 30 s had gone: the run said the server "did not answer". Only a
 * request whose body can be sent again (none, or text: every request of the MCP client) is
 * retried.
 */
import type { FetchLike } from '@modelcontextprotocol/client';

/** What the budget leaves the client's own timeout of the same request (it starts first, and must end after). */
export const BUDGET_MARGIN_MS = 1_000;

/** The seconds of a Retry-After header (seconds, or an HTTP date), at least 1; 1 when absent or unreadable. */
export function retryAfterSeconds(header: string | null, now = Date.now()): number {
  const text = header?.trim() ?? '';
  let seconds = /^\d+$/.test(text) ? Number(text) : Math.ceil((Date.parse(text) - now) / 1000);
  if (!Number.isFinite(seconds)) seconds = 1;
  return Math.max(1, seconds);
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

/** A 429 kept to be the answer: its body read, so that it can be answered after a retry was tried. */
async function kept(response: Response): Promise<Response> {
  const body = await response.text().catch(() => '');
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/**
 * A fetch that retries a 429 of the endpoint at `url` as above, within `timeoutMs` (the run's
 * --timeout) of each request's first send; `say` writes a line to stderr.
 */
export function busyRetryingFetch(url: URL, say: (line: string) => void, timeoutMs: number, send: FetchLike = fetch): FetchLike {
  const budgetMs = Math.max(0, timeoutMs - BUDGET_MARGIN_MS);
  return async (input, init) => {
    const body = init?.body;
    const resendable = body === undefined || body === null || typeof body === 'string';
    const deadline = Date.now() + budgetMs;
    let response = await send(input, init);
    for (let retry = 1; response.status === 429 && resendable; retry++) {
      const seconds = retryAfterSeconds(response.headers.get('retry-after'));
      const left = deadline - Date.now();
      const last = await kept(response);
      if (seconds * 1000 >= left) {
        say(`perfwatch: the MCP endpoint at ${url.host} is busy (HTTP 429) and asks for ${seconds} s before a retry, more than --timeout leaves (${Math.max(0, Math.ceil(left / 1000))} s); giving up, a longer --timeout waits longer\n`);
        return last;
      }
      say(`perfwatch: the MCP endpoint at ${url.host} is busy (HTTP 429); retrying in ${seconds} s as its Retry-After says (retry ${retry}, within --timeout)\n`);
      await pause(seconds * 1000, init?.signal);
      // The retry waits in the server's queue at most what the budget leaves; past it, the last 429 answers.
      const budget = new AbortController();
      const timer = setTimeout(() => budget.abort(), deadline - Date.now());
      const signal = init?.signal ? AbortSignal.any([init.signal, budget.signal]) : budget.signal;
      try {
        response = await send(input, { ...init, signal });
      } catch (error) {
        if (!budget.signal.aborted || init?.signal?.aborted) throw error;
        say(`perfwatch: the MCP endpoint at ${url.host} was still busy when --timeout (${Math.round(timeoutMs / 1000)} s) ran out; giving up, a longer --timeout waits longer\n`);
        return last;
      } finally {
        clearTimeout(timer);
      }
    }
    return response;
  };
}
