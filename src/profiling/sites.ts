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

export function percent(share: number): string {
  const p = share * 100;
  return `${p >= 10 || p === 0 ? Math.round(p) : p.toFixed(1)}%`;
}

/**
 * Shares of one whole (a CPU capture's JavaScript, idle, GC and program) as percents that add
 * up to 100: each to a tenth of a percent, the tenths lost to rounding given to the shares that
 * lost the most (largest remainder). percent() rounds each share alone, and from 10% to a whole
 * percent: an idle 99.5% read 100% beside JavaScript 0.2%, GC 0.2% and program 0.1%.
 */
export function percentParts(shares: readonly number[]): string[] {
  const total = shares.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return shares.map(() => '0%');
  const exact = shares.map((share) => (share / total) * 1000);
  const tenths = exact.map(Math.floor);
  let left = 1000 - tenths.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((_, i) => i).sort((a, b) => exact[b]! - tenths[b]! - (exact[a]! - tenths[a]!));
  for (const i of byRemainder) {
    if (left-- <= 0) break;
    tenths[i]!++;
  }
  return tenths.map((t) => `${t % 10 === 0 ? t / 10 : (t / 10).toFixed(1)}%`);
}
