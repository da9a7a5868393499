import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { MAX_RELATIVE_ERROR, SketchAccumulator } from '../dist/src/engine/sketch.js';
import type { Db } from '../dist/src/storage/driver.js';
import { HOUR_MS } from '../dist/src/storage/hourly.js';
import { RollupTable, type StoredRollups } from '../dist/src/storage/rollups.js';
import { openSchema } from '../dist/src/storage/schema.js';
import { encodeSketch } from '../dist/src/storage/sketch-codec.js';

const MINUTE = 60_000;
/**
 * Made by version 2's build (main's, SCHEMA_VERSION 2, before the hourly tier): one distribution series,
 * `fixture_rt`, 600 one-minute rows from 2026-06-01T00:00Z, 12 samples each, with sketches.
 */
const V2_FIXTURE = new URL('./fixtures/storage-v2.db', import.meta.url);

/** Integer samples (so that sums are exact in any order), log-normal-ish, deterministic. */
function samplesOf(minute: number): number[] {
  let x = (minute * 2654435761) >>> 0;
  const out: number[] = [];
  for (let i = 0; i < 12; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out.push(1 + Math.round(Math.exp((x / 2 ** 32) * 6)));
  }
  return out;
}

const acc = new SketchAccumulator();
const run = new Int32Array(1 << 16);

function minuteRow(start: number): { start: number; count: number; sum: number; min: number; max: number; last: number; sketch: Uint8Array | null } {
  const v = samplesOf(start / MINUTE);
  acc.reset();
  for (const x of v) acc.add(x);
  acc.encodeInto(run, 0);
  return { start, count: v.length, sum: v.reduce((a, b) => a + b, 0), min: Math.min(...v), max: Math.max(...v), last: v[v.length - 1]!, sketch: encodeSketch(run, 0) };
}

/**
 * `minutes` one-minute rows of `name` from `t0`, written as the storage actor writes them:
 * a flush every 10 minutes of synthetic time, each building the hours closed by then.
 */
function seed(db: Db, name: string, t0: number, minutes: number): RollupTable {
  const table = new RollupTable(db);
  const id = db.transaction(() => table.seriesId({ name, tags: {}, kind: 'distribution', unit: '', own: false }));
  for (let m = 0; m < minutes; m += 10) {
    const now = t0 + (m + 10) * MINUTE + 5_000;
    db.transaction(() => {
      for (let k = m; k < Math.min(m + 10, minutes); k++) table.write(id, minuteRow(t0 + k * MINUTE), now);
      table.hourly.build(now);
    });
  }
  return table;
}

function summary(r: StoredRollups): { count: number; sum: number; min: number; max: number; quantiles: number[] } {
  const a = new SketchAccumulator();
  for (let i = 0; i < r.start.length; i++) if (r.sketchAt[i]! >= 0) a.addEncoded(r.sketches, r.sketchAt[i]!);
  return { count: r.count.reduce((x, y) => x + y, 0), sum: r.sum.reduce((x, y) => x + y, 0), min: Math.min(...r.min), max: Math.max(...r.max), quantiles: a.quantiles([0.5, 0.9, 0.99]) };
}

function exact(t0: number, from: number, to: number, q: number): number {
  const v: number[] = [];
  for (let t = Math.ceil((from - t0) / MINUTE) * MINUTE + t0; t < to; t += MINUTE) v.push(...samplesOf(t / MINUTE));
  v.sort((a, b) => a - b);
  // The nearest rank, ceil(q n) - 1, the rule the sketch answers by: floor(q n)'s value is
  // its neighbour at an even count, and can be several per cent away.
  return v[Math.max(0, Math.ceil(q * v.length) - 1)]!;
}

function tmpFile(): string {
  return join(mkdtempSync(join(tmpdir(), 'pw-hourly-')), 'perfwatch.db');
}

const T0 = Date.UTC(2026, 5, 1, 0, 0, 0);

describe('the hourly tier on disk', () => {
  it('answers a long range with the same counts, sums and sketches as the minute rows', () => {
    const db = openSchema(tmpFile());
    const table = seed(db, 'rt', T0, 3 * 1440);
    // Ragged ends: hours whole in the range from the hourly tier, the rest from minutes.
    const from = T0 + 17 * MINUTE + 30_000;
    const to = T0 + 3 * 1440 * MINUTE - 43 * MINUTE;
    const hourly = table.read('rt', {}, from, to, true)!;
    const minutes = table.read('rt', {}, from, to, false)!;
    expect(minutes.start.length).toBe(4320 - 18 - 43);
    // 42 ragged minutes at the start, 70 whole hours, 17 ragged minutes at the end.
    expect(hourly.start.length).toBe(42 + 70 + 17);
    expect(hourly.hourly.reduce((a, b) => a + b, 0)).toBe(70);
    expect([...hourly.start]).toEqual([...hourly.start].sort((a, b) => a - b));
    const h = summary(hourly);
    expect(h).toEqual(summary(minutes));
    for (const [i, q] of [0.5, 0.9, 0.99].entries()) {
      const truth = exact(T0, from, to, q);
      expect(Math.abs(h.quantiles[i]! - truth) / truth).toBeLessThanOrEqual(MAX_RELATIVE_ERROR + 1e-9);
    }
    // Each hourly row is its hour's minutes merged.
    for (let i = 0; i < hourly.start.length; i++) {
      if (hourly.hourly[i] !== 1) continue;
      const m = table.read('rt', {}, hourly.start[i]!, hourly.start[i]! + HOUR_MS, false)!;
      expect([hourly.count[i], hourly.sum[i], hourly.min[i], hourly.max[i], hourly.last[i]]).toEqual([summary(m).count, summary(m).sum, summary(m).min, summary(m).max, m.last[m.last.length - 1]]);
    }
    db.close();
  });

  it('drops an hour rewritten after it closed until it is built again, so no read sees it stale', () => {
    const db = openSchema(tmpFile());
    const table = seed(db, 'rt', T0, 180);
    const id = db.transaction(() => table.seriesId({ name: 'rt', tags: {}, kind: 'distribution', unit: '', own: false }));
    const now = T0 + 200 * MINUTE;
    // In the middle hour: the read fills the hole between two hourly rows from its minutes.
    const late = { ...minuteRow(T0 + 90 * MINUTE), count: 100, sum: 100 };
    db.transaction(() => table.write(id, late, now));
    // status() shows the hour waiting to be built again.
    expect(table.hourly.backlog().hours).toBe(1);
    const before = table.read('rt', {}, T0, T0 + 3 * HOUR_MS, false)!;
    expect(summary(table.read('rt', {}, T0, T0 + 3 * HOUR_MS, true)!).count).toBe(summary(before).count);
    db.transaction(() => table.hourly.build(now));
    expect(table.hourly.backlog()).toEqual({ hours: 0, series: 0 });
    const after = table.read('rt', {}, T0, T0 + 3 * HOUR_MS, true)!;
    expect(after.hourly.reduce((a, b) => a + b, 0)).toBe(3);
    expect(summary(after)).toEqual(summary(before));
    db.close();
  });

  it('builds the hours of a file from before the tier (version 2) in bounded batches, exact all along', () => {
    const file = tmpFile();
    copyFileSync(V2_FIXTURE, file);
    const db = openSchema(file);
    const table = new RollupTable(db);
    const minutes = table.read('fixture_rt', {}, -Infinity, Infinity)!;
    expect(minutes.start.length).toBe(600);
    expect(table.read('fixture_rt', {}, -Infinity, Infinity, true)!.hourly.reduce((a, b) => a + b, 0)).toBe(0);
    const now = minutes.start[599]! + 2 * HOUR_MS;
    expect(table.hourly.backlog()).toEqual({ hours: 0, series: null });
    for (const [built, behind] of [[4, 1], [4, 1], [2, 0], [0, 0]] as const) {
      expect(db.transaction(() => table.hourly.build(now, 4))).toBe(built);
      // status() shows the series still catching up.
      expect(table.hourly.backlog().series).toBe(behind);
      expect(summary(table.read('fixture_rt', {}, -Infinity, Infinity, true)!)).toEqual(summary(minutes));
    }
    expect(table.read('fixture_rt', {}, -Infinity, Infinity, true)!.start.length).toBe(10);
    db.close();
  });
});

describe('getMetricHistory over the hourly tier', () => {
  const monitors: PerformanceMonitor[] = [];
  afterEach(async () => {
    await Promise.all(monitors.splice(0).map((m) => m.stop()));
  });

  it('reads a long stored range from the hourly tier, equal to the minute rows, joined to the memory without a seam', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'pw-hourly-')), 'data');
    mkdirSync(dir);
    const t0 = Math.floor((Date.now() - 3 * 86_400_000) / HOUR_MS) * HOUR_MS;
    const minutes = Math.floor((Date.now() - 10 * MINUTE - t0) / MINUTE);
    const db = openSchema(join(dir, 'perfwatch.db'));
    seed(db, 'old_rt', t0, minutes);
    db.close();
    const m = new PerformanceMonitor({ storage: 'sqlite', dataDir: dir, system: { enabled: false }, runtime: { enabled: false } });
    monitors.push(m);
    await m.start();
    m.metric('old_rt').record(7);
    await m.flush();
    const from = t0 + 5 * MINUTE;
    const auto = (await m.getMetricHistory({ metric: 'old_rt', from })).series[0]!;
    const fine = (await m.getMetricHistory({ metric: 'old_rt', from, resolution: 'rollup' })).series[0]!;
    // The tier chosen by the range: hours, not 4,000 minutes.
    expect(auto.stepMs).toBe(HOUR_MS);
    expect(auto.sourcePoints).toBeLessThan(3 * 24 + 2 * 60);
    expect(fine.sourcePoints).toBeGreaterThan(minutes - 10);
    const totals = (s: typeof auto): number[] => [s.points.reduce((a, p) => a + p.count, 0), s.points.reduce((a, p) => a + p.sum, 0)];
    expect(totals(auto)).toEqual(totals(fine));
    let count = 0;
    let sum = 0;
    for (let t = from; t < t0 + minutes * MINUTE; t += MINUTE) for (const v of samplesOf(t / MINUTE)) (count++, (sum += v));
    expect(totals(auto)).toEqual([count + 1, sum + 7]);
    // An hour's quantiles within the sketch's bound of the samples'.
    const hour = auto.points.find((p) => p.t === t0 + 5 * HOUR_MS)!;
    for (const [q, got] of [[0.5, hour.p50], [0.99, hour.p99]] as const) {
      const truth = exact(t0, hour.t, hour.t + HOUR_MS, q);
      expect(Math.abs(got! - truth) / truth).toBeLessThanOrEqual(MAX_RELATIVE_ERROR + 1e-9);
    }
  });
});
