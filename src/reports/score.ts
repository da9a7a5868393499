/**
 * The 0-100 performance score. Each part reads one statistic of one metric over the report
 * window and maps it linearly from 100 (at or better than `good`) to 0 (at or worse than
 * `bad`); the overall score is the weighted mean of the parts that have data, their weights
 * renormalised. Parts and thresholds live in SCORE_PARTS and nowhere else; docs/reports.md
 * prints the same table.
 */
import { DIAGNOSIS_MINIMUM } from './diagnoses.js';
import type { AlertAnalysis, MetricSummary, Score, ScorePart } from './types.js';

export interface ScorePartRule {
  name: string;
  /** The first of these metrics that has data is scored. */
  metrics: readonly string[];
  statistic: 'mean' | 'p95' | 'p99' | 'alert points';
  /** What the value, good and bad are counted in (the metrics' unit). */
  unit: string;
  good: number;
  bad: number;
  weight: number;
  /**
   * A metric sampled once an interval is scored from this many readings: a fresh monitor's
   * first ones cover its own start-up (the process loading, the JIT warming), which the
   * diagnoses wait out too (DIAGNOSIS_MINIMUM), so a score of a few seconds is not theirs.
   */
  minReadings?: number;
  /**
   * Metrics scored beside the first that has data, each against its own good and bad: the part
   * is the lowest score of them. The memory part reads the heap against its limit (heap_usage)
   * as well as the machine's memory: a host at 48.8 MB of a 64 MB heap scored on the
   * machine's 10% alone. Its own statistic: the heap's p95, as the heap ends the process at
   * its highest, not its mean (a heap grown from 45% to 74% in the window has a mean of 51%).
   */
  also?: readonly { metric: string; statistic: 'mean' | 'p95' | 'p99'; good: number; bad: number }[];
}

/** Points an alert firing in the window costs, by severity. */
export const ALERT_POINTS = { info: 0, warning: 1, critical: 3, emergency: 5 } as const;

export const SCORE_PARTS: readonly ScorePartRule[] = [
  { name: 'latency', metrics: ['response_time', 'api_response_time'], statistic: 'p95', unit: 'ms', good: 100, bad: 2000, weight: 25 },
  { name: 'errors', metrics: ['error_rate'], statistic: 'mean', unit: 'ratio', good: 0.001, bad: 0.1, weight: 25 },
  { name: 'cpu', metrics: ['cpu_usage'], statistic: 'mean', unit: 'percent', good: 60, bad: 98, weight: 15, minReadings: DIAGNOSIS_MINIMUM.readings },
  { name: 'memory', metrics: ['memory_usage'], statistic: 'mean', unit: 'percent', good: 75, bad: 98, weight: 10, minReadings: DIAGNOSIS_MINIMUM.readings, also: [{ metric: 'heap_usage', statistic: 'p95', good: 60, bad: 80 }] },
  { name: 'event loop', metrics: ['event_loop_lag'], statistic: 'p99', unit: 'ms', good: 20, bad: 500, weight: 15, minReadings: DIAGNOSIS_MINIMUM.readings },
  { name: 'alerts', metrics: ['alerts'], statistic: 'alert points', unit: 'points', good: 0, bad: 10, weight: 10 },
];

export const SCORE_FORMULA =
  'overall = Σ(weight × part) / Σ(weight) over the parts with data; part = 100 × clamp((bad − value) / (bad − good), 0, 1); ' +
  SCORE_PARTS.map((p) => `${p.name}: ${p.statistic} of ${p.metrics.join(' or ')}, 100 at ≤ ${p.good}, 0 at ≥ ${p.bad}${(p.also ?? []).map((a) => `, or ${a.statistic} of ${a.metric} (100 at ≤ ${a.good}, 0 at ≥ ${a.bad}) where that scores lower`).join('')}, weight ${p.weight}${p.minReadings ? `, from ${p.minReadings} readings` : ''}`).join('; ');

/** 100 at or better than good, 0 at or worse than bad, linear between. */
export function partScore(value: number, good: number, bad: number): number {
  const s = (bad - value) / (bad - good);
  return 100 * Math.min(1, Math.max(0, s));
}

export function alertPoints(alerts: AlertAnalysis): number {
  let points = 0;
  for (const [severity, n] of Object.entries(alerts.bySeverity)) points += (ALERT_POINTS[severity as keyof typeof ALERT_POINTS] ?? 0) * n;
  return points;
}

export function computeScore(metrics: ReadonlyMap<string, MetricSummary>, alerts: AlertAnalysis | null): Score {
  const parts: ScorePart[] = SCORE_PARTS.map((rule) => {
    let value: number | null = null;
    let metric = rule.metrics[0]!;
    let note: string | undefined;
    if (rule.statistic === 'alert points') {
      if (alerts?.available) value = alertPoints(alerts);
    } else {
      for (const name of rule.metrics) {
        const m = metrics.get(name);
        if (m && m.count > 0) {
          metric = name;
          value = m[rule.statistic];
          if (rule.minReadings !== undefined && m.count < rule.minReadings) note = `${m.count} of the ${rule.minReadings} readings it is scored from`;
          break;
        }
      }
    }
    let score = value !== null && Number.isFinite(value) && note === undefined ? Math.round(partScore(value, rule.good, rule.bad) * 10) / 10 : null;
    let { good, bad, statistic } = rule;
    for (const a of rule.also ?? []) {
      const m = metrics.get(a.metric);
      if (!m || m.count < (rule.minReadings ?? 1)) continue;
      const v = m[a.statistic];
      if (!Number.isFinite(v)) continue;
      const s = Math.round(partScore(v, a.good, a.bad) * 10) / 10;
      if (score !== null && s >= score) continue;
      ({ good, bad } = a);
      metric = a.metric;
      statistic = a.statistic;
      value = v;
      score = s;
      note = undefined;
    }
    return { name: rule.name, score, weight: rule.weight, metric, statistic, unit: rule.unit, value, good, bad, ...(note ? { note } : {}) };
  });
  let weighted = 0;
  let weights = 0;
  for (const p of parts) {
    if (p.score === null) continue;
    weighted += p.weight * p.score;
    weights += p.weight;
  }
  // Alerts that never fired say nothing of the service alone: a fresh monitor whose readings
  // are all still waiting has no score yet rather than a perfect one (an empty window too).
  const measured = parts.some((p) => p.score !== null && (p.statistic !== 'alert points' || (p.value ?? 0) > 0));
  return { overall: measured && weights > 0 ? Math.round((weighted / weights) * 10) / 10 : null, parts, formula: SCORE_FORMULA };
}

/** What a report says in place of a missing overall score: too few readings yet, or no data. */
export function noScore(score: Score): string {
  return score.parts.some((p) => p.note !== undefined) ? 'not yet: too few readings (see the parts)' : 'no data';
}
