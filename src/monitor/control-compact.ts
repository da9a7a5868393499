/**
 * What the control log keeps in memory while the disk refuses its changes (full, removed,
 * read-only: src/monitor/control-log.ts), made no larger than the disk would keep of it. They
 * waited there one by one: a rule that flapped through an outage of hours added a transition
 * and an alert state for each flap, without bound. The disk keeps the newest TRANSITIONS_KEPT
 * transitions (each flush trims the rest) and one row per alert, baseline, kept value or
 * outbox entry (each write replaces the last), so the older ones go here too: the disk holds
 * the same once they are committed.
 */
import type { ControlOp } from '../actors/protocols.js';
import { TRANSITIONS_KEPT } from '../storage/transitions-kept.js';

/** The row an op writes whole, replacing what the ops before it wrote there; undefined for the others. */
function rowOf(op: ControlOp): string | undefined {
  switch (op.op) {
    case 'put-alert':
      return `alert ${op.alert.fingerprint}`;
    case 'delete-alert':
      return `alert ${op.fingerprint}`;
    case 'put-baseline':
      return `baseline ${op.key}`;
    case 'put-tunable':
      return `tunable ${op.name}`;
    case 'put-outbox':
      return `outbox ${op.row.id}`;
    case 'delete-outbox':
      return `outbox ${op.id}`;
    default:
      return undefined;
  }
}

/** `ops` (oldest first) less what a later op replaces and the transitions past the newest `kept`, in their order. */
export function compactOps(ops: readonly ControlOp[], kept = TRANSITIONS_KEPT): ControlOp[] {
  let newestSeq = -Infinity;
  for (const op of ops) if (op.op === 'transition') newestSeq = Math.max(newestSeq, op.seq);
  const written = new Set<string>();
  const out: ControlOp[] = [];
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i]!;
    if ((op.op === 'transition' || op.op === 'annotate-transition') && op.seq <= newestSeq - kept) continue;
    const row = rowOf(op);
    if (row !== undefined) {
      if (written.has(row)) continue;
      written.add(row);
    }
    out.push(op);
  }
  return out.reverse();
}
