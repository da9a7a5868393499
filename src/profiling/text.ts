/**
 * Captures in words: the note an alert's history entry and the reports carry, the
 * annotations of a notification, and the bounded text the MCP tool and the CLI print.
 */
import { formatBytes } from './heap-summary.js';
import { percent } from '../percent.js';
import { siteText } from './sites.js';
import type { Capture, CaptureNote } from './schema.js';

/** Lines of the top list in a note and in notifications. */
const NOTE_TOP = 3;
/** Characters of an annotation value: receivers (chat, pagers) show a short text. */
const ANNOTATION_CHARS = 1024;

export function topLines(c: Capture, n: number): string[] {
  const s = c.summary;
  if (s.kind === 'cpu') return s.topSelf.slice(0, n).map((f) => `${percent(f.selfShare)} self, ${percent(f.totalShare)} total: ${siteText(f)}`);
  return s.sites.slice(0, n).map((a) => `${formatBytes(a.bytes)} (${percent(a.share)}): ${siteText(a)}`);
}

export function noteOf(c: Capture): CaptureNote {
  const s = c.summary;
  // The headline's site (native code charged to the service's caller, cpu-summary.ts); a summary kept before it had none.
  const first = s.lead ?? (s.kind === 'cpu' ? s.topSelf[0] : s.sites[0]);
  const lead = first ? { site: siteText(first), share: 'selfShare' in first ? first.selfShare : first.share } : null;
  return { id: c.id, kind: c.kind, at: c.startedAt, seconds: c.seconds, headline: c.headline, file: c.file, top: topLines(c, NOTE_TOP), lead, rule: c.alert?.ruleName ?? null, ...(c.alert?.metric !== undefined ? { ruleMetric: c.alert.metric } : {}), ...(c.fileError !== null ? { fileError: c.fileError } : {}), ...(s.kind === 'cpu' ? { idle: s.idle } : {}) };
}

export function skippedNote(kind: CaptureNote['kind'], at: number, seconds: number, why: string, rule: string): CaptureNote {
  return { id: 0, kind, at, seconds, headline: `no ${kind} profile: ${why}`, file: null, top: [], lead: null, rule, skipped: why };
}

/** The annotations a notification carries of a capture (Alertmanager's values are strings). */
export function annotationsOf(c: Capture): Record<string, string> {
  const cut = (s: string): string => (s.length > ANNOTATION_CHARS ? `${s.slice(0, ANNOTATION_CHARS - 1)}…` : s);
  const out: Record<string, string> = {
    profile: cut(`${c.kind} profile, ${c.seconds} s: ${c.headline}`),
    profile_top: cut(topLines(c, NOTE_TOP).join('\n')),
  };
  out.profile_file = c.file ?? `not kept: ${c.fileError ?? 'unknown'}`;
  return out;
}

/** The summary as text, `top` entries per list; says how to get more and where the file is. */
export function captureText(c: Capture, top: number): string {
  const lines = [`${c.kind} profile ${c.id} of the main thread, ${c.seconds} s from ${new Date(c.startedAt).toISOString()}: ${c.headline}`];
  const s = c.summary;
  if (s.kind === 'cpu') {
    // Each share as it reads everywhere (the headline, the report): they may add up to 99.9% or 100.1%.
    lines.push(`${s.samples} samples: JavaScript ${percent(s.js)}, idle ${percent(s.idle)}, GC ${percent(s.gc)}, program ${percent(s.program)}`);
    const shown = s.topSelf.slice(0, top);
    lines.push('Top functions by self time:', ...shown.map((f) => `  ${percent(f.selfShare)} (${f.selfMs} ms) ${siteText(f)}${f.hotLine ? `, hottest line ${f.hotLine.line} (${percent(f.hotLine.share)})` : ''}`));
    if (shown.some((f) => f.hotLine)) lines.push(`  (hottest line: V8's, the line with most of the function's own samples; code V8 inlined into it counts at that code's own line, which may be in another file)`);
    lines.push('Top functions by total time:', ...s.topTotal.slice(0, top).map((f) => `  ${percent(f.totalShare)} (${f.totalMs} ms) ${siteText(f)}`));
    lines.push('Hottest stacks:', ...s.stacks.slice(0, Math.min(top, 3)).map((st) => `  ${percent(st.share)}: ${st.frames.join(' > ')}`));
  } else {
    lines.push(`${formatBytes(s.liveBytes)} of sampled allocations still live at the end`);
    lines.push('Top allocation sites:', ...s.sites.slice(0, top).map((a) => `  ${formatBytes(a.bytes)} (${percent(a.share)}) ${siteText(a)}`));
    lines.push('Largest allocating stacks:', ...s.stacks.slice(0, Math.min(top, 3)).map((st) => `  ${formatBytes(st.bytes)}: ${st.frames.join(' > ')}`));
  }
  const cut = cutNote(s.kind === 'cpu' ? [['by self time', s.topSelf.length], ['by total time', s.topTotal.length]] : [['allocation sites', s.sites.length]], top);
  if (cut) lines.push(cut);
  lines.push(c.file ? `Full profile (open in Chrome DevTools): ${c.file}` : `Full profile not kept: ${c.fileError}`);
  return lines.join('\n');
}

/**
 * What `top` left out of the lists, or undefined when nothing: one count when they are as long
 * as each other, else each list's (a profile with 8 functions of self time and 20 of total
 * time said "10 of 20 shown" over a list of 8).
 */
function cutNote(lists: [string, number][], top: number): string | undefined {
  const most = Math.max(...lists.map(([, n]) => n));
  if (most <= top) return undefined;
  if (lists.every(([, n]) => n === most)) return `${top} of ${most} shown: pass top (up to ${most}) for more.`;
  return `${lists.map(([what, n]) => (n > top ? `${top} of ${n} ${what}` : `all ${n} ${what}`)).join(', ')} shown: pass top (up to ${most}) for more.`;
}
