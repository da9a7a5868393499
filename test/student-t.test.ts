/**
 * The optimiser's verdict rests on Student's t distribution (src/analysis/stats.ts: its CDF
 * through the regularised incomplete beta function, and its quantile by bisection), written
 * here so that a service that installs perfwatch does not take in stdlib's 228 packages (26 MB)
 * for two functions. stdlib's, a test-only dependency, is the oracle it is held to.
 */
import { describe, expect, it } from 'vitest';
import studentCdf from '@stdlib/stats-base-dists-t-cdf';
import studentQuantile from '@stdlib/stats-base-dists-t-quantile';
import { studentTCritical, studentTwoSidedP, welchTest } from '../dist/src/analysis/stats.js';

const DFS = [0.5, 1, 1.7, 2, 3, 4.25, 5, 7, 10, 14.6, 20, 30, 44.9, 60, 100, 250, 1_000, 10_000, 1e6];

describe("Student's t, as the optimiser's verdict reads it", () => {
  it("gives stdlib's two-sided p-values to 1e-7 over degrees of freedom from 0.5 to a million, fractional ones too", () => {
    for (const df of DFS) {
      for (const t of [0, 0.01, 0.3, 1, 1.5, 1.96, 2.228, 3, 5, 12, 40, -0.7, -2.5]) {
        const want = Math.min(1, 2 * studentCdf(-Math.abs(t), df));
        expect(Math.abs(studentTwoSidedP(t, df) - want), `t ${t}, df ${df}`).toBeLessThan(1e-7);
      }
    }
  });

  it("gives stdlib's critical values to 1e-7 relative at the levels a verdict uses", () => {
    for (const df of DFS) {
      for (const level of [0.8, 0.9, 0.95, 0.99, 0.999]) {
        const want = studentQuantile(1 - (1 - level) / 2, df);
        expect(Math.abs(studentTCritical(level, df) - want) / want, `level ${level}, df ${df}`).toBeLessThan(1e-7);
      }
    }
  });

  it("reads Welch's margin and p from them: a 95% interval that holds 0 is a p above 0.05", () => {
    const r = welchTest({ mean: 10, se: 0.5, df: 19 }, { mean: 11.2, se: 0.4, df: 24 });
    expect(r.df).toBeCloseTo(0.41 ** 2 / (0.25 ** 2 / 19 + 0.16 ** 2 / 24), 9);
    expect(r.margin).toBeCloseTo(studentQuantile(0.975, r.df) * Math.sqrt(0.41), 9);
    expect(r.p).toBeCloseTo(2 * studentCdf(-1.2 / Math.sqrt(0.41), r.df), 9);
    expect(r.p < 0.05).toBe(Math.abs(r.difference) > r.margin);
  });
});
