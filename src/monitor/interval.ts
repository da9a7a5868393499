/**
 * collectionIntervalMs's range and default: the options schema's (options.ts), and what the
 * CLI's --interval takes, named without loading zod.
 */
export const MIN_INTERVAL_MS = 1_000;
export const MAX_INTERVAL_MS = 300_000;
export const DEFAULT_INTERVAL_MS = 1_000;
