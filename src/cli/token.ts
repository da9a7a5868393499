/**
 * The bearer token a CLI run sends to --url (`report --url`, `profile`): --token, else
 * PERFWATCH_TOKEN. It is checked as the server checks its own (TOKEN_RULE) before any request,
 * and no line of the CLI ever shows it. Sent as it was, a token with a control character made
 * fetch throw `Headers.set: "Bearer <the whole token>" is an invalid header value`, which the
 * run printed after "cannot reach an MCP endpoint": the secret went into CI logs, and the user
 * looked for a network problem.
 */
import { InvalidArgumentError } from '../errors.js';
import { MAX_TOKEN_LENGTH, MIN_TOKEN_LENGTH, TOKEN_ENV, TOKEN_RULE, tokenKeepsRule } from '../mcp/token.js';

/** The token of this run once read, so that withoutToken() can keep it out of any line. */
let sent: string | undefined;

/**
 * The token to send, or undefined for none (an empty PERFWATCH_TOKEN is none, as for the
 * server); a token against TOKEN_RULE is a usage error naming --token or the variable, with
 * what is wrong in words: never the token, nor a part of it.
 */
export function remoteToken(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env[TOKEN_ENV] === '' ? undefined : env[TOKEN_ENV];
  const token = flag ?? fromEnv;
  if (token === undefined) return undefined;
  // Kept before the check too: a line about a refused token cannot show it either.
  sent = token;
  if (!tokenKeepsRule(token)) throw new InvalidArgumentError(flag !== undefined ? '--token' : TOKEN_ENV, `${TOKEN_RULE}; ${fault(token)}`);
  return token;
}

/** What is wrong with a token, in words that show none of it. */
function fault(token: string): string {
  if (token.length < MIN_TOKEN_LENGTH) return `it has ${token.length} character${token.length === 1 ? '' : 's'}`;
  if (token.length > MAX_TOKEN_LENGTH) return `it has ${token.length} characters`;
  return /[\x00-\x1f\x7f]/.test(token) ? 'it holds a control character (a line break, a tab, …)' : 'it holds a space';
}

/**
 * `text` with the token of this run replaced by `<token>`: the last guard of every line the
 * CLI writes about a failure (an HTTP library's error may quote a header it was given).
 */
export function withoutToken(text: string): string {
  return sent === undefined || sent === '' ? text : text.split(sent).join('<token>');
}
