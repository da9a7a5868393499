/**
 * What a profile capture may be asked for: its kinds and its length in seconds (the issue's
 * 1–120 s). Apart from the request's schema (schema.ts), so that the CLI's flags and help name
 * them without loading zod.
 */
export const PROFILE_KINDS = ['cpu', 'heap'] as const;
export type ProfileKind = (typeof PROFILE_KINDS)[number];

export const MIN_SECONDS = 1;
export const MAX_SECONDS = 120;
export const DEFAULT_SECONDS = 10;
