/**
 * Profile captures as evidence in a report: a capture taken in the report's range (on demand
 * or because an alert fired) is attached to the diagnoses it explains, a CPU profile to an
 * event loop blocked or saturated CPU, a heap profile to a suspected leak or GC pressure, as
 * "event loop blocked: 71% of samples in renderPlayerStats at src/stats.js:88". A capture
 * that no diagnosis of the report claims becomes one of its own (info), so that what was
 * captured is never left out of the report.
 */
import type { CaptureNote } from '../profiling/schema.js';
import type { Diagnosis, Evidence, TimeWindow } from './types.js';

/** The diagnoses each kind of capture explains. */
const EXPLAINS = { cpu: ['event-loop-blocked', 'cpu-saturation', 'slow-formula-calculation'], heap: ['suspected-memory-leak', 'gc-pressure'] } as const;

const PERCENT = (share: number): string => `${Math.round(share * 100)}%`;

function sentence(n: CaptureNote): string {
  const by = n.rule ? `, when "${n.rule}" fired` : '';
  return `${n.kind === 'cpu' ? 'CPU' : 'Heap'} profile ${n.id} (${n.seconds} s from ${new Date(n.at).toISOString()}${by}): ${n.headline}.`;
}

function evidenceOf(n: CaptureNote): Evidence[] {
  if (!n.lead) return [];
  const window: TimeWindow = { from: n.at, to: n.at + n.seconds * 1000 };
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
    const words = mine.map(sentence).join(' ');
    if (claimed.length > 0) {
      for (const d of claimed) {
        d.summary = `${d.summary} ${words}`;
        d.evidence.push(...mine.flatMap(evidenceOf));
        d.actions.unshift(...mine.map(openAction));
      }
      continue;
    }
    const lead = mine[mine.length - 1]!;
    diagnoses.push({
      id: `${kind}-profile`,
      title: kind === 'cpu' ? 'Where the main thread spent its time (CPU profile)' : 'What holds the heap (heap profile)',
      severity: 'info',
      category: kind === 'cpu' ? 'cpu' : 'memory',
      summary: words,
      evidence: mine.flatMap(evidenceOf),
      actions: [
        ...mine.map(openAction),
        kind === 'cpu'
          ? `Start with ${lead.lead?.site ?? 'the top function'}: cache what it recomputes, or move it off the main thread (worker threads, a piscina pool).`
          : `Start with ${lead.lead?.site ?? 'the top allocation site'}: bound what it keeps (size and age), and release it when its request ends.`,
      ],
    });
  }
  return diagnoses;
}
