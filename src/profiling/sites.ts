/**
 * Code sites of V8's profiles as people read them: a function at file:line, 1-based, the
 * file relative to the working directory when it is under it (the way a stack trace in the
 * service's own repository reads), and a stable key per site to add samples up by.
 */
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isolated } from '../isolate.js';
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

/**
 * The working directory files are shown relative to, or '' (absolute paths) when there is
 * none: process.cwd() throws ENOENT once the directory was removed under the process (an old
 * release directory a deploy deleted), and a capture must still be summarised then.
 */
export function workingDir(): string {
  try {
    return process.cwd();
  } catch {
    return '';
  }
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

/**
 * `renderPlayerStats at src/stats.js:88`, or the bare name of a native or internal frame. The
 * function and the file are the service's own text, which may hold anything (a script named by
 * its loader, a file URL's `%0A` decoded): each is isolated and kept on one line (isolate.ts),
 * since this text goes into headlines, reports' Markdown, notifications and agents' answers.
 */
export function siteText(s: CodeSite): string {
  return s.file ? `${isolated(s.function)} at ${isolated(s.file)}:${s.line}` : isolated(s.function);
}

/** A frame in a stack: `renderPlayerStats (src/stats.js:88)`, isolated as siteText's. */
export function frameText(s: CodeSite): string {
  return s.file ? `${isolated(s.function)} (${isolated(s.file)}:${s.line})` : isolated(s.function);
}
