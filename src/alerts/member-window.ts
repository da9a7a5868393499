/**
 * Where a window rule's window ends on a hub's member series (Registry.isMember).
 *
 * The hub's own series close their buckets at the hub's boundary, and a window rule judges
 * them then, over the buckets before it. A member's series takes each of its buckets as the
 * closed record it was on the member, at its start there, and that record arrives a moment
 * after the hub's boundary for the same interval (the member closes it at that boundary too,
 * then sends it). Judged at the hub's boundary, the window lacked the member's newest bucket
 * for good: `rate(x[1s])` read 0 on a member doing 500/s and `count(x[3s])` 1000 for 1500.
 *
 * So a member's series is judged over the window that ends where its newest record ends, once
 * that record is in (the hub applies a batch: AlertEvaluator.onMemberBuckets), each window
 * once. A member that sends nothing (it died, its link is down) still has its windows moved
 * on at the hub's boundaries, an interval behind them (`lagging`): the time its bucket for the
 * interval before had to arrive, so that a silent member's `rate < x` fires and its `count > x`
 * resolves. A bucket later than that is in the windows judged after it, not in the one it ended.
 * `lagging` goes no further than the hub's main thread has read its links (HUB_READ_TO), which
 * the host can hold: what a member sent meanwhile is unread, not missing.
 */
import type { StoreReader } from '../engine/store/reader.js';

/**
 * The end (ms) of the window to judge on member series `id`: the end of its newest record,
 * or `lagging` (the hub's newest boundary, or where its main thread read to if earlier, less an
 * interval; -Infinity for none) if later. -Infinity (judge nothing) while the series has no
 * record yet: the hub defines a member's series as its batch arrives and applies the buckets
 * behind the member's chain, and a close of the hub's in between judged the window before the
 * series' first bucket, `rate < 400` fired with 0 and resolved with 500 5 ms later (CI, 2026-12-07).
 */
export function memberWindowEnd(reader: StoreReader, id: number, lagging: number): number {
  const records = reader.bucketCount(id, 1);
  if (records === 0) return -Infinity;
  const newest = reader.bucketStartAt(id, records - 1) + reader.layout.intervalMs;
  return newest > lagging ? newest : lagging;
}

/**
 * The end (ms) of the window to judge on a hub's cluster-wide series `id` (Registry.isCluster):
 * the hub's newest close, `closedTo`, or where its open bucket starts if that ended before and
 * is held open for a late member's bucket (StoreWriter.heldOpen): the store reads a window's
 * closed records, and one still open read as nothing, a false `count < x`. Judged again at each
 * batch the hub applies, as a member series' windows are, once that bucket is closed.
 */
export function clusterWindowEnd(reader: StoreReader, id: number, closedTo: number): number {
  const s = reader.snapshot(id);
  return s.openCount > 0 && s.openStart < closedTo ? s.openStart : closedTo;
}
