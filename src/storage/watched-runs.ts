/**
 * The lives of the processes that wrote a database, so that a rate over a range reaching back
 * across a restart is per second of the time the monitor watched (analysis/watched.ts), not
 * of this process's life alone: one row a run, from a start() of the monitor (the coordinator
 * hands it to the storage actor, StorageService.setRun) to the clock of its last flush that
 * committed, written in that flush's transaction. A process killed between flushes ends at its
 * last flush, as its samples do; the time between two processes, or between a stop() and the
 * next start() of one monitor, is in no row, so it does not count as watched.
 *
 * Table `watched` (migration 7). A file from before has no run: the migration takes its whole
 * stored span (the oldest rollup to the last flush's clock) as one, which counts its gaps
 * between processes as watched, as every rate did before.
 */
import type { Db } from './driver.js';
import type { WatchedSpan } from '../analysis/watched.js';

/** Migration 7. */
export function createWatchedRuns(db: Db): void {
  db.exec('CREATE TABLE watched (start REAL PRIMARY KEY, until REAL NOT NULL) WITHOUT ROWID');
  db.exec(`
    INSERT INTO watched (start, until)
    SELECT s, max(u, s) FROM (
      SELECT min((SELECT min(start) FROM rollups), coalesce((SELECT min(start) FROM hourly), 1e300)) AS s,
             coalesce((SELECT CAST(value AS REAL) FROM meta WHERE key = 'clock'), (SELECT max(start) FROM rollups) + 60000) AS u
    ) WHERE s IS NOT NULL AND u IS NOT NULL
  `);
}

/** Writes (or moves the end of) this process's run; in the flush's transaction. Parameters: [start, until]. */
export const WRITE_RUN = 'INSERT INTO watched (start, until) VALUES (?, ?) ON CONFLICT (start) DO UPDATE SET until = max(until, excluded.until)';

/** Runs that ended before the retention's cutoff. Parameters: [cutoff]. */
export const DELETE_RUNS_BEFORE = 'DELETE FROM watched WHERE until < ?';

/** The runs that overlap [from, to), oldest first. Parameters: [from, to]. */
export const READ_RUNS = 'SELECT start, until FROM watched WHERE until > ? AND start < ? ORDER BY start';

/** READ_RUNS' rows as spans. */
export function runsOf(rows: readonly (readonly unknown[])[]): WatchedSpan[] {
  return rows.map(([start, until]) => ({ from: Number(start), to: Number(until) }));
}
