import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MAIN_LOCK_TAG, Registry, createRegistry } from '../dist/src/engine/registry.js';
import { PerformanceMonitor, type MonitorOptions } from '../dist/src/index.js';
import type { Baseline } from '../dist/src/reports/types.js';
import { openDatabase } from '../dist/src/storage/driver.js';
import { restoreCatalog } from '../dist/src/storage/restore.js';
import { RollupTable } from '../dist/src/storage/rollups.js';
import { openSchema } from '../dist/src/storage/schema.js';

const HOUR = 3_600_000;

const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

function dataDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'pw-restore-')), 'data');
}

function monitor(dir: string, options: MonitorOptions = {}): PerformanceMonitor {
  const m = new PerformanceMonitor({ storage: 'sqlite', dataDir: dir, system: { enabled: false }, runtime: { enabled: false }, ...options });
  monitors.push(m);
  return m;
}

/** Records response_time of `endpoints` endpoints under `tags`; answers how many record() refused. */
function deploy(m: PerformanceMonitor, endpoints: number, tags: Record<string, string>): number {
  let refused = 0;
  for (let i = 0; i < endpoints; i++) {
    try {
      m.record('response_time', 5, { endpoint: `/e${i}`, ...tags });
    } catch {
      refused++;
    }
  }
  return refused;
}

describe('the stored catalog restored at start', () => {
  it('leaves room for the live series: a service redeployed with a changed tag has none refused, while the earlier deploys stay stored and readable', async () => {
    const dir = dataDir();
    const refused: number[] = [];
    for (const pod of ['a', 'b', 'c']) {
      const m = monitor(dir, { maxSeries: 100 });
      await m.start();
      refused.push(deploy(m, 80, { pod }));
      if (pod === 'c') {
        // c also records one of a's series again: the same stored series, its history whole.
        m.record('response_time', 7, { endpoint: '/e0', pod: 'a' });
        await m.flush();
        const catalog = m.status().storage;
        if (catalog.mode !== 'sqlite') throw new Error('expected sqlite');
        // a's and b's 160 series were the live set before: all of maxSeries is kept for c's, and
        // of the stored series only the monitor's own (in their share) are registered.
        expect(catalog.catalog).toMatchObject({ headroom: 100, leftOut: 160, failed: 0 });
        expect(catalog.catalog!.stored - catalog.catalog!.registered).toBe(160);
        expect(catalog.catalog?.why).toMatch(/^the 160 stored series with the oldest data were not registered, to keep all of maxSeries 100 free .*; their history is still read from the database/);
        // Left out by design: not a fault.
        expect(m.status().faults.byKind['storage-restore']).toBeUndefined();
        const h = await m.getMetricHistory({ metric: 'response_time' });
        expect(h.totalSeries).toBe(240);
        const byPod = (pod: string) => h.series.filter((s) => s.tags.pod === pod);
        expect([byPod('a').length, byPod('b').length, byPod('c').length]).toEqual([80, 80, 80]);
        // The series not registered here are read from the file alone (id -1).
        expect(byPod('b').every((s) => s.id === -1 && s.points.reduce((n, p) => n + p.sum, 0) === 5)).toBe(true);
        const again = byPod('a').filter((s) => s.tags.endpoint === '/e0');
        expect(again.map((s) => [s.id >= 0, s.points.reduce((n, p) => n + p.sum, 0)])).toEqual([[true, 12]]);
        // A report reads the series registered: one over time before this start says what it leaves out.
        const leftOut = '160 stored series of earlier runs are not in this report: the start left them out to keep room for the live series (status().storage.catalog says why); getMetricHistory() reads their history from the database';
        expect((await m.generateReport()).notes).toContain(leftOut);
        expect((await m.generateReport({ from: Date.now() })).notes).not.toContain(leftOut);
      }
      await m.flush();
      await m.stop();
    }
    // Before, the earlier deploys' series took maxSeries: b had 60 refused, c all 80.
    expect(refused).toEqual([0, 0, 0]);
    const db = openDatabase(join(dir, 'perfwatch.db'));
    try {
      expect(db.prepare("SELECT count(*) FROM series WHERE name = 'response_time'").get()).toEqual([240]);
    } finally {
      db.close();
    }
  });

  it('registers the newest series first, within maxSeries less the series the last run recorded in its last stored hour', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pw-restore-')), 'perfwatch.db');
    const db = openSchema(file);
    const T0 = Date.UTC(2026, 0, 1);
    // 20 series of an old deploy (rows 3 hours before the newest), then 6 of the last one, then 2 with no rows.
    const pods = [...Array.from({ length: 20 }, (_, i) => `old-${i}`), ...Array.from({ length: 6 }, (_, i) => `new-${i}`), 'empty-0', 'empty-1'];
    db.transaction(() => {
      const series = db.prepare('INSERT INTO series (name, tags, kind, unit) VALUES (?, ?, ?, ?)');
      const row = db.prepare('INSERT INTO rollups (series, start, count, sum, min, max, last, sketch) VALUES (?, ?, 1, 1, 1, 1, 1, NULL)');
      pods.forEach((pod, i) => {
        series.run(['pod_rt', JSON.stringify({ pod }), 'distribution', 'ms']);
        if (pod.startsWith('old')) row.run([i + 1, T0]);
        if (pod.startsWith('new')) row.run([i + 1, T0 + 3 * HOUR]);
      });
    });
    const catalog = new RollupTable(db).catalog();
    db.close();
    expect(catalog.map((e) => e.tags.pod)).toEqual([...pods.slice(20, 26), ...pods.slice(0, 20), 'empty-0', 'empty-1']);
    const registry = new Registry(createRegistry({ maxSeries: 16, maxTags: 4, maxTagValueLength: 16 }), MAIN_LOCK_TAG);
    expect(restoreCatalog(registry, catalog)).toEqual({ total: 28, registered: 10, ids: registry.find('pod_rt'), headroom: 6, leftOut: 18, failed: 0, reasons: [] });
    expect(registry.find('pod_rt').map((id) => registry.info(id).tags.pod)).toEqual([...pods.slice(20, 26), 'old-0', 'old-1', 'old-2', 'old-3']);
    // The 6 the live service records fit.
    for (let i = 0; i < 6; i++) registry.seriesId('pod_rt', { pod: `live-${i}` });
    expect(() => registry.seriesId('pod_rt', { pod: 'one-more' })).toThrow(/series limit reached/);
  });

  it('keeps the baselines of the series it left out, and binds each to its series once the service records it', async () => {
    const dir = dataDir();
    const a = monitor(dir, { maxSeries: 16 });
    await a.start();
    for (let i = 0; i < 12; i++) a.record('pod_rt', i + 1, { pod: 'a', i: String(i) });
    await a.flush();
    const ofPods = (list: Baseline[]) => list.filter((x) => x.metric === 'pod_rt');
    const learned = ofPods(await a.getBaselines());
    expect(learned).toHaveLength(12);
    await a.stop();

    const b = monitor(dir, { maxSeries: 16 });
    await b.start();
    // a's 12 series were its live set: 4 are registered, 8 left out.
    const s = b.status().storage;
    if (s.mode !== 'sqlite') throw new Error('expected sqlite');
    expect(s.catalog).toMatchObject({ headroom: 12, leftOut: 8 });
    expect(b.status().series.count).toBe(4);
    // The count and the list are taken in one turn: the monitor's own series gain data as it runs.
    let total = b.countBaselines();
    let all = await b.getBaselines();
    expect(all).toHaveLength(total);
    const strip = (list: Baseline[]) => list.map(({ seriesId: _, ...rest }) => rest).sort((x, y) => Number(x.tags.i) - Number(y.tags.i));
    expect(strip(ofPods(all))).toEqual(strip(learned));
    const unbound = ofPods(all).filter((x) => x.seriesId === -1);
    expect(unbound).toHaveLength(8);

    // The service records a series that was left out: its stored baseline binds to it, and is
    // not counted beside the series' own (it was: the count was one more than the list).
    const tags = unbound[0]!.tags;
    b.record('pod_rt', 100, tags);
    await b.flush();
    total = b.countBaselines();
    all = await b.getBaselines();
    expect(all).toHaveLength(total);
    expect(ofPods(all).filter((x) => x.tags.i === tags.i).map((x) => x.seriesId >= 0)).toEqual([true]);
    expect(ofPods(all)).toHaveLength(12);
  });

  it('says, when a live series is refused, how many places of maxSeries the restored series not recorded since hold: in the error, the fault and status().series.refused', async () => {
    const dir = dataDir();
    const a = monitor(dir, { maxSeries: 20 });
    await a.start();
    expect(deploy(a, 6, { pod: 'r1' })).toBe(0);
    await a.flush();
    await a.stop();

    // The 6 stored series are restored (the headroom is 6 of 20); 20 new ones: 14 fit, 6 refused.
    const b = monitor(dir, { maxSeries: 20 });
    await b.start();
    expect(b.status().storage).toMatchObject({ catalog: { registered: expect.any(Number) } });
    let error: Error | undefined;
    for (let i = 0; i < 20; i++) {
      try {
        b.record('response_time', 5, { endpoint: `/e${i}`, pod: 'r2' });
      } catch (e) {
        error ??= e as Error;
      }
    }
    // Before, only "… would be one more; reduce tag values or raise maxSeries".
    const held = '6 of the 20 places are held by series restored from the database at start and not recorded since (an earlier run\'s, kept for their history until the monitor stops)';
    expect(error?.message).toBe(`series limit reached: maxSeries is 20 and response_time{endpoint="/e14",pod="r2"} would be one more; ${held}; reduce tag values or raise maxSeries`);
    expect(b.status().series.refused).toMatchObject({ total: 6, restored: 6 });
    expect(b.status().faults.byKind['series-limit']?.lastMessage).toContain(`; ${held}; `);
  });

  it('counts the stored series that cannot be registered (tags past a lowered maxTags) as one fault, and still reads their history from the file', async () => {
    const dir = dataDir();
    const a = monitor(dir, { maxSeries: 16 });
    await a.start();
    a.record('wide_rt', 3, { a: '1', b: '2' });
    a.record('wide_rt', 4, { a: '2', b: '2' });
    a.record('narrow_rt', 5, { a: '1' });
    await a.flush();
    await a.stop();

    const b = monitor(dir, { maxSeries: 16, maxTags: 1 });
    await b.start();
    const fault = b.status().faults.byKind['storage-restore'];
    expect(fault?.count).toBe(1);
    expect(fault?.lastMessage).toMatch(/^2 of the \d+ series stored in .*perfwatch\.db could not be registered again; the first: tags has 2 tags; the limit is maxTags 1$/);
    const h = await b.getMetricHistory({ metric: 'wide_rt' });
    expect(h.series.map((x) => [x.id, x.tags.a, x.points.reduce((n, p) => n + p.sum, 0)])).toEqual([
      [-1, '1', 3],
      [-1, '2', 4],
    ]);
  });
});
