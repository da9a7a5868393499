/**
 * getMetricHistory's pages of series (`offset`, `limit`): the same series as the whole
 * history, each once, and the series before a page counted but not read: a page read them
 * all on the host's thread, so that paging through 3,000 series by `offset` held the service's
 * event loop 320 ms a page at the end, and the walk cost N²/limit series reads.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { monitorStarter } from './helpers.js';

const started = monitorStarter();
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The `i` tag of each series of a page, in order. */
const shard = (h: { series: { tags: Record<string, string> }[] }): string[] => h.series.map((s) => s.tags.i!);

/** Every page of `limit` series, from offset 0 until one comes back short. */
async function pages(m: PerformanceMonitor, metric: string, limit: number): Promise<{ ids: string[]; totals: number[] }> {
  const ids: string[] = [];
  const totals: number[] = [];
  for (let offset = 0; ; offset += limit) {
    const page = await m.getMetricHistory({ metric, limit, offset });
    ids.push(...shard(page));
    totals.push(page.totalSeries);
    if (page.series.length < limit) return { ids, totals };
  }
}

describe('pages of a history', () => {
  it('list every series once across pages, as the whole history lists them, and read only the page', async () => {
    const m = await started();
    for (let i = 0; i < 30; i++) for (let k = 0; k < 5; k++) m.record('paged_ms', i + k, { i: String(i) });
    await m.flush();
    const whole = await m.getMetricHistory({ metric: 'paged_ms' });
    expect(whole.totalSeries).toBe(30);
    const { ids, totals } = await pages(m, 'paged_ms', 7);
    expect(ids).toEqual(shard(whole));
    expect(new Set(totals)).toEqual(new Set([30]));
    const page = await m.getMetricHistory({ metric: 'paged_ms', limit: 3, offset: 10 });
    expect(page.series.map((s) => s.points.map((p) => p.value))).toEqual(whole.series.slice(10, 13).map((s) => s.points.map((p) => p.value)));
    // The series before the page are not read: one series' history built per series listed.
    const history = (m as unknown as { history: { seriesHistory: (...args: unknown[]) => unknown } }).history;
    const own = history.seriesHistory;
    let built = 0;
    history.seriesHistory = function (this: unknown, ...args: unknown[]) {
      built++;
      return own.apply(this, args);
    };
    try {
      expect(shard(await m.getMetricHistory({ metric: 'paged_ms', limit: 2, offset: 27 }))).toEqual(shard(whole).slice(27, 29));
      expect(built).toBe(2);
    } finally {
      history.seriesHistory = own;
    }
    expect(await m.getMetricHistory({ metric: 'paged_ms', offset: 30 })).toMatchObject({ series: [], totalSeries: 30 });
    for (const offset of [-1, 1.5, '2']) {
      const error = await m.getMetricHistory({ metric: 'paged_ms', offset: offset as number }).catch((e: unknown) => e);
      expect(error).toMatchObject({ field: 'offset', message: expect.stringMatching(/^offset must be an integer of at least 0/) });
    }
  });

  it('page a restarted monitor\'s series whose history is only on disk as the whole history lists them', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'pw-history-pages-'));
    dirs.push(dataDir);
    const first = new PerformanceMonitor({ dataDir, system: { enabled: false }, runtime: { enabled: false } });
    await first.start();
    for (let i = 0; i < 12; i++) first.record('stored_ms', i, { i: String(i) });
    await first.flush();
    await first.stop();
    const m = await started({ storage: 'sqlite', dataDir });
    // Three of them recorded again: in memory; the nine others are read from the file.
    for (const i of [2, 5, 11]) m.record('stored_ms', 100 + i, { i: String(i) });
    await m.flush();
    const whole = await m.getMetricHistory({ metric: 'stored_ms', from: Date.now() - 600_000 });
    expect(whole.totalSeries).toBe(12);
    expect(whole.series.flatMap((s) => s.points).reduce((n, p) => n + p.count, 0)).toBe(15);
    for (const limit of [1, 4, 5]) {
      const ids: string[] = [];
      for (let offset = 0; offset < 12; offset += limit) {
        const page = await m.getMetricHistory({ metric: 'stored_ms', from: Date.now() - 600_000, limit, offset });
        expect(page.totalSeries).toBeGreaterThanOrEqual(offset + page.series.length);
        ids.push(...shard(page));
      }
      expect(ids, `limit ${limit}`).toEqual(shard(whole));
    }
  }, 30_000);

});
