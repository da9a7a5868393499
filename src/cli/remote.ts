/**
 * The CLI's session with a running monitor's MCP endpoint (`perfwatch report --url`,
 * `perfwatch profile`): a client on Streamable HTTP with the endpoint's token, and the end of
 * the session. The end deletes the session on the server (HTTP DELETE, the spec's way for a
 * client to end one) before the client closes: a run that only closed its side left its
 * session idle in one of the endpoint's places (maxSessions) until sessionIdleMs (15
 * minutes). The endpoint evicts such sessions to make room for new ones, but 100 runs (say a
 * cron job polling every few seconds) still filled every place, and each later client then
 * took the place of the least recently active idle session, which may be a live client's
 * between two calls (answered 404, it must initialize again).
 *
 * Every answer is waited for at most --timeout seconds (DEFAULT_TIMEOUT_S): a server that took
 * the connection and never answered (a stopped process, a port of something else) held a run
 * for the SDK's 60 s, which then said "cannot reach" as if nothing had listened.
 */
import type { Client } from '@modelcontextprotocol/client';
import { intFlag } from './args.js';
import { busyRetryingFetch } from './busy-retry.js';
import { unreachable } from './unreachable.js';
import { withoutToken } from './token.js';
import { describeValue } from '../errors.js';
import { TOKEN_ENV } from '../mcp/token.js';

/** How long the end waits for the server to delete the session: the run's answer is printed already. */
const END_TIMEOUT_MS = 2_000;

/**
 * How long a run waits for each of the server's answers by default (--timeout): past the tools'
 * own deadline (25 s, TOOL_DEADLINE_MS), after which a slow tool answers PW_ERR_TIMEOUT itself.
 */
export const DEFAULT_TIMEOUT_S = 30;
export const MAX_TIMEOUT_S = 3600;

/** What --timeout takes, as its usage errors and the help say it. */
export const TIMEOUT_TAKES = `an integer number of seconds from 1 to ${MAX_TIMEOUT_S}`;

/** The wait of --timeout, in ms (the default when not given); a usage error for another value. */
export function timeoutFlag(value: string | undefined): number {
  return (value === undefined ? DEFAULT_TIMEOUT_S : intFlag(value, '--timeout', 1, MAX_TIMEOUT_S, 'seconds')) * 1000;
}

export interface Remote {
  /** Deletes the session on the server (at most END_TIMEOUT_MS; a failure only leaves it to expire), then closes the client. */
  end(): Promise<void>;
  /**
   * The line that says the server went away during the run, once it did (undefined before):
   * the client is then closed, so the call waiting fails at once (see connectRemote).
   */
  readonly lost: string | undefined;
  /** Settles when the server went away (`lost` is set then): a wait between calls ends on it. */
  readonly gone: Promise<void>;
}

/** What a reconnection meets where the server was: nothing listens there any more. */
const GONE = new Set(['ECONNREFUSED', 'ENOENT']);

/** The line that says the server at `url` went away, if `error` (a failed request or reconnection) says so. */
export function goneLine(url: URL, error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (!GONE.has(String(cause?.code))) return undefined;
  return `the server at ${url.href} went away during the run (${String(cause?.message ?? cause?.code)}): was the service stopped or restarted?`;
}

/**
 * The URL of --url, or the line that says why it is none: not a URL, or one with a user and
 * password, which fetch refuses in a message that repeats them (and the endpoint takes a
 * bearer token, not Basic credentials). Neither line echoes the password.
 */
export function remoteUrl(value: string): URL | string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `--url must be a URL such as http://127.0.0.1:7071/mcp, got ${describeValue(value)}`;
  }
  // fetch speaks no other scheme: `ftp://…` was tried and read "cannot reach an MCP endpoint".
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `--url must be an http(s) URL such as http://127.0.0.1:7071/mcp, got ${describeValue(value)}`;
  if (url.username !== '' || url.password !== '') return `--url must not carry a user or password (http://user:pass@…): the endpoint takes a bearer token, given with --token or ${TOKEN_ENV}`;
  return url;
}

/** Connects `client` to the endpoint at `url`, waiting `timeoutMs` for its answer; on failure, the line that says why (unreachable()). */
export async function connectRemote(client: Client, url: URL, token: string | undefined, timeoutMs: number): Promise<Remote | string> {
  // Imported here: the flags, help and usage errors of the commands that connect load no MCP client.
  const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/client');
  // A 429 (the endpoint's calls at their limit) is retried after its Retry-After, within --timeout (busy-retry.ts).
  const fetch = busyRetryingFetch(url, (line) => process.stderr.write(line), timeoutMs);
  const transport = new StreamableHTTPClientTransport(url, { fetch, ...(token ? { authProvider: { token: async () => token } } : {}) });
  // A server that went away during a call (its process killed or stopped) broke the call's
  // stream; the client tried to reconnect, was refused, gave up, and the call went on waiting
  // for an answer that could not come: a profile of 10 s waited 40 s, then said the server
  // "did not answer", as if it were silent. A refused reconnection ends the run at once.
  let connected = false;
  let lost: string | undefined;
  let onGone!: () => void;
  const gone = new Promise<void>((resolve) => (onGone = resolve));
  transport.onerror = (error: Error) => {
    const line = connected && lost === undefined ? goneLine(url, error) : undefined;
    if (line === undefined) return;
    lost = line;
    onGone();
    void client.close().catch(() => {});
  };
  try {
    await client.connect(transport, { timeout: timeoutMs });
  } catch (error) {
    await client.close().catch(() => {});
    return withoutToken(unreachable(url, error));
  }
  connected = true;
  const end = async (): Promise<void> => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([transport.terminateSession().catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, END_TIMEOUT_MS)))]);
    clearTimeout(timer);
    await client.close();
  };
  // Ctrl-C in a run (a profile of a minute, say) ends the session too, as a run's end does,
  // before the process ends as the signal would have ended it: Node's default left the session
  // in one of the endpoint's places until sessionIdleMs.
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\nperfwatch: ${signal}, ending the session at ${url.host}\n`);
    void end().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    end,
    get lost() {
      return lost;
    },
    gone,
  };
}
