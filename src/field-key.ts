/**
 * A field's path to a key of an object the caller gave (a tag name): `tags.route`, or, for a
 * key that would break the message or the log line it is written on (a control character, a line
 * separator, a quote, a backslash), the key quoted with JSON escapes, `tags["a b\n"]`, as a metric
 * name is (`name "a\nb" must match …`). A tag name with a newline was echoed raw, in the error's
 * field and message, and split a one-line log (a trial).
 */
const NEEDS_QUOTES = /[\p{Cc}\u2028\u2029"\\]/u;

export function keyField(prefix: string, key: string): string {
  if (!NEEDS_QUOTES.test(key)) return prefix === '' ? key : `${prefix}.${key}`;
  return `${prefix}[${JSON.stringify(key)}]`;
}
