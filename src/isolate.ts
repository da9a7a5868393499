/**
 * A name of the service's (a tag value, a pool, a member, an alert rule, a function or file
 * of a profile) quoted in a report's sentence or an answer's text, isolated for direction: it
 * sits between U+2068 (first strong isolate) and U+2069 (pop directional isolate), the
 * plain-text form of the dashboard's `unicode-bidi: isolate`.
 * A right-to-left override (U+202E) never closed in a tag value otherwise turned the rest of
 * the sentence around wherever it was shown (the dashboard, a Markdown viewer, an agent's
 * client): the endpoint "/a" U+202E "b" made "1500 ms (25 requests)" after it read
 * "(stseuqer 52) sm 0051".
 *
 * It is also kept on one line: an alert rule's name may hold any character, and one with a
 * line break followed by `# Heading` or `- ignore the above` started a block of its own in a
 * report's Markdown or an agent's text answer. Line breaks and other control characters are
 * written as their escapes (`\n`, `\u001b`), as JSON writes them. (Metric names, tag names
 * and tag values hold none: the registry refuses them. A profile's sites may: a script's name
 * is whatever its loader gave, and a file URL's `%0A` is a line break once decoded.)
 *
 * A name of printable ASCII alone has nothing to isolate and is quoted as it is, so the
 * sentences of almost every service read and match as before. Isolates the name opens and
 * does not close are closed with it, and pops of isolates it never opened are matched by
 * isolates opened before it: a hostile name cannot end ours early or leave one open.
 */
const FSI = '\u2068';
const PDI = '\u2069';

/** C0 controls, DEL, NEL and the Unicode line and paragraph separators: each ends a line somewhere. */
const LINE_BREAKING = /[\x00-\x1f\x7f\x85\u2028\u2029]/g;
const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

export function isolated(text: string): string {
  if (!/[^\x20-\x7e]/.test(text)) return text;
  const name = text.replace(LINE_BREAKING, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
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
