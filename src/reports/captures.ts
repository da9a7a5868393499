/**
 * Profile captures as evidence in a report: a capture taken in the report's range (on demand
 * or because an alert fired) is attached to the diagnoses it explains, a CPU profile to an
 * event loop blocked or saturated CPU, a heap profile to a suspected leak or GC pressure, as
 * "event loop blocked: 71% of samples in renderPlayerStats at src/stats.js:88". A capture
 * that no diagnosis of the report claims becomes one of its own (info), so that what was
 * captured is never left out of the report.
 *
 * A CPU capture in which the main thread was mostly idle names no culprit: its top function
 * holds a sliver of the samples, and the CPU a saturation diagnosis saw went to other threads
 * or processes. It is attached saying so, with its idle share as the evidence, and its top
 * function is not offered as the place to start.
 */
import { isolated } from '../isolate.js';
import { percent } from '../percent.js';
import type { CaptureNote } from '../profiling/schema.js';
import type { Diagnosis, Evidence, TimeWindow } from './types.js';

/** The diagnoses each kind of capture explains. */
const EXPLAINS = { cpu: ['event-loop-blocked', 'event-loop-cpu-wait', 'cpu-saturation', 'slow-formula-calculation'], heap: ['suspected-memory-leak', 'gc-pressure'] } as const;

/** A CPU capture idle for at least this share of its samples points at no function of the main thread. */
export const IDLE_CAPTURE_SHARE = 0.8;

const idle = (n: CaptureNote): boolean => n.kind === 'cpu' && (n.idle ?? 0) >= IDLE_CAPTURE_SHARE;

/**
 * What a mostly idle capture says of the diagnosis it is attached to. A blocked event loop was
 * held by JavaScript on the main thread at some time of the window; a capture that found the
 * thread waiting was taken at another time, and says nothing of where the CPU went then
 * (until 2026-12-01 it said "the CPU went to other threads or processes", as for a saturated
 * CPU, which contradicted the diagnosis it was attached to).
 */
function idleWords(n: CaptureNote, diagnosis: string | undefined): string {
  // Named: beside another capture's sentence, one of "the main thread" read as the report's conclusion.
  const share = `In profile ${n.id} the main thread was idle in ${percent(n.idle!)} of its samples`;
  if (diagnosis === 'event-loop-blocked') return `${share}: the capture missed the synchronous work that blocked the loop, which ran at other times of the window.`;
  // Not that the CPU went elsewhere: the loop was free again, which is when such a rule fires.
  if (n.ruleMetric === 'event_loop_lag') return `${share}: it began when its rule on event_loop_lag fired, once the block that rule measured had ended.`;
  return `${share}: during the capture the CPU went to other threads or processes, not to its JavaScript.`;
}

/** What to do when every CPU capture of a blocked event loop found the main thread waiting. */
const CAPTURE_WHILE_BLOCKED = "Capture again while the loop is blocked: a rule on event_loop_lag (p99 over 100 ms, say) with capture: 'cpu' takes one when it fires.";

/**
 * The same when those captures were themselves started by a rule on event_loop_lag. Such a
 * rule fires once the block it measured has ended (a delay is known only when the loop is
 * free again), so its capture catches a block that comes back within its seconds, never one
 * that came once: the advice above sent the reader to make the rule whose capture had just
 * missed, and it would miss again.
 */
function afterLagAdvice(notes: readonly CaptureNote[]): string {
  const ids = notes.map((n) => n.id).join(', ');
  return `${notes.length === 1 ? 'Profile' : 'Profiles'} ${ids} began when a rule on event_loop_lag fired, which is once the block it measured had ended: such a capture catches a block that comes back within its captureSeconds, not one that came once. For a block that recurs now and then, raise that rule's captureSeconds (up to 120); for one seen once, capture while reproducing it (capture_performance_profile, or monitor.profile({ kind: 'cpu', seconds: 60 })).`;
}

const afterLag = (notes: readonly CaptureNote[]): boolean => notes.every((n) => n.ruleMetric === 'event_loop_lag');

/** What to do when no capture of a diagnosis of their own found the main thread busy. */
function waitingAdvice(kind: CaptureNote['kind'], notes: readonly CaptureNote[]): string {
  if (kind === 'cpu' && afterLag(notes)) return afterLagAdvice(notes);
  return "Capture again while the service is slow (a rule with capture: 'cpu' takes one when its alert fires): this main thread was mostly waiting.";
}

function sentence(n: CaptureNote, diagnosis?: string): string {
  // The rule's name is the service's text, which may hold anything: isolated and kept on one
  // line as every other answer quotes it (isolate.ts). Raw, a name `slow\n# x` broke the
  // sentence in two, and started a heading of its own in the markdown report.
  const by = n.rule ? `, when "${isolated(n.rule)}" fired` : '';
  const why = idle(n) ? ` ${idleWords(n, diagnosis)}` : '';
  return `${n.kind === 'cpu' ? 'CPU' : 'Heap'} profile ${n.id} (${n.seconds} s from ${new Date(n.at).toISOString()}${by}): ${n.headline}.${why}`;
}

function evidenceOf(n: CaptureNote): Evidence[] {
  const window: TimeWindow = { from: n.at, to: n.at + n.seconds * 1000 };
  if (idle(n)) return [{ metric: 'cpu_profile', statistic: 'share of samples idle', value: Number(n.idle!.toFixed(4)), threshold: IDLE_CAPTURE_SHARE, unit: 'ratio', window }];
  if (!n.lead) return [];
  return [
    n.kind === 'cpu'
      ? { metric: 'cpu_profile', statistic: `share of samples in ${n.lead.site} (self)`, value: Number(n.lead.share.toFixed(4)), threshold: 0, unit: 'ratio', window }
      : { metric: 'heap_profile', statistic: `share of live sampled bytes allocated in ${n.lead.site}`, value: Number(n.lead.share.toFixed(4)), threshold: 0, unit: 'ratio', window },
  ];
}

function openAction(n: CaptureNote): string {
  const panel = n.kind === 'cpu' ? 'Performance' : 'Memory';
  return n.file ? `Open ${n.file} in Chrome DevTools (${panel} panel) for the whole profile.` : `Capture ${n.id}'s file was not kept; capture again to read the whole profile.`;
}

/** The diagnoses with the captures of the range attached (the list is changed in place and returned). */
export function withCaptures(diagnoses: Diagnosis[], notes: readonly CaptureNote[]): Diagnosis[] {
  const taken = notes.filter((n) => !n.skipped);
  for (const kind of ['cpu', 'heap'] as const) {
    const mine = taken.filter((n) => n.kind === kind);
    if (mine.length === 0) continue;
    const claimed = diagnoses.filter((d) => (EXPLAINS[kind] as readonly string[]).includes(d.id));
    if (claimed.length > 0) {
      for (const d of claimed) {
        d.summary = `${d.summary} ${mine.map((n) => sentence(n, d.id)).join(' ')}`;
        d.evidence.push(...mine.flatMap(evidenceOf));
        d.actions.unshift(...(d.id === 'event-loop-blocked' && mine.every(idle) ? [afterLag(mine) ? afterLagAdvice(mine) : CAPTURE_WHILE_BLOCKED] : []), ...mine.map(openAction));
      }
      continue;
    }
    const words = mine.map((n) => sentence(n)).join(' ');
    const lead = mine.filter((n) => !idle(n)).at(-1);
    diagnoses.push({
      id: `${kind}-profile`,
      title: kind === 'cpu' ? 'Where the main thread spent its time (CPU profile)' : 'What holds the heap (heap profile)',
      severity: 'info',
      category: kind === 'cpu' ? 'cpu' : 'memory',
      summary: words,
      evidence: mine.flatMap(evidenceOf),
      actions: [
        ...mine.map(openAction),
        !lead
          ? waitingAdvice(kind, mine)
          : kind === 'cpu'
            ? `Start with ${lead.lead?.site ?? 'the top function'}: cache what it recomputes, or move it off the main thread (worker threads, a piscina pool).`
            : `Start with ${lead.lead?.site ?? 'the top allocation site'}: bound what it keeps (size and age), and release it when its request ends.`,
      ],
    });
  }
  return diagnoses;
}
