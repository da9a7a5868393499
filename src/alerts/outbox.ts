/**
 * The notifier's outbox: what a process killed (SIGKILL, or a host that exits without
 * stop()) would otherwise lose of its notifications, kept in the database beside the alert
 * states (table `notify_outbox`, migration 5 of src/storage/schema.ts).
 *
 * - A delivery (a webhook's or Alertmanager's firing or resolution) is written before it is
 *   posted, written again with its attempt count and due time after each failed attempt, and
 *   deleted when it ends (sent, given up, dropped). A start on the same dataDir queues the
 *   ones left again, on the target with the same URL.
 * - A resolution held by `resolveHoldMs` is written with its due time and deleted when it is
 *   sent (as a delivery, in the same commit) or dropped because the alert fired again. A start
 *   arms it again: sent when due, unless the alert fires again first.
 *
 * Rows mirror the notifier's queues, so they are bounded as those are (`queueLimit` posts per
 * target, a row per delivery of them, one hold per alert). A delivery's body is the payload of
 * its alert alone: a start reads the alert back from it and puts it in a post again (batch.ts). Alertmanager's periodic resends are not written: a restarted
 * monitor resends every firing alert anyway. Delivery is at least once: a delivery posted but
 * killed before its deletion was committed is posted again after the restart.
 */
import type { Alert } from './schema.js';

/**
 * What the notifier needs to know of an alert to describe it; `subject`, what its rule judges
 * (`count(lat[5s])`: schema.ts, ruleSubject), absent from views kept before it was; `derived`,
 * whether its rule's value is derived (a mean, a rate: value-text.ts), absent before 2026-12-06
 * (the value is then written in full, as a sample's).
 */
export type AlertView = Pick<Alert, 'fingerprint' | 'ruleId' | 'ruleName' | 'metric' | 'tags' | 'severity' | 'threshold' | 'description' | 'labels'> & { subject?: string; derived?: boolean };

/** A delivery not ended yet. */
export interface OutboxDelivery {
  kind: 'delivery';
  /** Its key in the table. */
  id: string;
  /** The target's URL without user info, its path and query whole (status cuts them: they may be the webhook's credential, so the database is private: private-files.ts). */
  target: string;
  /** Which of the targets with that URL (0: the first). */
  slot: number;
  body: string;
  /** The episode it belongs to: the alert's fingerprint, and whether it tells the firing or the resolution. */
  fingerprint: string;
  status: 'firing' | 'resolved';
  /** Attempts made so far. */
  attempt: number;
  /** When its next attempt may go (ms since the epoch). */
  due: number;
  /** When it was queued, and its number among those its process queued: restored deliveries keep this order. */
  at: number;
  n: number;
}

/** A resolution held by `resolveHoldMs`. */
export interface OutboxHold {
  kind: 'hold';
  /** Its key in the table: `hold:` and the fingerprint. */
  id: string;
  fingerprint: string;
  /** When it is sent unless the alert fires again (ms since the epoch). */
  due: number;
  view: AlertView;
  startsAt: number;
  endsAt: number;
  value: number;
  extra?: Record<string, string>;
  /** Why the alert ended without a judged value (the transition's reason): the resolution's annotation `reason`. */
  reason?: string;
}

export type OutboxRow = OutboxDelivery | OutboxHold;

/** A change of the outbox, as the control state's commits take it. */
export type OutboxOp = { op: 'put-outbox'; row: OutboxRow } | { op: 'delete-outbox'; id: string };

/** Where the notifier's outbox goes: resolves once the changes are committed (or could not be: it never rejects). */
export interface OutboxSink {
  save(ops: OutboxOp[]): Promise<unknown>;
}

export function holdId(fingerprint: string): string {
  return `hold:${fingerprint}`;
}

/** Whether a row read back has the fields a restart uses (one from another build, or damaged, is not restored). */
export function isOutboxRow(row: unknown): row is OutboxRow {
  if (row === null || typeof row !== 'object') return false;
  const r = row as Partial<OutboxDelivery> & Partial<OutboxHold>;
  if (typeof r.id !== 'string' || typeof r.fingerprint !== 'string' || !Number.isFinite(r.due)) return false;
  if (r.kind === 'delivery') return typeof r.target === 'string' && typeof r.body === 'string' && Number.isInteger(r.slot) && Number.isInteger(r.attempt) && Number.isFinite(r.at) && Number.isFinite(r.n);
  return r.kind === 'hold' && r.view !== null && typeof r.view === 'object' && typeof r.view.ruleName === 'string' && Number.isFinite(r.startsAt) && Number.isFinite(r.endsAt) && typeof r.value === 'number' && (r.reason === undefined || typeof r.reason === 'string');
}
