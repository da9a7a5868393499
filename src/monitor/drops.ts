/**
 * Announces drops once per collection interval. Each ring counts its drops exactly in its
 * header (engine/ring.ts); once an interval the monitor compares the counts with the last look and,
 * when any ring dropped, emits one 'drops' event, reports a fault of kind `samples-dropped`
 * (one process warning at the first) and shows the interval's figure in status: news of an
 * overload once per interval, not once per sample. A report and `get_monitoring_status` say
 * it too, with what to do (dropAdvice): the samples were counted, and said nowhere a team
 * reads, so a run that lost 5.7% of them had a report scoring 100.
 */
import type { OverflowPolicy, RingStats } from '../engine/ring.js';

/**
 * Why samples were dropped and what to do, by the overflow policy in effect: each drops at a
 * full ring, after waiting for the collector or not (docs/architecture.md, Rings).
 */
export function dropAdvice(overflow: OverflowPolicy, stallTimeoutMs: number, ringCapacity: number): string {
  const ring = `a larger ringCapacity (now ${ringCapacity.toLocaleString('en-US')}) holds longer bursts`;
  if (overflow === 'drop') return `overflow 'drop' drops a sample whenever its ring is full: ${ring}, and overflow 'wait' (the default) lets the recording thread wait up to stallTimeoutMs for the collector first`;
  if (overflow === 'wait') return `the recording thread waited up to stallTimeoutMs (${stallTimeoutMs} ms) for room and then dropped: the collector did not keep up, or was down or starved of CPU (status().collector); ${ring}, a longer stallTimeoutMs lets the thread wait longer, or record fewer samples`;
  return `overflow 'block' dropped after stallTimeoutMs (${stallTimeoutMs} ms) without the collector freeing room (it was down or starved of CPU: status().collector): a longer stallTimeoutMs, or ${ring}`;
}

export interface DropReport {
  /** Samples dropped since the previous report (or the start). */
  samples: number;
  /** The span those drops fall in: from `since` to `at` (ms since the epoch). */
  since: number;
  at: number;
  rings: { id: number; owner: 'main' | 'worker'; samples: number }[];
  /** Samples applied to the store in the same span: with `samples`, what was recorded. */
  applied: number;
}

/** "1,400,964 samples (5.7% of those recorded) dropped at full rings between … and …". */
export function dropsText(r: DropReport): string {
  const recorded = r.samples + r.applied;
  const pct = (100 * r.samples) / recorded;
  const share = recorded > 0 ? ` (${pct.toFixed(pct < 0.1 ? 3 : 1)}% of those recorded)` : '';
  return `${r.samples.toLocaleString('en-US')} samples${share} dropped at full rings between ${new Date(r.since).toISOString()} and ${new Date(r.at).toISOString()}`;
}

export class DropWatch {
  /** Ring id → drops seen at the last look (u32, wraps). */
  private readonly seen = new Map<number, number>();
  private lastAt: number;
  /** The applied count (the control block's INGESTED) at the last look. */
  private lastApplied = 0;
  /** The latest report with drops, for status. */
  last: DropReport | null = null;
  /** Samples dropped since the start, and when the first of them was seen: for a report's note. */
  total = 0;
  firstAt: number | null = null;

  constructor(now: number) {
    this.lastAt = now;
  }

  /** Takes the counts of `rings` and the samples applied so far; returns a report when any dropped since the last look. */
  check(rings: readonly (RingStats & { owner: 'main' | 'worker' })[], now: number, applied: number): DropReport | undefined {
    const report: DropReport = { samples: 0, since: this.lastAt, at: now, rings: [], applied: Math.max(0, applied - this.lastApplied) };
    this.lastApplied = applied;
    for (const r of rings) {
      const before = this.seen.get(r.id) ?? 0;
      const delta = (r.dropped - before) >>> 0;
      this.seen.set(r.id, r.dropped);
      if (delta > 0) {
        report.samples += delta;
        report.rings.push({ id: r.id, owner: r.owner, samples: delta });
      }
    }
    this.lastAt = now;
    if (report.samples === 0) return undefined;
    this.last = report;
    this.total += report.samples;
    this.firstAt ??= report.since;
    return report;
  }

  /** What a report says of the samples dropped since the start, if any were, with what to do (`advice`: dropAdvice). */
  reportNote(advice: string): string | undefined {
    if (this.total === 0 || this.firstAt === null || this.last === null) return undefined;
    return `${this.total.toLocaleString('en-US')} samples dropped at full rings since ${new Date(this.firstAt).toISOString()} (the latest interval with drops: ${dropsText(this.last)}): the figures here lack them; ${advice}`;
  }
}
