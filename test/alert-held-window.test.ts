/**
 * A window rule whose window is longer than the store holds of its series (past the bucket
 * ring, or past the rollups) is judged on what is held: its rate is per second of that part.
 * Divided by the whole window, a steady 20 jobs a second read 18.2 over 330 s at a ring of
 * 300 s (the window's first, partial minute gone from the ring) and 5.5 over a day at 10
 * minutes of rollups: `rate < 19` fired on a service doing 20/s, and `rate > 19` never did.
 */
import { describe, expect, it } from 'vitest';
import { T0, harness } from './alert-harness.js';

/** A counter of 20 jobs a second for `seconds`, watched from T0, judged at each closed bucket. */
function steady(seconds: number, rules: { window: number; operator: '<' | '>' | '>='; threshold: number; aggregation?: 'count' }[]) {
  const h = harness({ bucketCapacity: 300, rollupCapacity: 10 });
  h.evaluator.watched = { from: T0, to: Infinity };
  h.evaluator.watchedFrom = T0;
  h.registry.define('jobs', 'counter');
  const made = rules.map((r) => h.rule({ metric: 'jobs', aggregation: 'rate', ...r }));
  for (let s = 0; s < seconds; s++) h.at(T0 + s * 1000 + 10, [['jobs', 20]]);
  return { h, made };
}

/**
 * `rate < 19` and `rate > 19.5` over each window on a steady 20 a second: which rules fired,
 * and the value each firing one judged last.
 */
function rates(seconds: number, windows: number[]) {
  const { h, made } = steady(seconds, windows.flatMap((window) => [{ window, operator: '<' as const, threshold: 19 }, { window, operator: '>' as const, threshold: 19.5 }]));
  const fired = new Set(h.transitions.filter((t) => t.to === 'firing').map((t) => t.ruleId));
  const values = new Map(h.evaluator.activeValues());
  return {
    low: made.filter((r) => r.operator === '<' && fired.has(r.id)).map((r) => r.window),
    high: made.filter((r) => r.operator === '>' && fired.has(r.id)).map((r) => r.window),
    judged: h.evaluator.alerts().map((a) => [a.state, values.get(a.fingerprint)]),
  };
}

describe('a window rule over more than the store holds of its series', () => {
  it("judges a counter's rate over a window past the bucket ring per second of what is held", () => {
    // 330 s and 600 s windows at a ring of 300 s, read from the rollups from the window's
    // first whole minute on; the true rate is 20 a second all along.
    const { low, high, judged } = rates(1235, [330, 600]);
    expect(low).toEqual([]);
    expect(high).toEqual([330, 600]);
    expect(judged).toEqual([['firing', 20], ['firing', 20]]);
  });

  it("judges a counter's rate over a window past the rollups per second of the minutes they hold", () => {
    // 10 minutes of rollups after 40 minutes: a 30-minute window and a day hold the last 9.
    const { low, high, judged } = rates(2400, [1800, 86_400]);
    expect(low).toEqual([]);
    expect(high).toEqual([1800, 86_400]);
    expect(judged).toEqual([['firing', 20], ['firing', 20]]);
  });

  it("counts the part of the window's first minute that the bucket ring still holds", () => {
    // The window ending at 1,234 s starts at 904 s; the ring holds its buckets from 935 s on
    // (the newest 299 of its 300: the oldest is left out), the rollups its minutes from 960 s
    // on: a window cut at the minute counted 274 of the 299 samples held.
    const { h, made } = steady(1235, [
      { window: 330, operator: '>=', threshold: 0, aggregation: 'count' },
      { window: 330, operator: '>=', threshold: 0 },
    ]);
    const byRule = new Map(h.evaluator.alerts().map((a) => [a.ruleId, a.fingerprint]));
    const values = new Map(h.evaluator.activeValues());
    expect(values.get(byRule.get(made[0]!.id)!)).toBe(299);
    expect(values.get(byRule.get(made[1]!.id)!)).toBeCloseTo(20, 6);
  });
});
