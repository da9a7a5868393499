/**
 * Code sites of V8's profiles as people read them: a function at file:line, 1-based, the
 * file relative to the working directory when it is under it (the way a stack trace in the
 * service's own repository reads), and a stable key per site to add samples up by.
 */
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isolated } from '../isolate.js';
import { percent } from '../percent.js';
import type { CodeSite, LeadSite } from './schema.js';

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

/**
 * Whether a frame is in a file of the service's (its dependencies' too): not native code or a
 * V8 builtin (no file), nor Node's own JavaScript (`node:`), which the service only calls.
 */
export function inServiceFile(f: CallFrame): boolean {
  return f.url !== '' && !f.url.startsWith('node:');
}

/**
 * Where a frame's samples or bytes go for a headline: a frame with a file is its own; one with
 * none (native code, a V8 builtin) is its nearest caller's in the service's files, or else its
 * nearest caller's with a file (Node's own), or its own when no caller has one. `via` is the
 * function the owner called on the way (`pbkdf2Sync` for `hashPassword > pbkdf2Sync > run`).
 */
export interface Owner {
  /** The nearest frame, itself included, in the service's files. */
  service: CallFrame | null;
  /** The function that frame called on the way here (null when it is this frame). */
  callee: string | null;
  /** The nearest frame, itself included, with a file. */
  filed: CallFrame | null;
}

/** A frame's Owner from its caller's (null for an outermost frame). */
export function ownerOf(f: CallFrame, caller: Owner | null): Owner {
  const filed = f.url !== '' ? f : (caller?.filed ?? null);
  if (inServiceFile(f)) return { service: f, callee: null, filed };
  if (!caller?.service) return { service: null, callee: null, filed };
  return { service: caller.service, callee: caller.callee ?? (f.functionName || '(anonymous)'), filed };
}

/** Adds samples (cpu) or bytes (heap) up by the site a headline names (see Owner), and answers the first. */
export class LeadTally {
  private readonly by = new Map<string, { frame: CallFrame; amount: number; native: number; via: Map<string, number> }>();

  add(f: CallFrame, owner: Owner, amount: number): void {
    if (amount <= 0) return;
    const native = f.url === '';
    const frame = native ? (owner.service ?? owner.filed ?? f) : f;
    const key = siteKey(frame);
    let e = this.by.get(key);
    if (!e) this.by.set(key, (e = { frame, amount: 0, native: 0, via: new Map() }));
    e.amount += amount;
    if (native && frame !== f) {
      e.native += amount;
      const via = owner.service ? (owner.callee ?? f.functionName) : f.functionName;
      e.via.set(via || '(anonymous)', (e.via.get(via || '(anonymous)') ?? 0) + amount);
    }
  }

  /** The site with the most (the first added of a tie), its share of `all`. */
  lead(all: number, cwd: string): LeadSite | undefined {
    let best: { frame: CallFrame; amount: number; native: number; via: Map<string, number> } | undefined;
    for (const e of this.by.values()) if (!best || e.amount > best.amount) best = e;
    if (!best || all <= 0) return undefined;
    const share = (x: number): number => x / all;
    if (best.native <= 0) return { ...siteOf(best.frame, cwd), share: share(best.amount) };
    const via = [...best.via.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    return { ...siteOf(best.frame, cwd), share: share(best.amount), native: { share: share(best.native), via } };
  }
}

/**
 * What native code under a headline's site had of its share, when it had half of it or more
 * (`85.7% in native code under its call to pbkdf2Sync`: the time is in what the function
 * calls), else undefined: a loop that reads performance.now() has a sliver of native samples
 * in every profile, and the headline would say so in each.
 */
export function nativeNote(l: LeadSite): string | undefined {
  return l.native && l.native.share >= l.share / 2 ? `${percent(l.native.share)} in native code under its call to ${isolated(l.native.via)}` : undefined;
}
