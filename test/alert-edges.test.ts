/**
 * The evaluator's edges that its mutation runs found untested: which samples a `last` rule
 * judges (per series, per rule, after a restart with and without recorded progress, behind
 * time marks), windows longer than the bucket ring or empty, rules deleted before a series
 * appears, alerts resumed without their rule, and the pending and firing values it lists.
 */
import { describe, expect, it } from 'vitest';
import { T0, harness } from './alert-harness.js';

const steps = (h: ReturnType<typeof harness>): [string, string, number][] => h.transitions.map((t) => [t.metric, `${t.from}>${t.to}`, t.value]);

describe('alert evaluator edges', () => {
  it("judges each series' `last` rules on that series' samples alone", () => {
    const h = harness();
    h.at(T0 + 5, [['a', 1], ['b', 1]]);
    h.rule({ metric: 'a', operator: '>', threshold: 10 });
    h.rule({ metric: 'b', operator: '>', threshold: 10 });
    h.at(T0 + 10, [['a', 50], ['a', 2], ['b', 1]]);
    expect(steps(h)).toEqual([['a', 'inactive>firing', 50], ['a', 'firing>resolved', 2]]);
  });

  it("judges only this round's samples, and a rule added now only the newest, whatever another rule's backlog", () => {
    const h = harness();
    const old = h.rule({ metric: 'q', operator: '>', threshold: 10 });
    h.at(T0 + 10, [['q', 1], ['q', 200], ['q', 1]]);
    h.at(T0 + 20, [['q', 2]]); // the round copies one sample; the slot after it still holds 200
    expect(steps(h)).toEqual([['q', 'inactive>firing', 200], ['q', 'firing>resolved', 1]]);
    // Two samples nobody judged yet, then a new rule that 200 would breach.
    h.unseen(T0 + 30, [['q', 200], ['q', 3]]);
    const added = h.rule({ metric: 'q', operator: '>', threshold: 100 });
    h.at(T0 + 40);
    expect(h.transitions.slice(2).map((t) => [t.ruleId, t.to, t.value])).toEqual([[old.id, 'firing', 200], [old.id, 'resolved', 3]]);
    expect(h.transitions.some((t) => t.ruleId === added.id)).toBe(false);
    expect(h.evaluator.unjudged).toBe(0);
  });

  it('judges only the newest sample of each series with a rule added now, whether or not it had looked at the series before', () => {
    const h = harness();
    h.at(T0 + 5, [['seen', 500], ['seen', 1]]);
    // Registered and drained since the evaluator last looked (within the open bucket).
    h.unseen(T0 + 10, [['fresh', 500], ['fresh', 1], ['late', 1], ['late', 500]]);
    h.rule({ metric: 'seen', operator: '>', threshold: 100 });
    h.rule({ metric: 'fresh', operator: '>', threshold: 100 });
    const late = h.rule({ metric: 'late', operator: '>', threshold: 100 });
    h.at(T0 + 20);
    expect(h.transitions.map((t) => [t.ruleId, t.metric, t.to, t.value])).toEqual([[late.id, 'late', 'firing', 500]]);
  });

  it('resumes a series never judged from what its raw ring holds since the rule was created', () => {
    const h = harness();
    // 70 samples (more than the raw ring's 64) before the rule exists; the evaluator never looks.
    h.unseen(T0 + 10, Array.from({ length: 70 }, () => ['q', 500] as [string, number]));
    h.now = T0 + 100;
    h.rule({ metric: 'q', operator: '>', threshold: 10 });
    h.unseen(T0 + 100, [['q', 300]]);
    h.unseen(T0 + 200, [['q', 1]]);
    h.restart();
    h.at(T0 + 300);
    expect(h.transitions.map((t) => [t.to, t.value, t.at])).toEqual([['firing', 300, T0 + 100], ['resolved', 1, T0 + 200]]);
    expect(h.evaluator.unjudged).toBe(0);
  });

  it('dates a transition at the drain for a batch stamped ahead of it, and never before the last sample judged', () => {
    const h = harness();
    h.rule({ metric: 'q', operator: '>', threshold: 10 });
    h.at(T0 + 10, [['q', 1]]);
    h.marked(T0 + 20, T0 + 5_000, [['q', 50]]);
    h.marked(T0 + 30, T0 + 15, [['q', 2]]);
    expect(h.transitions.map((t) => [t.to, t.at])).toEqual([['firing', T0 + 20], ['resolved', T0 + 20]]);
  });

  it('reads a window longer than the bucket ring from rollups, count and quantile alike', () => {
    // A ring of 120 buckets (the least the monitor allows), a 180 s window: 100 s of 1 then
    // 80 s of 1,000, ten samples a second. The ring alone would say 1,200 samples, median 1,000.
    const h = harness({ bucketCapacity: 120 });
    const count = h.rule({ metric: 'lat', aggregation: 'count', window: 180, operator: '>', threshold: 0 });
    const median = h.rule({ metric: 'lat', aggregation: 'p50', window: 180, operator: '>', threshold: 0 });
    for (let s = 0; s < 180; s++) h.at(T0 + s * 1000 + 5, Array.from({ length: 10 }, () => ['lat', s < 100 ? 1 : 1000] as [string, number]));
    h.at(T0 + 180_005);
    const value = new Map(h.evaluator.alerts().map((a) => [a.ruleId, a.value]));
    expect(value.get(count.id)).toBe(1800);
    expect(Math.abs(value.get(median.id)! - 1)).toBeLessThan(0.01);
  });

  it("judges a window the monitor did not watch whole only where the part it watched proves the answer: `count < x` does not page at a start", () => {
    const h = harness();
    // Records accepted from 300 ms into the first bucket; 10 samples a second from then on.
    h.evaluator.watched = { from: T0 + 300, to: Infinity };
    const few = h.rule({ metric: 'req', aggregation: 'count', window: 5, operator: '<', threshold: 30 });
    const many = h.rule({ metric: 'req', aggregation: 'count', window: 5, operator: '>', threshold: 15 });
    const top = h.rule({ metric: 'req', aggregation: 'max', window: 5, operator: '<', threshold: 100 });
    const mean = h.rule({ metric: 'req', aggregation: 'avg', window: 5, operator: '>', threshold: 4 });
    const fired = (): Map<string, number> => new Map(h.transitions.filter((t) => t.to === 'firing').map((t) => [t.ruleId, t.at]));
    for (let t = T0 + 300; t < T0 + 8000; t += 100) h.at(t, [['req', 5]]);
    // The window ending at T0 + 6 s is the first watched whole: 50 samples, never fewer than 30,
    // and its max is 5 (a part's max, 5, could still have been below the whole's).
    expect(h.transitions.filter((t) => t.ruleId === few.id)).toEqual([]);
    expect(fired().get(top.id)).toBe(T0 + 6000);
    // A part that holds more than 15 samples proves the window does: 7 + 10 by T0 + 2 s. A mean
    // is judged on the samples there are, from the first bucket.
    expect(fired().get(many.id)).toBe(T0 + 2000);
    expect(fired().get(mean.id)).toBe(T0 + 1000);
  });

  it('counts a restored pending alert\'s duration from the run that restored it, and fires it only on a value judged in that run', () => {
    const h = harness();
    const slow = h.rule({ metric: 'lat', operator: '>', threshold: 100, duration: 5 });
    const few = h.rule({ metric: 'req', aggregation: 'count', window: 2, operator: '<', threshold: 5, duration: 3 });
    h.at(T0 + 100, [['lat', 500], ['req', 1]]);
    h.at(T0 + 1010, [['req', 1]]);
    h.at(T0 + 2010);
    expect(h.evaluator.alerts().map((a) => [a.ruleId, a.state])).toEqual([[slow.id, 'pending'], [few.id, 'pending']]);
    // The process stopped at T0 + 2 s and starts again at T0 + 10 s: its pending alerts are
    // restored, the 8 s it was down past both durations.
    h.now = T0 + 10_000;
    h.restart([], { from: T0 + 10_000, to: Infinity });
    h.at(T0 + 10_010, [['req', 1], ['req', 1], ['req', 1]]);
    expect(h.transitions.filter((t) => t.at > T0 + 2010)).toEqual([]);
    // No sample of lat since: its alert ends when its duration runs out, never fired on the value from before.
    for (let t = T0 + 10_500; t <= T0 + 16_000; t += 500) h.at(t, [['req', 1], ['req', 1], ['req', 1]]);
    expect(h.transitions.filter((t) => t.at > T0 + 2010).map((t) => [t.ruleId, `${t.from}>${t.to}`])).toEqual([
      [few.id, 'pending>inactive'],
      [slow.id, 'pending>inactive'],
    ]);
  });

  it('resolves a restored alert on a window the part watched proves clear, and no other', () => {
    const h = harness();
    const few = h.rule({ metric: 'req', aggregation: 'count', window: 5, operator: '<', threshold: 5 });
    const mean = h.rule({ metric: 'lat', aggregation: 'avg', window: 5, operator: '>', threshold: 100 });
    h.at(T0 + 100, [['lat', 500], ['req', 1]]);
    h.at(T0 + 1010);
    expect(h.evaluator.alerts().map((a) => [a.ruleId, a.state]).sort()).toEqual([[few.id, 'firing'], [mean.id, 'firing']].sort());
    // Restarted at T0 + 10 s: 6 requests in its first second prove the 5 s window holds 5 or more.
    h.now = T0 + 10_000;
    h.restart([], { from: T0 + 10_000, to: Infinity });
    h.at(T0 + 10_100, [['req', 1], ['req', 1], ['req', 1], ['req', 1], ['req', 1], ['req', 1], ['lat', 5]]);
    h.at(T0 + 11_010);
    // The mean of its first second's samples says nothing of the samples that made the alert: it waits for a window watched whole.
    expect(h.transitions.filter((t) => t.at > T0 + 1010).map((t) => [t.ruleId, t.to, t.at])).toEqual([[few.id, 'resolved', T0 + 11_010]]);
  });

  it("judges a rate over a window the monitor did not watch whole once a whole bucket of it was watched", () => {
    const h = harness();
    // Records accepted 50 ms before the first bucket closes; a request every 500 ms, at x.250 and x.750.
    h.evaluator.watched = { from: T0 + 950, to: Infinity };
    h.rule({ metric: 'req', aggregation: 'rate', window: 10, operator: '<', threshold: 1 });
    const gone = h.rule({ metric: 'gone', aggregation: 'rate', window: 10, operator: '<', threshold: 1 });
    h.at(T0 + 990);
    for (let t = T0 + 1250; t < T0 + 4000; t += 500) h.at(t, [['req', 1], ...(t < T0 + 2000 ? [['gone', 1] as [string, number]] : [])]);
    h.at(T0 + 4010);
    // Over its first 50 ms the service's 2 a second read 0 a second. A series that stopped reads
    // below 1 a second in the window ending at T0 + 3 s (2 samples in the 2.05 s watched), judged at the next round.
    expect(h.transitions.map((t) => [t.ruleId, t.to, t.at])).toEqual([[gone.id, 'firing', T0 + 3250]]);
  });

  it('judges whole buckets: a window shorter than the interval, or not a multiple of it, takes the buckets it reaches into', () => {
    // 2 s buckets, 10 samples each (5 a second). Until 2026-12-05 a window took only the
    // buckets that started inside it: a 1 s window none (count < 1 fired while samples came,
    // count > 5 never did), a 3 s window one bucket, its rate divided by 3 s (3.3/s for 5/s).
    const h = harness({ intervalMs: 2000 });
    // Watched from T0, as a monitor started then: a window reaching back before covers the time since.
    h.evaluator.watched = { from: T0, to: Infinity };
    const some = h.rule({ metric: 'lat', aggregation: 'count', window: 1, operator: '>', threshold: 5 });
    h.rule({ metric: 'lat', aggregation: 'count', window: 1, operator: '<', threshold: 1 });
    const rate = h.rule({ metric: 'lat', aggregation: 'rate', window: 3, operator: '<', threshold: 4.5 });
    const mean = h.rule({ metric: 'lat', aggregation: 'avg', window: 1.5, operator: '>', threshold: 10 });
    for (let s = 0; s < 10; s += 2) h.at(T0 + s * 1000 + 5, Array.from({ length: 10 }, () => ['lat', 50] as [string, number]));
    h.at(T0 + 10_005);
    const fired = new Map(h.evaluator.alerts().map((a) => [a.ruleId, a.value]));
    expect([...fired.keys()].sort()).toEqual([some.id, mean.id].sort());
    expect(fired.get(some.id)).toBe(10);
    expect(fired.get(mean.id)).toBe(50);
    // The 3 s window is judged over the two buckets it reaches into, 4 s: 5 a second, no breach.
    expect(h.transitions.filter((t) => t.ruleId === rate.id)).toEqual([]);
  });

  it('takes an empty window as no data: min and max rules resolve rather than read ±Infinity', () => {
    const h = harness();
    h.rule({ metric: 'lat', aggregation: 'min', window: 2, operator: '>', threshold: 5 });
    h.rule({ metric: 'lat', aggregation: 'max', window: 2, operator: '<', threshold: 50 });
    h.at(T0 + 10, [['lat', 10]]);
    h.at(T0 + 1010);
    expect(h.states()).toEqual(['inactive>firing', 'inactive>firing']);
    for (let s = 2; s <= 4; s++) h.at(T0 + s * 1000 + 10);
    expect(h.states()).toEqual(['inactive>firing', 'inactive>firing', 'firing>resolved', 'firing>resolved']);
  });

  it('binds a series that appears after a rule was deleted to the rules left, and a rule to its own metric only', () => {
    const h = harness();
    h.at(T0 + 5, [['other', 500]]);
    const gone = h.rule({ metric: 'q', operator: '>', threshold: 10 });
    const kept = h.rule({ metric: 'q', operator: '>', threshold: 20 });
    expect(h.evaluator.deleteRule(gone.id, T0 + 6)).toBe(true);
    h.at(T0 + 10, [['q', 50, { route: '/new' }], ['other', 600]]);
    expect(h.transitions.map((t) => [t.ruleId, t.metric, t.to])).toEqual([[kept.id, 'q', 'firing']]);
  });

  it('resumes the alerts whose rule is still there and skips the others', () => {
    const h = harness();
    h.rule({ metric: 'q', operator: '>', threshold: 10 });
    h.at(T0 + 10, [['q', 50]]);
    const [alert] = h.evaluator.alerts();
    h.restart([{ ...alert!, fingerprint: 'no-such-alert', ruleId: 'r99' }]);
    expect(h.evaluator.alerts().map((a) => [a.fingerprint, a.state])).toEqual([[alert!.fingerprint, 'firing']]);
    h.at(T0 + 20, [['q', 1]]);
    expect(h.states()).toEqual(['inactive>firing', 'firing>resolved']);
  });

  it('leaves a resolved alert alone when its timer runs past the cooldown: only a new sample fires it', () => {
    const h = harness();
    h.rule({ metric: 'q', operator: '>', threshold: 10, cooldown: 30 });
    h.at(T0 + 1000, [['q', 20]]);
    h.at(T0 + 2000, [['q', 5]]);
    h.at(T0 + 3000, [['q', 20]]); // a breach in the cooldown: ignored, and the alert's value now
    expect(h.evaluator.onTimer(T0 + 40_000)).toBe(Infinity);
    expect(h.evaluator.takeTransitions()).toEqual([]);
    h.at(T0 + 40_000, [['q', 20]]);
    expect(h.states()).toEqual(['inactive>firing', 'firing>resolved', 'resolved>firing']);
  });

  it('lists the value of each pending and firing alert, and of no other', () => {
    const h = harness();
    const pending = h.rule({ metric: 'q', operator: '>', threshold: 10, duration: 5 });
    const firing = h.rule({ metric: 'q', operator: '>', threshold: 20 });
    h.rule({ metric: 'q', operator: '>', threshold: 100 }); // inactive
    h.rule({ metric: 'q', operator: '>', threshold: 25 }); // fires on 30, resolves on 22
    h.at(T0 + 10, [['q', 30], ['q', 22]]);
    const fingerprint = new Map(h.evaluator.alerts().map((a) => [a.ruleId, a.fingerprint]));
    expect(new Map(h.evaluator.activeValues())).toEqual(new Map([[fingerprint.get(pending.id)!, 22], [fingerprint.get(firing.id)!, 22]]));
  });
});
