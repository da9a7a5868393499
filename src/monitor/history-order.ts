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
 * `series` ordered by their samples in [from, to), most first (a stable sort), each with its
 * place in `series`. Series the memory does not hold (stored ones, after a restart) count none:
 * their rows are read for the page alone, after the ranking. More than MAX_RANKED_SERIES is an
 * InvalidArgumentError naming `order`.
 */
function ranked<T extends Ranked>(reader: StoreReader, series: T[], from: number, to: number): { s: T; i: number }[] {
  checkRanked(series.length);
  const whole = from === -Infinity && to === Infinity;
  const counts = series.map((s) => (s.id < 0 || reader.totalCount(s.id) === 0 ? 0 : whole ? reader.totalCount(s.id) : reader.aggregate(s.id, from, to).count));
  return series.map((s, i) => ({ s, n: counts[i]!, i })).sort((a, b) => b.n - a.n || a.i - b.i);
}

function checkRanked(count: number): void {
  if (count > MAX_RANKED_SERIES) {
    throw new InvalidArgumentError('order', `'busiest' ranks at most ${MAX_RANKED_SERIES} series, and ${count} match: narrow them with tags, or leave order out for registration order`, { value: 'busiest' });
  }
}

/** The rankings kept at once (12 bytes a matching series: 120 KB at MAX_RANKED_SERIES). */
export const KEPT_RANKINGS = 32;

interface Kept {
  /** When it was counted, on the clock of the queries (the monitor's). */
  at: number;
  /** The series' ids, busiest first. */
  ids: Float64Array;
  /** Where each was in the matching series the query gave (registration order). */
  places: Int32Array;
}

/**
 * Rankings shared by the queries of one metric, tags and range within a collection interval.
 * Each dashboard tab asks its charts' histories busiest first once an interval, over the same
 * range to the millisecond of its own clock; counted for each, 30 tabs on a service of 10,000
 * endpoints spent some 270 ms a second of the host's main thread on the same ranking (a trial
 * of 2026-12-07). A ranking is kept for the queries whose range starts and ends in the same
 * intervals, for one interval from when it was counted, and only while the same series match
 * (a series registered since makes it counted again); the points of the page are each query's
 * own. So a series' samples of the last interval may not have moved it yet.
 */
export class SharedRankings {
  private readonly kept = new Map<string, Kept>();

  constructor(private readonly intervalMs: number) {}

  busiestFirst<T extends Ranked>(reader: StoreReader, metric: string, match: Record<string, string> | undefined, series: T[], from: number, to: number, now: number): T[] {
    checkRanked(series.length);
    const I = this.intervalMs;
    const key = `${metric}\u0000${match ? JSON.stringify(Object.entries(match).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : ''}\u0000${Math.floor(from / I)}\u0000${Math.floor(to / I)}`;
    const kept = this.kept.get(key);
    if (kept !== undefined && now >= kept.at && now - kept.at < I && kept.ids.length === series.length) {
      // Each series at the place it had among the same matching series (checked by id).
      const ordered: T[] = new Array(series.length);
      let same = true;
      for (let k = 0; k < series.length && same; k++) {
        const s = series[kept.places[k]!];
        same = s !== undefined && s.id === kept.ids[k];
        ordered[k] = s!;
      }
      if (same) return ordered;
    }
    const order = ranked(reader, series, from, to);
    for (const [k, v] of this.kept) if (!(now >= v.at && now - v.at < I)) this.kept.delete(k);
    this.kept.delete(key);
    if (this.kept.size >= KEPT_RANKINGS) this.kept.delete(this.kept.keys().next().value!);
    this.kept.set(key, { at: now, ids: Float64Array.from(order, (r) => r.s.id), places: Int32Array.from(order, (r) => r.i) });
    return order.map((r) => r.s);
  }
}
