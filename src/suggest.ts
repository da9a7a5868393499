/**
 * Did-you-mean: the known names near a name that is not known (edit distance). One helper for
 * every front and the library, so that an unknown option, flag or metric is answered the
 * same way everywhere.
 */
import { distance } from 'fastest-levenshtein';

/** The `n` known names nearest to `name`, nearest first (ties in the given order). */
export function nearestNames(name: string, known: readonly string[], n = 3): string[] {
  return known
    .map((k, i) => ({ k, i, d: distance(name, k) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .slice(0, n)
    .map((x) => x.k);
}

/**
 * The known name a typo most likely meant: the nearest one within a small edit distance (a
 * third of the name's length, at least 1, at most 3), or undefined when none is that close.
 */
export function closeName(name: string, known: readonly string[]): string | undefined {
  const limit = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  const [best] = nearestNames(name, known, 1);
  return best !== undefined && distance(name, best) <= limit ? best : undefined;
}

/** `; did you mean X?` for a typo of a known name, or nothing. */
export function didYouMean(name: string, known: readonly string[]): string {
  const near = closeName(name, known);
  return near === undefined ? '' : `; did you mean ${near}?`;
}

/**
 * What an error about an unknown key adds: the known key a typo most likely meant, or, near
 * none of them, the known keys (` (the options: kind, seconds)`), so that the caller has
 * something to go on. `noun` names them in the plural.
 */
export function meantOrKnown(name: string, known: readonly string[], noun: string): string {
  const meant = didYouMean(name, known);
  return meant !== '' || known.length === 0 ? meant : ` (the ${noun}: ${known.join(', ')})`;
}
