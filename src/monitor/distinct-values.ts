/**
 * How many distinct values a tag took, estimated in bounded memory: the K smallest hashes of
 * its values (a "K minimum values" sketch). Exact below K values; past them, (K − 1) over the
 * share of the hash range the K-th smallest covers, within about a quarter at K = 16. Keeping
 * the first K values instead (as series-refusals.ts did) tied every tag that had reached K: a
 * route tag of 40 values and a user id of 1,900 both counted 16, and the refusal's advice named
 * the route, the first in order (a trial).
 */
const K = 16;
const RANGE = 2 ** 32;

export class DistinctValues {
  /** The smallest hashes seen, ascending, at most K. */
  private readonly mins: number[] = [];

  add(value: string): void {
    const h = hash(value);
    const m = this.mins;
    if (m.length === K && h >= m[K - 1]!) return;
    let i = m.length;
    while (i > 0 && m[i - 1]! > h) i--;
    if (i > 0 && m[i - 1] === h) return;
    m.splice(i, 0, h);
    if (m.length > K) m.pop();
  }

  /** The estimated number of distinct values added (exact below K). */
  estimate(): number {
    const m = this.mins;
    return m.length < K ? m.length : ((K - 1) * RANGE) / (m[K - 1]! + 1);
  }
}

/** FNV-1a over the UTF-16 code units, then murmur3's finaliser: the estimate needs every bit of the range uniform. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
