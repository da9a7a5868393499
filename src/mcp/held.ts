/**
 * How far back a monitor's history reaches, by its storage: what a range of get_metric_history
 * (time_range, or start and end) and of generate_performance_report is read within. A range
 * reaching further back is read from the oldest time held, whether given by time_range or by
 * start, and get_metric_history's answer says so, naming the limit and the option that sets it.
 */
import { rollupIntervalMs, type ResolvedOptions } from '../monitor/options.js';

/** The history a monitor holds: its span in ms, and what sets it, in words. */
export interface Held {
  ms: number;
  words: string;
}

/** `6h`, `30d`, `90m`, `45s`: a span in its largest whole unit. */
export function spanText(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${Math.round(ms / 1000)}s`;
}

export function heldHistory(o: Pick<ResolvedOptions, 'storage' | 'retentionMs' | 'rollupCapacity' | 'bucketCapacity' | 'collectionIntervalMs'>): Held {
  const rollupMs = rollupIntervalMs(o.collectionIntervalMs);
  const rollups = o.rollupCapacity * rollupMs;
  const buckets = o.bucketCapacity * o.collectionIntervalMs;
  const memory: Held =
    buckets > rollups
      ? { ms: buckets, words: `bucketCapacity ${o.bucketCapacity} buckets of ${spanText(o.collectionIntervalMs)}` }
      : { ms: rollups, words: `rollupCapacity ${o.rollupCapacity} rollups of ${spanText(rollupMs)}` };
  if (o.storage === 'sqlite' && o.retentionMs >= memory.ms) return { ms: o.retentionMs, words: `${spanText(o.retentionMs)}: storage 'sqlite', retentionMs` };
  return { ms: memory.ms, words: `${spanText(memory.ms)}: storage '${o.storage}', ${memory.words}` };
}
