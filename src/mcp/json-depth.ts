/**
 * How deep a request body's JSON nests, read off its bytes before JSON.parse sees them.
 *
 * JSON.parse takes arrays nested millions deep, and slowly: 10 MB of `[` then `]` (5 million
 * levels, a fifth of the body limit) held the host's event loop 3.8 s in JSON.parse alone,
 * and 3.5 to 6.9 s in all, against 0.4 s for a valid 45 MB batch; and such a value as a
 * request's id overflowed the stack of the SDK's walk over it, a 500 and a line on the host's
 * stderr. No MCP message needs more than a few levels (a batch's tags are 6 deep), so a body
 * nested deeper than MAX_JSON_DEPTH is refused before it is parsed. The scan is one pass over
 * the bytes (a string's skipped to its closing quote by indexOf), brackets inside strings not
 * counted: 12-20 ms for that 45 MB batch.
 */

/** Levels of arrays and objects a request body may nest. */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** Whether the JSON text in `bytes` nests arrays and objects at most `limit` deep (malformed text is JSON.parse's to refuse). */
export function nestsWithin(bytes: Buffer, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === QUOTE) {
      // To the closing quote: the next quote not escaped (an even run of backslashes before it).
      for (;;) {
        i = bytes.indexOf(QUOTE, i + 1);
        if (i === -1) return true;
        let slashes = 0;
        while (bytes[i - 1 - slashes] === BACKSLASH) slashes++;
        if (slashes % 2 === 0) break;
      }
    } else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
      if (++depth > limit) return false;
    } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) {
      depth--;
    }
  }
  return true;
}
