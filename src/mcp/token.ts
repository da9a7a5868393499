/**
 * The HTTP front's bearer token as the CLI and the front read it: the environment variable
 * it comes from when no option gives it, and its least length. Apart from the front's options
 * schema (http-options.ts), so that the CLI's help names them without loading zod.
 */
export const TOKEN_ENV = 'PERFWATCH_TOKEN';
export const MIN_TOKEN_LENGTH = 16;
