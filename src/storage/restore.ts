/**
 * The stored catalog registered again at start(), on the storage actor's thread: names with
 * their kinds and units, and series, the monitor's own in the share held back for them
 * (OWN_SERIES), so they do not count against the application's maxSeries. Ids are given in
 * the catalog's order, as they would be on any thread (the registry is shared).
 *
 * The live series come first: the application's stored series are registered newest first,
 * and only as many as leave the live service room for the series it recorded last time
 * (`headroom`: those with a row in the last stored hour). A service redeployed with a changed
 * tag (a pod, a version) records that many series again under new names; with every stored
 * series registered, the earlier deploys' took maxSeries and the new one's were refused
 * (CardinalityError) until retention deleted the old rows, days later. The series left out
 * keep their rows: one the live service records again is the same catalog series (name and
 * tags), its history whole, and the history of the others is read from the file by name and
 * tags (StorageService.storedOnly). Docs: docs/storage.md, "Restoring the catalog".
 *
 * It runs here, not on the host's main thread, because it is one registration per stored
 * series: at 100,000 series the loop, and the structured clone of the catalog it would have
 * needed, held the host's event loop for 1–2 s (docs/storage.md, "Costs").
 */
import type { MetricKind, MetricUnit } from '../engine/metrics.js';
import { nameCapacity, type Registry } from '../engine/registry.js';
import { HOUR_MS } from './hourly.js';
import type { StoredSeries } from './rollups.js';

/** What restoreCatalog() did with the stored catalog. */
export interface CatalogRestore {
  /** Stored series, the monitor's own included. */
  total: number;
  /** Of them, registered (or found registered already). */
  registered: number;
  /** The ids of the application series this restore registered (not those found registered already): they hold places of maxSeries until the monitor stops (the monitor's RestoredPlaces). */
  ids: number[];
  /**
   * Application series held free for the live service: those the catalog has with a row in
   * the hour before its newest row (the working set of the run before), at most maxSeries.
   * Series registered already (a database attached late) count against it: the budget is
   * maxSeries less the larger of the two.
   */
  headroom: number;
  /** Application series not registered, the oldest, to keep `headroom` free: by design, not a fault. */
  leftOut: number;
  /** Series that could not be registered for another reason (a kind that changed, tags past a lowered maxTags, the own share full), and the first failure of each kind (at most REASONS_KEPT). */
  failed: number;
  reasons: string[];
}

/** Kinds of failure kept: the series past a limit fail the same way, each. */
const REASONS_KEPT = 3;

/**
 * Registers `entries` (newest first, as RollupTable.catalog() reads them) within maxSeries
 * less the headroom; says what it left out and what could not be registered, counted, not
 * one message each.
 */
export function restoreCatalog(registry: Registry, entries: readonly StoredSeries[]): CatalogRestore {
  const live = workingSet(entries);
  const headroom = Math.min(live.series, registry.limits.maxSeries);
  let budget = Math.max(0, registry.limits.maxSeries - Math.max(headroom, registry.applicationSeriesCount()));
  // The names of series left out are defined too (a history of them needs the name's kind), while
  // they leave the names the live set used free: the names table holds nameCapacity names of
  // the application's (the built-in and the monitor's own are apart).
  let names = nameCapacity(registry.limits.maxSeries) - registry.applicationNameCount() - live.names;
  const out: CatalogRestore = { total: entries.length, registered: 0, ids: [], headroom, leftOut: 0, failed: 0, reasons: [] };
  const kinds: string[] = [];
  /** The name of a series not registered, defined while names are left (a name it has already keeps its kind). */
  const nameOnly = (e: StoredSeries): void => {
    if (names <= 0 || registry.lookupName(e.name) !== undefined) return;
    registry.define(e.name, e.kind as MetricKind, e.unit as MetricUnit);
    names--;
  };
  for (const e of entries) {
    const kind = e.kind as MetricKind;
    try {
      if (e.own) {
        registry.defineOwn(e.name, kind, e.unit as MetricUnit);
        registry.ownSeriesId(e.name, e.tags);
        out.registered++;
        continue;
      }
      // A hub's member series were stored with its instance tag beyond maxTags (Registry.seriesId).
      const found = registry.prepare(e.name, e.tags, kind, true);
      if (typeof found === 'number') {
        out.registered++;
      } else if (budget > 0) {
        if (registry.lookupName(e.name) === undefined) names--;
        registry.define(e.name, kind, e.unit as MetricUnit);
        out.ids.push(registry.commit([found])[0]!);
        budget--;
        out.registered++;
      } else {
        out.leftOut++;
        nameOnly(e);
      }
    } catch (error) {
      out.failed++;
      try {
        if (!e.own) nameOnly(e);
      } catch {
        // a name it cannot have (a kind or unit that changed): the failure above is counted
      }
      // The first of each kind of failure (a kind that changed, a limit): each message names its own series.
      const code = error instanceof Error ? ((error as { code?: string }).code ?? error.name) : 'error';
      if (out.reasons.length < REASONS_KEPT && !kinds.includes(code)) {
        kinds.push(code);
        out.reasons.push(error instanceof Error ? error.message : String(error));
      }
    }
  }
  return out;
}

/** Application series with a row in the hour before the newest row of any, and their names: the live set of the run that wrote them. */
function workingSet(entries: readonly StoredSeries[]): { series: number; names: number } {
  let newest = -Infinity;
  for (const e of entries) if (!e.own && e.newest !== null) newest = Math.max(newest, e.newest);
  let series = 0;
  const names = new Set<string>();
  for (const e of entries) {
    if (e.own || e.newest === null || e.newest <= newest - HOUR_MS) continue;
    series++;
    names.add(e.name);
  }
  return { series, names: names.size };
}

/**
 * The stored series of `name` whose tags include `match` and that `registry` does not hold
 * (left out at start, or refused): a history reads them from the file alone.
 */
export function leftOutSeries(registry: Registry, name: string, stored: readonly Record<string, string>[], match: Readonly<Record<string, string>> | undefined): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  series: for (const tags of stored) {
    if (match) for (const k in match) if (tags[k] !== match[k]) continue series;
    try {
      if (typeof registry.prepare(name, tags, undefined, true) === 'number') continue;
    } catch {
      // tags this monitor's limits refuse now (a lowered maxTags): not registered, its history is the file's
    }
    out.push(tags);
  }
  return out;
}
