import { describe, expect, it } from 'vitest';
import { analyzeAlerts } from '../dist/src/reports/alerts.js';
import { renderMarkdown } from '../dist/src/reports/markdown.js';
import { SCORE_PARTS, computeScore, partScore } from '../dist/src/reports/score.js';
import type { AlertTransition } from '../dist/src/reports/types.js';
import { T0, synthetic } from './synthetic.js';

function transition(at: number, ruleId: string, to: AlertTransition['to'], severity: AlertTransition['severity'] = 'warning', fingerprint = 'fp'): AlertTransition {
  return { at, ruleId, ruleName: `rule ${ruleId}`, fingerprint, metric: 'response_time', tags: {}, severity, from: to === 'firing' ? 'pending' : 'firing', to, value: 1, threshold: 1 };
}

/** A store where every scored metric sits at `level` (0 = healthy, 1 = saturated). */
function scenario(level: 0 | 1) {
  const s = synthetic();
  const rt = s.id('response_time', { endpoint: '/a' });
  const err = s.id('error_rate', { endpoint: '/a' });
  const cpu = s.id('cpu_usage');
  const mem = s.id('memory_usage');
  const lag = s.id('event_loop_lag');
  s.fill(120, [
    [rt, () => (level ? [2500, 3000, 4000] : [20, 30, 40])],
    [err, (sec) => (level ? [1, 1, 0, 1] : sec === 0 ? [0, 0, 0, 0] : [0, 0, 0, 0])],
    [cpu, () => (level ? 99.5 : 20)],
    [mem, () => (level ? 99 : 40)],
    [lag, () => (level ? 900 : 2)],
  ]);
  return s;
}

describe('score', () => {
  it('maps each part linearly between its good and bad values', () => {
    expect(partScore(100, 100, 2000)).toBe(100);
    expect(partScore(50, 100, 2000)).toBe(100);
    expect(partScore(1050, 100, 2000)).toBe(50);
    expect(partScore(5000, 100, 2000)).toBe(0);
    // Higher-is-worse and the weights are the documented ones.
    expect(SCORE_PARTS.map((p) => [p.name, p.weight])).toEqual([['latency', 25], ['errors', 25], ['cpu', 15], ['memory', 10], ['event loop', 15], ['alerts', 10]]);
  });

  it('scores a healthy service 100 and shows every part', () => {
    const r = scenario(0).report({ alertHistory: [] });
    expect(r.score.overall).toBe(100);
    expect(r.score.parts.map((p) => p.score)).toEqual([100, 100, 100, 100, 100, 100]);
    expect(r.score.parts[0]).toMatchObject({ metric: 'response_time', statistic: 'p95', good: 100, bad: 2000 });
    expect(r.summary.score).toBe(100);
  });

  it("says each part's unit, the unit of the metric it scores: in the JSON and in the Markdown table, beside its value and thresholds", () => {
    const r = scenario(0).report({ alertHistory: [] });
    expect(r.score.parts.map((p) => [p.name, p.unit])).toEqual([['latency', 'ms'], ['errors', 'ratio'], ['cpu', 'percent'], ['memory', 'percent'], ['event loop', 'ms'], ['alerts', 'points']]);
    for (const p of r.score.parts) expect(p.unit).toBe(p.statistic === 'alert points' ? 'points' : r.metrics.find((m) => m.name === p.metric)!.unit);
    const md = renderMarkdown(r);
    expect(md).toContain('| part | metric | statistic | unit | value | 100 at | 0 at | weight | score |');
    expect(md).toMatch(/\| latency \| response_time \| p95 \| ms \| [\d.]+ \| 100 \| 2000 \| 25 \| 100 \|/);
  });

  it('scores a saturated service 0', () => {
    const history = [transition(T0 + 1000, 'r1', 'firing', 'critical'), transition(T0 + 2000, 'r2', 'firing', 'emergency'), transition(T0 + 3000, 'r3', 'firing', 'critical')];
    const r = scenario(1).report({ alertHistory: history });
    expect(r.score.parts.map((p) => p.score)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(r.score.overall).toBe(0);
  });

  it("reads the memory part from the heap against its limit where that scores lower than the machine's memory", () => {
    const s = synthetic();
    const mem = s.id('memory_usage');
    const heap = s.id('heap_usage');
    // The machine's memory at 10%, the heap at 75% of its limit (48.8 MB of 64 MB).
    s.fill(120, [[mem, () => 10], [heap, () => 75]]);
    const part = s.report({ alertHistory: [] }).score.parts.find((p) => p.name === 'memory')!;
    expect(part).toMatchObject({ metric: 'heap_usage', statistic: 'p95', good: 60, bad: 80, score: 25 });
    // A heap far from its limit leaves the part to the machine's memory.
    const low = synthetic();
    low.fill(120, [[low.id('memory_usage'), () => 90], [low.id('heap_usage'), () => 20]]);
    expect(low.report({ alertHistory: [] }).score.parts.find((p) => p.name === 'memory')).toMatchObject({ metric: 'memory_usage', statistic: 'mean', good: 75, bad: 98 });
  });

  it('shares the weight of parts without data among the others', () => {
    const metrics = new Map([['error_rate', { name: 'error_rate', kind: 'distribution', unit: 'ratio', series: 1, count: 100, mean: 0.0505, min: 0, max: 1, p50: 0, p95: 1, p99: 1, rate: 1 } as const]]);
    const score = computeScore(metrics, null);
    // Only the errors part has data: (0.1 - 0.0505) / (0.1 - 0.001) = 50%.
    expect(score.parts.find((p) => p.name === 'errors')!.score).toBe(50);
    expect(score.overall).toBe(50);
    expect(score.parts.filter((p) => p.score === null)).toHaveLength(5);
    expect(computeScore(new Map(), null).overall).toBeNull();
  });
});

describe('score of a fresh monitor', () => {
  /** cpu_usage, memory_usage and event_loop_lag at start-up levels, one reading a second for `seconds`. */
  function startUp(seconds: number) {
    const s = synthetic();
    const cpu = s.id('cpu_usage');
    const mem = s.id('memory_usage');
    const lag = s.id('event_loop_lag');
    s.fill(seconds, [
      [cpu, () => 99.5],
      [mem, () => 40],
      [lag, () => 900],
    ]);
    return s.report({ alertHistory: [] });
  }

  it('scores a sampled metric only from the readings the diagnoses wait for: a few seconds of start-up readings show their value and no score, and no overall score from alerts that never fired', () => {
    const r = startUp(5);
    for (const name of ['cpu', 'memory', 'event loop']) {
      const part = r.score.parts.find((p) => p.name === name)!;
      expect(part.value).not.toBeNull();
      expect(part.score).toBeNull();
      expect(part.note).toBe('5 of the 10 readings it is scored from');
    }
    expect(r.score.overall).toBeNull();
    expect(r.diagnoses).toEqual([]);
    expect(renderMarkdown(r)).toContain('## Score: not yet: too few readings (see the parts)');
    expect(renderMarkdown(r)).toMatch(/\| cpu \| cpu_usage \| mean \| percent \| 99\.5 \| 60 \| 98 \| 15 \| 5 of the 10 readings it is scored from \|/);
  });

  it('scores them once they have those readings, as the diagnoses judge them', () => {
    const r = startUp(12);
    expect(r.score.parts.filter((p) => p.name !== 'alerts').map((p) => [p.name, p.score, p.note])).toEqual([
      ['latency', null, undefined],
      ['errors', null, undefined],
      ['cpu', 0, undefined],
      ['memory', 100, undefined],
      ['event loop', 0, undefined],
    ]);
    expect(r.score.overall).not.toBeNull();
    expect(r.diagnoses.length).toBeGreaterThan(0);
  });
});

describe('alert analysis', () => {
  it('counts firings by severity and rule, times resolutions, and keeps open episodes open', () => {
    const h = [
      transition(T0 + 0, 'cpu', 'firing', 'critical', 'a'),
      transition(T0 + 60_000, 'cpu', 'resolved', 'critical', 'a'),
      transition(T0 + 100_000, 'lat', 'firing', 'warning', 'b'),
      transition(T0 + 400_000, 'lat', 'resolved', 'warning', 'b'),
      transition(T0 + 500_000, 'mem', 'firing', 'emergency', 'c'),
      transition(T0 + 2_000_000, 'old', 'firing', 'info', 'd'), // after the window
    ];
    const a = analyzeAlerts(h, { from: T0, to: T0 + 1_000_000 });
    expect(a).toMatchObject({ available: true, transitions: 5, firings: 3, bySeverity: { info: 0, warning: 1, critical: 1, emergency: 1 }, unresolved: 1, flapping: [] });
    expect(a.timeToResolve).toEqual({ episodes: 2, meanMs: 180_000, medianMs: 180_000, maxMs: 300_000 });
    expect(a.byRule.map((r) => r.ruleId).sort()).toEqual(['cpu', 'lat', 'mem']);
  });

  it('finds a flapping alert: three firings within thirty minutes', () => {
    const h: AlertTransition[] = [];
    for (let k = 0; k < 4; k++) {
      h.push(transition(T0 + k * 5 * 60_000, 'flap', 'firing', 'warning', 'x'));
      h.push(transition(T0 + k * 5 * 60_000 + 60_000, 'flap', 'resolved', 'warning', 'x'));
    }
    // Another rule fires three times, but an hour apart: not flapping.
    for (let k = 0; k < 3; k++) h.push(transition(T0 + k * 3_600_000, 'slow', 'firing', 'warning', 'y'), transition(T0 + k * 3_600_000 + 1000, 'slow', 'resolved', 'warning', 'y'));
    const a = analyzeAlerts(h, { from: T0, to: T0 + 4 * 3_600_000 });
    expect(a.flapping).toEqual([{ ruleId: 'flap', ruleName: 'rule flap', fingerprint: 'x', firings: 4, windowMs: 30 * 60_000 }]);
  });

  it('recommends stabilising a flapping rule, with the evidence', () => {
    const s = scenario(0);
    const h: AlertTransition[] = [];
    for (let k = 0; k < 3; k++) h.push(transition(T0 + k * 20_000, 'flap', 'firing', 'warning', 'x'), transition(T0 + k * 20_000 + 5000, 'flap', 'resolved', 'warning', 'x'));
    const r = s.report({ alertHistory: h });
    const rec = r.recommendations!.find((x) => x.id === 'stabilise-alert-flap')!;
    expect(rec.evidence[0]).toMatchObject({ metric: 'alerts', value: 3, threshold: 3 });
    // Three warnings cost 3 of 10 points: the alerts part scores 70.
    expect(r.score.parts.find((p) => p.name === 'alerts')!.score).toBe(70);
  });
});
