/**
 * The raw URLs met lately and what each resolved to, found without hashing the URL. node:http
 * makes request.url a new string for every request, so a Map keyed by it hashes every
 * character of it per request (V8 caches a string's hash on the string, which is thrown
 * away with the request): in a live server's profile that hash and the Map's probe were
 * 48-86 ns a request, a sixth of what instrument()'s subscribers cost there
 * (docs/instrument.md, "Cutting the subscribers' main-thread time"). Here a URL's slot comes from its length and two of its
 * characters, and a hit is one string comparison; a miss (a new URL, or two URLs that share
 * a slot) falls back to the caller's Map. Direct-mapped: a URL takes its slot from whoever
 * held it. A slot holds the caller's object, which carries its URL: a hit reads the table's
 * line, that object's and the URL's, and nothing else.
 */

/** Slots: a power of two, a few times the distinct hot URLs of a typical service. */
const SLOTS = 512;

export class RecentUrls<V extends { readonly url: string }> {
  private readonly slots: (V | undefined)[] = new Array<V | undefined>(SLOTS).fill(undefined);

  /** The value remembered for `url`, or undefined. */
  get(url: string): V | undefined {
    const v = this.slots[slot(url)];
    return v !== undefined && v.url === url ? v : undefined;
  }

  /** Remembers `value` under its URL, in place of whatever held that slot. */
  set(value: V): void {
    this.slots[slot(value.url)] = value;
  }
}

/** Length, last character (ids end paths) and middle character: cheap, and apart for most paths. */
function slot(url: string): number {
  const n = url.length;
  if (n === 0) return 0;
  return (n * 31 + url.charCodeAt(n - 1) * 7 + url.charCodeAt(n >> 1)) & (SLOTS - 1);
}
