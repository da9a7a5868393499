import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type MonitorOptions } from '../dist/src/index.js';
import { SpanReader } from '../dist/src/reports/span-reader.js';
import { readPieces } from '../dist/src/analysis/pieces.js';
import { T0, synthetic } from './synthetic.js';
import { storedRows } from './stored-rows.js';
import { connectInMemory } from './mcp-helpers.js';

const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

function monitor(dir: string, options: MonitorOptions = {}): PerformanceMonitor {
  const m = new PerformanceMonitor({ storage: 'sqlite', dataDir: dir, system: { enabled: false }, runtime: { enabled: false }, ...options });
  monitors.push(m);
  return m;
}

/**
 * As monitor(), stopped when its own test ends rather than after every test: the tests of a
 * concurrent block run side by side, and a file-wide afterEach would stop another test's
 * monitors while it still runs.
 */
function ownMonitor(onTestFinished: (fn: () => Promise<void>) => void, dir: string, options: MonitorOptions = {}): PerformanceMonitor {
  const m = new PerformanceMonitor({ storage: 'sqlite', dataDir: dir, system: { enabled: false }, runtime: { enabled: false }, ...options });
  onTestFinished(() => m.stop());
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

describe("a gauge's baseline across a restart", () => {
  it('says its quantiles stand for the samples since the restart alone, in the library and over MCP, where a p99 below the mean read as a fact', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pw-storage-baseline-')), 'data');
    const a = monitor(dir);
    await a.start();
    a.define({ name: 'pool_size', kind: 'gauge' });
    for (const v of [1000, 1001, 1002]) a.record('pool_size', v);
    await a.stop();

    const b = monitor(dir);
    await b.start();
    for (const v of [1, 2]) b.record('pool_size', v);
    // A series recorded since the restart alone, whose quantiles stand for all its samples.
    for (const v of [3, 4]) b.record('queue_depth', v);
    await b.flush();
    // The stored minutes of a gauge keep no sketch: p50 and p99 are of the 2 samples since the restart.
    const baseline = (await b.getBaselines()).find((x) => x.metric === 'pool_size')!;
    expect([baseline.count, baseline.quantileCount]).toEqual([5, 2]);
    expect(baseline.mean).toBeCloseTo(3006 / 5, 9);
    expect(baseline.p99).toBeLessThan(baseline.mean);

    const client = await connectInMemory(b, 'baseline-restart');
    try {
      const r = (await client.callTool({ name: 'get_monitoring_status', arguments: { include_baselines: true, limit: 1000 } })) as { content: { text: string }[]; structuredContent: { baselines: Record<string, unknown>[] } };
      const shown = r.structuredContent.baselines.find((x) => x.metric === 'pool_size')!;
      expect(shown).toMatchObject({ count: 5, quantile_count: 2 });
      expect(r.content[0]!.text).toMatch(/\npool_size mean 601\.?\d* p99 \S+ \(quantiles of 2 of the 5 samples\)(\n|$)/);
      // A series whose quantiles stand for all its samples says nothing more.
      // (Not any other series: one of the monitor's own, monitor_faults of a fault before the
      // restart on a loaded machine, holds stored minutes too.)
      const whole = (await b.getBaselines()).find((x) => x.metric === 'queue_depth')!;
      expect(whole.count).toBe(2);
      expect(whole.quantileCount).toBeUndefined();
    } finally {
      await client.close();
    }
  });
});

describe('rates over a range that spans a restart', () => {
  const GAP_MS = 8_000;
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  /** Starts `m` and records one request every 100 ms for `ms`: when it began, how long start() took, how long it recorded. */
  async function steady(m: PerformanceMonitor, ms: number): Promise<{ before: number; outer: number; inner: number; n: number }> {
    const t0 = Date.now();
    await m.start();
    const t1 = Date.now();
    const requests = m.metric('restart_requests', {}, { kind: 'counter' });
    const latency = m.metric('restart_rt');
    let n = 0;
    while (Date.now() - t1 < ms) {
      requests.record(1);
      latency.record(5);
      n++;
      await sleep(100);
    }
    return { before: t0, outer: t1 - t0, inner: Date.now() - t1, n };
  }

  it("a report's and a counter's history's are per second of the time the two processes watched, the gap between them left out", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pw-storage-rates-')), 'data');
    // Early enough in a minute that the first process stops and the second starts in the same
    // minute (the stored row's minute runs on past the second's start, which its buckets count):
    // from second 30 the two starts, 6 s of recording, a stop and the gap end by second 50 or so
    // on a loaded machine. (From second 15, the test waited 17 s on average.)
    while (new Date().getUTCSeconds() >= 30) await sleep(250);
    const a = monitor(dir);
    const first = await steady(a, 6_000);
    const stopping = Date.now();
    await a.stop();
    const aLife = { min: first.inner, max: first.outer + first.inner + (Date.now() - stopping) };
    // Nothing watches for a while: not time the service's requests are spread over. The gap
    // outlasts what the bounds below leave open (a start and a stop each side), so that the
    // last check can tell it apart: on a loaded machine a start and a stop took seconds, and
    // a fixed 8 s gap was then no longer than the bounds' spread.
    const gapMs = Math.min(Math.max(GAP_MS, 6_000 + 3 * (aLife.max - aLife.min)), 20_000);
    await sleep(gapMs);
    const b = monitor(dir);
    const second = await steady(b, 3_000);
    await b.flush();
    const report = await b.generateReport({ from: Date.now() - 600_000 });
    const now = Date.now();
    const n = first.n + second.n;
    // The watched time is known within how long start() and stop() took and the open bucket's second.
    const watched = { min: aLife.min + second.inner, max: aLife.max + (now - second.before) + 1_000 };
    const requests = report.series.find((s) => s.name === 'restart_requests')!;
    const latency = report.series.find((s) => s.name === 'restart_rt')!;
    expect([requests.count, requests.sum, latency.count]).toEqual([n, n, n]);
    for (const rate of [requests.rate, latency.rate, report.metrics.find((m) => m.name === 'restart_requests')!.rate]) {
      expect(rate).toBeGreaterThanOrEqual(n / (watched.max / 1000));
      expect(rate).toBeLessThanOrEqual(n / (watched.min / 1000));
    }
    // A counter's history: each point per second of the time the processes watched of it, a
    // stored minute where a process began or stopped counting only that part.
    const history = await b.getMetricHistory({ metric: 'restart_requests', from: now - 600_000 });
    const points = history.series[0]!.points;
    expect(points.reduce((t, p) => t + p.sum, 0)).toBe(n);
    const seconds = points.reduce((t, p) => t + p.sum / p.value, 0);
    expect(seconds).toBeGreaterThanOrEqual(watched.min / 1000);
    expect(seconds).toBeLessThanOrEqual((watched.max + (Date.now() - now)) / 1000);
    // The lower bound tells the gap apart: counted as watched, it would put the rate at or
    // below n / (watched.min + gapMs), under n / watched.max.
    expect(watched.max).toBeLessThan(watched.min + gapMs);
  }, 120_000);

  const STOPPED_MS = 12_000;
  // The two storages side by side (it.concurrent): each test spends most of its time stopped
  // (STOPPED_MS) or recording one sample every 100 ms, on a monitor and a dataDir of its own,
  // and each rate's bounds come from the times the test itself measured. The test above stays
  // alone: its bounds must come within GAP_MS of each other, which two starts and stops slowed
  // by a neighbour's did not (seen twice under load).
  for (const storage of ['memory', 'sqlite'] as const) {
    it.concurrent(`of one monitor stopped and started again (${storage}) are per second of the time it ran, the time it was stopped left out`, async ({ onTestFinished }) => {
      const dir = join(mkdtempSync(join(tmpdir(), 'pw-storage-rates-')), 'data');
      const m = ownMonitor(onTestFinished, dir, { storage });
      const first = await steady(m, 4_000);
      const stopping = Date.now();
      await m.stop();
      const firstMax = first.outer + first.inner + (Date.now() - stopping);
      // Stopped longer than the monitor runs: counted as watched, it would more than halve the rates.
      await sleep(STOPPED_MS);
      const second = await steady(m, 3_000);
      await m.flush();
      const n = first.n + second.n;
      const min = first.inner + second.inner;
      // The time watched up to `at`: within how long start() and stop() took and the open bucket's second.
      const max = (at: number): number => firstMax + (at - second.before) + 1_000;
      const within = (rate: number, at: number): void => {
        expect(rate).toBeGreaterThanOrEqual(n / (max(at) / 1000));
        expect(rate).toBeLessThanOrEqual(n / (min / 1000));
      };
      const metrics = m.getMetrics({ names: ['restart_requests'], windowSeconds: 60 })[0]!;
      const metricsAt = Date.now();
      expect(metrics.window!.sum).toBe(n);
      within(metrics.window!.rate!, metricsAt);
      const report = await m.generateReport({ from: Date.now() - 600_000 });
      const requests = report.series.find((x) => x.name === 'restart_requests')!;
      expect([requests.count, requests.sum]).toEqual([n, n]);
      within(requests.rate, report.window.to);
      within(report.metrics.find((x) => x.name === 'restart_requests')!.rate, report.window.to);
      // A counter's history by the minute: each point per second of the part of its minute the monitor ran.
      const history = await m.getMetricHistory({ metric: 'restart_requests', from: Date.now() - 600_000, resolution: 'rollup' });
      const points = history.series[0]!.points;
      expect(points.reduce((t, p) => t + p.sum, 0)).toBe(n);
      expect(points.reduce((t, p) => t + p.sum / p.value, 0)).toBeLessThanOrEqual(max(Date.now()) / 1000);
    }, 120_000);
  }
});

describe("a report's pieces over a restart", () => {
  /** A process's stored rows (storage/rollups.ts), one request each. */
  const rows = (start: number[], count: number[]) => storedRows(start, count, 1);

  it("take every stored row and every bucket after them, a stored row of the minute the memory's buckets begin in included", () => {
    const s = synthetic();
    const hits = s.id('hits', {}, 'counter', 'requests');
    // This process: 2 requests a second from T0 + 74 s.
    for (let sec = 74; sec < 80; sec++) s.apply(T0 + sec * 1000 + 10, [[hits, 1], [hits, 1]]);
    s.apply(T0 + 80_000, []);
    // The process before it, from T0 + 46 s (its first row starts at its first sample) to T0 + 70 s.
    const reader = new SpanReader(s.store);
    reader.setStored(new Map([[hits, rows([T0 + 46_000, T0 + 60_000], [28, 20])]]));
    const pieces = readPieces(reader, hits, -Infinity, Infinity);
    const starts = Array.from(pieces.start.subarray(0, pieces.n), (t) => (t - T0) / 1000);
    expect(starts).toEqual([46, 60, 74, 75, 76, 77, 78, 79]);
    expect(Array.from(pieces.count.subarray(0, pieces.n)).reduce((a, b) => a + b, 0)).toBe(28 + 20 + 12);
    // The first row spans to the end of its minute, not a minute from its first sample: 2 a second.
    expect(pieces.width[0]).toBe(14_000);
    expect(pieces.value('counter', 0)).toBe(2);
  });

  it("count each stored row once in a range's aggregate, a row that starts on a minute too, once this process's first minute has closed", () => {
    const s = synthetic();
    const hits = s.id('hits', {}, 'counter', 'requests');
    // This process: 2 requests a second from T0 + 74 s to T0 + 130 s: its first minute, the one
    // the process before it stopped in, has closed into a rollup.
    for (let sec = 74; sec < 130; sec++) s.apply(T0 + sec * 1000 + 10, [[hits, 1], [hits, 1]]);
    s.apply(T0 + 130_000, []);
    const reader = new SpanReader(s.store);
    reader.setStored(new Map([[hits, rows([T0 + 46_000, T0 + 60_000], [28, 20])]]));
    // Read by whole minutes, the stored row of T0 + 60 s was counted twice: 180 for 160.
    for (const from of [T0, T0 - 3_600_000]) {
      const agg = reader.aggregate(hits, from, T0 + 131_000);
      expect([agg.count, agg.sum]).toEqual([28 + 20 + 112, 28 + 20 + 112]);
    }
    expect(reader.totalCount(hits)).toBe(28 + 20 + 112);
  });

  it('divide the stored minute a process stopped in by the part of it the runs watched, not by the whole minute', () => {
    const s = synthetic();
    const hits = s.id('hits', {}, 'counter', 'requests');
    // This process: 2 requests a second from T0 + 74 s; the one before it, from T0 + 46 s to T0 + 70 s.
    for (let sec = 74; sec < 80; sec++) s.apply(T0 + sec * 1000 + 10, [[hits, 1], [hits, 1]]);
    s.apply(T0 + 80_000, []);
    const reader = new SpanReader(s.store);
    // The runs (a report's watched time: storage/watched-runs.ts): the minute it stopped in
    // spans its 10 s, not 60, and reads 2 a second as every other piece does, not 0.33.
    reader.setStored(new Map([[hits, rows([T0 + 46_000, T0 + 60_000], [28, 20])]]), { from: T0 + 74_010, to: Infinity, earlier: [{ from: T0 + 46_000, to: T0 + 70_000 }] });
    const watched = readPieces(reader, hits, -Infinity, Infinity);
    expect(Array.from(watched.width.subarray(0, 2))).toEqual([14_000, 10_000]);
    expect(Array.from({ length: watched.n }, (_, i) => watched.value('counter', i))).toEqual([2, 2, 2, 2, 2, 2, 2, 2]);
    // Without the runs, the row ends where this process's data begins, whose buckets count the time after.
    reader.setStored(new Map([[hits, rows([T0 + 46_000, T0 + 60_000], [28, 20])]]));
    expect(readPieces(reader, hits, -Infinity, Infinity).width[1]).toBe(14_010);
  });
});

describe('quantiles and stddev of gauges and counters stored before a restart', () => {
  // Their stored minutes keep counts, sums, min and max, and no sketch (docs/storage.md).
  async function restarted(dir: string, after: boolean): Promise<{ b: PerformanceMonitor; from: number }> {
    const a = monitor(dir);
    a.define({ name: 'sq_g', kind: 'gauge', unit: 'count' });
    a.define({ name: 'sq_c', kind: 'counter', unit: 'count' });
    await a.start();
    const from = Date.now() - 1000;
    for (const v of [1, 2, 3]) {
      a.record('sq_g', v);
      a.record('sq_c', v * 10);
    }
    await a.stop();
    const b = monitor(dir);
    b.define({ name: 'sq_g', kind: 'gauge', unit: 'count' });
    b.define({ name: 'sq_c', kind: 'counter', unit: 'count' });
    await b.start();
    if (after) {
      b.record('sq_g', 4);
      b.record('sq_c', 40);
      await b.flush();
    }
    return { b, from };
  }

  it('say the samples their quantiles stand for (quantileCount), on the series, the metric and over MCP', async () => {
    const { b, from } = await restarted(join(mkdtempSync(join(tmpdir(), 'pw-storage-quantiles-')), 'data'), true);
    const report = await b.generateReport({ from });
    for (const name of ['sq_g', 'sq_c']) {
      // Before: median and p90 were the one sample since the restart (4, 40), and nothing said so.
      expect(report.series.find((s) => s.name === name)).toMatchObject({ count: 4, quantileMethod: 'sketch', quantileCount: 1 });
      expect(report.metrics.find((m) => m.name === name)).toMatchObject({ count: 4, quantileCount: 1 });
    }
    expect(report.notes.some((n) => n.includes('quantileCount') && n.includes('stored before a restart keep no sketch'))).toBe(true);
    const { reportOut } = await import('../dist/src/mcp/report-answer.js');
    const out = reportOut(report, undefined);
    expect(out.series?.find((s) => s.name === 'sq_g')).toMatchObject({ quantile_count: 1 });
    expect(out.metrics?.find((m) => m.name === 'sq_g')).toMatchObject({ quantile_count: 1 });
  });

  it("give a stddev from the stored minutes' means as the floor it is (bucket-means), not as exact buckets", async () => {
    const { b, from } = await restarted(join(mkdtempSync(join(tmpdir(), 'pw-storage-stddev-')), 'data'), false);
    const report = await b.generateReport({ from });
    for (const [name, truth] of [['sq_g', Math.sqrt(2 / 3)], ['sq_c', Math.sqrt(200 / 3)]] as const) {
      const s = report.series.find((x) => x.name === name)!;
      // Before: stddevMethod "buckets", documented exact, for the spread between minute means.
      // With no sample since the restart the quantiles stand for none: null, and quantileCount 0 says so.
      expect(s).toMatchObject({ count: 3, stddevMethod: 'bucket-means', quantileCount: 0 });
      expect(s.stddev).toBeLessThanOrEqual(truth + 1e-9);
      expect([s.median, s.p99]).toEqual([Number.NaN, Number.NaN]);
    }
    expect(report.notes.some((n) => n.includes('"bucket-means"') && n.includes('lower bound'))).toBe(true);
  });
});
