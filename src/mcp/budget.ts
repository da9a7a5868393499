/**
 * Answer budgets: what an answer may cost an agent's context when it asks with the defaults.
 * A read tool answers within ANSWER_BYTES (its text and its structuredContent together), a
 * report within REPORT_BYTES; lists are cut to what fits, and the answer says so and how to
 * get the rest (a limit, a filter, a narrower range). Asked explicitly (a `limit`,
 * `max_points`), a tool gives what was asked.
 */

/** Default budget of a read tool's answer (bytes of JSON text and structuredContent). */
export const ANSWER_BYTES = 8 * 1024;
/** Default budget of a report's answer. */
export const REPORT_BYTES = 16 * 1024;

/** Bytes of a value as JSON (UTF-8). */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/** Bytes of a string (UTF-8). */
export function textBytes(text: string): number {
  return Buffer.byteLength(text);
}

/**
 * How many of the items fit in `budget` bytes, taking them in order; `cost(i)` is item i's
 * bytes (its JSON, its line of text, and a separator). At least `min` (default 0).
 */
export function fitting(count: number, cost: (i: number) => number, budget: number, min = 0): number {
  let used = 0;
  let n = 0;
  for (; n < count; n++) {
    used += cost(n);
    if (used > budget && n >= min) break;
  }
  return n;
}
