import { describe, expect, it } from 'vitest';
import { ReportFailedError } from '../dist/src/index.js';
import { MACHINE } from '../dist/src/engine/memory-limit.js';
import { outOfMemoryMessage, resourceLimitsFor, threadHeapLimits } from '../dist/src/actors/thread-limits.js';
import { Supervisor, WatchdogLink } from '../dist/src/actors/supervisor.js';
import { EXPORT_BEAT_BY, EXPORT_CLOCK, EXPORT_TID, createControl } from '../dist/src/engine/control.js';
import { monitorStarter, waitFor } from './helpers.js';

const started = monitorStarter();
const MB = 1024 * 1024;
const DEFAULTS = { maxSeries: 10_000, maxAlertRules: 1_000, historyLimit: 100_000 };

describe("each of perfwatch's threads has a heap limit of its own", () => {
  it('sizes each to the options that drive it, caps it at half a container memory limit, and takes threadHeapMb instead', () => {
    const machine = { bytes: 16 * 1024 * MB, source: MACHINE };
    const at10k = threadHeapLimits(DEFAULTS, undefined, machine);
    expect(at10k).toEqual({ watchdog: 32, collector: 208, alerts: 228, storage: 208, exporter: 208, reports: 288, exposition: 320 });
    const at100k = threadHeapLimits({ ...DEFAULTS, maxSeries: 100_000 }, undefined, machine);
    expect(at100k.collector).toBe(928);
    expect(at100k.reports).toBe(1_728);
    // In a 160 MB container each thread may take at most 80 MB, and never less than 64 MB.
    const container = { bytes: 160 * MB, source: 'cgroup v2 /sys/fs/cgroup/memory.max' };
    expect(threadHeapLimits(DEFAULTS, undefined, container)).toEqual({ watchdog: 32, collector: 80, alerts: 80, storage: 80, exporter: 80, reports: 80, exposition: 80 });
    expect(threadHeapLimits(DEFAULTS, undefined, { bytes: 64 * MB, source: container.source }).reports).toBe(64);
    expect(threadHeapLimits(DEFAULTS, { reports: 2_048 }, container).reports).toBe(2_048);
    expect(resourceLimitsFor('reports', 288)).toEqual({ maxOldGenerationSizeMb: 288 });
    expect(resourceLimitsFor('watchdog', 32)).toEqual({ maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 });
  });

  it('refuses a limit out of range, naming the field and the range', async () => {
    const { PerformanceMonitor } = await import('../dist/src/index.js');
    expect(() => new PerformanceMonitor({ storage: 'memory', threadHeapMb: { reports: 8 } })).toThrow(/threadHeapMb\.reports.*must be an integer from 16 to 65536 \(MB\)/);
    expect(() => new PerformanceMonitor({ storage: 'memory', threadHeapMb: { report: 64 } as never })).toThrow(/threadHeapMb/);
  });

  it('a report thread past its limit over 20,000 series ends alone: the report fails saying the limit and the option, a fault is counted, the host goes on and the next report gets a new thread', async () => {
    // 20,000 series: over 10,000 (an 8 MB report) a 16 MB thread sometimes fit it (CI, load 2).
    const m = await started({ maxSeries: 20_200, threadHeapMb: { reports: 16 } });
    const before = Date.now();
    // Before the large input: a range with one series only, for the report after the failure.
    m.metric('small_ms').record(1);
    await m.flush();
    await new Promise((r) => setTimeout(r, 1_100));
    const quiet = Date.now();
    await new Promise((r) => setTimeout(r, 1_100));
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 20_000; i++) {
        const h = m.metric('latency_ms', { route: `/r/${i}`, method: 'GET', zone: `zone-${i % 7}` });
        for (let k = 0; k < 20; k++) h.record((i % 50) + k);
      }
      await m.flush();
    }
    const failed = await m.generateReport({ format: 'json' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failed).toBeInstanceOf(ReportFailedError);
    expect((failed as Error).message).toContain('a report thread reached its heap limit of 16 MB and was ended alone (ERR_WORKER_OUT_OF_MEMORY), the host unharmed; threadHeapMb.reports raises the limit');
    const fault = m.status().faults.byKind['report-failed'];
    expect(fault?.count).toBe(1);
    expect(fault?.lastMessage).toContain('heap limit of 16 MB');
    expect(fault?.lastMessage).toContain('threadHeapMb.reports');
    // The host and the monitor go on: recording, queries, and a report that fits, on a new thread.
    m.metric('small_ms').record(2);
    await m.flush();
    expect(m.getMetrics({ names: ['small_ms'] })[0]?.totalCount).toBe(2);
    const small = await m.generateReport({ format: 'json', from: before - 1_000, to: quiet });
    expect(small).toBeTruthy();
    expect(m.status().faults.byKind['report-failed']?.count).toBe(1);
  }, 120_000);

  it("an actor past its limit ends alone, and the watchdog's fault names it, its limit and the option, and replaces it", async () => {
    const control = createControl();
    const cells = { at: EXPORT_CLOCK, by: EXPORT_BEAT_BY, tid: EXPORT_TID };
    const faults: { kind: string; message: string }[] = [];
    const link = new WatchdogLink((error, kind = 'watchdog') => faults.push({ kind, message: error.message }), 'skip', undefined, { collector: 16 });
    type Api = { ready(): void; stop(): Promise<void>; grow(): void };
    const actor = new Supervisor<Api>('collector', new URL('./fixtures/growing-actor.mjs', import.meta.url), () => ({ control, cells }), { exit() {}, restart() {} }, link, { control, ...cells });
    try {
      await actor.start();
      await actor.call((a) => a.grow());
      await waitFor(() => faults.some((f) => f.kind === 'actor-restart'), 60_000, 'the actor to be replaced');
      expect(faults.find((f) => f.kind === 'actor-restart')?.message).toMatch(/^collector: restarted after \d+ ms down \(restart 1\); it had ended: the collector thread reached its heap limit of 16 MB and was ended alone \(ERR_WORKER_OUT_OF_MEMORY\), the host unharmed; threadHeapMb\.collector raises the limit$/);
      expect(actor.state).toBe('running');
    } finally {
      await actor.stop();
    }
  }, 90_000);

  it('the /metrics renderer past its limit ends alone: the scrape is a 503 saying the limit and the option, a fault is counted, the server goes on', async () => {
    const m = await started({ maxSeries: 20_200, threadHeapMb: { exposition: 16 } });
    for (let i = 0; i < 20_000; i++) m.metric('latency_ms', { route: `/r/${i}/${'x'.repeat(100)}`, method: 'GET', zone: `zone-${i % 7}` }).record(i % 50);
    await m.flush();
    const server = await m.serveHttp({ port: 0 });
    try {
      const url = new URL(server.status().url);
      const res = await fetch(new URL('/metrics', url), { headers: { host: url.host } });
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('the /metrics renderer (exposition) thread reached its heap limit of 16 MB and was ended alone (ERR_WORKER_OUT_OF_MEMORY), the host unharmed; threadHeapMb.exposition raises the limit');
      expect(m.status().faults.byKind.exposition?.lastMessage).toContain('threadHeapMb.exposition');
      const api = await fetch(new URL('/api/status', url), { headers: { host: url.host } });
      expect(api.status).toBe(200);
    } finally {
      await server.close();
    }
  }, 120_000);
});
