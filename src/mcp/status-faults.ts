/**
 * What the status answer says of the monitor's faults and of its storage: the counts by kind,
 * the newest fault, and whether the database is attached with its last error. The status
 * answer left them out: with every flush failing on a full disk it read as healthy, and an
 * agent asking whether monitoring works was told it did (a trial). Bounded whatever the
 * monitor holds: the kinds listed are the most frequent few, and each message is cut.
 */
import type { MonitorStatus } from '../monitor/monitor.js';

/** Kinds listed by name, the most frequent first; the rest are counted. */
export const FAULT_KINDS_SHOWN = 8;

/** A fault's or storage's message is cut to this. */
const MESSAGE_CHARS = 200;

/** A type, not an interface: it is the answer's `faults`, a record in its schema. */
export type FaultsOut = {
  total: number;
  /** The most frequent FAULT_KINDS_SHOWN kinds and their counts. */
  by_kind: Record<string, number>;
  /** Kinds past those listed. */
  kinds_not_shown: number;
  newest: { kind: string; message: string; age_seconds: number | null } | null;
  /** Storage 'sqlite' only. */
  storage?: { attached: boolean; flushes: number; failures: number; last_error: string | null };
};

function cut(text: string): string {
  return text.length > MESSAGE_CHARS ? `${text.slice(0, MESSAGE_CHARS - 1)}…` : text;
}

export function faultsOut(s: MonitorStatus, now = Date.now()): FaultsOut {
  const kinds = Object.entries(s.faults.byKind).sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]));
  // The newest by its time, the kind reported last among those of the same millisecond; a kind
  // with no time (the collector's own readings: 0) is newest only when alone.
  let newest: [string, MonitorStatus['faults']['byKind'][string]] | undefined;
  for (const entry of kinds) {
    const later = newest === undefined || entry[1].lastAt > newest[1].lastAt || (entry[1].lastAt === newest[1].lastAt && entry[0] === s.faults.newest);
    if (later) newest = entry;
  }
  const out: FaultsOut = {
    total: s.faults.total,
    by_kind: Object.fromEntries(kinds.slice(0, FAULT_KINDS_SHOWN).map(([kind, r]) => [kind, r.count])),
    kinds_not_shown: Math.max(0, kinds.length - FAULT_KINDS_SHOWN),
    newest: newest ? { kind: newest[0], message: cut(newest[1].lastMessage), age_seconds: newest[1].lastAt > 0 ? Math.max(0, Math.round((now - newest[1].lastAt) / 1000)) : null } : null,
  };
  const st = s.storage;
  if (st.mode === 'sqlite') out.storage = { attached: st.attached, flushes: st.flushes ?? 0, failures: st.failures ?? 0, last_error: st.lastError ? cut(st.lastError.message) : null };
  return out;
}

/** The faults and storage in lines of the status text. */
export function faultsLines(f: FaultsOut, running: boolean): string[] {
  const lines: string[] = [];
  if (f.storage) {
    const st = f.storage;
    const state = !st.attached
      ? running
        ? 'NOT attached: nothing is written to the database until it is (tried again every storageFlushMs)'
        : 'not attached (the monitor is stopped)'
      : st.last_error
        ? 'attached, but its last flush FAILED: what was recorded since waits in memory, retried at each flush'
        : 'attached';
    lines.push(`storage (sqlite): ${state}, flushes ${st.flushes}, failures ${st.failures}${st.last_error ? `; last error: ${st.last_error}` : ''}`);
  }
  if (f.total === 0) {
    lines.push('faults: none since the monitor was created');
    return lines;
  }
  const kinds = Object.entries(f.by_kind).map(([kind, n]) => `${kind} ${n}`);
  if (f.kinds_not_shown > 0) kinds.push(`${f.kinds_not_shown} more kinds`);
  const n = f.newest;
  const age = n?.age_seconds === null || n === null ? '' : `, ${n.age_seconds} s ago`;
  lines.push(`faults: ${f.total} since the monitor was created (${kinds.join(', ')})${n ? `; newest ${n.kind}${age}: ${n.message}` : ''}`);
  return lines;
}
