import { describe, expect, it } from 'vitest';
import { compare } from '../dist/src/alerts/evaluator.js';
import { parseAlertRule, ruleKey, withDefaults } from '../dist/src/alerts/schema.js';
import { anomalyWindowTooLong, longestAnomalyWindow } from '../dist/src/alerts/anomaly-window.js';
import { T0, harness } from './alert-harness.js';

describe('alert rules', () => {
  it('compares with each operator', () => {
    const cases: [string, number, boolean][] = [
      ['>', 11, true], ['>', 10, false], ['<', 9, true], ['<', 10, false], ['>=', 10, true], ['>=', 9, false],
      ['<=', 10, true], ['<=', 9, true], ['<=', 11, false], ['==', 10, true], ['==', 10.5, false], ['!=', 11, true], ['!=', 10, false],
    ];
    for (const [op, v, want] of cases) expect(compare(op as never, v, 10), `${v} ${op} 10`).toBe(want);
    expect(compare('!=', Number.NaN, 10)).toBe(false); // no data is not "different"
  });

  it('fires a last rule on the breaching sample and resolves on a clean one', () => {
    for (const [op, breach, clean] of [['>', 11, 10], ['<', 9, 10], ['>=', 10, 9], ['<=', 10, 11], ['==', 10, 11], ['!=', 12, 10]] as const) {
      const h = harness();
      h.rule({ metric: 'queue_size', operator: op, threshold: 10 });
      h.at(T0 + 10, [['queue_size', clean]]);
      expect(h.transitions).toHaveLength(0);
      h.at(T0 + 20, [['queue_size', breach]]);
      h.at(T0 + 30, [['queue_size', clean]]);
      expect(h.states(), op).toEqual(['inactive>firing', 'firing>resolved']);
      expect(h.transitions[0]).toMatchObject({ at: T0 + 20, value: breach, threshold: 10, metric: 'queue_size', ruleId: 'r1' });
    }
  });

  it('judges every sample of a drain: a breach then a clean sample, one spike in a burst of 100', () => {
    const h = harness();
    h.rule({ metric: 'queue_size', operator: '>', threshold: 10 });
    h.at(T0 + 10, [['queue_size', 50], ['queue_size', 1]]);
    expect(h.states()).toEqual(['inactive>firing', 'firing>resolved']);
    expect(h.transitions.map((t) => t.value)).toEqual([50, 1]);
    const burst = Array.from({ length: 100 }, (_, i) => ['queue_size', i === 37 ? 99 : 2] as [string, number]);
    h.at(T0 + 20, burst);
    expect(h.states()).toEqual(['inactive>firing', 'firing>resolved', 'resolved>firing', 'firing>resolved']);
    expect(h.transitions[2]!.value).toBe(99);
  });

  it('counts the samples that left the raw ring before a round could judge them', () => {
    // rawCapacity is 64 here: of 100 samples in one drain, the first 36 are gone.
    const h = harness();
    h.rule({ metric: 'queue_size', operator: '>', threshold: 10 });
    h.at(T0 + 10, Array.from({ length: 100 }, (_, i) => ['queue_size', i === 20 ? 99 : 2] as [string, number]));
    expect(h.transitions).toEqual([]);
    expect(h.evaluator.unjudged).toBe(36);
    h.at(T0 + 20, Array.from({ length: 100 }, (_, i) => ['queue_size', i === 50 ? 99 : 2] as [string, number]));
    expect(h.states()).toEqual(['inactive>firing', 'firing>resolved']);
    expect(h.evaluator.unjudged).toBe(72);
  });

  it('judges, after a restart, the samples recorded while no evaluator ran, and none twice', () => {
    const h = harness();
    h.rule({ metric: 'queue_size', operator: '>', threshold: 10 });
    h.at(T0 + 10, [['queue_size', 50], ['queue_size', 1]]);
    expect(h.states()).toEqual(['inactive>firing', 'firing>resolved']);
    // The actor dies; a breach and a clean sample arrive; a new actor starts.
    h.unseen(T0 + 20, [['queue_size', 70], ['queue_size', 3]]);
    h.restart();
    h.at(T0 + 30);
    expect(h.states()).toEqual(['inactive>firing', 'firing>resolved', 'resolved>firing', 'firing>resolved']);
    expect(h.transitions.slice(2).map((t) => [t.value, t.at])).toEqual([[70, T0 + 20], [3, T0 + 20]]);
    // A rule that was firing when its evaluator died resolves on the clean sample that came meanwhile.
    h.at(T0 + 40, [['queue_size', 80]]);
    h.unseen(T0 + 50, [['queue_size', 4]]);
    h.restart();
    h.at(T0 + 60);
    expect(h.states().slice(4)).toEqual(['resolved>firing', 'firing>resolved']);
  });

  it('computes each window aggregation over closed buckets', () => {
    // 1..100 over 10 buckets; rate: a distribution's samples a second (100 in 10 s).
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    const expected: Record<string, number> = { avg: 50.5, min: 1, max: 100, sum: 5050, count: 100, rate: 10, p50: 50, p90: 90, p95: 95, p99: 99 };
    const h = harness();
    const ids = new Map<string, string>();
    for (const aggregation of Object.keys(expected)) {
      // Thresholds below every expected value: each rule fires at the first evaluation, with its value.
      ids.set(h.rule({ metric: 'api_response_time', aggregation: aggregation as never, window: 10, operator: '>', threshold: 0 }).id, aggregation);
    }
    for (let b = 0; b < 10; b++) h.at(T0 + b * 1000 + 1, values.slice(b * 10, b * 10 + 10).map((v) => ['api_response_time', v]));
    h.at(T0 + 10_000 + 1); // closes the 10th bucket: windows [T0, T0 + 10 s)
    // Every rule fired at the first closed bucket; its value now is that of the 10 s window.
    expect(h.transitions.filter((t) => t.to === 'firing')).toHaveLength(10);
    const fired = new Map(h.evaluator.alerts().map((a) => [ids.get(a.ruleId)!, a.value]));
    for (const [agg, want] of Object.entries(expected)) {
      if (agg.startsWith('p')) expect(Math.abs(fired.get(agg)! - want) / want, agg).toBeLessThan(0.01);
      else expect(fired.get(agg), agg).toBe(want);
    }
  });

  it('reads a quantile of a window within its exact min and max: a constant series gives its value, not its bucket\'s', () => {
    // The sketch reads 7 back as 7.03 (above the bucket's low edge) and 7.999 as 7.94 (below
    // its top): a window of one value clamps both to the exact value.
    const h = harness();
    const above = h.rule({ metric: 'api_response_time', tags: { route: '/a' }, aggregation: 'p50', window: 10, operator: '>', threshold: 0 });
    const below = h.rule({ metric: 'api_response_time', tags: { route: '/b' }, aggregation: 'p99', window: 10, operator: '>', threshold: 0 });
    for (let s = 0; s < 10; s++) h.at(T0 + s * 1000 + 1, [['api_response_time', 7, { route: '/a' }], ['api_response_time', 7.999, { route: '/b' }]]);
    h.at(T0 + 10_000 + 1);
    const value = new Map(h.evaluator.alerts().map((a) => [a.ruleId, a.value]));
    expect([value.get(above.id), value.get(below.id)]).toEqual([7, 7.999]);
  });

  it('fires an anomaly rule on a step away from the recent history, not on its noise', () => {
    const h = harness();
    h.rule({ metric: 'api_response_time', aggregation: 'anomaly', window: 5, operator: '>', threshold: 4 });
    let seed = 7;
    const noise = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 4294967296;
    };
    for (let s = 0; s < 90; s++) h.at(T0 + s * 1000 + 5, Array.from({ length: 10 }, () => ['api_response_time', 100 + 10 * noise()] as [string, number]));
    expect(h.transitions).toEqual([]); // 90 s of stationary noise: nothing
    for (let s = 90; s < 100; s++) h.at(T0 + s * 1000 + 5, Array.from({ length: 10 }, () => ['api_response_time', 160 + 10 * noise()] as [string, number]));
    expect(h.states()[0]).toBe('inactive>firing');
    expect(h.transitions[0]!.value).toBeGreaterThan(4);
  });

  it('judges an anomaly rule on the longest window createAlertRule takes, and on none longer: the ring holds no baseline for it', () => {
    // The limit createAlertRule puts on an anomaly window (anomaly-window.ts) is where the
    // score stops giving a verdict: one bucket more, and a step of 10× never fires.
    const longest = longestAnomalyWindow(300, 1000);
    expect(longest).toBe(280);
    const fired = (window: number): boolean => {
      const h = harness({ bucketCapacity: 300 });
      h.rule({ metric: 'api_response_time', aggregation: 'anomaly', window, operator: '>', threshold: 4 });
      let seed = 7;
      const noise = (): number => {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        return seed / 4294967296;
      };
      for (let s = 0; s < 600; s++) h.at(T0 + s * 1000 + 5, [['api_response_time', (s < 300 ? 100 : 1000) + 10 * noise()]]);
      return h.states().some((x) => x.endsWith('firing'));
    };
    expect(fired(longest)).toBe(true);
    expect(fired(longest + 1)).toBe(false);
    expect(anomalyWindowTooLong(longest, 300, 1000)).toBeUndefined();
    expect(anomalyWindowTooLong(longest + 1, 300, 1000)).toMatch(/^must be at most 280 s for aggregation anomaly/);
  });

  it("judges an anomaly rule on a counter of events against its Poisson noise: two extra requests are not a step", () => {
    const h = harness();
    h.rule({ metric: 'throughput', aggregation: 'anomaly', window: 5, operator: '>', threshold: 4 });
    const requests = (n: number): [string, number][] => Array.from({ length: n }, () => ['throughput', 1]);
    for (let s = 0; s < 90; s++) h.at(T0 + s * 1000 + 5, requests(2));
    // Two requests a second for a minute and a half, then four in one second: against a MAD of
    // 0 (the scale a thousandth of the level), the window's 2.4 a second was z = 200.
    h.at(T0 + 90_000 + 5, requests(4));
    for (let s = 91; s < 97; s++) h.at(T0 + s * 1000 + 5, requests(2));
    expect(h.transitions).toEqual([]);
    // Fifty a second for five seconds is one.
    for (let s = 97; s < 104; s++) h.at(T0 + s * 1000 + 5, requests(50));
    expect(h.states()[0]).toBe('inactive>firing');
  });

  it('waits `duration` in pending before firing, and drops back to inactive if the condition clears', () => {
    const h = harness();
    h.rule({ metric: 'cpu_usage', operator: '>', threshold: 90, duration: 5 });
    h.at(T0 + 100, [['cpu_usage', 95]]);
    expect(h.states()).toEqual(['inactive>pending']);
    h.at(T0 + 3100, [['cpu_usage', 97]]);
    expect(h.states()).toEqual(['inactive>pending']);
    h.at(T0 + 5100); // no new sample: the last value still breaches, and 5 s have passed
    expect(h.states()).toEqual(['inactive>pending', 'pending>firing']);
    expect(h.transitions[1]).toMatchObject({ at: T0 + 5100, value: 97 });
    h.at(T0 + 6000, [['cpu_usage', 50]]);
    h.at(T0 + 7000, [['cpu_usage', 95]]);
    h.at(T0 + 8000, [['cpu_usage', 50]]); // cleared before the 5 s
    h.at(T0 + 20_000);
    expect(h.states()).toEqual(['inactive>pending', 'pending>firing', 'firing>resolved', 'resolved>pending', 'pending>inactive']);
  });

  it('ignores breaches during the cooldown after a resolution', () => {
    const h = harness();
    h.rule({ metric: 'queue_size', operator: '>', threshold: 10, cooldown: 30 });
    h.at(T0 + 1000, [['queue_size', 20]]);
    h.at(T0 + 2000, [['queue_size', 5]]);
    h.at(T0 + 3000, [['queue_size', 20]]); // 1 s after resolving: cooled down? no
    h.at(T0 + 20_000, [['queue_size', 20]]);
    expect(h.states()).toEqual(['inactive>firing', 'firing>resolved']);
    h.at(T0 + 31_999, [['queue_size', 21]]);
    expect(h.states()).toEqual(['inactive>firing', 'firing>resolved']);
    h.at(T0 + 32_000, [['queue_size', 21]]); // 30 s after the resolution: cooled down
    expect(h.states()).toEqual(['inactive>firing', 'firing>resolved', 'resolved>firing']);
  });

  it('fires once for a value oscillating around the threshold when a resolve threshold gives hysteresis', () => {
    const h = harness();
    h.rule({ metric: 'memory_usage', operator: '>', threshold: 90, resolveThreshold: 80 });
    for (let i = 0; i < 40; i++) h.at(T0 + i * 250, [['memory_usage', i % 2 ? 91 : 88]]);
    expect(h.states()).toEqual(['inactive>firing']);
    h.at(T0 + 20_000, [['memory_usage', 80]]);
    expect(h.states()).toEqual(['inactive>firing', 'firing>resolved']);
    expect(h.transitions[1]).toMatchObject({ value: 80, threshold: 80 });
    // Firing is judged (and reported) against the threshold; the alert keeps when it fired.
    expect(h.transitions[0]).toMatchObject({ value: 91, threshold: 90 });
    expect(h.evaluator.alerts()).toEqual([expect.objectContaining({ state: 'resolved', firedAt: T0 + 250, resolvedAt: T0 + 20_000 })]);
    // Without hysteresis the same signal flaps: the contrast that makes the test mean something.
    const flappy = harness();
    flappy.rule({ metric: 'memory_usage', operator: '>', threshold: 90 });
    for (let i = 0; i < 40; i++) flappy.at(T0 + i * 250, [['memory_usage', i % 2 ? 91 : 88]]);
    expect(flappy.transitions.length).toBeGreaterThan(30);
  });

  it('keeps firing without autoResolve until resolved by hand', () => {
    const h = harness();
    h.rule({ metric: 'error_rate', operator: '>', threshold: 0.5, autoResolve: false });
    h.at(T0 + 10, [['error_rate', 1]]);
    h.at(T0 + 20, [['error_rate', 0]]);
    expect(h.states()).toEqual(['inactive>firing']);
    const [alert] = h.evaluator.alerts();
    expect(alert).toMatchObject({ state: 'firing', firedAt: T0 + 10 });
    expect(h.evaluator.resolve(alert!.fingerprint, T0 + 30)).toBe(true);
    expect(h.evaluator.resolve(alert!.fingerprint, T0 + 31)).toBe(false);
    h.transitions.push(...h.evaluator.takeTransitions());
    expect(h.states()).toEqual(['inactive>firing', 'firing>resolved']);
  });

  it('applies a rule to each matching series, present and future, and not to others', () => {
    const h = harness();
    h.at(T0 + 10, [['response_time', 500, { route: '/a', method: 'GET' }]]);
    h.rule({ metric: 'response_time', tags: { method: 'GET' }, operator: '>', threshold: 100 });
    h.at(T0 + 20, [['response_time', 500, { route: '/b', method: 'GET' }], ['response_time', 500, { route: '/c', method: 'POST' }]]);
    const fired = h.transitions.filter((t) => t.to === 'firing').map((t) => t.tags.route).sort();
    expect(fired).toEqual(['/a', '/b']);
    expect(new Set(h.transitions.map((t) => t.fingerprint)).size).toBe(2);
  });

  it('resolves a window rule whose window runs out of data', () => {
    const h = harness();
    h.rule({ metric: 'throughput', aggregation: 'rate', window: 5, operator: '>', threshold: 1 });
    h.at(T0 + 10, Array.from({ length: 20 }, () => ['throughput', 1] as [string, number]));
    h.at(T0 + 1010);
    expect(h.states()).toEqual(['inactive>firing']);
    for (let s = 2; s <= 7; s++) h.at(T0 + s * 1000 + 10);
    expect(h.states()).toEqual(['inactive>firing', 'firing>resolved']);
  });

  it("judges a rate as getMetrics gives it: a distribution's samples per second, a counter's sum per second", () => {
    const h = harness();
    // 10 requests of 500 ms in a 5 s window: 2 a second (their sum a second would be 1,000).
    h.rule({ metric: 'response_time', aggregation: 'rate', window: 5, operator: '>', threshold: 5 });
    h.rule({ metric: 'response_time', aggregation: 'rate', window: 5, operator: '>', threshold: 1.5 });
    h.at(T0 + 10, Array.from({ length: 10 }, () => ['response_time', 500] as [string, number]));
    h.at(T0 + 1010);
    expect(h.transitions.map((t) => [t.threshold, t.to, t.value])).toEqual([[1.5, 'firing', 2]]);
  });

  it("judges a window rule's rate per second of the monitor's runs in its window, the time it was stopped left out", () => {
    const h = harness();
    // The monitor ran 10 s from T0, was stopped 20 s, and runs again from T0 + 30 s.
    h.evaluator.watchedFrom = T0;
    h.evaluator.watched = { from: T0 + 30_000, to: Infinity, earlier: [{ from: T0, to: T0 + 10_000 }] };
    h.rule({ metric: 'response_time', aggregation: 'rate', window: 60, operator: '>', threshold: 0 });
    // 2 samples a second while it runs: 20 in the first run, 20 in the second's first 10 s.
    for (let s = 0; s < 10; s++) h.at(T0 + s * 1000 + 10, [['response_time', 5], ['response_time', 5]]);
    for (let s = 30; s < 40; s++) h.at(T0 + s * 1000 + 10, [['response_time', 5], ['response_time', 5]]);
    h.at(T0 + 40_010);
    // The window ending at T0 + 40 s covers the 10 s of each run: 40 samples over 20 s.
    expect(h.transitions.at(-1)).toMatchObject({ to: 'firing' });
    expect(h.evaluator.alerts()[0]!.value).toBe(2);
  });

  it('records every transition with its time, value, threshold and rule', () => {
    const h = harness();
    const rule = h.rule({ name: 'slow formulas', metric: 'formula_calculation_time', operator: '>', threshold: 50, duration: 1, severity: 'critical' });
    h.at(T0 + 100, [['formula_calculation_time', 60]]);
    h.at(T0 + 1200, [['formula_calculation_time', 70]]);
    h.at(T0 + 1300, [['formula_calculation_time', 40]]);
    expect(h.transitions).toEqual([
      expect.objectContaining({ at: T0 + 100, from: 'inactive', to: 'pending', value: 60, threshold: 50, ruleId: rule.id, ruleName: 'slow formulas', severity: 'critical' }),
      expect.objectContaining({ at: T0 + 1200, from: 'pending', to: 'firing', value: 70 }),
      expect.objectContaining({ at: T0 + 1300, from: 'firing', to: 'resolved', value: 40 }),
    ]);
  });

  it('says when a pending alert falls due, so that the actor wakes then and not before', () => {
    const h = harness();
    expect(h.evaluator.onTimer(T0)).toBe(Infinity);
    h.rule({ metric: 'cpu_usage', operator: '>', threshold: 92, duration: 3 });
    h.rule({ metric: 'cpu_usage', operator: '>', threshold: 90, duration: 5 });
    h.rule({ metric: 'cpu_usage', operator: '>', threshold: 91, duration: 4 });
    h.at(T0 + 100, [['cpu_usage', 95]]);
    expect(h.states()).toEqual(['inactive>pending', 'inactive>pending', 'inactive>pending']);
    // The earliest of the three, whichever order they are kept in: 3 s after the breach.
    expect(h.evaluator.onTimer(T0 + 200)).toBe(T0 + 3100);
    expect(h.evaluator.onTimer(T0 + 3100)).toBe(T0 + 4100);
    expect(h.evaluator.onTimer(T0 + 4100)).toBe(T0 + 5100);
    expect(h.evaluator.takeTransitions().map((t) => `${t.from}>${t.to}`)).toEqual(['pending>firing', 'pending>firing']);
    // Then when the firing alerts' series, silent since, would be gone (the rules' window, 60 s).
    expect(h.evaluator.onTimer(T0 + 5100)).toBe(T0 + 60_100);
  });

  it('reads each (series, window) of its own: rules on one series with other windows, and on other series, see their own data', () => {
    const h = harness();
    // 60 s of 10 on /a, then 10 s of 100; /b stays at 10. avg over 10 s: 100 on /a; over 60 s: 25 on /a.
    const short = h.rule({ metric: 'api_response_time', tags: { route: '/a' }, aggregation: 'avg', window: 10, operator: '>', threshold: 50 });
    const long = h.rule({ metric: 'api_response_time', tags: { route: '/a' }, aggregation: 'avg', window: 60, operator: '>', threshold: 50 });
    const longMax = h.rule({ metric: 'api_response_time', tags: { route: '/a' }, aggregation: 'min', window: 60, operator: '<', threshold: 20 });
    const other = h.rule({ metric: 'api_response_time', tags: { route: '/b' }, aggregation: 'avg', window: 10, operator: '>', threshold: 50 });
    for (let s = 0; s < 60; s++) h.at(T0 + s * 1000 + 1, [['api_response_time', s < 50 ? 10 : 100, { route: '/a' }], ['api_response_time', 10, { route: '/b' }]]);
    h.at(T0 + 60_000 + 1);
    const firing = new Map(h.evaluator.alerts().filter((a) => a.state === 'firing').map((a) => [a.ruleId, a.value]));
    expect(firing.get(short.id)).toBe(100);
    expect(firing.has(long.id)).toBe(false);
    expect(firing.get(longMax.id)).toBe(10);
    expect(firing.has(other.id)).toBe(false);
    expect([...firing.keys()].sort()).toEqual([short.id, longMax.id].sort());
  });

  it('keeps judging the other rules of a metric when one is deleted, and replaces a rule added again under its id', () => {
    const h = harness();
    const a = h.rule({ metric: 'queue_size', operator: '>', threshold: 10 });
    const b = h.rule({ metric: 'queue_size', operator: '>', threshold: 100 });
    h.at(T0 + 5, [['queue_size', 1]]);
    // An alert that never left inactive is not listed, and deleting its rule resolves nothing.
    expect(h.evaluator.alerts()).toEqual([]);
    expect(h.evaluator.deleteRule(a.id, T0 + 6)).toBe(true);
    expect(h.evaluator.takeTransitions()).toEqual([]);
    h.at(T0 + 10, [['queue_size', 50]]);
    expect(h.transitions).toEqual([]);
    h.at(T0 + 20, [['queue_size', 500]]);
    expect(h.transitions.map((t) => [t.ruleId, t.to])).toEqual([[b.id, 'firing']]);
    // Without a description or labels, an alert carries empty ones; its times are its own.
    expect(h.evaluator.alerts()).toEqual([expect.objectContaining({ ruleId: b.id, description: '', labels: {}, activeSince: T0 + 20, firedAt: T0 + 20, resolvedAt: null })]);
    // The same id again, with another threshold: the old binding goes (resolved), the new one judges.
    h.evaluator.addRule({ ...b, threshold: 1000 });
    h.at(T0 + 30, [['queue_size', 500]]);
    h.transitions.push(...h.evaluator.takeTransitions());
    expect(h.transitions.map((t) => [t.ruleId, t.to])).toEqual([[b.id, 'firing'], [b.id, 'resolved']]);
    expect(h.evaluator.deleteRule(b.id, T0 + 40)).toBe(true);
    h.at(T0 + 50, [['queue_size', 5000]]);
    expect(h.evaluator.alerts()).toEqual([]);
  });

  it('resolves the firing alerts of a deleted rule', () => {
    const h = harness();
    const rule = h.rule({ metric: 'queue_size', operator: '>', threshold: 1 });
    h.at(T0 + 10, [['queue_size', 5]]);
    expect(h.evaluator.deleteRule(rule.id, T0 + 20)).toBe(true);
    h.transitions.push(...h.evaluator.takeTransitions());
    expect(h.states()).toEqual(['inactive>firing', 'firing>resolved']);
    expect(h.evaluator.alerts()).toEqual([]);
    expect(h.evaluator.deleteRule(rule.id, T0 + 30)).toBe(false);
  });

  it('gives a restored alert its state once its series appears (a monitor restarted from its database), and it resolves from there', () => {
    const before = harness();
    before.rule({ metric: 'queue_size', tags: { shard: 'a' }, operator: '>', threshold: 10 });
    before.at(T0 + 10, [['queue_size', 50, { shard: 'a' }]]);
    const [firing] = before.evaluator.alerts();
    expect(firing).toMatchObject({ state: 'firing', firedAt: T0 + 10 });
    // A new process: an empty registry, the rules and alert states from the database.
    const after = harness();
    after.evaluator.resume(before.rules, [firing!], T0 + 15);
    after.at(T0 + 20, [['queue_size', 60, { shard: 'a' }]]);
    expect(after.transitions).toEqual([]);
    expect(after.evaluator.alerts()).toMatchObject([{ fingerprint: firing!.fingerprint, state: 'firing', activeSince: T0 + 10, firedAt: T0 + 10, value: 60 }]);
    after.at(T0 + 30, [['queue_size', 5, { shard: 'a' }]]);
    expect(after.transitions).toMatchObject([{ fingerprint: firing!.fingerprint, from: 'firing', to: 'resolved', at: T0 + 30, value: 5 }]);
  });

  it("takes a series sampled once a collection interval longer than a last rule's window for gone only after two intervals without a sample: one episode, not one an interval", () => {
    // The monitor's system and runtime series are sampled once an interval, a tick a few ms
    // late at times: at a 60 s interval the default window (60 s) took heap_used for gone
    // before each next sample, and its alert resolved and fired again, a page every minute.
    const h = harness({ intervalMs: 60_000 });
    h.rule({ metric: 'heap_used', operator: '>', threshold: 1 });
    let last = 0;
    for (let t = T0 + 1_000; t <= T0 + 300_000; t += 1_000) {
      const sampled = t % 60_000 === 1_000;
      if (sampled) last = t + 40;
      h.at(sampled ? last : t, sampled ? [['heap_used', 5e7]] : []);
    }
    expect(h.states()).toEqual(['inactive>firing']);
    // Gone once it stops: two intervals after its last sample, the reason saying how long.
    expect(last).toBe(T0 + 241_040);
    for (let t = T0 + 301_000; t <= T0 + 361_000; t += 1_000) h.at(t);
    expect(h.states()).toEqual(['inactive>firing']);
    h.at(T0 + 362_000);
    expect(h.states()).toEqual(['inactive>firing', 'firing>resolved']);
    expect(h.transitions[1]).toMatchObject({ at: T0 + 362_000, reason: "no sample of the series for 120 s (two collection intervals, longer than the rule's window of 60 s): it is no longer recorded" });
  });

  it('ends the alerts of a last rule whose series stopped recording (churned tags) once the rule\'s window passes without a sample, saying why', () => {
    const h = harness();
    const rule = h.rule({ metric: 'queue_size', operator: '>', threshold: 10, window: 30 });
    const pending = h.rule({ metric: 'queue_size', operator: '>', threshold: 10, window: 30, duration: 120 });
    const manual = h.rule({ metric: 'queue_size', operator: '>', threshold: 10, window: 30, autoResolve: false });
    // Pod a breaches once and is never recorded again; pod b keeps breaching.
    h.at(T0 + 1_000, [['queue_size', 50, { pod: 'a' }], ['queue_size', 60, { pod: 'b' }]]);
    for (let t = T0 + 2_000; t <= T0 + 30_000; t += 1_000) h.at(t, [['queue_size', 60, { pod: 'b' }]]);
    const active = () => h.evaluator.alerts().filter((a) => a.state !== 'resolved').map((a) => `${a.ruleId}:${a.tags.pod}:${a.state}`).sort();
    expect(active()).toEqual([`${manual.id}:a:firing`, `${manual.id}:b:firing`, `${pending.id}:a:pending`, `${pending.id}:b:pending`, `${rule.id}:a:firing`, `${rule.id}:b:firing`].sort());
    const before = h.transitions.length;
    h.at(T0 + 31_000, [['queue_size', 60, { pod: 'b' }]]);
    const ended = h.transitions.slice(before);
    expect(ended.map((t) => `${t.ruleId}:${t.tags.pod}:${t.from}>${t.to}`).sort()).toEqual([`${pending.id}:a:pending>inactive`, `${rule.id}:a:firing>resolved`].sort());
    for (const t of ended) {
      expect(t.at).toBe(T0 + 31_000);
      expect(t.value).toBeNaN();
      expect(t.reason).toBe("no sample of the series for 30 s (the rule's window): it is no longer recorded");
    }
    // Pod b, still recorded, and the rule resolved by hand only, keep their alerts.
    expect(active()).toEqual([`${manual.id}:a:firing`, `${manual.id}:b:firing`, `${pending.id}:b:pending`, `${rule.id}:b:firing`].sort());
    // The series comes back breaching: a new episode.
    h.at(T0 + 40_000, [['queue_size', 70, { pod: 'a' }]]);
    const back = h.transitions.filter((t) => t.ruleId === rule.id).at(-1)!;
    expect(back).toMatchObject({ tags: { pod: 'a' }, from: 'resolved', to: 'firing', value: 70, at: T0 + 40_000 });
    expect(back.reason).toBeUndefined();
    // A rule created later does not judge a series gone before its window.
    h.at(T0 + 100_000);
    const late = h.rule({ metric: 'queue_size', operator: '>', threshold: 10, window: 30 });
    h.at(T0 + 101_000);
    expect(h.transitions.filter((t) => t.ruleId === late.id)).toEqual([]);
  });

  it('ends a restored alert whose series does not record within its rule\'s window after a restart', () => {
    const before = harness();
    before.rule({ metric: 'queue_size', tags: { shard: 'a' }, operator: '>', threshold: 10, window: 20 });
    before.at(T0 + 10, [['queue_size', 50, { shard: 'a' }]]);
    const [firing] = before.evaluator.alerts();
    // A window rule's alert is not gone with its series: `count < 1` fires on no data.
    before.rule({ metric: 'queue_size', tags: { shard: 'a' }, aggregation: 'count', window: 20, operator: '<', threshold: 1 });
    const quiet = { ...firing!, fingerprint: 'window-rule-alert', ruleId: before.rules[1]!.id };
    const after = harness();
    after.evaluator.resume(before.rules, [firing!, quiet], T0 + 1_000);
    after.at(T0 + 20_999);
    expect(after.transitions).toEqual([]);
    after.at(T0 + 21_000);
    expect(after.transitions).toMatchObject([{ fingerprint: firing!.fingerprint, from: 'firing', to: 'resolved', at: T0 + 21_000, tags: { shard: 'a' }, reason: "no sample of the series for 20 s (the rule's window): it is no longer recorded" }]);
    after.at(T0 + 30_000);
    expect(after.transitions).toHaveLength(1);
  });

  it("resolves by hand a restored alert whose series has not recorded since the restart, and keeps it resolved through its cooldown when the series comes back", () => {
    // The alert waited for its series (not registered: left out of the catalog at the start)
    // and resolve() looked for it among the bound ones only: false, and it stayed firing for good.
    const before = harness();
    before.rule({ metric: 'queue_size', tags: { shard: 'a' }, operator: '>', threshold: 10, autoResolve: false, cooldown: 60 });
    before.at(T0 + 10, [['queue_size', 50, { shard: 'a' }]]);
    const [firing] = before.evaluator.alerts();
    const after = harness();
    after.evaluator.resume(before.rules, [firing!], T0 + 1_000);
    expect(after.evaluator.resolve(firing!.fingerprint, T0 + 2_000)).toBe(true);
    expect(after.evaluator.takeTransitions()).toMatchObject([{ fingerprint: firing!.fingerprint, from: 'firing', to: 'resolved', at: T0 + 2_000, value: 50, tags: { shard: 'a' } }]);
    expect(after.evaluator.resolve(firing!.fingerprint, T0 + 3_000)).toBe(false);
    // Its series records a breach within the cooldown: still resolved; after it, a new episode.
    after.at(T0 + 30_000, [['queue_size', 60, { shard: 'a' }]]);
    expect(after.transitions).toEqual([]);
    expect(after.evaluator.alerts()).toMatchObject([{ fingerprint: firing!.fingerprint, state: 'resolved', resolvedAt: T0 + 2_000 }]);
    after.at(T0 + 70_000, [['queue_size', 70, { shard: 'a' }]]);
    expect(after.transitions).toMatchObject([{ fingerprint: firing!.fingerprint, from: 'resolved', to: 'firing', value: 70 }]);
  });

  it("ends a deleted rule's pending, firing and restored alerts, saying why: none goes without a transition", () => {
    // The pending alerts, and the restored ones waiting for their series, went without a word:
    // the history never closed them, and a receiver never heard the restored firing one end.
    const before = harness();
    const rule = before.rule({ metric: 'queue_size', operator: '>', threshold: 10 });
    const slow = before.rule({ metric: 'queue_size', operator: '>', threshold: 10, duration: 600 });
    before.at(T0 + 10, [['queue_size', 50, { shard: 'a' }], ['queue_size', 50, { shard: 'b' }]]);
    const restored = before.evaluator.alerts().filter((a) => a.tags.shard === 'a');
    expect(restored.map((a) => a.state).sort()).toEqual(['firing', 'pending']);
    const after = harness();
    after.evaluator.resume(before.rules, restored, T0 + 1_000);
    // Shard b records again (its alerts live); shard a does not (its alerts wait for it).
    after.at(T0 + 2_000, [['queue_size', 60, { shard: 'b' }]]);
    const ends = (ruleId: string, at: number) => {
      expect(after.evaluator.deleteRule(ruleId, at)).toBe(true);
      return after.evaluator.takeTransitions().map((t) => `${t.tags.shard}:${t.from}>${t.to}:${t.at === at}:${t.reason}`).sort();
    };
    const why = 'its rule was deleted: the alert ends with it';
    expect(after.transitions.map((t) => `${t.tags.shard}:${t.from}>${t.to}`).sort()).toEqual(['b:inactive>firing', 'b:inactive>pending']);
    expect(ends(rule.id, T0 + 3_000)).toEqual([`a:firing>resolved:true:${why}`, `b:firing>resolved:true:${why}`]);
    expect(ends(slow.id, T0 + 4_000)).toEqual([`a:pending>inactive:true:${why}`, `b:pending>inactive:true:${why}`]);
    // A rule replaced under its id says so.
    const again = after.rule({ metric: 'queue_size', operator: '>', threshold: 10 });
    after.at(T0 + 5_000, [['queue_size', 60, { shard: 'b' }]]);
    after.evaluator.addRule({ ...again, threshold: 100 }, T0 + 6_000);
    expect(after.evaluator.takeTransitions()).toMatchObject([{ ruleId: again.id, from: 'firing', to: 'resolved', reason: 'its rule was replaced: the alert ends with the rule it belonged to' }]);
  });

  it('refuses malformed rules, naming the field', () => {
    const bad: [unknown, string][] = [
      [{ metric: 'x', operator: '=>', threshold: 1 }, 'operator must be one of > < >= <= == !=, got "=>"'],
      [{ metric: 'x', operator: '>', threshold: 1, severity: 'fatal' }, 'severity must be one of info, warning, critical, emergency, got "fatal"'],
      [{ metric: 'x', operator: '>', threshold: 1, aggregation: 'median' }, 'aggregation must be one of last, avg, min, max, sum, count, rate, p50, p90, p95, p99, anomaly, got "median"'],
      [{ metric: 'x', operator: '>', threshold: Number.POSITIVE_INFINITY }, 'threshold must be a finite number, got Infinity'],
      [{ metric: 'x', operator: '>', threshold: 1, duration: -1 }, 'duration must be a number of seconds from 0 to 86400, got -1'],
      [{ metric: 'x', operator: '>', threshold: 1, cooldown: -5 }, 'cooldown must be a number of seconds from 0 to 86400, got -5'],
      [{ metric: 'x', operator: '>', threshold: 10, resolveThreshold: 20 }, 'resolveThreshold must be at or below threshold 10 for operator > (the alert resolves when the value falls back past it), got 20'],
      [{ metric: 'x', operator: '==', threshold: 10, resolveThreshold: 9 }, 'resolveThreshold has no meaning with operator ==: hysteresis needs <, <=, > or >=, got 9'],
      [{ metric: 'cpu usage', operator: '>', threshold: 1 }, 'metric must match [a-zA-Z_:][a-zA-Z0-9_:]*, got "cpu usage"'],
      [{ operator: '>', threshold: 1 }, 'metric must be a metric name, got undefined'],
      [{ metric: 'x', operator: '>', threshold: 1, colour: 'red' }, 'colour is not a known rule field'],
      // A misspelt required field is named as misspelt, not as the field it left out.
      [{ metric: 'x', operater: '>', threshold: 1 }, 'operater is not a known rule field; did you mean operator?'],
      [{ metric: 'x', operator: '>', thresold: 1 }, 'thresold is not a known rule field; did you mean threshold?'],
      ['x > 1', 'rule must be an object with metric, operator and threshold'],
    ];
    for (const [input, message] of bad) expect(() => parseAlertRule(input), message).toThrow(message);
  });

  it("refuses a threshold a built-in metric's values cannot reach or leave, naming the field and the range", () => {
    const bad: [unknown, string][] = [
      // A ratio's threshold written as a percentage: it could never fire.
      [{ metric: 'error_rate', aggregation: 'avg', window: 60, operator: '>', threshold: 5 }, 'threshold must be below 1 with operator > on error_rate, a ratio from 0 to 1 (5% is 0.05): the rule could never fire, got 5'],
      [{ metric: 'cpu_usage', operator: '>', threshold: 100 }, 'threshold must be below 100 with operator > on cpu_usage, a percentage from 0 to 100: the rule could never fire, got 100'],
      [{ metric: 'response_time', aggregation: 'p99', operator: '<', threshold: 0 }, 'threshold must be above 0 with operator < on response_time, which is never negative: the rule could never fire, got 0'],
      [{ metric: 'api_error_rate', operator: '==', threshold: 2 }, 'threshold must be from 0 to 1 with operator == on api_error_rate, a ratio from 0 to 1 (2% is 0.02): the rule could never fire, got 2'],
      // One it could never leave: it fires at the first sample and never resolves.
      [{ metric: 'cache_hit_rate', aggregation: 'avg', operator: '<', threshold: 80 }, 'threshold must be at most 1 with operator < on cache_hit_rate, a ratio from 0 to 1 (80% is 0.8): a firing alert of it could never resolve, got 80'],
      [{ metric: 'error_rate', operator: '>', threshold: 0.05, resolveThreshold: -1 }, 'resolveThreshold must be at least 0 with operator > on error_rate, a ratio from 0 to 1: a firing alert of it could never resolve, got -1'],
    ];
    for (const [input, message] of bad) expect(() => parseAlertRule(input), message).toThrow(message);
    const fine = [
      { metric: 'error_rate', aggregation: 'avg', operator: '>', threshold: 0.05, resolveThreshold: 0 },
      { metric: 'error_rate', operator: '>=', threshold: 1 },
      // A count, sum or rate of ratios is not bounded by 1, nor an anomaly score.
      { metric: 'error_rate', aggregation: 'sum', window: 60, operator: '>', threshold: 5 },
      { metric: 'error_rate', aggregation: 'anomaly', operator: '>', threshold: 4 },
      // The application's own metrics' units say what a value is, not what it may be.
      { metric: 'my_ratio', operator: '>', threshold: 5 },
      // Resolved by hand: no resolution to reach.
      { metric: 'cpu_usage', operator: '>=', threshold: 0, autoResolve: false },
    ];
    for (const input of fine) expect(() => parseAlertRule(input), JSON.stringify(input)).not.toThrow();
  });

  it('lists a capture\'s length as applied, its default when not given, also on a rule stored without it', () => {
    expect(parseAlertRule({ metric: 'x', operator: '>', threshold: 1, capture: 'cpu' })).toMatchObject({ capture: 'cpu', captureSeconds: 10 });
    expect(parseAlertRule({ metric: 'x', operator: '>', threshold: 1, capture: 'heap', captureSeconds: 3 })).toMatchObject({ captureSeconds: 3 });
    expect(parseAlertRule({ metric: 'x', operator: '>', threshold: 1 })).not.toHaveProperty('captureSeconds');
    const stored = { ...parseAlertRule({ metric: 'x', operator: '>', threshold: 1 }), capture: 'cpu' as const, id: 'r1', name: 'x > 1', createdAt: 0 };
    const again = { ...parseAlertRule({ metric: 'x', operator: '>', threshold: 1, capture: 'cpu' }), id: 'r2', name: 'x > 1', createdAt: 1 };
    expect(ruleKey(withDefaults(stored))).toBe(ruleKey(again));
  });
});
