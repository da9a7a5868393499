/**
 * Alert analysis for reports: a pure function over the alert engine's history of state
 * transitions (AlertTransition, types.ts): firings by severity and by rule, time from firing
 * to resolution, episodes still open, and flapping (an alert that fires again and again).
 */
import { SEVERITIES } from '../alerts/vocabulary.js';
import type { AlertAnalysis, AlertSeverity, AlertTransition, TimeWindow } from './types.js';

/** Thresholds of the alert analysis, in one place. */
export const ALERT_RULES = {
  /** An alert (rule + fingerprint) flaps when it fires this many times… */
  flapFirings: 3,
  /** …within this long. */
  flapWindowMs: 30 * 60_000,
} as const;

function median(sorted: number[]): number | null {
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Analyses the transitions with window.from <= at < window.to. An episode opens at a
 * transition to `firing` and closes at the next transition of the same fingerprint to
 * `resolved` or `inactive`; one open before the window that resolves inside it counts
 * towards time to resolve from its firing time when the history holds it.
 */
export function analyzeAlerts(history: readonly AlertTransition[], window: TimeWindow, available = true): AlertAnalysis {
  const sorted = [...history].filter((h) => Number.isFinite(h.at) && h.at < window.to).sort((a, b) => a.at - b.at);
  const inWindow = (h: AlertTransition): boolean => h.at >= window.from;
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<AlertSeverity, number>;
  const byRule = new Map<string, { ruleId: string; ruleName: string; severity: AlertSeverity; firings: number }>();
  const firingTimes = new Map<string, number[]>();
  const openSince = new Map<string, number>();
  const durations: number[] = [];
  let transitions = 0;
  let firings = 0;
  for (const h of sorted) {
    const key = `${h.ruleId}\u0000${h.fingerprint}`;
    if (inWindow(h)) transitions++;
    if (h.to === 'firing') {
      if (!openSince.has(key)) openSince.set(key, h.at);
      if (!inWindow(h)) continue;
      firings++;
      if (h.severity in bySeverity) bySeverity[h.severity]++;
      const rule = byRule.get(h.ruleId) ?? { ruleId: h.ruleId, ruleName: h.ruleName, severity: h.severity, firings: 0 };
      rule.firings++;
      byRule.set(h.ruleId, rule);
      const times = firingTimes.get(key) ?? [];
      times.push(h.at);
      firingTimes.set(key, times);
    } else if (h.to === 'resolved' || h.to === 'inactive') {
      const since = openSince.get(key);
      openSince.delete(key);
      if (since !== undefined && inWindow(h)) durations.push(h.at - since);
    }
  }
  const flapping: AlertAnalysis['flapping'] = [];
  for (const [key, times] of firingTimes) {
    // The most firings inside any flapWindowMs (two pointers over sorted times).
    let best = 0;
    for (let i = 0, j = 0; j < times.length; j++) {
      while (times[j]! - times[i]! > ALERT_RULES.flapWindowMs) i++;
      best = Math.max(best, j - i + 1);
    }
    if (best >= ALERT_RULES.flapFirings) {
      const [ruleId, fingerprint] = key.split('\u0000') as [string, string];
      flapping.push({ ruleId, ruleName: byRule.get(ruleId)?.ruleName ?? ruleId, fingerprint, firings: best, windowMs: ALERT_RULES.flapWindowMs });
    }
  }
  durations.sort((a, b) => a - b);
  return {
    window,
    available,
    transitions,
    firings,
    bySeverity,
    timeToResolve: {
      episodes: durations.length,
      meanMs: durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : null,
      medianMs: median(durations),
      maxMs: durations.length ? durations[durations.length - 1]! : null,
    },
    unresolved: openSince.size,
    flapping: flapping.sort((a, b) => b.firings - a.firings),
    byRule: [...byRule.values()].sort((a, b) => b.firings - a.firings),
  };
}
