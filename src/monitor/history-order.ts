/**
 * A history's series busiest first: by the samples the memory holds of each in the range, the
 * most first, registration order among equals. A page of a metric's series in registration
 * order showed a service with more than a page of endpoints the ones registered first, dead
 * ones among them, and hid its live traffic (the dashboard's per-endpoint charts, a trial of
 * 2026-12-06: /busy, 100 requests, behind 20 endpoints of one request each).
 */
import { InvalidArgumentError } from '../errors.js';
import type { StoreReader } from '../engine/store/reader.js';

/**
 * The most series a ranking counts: each is an aggregate of the range on the host's thread.
 * 10,000 counters over 5 minutes ranked in 10 to 50 ms more than a page in registration order
 * (getMetricHistory, limit 20, on the shared 2-core machine of 2026-12-06).
 */
export const MAX_RANKED_SERIES = 10_000;

interface Ranked {
  id: number;
}

/**
 * `series` ordered by their samples in [from, to), most first (a stable sort). Series the
 * memory does not hold (stored ones, after a restart) count none: their rows are read for the
 * page alone, after the ranking. More than MAX_RANKED_SERIES is an InvalidArgumentError naming
 * `order`.
 */
export function busiestFirst<T extends Ranked>(reader: StoreReader, series: T[], from: number, to: number): T[] {
  if (series.length > MAX_RANKED_SERIES) {
    throw new InvalidArgumentError('order', `'busiest' ranks at most ${MAX_RANKED_SERIES} series, and ${series.length} match: narrow them with tags, or leave order out for registration order`, { value: 'busiest' });
  }
  const whole = from === -Infinity && to === Infinity;
  const counts = series.map((s) => (s.id < 0 || reader.totalCount(s.id) === 0 ? 0 : whole ? reader.totalCount(s.id) : reader.aggregate(s.id, from, to).count));
  return series.map((s, i) => ({ s, n: counts[i]!, i })).sort((a, b) => b.n - a.n || a.i - b.i).map((r) => r.s);
}
