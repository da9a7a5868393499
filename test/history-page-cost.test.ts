/**
 * A page of a history costs what the page holds. Each dashboard tab asks a page of 20 series a
 * chart once an interval; the plan read the tags and where the memory's data begins
 * (memoryFrom: a snapshot of the series) of every matching series before the page was taken,
 * 3-8 ms of the host's main thread a query at 10,000 series (a trial of 2026-12-07). A page now
 * reads those of its own series alone (and of the series read from the file), and the answers
 * are those of the plan that read them all: checked against it over random series, pages and
 * orders, on the memory and on a restarted monitor's file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type HistoryQuery, type MetricHistory } from '../dist/src/index.js';
import { monitorStarter, seeded as random } from './helpers.js';

const started = monitorStarter();
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Entry {
  id: number;
  tags: unknown;
  memoryFrom: number;
}
interface Internals {
  history: { plan: (...args: unknown[]) => { ids: Entry[] } };
  registry: { info: (id: number) => unknown };
  reader: { snapshot: (id: number) => unknown };
}
const internals = (m: PerformanceMonitor): Internals => m as unknown as Internals;

/** The answer of the plan as it was: every matching series' tags and memoryFrom read at plan time. */
async function eagerAnswer(m: PerformanceMonitor, query: HistoryQuery): Promise<MetricHistory> {
  const { history } = internals(m);
  const own = history.plan;
  history.plan = function (this: unknown, ...args: unknown[]) {
    const plan = own.apply(this, args);
    plan.ids = plan.ids.map((s) => ({ id: s.id, tags: s.tags, memoryFrom: s.memoryFrom }));
    return plan;
  };
  try {
    return await m.getMetricHistory(query);
  } finally {
    history.plan = own;
  }
}

/** Counts the series reads a query makes: tags decoded or looked up, and memory snapshots. */
async function reads<T>(m: PerformanceMonitor, fn: () => Promise<T>): Promise<{ value: T; infos: number; snapshots: number }> {
  const { registry, reader } = internals(m);
  const info = registry.info;
  const snapshot = reader.snapshot;
  let infos = 0;
  let snapshots = 0;
  registry.info = function (this: unknown, id: number) {
    infos++;
    return info.call(this, id);
  };
  reader.snapshot = function (this: unknown, id: number) {
    snapshots++;
    return snapshot.call(this, id);
  };
  try {
    return { value: await fn(), infos, snapshots };
  } finally {
    registry.info = info;
    reader.snapshot = snapshot;
  }
}

const RESOLUTIONS = ['auto', 'raw', 'bucket', 'rollup', 'bucketed'] as const;

/** Random pages of `metrics`' histories over [from, to]: each answer as the eager plan's, and as the whole history's slice. */
async function compare(m: PerformanceMonitor, metrics: string[], series: number, from: number, to: number, seed: number, cases: number): Promise<void> {
  // The clock of the queries held at `to`: a counter's open bucket is a rate up to now, which
  // moved between the two answers compared.
  Object.assign(m, { now: () => to });
  try {
    await compareAt(m, metrics, series, from, to, seed, cases);
  } finally {
    delete (m as { now?: unknown }).now;
  }
}

async function compareAt(m: PerformanceMonitor, metrics: string[], series: number, from: number, to: number, seed: number, cases: number): Promise<void> {
  const rnd = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  for (let c = 0; c < cases; c++) {
    const query: HistoryQuery = {
      metric: pick(metrics),
      from,
      to,
      maxPoints: pick([3, 50, 10_000]),
      resolution: pick(RESOLUTIONS),
      order: pick(['id', 'busiest'] as const),
      ...(rnd() < 0.3 ? { tags: { zone: pick(['a', 'b', 'c']) } } : {}),
      ...(rnd() < 0.5 ? { zeroFill: true } : {}),
    };
    const paged: HistoryQuery = { ...query, offset: Math.floor(rnd() * (series + 3)), ...(rnd() < 0.85 ? { limit: pick([1, 2, 5, 20]) } : {}) };
    const what = JSON.stringify(paged);
    const answer = await m.getMetricHistory(paged);
    expect(answer, what).toEqual(await eagerAnswer(m, paged));
    const whole = await eagerAnswer(m, query);
    expect(answer.totalSeries, what).toBe(whole.series.length);
    expect(answer.series, what).toEqual(whole.series.slice(paged.offset, paged.offset! + (paged.limit ?? Infinity)));
  }
}

/** `count` series of each metric, tags i and zone, 0 to 5 samples each (0: registered, never recorded). */
function recordSeries(m: PerformanceMonitor, count: number, rnd: () => number, only?: (i: number) => boolean): void {
  for (let i = 0; i < count; i++) {
    if (only && !only(i)) continue;
    const tags = { i: String(i), zone: ['a', 'b', 'c'][i % 3]! };
    const hits = m.metric('page_hits', tags, { kind: 'counter' });
    const ms = m.metric('page_ms', tags);
    for (let k = Math.floor(rnd() * 6); k > 0; k--) hits.record(1 + Math.floor(rnd() * 3));
    for (let k = Math.floor(rnd() * 6); k > 0; k--) ms.record(rnd() * 100);
  }
}

describe('a page of a history', () => {
  it("reads the tags and memory of the page's series alone, of 2,000 matching", async () => {
    const m = await started({ collectionIntervalMs: 60_000 });
    for (let i = 0; i < 2000; i++) m.metric('wide', { i: String(i) }, { kind: 'counter' }).record(1 + (i % 7));
    await m.flush();
    const from = m.now() - 120_000;
    // The busiest-first ranking, shared by the queries of an interval (history-order.ts), counted once.
    await m.getMetricHistory({ metric: 'wide', from, limit: 20, order: 'busiest' });
    for (const order of ['id', 'busiest'] as const) {
      for (const offset of [0, 1000, 1990]) {
        const seen = await reads(m, () => m.getMetricHistory({ metric: 'wide', from, limit: 20, offset, order }));
        expect(seen.value.totalSeries).toBe(2000);
        expect(seen.value.series).toHaveLength(offset === 1990 ? 10 : 20);
        // Read for every matching series, 2,000 of each; now a few for each listed.
        expect(seen.infos, `${order} at ${offset}`).toBeLessThanOrEqual(3 * 20);
        expect(seen.snapshots, `${order} at ${offset}`).toBeLessThanOrEqual(3 * 20);
      }
    }
  });

  it("answers as the plan that read every series did, over random series, pages and orders", async () => {
    const m = await started({ collectionIntervalMs: 60_000 });
    const rnd = random(7);
    recordSeries(m, 45, rnd);
    await m.flush();
    const to = m.now();
    await compare(m, ['page_hits', 'page_ms'], 45, to - 600_000, to, 11, 120);
  });

  it("answers as the plan that read every series did for a restarted monitor's stored series", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pw-history-page-cost-'));
    dirs.push(dataDir);
    const first = new PerformanceMonitor({ dataDir, system: { enabled: false }, runtime: { enabled: false } });
    await first.start();
    const rnd = random(3);
    recordSeries(first, 40, rnd);
    await first.flush();
    await first.stop();
    // Room for some of the stored series alone: the others are the file's (id -1).
    const m = await started({ storage: 'sqlite', dataDir, maxSeries: 48, collectionIntervalMs: 60_000 });
    recordSeries(m, 40, rnd, (i) => i % 4 === 1);
    await m.flush();
    const to = m.now();
    const whole = await m.getMetricHistory({ metric: 'page_ms', from: to - 600_000, to });
    expect(whole.series.some((s) => s.id === -1)).toBe(true);
    expect(whole.series.some((s) => s.id >= 0 && s.points.length > 0)).toBe(true);
    await compare(m, ['page_hits', 'page_ms'], 40, to - 600_000, to, 5, 60);
  }, 60_000);
});
