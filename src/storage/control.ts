/**
 * The control state in the database, beside the rollups: alert rules, the alert history and
 * the alerts' current states, baselines, the optimisation audit log and the values of the
 * tunables the optimiser kept (its tables: migration 2 in schema.ts), and the notifier's outbox
 * (migration 5, src/alerts/outbox.ts). The coordinator turns each change (ControlOp) into statements
 * that the storage actor commits in one transaction per batch (StorageService.commit), and
 * reads the state back with its queries at start(); the connection stays the actor's.
 *
 * Each row keeps its object whole, msgpack-encoded (`body`): these objects hold NaN (an
 * alert's value with no data, a baseline's median without buckets), which JSON would turn
 * into null. The columns beside it are the keys the statements need. Every statement can be
 * repeated without changing the outcome (a commit retried after the actor died mid-way):
 * transitions and audit entries carry their own numbers as keys.
 */
import { decode, encode } from '@msgpack/msgpack';
import type { ControlCounts, ControlOp, ControlState } from '../actors/protocols.js';
import type { SqlValue } from './driver.js';

/** A statement and its values, as StorageService.commit takes them. */
export interface ControlStatement {
  sql: string;
  params: SqlValue[];
}

/** The tables of the control state. */
const TABLES = ['alert_rule', 'alert_state', 'alert_transition', 'baseline', 'optimization_log', 'tunable_value'] as const;

/** Reads a query's rows (the storage actor's StorageService.query, over comlink). */
export type Query = (sql: string, params?: SqlValue[]) => Promise<SqlValue[][]>;

const pack = (value: unknown): Uint8Array => encode(value);
const unpack = <T>(row: SqlValue[]): T => decode(row[0] as Uint8Array) as T;

/** The statements of one change, to run in the batch's transaction. */
export function statementsOf(op: ControlOp): ControlStatement[] {
  switch (op.op) {
    case 'put-rule':
      return [{ sql: 'INSERT OR REPLACE INTO alert_rule (id, created_at, body) VALUES (?, ?, ?)', params: [op.rule.id, op.rule.createdAt, pack(op.rule)] }];
    case 'delete-rule':
      return [
        { sql: 'DELETE FROM alert_rule WHERE id = ?', params: [op.id] },
        { sql: 'DELETE FROM alert_state WHERE rule_id = ?', params: [op.id] },
      ];
    case 'transition':
      return [{ sql: 'INSERT OR IGNORE INTO alert_transition (seq, at, body) VALUES (?, ?, ?)', params: [op.seq, op.transition.at, pack(op.transition)] }];
    case 'annotate-transition':
      return [{ sql: 'UPDATE alert_transition SET body = ? WHERE seq = ?', params: [pack(op.transition), op.seq] }];
    case 'put-alert':
      return [{ sql: 'INSERT OR REPLACE INTO alert_state (fingerprint, rule_id, body) VALUES (?, ?, ?)', params: [op.alert.fingerprint, op.alert.ruleId, pack(op.alert)] }];
    case 'delete-alert':
      return [{ sql: 'DELETE FROM alert_state WHERE fingerprint = ?', params: [op.fingerprint] }];
    case 'put-baseline':
      return [{ sql: 'INSERT OR REPLACE INTO baseline (series_key, body, name, tags) VALUES (?, ?, ?, ?)', params: [op.key, pack(op.baseline), op.baseline.metric, JSON.stringify(op.baseline.tags)] }];
    case 'audit':
      return [{ sql: 'INSERT OR REPLACE INTO optimization_log (seq, at, body) VALUES (?, ?, ?)', params: [op.entry.seq, op.entry.at, pack(op.entry)] }];
    case 'put-tunable':
      return [{ sql: 'INSERT OR REPLACE INTO tunable_value (name, value, at) VALUES (?, ?, ?)', params: [op.name, op.value, op.at] }];
    case 'put-outbox':
      return [{ sql: 'INSERT OR REPLACE INTO notify_outbox (id, body) VALUES (?, ?)', params: [op.row.id, pack(op.row)] }];
    case 'delete-outbox':
      return [{ sql: 'DELETE FROM notify_outbox WHERE id = ?', params: [op.id] }];
  }
}

/**
 * The control state as start() restores it: the newest `history` transitions and `audit`
 * entries, oldest first; of the transitions, those at `since` or later (the retention's
 * cutoff: older ones are retention's to delete, and were restored, and served, before its pass).
 */
export async function readControlState(query: Query, limits: { history: number; audit: number; since?: number }): Promise<ControlState> {
  const [rules, alerts, history, baselines, audit, tunables, last, outbox] = await Promise.all([
    // In the order they were created: a file written again (removed while running) takes the
    // rules in whatever order they commit, one created meanwhile before the older ones.
    query('SELECT body FROM alert_rule ORDER BY created_at, rowid'),
    query('SELECT body FROM alert_state WHERE rule_id IN (SELECT id FROM alert_rule)'),
    query('SELECT body FROM (SELECT seq, body FROM alert_transition WHERE at >= ? ORDER BY seq DESC LIMIT ?) ORDER BY seq', [limits.since ?? -Number.MAX_VALUE, limits.history]),
    query('SELECT body FROM baseline ORDER BY series_key'),
    query('SELECT body FROM (SELECT seq, body FROM optimization_log ORDER BY seq DESC LIMIT ?) ORDER BY seq', [limits.audit]),
    query('SELECT name, value, at FROM tunable_value ORDER BY name'),
    query('SELECT coalesce(max(seq), 0) FROM alert_transition'),
    query('SELECT body FROM notify_outbox'),
  ]);
  return {
    rules: rules.map(unpack<ControlState['rules'][number]>),
    alerts: alerts.map(unpack<ControlState['alerts'][number]>),
    history: history.map(unpack<ControlState['history'][number]>),
    baselines: baselines.map(unpack<ControlState['baselines'][number]>),
    audit: audit.map(unpack<ControlState['audit'][number]>),
    tunables: tunables.map(([name, value, at]) => ({ name: String(name), value: Number(value), at: Number(at) })),
    lastTransitionSeq: Number(last[0]?.[0] ?? 0),
    outbox: outbox.map(unpack<ControlState['outbox'][number]>),
  };
}

/** Rows of each part of the control state. */
export async function countControl(query: Query): Promise<ControlCounts> {
  const [rules, alerts, transitions, baselines, auditEntries, tunables] = await Promise.all(TABLES.map(async (t) => Number((await query(`SELECT count(*) FROM ${t}`))[0]?.[0] ?? 0)));
  return { rules: rules!, alerts: alerts!, transitions: transitions!, baselines: baselines!, auditEntries: auditEntries!, tunables: tunables! };
}
