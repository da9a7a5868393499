/**
 * A counter's stored minutes in a history after a restart are per second of the time the
 * processes that wrote them watched, each second once: the report's definition. Counted per
 * row, from each row's start to its minute's end, a process's first minute read from its
 * first sample (3.04 a second for 1.08, a trial), and a minute two processes wrote counted the
 * later one's seconds twice (1.75 a second for 2.58).
 */
import { describe, expect, it } from 'vitest';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { HistoryReader } from '../dist/src/monitor/history.js';
import type { StoredRollups } from '../dist/src/storage/rollups.js';
import { T0, synthetic } from './synthetic.js';

/** Stored minute rows of a counter, as the database gives them. */
function rows(list: { start: number; sum: number }[]): StoredRollups {
  const f = (pick: (r: { start: number; sum: number }) => number) => Float64Array.from(list.map(pick));
  return { start: f((r) => r.start), count: f(() => 1), sum: f((r) => r.sum), min: f((r) => r.sum), max: f((r) => r.sum), last: f((r) => r.sum), sketchAt: f(() => -1), sketches: new Int32Array(0), hourly: new Uint8Array(list.length) };
}

describe("a restarted monitor's history of a counter's stored minutes", () => {
  it('counts the seconds each process watched, once, from its start and not from its first sample', () => {
    const M = T0 + 120_000;
    // Process 1 watched [M − 56 s, M + 20 s): 60 at M − 20 s (its first row starts at that
    // sample), 30 at M + 6 s. Process 2 watched [M + 22 s, M + 35 s): 40 at M + 23 s.
    const runs = [{ from: M - 56_000, to: M + 20_000 }, { from: M + 22_000, to: M + 35_000 }];
    const stored = rows([{ start: M - 20_000, sum: 60 }, { start: M, sum: 30 }, { start: M + 23_000, sum: 40 }]);
    // This process started at M + 62 s and records after.
    const s = synthetic();
    const id = s.id('jobs', {}, 'counter', 'count');
    const start = M + 62_000;
    s.apply(start + 8_000, [[id, 5]]);
    const now = start + 20_000;
    s.apply(now, []);
    const history = new HistoryReader(s.registry, s.reader, new SketchAccumulator(), () => ({ from: start, to: Infinity }));
    const plan = history.plan({ metric: 'jobs', from: M - 60_000, resolution: 'rollup' }, now);
    const answer = history.build(plan, new Map([[plan.ids[0]!, stored]]), now, undefined, runs);
    const points = answer.series[0]!.points;
    expect(points.map((p) => [p.t - M, p.sum])).toEqual([[-60_000, 60], [0, 70], [60_000, 5]]);
    expect(points[0]!.value).toBeCloseTo(60 / 56, 9);
    expect(points[1]!.value).toBeCloseTo(70 / 33, 9);
    // This process's minute: from its start to now.
    expect(points[2]!.value).toBeCloseTo(5 / 20, 9);
  });
});
