/**
 * The keys an argument object of the library takes. A key it does not take (a typo, `name`
 * for `names`, `window` for `windowSeconds`, `tag` for `tags`) is an error naming it and the
 * key meant: read past, it answered another question than the one asked (every series for
 * `{ name: ['response_time'] }`, a sample recorded without its tags) and said nothing.
 */
import { InvalidArgumentError, unknownKeyRule } from './errors.js';
import { didYouMean } from './suggest.js';

/** Throws InvalidArgumentError for the first own key of `value` not in `known`; `path` prefixes the field (`samples[3].`). */
export function checkKeys(value: object, known: readonly string[], what: string, path = ''): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new InvalidArgumentError(`${path}${key}`, `${unknownKeyRule(what)}${didYouMean(key, known)} (the fields: ${known.join(', ')})`);
  }
}
