/**
 * The alert transitions the file keeps at most, besides the retention: the newest, trimmed at
 * each flush. A rule on a signal that flaps around its threshold (a `last` rule with no
 * cooldown and no `for`) makes a transition every few milliseconds: 30,834 rows in 20 s in one
 * trial, kept for the 30 days of the retention. At this bound (some 30 MB) the oldest go.
 * Its own module: the coordinator's control log (src/monitor/control-compact.ts) bounds the
 * changes waiting for the disk by it, without loading the storage actor's code.
 */
export const TRANSITIONS_KEPT = 100_000;
