import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { waitFor } from './helpers.js';

const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

describe('overhead budget', () => {
  it('measures the monitor’s own threads, not the host’s, and its idle sampling pass fits the default budget', async () => {
    const m = new PerformanceMonitor({ storage: 'memory', runtime: { enabled: false }, overhead: { checkIntervalMs: 200 } });
    monitors.push(m);
    await m.start();
    await waitFor(() => m.status().overhead.breakdown !== null, 10_000, 'a first measured window');
    // The host burns its main thread for half a second: the host's CPU, not the monitor's.
    // Process-wide accounting would put the window that holds it at 100% of a core or more.
    const from = Date.now();
    const until = from + 500;
    while (Date.now() < until) {
      // busy
    }
    // The window that holds the loop: a check that was under way when the loop began ends
    // after it too, over a window before it (so "checked after the loop" is not enough).
    const o = await waitFor(() => {
      const s = m.status().overhead;
      return s.lastCheck !== null && s.breakdown && s.lastCheck >= until && s.lastCheck - s.breakdown.windowMs <= from ? s : undefined;
    }, 10_000, 'the window that holds the busy loop');
    expect(o.breakdown!.windowMs).toBeGreaterThanOrEqual(400);
    expect(o.budget).toEqual({ cpuPercent: 1, memoryBytes: 64 * 1024 * 1024 });
    if (process.platform === 'linux') {
      expect(o.cpuSource).not.toBe('none');
      expect(o.cpuPercent).not.toBeNull();
      // Half a second of the host's CPU in a window of at most a second would be 50% or more.
      expect(o.cpuPercent!).toBeLessThan(50);
    }
    expect(o.memoryBytes!).toBeGreaterThan(0);
    expect(o.memoryBytes!).toBeLessThan(64 * 1024 * 1024);
    if (process.platform !== 'linux') return;

    // Idle, from the window after the loop on: a window may hold a one-off cost (a garbage
    // collection in the collector thread, a JIT compile), so the budget is held over the
    // span, 4 s of windows, and each window says over budget exactly when it was.
    const windows: { cpuPercent: number; windowMs: number; over: boolean }[] = [];
    let seen = o.lastCheck;
    await waitFor(() => {
      const s = m.status().overhead;
      if (s.lastCheck !== seen && s.breakdown && s.cpuPercent !== null) {
        seen = s.lastCheck;
        windows.push({ cpuPercent: s.cpuPercent, windowMs: s.breakdown.windowMs, over: s.overBudget.cpu });
      }
      return windows.reduce((ms, w) => ms + w.windowMs, 0) >= 4_000;
    }, 20_000, '4 s of idle windows');
    // Each window says over budget exactly when it was. What an idle monitor costs is a
    // figure of the machine as much as of the monitor (on the 2-vCPU VM of 2026-11-30 19:40 a
    // worker that only wakes once a second read 4-5 ms of CPU a second), so it is measured
    // by `npm run bench:idle`, not asserted here (timing asserts do not belong in tests).
    for (const w of windows) expect(w.over, JSON.stringify(w)).toBe(w.cpuPercent > 1);
    // Most of the idle cost is one pass over the every-interval sources, which the governor
    // would slow down if it cost too much: timed by the collector, a pass at the 1 s
    // interval fits the budget by itself, before any back-off. Each source's fastest pass,
    // not its mean: a pass is wall time, and under a loaded CI one pass preempted for 10 ms
    // is the machine's (CI 2026-12-07 failed here on the mean); a pass that costs more than
    // the budget every time is ours.
    // The every-interval sources: the slow ones (the search for mounts) are read once a
    // minute, and their first read (11 ms of /proc/self/mounts on a loaded machine) counted
    // as if every second failed a run.
    const sources = m.status().system!.sources.filter((s) => !s.spawnsProcesses && !s.slow);
    expect(sources.length).toBeGreaterThan(0);
    for (const s of sources) expect(s.calls, s.source).toBeGreaterThan(0);
    const passMs = sources.reduce((ms, s) => ms + s.minMs, 0);
    expect((100 * passMs) / 1000, sources.map((s) => `${s.source} ${s.minMs.toFixed(2)} ms (mean ${s.meanMs.toFixed(2)})`).join(', ')).toBeLessThan(1);
  });

  it('backs off its cadence under an artificially small budget, says so, and recovers when the budget allows', async () => {
    const m = new PerformanceMonitor({ storage: 'memory', runtime: { enabled: false }, overhead: { cpuPercent: 0.0001, checkIntervalMs: 200 } });
    monitors.push(m);
    await m.start();
    const backed = await waitFor(() => {
      const o = m.status().overhead;
      return o.level >= 2 && o.collectorCadenceMs !== null && o.collectorCadenceMs >= 16_000 ? o : undefined;
    }, 15_000, 'the collector to sample at 16× its interval');
    expect(backed).toMatchObject({ backedOff: true, overBudget: { cpu: true } });
    expect(backed.actions.join('; ')).toMatch(/system metrics every \d+ ms instead of 1000 ms/);
    expect(backed.actions).toContain('report pool capped at 1 thread');
    expect(backed.slowCadenceMs).toBeGreaterThan(60_000);
    // …and says so as a metric.
    await waitFor(() => (m.getMetrics({ names: ['monitor_backoff_level'] })[0]?.window.max ?? 0) >= 1, 10_000, 'monitor_backoff_level');
    // At its last step, still over: it says it can do no more, and what the service can.
    const last = await waitFor(() => {
      const o = m.status().overhead;
      return o.level === 3 && o.overBudget.cpu ? o : undefined;
    }, 15_000, 'the last back-off step');
    expect(last.actions.at(-1)).toBe(
      'at its last back-off step (level 3) and still over the CPU budget: the monitor slows its sampling no further; status().overhead.breakdown says which of its threads costs what: turn off what is not needed (system: { enabled: false }, runtime: { enabled: false }), or raise overhead.cpuPercent',
    );

    m.setOverheadBudget({ cpuPercent: 1000 });
    const normal = await waitFor(() => {
      const o = m.status().overhead;
      return o.level === 0 && o.collectorCadenceMs === 1000 ? o : undefined;
    }, 15_000, 'the collector back at its interval');
    expect(normal).toMatchObject({ backedOff: false, systemCadenceMs: 1000, slowCadenceMs: 60_000, actions: [] });
  });

  it('does not slow system sampling when the cost is ingestion, which a back-off cannot reduce', async () => {
    const m = new PerformanceMonitor({ storage: 'memory', runtime: { enabled: false }, overhead: { cpuPercent: 1, checkIntervalMs: 200 } });
    monitors.push(m);
    await m.start();
    const h = m.metric('response_time', { route: '/busy' });
    let bound: ReturnType<typeof m.status>['overhead'] | undefined;
    let last: ReturnType<typeof m.status>['overhead'] | undefined;
    // Up to 30 s: in a full suite on two cores the host records less and the governor's
    // windows take longer to show the state (it failed once at 15 s in CI).
    const until = Date.now() + 30_000;
    while (!bound && Date.now() < until) {
      // The host records steadily: the collector drains a million samples a second or more,
      // far more work than sampling the system (kept moderate: other test files share the cores;
      // 10,000 a round since the collector takes bursts in fewer wake-ups and costs less).
      for (let i = 0; i < 10_000; i++) h.record(i & 1023);
      await new Promise((resolve) => setTimeout(resolve, 2));
      const o = m.status().overhead;
      last = o;
      if (o.ingestionBound && o.level === 0 && o.collectorCadenceMs === 1000 && Date.now() - m.status().startedAt! > 3_000) bound = o;
    }
    // On a timeout, what the governor said last.
    expect(bound, JSON.stringify(last)).toBeDefined();
    expect(bound!.overBudget.cpu).toBe(true);
    // The breakdown agrees that ingestion, not sampling, took the collector's time. Loosely:
    // it sums the sources' own timings over its window, where the decision weighed whole
    // sampling passes, and with other test files on both cores the host records less and a
    // sampling pass takes longer (CI at 4x: 16.2 ms against 4.5, a build running beside it).
    expect(bound!.breakdown!.collectorMs).toBeGreaterThan(2 * bound!.breakdown!.samplingMs);
    expect(bound!.systemCadenceMs).toBe(1000);
    expect(bound!.actions.join(' ')).toMatch(/over the CPU budget by ingestion/);
  });

  it('refuses a bad budget, naming the field and the limit', () => {
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    expect(() => m.setOverheadBudget({ cpuPercent: -1 })).toThrow('overhead.cpuPercent must be a number from 0.0001 to 1000, got -1');
    expect(() => m.setOverheadBudget({ memoryBytes: 10 })).toThrow(/^overhead.memoryBytes must be an integer from 1048576 to \d+ bytes, got 10$/);
    expect(() => m.setOverheadBudget({ cpu: 5 } as never)).toThrow('overhead.cpu is not a known option');
    expect(() => new PerformanceMonitor({ storage: 'memory', overhead: { checkIntervalMs: 5 } })).toThrow('overhead.checkIntervalMs must be an integer from 100 to 600000 ms, got 5');
    m.setOverheadBudget({ cpuPercent: 2.5 });
    expect(m.status().overhead.budget).toEqual({ cpuPercent: 2.5, memoryBytes: 64 * 1024 * 1024 });
  });
});

describe('over the memory budget', () => {
  it('caps the report pool and says what to lower, or that the budget may be raised', async () => {
    // A budget under what the monitor's own buffers and heaps take: lowering them cannot reach
    // it (13 MiB against 1 MiB in a trial), so the advice offers the budget too.
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { memoryBytes: 1024 * 1024, checkIntervalMs: 200 } });
    await m.start();
    try {
      const until = Date.now() + 10_000;
      while (!m.status().overhead.overBudget.memory && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
      const o = m.status().overhead;
      expect(o.overBudget.memory, JSON.stringify(o)).toBe(true);
      expect(o.actions).toContain('report pool capped at 1 thread');
      expect(o.actions.join('; ')).toMatch(/lower sketchLogBytes, rollupLogBytes, sketchPoolBytes or maxSeries \(or record fewer and shorter tags, maxTags and maxTagValueLength, when status\(\)\.memory\.registryBytes is most of it\) to use less memory, or raise overhead\.memoryBytes$/);
    } finally {
      await m.stop();
    }
  });
});
