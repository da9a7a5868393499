/**
 * Where a JSON text first breaks the grammar, and what was expected there, for an error that
 * points at the place in a file without showing any of it. JSON.parse says neither in a form
 * to rely on: some of its messages give a position, others quote the text around the fault
 * (`Unexpected token 'x', "{"a": x}" is not valid JSON`), which an options file (a token, a
 * URL with a key) must not have echoed. `--config is not valid JSON` alone sent the user
 * through the whole file for a trailing comma.
 */

/** The first fault of `text` as JSON: its offset, and what JSON takes there; undefined for valid JSON (or nesting too deep to follow). */
export function jsonFault(text: string): { at: number; expected: string } | undefined {
  let i = 0;
  const fault = (expected: string): never => {
    throw { at: i, expected };
  };
  const space = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const literal = (word: string): void => {
    if (text.startsWith(word, i)) i += word.length;
    else fault('a value');
  };
  const string = (): void => {
    i++;
    for (;;) {
      if (i >= text.length) fault('the closing " of a string');
      const c = text.charCodeAt(i);
      if (c === 0x22) return void i++;
      if (c < 0x20) fault('no line break or control character inside a string (\\n for a line break)');
      if (c === 0x5c) {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fault('4 hex digits after \\u');
          i += 5;
        } else if (i < text.length && '"\\/bfnrt'.includes(text[i]!)) i++;
        else fault('an escape: \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\u');
      } else i++;
    }
  };
  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) fault('a value');
    i += m![0].length;
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{') return object();
    if (c === '[') return array();
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number();
    fault('a value');
  };
  const object = (): void => {
    i++;
    space();
    if (text[i] === '}') return void i++;
    for (;;) {
      space();
      if (text[i] !== '"') fault('a property name in double quotes (no comma before a closing })');
      string();
      space();
      if (text[i] !== ':') fault('a colon after the property name');
      i++;
      value();
      space();
      if (text[i] === '}') return void i++;
      if (text[i] !== ',') fault('a comma or a closing }');
      i++;
    }
  };
  const array = (): void => {
    i++;
    space();
    if (text[i] === ']') return void i++;
    for (;;) {
      value();
      space();
      if (text[i] === ']') return void i++;
      if (text[i] !== ',') fault('a comma or a closing ]');
      i++;
    }
  };
  try {
    value();
    space();
    if (i < text.length) fault('nothing after the value');
    return undefined;
  } catch (error) {
    if (typeof (error as { at?: unknown }).at === 'number') return error as { at: number; expected: string };
    // Nesting deeper than the stack (a file of 500,000 brackets): no place to point at.
    return undefined;
  }
}

/** The 1-based line and column of `offset` in `text` (a column counts characters). */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lines = before.split(/\r\n|\r|\n/);
  return { line: lines.length, column: lines.at(-1)!.length + 1 };
}
