/**
 * The raw URLs met lately and what each resolved to, found without hashing the URL. node:http
 * makes request.url a new string for every request, so a Map keyed by it hashes every
 * character of it per request (V8 caches a string's hash on the string, which is thrown
 * away with the request): in a live server's profile that hash and the Map's probe were
 * 48-86 ns a request, a sixth of what instrument()'s subscribers cost there
 * (docs/instrument.md, "Cutting the subscribers' main-thread time"). Here a URL's slot comes from its length and two of its
 * characters, and a hit is one string comparison; a miss (a new URL, or two URLs that share
 * a slot) falls back to the caller's Map. Direct-mapped: a URL takes its slot from whoever
 * held it.
 */

/** Slots: a power of two, a few times the distinct hot URLs of a typical service. */
const SLOTS = 512;

export class RecentUrls<V> {
  private readonly urls: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);
  private readonly values: (V | undefined)[] = new Array<V | undefined>(SLOTS).fill(undefined);

  /** The value remembered for `url`, or undefined. */
  get(url: string): V | undefined {
    const i = slot(url);
    return this.urls[i] === url ? this.values[i] : undefined;
  }

  set(url: string, value: V): void {
    const i = slot(url);
    this.urls[i] = url;
    this.values[i] = value;
  }
}

/** Length, last character (ids end paths) and middle character: cheap, and apart for most paths. */
function slot(url: string): number {
  const n = url.length;
  if (n === 0) return 0;
  return (n * 31 + url.charCodeAt(n - 1) * 7 + url.charCodeAt(n >> 1)) & (SLOTS - 1);
}
