/**
 * Code sites of V8's profiles as people read them: a function at file:line, 1-based, the
 * file relative to the working directory when it is under it (the way a stack trace in the
 * service's own repository reads), and a stable key per site to add samples up by.
 */
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CodeSite } from './schema.js';

/** The call frame both profile formats carry (line and column 0-based). */
export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

/** Frames shown per stack (the innermost ones). */
export const STACK_FRAMES = 8;

export function siteKey(f: CallFrame): string {
  return `${f.functionName}\u0000${f.url}\u0000${f.lineNumber}\u0000${f.columnNumber}`;
}

export function displayFile(url: string, cwd: string): string {
  if (url === '') return '';
  let path = url;
  if (url.startsWith('file://')) {
    try {
      path = fileURLToPath(url);
    } catch {
      return url;
    }
  }
  if (cwd && path.startsWith(cwd + sep)) return relative(cwd, path);
  return path;
}

export function siteOf(f: CallFrame, cwd: string): CodeSite {
  return { function: f.functionName || '(anonymous)', file: displayFile(f.url, cwd), line: f.lineNumber + 1, column: f.columnNumber + 1 };
}

/** `renderPlayerStats at src/stats.js:88`, or the bare name of a native or internal frame. */
export function siteText(s: CodeSite): string {
  return s.file ? `${s.function} at ${s.file}:${s.line}` : s.function;
}

/** A frame in a stack: `renderPlayerStats (src/stats.js:88)`. */
export function frameText(s: CodeSite): string {
  return s.file ? `${s.function} (${s.file}:${s.line})` : s.function;
}

export function percent(share: number): string {
  const p = share * 100;
  return `${p >= 10 || p === 0 ? Math.round(p) : p.toFixed(1)}%`;
}
