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
  // V8 gives the entry ES module's top-level code, which is no function, the position -1:-1,
  // and `+ 1` made it line 0 of its file (`server.mjs:0`), a line no editor has: that code
  // starts at the file's start. A frame without a file (native code) keeps 0: it has no line.
  const top = f.url !== '' && f.lineNumber < 0;
  return { function: f.functionName || '(anonymous)', file: displayFile(f.url, cwd), line: top ? 1 : f.lineNumber + 1, column: top ? 1 : f.columnNumber + 1 };
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
 * Where a frame's samples or bytes go for a headline: a frame in the service's files is its
 * own; one with no file (native code, a V8 builtin) or in Node's own JavaScript (`node:`) is
 * its nearest caller's in the service's files, or else (none: Node's own work, an HTTP
 * parser's) its nearest caller's with a file, or its own when no caller has one. `via` is the
 * function the owner called on the way (`pbkdf2Sync` for `hashPassword > pbkdf2Sync > run`).
 * A service's `Buffer#toString` allocates in `slice` at node:buffer:662, which it cannot change.
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
interface Tallied {
  frame: CallFrame;
  amount: number;
  /** Of `amount`, frames with no file's (native) and Node's own (`node:`) charged here. */
  native: number;
  node: number;
  via: Map<string, number>;
}

export class LeadTally {
  private readonly by = new Map<string, Tallied>();

  add(f: CallFrame, owner: Owner, amount: number): void {
    if (amount <= 0) return;
    const frame = inServiceFile(f) ? f : (owner.service ?? owner.filed ?? f);
    const key = siteKey(frame);
    let e = this.by.get(key);
    if (!e) this.by.set(key, (e = { frame, amount: 0, native: 0, node: 0, via: new Map() }));
    e.amount += amount;
    if (frame !== f) {
      if (f.url === '') e.native += amount;
      else e.node += amount;
      const via = owner.service ? (owner.callee ?? f.functionName) : f.functionName;
      e.via.set(via || '(anonymous)', (e.via.get(via || '(anonymous)') ?? 0) + amount);
    }
  }

  /** The site with the most (the first added of a tie), its share of `all`. */
  lead(all: number, cwd: string): LeadSite | undefined {
    let best: Tallied | undefined;
    for (const e of this.by.values()) if (!best || e.amount > best.amount) best = e;
    if (!best || all <= 0) return undefined;
    const share = (x: number): number => x / all;
    const site: LeadSite = { ...siteOf(best.frame, cwd), share: share(best.amount) };
    if (best.native + best.node <= 0) return site;
    const via = [...best.via.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    if (best.native > 0) site.native = { share: share(best.native), via };
    if (best.node > 0) site.node = { share: share(best.node), via };
    return site;
  }
}

/**
 * What code not the service's under a headline's site had of its share, when it had half of it
 * or more (`85.7% in native code under its call to pbkdf2Sync`, `75% in Node's code under its
 * call to toString`: the time or the bytes are in what the function calls), else undefined: a
 * loop that reads performance.now() has a sliver of native samples in every profile, and the
 * headline would say so in each.
 */
export function nativeNote(l: LeadSite): string | undefined {
  const native = l.native?.share ?? 0;
  const node = l.node?.share ?? 0;
  if (native + node <= 0 || native + node < l.share / 2) return undefined;
  // Named by the larger part, and by both when the smaller holds a tenth or more: pbkdf2Sync's
  // few samples in node:internal/crypto read as native code.
  const where = node < (native + node) / 10 ? 'native code' : native < (native + node) / 10 ? "Node's code" : "Node's and native code";
  return `${percent(native + node)} in ${where} under its call to ${isolated((l.native ?? l.node)!.via)}`;
}
