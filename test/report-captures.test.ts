/**
 * Profile captures in a report: a CPU capture of a busy main thread is evidence for a CPU
 * diagnosis and names the function to start with; one in which the main thread was mostly
 * idle says so, with its idle share as the evidence, and names no function.
 */
import { describe, expect, it } from 'vitest';
import { IDLE_CAPTURE_SHARE, withCaptures } from '../dist/src/reports/captures.js';
import type { CaptureNote } from '../dist/src/index.js';
import { percent } from '../dist/src/percent.js';
import type { CpuSummary } from '../dist/src/profiling/schema.js';
import type { Diagnosis } from '../dist/src/reports/types.js';
import { monitorStarter, waitFor } from './helpers.js';

const started = monitorStarter();
const AT = Date.UTC(2026, 11, 1, 5, 0, 0);

function note(id: number, idle: number, site: string, share: number): CaptureNote {
  return { id, kind: 'cpu', at: AT, seconds: 10, headline: `${share * 100}% of samples in ${site} (self)`, file: `/p/${id}.cpuprofile`, top: [], lead: { site, share }, rule: null, idle };
}

function saturation(): Diagnosis {
  return { id: 'cpu-saturation', title: 'CPU saturation', severity: 'critical', category: 'cpu', summary: 'The CPUs were busy 92%.', evidence: [], actions: [] };
}

describe('captures in a report', () => {
  it("attaches a busy capture's top function to a CPU diagnosis, and an idle capture's idle share instead", () => {
    const [d] = withCaptures([saturation()], [note(1, 0.1, 'render at src/a.js:3', 0.7), note(2, 0.99, 'snapshot at src/b.js:9', 0.001)]);
    expect(d!.evidence).toEqual([
      { metric: 'cpu_profile', statistic: 'share of samples in render at src/a.js:3 (self)', value: 0.7, threshold: 0, unit: 'ratio', window: { from: AT, to: AT + 10_000 } },
      { metric: 'cpu_profile', statistic: 'share of samples idle', value: 0.99, threshold: IDLE_CAPTURE_SHARE, unit: 'ratio', window: { from: AT, to: AT + 10_000 } },
    ]);
    expect(d!.summary).toContain('CPU profile 2 (10 s from 2026-12-01T05:00:00.000Z): 0.1% of samples in snapshot at src/b.js:9 (self). In profile 2 the main thread was idle in 99% of its samples: during the capture the CPU went to other threads or processes');
    expect(d!.summary).not.toMatch(/render at src\/a\.js:3 \(self\)\. The main thread was idle/);
  });

  it('says of an idle capture attached to a blocked event loop that it missed the blocking, not that the CPU went elsewhere', () => {
    const blocked = (): Diagnosis => ({ id: 'event-loop-blocked', title: 'Event loop blocked', severity: 'warning', category: 'cpu', summary: 'The loop was delayed (p99 446 ms).', evidence: [], actions: ['Move CPU-heavy work off the main thread.'] });
    const [d] = withCaptures([blocked()], [note(5, 0.91, 'computeScore at src/s.js:8', 0.061)]);
    expect(d!.summary).toBe('The loop was delayed (p99 446 ms). CPU profile 5 (10 s from 2026-12-01T05:00:00.000Z): 6.1% of samples in computeScore at src/s.js:8 (self). In profile 5 the main thread was idle in 91% of its samples: the capture missed the synchronous work that blocked the loop, which ran at other times of the window.');
    expect(d!.actions).toEqual([expect.stringMatching(/^Capture again while the loop is blocked: a rule on event_loop_lag .* with capture: 'cpu'/), 'Open /p/5.cpuprofile in Chrome DevTools (Performance panel) for the whole profile.', 'Move CPU-heavy work off the main thread.']);
    // A capture that saw the blocking work is the place to start: no call to capture again.
    const [busy] = withCaptures([blocked()], [note(5, 0.91, 'computeScore at src/s.js:8', 0.061), note(6, 0.1, 'computeScore at src/s.js:8', 0.85)]);
    expect(busy!.actions[0]).toBe('Open /p/5.cpuprofile in Chrome DevTools (Performance panel) for the whole profile.');
  });

  it("does not send the reader of a blocked loop to make the rule on event_loop_lag whose capture came after the block: it says why it missed and what catches one", () => {
    const blocked = (): Diagnosis => ({ id: 'event-loop-blocked', title: 'Event loop blocked', severity: 'critical', category: 'cpu', summary: 'The loop was delayed (p99 4990 ms).', evidence: [], actions: [] });
    const byLag = (id: number): CaptureNote => ({ ...note(id, 0.99, 'postUnheld at dist/a.js:60', 0.0007), rule: 'event_loop_lag > 1000', ruleMetric: 'event_loop_lag' });
    const [d] = withCaptures([blocked()], [byLag(1)]);
    expect(d!.actions[0]).toMatch(/^Profile 1 began when a rule on event_loop_lag fired, which is once the block it measured had ended: .* captureSeconds .* capture while reproducing it/);
    expect(d!.actions.join(' ')).not.toContain('Capture again while the loop is blocked');
    // A capture of another rule's, or one on demand, beside it: the rule on event_loop_lag is still the advice.
    const [mixed] = withCaptures([blocked()], [byLag(1), { ...note(2, 0.95, 'x at a.js:1', 0.01), rule: 'slow p99', ruleMetric: 'response_time' }]);
    expect(mixed!.actions[0]).toMatch(/^Capture again while the loop is blocked: a rule on event_loop_lag/);
  });

  it("names no function to start with when every capture of its own diagnosis found the main thread idle", () => {
    const [d] = withCaptures([], [note(3, 0.95, 'snapshot at src/b.js:9', 0.002)]);
    expect(d!.id).toBe('cpu-profile');
    expect(d!.actions).toEqual(['Open /p/3.cpuprofile in Chrome DevTools (Performance panel) for the whole profile.', expect.stringMatching(/^Capture again while the service is slow/)]);
    const [busy] = withCaptures([], [note(4, 0.2, 'render at src/a.js:3', 0.7)]);
    expect(busy!.actions[1]).toMatch(/^Start with render at src\/a\.js:3/);
  });

  it('says an idle share below 1 as a share below 100%, as the headline says it', () => {
    // 0.9996 idle read "100%" here (rounded to a whole percent) after a headline of 99.96%.
    const [d] = withCaptures([], [{ ...note(7, 0.9996, 'spin at src/c.js:1', 0.0004), headline: 'the main thread was idle in 99.96% of samples (its busiest function: 0.04% in spin at src/c.js:1, self); GC 0%, program 0%' }]);
    expect(d!.summary).toContain('In profile 7 the main thread was idle in 99.96% of its samples:');
    expect(d!.summary).not.toContain('100%');
  });

  it("says each share of a capture in a report one way: an alert's capture, its headline and the diagnosis after it", async () => {
    // The trial's report: idle 0.9969 read "idle in 99.7% of samples" in the headline and
    // "idle in 100% of its samples" in the sentence after it; a selfShare of 0.996, "100% of samples in".
    const m = await started({ profiling: { dir: '/proc/nope/x' } });
    await m.createAlertRule({ metric: 'response_time', operator: '>', threshold: 100, capture: 'cpu', captureSeconds: 1 });
    m.recordRequest({ endpoint: '/a', responseTimeMs: 500, success: true });
    const c = (await waitFor(() => m.getProfiles()[0], 15_000, 'the capture'))!;
    const s = c.summary as CpuSummary;
    const md = (await m.generateReport({ format: 'markdown' })) as unknown as string;
    const idles = [...md.matchAll(/idle in ([\d.]+%)/g)].map((x) => x[1]);
    expect(idles.length, md).toBeGreaterThanOrEqual(2);
    expect(new Set(idles)).toEqual(new Set([percent(s.idle)]));
    for (const [share, shown] of [[s.idle, percent(s.idle)], ...s.topSelf.map((f) => [f.selfShare, percent(f.selfShare)] as const)] as const) {
      if (share < 1) expect(shown).not.toBe('100%');
      if (share > 0) expect(shown).not.toBe('0%');
    }
    expect(c.headline).toContain(s.idle >= IDLE_CAPTURE_SHARE ? `idle in ${percent(s.idle)} of samples` : `${percent(s.topSelf[0]!.selfShare)} of samples in`);
  }, 30_000);

  it("tells a block that came once, captured by its rule on event_loop_lag after it ended, from one a rule's capture could catch", async () => {
    const m = await started({ runtime: { enabled: true, eventLoopResolutionMs: 50 } });
    await m.createAlertRule({ metric: 'event_loop_lag', operator: '>', threshold: 200, capture: 'cpu', captureSeconds: 1 });
    const holdTheLoop = (ms: number): void => {
      const from = performance.now();
      while (performance.now() - from < ms);
    };
    holdTheLoop(800);
    const c = (await waitFor(() => m.getProfiles()[0], 15_000, 'the capture'))!;
    const firing = m.getAlertHistory({}).find((t) => t.to === 'firing');
    expect(firing?.profile).toMatchObject({ id: c.id, rule: 'event_loop_lag > 200', ruleMetric: 'event_loop_lag' });
    // The capture began once the loop was free again: it found the main thread waiting.
    expect(c.summary.kind === 'cpu' && c.summary.idle).toBeGreaterThanOrEqual(IDLE_CAPTURE_SHARE);
    // One block is too few readings for a diagnosis of the loop (diagnoses.ts, sustainedLag):
    // the capture is a diagnosis of its own, which sent the reader to make the rule it came from.
    const report = await m.generateReport({ format: 'json' });
    const d = report.diagnoses.find((x) => x.id === 'cpu-profile');
    expect(d, JSON.stringify(report.diagnoses.map((x) => x.id))).toBeDefined();
    expect(d!.summary).toContain(`In profile ${c.id} the main thread was idle in ${percent(c.summary.kind === 'cpu' ? c.summary.idle : 0)} of its samples: it began when its rule on event_loop_lag fired, once the block that rule measured had ended.`);
    expect(d!.actions).toEqual([expect.stringMatching(/^Open /), expect.stringMatching(new RegExp(`^Profile ${c.id} began when a rule on event_loop_lag fired, which is once the block it measured had ended`))]);
  }, 30_000);

  it("carries the idle share of a real capture of a waiting main thread into the next report's diagnosis", async () => {
    const m = await started();
    const c = await m.profile({ kind: 'cpu', seconds: 1 });
    expect(c.summary.kind === 'cpu' && c.summary.idle).toBeGreaterThanOrEqual(IDLE_CAPTURE_SHARE);
    const report = await m.generateReport({ format: 'json' });
    const d = report.diagnoses.find((x) => x.id === 'cpu-profile');
    expect(d, JSON.stringify(report.diagnoses.map((x) => x.id))).toBeDefined();
    expect(d!.evidence).toEqual([expect.objectContaining({ metric: 'cpu_profile', statistic: 'share of samples idle' })]);
    expect(d!.actions.join(' ')).not.toContain('Start with');
  }, 30_000);
});
