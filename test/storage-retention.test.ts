import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAIN_LOCK_TAG, Registry, createRegistry } from '../dist/src/engine/registry.js';
import { createStore } from '../dist/src/engine/store/layout.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';
import { RETENTION_EVERY_MS, StorageService } from '../dist/src/storage/service.js';
import { TRANSITIONS_KEPT } from '../dist/src/storage/transitions-kept.js';
import { restoreCatalog } from '../dist/src/storage/restore.js';
import { RollupTable } from '../dist/src/storage/rollups.js';
import { openDatabase } from '../dist/src/storage/driver.js';
import { readControlState, statementsOf } from '../dist/src/storage/control.js';
import { MIGRATIONS, openSchema } from '../dist/src/storage/schema.js';
import type { Baseline } from '../dist/src/reports/types.js';
import { synthetic, T0 as SYNTHETIC_T0 } from './synthetic.js';
import { PerformanceMonitor } from '../dist/src/index.js';
import { waitFor } from './helpers.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** The statement a monitor commits for the baseline of pod_rt{pod} (src/storage/control.ts). */
function putBaseline(pod: string, at: number) {
  const baseline = { seriesId: -1, metric: 'pod_rt', tags: { pod }, kind: 'distribution', unit: 'ms', window: { from: at - DAY, to: at }, count: 1, mean: 1 } as unknown as Baseline;
  return statementsOf({ op: 'put-baseline', key: `pod_rt[["pod","${pod}"]]`, baseline })[0]!;
}

/** A monitor on `dir` keeping a minute (the least retentionMs). */
function minuteMonitor(dir: string): PerformanceMonitor {
  return new PerformanceMonitor({ storage: 'sqlite', dataDir: dir, retentionMs: MINUTE, system: { enabled: false }, runtime: { enabled: false } });
}

/**
 * A monitor's run on `dir` that fires a rule and stops; then the file says its data reaches
 * `ahead` ms past that transition (its meta 'clock', stored-until.ts), so that the next
 * monitor's clock resumes there: as a process started that much later. Answers the transition.
 */
async function firedBefore(dir: string, ahead: number) {
  const a = minuteMonitor(dir);
  await a.start();
  await a.createAlertRule({ metric: 'queue_size', aggregation: 'max', window: 5, operator: '>', threshold: 10 });
  a.record('queue_size', 50);
  const [t] = await waitFor(() => a.getAlertHistory().length > 0 && a.getAlertHistory(), 15_000, 'a transition');
  await a.stop();
  const db = openDatabase(join(dir, 'perfwatch.db'));
  db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('clock', ?)").run([String(t!.at + ahead)]);
  db.close();
  return t!;
}

/** A storage service over an empty store, on a clock the test moves. */
function service(file: string, clock: () => number, retentionChunkRows?: number): StorageService {
  const registry = new Registry(createRegistry({ maxSeries: 16, maxTags: 4, maxTagValueLength: 16 }), MAIN_LOCK_TAG);
  const store = createStore({ maxSeries: 16, rawCapacity: 16, bucketCapacity: 120, rollupCapacity: 4, intervalMs: 1000, rollupMs: MINUTE, logBytes: 1 << 20, rollupLogBytes: 1 << 20, poolBytes: 1 << 20 });
  return new StorageService({ file, registry, reader: new StoreReader(store), retentionMs: 30 * DAY, clock, retentionChunkRows });
}

describe('storage retention', () => {
  it("does not restore the alert transitions past the retention, which its first pass deletes from the file", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pw-retention-')), 'data');
    // The next process starts 150 s after the transition, with a retention of 60 s.
    const t = await firedBefore(dir, 150_000);
    const b = minuteMonitor(dir);
    try {
      await b.start();
      // Restored before retention's first pass and never dropped: served for the process's
      // life. (The restored alert may resolve meanwhile: a transition of this process.)
      expect(b.getAlertHistory({ to: t.at })).toEqual([]);
      await b.flushStorage();
      expect(b.getAlertHistory({ to: t.at })).toEqual([]);
    } finally {
      await b.stop();
    }
  }, 40_000);

  it('drops the alert transitions it holds once a retention pass deletes them', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pw-retention-')), 'data');
    // 55 s old at the start: within the retention, restored.
    const t = await firedBefore(dir, 55_000);
    const b = minuteMonitor(dir);
    try {
      await b.start();
      expect(b.getAlertHistory({ to: t.at })).toEqual([t]);
      // Past the retention now; a new storage actor's first flush runs a retention pass.
      await new Promise((resolve) => setTimeout(resolve, 7_000));
      await b.injectFault('exit', 'storage');
      await waitFor(
        () => {
          const s = b.status().storage;
          return s.mode === 'sqlite' && s.actor.restarts > 0 && s.actor.state === 'running';
        },
        15_000,
        'the storage actor restarted',
      );
      expect(await b.flushStorage()).toBe(true);
      expect(b.status().storage).toMatchObject({ retainedBefore: expect.any(Number) });
      expect(b.getAlertHistory({ to: t.at })).toEqual([]);
    } finally {
      await b.stop();
    }
  }, 60_000);

  it('deletes rollups, alert transitions and audit entries older than the retention on its schedule and hands the space back', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pw-retention-')), 'perfwatch.db');
    const T0 = Date.UTC(2026, 0, 1);
    let now = T0;
    const s = service(file, () => now);
    // 40 days of one-minute rollups of one series, written through commit() as any module would.
    s.commit([{ sql: 'INSERT INTO series (name, tags, kind, unit) VALUES (?, ?, ?, ?)', params: ['old_rt', '{}', 'distribution', 'ms'] }]);
    const blob = new Uint8Array(200).fill(1);
    const minutes = 40 * 1440;
    const ops = Array.from({ length: minutes }, (_, i) => ({ sql: 'INSERT INTO rollups (series, start, count, sum, min, max, last, sketch) VALUES (1, ?, 1, 1, 1, 1, 1, ?)', params: [T0 + i * MINUTE, blob] }));
    s.commit(ops);
    // One alert transition and one audit entry a day; a rule, an alert state, a baseline and a
    // kept value, which are the current state and stay whatever their age.
    const body = new Uint8Array([0xc0]);
    s.commit(
      Array.from({ length: 40 }, (_, d) => [
        { sql: 'INSERT INTO alert_transition (seq, at, body) VALUES (?, ?, ?)', params: [d + 1, T0 + d * DAY + 1, body] },
        { sql: 'INSERT INTO optimization_log (seq, at, body) VALUES (?, ?, ?)', params: [d + 1, T0 + d * DAY + 2, body] },
      ]).flat(),
    );
    s.commit([
      { sql: 'INSERT INTO alert_rule (id, created_at, body) VALUES (?, ?, ?)', params: ['r1', T0, body] },
      { sql: 'INSERT INTO alert_state (fingerprint, rule_id, body) VALUES (?, ?, ?)', params: ['f1', 'r1', body] },
      { sql: 'INSERT INTO baseline (series_key, body) VALUES (?, ?)', params: ['old_rt[]', body] },
      { sql: 'INSERT INTO tunable_value (name, value, at) VALUES (?, ?, ?)', params: ['cache.size', 4, T0] },
    ]);
    const kept = (table: string): number => Number(s.query(`SELECT count(*) FROM ${table}`)[0]![0]);
    const oldest = (table: string): number => Number(s.query(`SELECT min(at) FROM ${table}`)[0]![0]);
    s.query('PRAGMA wal_checkpoint(TRUNCATE)');
    const fullBytes = statSync(file).size;
    // Rows are counted when retention runs (a scan: not at every status); nothing is old yet.
    expect(s.status().rows).toBeNull();
    expect(s.retain()).toBe(0);
    expect(s.status()).toMatchObject({ rows: minutes, oldestData: T0 });

    // Day 40: the first flush runs retention; 30 days are kept.
    now = T0 + 40 * DAY;
    expect(s.flush()).toBe(true);
    expect(s.status()).toMatchObject({ rows: 30 * 1440, oldestData: T0 + 10 * DAY });
    // Transitions and audit entries of days 0-9 went with the rollups; the current state stayed.
    expect([kept('alert_transition'), oldest('alert_transition'), kept('optimization_log'), oldest('optimization_log')]).toEqual([30, T0 + 10 * DAY + 1, 30, T0 + 10 * DAY + 2]);
    expect(['alert_rule', 'alert_state', 'baseline', 'tunable_value'].map(kept)).toEqual([1, 1, 1, 1]);
    expect(s.query('PRAGMA freelist_count')).toEqual([[0]]);
    s.query('PRAGMA wal_checkpoint(TRUNCATE)');
    const keptBytes = statSync(file).size;
    expect(keptBytes).toBeLessThan(fullBytes * 0.8);

    // Not again before its schedule, then again on it.
    now += RETENTION_EVERY_MS - MINUTE;
    s.flush();
    expect(s.status().rows).toBe(30 * 1440);
    now += MINUTE;
    s.flush();
    expect(s.status()).toMatchObject({ rows: 30 * 1440 - RETENTION_EVERY_MS / MINUTE, oldestData: now - 30 * DAY });
    // Day 10's entries (at 00:00:00.001 and .002) are now older than 30 days too.
    expect([kept('alert_transition'), kept('optimization_log')]).toEqual([29, 29]);
    now = T0 + 42 * DAY;
    s.flush();
    expect([kept('alert_transition'), kept('optimization_log'), ...['alert_rule', 'alert_state', 'baseline', 'tunable_value'].map(kept)]).toEqual([28, 28, 1, 1, 1, 1]);
    s.close();
  });

  it('deletes a long backlog a chunk a turn, answering reads between chunks', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pw-retention-')), 'perfwatch.db');
    const T0 = Date.UTC(2026, 0, 1);
    let now = T0;
    const s = service(file, () => now, 1_000);
    s.commit([{ sql: 'INSERT INTO series (name, tags, kind, unit) VALUES (?, ?, ?, ?)', params: ['old_rt', '{}', 'gauge', ''] }]);
    const minutes = 35 * 1440;
    s.commit(Array.from({ length: minutes }, (_, i) => ({ sql: 'INSERT INTO rollups (series, start, count, sum, min, max, last, sketch) VALUES (1, ?, 1, 1, 1, 1, 1, NULL)', params: [T0 + i * MINUTE] })));
    const rows = (): number => Number(s.query('SELECT count(*) FROM rollups')[0]![0]);
    // Day 35: 5 days (7,200 rows) expired. The flush deletes one chunk; the rest follows on
    // later turns, and a read between two chunks is answered from what is left.
    now = T0 + 35 * DAY;
    expect(s.flush()).toBe(true);
    expect(rows()).toBe(minutes - 1_000);
    await new Promise(setImmediate);
    expect(rows()).toBe(minutes - 2_000);
    for (let turn = 0; turn < 20 && rows() > 30 * 1440; turn++) await new Promise(setImmediate);
    expect(rows()).toBe(30 * 1440);
    expect(s.status()).toMatchObject({ rows: 30 * 1440, oldestData: T0 + 5 * DAY });
    s.close();
  });

  it('keeps at most the newest alert transitions (a flapping rule), whatever their age, trimmed at each flush', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pw-flaps-')), 'perfwatch.db');
    const T0 = Date.UTC(2026, 0, 1);
    const registry = new Registry(createRegistry({ maxSeries: 16, maxTags: 4, maxTagValueLength: 16 }), MAIN_LOCK_TAG);
    const store = createStore({ maxSeries: 16, rawCapacity: 16, bucketCapacity: 120, rollupCapacity: 4, intervalMs: 1000, rollupMs: MINUTE, logBytes: 1 << 20, rollupLogBytes: 1 << 20, poolBytes: 1 << 20 });
    // A bound of 100 (the real one is TRANSITIONS_KEPT).
    const s = new StorageService({ file, registry, reader: new StoreReader(store), retentionMs: 30 * DAY, clock: () => T0, transitionsKept: 100 });
    const body = new Uint8Array([0xc0]);
    const seqs = () => s.query('SELECT min(seq), max(seq), count(*) FROM alert_transition')[0]!.map(Number);
    // 250 flaps of this minute, in batches of 50 as the coordinator commits them, a flush after each.
    for (let b = 0; b < 5; b++) {
      s.commit(Array.from({ length: 50 }, (_, i) => ({ sql: 'INSERT INTO alert_transition (seq, at, body) VALUES (?, ?, ?)', params: [b * 50 + i + 1, T0 + b * 50 + i, body] })));
      expect(s.flush()).toBe(true);
    }
    expect(seqs()).toEqual([151, 250, 100]);
    expect(TRANSITIONS_KEPT).toBe(100_000);
  });

  it("forgets the catalog's series whose rows have all expired, so that a service's old series do not take the places of its new ones at the next start", async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pw-retention-')), 'perfwatch.db');
    const T0 = Date.UTC(2026, 0, 1);
    let now = T0;
    const registry = new Registry(createRegistry({ maxSeries: 16, maxTags: 4, maxTagValueLength: 16 }), MAIN_LOCK_TAG);
    const store = createStore({ maxSeries: 16, rawCapacity: 16, bucketCapacity: 120, rollupCapacity: 4, intervalMs: 1000, rollupMs: MINUTE, logBytes: 1 << 20, rollupLogBytes: 1 << 20, poolBytes: 1 << 20 });
    // 8 a transaction (FORGET_CHUNK_SERIES), the rest on later turns.
    const s = new StorageService({ file, registry, reader: new StoreReader(store), retentionMs: 30 * DAY, clock: () => now, forgetChunkSeries: 8 });
    // A service whose pods are tags: 20 series of the pods of 40 days ago, 2 of yesterday's.
    const pods = [...Array.from({ length: 20 }, (_, i) => `old-${i}`), 'new-0', 'new-1'];
    s.commit(pods.map((pod) => ({ sql: 'INSERT INTO series (name, tags, kind, unit) VALUES (?, ?, ?, ?)', params: ['pod_rt', JSON.stringify({ pod }), 'distribution', 'ms'] })));
    s.commit(pods.map((pod, i) => ({ sql: 'INSERT INTO rollups (series, start, count, sum, min, max, last, sketch) VALUES (?, ?, 1, 1, 1, 1, 1, NULL)', params: [i + 1, pod.startsWith('old') ? T0 : T0 + 39 * DAY] })));
    now = T0 + 40 * DAY;
    const series = (): number => Number(s.query('SELECT count(*) FROM series')[0]![0]);
    expect(s.flush()).toBe(true);
    expect(series()).toBe(22 - 8);
    for (let turn = 0; turn < 20 && series() > 2; turn++) await new Promise(setImmediate);
    expect(series()).toBe(2);
    s.close();
    // The next start registers the catalog within maxSeries 16: the old pods' series are gone
    // with their rows, and yesterday's are registered (before, the 20 old ones took the 16
    // places, and the new ones were refused).
    const db = openDatabase(file);
    const catalog = new RollupTable(db).catalog();
    db.close();
    expect(catalog.map((e) => e.tags.pod)).toEqual(['new-0', 'new-1']);
    const next = new Registry(createRegistry({ maxSeries: 16, maxTags: 4, maxTagValueLength: 16 }), MAIN_LOCK_TAG);
    expect(restoreCatalog(next, catalog)).toEqual({ total: 2, registered: 2, ids: next.find('pod_rt'), headroom: 2, leftOut: 0, failed: 0, reasons: [] });
  });

  it('forgets the baselines of the series it forgets, so that they are not kept and restored at every start for good', async () => {
    // The baseline table had no retention: every series a service ever baselined (a pod, a
    // user id in a tag) kept its row, and each start read them all into the report service.
    const file = join(mkdtempSync(join(tmpdir(), 'pw-retention-')), 'perfwatch.db');
    const T0 = Date.UTC(2026, 0, 1);
    let now = T0;
    const s = service(file, () => now);
    const pods = [...Array.from({ length: 12 }, (_, i) => `old-${i}`), 'new-0', 'new-1'];
    s.commit(pods.map((pod) => ({ sql: 'INSERT INTO series (name, tags, kind, unit) VALUES (?, ?, ?, ?)', params: ['pod_rt', JSON.stringify({ pod }), 'distribution', 'ms'] })));
    s.commit(pods.map((pod, i) => ({ sql: 'INSERT INTO rollups (series, start, count, sum, min, max, last, sketch) VALUES (?, ?, 1, 1, 1, 1, 1, NULL)', params: [i + 1, pod.startsWith('old') ? T0 : T0 + 39 * DAY] })));
    s.commit(pods.map((pod) => putBaseline(pod, pod.startsWith('old') ? T0 + MINUTE : T0 + 39 * DAY)));
    now = T0 + 40 * DAY;
    expect(s.flush()).toBe(true);
    const series = (): number => Number(s.query('SELECT count(*) FROM series')[0]![0]);
    for (let turn = 0; turn < 20 && series() > 2; turn++) await new Promise(setImmediate);
    expect(series()).toBe(2);
    // What the next start restores: the baselines of the two series kept, no other.
    const state = await readControlState(async (sql, params) => s.query(sql, params), { history: 10, audit: 10 });
    expect(state.baselines.map((b) => b.tags.pod)).toEqual(['new-0', 'new-1']);
    s.close();
  });

  it('forgets, as it opens a file of an earlier schema, the baselines of the series retention forgot before, and keeps the others', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pw-retention-')), 'perfwatch.db');
    const old = openSchema(file, MIGRATIONS.slice(0, MIGRATIONS.findIndex((m) => m.name === "baselines' series")));
    old.exec(`INSERT INTO series (name, tags, kind, unit) VALUES ('pod_rt', '{"pod":"live"}', 'distribution', 'ms')`);
    const insert = old.prepare('INSERT INTO baseline (series_key, body) VALUES (?, ?)');
    for (const pod of ['gone-0', 'live', 'gone-1']) insert.run(putBaseline(pod, Date.UTC(2026, 0, 1)).params.slice(0, 2));
    old.close();
    const db = openSchema(file);
    expect(db.prepare('SELECT series_key, name, tags FROM baseline').all()).toEqual([['pod_rt[["pod","live"]]', 'pod_rt', '{"pod":"live"}']]);
    db.close();
  });

  it('says in status().rows the minute rows on disk after every flush, not only what its last retention pass counted', () => {
    // rows was the count of the last pass: 0 after one that found all expired, while the
    // flushes since wrote rows (a trial: rows 0, 41 rows stored).
    const syn = synthetic({ rollupCapacity: 4, bucketCapacity: 120 });
    const a = syn.id('rows_rt', {}, 'gauge');
    const b = syn.id('rows_b_rt', {}, 'gauge');
    const file = join(mkdtempSync(join(tmpdir(), 'pw-retention-')), 'perfwatch.db');
    let now = SYNTHETIC_T0 + 3;
    const s = new StorageService({ file, registry: syn.registry, reader: syn.reader, retentionMs: 30 * DAY, clock: () => now });
    const onDisk = (): number => Number(s.query('SELECT count(*) FROM rollups')[0]![0]);
    for (let t = 5_000; t <= 8 * MINUTE; t += 20_000) {
      now = SYNTHETIC_T0 + t;
      syn.apply(now, [[a, t], [b, 1]]);
      expect(s.flush()).toBe(true);
      expect(s.status().rows).toBe(onDisk());
    }
    expect(onDisk()).toBeGreaterThanOrEqual(14);
    s.close();
  });

  it('keeps in the catalog a series this process writes to, whose rows have all expired, and its new rows read as its own', () => {
    const syn = synthetic({ rollupCapacity: 4, bucketCapacity: 120 });
    const quiet = syn.id('quiet_rt', {}, 'gauge');
    const file = join(mkdtempSync(join(tmpdir(), 'pw-retention-')), 'perfwatch.db');
    let now = SYNTHETIC_T0 + 3;
    const s = new StorageService({ file, registry: syn.registry, reader: syn.reader, retentionMs: 2 * MINUTE, clock: () => now });
    syn.apply(now, [[quiet, 1]]);
    expect(s.flush()).toBe(true);
    // Quiet for two hours: its rows expire at the retention's next pass, the series stays.
    for (let t = 5_000; t <= 2 * RETENTION_EVERY_MS; t += 30_000) {
      now = SYNTHETIC_T0 + t;
      syn.apply(now, []);
      expect(s.flush()).toBe(true);
    }
    expect(s.query('SELECT count(*) FROM rollups')).toEqual([[0]]);
    expect(s.query('SELECT name FROM series')).toEqual([['quiet_rt']]);
    syn.apply(now, [[quiet, 7]]);
    expect(s.flush(true)).toBe(true);
    expect(Array.from(s.history('quiet_rt', {}, now - MINUTE, now + MINUTE)!.last)).toEqual([7]);
    s.close();
  });
});
