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

/** A list's items taken for a page (take), with their lines and bytes. */
export interface Taken {
  shown: unknown[];
  lines: string[];
  bytes: number;
  /** Whether its first item was cut to fit (clipItem). */
  clipped: boolean;
}

/** Bytes kept for the line that says an item was cut and how to get it whole. */
const CLIP_NOTE_BYTES = 200;

/**
 * Items of a list that fit, from `from`: `limit` when one was asked for, else as many as fit
 * in `budget` bytes (each item's JSON and text line), and at least `min`: a page that names
 * the offset of the next must hold one, or the next would be itself. That one, when it does
 * not fit whole (a rule's long name and description, a series' 16 long tags), has its `clip`
 * fields cut to fit (clipItem): the answer stays within its budget, and says so.
 */
export function take<T extends object>(items: readonly T[], line: (x: T) => string, limitN: number | undefined, budget: number, from: number, min: number, clip: readonly (keyof T & string)[]): { shown: T[]; lines: string[]; bytes: number; clipped: boolean } {
  const shown: T[] = [];
  const lines: string[] = [];
  let bytes = 0;
  let clipped = false;
  const costOf = (x: T, l: string): number => jsonBytes(x) + textBytes(l) + 2;
  for (let i = from; i < items.length; i++) {
    let x = items[i]!;
    if (limitN !== undefined && shown.length >= limitN) break;
    let l = line(x);
    let cost = costOf(x, l);
    if (limitN === undefined && bytes + cost > budget && shown.length >= min) break;
    if (limitN === undefined && cost > budget) {
      x = clipItem(x, clip, budget - CLIP_NOTE_BYTES, (y) => costOf(y, line(y)));
      l = line(x);
      cost = costOf(x, l);
      clipped = true;
    }
    shown.push(x);
    lines.push(l);
    bytes += cost;
  }
  return { shown, lines, bytes, clipped };
}

/**
 * Cuts the lists of a page to the fewest items any cut list shows: they share one offset, so
 * the next page starts at the same place in each. Cut by the budget's shares, a page of 4
 * alerts, 4 rules and 6 changes named offset 6 for the history, which skipped alerts and
 * rules 4 and 5 (and offset 4, which the others named, showed changes 4 and 5 again).
 */
export function sameNextOffset(lists: readonly [Taken, number][], offset: number): number | undefined {
  let fewest = Infinity;
  for (const [list, total] of lists) if (offset + list.shown.length < total) fewest = Math.min(fewest, list.shown.length);
  for (const [list] of lists) {
    list.shown.length = Math.min(list.shown.length, fewest);
    list.lines.length = Math.min(list.lines.length, fewest);
  }
  // Where the next page starts, when a list goes on past this one.
  return fewest === Infinity ? undefined : offset + fewest;
}
