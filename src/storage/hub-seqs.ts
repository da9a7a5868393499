/**
 * A hub's members' numbers on disk (options.storage 'sqlite' with a hub, docs/cluster.md):
 * per member instance, the epoch of its process and the highest seq of that epoch whose
 * buckets the flushed rows hold. They are written in the transaction of the flush that wrote
 * those rows (Persister.flush's `within`), so the disk never holds a batch's buckets without
 * its number nor a number without its buckets; a hub that starts on the file reads them back
 * and welcomes each member with what the disk holds.
 *
 * They live in the `meta` table (key `hub_member:<instance>`, value `[epoch, acked]` as
 * JSON): one row a member, its newest epoch; no migration needed.
 */
import type { Db, SqlValue } from './driver.js';

export interface HubSeq {
  instance: string;
  epoch: string;
  acked: number;
}

const PREFIX = 'hub_member:';

/** The query that reads them back (StorageActorApi.query), and hubSeqsOf for its rows. */
export const READ_HUB_SEQS = `SELECT key, value FROM meta WHERE key >= '${PREFIX}' AND key < '${PREFIX.slice(0, -1)};' ORDER BY key`;

/** Writes `seqs`; call inside the flush's transaction. */
export function writeHubSeqs(db: Db, seqs: readonly HubSeq[]): void {
  if (seqs.length === 0) return;
  const put = db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)');
  for (const s of seqs) put.run([PREFIX + s.instance, JSON.stringify([s.epoch, s.acked])]);
}

/** The rows of READ_HUB_SEQS as numbers (a row that does not parse is skipped: the member is then taken as new). */
export function hubSeqsOf(rows: readonly SqlValue[][]): HubSeq[] {
  const out: HubSeq[] = [];
  for (const [key, value] of rows) {
    try {
      const [epoch, acked] = JSON.parse(String(value)) as [unknown, unknown];
      if (typeof epoch === 'string' && Number.isSafeInteger(acked)) out.push({ instance: String(key).slice(PREFIX.length), epoch, acked: acked as number });
    } catch {
      // not ours to read: skipped
    }
  }
  return out;
}
