/**
 * A name of the service's (a tag value, a pool, a member, an alert rule) quoted in a report's
 * sentence, isolated for direction: it sits between U+2068 (first strong isolate) and U+2069
 * (pop directional isolate), the plain-text form of the dashboard's `unicode-bidi: isolate`.
 * A right-to-left override (U+202E) never closed in a tag value otherwise turned the rest of
 * the sentence around wherever it was shown (the dashboard, a Markdown viewer, an agent's
 * client): the endpoint "/a" U+202E "b" made "1500 ms (25 requests)" after it read
 * "(stseuqer 52) sm 0051".
 *
 * A name of printable ASCII alone has nothing to isolate and is quoted as it is, so the
 * sentences of almost every service read and match as before. Isolates the name opens and
 * does not close are closed with it, and pops of isolates it never opened are matched by
 * isolates opened before it: a hostile name cannot end ours early or leave one open.
 */
const FSI = '\u2068';
const PDI = '\u2069';

export function isolated(name: string): string {
  if (!/[^\x20-\x7e]/.test(name)) return name;
  let open = 0;
  let unmatched = 0;
  for (const c of name) {
    if (c === '\u2066' || c === '\u2067' || c === FSI) open++;
    else if (c === PDI) {
      if (open > 0) open--;
      else unmatched++;
    }
  }
  return `${FSI.repeat(1 + unmatched)}${name}${PDI.repeat(1 + open)}`;
}
