import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, PerformanceMonitor, ReportAbortedError } from '../dist/src/index.js';
import type { Baseline, PerformanceReport } from '../dist/src/index.js';
import { createRegistry } from '../dist/src/engine/registry.js';
import { createStore } from '../dist/src/engine/store/layout.js';
import { ReportService } from '../dist/src/reports/service.js';
import { waitFor } from './helpers.js';

async function caught(promise: Promise<unknown>): Promise<InvalidArgumentError> {
  try {
    await promise;
  } catch (error) {
    return error as InvalidArgumentError;
  }
  throw new Error('expected an error');
}

describe('generateReport on a running monitor', () => {
  const m = new PerformanceMonitor({ storage: 'memory', maxSeries: 6000, system: { enabled: false }, runtime: { enabled: false } });

  beforeAll(async () => {
    await m.start();
    for (let i = 0; i < 2000; i++) m.recordRequest({ endpoint: i % 2 ? '/a' : '/b', responseTimeMs: 10 + (i % 100), success: i % 50 !== 0 });
    for (let i = 0; i < 1000; i++) m.record('cache_hit_rate', i % 2);
    // One critical alert that fires and resolves: the report's alert analysis reads it.
    await m.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 10, severity: 'critical' });
    m.record('queue_size', 50);
    await waitFor(() => m.getAlertHistory().some((t) => t.to === 'firing'), 10_000, 'the alert to fire');
    m.record('queue_size', 1);
    await waitFor(() => m.getAlertHistory().some((t) => t.to === 'resolved'), 10_000, 'the alert to resolve');
    await m.flush();
  });
  afterAll(() => m.stop());

  it('builds a JSON report in the pool, from the shared store, and keeps it as the latest', async () => {
    expect(m.getLatestReport()).toBeUndefined();
    const r = (await m.generateReport()) as PerformanceReport;
    expect(r.version).toBe(1);
    const a = r.series.find((s) => s.name === 'response_time' && s.tags.endpoint === '/a')!;
    expect(a).toMatchObject({ count: 1000, min: 11, max: 109, stddevMethod: 'sketch' });
    expect(r.metrics.find((x) => x.name === 'response_time')).toMatchObject({ series: 2, count: 2000 });
    expect(r.diagnoses.map((d) => d.id)).toContain('low-cache-hit-rate');
    expect(r.alerts).toMatchObject({ available: true, firings: 1, bySeverity: { critical: 1, warning: 0 }, unresolved: 0, timeToResolve: { episodes: 1 } });
    // A critical firing costs 3 of the alerts part's 10 points.
    expect(r.score.parts.find((p) => p.name === 'alerts')).toMatchObject({ value: 3, score: 70 });
    expect(m.getLatestReport()).toEqual(r);
    // The task's thread read the store in place: the report's figures are the store's.
    const snapshot = m.getMetrics({ names: ['response_time'] }).find((s) => s.tags.endpoint === '/a')!;
    expect(a.sum).toBe(snapshot.totalSum);
  });

  it('scores the alerts whether or not it lists them: includeAlerts false leaves out the list, not the score', async () => {
    const window = { from: Date.now() - 600_000, to: Date.now() };
    const listed = (await m.generateReport(window)) as PerformanceReport;
    const unlisted = (await m.generateReport({ ...window, includeAlerts: false })) as PerformanceReport;
    expect(unlisted.alerts).toBeNull();
    expect(listed.alerts).toMatchObject({ firings: 1 });
    expect(unlisted.score).toEqual(listed.score);
    expect(unlisted.score.parts.find((p) => p.name === 'alerts')).toMatchObject({ value: 3, score: 70 });
  });

  it('renders Markdown and one self-contained HTML file with charts', async () => {
    const md = await m.generateReport({ format: 'markdown' });
    expect(md).toMatch(/^# Performance report/);
    expect(md).toMatch(/## Score: [\d.]+ \/ 100/);
    expect(md).toMatch(/\| response_time\{endpoint="\/a"\} \| 1000 \|/);
    const html = await m.generateReport({ format: 'html', includeRecommendations: false });
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('var uPlot='); // the chart library, inlined
    expect(html).toContain('id="chart-0"');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/); // nothing to fetch
    const data = JSON.parse(/<script type="application\/json" id="chart-data">(.*?)<\/script>/s.exec(html)![1]!);
    expect(data.length).toBeGreaterThan(0);
    expect(data[0].t.length).toBe(data[0].v.length);
    expect(html).not.toContain('<h2>Recommendations</h2>');
    // The latest report is kept as JSON whatever the format asked.
    expect(typeof m.getLatestReport()).toBe('object');
  });

  it('reports progress up to the number of series', async () => {
    const seen: [number, number][] = [];
    await m.generateReport({ onProgress: (done, total) => seen.push([done, total]) });
    expect(seen.length).toBeGreaterThanOrEqual(2);
    const total = seen[0]![1];
    expect(seen.at(-1)).toEqual([total, total]);
    for (let i = 1; i < seen.length; i++) expect(seen[i]![0]).toBeGreaterThan(seen[i - 1]![0]);
  });

  it('cancels a running report through its AbortSignal, and the pool serves the next one', async () => {
    // Five thousand series with history: a report long enough to be cancelled in flight.
    for (let i = 0; i < 5000; i++) m.record('per_item', i, { item: String(i) });
    await m.flush();
    const controller = new AbortController();
    let progressAt: number | undefined;
    const error = await caught(
      m.generateReport({
        signal: controller.signal,
        onProgress: (done, total) => {
          if (progressAt === undefined && done < total) {
            progressAt = done;
            controller.abort();
          }
        },
      }),
    );
    expect(error).toBeInstanceOf(ReportAbortedError);
    expect(error).toMatchObject({ code: 'PW_ERR_ABORTED' });
    expect(progressAt).toBeDefined();
    const after = (await m.generateReport()) as PerformanceReport;
    expect(after.summary.series).toBeGreaterThan(5000);
    expect(await caught(m.generateReport({ signal: AbortSignal.abort() }))).toBeInstanceOf(ReportAbortedError);
  });

  it('refuses bad options, naming the field and the limit', async () => {
    const e1 = await caught(m.generateReport({ from: 2000, to: 1000 }));
    expect(e1).toBeInstanceOf(InvalidArgumentError);
    expect(e1.message).toBe('from (1970-01-01T00:00:02.000Z) must not be after to (1970-01-01T00:00:01.000Z)');
    expect((await caught(m.generateReport({ format: 'pdf' as never }))).message).toBe('format must be one of json, markdown, html, got "pdf"');
    expect((await caught(m.generateReport({ from: Number.NaN }))).message).toBe('from must be a Date or a finite number of ms since the epoch, got NaN');
    expect((await caught(m.generateReport({ includeAlerts: 'yes' as never }))).field).toBe('includeAlerts');
    expect((await caught(m.generateReport({ colour: 'red' } as never))).message).toBe('colour is not a known option (the options: from, to, includeRecommendations, includeAlerts, format, signal, onProgress)');
    expect((await caught(m.generateReport({ fromm: 1 } as never))).message).toBe('fromm is not a known option; did you mean from?');
    expect((await caught(m.generateReport({ from: new Date('x') }))).message).toBe('from must be a Date or a finite number of ms since the epoch, got an invalid Date');
    // Past a Date's range: refused by name, not a RangeError from the message that says from > to.
    const far = await caught(m.generateReport({ from: 1e17, to: 0 }));
    expect(far).toBeInstanceOf(InvalidArgumentError);
    expect(far.message).toBe('from must be within ±8.64e15 ms of the epoch (the range of a Date), got 100000000000000000');
  });

  it("refuses getBaselines()'s bad options as generateReport() does, naming the field", async () => {
    expect((await caught(m.getBaselines({ onProgress: 'x' as never }))).message).toBe('onProgress must be a function (done, total), got "x"');
    expect(await caught(m.getBaselines({ signal: {} as never }))).toMatchObject({ code: 'PW_ERR_INVALID_ARG', field: 'signal', message: 'signal must be an AbortSignal, got object' });
    expect((await caught(m.getBaselines({ singal: AbortSignal.abort() } as never))).message).toBe('singal is not a known option; did you mean signal?');
  });

  it('explains an empty range instead of failing', async () => {
    const at = new Date(Date.now() - 3_600_000);
    const r = (await m.generateReport({ from: at, to: at })) as PerformanceReport;
    expect(r.series).toEqual([]);
    expect(r.notes[0]).toMatch(/^The range is empty: from equals to/);
  });

  it('learns baselines per series', async () => {
    const baselines = await m.getBaselines();
    const a = baselines.find((b) => b.metric === 'response_time' && b.tags.endpoint === '/a')!;
    expect(a).toMatchObject({ count: 1000, hourOfWeek: null });
    // '/a' got the odd requests: 11, 13, … 109 ms, twenty times each.
    expect(a.mean).toBeCloseTo(60, 9);
    expect(Math.abs(a.stddev - Math.sqrt((4 * (50 * 50 - 1)) / 12)) / 28.86).toBeLessThan(0.02);
    expect(Math.abs(a.p50 - 59) / 59).toBeLessThan(0.01);
    expect(Math.abs(a.p99 - 109) / 109).toBeLessThan(0.01);
  });
});

describe('a hung report task', () => {
  it('is stopped after reports.timeoutMs, its thread replaced, and the reports queued behind it run', async () => {
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, reports: { threads: 1, timeoutMs: 500 } });
    await m.start();
    try {
      m.record('queue_size', 3);
      await m.flush();
      // The pool's only thread is stuck in a task that never ends.
      await m.injectFault('hang', 'reports');
      const queue = (r: PerformanceReport) => r.series.find((s) => s.name === 'queue_size')?.count;
      expect(queue((await m.generateReport()) as PerformanceReport)).toBe(1);
      // And the next one too: the pool works on after the replacement.
      expect(queue((await m.generateReport()) as PerformanceReport)).toBe(1);
    } finally {
      await m.stop();
    }
  });
});

describe('a report that stop() ends', () => {
  it("fails with ReportAbortedError saying the monitor was stopped, not the pool's words, and a report asked after stop() is served", async () => {
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, reports: { threads: 1 } });
    await m.start();
    m.record('queue_size', 3);
    await m.flush();
    // The pool's only thread is busy for good: the report waits behind it when stop() comes.
    await m.injectFault('hang', 'reports');
    const asked = m.generateReport().then(
      () => null,
      (error: unknown) => error,
    );
    await m.stop();
    const error = await asked;
    expect(error).toBeInstanceOf(ReportAbortedError);
    expect((error as Error).message).toMatch(/the monitor was stopped while the report ran or waited/);
    expect((error as Error).message).not.toMatch(/Terminating worker thread/);
    const again = (await m.generateReport()) as PerformanceReport;
    expect(again.series.find((s) => s.name === 'queue_size')?.count).toBe(1);
  });
});

describe('baselines a page at a time', () => {
  // At 10,000 series the status answer's baselines took 1.5-3.2 s: it learned every series'
  // baseline to show the first few. A page is learned alone, and counted without learning.
  const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  const SERIES = 3000;
  // The application's samples hold still (their bucket may close between two calls, which
  // moves what is learned from the buckets); the monitor's own series gain samples.
  const withoutWindow = (list: Baseline[]) => list.map((b) => (b.metric === 'checkout_ms' ? { metric: b.metric, tags: b.tags, count: b.count, mean: b.mean, p50: b.p50, p99: b.p99 } : { metric: b.metric, tags: b.tags }));

  beforeAll(async () => {
    await m.start();
    for (let s = 0; s < SERIES; s++) for (let i = 0; i < 4; i++) m.record('checkout_ms', s + i, { endpoint: `/api/v2/orders/${s}/items` });
    // The monitor's own series with data (monitor_report_time has its first after a task; the
    // collector's readings, monitor_ingested and the like, theirs at its first sampling) stay
    // the same from here, so that the count and the lists are of one set of series: four that
    // had their first samples between the whole list and its last page failed a CI run.
    await m.getBaselines({ limit: 1 });
    await waitFor(async () => {
      await m.flush();
      return m.getMetrics({ names: ['monitor_ingested', 'monitor_dropped', 'monitor_ring_fill', 'monitor_collector_lag', 'monitor_report_time'] }).length === 5;
    }, 15_000, "the monitor's own readings");
  });
  afterAll(() => m.stop());

  it('learns only the page asked for, the same baselines the whole list holds at its place', async () => {
    const count = m.countBaselines();
    const all = await m.getBaselines();
    expect(all.length).toBeGreaterThan(SERIES);
    expect(count).toBe(all.length);
    const totals: number[] = [];
    const first = await m.getBaselines({ limit: 5, onProgress: (_done, total) => void totals.push(total) });
    expect(withoutWindow(first)).toEqual(withoutWindow(all.slice(0, 5)));
    // Five series were learned, not every one.
    expect(new Set(totals)).toEqual(new Set([5]));
    const middle = await m.getBaselines({ offset: 1500, limit: 7 });
    expect(withoutWindow(middle)).toEqual(withoutWindow(all.slice(1500, 1507)));
    expect(withoutWindow(await m.getBaselines({ offset: all.length - 2 }))).toEqual(withoutWindow(all.slice(-2)));
    expect(await m.getBaselines({ offset: all.length })).toEqual([]);
  });

  it('pages the baselines a database kept after the fresh ones, at their place', async () => {
    // No series has data: every baseline listed is one a database kept.
    const service = new ReportService({
      monitorId: 'stored-pages',
      store: createStore({ maxSeries: 16, rawCapacity: 16, bucketCapacity: 60, rollupCapacity: 10, intervalMs: 1000, rollupMs: 60_000, logBytes: 1 << 20, rollupLogBytes: 1 << 20, poolBytes: 1 << 20 }),
      registry: createRegistry({ maxSeries: 16, maxTags: 8, maxTagValueLength: 64 }),
      threads: 1,
      timeoutMs: 30_000,
      alertHistory: undefined,
      seriesWithData: () => [],
      persistBaseline: () => {},
    });
    try {
      const kept = Array.from({ length: 6 }, (_, i) => ({ metric: `kept_${i}`, tags: {}, window: { from: 0, to: 1 }, mean: i }) as unknown as Baseline);
      service.restoreBaselines(kept, () => -1);
      expect(service.countBaselines()).toBe(6);
      expect((await service.baselines({ offset: 2, limit: 3 })).map((b) => b.metric)).toEqual(['kept_2', 'kept_3', 'kept_4']);
      expect((await service.baselines({ offset: 5 })).map((b) => b.metric)).toEqual(['kept_5']);
    } finally {
      await service.close();
    }
  });

  it('refuses a bad offset or limit, naming it', async () => {
    expect((await caught(m.getBaselines({ limit: 0 }))).message).toBe('limit must be an integer of at least 1, got 0');
    expect((await caught(m.getBaselines({ offset: -1 }))).message).toBe('offset must be an integer of at least 0, got -1');
    expect((await caught(m.getBaselines({ offset: 1.5 }))).field).toBe('offset');
  });
});
