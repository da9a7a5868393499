/**
 * How far in the monitor's clock a database's data reaches, so that a monitor started on it
 * does not go back in time. The monitor's clock never goes back within a process
 * (engine/monitor-clock.ts); a process started with the wall clock behind the runs before it
 * (a VM restored from a snapshot, a host whose clock NTP has not set yet) began behind their
 * data, and the storage actor, which takes a series' newest stored row for its own last write
 * (a successor of a dead actor), wrote nothing of that process until the wall clock passed
 * it: every sample was lost without a word. The coordinator starts the clock from here
 * (resumeClock) before the collector runs.
 *
 * Each flush writes the monitor's clock into the `meta` table (key `clock`, no migration
 * needed) in its transaction; a file from before reads its newest rollup and transition.
 */
import type { Db } from './driver.js';

const KEY = 'clock';

/**
 * The newest time (ms) the file holds, or -Infinity when it holds none: the last flush's, or
 * in a file from before, the newest rollup's start (a sample may be stamped up to 5 s ahead,
 * so a row can start after the flush that wrote it: read only where there is nothing better);
 * and the newest alert transition's, committed between flushes.
 */
export function readStoredUntil(db: Db): number {
  const row = db.prepare(`SELECT coalesce((SELECT value FROM meta WHERE key = '${KEY}'), (SELECT max(start) FROM rollups)), (SELECT max(at) FROM alert_transition)`).get();
  let until = -Infinity;
  for (const v of row ?? []) {
    const t = Number(v ?? Number.NaN);
    if (Number.isFinite(t) && t > until) until = t;
  }
  return until;
}

/** The statement that writes it, run in the flush's transaction with a time never behind the one stored. */
export const WRITE_STORED_UNTIL = `INSERT OR REPLACE INTO meta (key, value) VALUES ('${KEY}', ?)`;
