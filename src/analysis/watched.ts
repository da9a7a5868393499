/**
 * When the monitor watched: from its first start, to now while it runs or to when it stopped.
 * Rates have one definition: per second over the time a window actually covers, the part of
 * it the monitor watched that has passed. A counter's rate over the last 60 s of a monitor up
 * 11 s is per second of those 11 s; over a window the monitor did not watch it is null.
 */

/** From the first start; to Infinity while running, else to when the monitor last stopped. */
export interface Watched {
  from: number;
  to: number;
}

/** Always watched: data built or filled without a monitor (tests, benchmarks). */
export const ALWAYS_WATCHED: Watched = { from: -Infinity, to: Infinity };

/** Seconds of [from, to) that the monitor watched, or null for none. */
export function coveredSeconds(from: number, to: number, watched: Watched): number | null {
  const a = Math.max(from, watched.from);
  const b = Math.min(to, watched.to);
  return b > a ? (b - a) / 1000 : null;
}

/**
 * The part of [from, to) the monitor watched; the whole of it when it watched none (data it
 * holds from a store written before this process started, whose span is all that is known).
 */
export function watchedPart(from: number, to: number, watched: Watched): Watched {
  const a = Math.max(from, watched.from);
  const b = Math.min(to, watched.to);
  return b > a ? { from: a, to: b } : { from, to };
}
