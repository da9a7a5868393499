/**
 * Announces drops once per collection interval. Each ring counts its drops exactly in its
 * header (engine/ring.ts); once an interval the monitor compares the counts with the last look and,
 * when any ring dropped, emits one 'drops' event and shows the interval's figure in status:
 * news of an overload once per interval, not once per sample.
 */
import type { RingStats } from '../engine/ring.js';

export interface DropReport {
  /** Samples dropped since the previous report (or the start). */
  samples: number;
  /** The span those drops fall in: from `since` to `at` (ms since the epoch). */
  since: number;
  at: number;
  rings: { id: number; owner: 'main' | 'worker'; samples: number }[];
}

export class DropWatch {
  /** Ring id → drops seen at the last look (u32, wraps). */
  private readonly seen = new Map<number, number>();
  private lastAt: number;
  /** The latest report with drops, for status. */
  last: DropReport | null = null;

  constructor(now: number) {
    this.lastAt = now;
  }

  /** Takes the counts of `rings`; returns a report when any dropped since the last look. */
  check(rings: readonly (RingStats & { owner: 'main' | 'worker' })[], now: number): DropReport | undefined {
    const report: DropReport = { samples: 0, since: this.lastAt, at: now, rings: [] };
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
    return report;
  }
}
