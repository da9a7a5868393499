/**
 * The longest window an `anomaly` rule can be judged on. Its score compares the window's mean
 * with the buckets before it, read from the bucket ring (bucketCapacity buckets), and gives
 * no verdict on fewer than ANOMALY_RULES.minBaseline of them: a window that leaves fewer in
 * the ring (`window: 300` at the default 300 buckets of 1 s) was taken without a word and
 * never fired, whatever the series did.
 */
import { ANOMALY_RULES } from '../analysis/anomaly.js';

/** The longest `window` (s) of an anomaly rule at this ring and interval; 0 when none fits. */
export function longestAnomalyWindow(bucketCapacity: number, intervalMs: number): number {
  // A window is whole buckets (spanMs in evaluator.ts); the ring's closed buckets all count
  // (test/alert-rules.test.ts finds the last window that fires at 300 buckets: 280 s).
  const buckets = bucketCapacity - ANOMALY_RULES.minBaseline;
  return Math.max(0, Math.floor((buckets * intervalMs) / 1000));
}

/** Why an anomaly rule's `window` cannot be judged at this ring and interval, or undefined. */
export function anomalyWindowTooLong(window: number, bucketCapacity: number, intervalMs: number): string | undefined {
  const buckets = Math.ceil((window * 1000) / intervalMs);
  if (buckets + ANOMALY_RULES.minBaseline <= bucketCapacity) return undefined;
  const longest = longestAnomalyWindow(bucketCapacity, intervalMs);
  const fits = longest >= 1 ? `must be at most ${longest} s` : 'cannot be judged at all';
  return `${fits} for aggregation anomaly: its score compares the window with at least ${ANOMALY_RULES.minBaseline} buckets before it, and the bucket ring holds ${bucketCapacity} buckets of ${intervalMs} ms (bucketCapacity × collectionIntervalMs); a longer window would never give a verdict. Shorten the window, or raise bucketCapacity`;
}
