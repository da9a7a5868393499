import { NAMES_ADVICE, nameCapacity, type RefusalCause } from '../engine/registry.js';
import { DistinctValues } from './distinct-values.js';

/**
 * New series refused at maxSeries (or by the registry's full string arena or name table below
 * it), counted. Each refusal is a CardinalityError thrown to the caller; a service that
 * swallowed it (as many wrappers of a metrics call do) lost the series without a trace:
 * status, the faults, the reports and the MCP status said nothing, while series never expire
 * in a running monitor, so every new one was refused until a restart (a trial: 25 refused,
 * `faults` empty). Counted by metric name (the most refused few shown), with
 * the tag whose values most likely filled the registry: the one with the most distinct values
 * among a name's refused series. Bounded whatever is refused: at most TRACKED_NAMES names,
 * TRACKED_TAGS tags a name are kept, each tag's distinct values estimated in bounded memory
 * (distinct-values.ts).
 */
const TRACKED_NAMES = 32;
const TRACKED_TAGS = 16;
/** Names shown in status and notes, the most refused first. */
export const REFUSED_NAMES_SHOWN = 5;

export interface SeriesRefusalStatus {
  /** Records (or batches) refused for a new series (past maxSeries, by a full arena: `arena`, or by a full name table: `names`) since the monitor was created, in any thread. */
  total: number;
  /**
   * Those of them refused below maxSeries because the registry's string arena, which holds the
   * series' names and tags, was full (a fault of kind series-arena says what to do).
   */
  arena: number;
  /**
   * Those of them refused because the registry's name table was full (a new metric name past
   * the application's maxSeries names, which define() fills without series; a fault of kind
   * series-names says what to do).
   */
  names: number;
  /** Those of them refused in producer() threads (attachProducer): in the total, not in byName (their names went to the threads' callers). */
  threads: number;
  /** When the first and the latest were refused (the monitor's clock), or null. */
  firstAt: number | null;
  lastAt: number | null;
  /**
   * At the latest refusal, how many of maxSeries' places were held by series restored from the
   * database at start and not recorded since (monitor/restored-places.ts): 0 when none were.
   */
  restored: number;
  /** The most refused metric names (REFUSED_NAMES_SHOWN), with the tag whose values most likely filled the registry (null: a series of no tags). */
  byName: { name: string; count: number; tag: string | null }[];
}

interface NameRecord {
  count: number;
  tags: Map<string, DistinctValues>;
}

export class SeriesRefusals {
  private total = 0;
  private threads = 0;
  private arena = 0;
  private nameTable = 0;
  /** The shared counts of producer() threads' refusals seen so far: all, the arena's and the name table's (they wrap at 2^32). */
  private threadsSeen = 0;
  private threadsArenaSeen = 0;
  private threadsNamesSeen = 0;
  /** The total that monitor_series_refused's samples have added up to. */
  private recorded = 0;
  private firstAt: number | null = null;
  private lastAt: number | null = null;
  private readonly names = new Map<string, NameRecord>();
  private restored = 0;

  /** One refusal (`cause`), of the series `name` with `pairs` (its tags) at `at`, while `restored` places were held by restored series not recorded since. */
  note(name: string, pairs: readonly (readonly [string, string])[], at: number, restored = 0, cause: RefusalCause = 'maxSeries'): void {
    this.total++;
    if (cause === 'arena') this.arena++;
    if (cause === 'names') this.nameTable++;
    this.restored = restored;
    this.firstAt ??= at;
    this.lastAt = at;
    let record = this.names.get(name);
    if (record === undefined) {
      // Past the names tracked, the refusal is in the total only.
      if (this.names.size >= TRACKED_NAMES) return;
      record = { count: 0, tags: new Map() };
      this.names.set(name, record);
    }
    record.count++;
    for (const [key, value] of pairs) {
      let values = record.tags.get(key);
      if (values === undefined) {
        if (record.tags.size >= TRACKED_TAGS) continue;
        values = new DistinctValues();
        record.tags.set(key, values);
      }
      values.add(value);
    }
  }

  /** Whether any refusal was counted, in any thread. */
  get any(): boolean {
    return this.total > 0;
  }

  /** Refusals counted of `cause`, in any thread. */
  of(cause: RefusalCause): number {
    return cause === 'arena' ? this.arena : cause === 'names' ? this.nameTable : this.total - this.arena - this.nameTable;
  }

  /**
   * Takes producer() threads' refusals from their shared counts (`shared`, the control block's
   * THREAD_REFUSED, and `sharedArena`, THREAD_ARENA_REFUSED, and `sharedNames`,
   * THREAD_NAMES_REFUSED, read before it) at `at`; true when it found new ones.
   */
  takeThreads(shared: number, at: number, sharedArena = this.threadsArenaSeen, sharedNames = this.threadsNamesSeen): boolean {
    this.arena += (sharedArena - this.threadsArenaSeen) >>> 0;
    this.threadsArenaSeen = sharedArena;
    this.nameTable += (sharedNames - this.threadsNamesSeen) >>> 0;
    this.threadsNamesSeen = sharedNames;
    const fresh = (shared - this.threadsSeen) >>> 0;
    if (fresh === 0) return false;
    this.threadsSeen = shared;
    this.total += fresh;
    this.threads += fresh;
    this.firstAt ??= at;
    this.lastAt = at;
    return true;
  }

  status(): SeriesRefusalStatus {
    const byName = [...this.names]
      .sort((a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]))
      .slice(0, REFUSED_NAMES_SHOWN)
      .map(([name, r]) => ({ name, count: r.count, tag: widestTag(r.tags) }));
    return { total: this.total, arena: this.arena, names: this.nameTable, threads: this.threads, firstAt: this.firstAt, lastAt: this.lastAt, restored: this.restored, byName };
  }

  /** Refusals not yet in monitor_series_refused's samples: what its next sample adds. */
  unrecorded(): number {
    return this.total - this.recorded;
  }

  /** `n` more refusals are in monitor_series_refused's samples. */
  markRecorded(n: number): void {
    this.recorded += n;
  }

  /**
   * What a report says of them, or undefined when none were refused: how many, since when, and
   * what to do, with the most refused name and its widest tag as the example.
   */
  reportNote(maxSeries: number): string | undefined {
    const s = this.status();
    if (s.total === 0 || s.firstAt === null) return undefined;
    const top = s.byName[0];
    const example = top === undefined ? '' : top.tag === null ? `, e.g. metric names: ${top.name} (${top.count} refused)` : `, e.g. tag \`${top.tag}\` on ${top.name} (${top.count} refused)`;
    const threads = s.threads > 0 ? ` (${s.threads.toLocaleString('en-US')} of them in producer() threads)` : '';
    const arena = s.arena > 0 ? `; ${s.arena.toLocaleString('en-US')} of them were refused below it, the registry's string arena full: see the series-arena fault` : '';
    const names = s.names > 0 ? `; ${s.names.toLocaleString('en-US')} of them were refused for a new metric name, the registry's name table full (${nameTableWords(maxSeries)}): ${NAMES_ADVICE}` : '';
    return `${s.total.toLocaleString('en-US')} new series refused${threads} at maxSeries (${maxSeries.toLocaleString('en-US')}) since ${new Date(s.firstAt).toISOString()}: their samples were not recorded, and series never expire in a running monitor, so every new one is refused until a restart: raise maxSeries or reduce tag values${example}${arena}${names}`;
  }
}

/** The name table's size as the notes say it: the application's share. */
export function nameTableWords(maxSeries: number): string {
  return `${nameCapacity(maxSeries).toLocaleString('en-US')} names of the application's`;
}

/** The tag with the most distinct values (the first such in insertion order), or null. */
function widestTag(tags: Map<string, DistinctValues>): string | null {
  let best: string | null = null;
  let most = 0;
  for (const [key, values] of tags) {
    const n = values.estimate();
    if (n > most) {
      best = key;
      most = n;
    }
  }
  return best;
}
