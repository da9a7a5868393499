/**
 * Where a JSON text first breaks the grammar, and what JSON takes there, for an error that
 * points at the place in a file without showing any of it. JSON.parse says neither in a form
 * to rely on: some of its messages give a position, others quote the text around the fault
 * (`Unexpected token 'x', "{"a": x}" is not valid JSON`), which an options file (a token, a
 * URL with a key) must not have echoed. `--config is not valid JSON` alone sent the user
 * through the whole file for a trailing comma. The grammar is jsonc-parser's (VS Code's JSON
 * scanner), held to strict JSON: no comments, no trailing commas.
 */
import { parse, ParseErrorCode, type ParseError } from 'jsonc-parser';

/** What JSON takes at a fault, by jsonc-parser's code; in words that quote nothing of the file. */
const EXPECTED: Record<ParseErrorCode, string> = {
  [ParseErrorCode.InvalidSymbol]: 'a value',
  [ParseErrorCode.ValueExpected]: 'a value',
  [ParseErrorCode.InvalidNumberFormat]: 'a number in JSON’s form (no leading 0, no + sign, digits after a point)',
  [ParseErrorCode.UnexpectedEndOfNumber]: 'a number in JSON’s form (no leading 0, no + sign, digits after a point)',
  [ParseErrorCode.PropertyNameExpected]: 'a property name in double quotes (no comma before a closing })',
  [ParseErrorCode.ColonExpected]: 'a colon after the property name',
  [ParseErrorCode.CommaExpected]: 'a comma or a closing bracket',
  [ParseErrorCode.CloseBraceExpected]: 'a comma or a closing }',
  [ParseErrorCode.CloseBracketExpected]: 'a comma or a closing ]',
  [ParseErrorCode.EndOfFileExpected]: 'nothing after the value',
  [ParseErrorCode.InvalidCommentToken]: 'no comment (JSON has none)',
  [ParseErrorCode.UnexpectedEndOfComment]: 'no comment (JSON has none)',
  // Raised at a line break inside a string, or at the end of the text.
  [ParseErrorCode.UnexpectedEndOfString]: 'no line break or control character inside a string (\\n for a line break)',
  // The three below span the whole string: the place given is the string's start.
  [ParseErrorCode.InvalidCharacter]: 'no control character inside the string that starts there (\\t for a tab)',
  [ParseErrorCode.InvalidUnicode]: '4 hex digits after each \\u of the string that starts there',
  [ParseErrorCode.InvalidEscapeCharacter]: 'only the escapes \\" \\\\ \\/ \\b \\f \\n \\r \\t and \\u in the string that starts there',
};

/** The first fault of `text` as JSON: its offset, and what JSON takes there; undefined for valid JSON. */
export function jsonFault(text: string): { at: number; expected: string } | undefined {
  const errors: ParseError[] = [];
  parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first === undefined) return undefined;
  if (first.error === ParseErrorCode.UnexpectedEndOfString) {
    // The scan stopped where the string broke: at its line break, or at the end of the text.
    const at = first.offset + first.length;
    return { at, expected: at >= text.length ? 'the closing " of a string' : EXPECTED[first.error] };
  }
  return { at: first.offset, expected: EXPECTED[first.error] ?? 'a value' };
}

/** The 1-based line and column of `offset` in `text` (a column counts characters). */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lines = before.split(/\r\n|\r|\n/);
  return { line: lines.length, column: lines.at(-1)!.length + 1 };
}
