/**
 * A bounded table of one tag's values (routes, hosts) and what the instrumentation keeps per
 * value (its bound handles): the first `limit` distinct values keep their name, every later
 * one shares the entry of `other`, so a scanner or unfolded ids cannot exhaust the
 * registry's series or this table's memory. Requests that fell into `other` are counted
 * (status().instrument). An entry holds no series when it is made: the sources make them
 * at a value's first request of a method and status class, and when the registry refuses
 * one (at maxSeries, a character it does not take) they record those requests under
 * `other`'s series and count the value in `refused`.
 */

export const OTHER = 'other';

export class CappedTags<V> {
  readonly limit: number;
  private readonly maxLength: number;
  private readonly make: (tag: string) => V;
  private readonly byKey: Map<string, V>;
  private other: V | undefined;
  /** Requests whose value fell into `other` because the table was full. */
  overflowed = 0;
  /**
   * Values longer than the tag's limit (maxTagValueLength), kept cut to it: two that share
   * their first characters share a series. Counted once each (status().instrument).
   */
  truncated = 0;
  /** Entries the registry refused a series of (refuse()): their requests of that series' method and status class go to `other`. */
  private readonly refusedEntries: Set<V>;

  /**
   * `previous`: the table of the source this one replaces (a later instrument()), whose
   * values, `other` and counts it takes on, under its own limit (values it holds past a lower
   * limit keep their entries; new ones go to `other`).
   */
  constructor(limit: number, maxLength: number, make: (tag: string) => V, previous?: CappedTags<V>) {
    this.limit = limit;
    this.maxLength = maxLength;
    this.make = make;
    this.byKey = previous?.byKey ?? new Map();
    this.other = previous?.other;
    this.overflowed = previous?.overflowed ?? 0;
    this.truncated = previous?.truncated ?? 0;
    this.refusedEntries = previous?.refusedEntries ?? new Set();
  }

  /** The entry of `key`, made on first sight while there is room, else `other`'s. */
  get(key: string): V {
    const hit = this.byKey.get(key);
    if (hit !== undefined) return hit;
    if (this.byKey.size >= this.limit) {
      this.overflowed++;
      return this.otherEntry();
    }
    let tag = key;
    if (key.length > this.maxLength) {
      tag = key.slice(0, this.maxLength);
      this.truncated++;
    }
    const entry = this.make(tag);
    this.byKey.set(key, entry);
    return entry;
  }

  /** The entry of `key` if it has one of its own already: no place taken, nothing counted. */
  find(key: string): V | undefined {
    return this.byKey.get(key);
  }

  /** True for the entry that values past the limit (or refused) share. */
  isOther(entry: V): boolean {
    return entry === this.other;
  }

  /** The registry refused a series of `entry`, one of this table's: counted once (`other`'s never). */
  refuse(entry: V): void {
    if (entry !== this.other) this.refusedEntries.add(entry);
  }

  /** Values the registry refused a series of (refuse()). */
  get refused(): number {
    return this.refusedEntries.size;
  }

  /** Distinct values with an entry of their own. */
  get size(): number {
    return this.byKey.size;
  }

  /** The entry of `other`, made on first need. */
  otherEntry(): V {
    return (this.other ??= this.make(OTHER));
  }
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY']);

/** The method tag: a standard method, or OTHER (a client may send any token as a method). */
export function methodTag(method: string | undefined): string {
  return method !== undefined && METHODS.has(method) ? method : 'OTHER';
}

/**
 * A status outside 100-599 (a server may write any three digits: 600, 999) is `invalid`, not
 * `other`, which is the overflow value of the routes and hosts (a status_class of `other`
 * read as the capped bucket's).
 */
const CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'invalid'];
/** The class index of an outgoing request that got no response (refused, reset, aborted). */
export const ERROR_CLASS = CLASSES.length;
export const CLASS_COUNT = CLASSES.length + 1;

/** Index of a status class (0 for 1xx … 4 for 5xx), 5 (`invalid`) for anything else. */
export function classIndex(status: number): number {
  const c = (status / 100) | 0;
  return c >= 1 && c <= 5 ? c - 1 : 5;
}

/** The status_class tag of a class index; 'error' for ERROR_CLASS. */
export function classTag(index: number): string {
  return CLASSES[index] ?? 'error';
}
