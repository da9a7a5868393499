/**
 * What storage costs: `npm run bench:storage`.
 *
 * 1. Rollup writes for 10,000 distribution series: the collector's engine is driven on a
 *    synthetic clock (4 samples per series per second, log-normal values), and Persisters
 *    (what the storage actor runs) write the store to disk as the actor would, every 5 s, and
 *    for comparison once a minute; each through libsql and, side by side, better-sqlite3 12
 *    (installed on demand outside the repository: it compiles for minutes here). Every 5 s,
 *    the open minutes go to the journal (src/storage/journal.ts); the peer in the same run,
 *    "rows every 5 s", writes them as rows at each flush, as the first version did. The figure
 *    is this thread's CPU in the flushes (threadCpuMs) per minute of data, as % of one core.
 * 2. The table layout: a day of rollups of 100 series with 1 KB and with realistic sketches,
 *    in a rowid table and a WITHOUT ROWID one: file sizes.
 * 3. A 30-day history of one series through a started monitor (getMetricHistory: the storage
 *    actor's read, decoding, merging), from the hourly tier and, its peer, from the minute
 *    rows; and that monitor's start().
 * 4. start() over 30 days × 1,000 series stored (43.2M rows of gauges; the files of 3 and 4
 *    are generated once, in SQL, into ~/.cache/perfwatch-bench, and reused).
 * Times are medians of BENCH_ROUNDS (3) runs; the file size per series per day comes from 1.
 * BENCH_PARTS (writes,layouts,history) and BENCH_HISTORY_SERIES (1,1000) choose what runs.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, existsSync, renameSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PerformanceMonitor } from '../src/index.js';
import { SketchAccumulator } from '../src/engine/sketch.js';
import { threadCpuMs } from '../src/engine/thread-cpu.js';
import type { StoreConfig } from '../src/engine/store/layout.js';
import { openDatabase, type Db, type NativeDriver } from '../src/storage/driver.js';
import { Persister } from '../src/storage/persister.js';
import { RollupTable } from '../src/storage/rollups.js';
import { SCHEMA_VERSION, migrate, openSchema } from '../src/storage/schema.js';
import { encodeSketch } from '../src/storage/sketch-codec.js';
import { drivenEngine } from './driven-engine.js';
import { values } from './values.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SERIES = 10_000;
const PER_SECOND = 4;
const MINUTES = Number(process.env.BENCH_MINUTES ?? 3);
const MiB = 1024 * 1024;
const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;
const DAY = 86_400_000;
const CACHE = join(homedir(), '.cache', 'perfwatch-bench');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number, d = 1): string => x.toFixed(d);
/** This thread's CPU time (the flushes run on it): the machine's other load does not count. */
const cpuMs = threadCpuMs;

/** better-sqlite3 12 from the bench cache, installed there on first use (never a dependency of the package). */
function betterSqlite(): NativeDriver | undefined {
  if (process.env.BENCH_BETTER === '0') return undefined;
  const req = createRequire(join(CACHE, 'package.json'));
  try {
    return req('better-sqlite3') as NativeDriver;
  } catch {
    process.stdout.write(`installing better-sqlite3@12 into ${CACHE} (it compiles from source: minutes)…\n`);
    mkdirSync(CACHE, { recursive: true });
    try {
      execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', CACHE, 'better-sqlite3@12'], { stdio: 'inherit' });
      return req('better-sqlite3') as NativeDriver;
    } catch (error) {
      process.stdout.write(`better-sqlite3 unavailable (${(error as Error).message.split('\n')[0]}): its rows are left out\n`);
      return undefined;
    }
  }
}

/** better-sqlite3 behind the same interface and pragmas as libsql, with the same schema. */
function betterDb(Better: NativeDriver, file: string): Db {
  const db = openDatabase(file, Better);
  migrate(db, file);
  return db;
}

function storeConfig(series: number): StoreConfig {
  return { maxSeries: series + 128, rawCapacity: 256, bucketCapacity: 300, rollupCapacity: 360, intervalMs: 1000, rollupMs: MINUTE, logBytes: 64 * MiB, rollupLogBytes: 64 * MiB, poolBytes: 64 * MiB };
}

function fileBytes(file: string): number {
  return [file, `${file}-wal`].reduce((a, f) => a + (existsSync(f) ? statSync(f).size : 0), 0);
}

interface Writer {
  name: string;
  everyMs: number;
  db: Db;
  persister: Persister;
  cpu: number;
  rows: number;
  /** Writes the open minutes as rows at each flush (the pre-journal way). */
  asRows: boolean;
}

function writes(dir: string): void {
  const Better = betterSqlite();
  const rig = drivenEngine(storeConfig(SERIES), T0);
  const ids = Array.from({ length: SERIES }, (_, i) => rig.registry.seriesId('bench_rt', { s: `s${i}` }));
  const writers: Writer[] = [];
  const add = (name: string, everyMs: number, db: Db, rows = false): void => {
    writers.push({ name, everyMs, db, persister: new Persister(rig.registry, rig.reader, new RollupTable(db)), cpu: 0, rows: 0, asRows: rows });
  };
  add('libsql, every 5 s (journal)', 5000, openSchema(join(dir, 'libsql-5s.db')));
  if (process.env.BENCH_ONLY_JOURNAL !== '1') {
    add('libsql, rows every 5 s (the peer)', 5000, openSchema(join(dir, 'libsql-5s-rows.db')), true);
    add('libsql, once a minute', MINUTE, openSchema(join(dir, 'libsql-60s.db')));
  }
  if (Better) {
    add('better-sqlite3 12, every 5 s', 5000, betterDb(Better, join(dir, 'better-5s.db')));
    add('better-sqlite3 12, once a minute', MINUTE, betterDb(Better, join(dir, 'better-60s.db')));
  }
  let v = 0;
  // One minute of warm-up (the first flush writes the catalog), then MINUTES measured.
  for (let s = 1; s <= (MINUTES + 1) * 60; s++) {
    for (let k = 0; k < PER_SECOND; k++) for (const id of ids) rig.producer.push(id, values[v++ & 4095]!);
    rig.drain(T0 + s * 1000 + 5);
    const measured = s > 60;
    for (const w of writers) {
      if ((s * 1000) % w.everyMs !== 0) continue;
      const c0 = cpuMs();
      const { rows } = w.persister.flush(T0 + s * 1000 + 5, w.asRows);
      if (measured) {
        w.cpu += cpuMs() - c0;
        w.rows += rows;
      }
    }
  }
  process.stdout.write(`\nRollup writes: ${SERIES.toLocaleString()} distribution series, ${PER_SECOND} samples each per second, ${MINUTES} minutes measured\n`);
  process.stdout.write('| writer | CPU ms per minute | % of one core | rows (journal records) per minute | bytes per series per day |\n|---|---:|---:|---:|---:|\n');
  const base = writers[0]!.cpu;
  for (const w of writers) {
    w.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    const perDay = (fileBytes(w.db.file) / SERIES / (MINUTES + 1)) * 1440;
    process.stdout.write(`| ${w.name} | ${fmt(w.cpu / MINUTES)} | ${fmt((w.cpu / MINUTES / MINUTE) * 100, 2)} | ${fmt(w.rows / MINUTES, 0)} | ${fmt(perDay, 0)} |\n`);
    w.db.close();
  }
  process.stdout.write(`journal / rows every 5 s, CPU: ${fmt(base / writers[1]!.cpu, 2)}\n`);
  if (writers.length > 3) process.stdout.write(`better-sqlite3 / libsql CPU (every 5 s): ${fmt(writers[3]!.cpu / base, 2)}\n`);
}

/** A realistic stored sketch: a minute of 240 log-normal samples. */
function realisticSketch(): Uint8Array {
  const acc = new SketchAccumulator();
  for (let i = 0; i < 240; i++) acc.add(values[i]!);
  const run = new Int32Array(acc.encodedLengthBound());
  acc.encodeInto(run, 0);
  return encodeSketch(run, 0)!;
}

function layouts(dir: string): void {
  const sketch = realisticSketch();
  const kilobyte = new Uint8Array(1024).map((_, i) => i & 0x7f);
  process.stdout.write(`\nTable layout: one day of rollups of 100 series (144,000 rows)\n| sketch | rowid table | WITHOUT ROWID | ratio |\n|---|---:|---:|---:|\n`);
  for (const [label, blob] of [[`realistic (${sketch.length} B)`, sketch], ['1 KB', kilobyte]] as const) {
    const size: number[] = [];
    for (const without of [false, true]) {
      const file = join(dir, `layout-${without}-${blob.length}.db`);
      const db = openDatabase(file);
      db.exec(`CREATE TABLE rollups (series INTEGER NOT NULL, start INTEGER NOT NULL, count REAL, sum REAL, min REAL, max REAL, last REAL, sketch BLOB, PRIMARY KEY (series, start))${without ? ' WITHOUT ROWID' : ''}`);
      const put = db.prepare('INSERT INTO rollups VALUES (?, ?, 1, 1, 1, 1, 1, ?)');
      // In the order a flush writes: every series' minute, minute after minute.
      db.transaction(() => {
        for (let m = 0; m < 1440; m++) for (let s = 0; s < 100; s++) put.run([s, T0 + m * MINUTE, blob]);
      });
      db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
      size.push(fileBytes(file));
      db.close();
    }
    process.stdout.write(`| ${label} | ${fmt(size[0]! / MiB)} MiB | ${fmt(size[1]! / MiB)} MiB | ${fmt(size[1]! / size[0]!, 2)} |\n`);
  }
}

/** A dataDir holding `series` series of `days` days of one-minute rollups, written in SQL. */
function generate(dir: string, series: number, days: number): void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'perfwatch.db');
  const db = openSchema(`${file}.part`);
  const minutes = days * 1440;
  db.exec('PRAGMA cache_size = -262144');
  db.exec('DROP INDEX rollups_by_start');
  db.transaction(() => {
    const ins = db.prepare('INSERT INTO series (name, tags, kind, unit) VALUES (?, ?, ?, ?)');
    // One series: a distribution with realistic sketches (the history query decodes them).
    // Many: gauges without sketches, a file of a few GB instead of tens (start() reads the
    // catalog, not the rows; a sketch's size is measured in part 1).
    const kind = series === 1 ? 'distribution' : 'gauge';
    for (let s = 0; s < series; s++) ins.run(['bench_rt', JSON.stringify({ s: `s${s}` }), kind, 'ms']);
    db.prepare(
      `INSERT INTO rollups (series, start, count, sum, min, max, last, sketch)
       WITH RECURSIVE m(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM m WHERE x < ?)
       SELECT s.id, ? + m.x * 60000, 240, 4800 + (m.x % 97), 2, 180, 20, ? FROM series s, m ORDER BY s.id, m.x`,
    ).run([minutes - 1, Date.now() - days * DAY, series === 1 ? realisticSketch() : null]);
  });
  db.exec('CREATE INDEX rollups_by_start ON rollups (start)');
  // The hourly tier, as the storage actor builds it as hours close (all of them at once here).
  const t = performance.now();
  const hours = db.transaction(() => new RollupTable(db).hourly.build(Date.now(), Infinity));
  process.stdout.write(`built ${hours.toLocaleString()} hourly rows in ${fmt((performance.now() - t) / 1000)} s\n`);
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  db.close();
  for (const f of [`${file}.part-wal`, `${file}.part-shm`]) rmSync(f, { force: true });
  renameSync(`${file}.part`, file);
}

async function startAndQuery(dir: string, series: number): Promise<{ memoryStartMs: number; startMs: number; queryMs: number; queryCpuMs: number; minuteMs: number; warmMs: number; points: number; count: number; minuteCount: number }> {
  // The peer: the same monitor without storage (its threads alone).
  const tm = performance.now();
  const memory = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  await memory.start();
  const memoryStartMs = performance.now() - tm;
  await memory.stop();
  const t0 = performance.now();
  const m = new PerformanceMonitor({ storage: 'sqlite', dataDir: dir, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  await m.start();
  const startMs = performance.now() - t0;
  const query = { metric: 'bench_rt', tags: { s: `s${series - 1}` }, from: Date.now() - 30 * DAY };
  const t1 = performance.now();
  const c1 = threadCpuMs();
  const h = await m.getMetricHistory(query);
  const queryMs = performance.now() - t1;
  const queryCpuMs = threadCpuMs() - c1;
  const t3 = performance.now();
  await m.getMetricHistory(query);
  const warmMs = performance.now() - t3;
  // The peer: the same range from the minute rows (resolution 'rollup' asks for them).
  const t2 = performance.now();
  const hm = await m.getMetricHistory({ ...query, resolution: 'rollup' });
  const minuteMs = performance.now() - t2;
  const points = h.series[0]?.points.length ?? 0;
  const count = h.series[0]?.points.reduce((a, p) => a + p.count, 0) ?? 0;
  const minuteCount = hm.series[0]?.points.reduce((a, p) => a + p.count, 0) ?? 0;
  await m.stop();
  return { memoryStartMs, startMs, queryMs, queryCpuMs, minuteMs, warmMs, points, count, minuteCount };
}

async function history(): Promise<void> {
  for (const series of (process.env.BENCH_HISTORY_SERIES ?? '1,1000').split(',').map(Number)) {
    // Named by schema version: a file of another version is not this build's (nor is this build's another's).
    const dir = join(CACHE, `stored-30d-${series}-v${SCHEMA_VERSION}`);
    if (!existsSync(join(dir, 'perfwatch.db'))) {
      process.stdout.write(`generating 30 days × ${series.toLocaleString()} series into ${dir} (once)…\n`);
      generate(dir, series, 30);
    }
    const runs: Awaited<ReturnType<typeof startAndQuery>>[] = [];
    for (let r = 0; r < ROUNDS; r++) runs.push(await startAndQuery(dir, series));
    const file = join(dir, 'perfwatch.db');
    process.stdout.write(
      `\n30 days × ${series.toLocaleString()} series stored (${fmt(statSync(file).size / MiB, 0)} MiB): start() ${runs.map((x) => fmt(x.startMs, 0)).join(', ')} ms (median ${fmt(median(runs.map((x) => x.startMs)), 0)}; storage 'memory' in the same runs: ${runs.map((x) => fmt(x.memoryStartMs, 0)).join(', ')} ms); ` +
        `one series' 30-day getMetricHistory ${runs.map((x) => fmt(x.queryMs, 1)).join(', ')} ms (median ${fmt(median(runs.map((x) => x.queryMs)), 1)}; the host thread's CPU in it ${runs.map((x) => fmt(x.queryCpuMs, 1)).join(', ')} ms; again right after: ${runs.map((x) => fmt(x.warmMs, 1)).join(', ')} ms), ${runs[0]!.points.toLocaleString()} points of ${runs[0]!.count.toLocaleString()} samples; ` +
        `from the minute rows (resolution 'rollup') ${runs.map((x) => fmt(x.minuteMs, 0)).join(', ')} ms (median ${fmt(median(runs.map((x) => x.minuteMs)), 0)}, ${fmt(median(runs.map((x) => x.minuteMs / x.queryMs)), 0)}× the hourly tier's), ${runs[0]!.minuteCount.toLocaleString()} samples\n`,
    );
  }
}

const dir = mkdtempSync(join(tmpdir(), 'pw-bench-storage-'));
try {
  const parts = (process.env.BENCH_PARTS ?? 'writes,layouts,history').split(',');
  if (parts.includes('writes')) writes(dir);
  if (parts.includes('layouts')) layouts(dir);
  if (parts.includes('history')) await history();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
