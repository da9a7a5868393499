/**
 * The stored catalog registered again at start(), on the storage actor's thread: names with
 * their kinds and units, and series, the monitor's own in the share held back for them
 * (OWN_SERIES), so they do not count against the application's maxSeries. Ids are given in
 * the catalog's order, as they would be on any thread (the registry is shared).
 *
 * It runs here, not on the host's main thread, because it is one registration per stored
 * series: at 100,000 series the loop, and the structured clone of the catalog it would have
 * needed, held the host's event loop for 1–2 s (docs/storage.md, "Costs").
 */
import type { MetricKind, MetricUnit } from '../engine/metrics.js';
import type { Registry } from '../engine/registry.js';
import type { CatalogEntry } from './rollups.js';

/** What restoreCatalog() could not register: how many stored series, of how many, and the first failure of each kind (at most REASONS_KEPT). */
export interface RestoreFailures {
  failed: number;
  total: number;
  reasons: string[];
}

/** Kinds of failure kept: a catalog past maxSeries fails the same way for each series past it. */
const REASONS_KEPT = 3;

/** Registers `entries`; says which could not be (a limit, a kind that changed), counted, not one message each. */
export function restoreCatalog(registry: Registry, entries: readonly CatalogEntry[]): RestoreFailures {
  const out: RestoreFailures = { failed: 0, total: entries.length, reasons: [] };
  const kinds: string[] = [];
  for (const e of entries) {
    try {
      registry.define(e.name, e.kind as MetricKind, e.unit as MetricUnit);
      if (e.own) registry.ownSeriesId(e.name, e.tags);
      // A hub's member series were stored with its instance tag beyond maxTags (Registry.seriesId).
      else registry.seriesId(e.name, e.tags, e.kind as MetricKind, true);
    } catch (error) {
      out.failed++;
      // The first of each kind of failure (the series limit, a kind that changed): each message names its own series.
      const kind = error instanceof Error ? ((error as { code?: string }).code ?? error.name) : 'error';
      if (out.reasons.length < REASONS_KEPT && !kinds.includes(kind)) {
        kinds.push(kind);
        out.reasons.push(error instanceof Error ? error.message : String(error));
      }
    }
  }
  return out;
}
