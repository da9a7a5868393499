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

/** Lengths an item's long strings are cut to, longest first, until it fits (clipItem). */
const CLIP_LENGTHS = [256, 64, 16, 4];
/** Entries a record (tags) keeps at the shortest cut. */
const CLIP_ENTRIES = 8;

/** `text` cut to `n` characters and an ellipsis (not within a surrogate pair), or as it is. */
function cut(text: string, n: number): string {
  if (text.length <= n) return text;
  const end = /[\uD800-\uDBFF]/.test(text[n - 1]!) ? n - 1 : n;
  return `${text.slice(0, end)}…`;
}

/**
 * An item of a list cut to fit `budget` bytes (`cost` says what it costs: its JSON and its
 * line), for a page that must show one and cannot show it whole: its `fields` (strings, and
 * records such as tags, keys and values) cut to the longest length in CLIP_LENGTHS that fits,
 * each ending in `…`, and at the shortest a record to its first CLIP_ENTRIES entries. Its
 * `clipped` names the fields cut. The shortest cut when none fits.
 */
export function clipItem<T extends object>(item: T, fields: readonly (keyof T & string)[], budget: number, cost: (x: T) => number): T & { clipped: string[] } {
  let out: T & { clipped: string[] } = { ...item, clipped: [] };
  for (const n of CLIP_LENGTHS) {
    out = { ...item, clipped: [] };
    const last = n === CLIP_LENGTHS[CLIP_LENGTHS.length - 1];
    for (const f of fields) {
      const v: unknown = item[f];
      if (typeof v === 'string') {
        if (v.length > n) (out as Record<string, unknown>)[f] = cut(v, n);
      } else if (v !== null && typeof v === 'object') {
        const entries = Object.entries(v as Record<string, unknown>);
        const record: Record<string, unknown> = {};
        let changed = last && entries.length > CLIP_ENTRIES;
        for (const [k, x] of last ? entries.slice(0, CLIP_ENTRIES) : entries) {
          const key = cut(k, n);
          const value = typeof x === 'string' ? cut(x, n) : x;
          if (key !== k || value !== x) changed = true;
          // Two keys cut to the same text: the first kept (the item says it was cut).
          if (!Object.hasOwn(record, key)) record[key] = value;
        }
        if (changed) (out as Record<string, unknown>)[f] = record;
      } else continue;
      if ((out as Record<string, unknown>)[f] !== v) out.clipped.push(f);
    }
    if (cost(out) <= budget) break;
  }
  return out;
}
