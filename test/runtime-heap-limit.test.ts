/**
 * A host near its heap's limit (--max-old-space-size): nothing related its heap to the limit.
 * At 48.8 MB of a 64 MB heap the report's memory part read the machine's 10%, a rule could only
 * hold bytes (each service's flag to know), and the leak diagnosis wanted 5 minutes. Now the
 * runtime sampler writes heap_usage (the heap's share of its limit), a rule on it fires before
 * V8 ends the process, and the report says the heap is near its limit, the time left at its
 * growth and what to do (src/monitor/runtime.ts, src/reports/diagnoses.ts).
 */
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const script = `
  import { PerformanceMonitor } from ${JSON.stringify(new URL('../dist/src/index.js', import.meta.url).href)};
  const out = (o) => console.log(JSON.stringify(o));
  const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, collectionIntervalMs: 1000 });
  await m.start();
  // No byte threshold: the rule holds whatever the flag is.
  await m.createAlertRule({ metric: 'heap_usage', operator: '>', threshold: 75, severity: 'critical' });
  let fired, report;
  m.on('alert', (t) => { if (t.to === 'firing') fired ??= { value: t.value }; });
  const keep = [];
  const usage = () => m.getMetrics({ names: ['heap_usage'] })[0]?.value ?? 0;
  // Some 1 MB/s toward the limit, as a leak grows; V8 ends the process at 80-82% of it.
  const grow = setInterval(() => { for (let i = 0; i < 400; i++) keep.push({ s: 'k'.repeat(200) + keep.length }); }, 100);
  const watch = setInterval(async () => {
    const u = usage();
    if (u >= 68 && report === undefined) {
      report = null;
      const used = m.getMetrics({ names: ['heap_used'] })[0].value;
      const r = await m.generateReport({ from: Date.now() - 60_000 });
      report = { usage: u, used, diagnoses: r.diagnoses, memory: r.score.parts.find((p) => p.name === 'memory') };
    }
    if (report && fired) {
      clearInterval(grow);
      clearInterval(watch);
      out({ report, fired, kept: keep.length });
      keep.length = 0;
      await m.stop();
    }
  }, 500);
`;

describe("a host near its heap's limit", () => {
  it('writes heap_usage, fires a rule on it before V8 ends the process, and the report diagnoses the heap near its limit with the time left', async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--max-old-space-size=64', '--input-type=module', '-e', script], { timeout: 150_000 }, (error, o, err) => (error ? reject(new Error(`${error.message}\n${o}\n${err.slice(0, 2000)}`)) : resolve(o)));
    });
    const out = JSON.parse(stdout.split('\n').find((l) => l.startsWith('{'))!);
    // The series is the heap against 64 MiB, read with heap_used in the same sample.
    expect((out.report.used / (out.report.usage / 100)) / 2 ** 20).toBeCloseTo(64, 0);
    expect(out.fired.value).toBeGreaterThan(75);
    const d = out.report.diagnoses.find((x: { id: string }) => x.id === 'heap-near-limit');
    expect(d, JSON.stringify(out.report.diagnoses)).toBeDefined();
    expect(d.category).toBe('memory');
    expect(d.summary).toMatch(/The main thread's heap is at [\d.]+% of its limit \([\d.]+ MiB of 64 MiB\) and grew [\d.]+ points\/s over the newest minute \([\d.]+ MiB\/s\): at that pace it reaches 80% in about [\d.]+ (s|minutes), and the limit in [\d.]+ (s|minutes)/);
    expect(d.actions.join(' ')).toMatch(/heap profile.*--max-old-space-size.*heap_usage > 75/s);
    expect(out.report.memory).toMatchObject({ metric: 'heap_usage', statistic: 'p95' });
    expect(out.report.memory.score).toBeLessThan(100);
  }, 180_000);
});
