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
import { HistoryOutput } from '../dist/src/mcp/tools/get-metric-history.js';
import { monitorStarter } from './helpers.js';
import { connectInMemory, ok, type AnyClient } from './mcp-helpers.js';

const started = monitorStarter();
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

type HistoryAnswer = { total_series: number; truncated: boolean; next_offset?: number; series: { tags: Record<string, string> }[] };

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

  it("counts every series of a restarted monitor that is on disk only, and its pages reach each once: library, MCP's next_offset and HTTP's next", async () => {
    // After a restart every series is on disk only until recorded again: a page counted only
    // the series read up to its end, and said 10 of 25 were all there were (no next page).
    const dataDir = mkdtempSync(join(tmpdir(), 'pw-history-pages-'));
    dirs.push(dataDir);
    const first = new PerformanceMonitor({ dataDir, system: { enabled: false }, runtime: { enabled: false } });
    await first.start();
    for (let i = 0; i < 25; i++) first.record('restored_ms', i, { i: String(i) });
    await first.flush();
    await first.stop();
    const m = await started({ storage: 'sqlite', dataDir });
    const from = Date.now() - 600_000;
    const whole = await m.getMetricHistory({ metric: 'restored_ms', from });
    expect(whole.totalSeries).toBe(25);
    const ids: string[] = [];
    for (let offset = 0; offset < 40; offset += 10) {
      const page = await m.getMetricHistory({ metric: 'restored_ms', from, limit: 10, offset });
      expect(page.totalSeries, `offset ${offset}`).toBe(25);
      ids.push(...shard(page));
    }
    expect(ids).toEqual(shard(whole));

    // MCP: truncated with next_offset until the last page.
    const client = (await connectInMemory(m, 'pages')) as unknown as AnyClient;
    const viaMcp: string[] = [];
    for (let offset: number | undefined = 0, n = 0; offset !== undefined && n < 10; n++) {
      const r: HistoryAnswer = await ok(client, 'get_metric_history', { metric_type: 'restored_ms', time_range: '10m', limit: 10, offset }, HistoryOutput);
      expect(r.total_series).toBe(25);
      expect(r.truncated).toBe(r.next_offset !== undefined);
      viaMcp.push(...r.series.map((s) => s.tags.i!));
      offset = r.next_offset;
    }
    expect(viaMcp).toEqual(shard(whole));

    // HTTP: `next` until the last page.
    const server = await m.serveHttp({ port: 0 });
    try {
      const viaHttp: string[] = [];
      for (let next: string | undefined = `/api/history?metric=restored_ms&from=${from}&limit=10`, n = 0; next !== undefined && n < 10; n++) {
        const body = (await (await fetch(new URL(next, server.url))).json()) as { totalSeries: number; series: { tags: Record<string, string> }[]; next?: string };
        expect(body.totalSeries).toBe(25);
        viaHttp.push(...shard(body));
        next = body.next;
      }
      expect(viaHttp).toEqual(shard(whole));
    } finally {
      await server.close();
    }

    // Counted are the series with data in the range, as the whole history counts them: from
    // now on, the three recorded again, not the others, whose rows lie before it.
    for (const i of [3, 7, 20]) m.record('restored_ms', 100 + i, { i: String(i) });
    await m.flush();
    const now = m.now();
    expect((await m.getMetricHistory({ metric: 'restored_ms', from: now })).totalSeries).toBe(3);
    const later = await m.getMetricHistory({ metric: 'restored_ms', from: now, limit: 2, offset: 1 });
    expect({ total: later.totalSeries, ids: shard(later) }).toEqual({ total: 3, ids: ['7', '20'] });
  }, 30_000);
});
