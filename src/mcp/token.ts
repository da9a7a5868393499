/**
 * The HTTP front's bearer token as the CLI and the front read it: the environment variable
 * it comes from when no option gives it, and its rule. Apart from the front's options
 * schema (http-options.ts), so that the CLI's help names them and the CLI checks a token
 * the front's way (cli/token.ts) without loading zod.
 */
export const TOKEN_ENV = 'PERFWATCH_TOKEN';
export const MIN_TOKEN_LENGTH = 16;
export const MAX_TOKEN_LENGTH = 4096;

/** What a token must be, as the errors of the front and of the CLI say it (they never show the token). */
export const TOKEN_RULE = `must be ${MIN_TOKEN_LENGTH} to ${MAX_TOKEN_LENGTH} characters without spaces or control characters (for example: openssl rand -hex 32)`;

/** Whether `token` keeps TOKEN_RULE: the length, and no whitespace or control character (which no HTTP header can carry as given). */
export function tokenKeepsRule(token: unknown): token is string {
  return typeof token === 'string' && token.length >= MIN_TOKEN_LENGTH && token.length <= MAX_TOKEN_LENGTH && !/[\s\x00-\x1f\x7f]/.test(token);
}
