import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type MonitorOptions } from '../dist/src/index.js';

const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

function monitor(dir: string, options: MonitorOptions = {}): PerformanceMonitor {
  const m = new PerformanceMonitor({ storage: 'sqlite', dataDir: dir, system: { enabled: false }, runtime: { enabled: false }, ...options });
  monitors.push(m);
  return m;
}

const DAY = 24 * 3_600_000;

describe('reports and baselines over the stored rollups', () => {
  it('a report and the baselines of a new monitor on the same dataDir count the first one’s samples, each once', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pw-storage-reports-')), 'data');
    const a = monitor(dir);
    await a.start();
    const rt = a.metric('span_rt', { route: '/x' });
    for (let i = 1; i <= 1000; i++) rt.record(i);
    a.record('span_queue', 7);
    await a.stop();
    // A sample's bucket is the one of its drain, which may come a doze after it was recorded
    // (into the next second): by the time stop() returns, every one of a's has been drained.
    const drained = Date.now();

    const b = monitor(dir);
    await b.start();
    const now = Date.now();
    // Before b records anything: the report is all from disk.
    const before = await b.generateReport({ from: now - 7 * DAY, to: now + 1 });
    const stored = before.metrics.find((m) => m.name === 'span_rt');
    expect([stored?.count, stored?.mean]).toEqual([1000, 500.5]);
    expect(Math.abs(stored!.p99 - 990) / 990).toBeLessThan(0.01);
    expect(before.metrics.find((m) => m.name === 'span_queue')?.count).toBe(1);

    // Then with samples of its own: stored and in memory, without a seam.
    const rt2 = b.metric('span_rt', { route: '/x' });
    for (let i = 0; i < 10; i++) rt2.record(2000);
    await b.flush();
    const report = await b.generateReport({ from: Date.now() - 7 * DAY });
    const both = report.metrics.find((m) => m.name === 'span_rt')!;
    expect([both.count, both.max, both.min]).toEqual([1010, 2000, 1]);
    expect(both.mean).toBeCloseTo((500_500 + 20_000) / 1010, 9);
    const series = report.series.find((s) => s.name === 'span_rt')!;
    expect([series.count, series.sum]).toEqual([1010, 520_500]);

    // The default range (all data held) reaches back to the stored samples too.
    const all = await b.generateReport();
    expect(all.metrics.find((m) => m.name === 'span_rt')?.count).toBe(1010);
    expect(all.window.from).toBeLessThanOrEqual(drained);

    const baselines = await b.getBaselines();
    const baseline = baselines.find((x) => x.metric === 'span_rt')!;
    expect(baseline.count).toBe(1010);
    expect(baseline.mean).toBeCloseTo((500_500 + 20_000) / 1010, 9);
  });
});
