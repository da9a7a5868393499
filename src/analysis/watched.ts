/**
 * When the monitor watched: its runs (from a start() to now while it runs, or to the stop()
 * that ended it; the time between a stop() and the next start() is not watched), and, with storage, the lives of the processes before it on the same dataDir (each from its
 * start to its last flush, src/storage/watched-runs.ts). Rates have one definition: per second
 * over the time a window actually covers, the part of it the monitor watched that has passed.
 * A counter's rate over the last 60 s of a monitor up 11 s is per second of those 11 s; over a
 * window the monitor did not watch it is null. A range reaching back across a restart counts
 * the stored samples and the time their process watched, not the time between two processes.
 */
import type { Registry } from '../engine/registry.js';

/** The current run (or the last): from its start; to Infinity while running, else to when it stopped. */
export interface Watched {
  from: number;
  to: number;
  /** The monitor's earlier runs and earlier processes' lives on the same dataDir, ascending and disjoint, ending at or before `from`. */
  earlier?: readonly WatchedSpan[];
}

/** One span of time watched: [from, to). */
export interface WatchedSpan {
  from: number;
  to: number;
}

/**
 * The time series `id` was watched: `watched`, from where its hub member started watching
 * (Registry.memberFrom) for a hub's member series. Over the hub's time, which began before
 * the member existed, a member that joined a hub up 20 s read a third of its rate over a
 * minute, and a hub rule `rate(x[60s]) < 50` on it fired as it joined.
 */
export function watchedOf(registry: Registry, id: number, watched: Watched): Watched {
  return watchedSince(watched, registry.memberFrom(id));
}

/** `watched` from `start` on. */
export function watchedSince(watched: Watched, start: number): Watched {
  if (!(start > watched.from) && !(watched.earlier && watched.earlier.length > 0 && start > watched.earlier[0]!.from)) return watched;
  const earlier = (watched.earlier ?? []).filter((s) => s.to > start).map((s) => (s.from < start ? { from: start, to: s.to } : s));
  const from = Math.min(Math.max(watched.from, start), watched.to);
  return earlier.length > 0 ? { from, to: watched.to, earlier } : { from, to: watched.to };
}

/** Always watched: data built or filled without a monitor (tests, benchmarks). */
export const ALWAYS_WATCHED: Watched = { from: -Infinity, to: Infinity };

/**
 * `watched` with a stop of the whole process in its run (engine/freeze-watch.ts: SIGSTOP, a
 * VM suspended) left out, as the time between a stop() and a start() is: the run before it
 * becomes an earlier span. The same stop read again changes nothing.
 */
export function afterFreeze(watched: Watched, freeze: WatchedSpan | undefined): Watched {
  if (!freeze || !(freeze.from > watched.from) || !(freeze.to <= watched.to)) return watched;
  return { from: freeze.to, to: watched.to, earlier: [...(watched.earlier ?? []), { from: watched.from, to: freeze.from }] };
}

/** `watched` as of `until`: a run still going has watched up to there, not the time to come. */
export function watchedUntil(watched: Watched, until: number): Watched {
  return watched.to > until ? { ...watched, to: Math.max(watched.from, until) } : watched;
}

/** Seconds of [from, to) that the monitor watched, or null for none. */
export function coveredSeconds(from: number, to: number, watched: Watched): number | null {
  let ms = 0;
  for (const span of spansOf(watched)) {
    const a = Math.max(from, span.from);
    const b = Math.min(to, span.to);
    if (b > a) ms += b - a;
  }
  return ms > 0 ? ms / 1000 : null;
}

/**
 * The part of [from, to) the monitor watched, from the first instant it watched to the last,
 * with its seconds (those of the gaps between processes left out); the whole of it when it
 * watched none (data it holds from a store written before this process started, whose span is
 * all that is known).
 */
export function watchedPart(from: number, to: number, watched: Watched): WatchedSpan & { seconds: number } {
  let a = Infinity;
  let b = -Infinity;
  for (const span of spansOf(watched)) {
    const f = Math.max(from, span.from);
    const t = Math.min(to, span.to);
    if (t > f) {
      a = Math.min(a, f);
      b = Math.max(b, t);
    }
  }
  if (!(b > a)) return { from, to, seconds: (to - from) / 1000 };
  return { from: a, to: b, seconds: coveredSeconds(a, b, watched)! };
}

/** The end of the span watched that holds `t` (the run, or an earlier process's life), or NaN when none does. */
export function watchedEnd(watched: Watched, t: number): number {
  for (const span of spansOf(watched)) if (t >= span.from && t < span.to) return span.to;
  return Number.NaN;
}

/**
 * This process's Watched with the earlier processes' lives (`spans`, any order, overlapping
 * or not): the parts before its own start, merged, so that no time counts twice.
 */
export function withEarlier(watched: Watched, spans: readonly WatchedSpan[]): Watched {
  const sorted = [...(watched.earlier ?? []), ...spans]
    .map((s) => ({ from: s.from, to: Math.min(s.to, watched.from) }))
    .filter((s) => s.to > s.from)
    .sort((x, y) => x.from - y.from);
  const earlier: WatchedSpan[] = [];
  for (const s of sorted) {
    const last = earlier[earlier.length - 1];
    if (last && s.from <= last.to) last.to = Math.max(last.to, s.to);
    else earlier.push(s);
  }
  return earlier.length > 0 ? { ...watched, earlier } : watched;
}

function spansOf(watched: Watched): readonly WatchedSpan[] {
  return watched.earlier && watched.earlier.length > 0 ? [...watched.earlier, watched] : [watched];
}
