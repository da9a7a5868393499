/**
 * The hint of an empty answer whose tags match no series: the tags a typo most likely meant
 * (the library's suggestTags). `tags={"endpont":"/users"}` answered an empty list and nothing
 * more, as if there were no such data (a trial of 2026-12-06).
 */
import type { PerformanceMonitor } from '../monitor/monitor.js';

export interface TagHint {
  /** What a typo of the tags most likely meant. */
  suggestedTags: Record<string, string>;
  /** The same in words, for a reader. */
  hint: string;
}

/**
 * The hint for `tags` (asked of the metrics `names`, or of all), or an empty object when no
 * typo explains the miss (or a series matches): spread into the answer.
 */
export function tagHint(monitor: PerformanceMonitor, names: string[] | undefined, tags: Record<string, string> | undefined): TagHint | Record<string, never> {
  if (tags === undefined) return {};
  const meant = monitor.suggestTags({ ...(names ? { names } : {}), tags });
  if (meant === undefined) return {};
  const of = names ? ` of ${names.join(', ')}` : '';
  return { suggestedTags: meant, hint: `no series${of} has the tags ${JSON.stringify(tags)}: did you mean ${JSON.stringify(meant)}?` };
}
