import { spawn } from 'node:child_process';
import { chmodSync, chownSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import type { WatchdogLink } from '../dist/src/actors/supervisor.js';
import { BEAT_BY, CLOCK, HANG_AT, controlViews } from '../dist/src/engine/control.js';
import { monitorNow } from '../dist/src/engine/monitor-clock.js';
import { PerformanceMonitor, StorageError, StorageLockedError, type ActorExit, type MonitorOptions } from '../dist/src/index.js';
import { openDatabase } from '../dist/src/storage/driver.js';
import { acquireLock } from '../dist/src/storage/lock.js';
import { historyOut, historyText } from '../dist/src/mcp/tools/get-metric-history.js';
import { once, waitFor, historyTotals } from './helpers.js';

const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

/** When a process started, as the lock records it: field 22 of /proc/PID/stat (clock ticks since boot). */
function startOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

function dataDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'pw-storage-')), 'data');
}

function monitor(dir: string, options: MonitorOptions = {}): PerformanceMonitor {
  const m = new PerformanceMonitor({ storage: 'sqlite', dataDir: dir, system: { enabled: false }, runtime: { enabled: false }, ...options });
  monitors.push(m);
  return m;
}

/**
 * Overwrites a table's root page of the database in `dir` (a stopped monitor's): the file
 * opens, but that table is neither read nor written (the rollups': its catalog reads, a flush's
 * rows do not go in). Answers the file.
 */
function damageRollups(dir: string, table = 'rollups'): string {
  const file = join(dir, 'perfwatch.db');
  const db = openDatabase(file);
  const root = Number(db.prepare('SELECT rootpage FROM sqlite_schema WHERE name = ?').get([table])![0]);
  const pageSize = Number(db.pragma('page_size'));
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  db.close();
  const fd = openSync(file, 'r+');
  writeSync(fd, Buffer.alloc(pageSize, 0xab), 0, pageSize, (root - 1) * pageSize);
  closeSync(fd);
  return file;
}

describe('storage: sqlite', () => {
  it('keeps the catalog and the history across stop and a new monitor on the same dataDir', async () => {
    const dir = dataDir();
    const a = monitor(dir);
    await a.start();
    a.define({ name: 'kept_bytes', kind: 'gauge', unit: 'bytes' });
    const rt = a.metric('kept_rt', { route: '/x' });
    for (let i = 1; i <= 1000; i++) rt.record(i);
    a.record('kept_bytes', 42);
    await a.stop();
    expect(a.status().storage).toMatchObject({ mode: 'sqlite', dataDir: dir });

    const b = monitor(dir);
    await b.start();
    // The catalog: the names are known again, with their kinds, units and series.
    const h = await b.getMetricHistory({ metric: 'kept_rt', tags: { route: '/x' } });
    expect([h.kind, h.unit, h.series.map((s) => s.tags)]).toEqual(['distribution', '', [{ route: '/x' }]]);
    const bytes = await b.getMetricHistory({ metric: 'kept_bytes' });
    expect([bytes.kind, bytes.unit]).toEqual(['gauge', 'bytes']);
    // The history: every sample, from disk, with its quantiles.
    expect(h.series[0]!.resolution).toBe('rollup');
    expect(await historyTotals(b, 'kept_rt')).toEqual({ count: 1000, sum: 500_500 });
    const point = h.series[0]!.points[0]!;
    expect(Math.abs(point.p99! - 990) / 990).toBeLessThan(0.01);
    expect(bytes.series[0]!.points.map((p) => p.last)).toEqual([42]);
    // New samples join the stored ones without a seam: each counted once.
    b.metric('kept_rt', { route: '/x' }).record(5000);
    await b.flush();
    expect(await historyTotals(b, 'kept_rt')).toEqual({ count: 1001, sum: 505_500 });
    await b.flushStorage();
    await b.stop();
    await b.start();
    expect(await historyTotals(b, 'kept_rt')).toEqual({ count: 1001, sum: 505_500 });
    await b.stop();

    // `limit` lists the first series with data, on disk or in memory: not a series without any
    // that was registered before the stored ones.
    const c = monitor(dir);
    c.metric('kept_rt', { route: '/empty' });
    await c.start();
    const limited = await c.getMetricHistory({ metric: 'kept_rt', limit: 1 });
    expect([limited.series.map((s) => s.tags), limited.totalSeries]).toEqual([[{ route: '/x' }], 1]);
  });

  it("restores the monitor's own series into their own share, not against the application's maxSeries", async () => {
    const dir = dataDir();
    const a = monitor(dir, { maxSeries: 16, runtime: { enabled: true } });
    await a.start();
    a.record('app_only', 1);
    await a.flush();
    await a.stop();
    const own = a.status().series.own.count;
    expect(own).toBeGreaterThan(0);
    expect(a.status().series.count).toBe(1);

    const b = monitor(dir, { maxSeries: 16 });
    await b.start();
    // The stored catalog: one application series; the runtime's series in the monitor's share.
    expect(b.status().series.count).toBe(1);
    // (Not compared with a's count: b records readings of its own as it runs, more of them on a
    // loaded machine before this line; 8 against 5 failed a loaded run.)
    expect(b.status().series.own.count).toBeGreaterThan(0);
    // So the application has all of its 16 but the one it stored.
    for (let i = 0; i < 15; i++) b.record('app_more', i, { i: String(i) });
    await b.flush();
    expect(b.status().series.count).toBe(16);
  });

  it('restores a catalog of 1,000 series: the newest within maxSeries less the live set, the rest read from the file, and the live series never refused', async () => {
    // The storage actor registers the stored catalog on its own thread (src/storage/restore.ts).
    const dir = dataDir();
    const SERIES = 1000;
    const a = monitor(dir, { maxSeries: SERIES + 10, runtime: { enabled: true } });
    await a.start();
    a.define({ name: 'big_bytes', kind: 'gauge', unit: 'bytes' });
    for (let i = 0; i < SERIES; i++) a.record('big_rt', i, { shard: `s${i}` });
    a.record('big_bytes', 7, { pool: 'p' });
    await a.flush();
    await a.stop();
    expect(a.status().series.own.count).toBeGreaterThan(0);

    const b = monitor(dir, { maxSeries: SERIES + 10 });
    await b.start();
    // a recorded its 1,001 series in its last stored hour: that many places are kept for the
    // live ones, so 9 are registered (the newest), the other 992 left out, by design (no fault).
    const storage = b.status().storage;
    if (storage.mode !== 'sqlite') throw new Error('expected sqlite');
    expect(storage.catalog).toMatchObject({ headroom: SERIES + 1, leftOut: SERIES + 1 - 9, failed: 0 });
    expect(b.status().series.count).toBe(9);
    // (Of a's own series, the catalog holds those that had samples at a flush: in their share.)
    expect(b.status().series.own.count).toBeGreaterThan(0);
    expect(b.status().faults.byKind['storage-restore']).toBeUndefined();
    // Every series' history, with its kind and unit, each with its own sample: those registered
    // first, then those read from the file alone (id -1).
    const h = await b.getMetricHistory({ metric: 'big_rt' });
    expect([h.kind, h.unit, h.totalSeries]).toEqual(['distribution', '', SERIES]);
    expect(h.series.filter((s) => s.id === -1)).toHaveLength(SERIES - 9);
    const byShard = [...h.series].sort((x, y) => Number(x.tags.shard!.slice(1)) - Number(y.tags.shard!.slice(1)));
    expect(byShard.map((s) => s.tags.shard)).toEqual(Array.from({ length: SERIES }, (_, i) => `s${i}`));
    expect(byShard.map((s) => s.points.reduce((sum, p) => sum + p.sum, 0))).toEqual(Array.from({ length: SERIES }, (_, i) => i));
    const bytes = await b.getMetricHistory({ metric: 'big_bytes' });
    expect([bytes.kind, bytes.unit, bytes.series.map((s) => s.points.map((p) => p.last))]).toEqual(['gauge', 'bytes', [[7]]]);
    // The service records its series again (no tag changed): none is refused, and 9 more fit.
    for (let i = 0; i < SERIES; i++) b.record('big_rt', i, { shard: `s${i}` });
    b.record('big_bytes', 8, { pool: 'p' });
    for (let i = 0; i < 9; i++) b.record('big_more', i, { i: String(i) });
    expect(() => b.metric('big_more', { i: 'over' })).toThrow(/series limit reached/);
    await b.flush();
    await b.stop();

    // A lower maxSeries than the live set of the run before (1,010): all 500 places are kept for
    // the live series, none stored is registered, and the history is still the file's. Before,
    // the first 500 stored series were registered and every live one past them refused.
    const c = monitor(dir, { maxSeries: 500 });
    await c.start();
    const small = c.status().storage;
    if (small.mode !== 'sqlite') throw new Error('expected sqlite');
    expect(small.catalog).toMatchObject({ headroom: 500, leftOut: SERIES + 10, failed: 0 });
    // Only the monitor's own series are registered of those stored.
    expect(small.catalog!.stored - small.catalog!.registered).toBe(SERIES + 10);
    expect(c.status().series.count).toBe(0);
    expect(c.status().faults.byKind['storage-restore']).toBeUndefined();
    const h500 = await c.getMetricHistory({ metric: 'big_rt', limit: 3 });
    expect(h500.totalSeries).toBe(SERIES);
    expect(h500.series.map((s) => [s.id, s.tags.shard, s.points.reduce((sum, p) => sum + p.sum, 0)])).toEqual([
      [-1, 's0', 0],
      [-1, 's1', 2],
      [-1, 's2', 4],
    ]);
    for (let i = 0; i < 500; i++) c.record('big_rt', i, { shard: `s${i}` });
    expect(c.status().series.count).toBe(500);
  });

  it('keeps both processes\' rows when a monitor restarts within one collection interval', async () => {
    const dir = dataDir();
    // Minute-long buckets: both monitors' first samples fall in one bucket.
    const options = { collectionIntervalMs: 60_000 };
    const a = monitor(dir, options);
    await a.start();
    a.record('quick_rt', 1);
    await a.stop();
    const b = monitor(dir, options);
    await b.start();
    b.record('quick_rt', 2);
    await b.flush();
    expect(await historyTotals(b, 'quick_rt')).toEqual({ count: 2, sum: 3 });
    await b.stop();
    const c = monitor(dir, options);
    await c.start();
    expect(await historyTotals(c, 'quick_rt')).toEqual({ count: 2, sum: 3 });
  });

  it("keeps what it writes to its own user, whatever the umask: the dataDir and profiles 0700, the database's files and the profiles 0600; an existing dataDir keeps its mode", async () => {
    const privateMode = (path: string): number => statSync(path).mode & 0o777;
    const umask = process.umask(0o002);
    try {
      const dir = dataDir();
      const m = new PerformanceMonitor({ dataDir: dir, system: { enabled: false } });
      monitors.push(m);
      await m.start();
      m.record('secret_probe', 1, { user: 'someone@example.com' });
      await m.flush();
      const capture = await m.profile({ kind: 'cpu', seconds: 1 });
      expect(capture.file).not.toBeNull();
      // While it runs: the write-ahead log goes at stop().
      for (const file of ['perfwatch.db', 'perfwatch.db-wal', 'perfwatch.db-shm']) expect(privateMode(join(dir, file)), file).toBe(0o600);
      expect(privateMode(dir)).toBe(0o700);
      expect(privateMode(join(dir, 'profiles'))).toBe(0o700);
      expect(privateMode(capture.file!)).toBe(0o600);

      // A dataDir the operator made (a group's, say) keeps its mode; the database made in it is private.
      const shared = dataDir();
      mkdirSync(shared, { mode: 0o750 });
      const n = new PerformanceMonitor({ dataDir: shared, system: { enabled: false } });
      monitors.push(n);
      await n.start();
      await n.flush();
      expect(privateMode(shared)).toBe(0o750);
      expect(privateMode(join(shared, 'perfwatch.db'))).toBe(0o600);
    } finally {
      process.umask(umask);
    }
  });

  it('makes private again, at open, a dataDir and its files an earlier version left open to every user, and only its own', async () => {
    const modeOf = (path: string): number => statSync(path).mode & 0o777;
    const dir = dataDir();
    const first = monitor(dir);
    await first.start();
    first.record('old_modes', 1);
    await first.flush();
    await first.stop();
    // As an earlier version made them with the umask 022; and a file of the operator's among
    // the profiles (one beside the database makes the dataDir not perfwatch's alone: the next test).
    const profiles = join(dir, 'profiles');
    mkdirSync(profiles, { recursive: true });
    const capture = join(profiles, 'perfwatch-20261201T101010.000Z-1-1.cpuprofile');
    writeFileSync(capture, '{}');
    const notes = join(profiles, 'notes.txt');
    writeFileSync(notes, 'operator');
    for (const path of [dir, profiles]) chmodSync(path, 0o755);
    for (const path of [join(dir, 'perfwatch.db'), capture, notes]) chmodSync(path, 0o644);
    const again = monitor(dir);
    await again.start();
    try {
      expect([dir, profiles, join(dir, 'perfwatch.db'), capture].map(modeOf)).toEqual([0o700, 0o700, 0o600, 0o600]);
      // Not ours: left as it is.
      expect(modeOf(notes)).toBe(0o644);
      expect(again.status().faults.byKind['storage-modes']).toBeUndefined();
    } finally {
      await again.stop();
    }
  });

  it("leaves the mode of a shared dataDir perfwatch did not make (sticky, holding no database of ours before, or other applications' files), makes its own files private in it, and says so in status", async () => {
    const modeOf = (path: string): number => statSync(path).mode & 0o7777;
    const modes = (m: PerformanceMonitor): string | undefined => m.status().faults.byKind['storage-modes']?.lastMessage;
    const shared = (mode: number): { dir: string; other: string } => {
      const dir = dataDir();
      mkdirSync(dir, { recursive: true });
      chmodSync(dir, mode);
      const other = join(dir, 'other-app.txt');
      writeFileSync(other, 'another application');
      chmodSync(other, 0o644);
      return { dir, other };
    };
    // /tmp-like: sticky, every user's.
    const sticky = shared(0o1777);
    const a = monitor(sticky.dir);
    await a.start();
    await a.flush();
    expect([sticky.dir, sticky.other, join(sticky.dir, 'perfwatch.db')].map(modeOf)).toEqual([0o1777, 0o644, 0o600]);
    expect(modes(a)).toContain(`${sticky.dir}: the dataDir is open to every user (mode 1777) and perfwatch did not make it (it is sticky: a directory users share, as /tmp is), so its mode is left as it is`);
    await a.stop();
    // A directory of other applications (0755), at the first start and at the second, once it
    // holds the database this perfwatch made 0600: never the directory an earlier perfwatch made.
    const open = shared(0o755);
    for (let i = 0; i < 2; i++) {
      const b = monitor(open.dir);
      await b.start();
      expect([open.dir, open.other, join(open.dir, 'perfwatch.db')].map(modeOf)).toEqual([0o755, 0o644, 0o600]);
      expect(modes(b)).toContain(`${open.dir}: the dataDir is open to every user (mode 0755) and perfwatch did not make it (it holds what perfwatch did not make (other-app.txt))`);
      await b.stop();
    }
    // A directory the operator made for perfwatch alone (0755, empty): its mode at every start,
    // not 0700 from the second on, once it holds the database this perfwatch made (0600); and no
    // fault: nothing in it is anyone else's, and a fault there would flag every such service.
    const made = dataDir();
    // As the root of a volume mounted for it: ext4 makes lost+found there.
    mkdirSync(join(made, 'lost+found'), { recursive: true });
    chmodSync(made, 0o755);
    for (let i = 0; i < 2; i++) {
      const d = monitor(made);
      await d.start();
      expect([made, join(made, 'perfwatch.db')].map(modeOf)).toEqual([0o755, 0o600]);
      expect(modes(d)).toBeUndefined();
      await d.stop();
    }
    // A database an earlier perfwatch left (0644 in 0755) in a directory holding another
    // application's file too: the database is made private, the directory left.
    chmodSync(join(open.dir, 'perfwatch.db'), 0o644);
    const c = monitor(open.dir);
    await c.start();
    try {
      expect([open.dir, open.other, join(open.dir, 'perfwatch.db')].map(modeOf)).toEqual([0o755, 0o644, 0o600]);
      expect(modes(c)).toContain(`(mode 0755) and perfwatch did not make it (it holds what perfwatch did not make (other-app.txt))`);
    } finally {
      await c.stop();
    }
  });

  it.runIf(process.getuid?.() === 0)('leaves open a dataDir or a file of ours another user owns, and says so in status', async () => {
    const modeOf = (path: string): number => statSync(path).mode & 0o777;
    const dir = dataDir();
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    chmodSync(dir, 0o755);
    chownSync(dir, 4242, 4242);
    const m = monitor(dir);
    await m.start();
    try {
      expect(modeOf(dir)).toBe(0o755);
      expect(statSync(dir).uid).toBe(4242);
      expect(m.status().faults.byKind['storage-modes']?.lastMessage).toContain(`${dir} (mode 0755, owned by uid 4242, not this process's 0)`);
    } finally {
      await m.stop();
    }
  });

  it('reports file size, oldest data and the last flush in status()', async () => {
    const dir = dataDir();
    const m = monitor(dir);
    await m.start();
    const before = Date.now();
    m.record('status_rt', 7);
    await m.flush();
    expect(await m.flushStorage()).toBe(true);
    const s = m.status().storage;
    if (s.mode !== 'sqlite') throw new Error('expected sqlite');
    expect(s.file).toBe(join(dir, 'perfwatch.db'));
    expect(s.fileBytes).toBeGreaterThan(0);
    expect(s.oldestData).toBeLessThanOrEqual(Date.now());
    expect(s.oldestData).toBeGreaterThanOrEqual(Math.floor(before / 60_000) * 60_000);
    expect(s.lastFlushAt).toBeGreaterThanOrEqual(before);
    expect(s.lastError).toBeNull();
    expect(s.retentionMs).toBe(30 * 86_400_000);
    // The hourly tier: the open hour of each series written (status_rt's, and the monitor's own
    // that had samples) is marked, to be built once it closes; no series is behind.
    expect(s.hourlyPending?.series).toBe(0);
    expect(s.hourlyPending?.hours).toBeGreaterThanOrEqual(1);
  });

  it('writes with flushStorage() what was recorded just before it, while the collector dozes after a busy pass', async () => {
    const dir = dataDir();
    const m = monitor(dir);
    await m.start();
    const file = join(dir, 'perfwatch.db');
    for (let round = 1; round <= 5; round++) {
      // A burst the collector drains: it then dozes (up to 250 ms) before its next pass.
      for (let i = 0; i < 1000; i++) m.record('doze_burst', i);
      await m.flush();
      m.record('doze_rt', round);
      // Published at the end of this turn, as a host's samples are; no m.flush() here.
      await new Promise((resolve) => setImmediate(resolve));
      expect(await m.flushStorage()).toBe(true);
      // Read from the file itself, as the next process would after a SIGKILL.
      const db = openDatabase(file);
      try {
        const [[count, sum]] = db.prepare("SELECT coalesce(sum(r.count), 0), coalesce(sum(r.sum), 0) FROM rollups r JOIN series s ON s.id = r.series WHERE s.name = 'doze_rt'").all([]) as [[number, number]];
        expect({ round, count: Number(count), sum: Number(sum) }).toEqual({ round, count: round, sum: (round * (round + 1)) / 2 });
      } finally {
        db.close();
      }
    }
  });

  it('lets one monitor own a dataDir: a second gets an error naming the directory and the pid', async () => {
    const dir = dataDir();
    await monitor(dir).start();
    const second = monitor(dir);
    const e = await second.start().catch((error: unknown) => error);
    expect(e).toBeInstanceOf(StorageLockedError);
    expect(e).toMatchObject({ code: 'PW_ERR_STORAGE_LOCKED', path: dir, pid: process.pid });
    expect((e as Error).message).toBe(`${dir} is in use by another monitor of this process (pid ${process.pid}): give each monitor its own dataDir, or stop() that one first`);
    expect(second.state).toBe('stopped');
  });

  it('takes over the lock a dead process left', async () => {
    const dir = dataDir();
    // A pid that was alive and is not any more.
    const child = spawn(process.execPath, ['-e', '']);
    await once(child, 'exit');
    await monitor(dir).start().then((m) => m);
    await monitors[0]!.stop();
    writeFileSync(join(dir, 'perfwatch.lock'), `${child.pid}\n`);
    const m = monitor(dir);
    await m.start();
    expect(m.running).toBe(true);
    expect(readFileSync(join(dir, 'perfwatch.lock'), 'utf8')).toBe(`${process.pid} ${startOf(process.pid)}\n`);
    await m.stop();
    // Released on stop.
    expect(() => readFileSync(join(dir, 'perfwatch.lock'))).toThrow(/ENOENT/);
  });

  it('says the history is missing when it takes over a dead owner\'s lock and the file holds none of it (its -wal lost)', async () => {
    // Killed before a checkpoint, the owner's commits were all in the -wal; with that gone, the
    // file was opened empty and the fault said "everything before is here".
    const child = spawn(process.execPath, ['-e', '']);
    await once(child, 'exit');
    const dir = dataDir();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'perfwatch.db');
    // What such a file is: a WAL database's header page, no table, no application id.
    const db = openDatabase(file);
    db.close();
    expect(statSync(file).size).toBeGreaterThan(0);
    writeFileSync(join(dir, 'perfwatch.lock'), `${child.pid}\n`);
    const m = monitor(dir);
    await m.start();
    expect(m.status().faults.byKind['storage-unclean']?.lastMessage).toBe(
      `${dir}: the monitor before this one (pid ${child.pid}) ended without stop() (its process was killed, crashed, or ended by process.exit()): perfwatch.db holds none of the history written before: its commits were in perfwatch.db-wal, which is gone (removed or lost after that end: SQLite copies them into the file only at a checkpoint), so this database starts empty and the history before is missing`,
    );
    await m.stop();

    // A file that holds it: as before.
    writeFileSync(join(dir, 'perfwatch.lock'), `${child.pid}\n`);
    const k = monitor(dir);
    await k.start();
    expect(k.status().faults.byKind['storage-unclean']?.lastMessage).toMatch(/is lost \(at most its storageFlushMs of samples\); everything before is here$/);
  });

  it('lets one of many monitors starting at once take over a dead process\'s lock, and refuses the rest', async () => {
    // Each judged the lock dead and removed it: one removed the lock another had just made in
    // its place, and two monitors (two processes, after a crash that restarted them all) owned
    // the dataDir and wrote one file (7 rounds of 50 here).
    const child = spawn(process.execPath, ['-e', '']);
    await once(child, 'exit');
    for (let round = 0; round < 50; round++) {
      const dir = dataDir();
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'perfwatch.lock'), `${child.pid}\n`);
      const tries = await Promise.allSettled(Array.from({ length: 6 }, () => acquireLock(dir)));
      const owners = tries.filter((t) => t.status === 'fulfilled');
      const refusals = tries.flatMap((t) => (t.status === 'rejected' ? [t.reason as unknown] : []));
      expect(owners).toHaveLength(1);
      for (const e of refusals) expect(e).toMatchObject({ code: 'PW_ERR_STORAGE_LOCKED', pid: process.pid });
      expect(readFileSync(join(dir, 'perfwatch.lock'), 'utf8')).toBe(`${process.pid} ${startOf(process.pid)}\n`);
      await owners[0]!.value.release();
    }
  });

  it("leaves a dead process's lock to the monitor taking it over (perfwatch.lock.takeover), and takes over one whose taker died", async () => {
    const child = spawn(process.execPath, ['-e', '']);
    await once(child, 'exit');
    const dir = dataDir();
    mkdirSync(dir, { recursive: true });
    const lock = join(dir, 'perfwatch.lock');
    const guard = join(dir, 'perfwatch.lock.takeover');
    writeFileSync(lock, `${child.pid}\n`);
    // Another live process is taking it over: this one waits for it, and does not remove the lock under it.
    writeFileSync(guard, `${process.ppid} ${startOf(process.ppid)}\n`);
    const e = await acquireLock(dir).catch((error: unknown) => error);
    expect(e).toMatchObject({ code: 'PW_ERR_STORAGE', path: dir });
    expect((e as Error).message).toBe(`${dir}: cannot be taken: pid ${process.ppid} has held ${guard} for 2 s, taking over a dead monitor's lock; try again, or remove that file if pid ${process.ppid} is no perfwatch monitor`);
    expect(readFileSync(lock, 'utf8')).toBe(`${child.pid}\n`);
    // A taker that died at it: its guard and the dead lock both go.
    writeFileSync(guard, `${child.pid}\n`);
    const owned = await acquireLock(dir);
    expect(readFileSync(lock, 'utf8')).toBe(`${process.pid} ${startOf(process.pid)}\n`);
    expect(() => statSync(guard)).toThrow(/ENOENT/);
    await owned.release();
  });

  it('takes over the lock of a process that ended but whose parent has not reaped it yet (a zombie keeps its pid)', async () => {
    // A service killed with SIGKILL and started again before its parent collected its exit
    // (an init that reaps late, or never: a shell as a container's PID 1) found its dataDir
    // "in use by another perfwatch monitor" whose pid signal 0 still reached.
    const dir = dataDir();
    mkdirSync(dir, { recursive: true });
    // sh starts a child and becomes `sleep`, which never waits for it: the child stays a zombie.
    const parent = spawn('sh', ['-c', 'sleep 0.01 & echo $!; exec sleep 60']);
    try {
      const line = await once<Buffer>(parent.stdout!, 'data');
      const pid = Number(String(line).trim());
      const state = (): string | undefined => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          return stat.slice(stat.lastIndexOf(')') + 2)[0];
        } catch {
          return undefined;
        }
      };
      await waitFor(() => state() === 'Z', 10_000, 'the child a zombie');
      writeFileSync(join(dir, 'perfwatch.lock'), `${pid} ${startOf(pid)}\n`);
      const m = monitor(dir);
      await m.start();
      expect(m.running).toBe(true);
      expect(readFileSync(join(dir, 'perfwatch.lock'), 'utf8')).toBe(`${process.pid} ${startOf(process.pid)}\n`);
    } finally {
      parent.kill();
    }
  });

  it('takes over the lock of a dead process whose pid this process has now (a container restarted after a SIGKILL is PID 1 again)', async () => {
    const dir = dataDir();
    mkdirSync(dir, { recursive: true });
    // What the killed process left: this pid, with its own start time, an earlier one.
    writeFileSync(join(dir, 'perfwatch.lock'), `${process.pid} ${Number(startOf(process.pid)) - 1000}\n`);
    const m = monitor(dir);
    await m.start();
    expect(m.running).toBe(true);
    expect(readFileSync(join(dir, 'perfwatch.lock'), 'utf8')).toBe(`${process.pid} ${startOf(process.pid)}\n`);
    // The same for another live process's pid: the process that wrote the lock is gone.
    await m.stop();
    writeFileSync(join(dir, 'perfwatch.lock'), `${process.ppid} ${Number(startOf(process.ppid)) - 1000}\n`);
    await monitor(dir).start();
    expect(readFileSync(join(dir, 'perfwatch.lock'), 'utf8')).toBe(`${process.pid} ${startOf(process.pid)}\n`);
  });

  it('takes over the lock of a monitor whose worker thread ended without stop() (terminated), which a live thread still holds', async () => {
    // Node closes a terminated thread's files, the lock's among them: a lock of this process
    // that no thread has open is a dead thread's. It refused every later monitor of the
    // process on the dataDir ("stop() that one first", of a monitor that was gone).
    const dir = dataDir();
    const index = new URL('../dist/src/index.js', import.meta.url).href;
    const worker = new Worker(
      [
        "const { parentPort } = require('node:worker_threads');",
        `import(${JSON.stringify(index)}).then(async ({ PerformanceMonitor }) => {`,
        `  const m = new PerformanceMonitor({ dataDir: ${JSON.stringify(dir)}, system: { enabled: false }, runtime: { enabled: false } });`,
        '  await m.start();',
        // Alive until terminated: a thread whose loop empties ends on its own, stopping its
        // monitor (beforeExit) and releasing the lock before the check below can see it held.
        '  setInterval(() => {}, 60_000);',
        "  parentPort.postMessage('started');",
        '});',
      ].join('\n'),
      { eval: true },
    );
    try {
      expect(await once(worker, 'message')).toBe('started');
      // While the thread's monitor runs, the lock is its own.
      const e = await monitor(dir).start().catch((error: unknown) => error);
      expect(e).toMatchObject({ code: 'PW_ERR_STORAGE_LOCKED', pid: process.pid });
    } finally {
      await worker.terminate();
    }
    const m = monitor(dir);
    await m.start();
    expect(m.running).toBe(true);
    // Said as what it was, a thread of this process: it named this process's own pid and said "its process crashed".
    expect(m.status().faults.byKind['storage-unclean']?.lastMessage).toMatch(
      new RegExp(`^${dir}: the monitor before this one, of this same process \\(pid ${process.pid}\\), ended without stop\\(\\) in a worker thread \\(the thread was terminated, or ended before its monitor stopped\\): what it recorded after its last write`),
    );
    expect(readFileSync(join(dir, 'perfwatch.lock'), 'utf8')).toBe(`${process.pid} ${startOf(process.pid)}\n`);
    await m.stop();
    expect(() => readFileSync(join(dir, 'perfwatch.lock'))).toThrow(/ENOENT/);
  });

  it("names another process's lock by its pid, and says to stop that process", async () => {
    const dir = dataDir();
    mkdirSync(dir, { recursive: true });
    // The lock of a live process other than this one: the parent that runs the tests.
    writeFileSync(join(dir, 'perfwatch.lock'), `${process.ppid}\n`);
    const e = await monitor(dir).start().catch((error: unknown) => error);
    expect(e).toMatchObject({ code: 'PW_ERR_STORAGE_LOCKED', path: dir, pid: process.ppid });
    expect((e as Error).message).toBe(`${dir} is in use by another perfwatch monitor (pid ${process.ppid}): give each monitor its own dataDir, or stop that process`);
  });

  it('refuses a perfwatch.lock that is a directory, naming it and saying to remove it, and leaves it there', async () => {
    // It was tried as a lock being written, then "cannot be written (EEXIST: file already
    // exists …): choose a dataDir this process may write", of a directory the process may write.
    const dir = dataDir();
    const lock = join(dir, 'perfwatch.lock');
    mkdirSync(lock, { recursive: true });
    const m = monitor(dir);
    const e = await m.start().catch((error: unknown) => error);
    expect(e).toBeInstanceOf(StorageError);
    expect(e).toMatchObject({ code: 'PW_ERR_STORAGE', path: dir });
    expect((e as Error).message).toBe(`${dir}: ${lock} is a directory, not perfwatch's lock file: remove it (perfwatch never deletes what it did not make), or choose another dataDir`);
    expect(m.state).toBe('stopped');
    expect(statSync(lock).isDirectory()).toBe(true);
  });

  it("refuses a perfwatch.lock whose text is not perfwatch's, and an empty one made moments ago, leaving each there; takes over an older empty one", async () => {
    // Both were taken over without a word, and the file deleted at stop().
    const dir = dataDir();
    mkdirSync(dir, { recursive: true });
    const lock = join(dir, 'perfwatch.lock');
    writeFileSync(lock, 'hello world\n');
    const m = monitor(dir);
    const e = await m.start().catch((error: unknown) => error);
    expect(e).toBeInstanceOf(StorageError);
    expect(e).toMatchObject({ code: 'PW_ERR_STORAGE', path: dir });
    expect((e as Error).message).toBe(`${dir}: ${lock} is not perfwatch's lock file (it holds "hello world\\n", not a pid): remove it (perfwatch never deletes what it did not make), or choose another dataDir`);
    expect(readFileSync(lock, 'utf8')).toBe('hello world\n');

    writeFileSync(lock, '');
    const young = await monitor(dir).start().catch((error: unknown) => error);
    expect((young as Error).message).toBe(`${dir}: ${lock} is empty and was written under 5 s ago: a monitor may be making it; try again (an empty one older than that is taken over, as a lock its maker died writing), or remove it if no perfwatch monitor uses this dataDir`);
    expect(readFileSync(lock, 'utf8')).toBe('');

    // An empty one older than that: a monitor that made its lock in place and died before writing it.
    const old = (Date.now() - 60_000) / 1000;
    utimesSync(lock, old, old);
    const k = monitor(dir);
    await k.start();
    expect(readFileSync(lock, 'utf8')).toMatch(new RegExp(`^${process.pid}( |\n)`));
    await k.stop();
  });

  it('refuses a perfwatch.db that is a symbolic link into a directory that does not exist, naming its target, and leaves it there', async () => {
    // It was "not a usable SQLite database (ConnectionFailed("Unable to open connection to local
    // database …: 14")); … move it away": the driver's words, as if the file were no database.
    const dir = dataDir();
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'perfwatch.db');
    const target = join(dir, 'gone', 'x.db');
    symlinkSync(target, file);
    const m = monitor(dir);
    const e = await m.start().catch((error: unknown) => error);
    expect(e).toBeInstanceOf(StorageError);
    expect(e).toMatchObject({ code: 'PW_ERR_STORAGE', path: file });
    expect((e as Error).message).toBe(`${file}: is a symbolic link to ${target}, whose directory ${join(dir, 'gone')} does not exist (ENOENT); it was left untouched: create that directory, point the link at a file that can be made, or choose another dataDir`);
    expect(readlinkSync(file)).toBe(target);
    expect(readdirSync(dir)).toEqual(['perfwatch.db']);
  });

  it('refuses a perfwatch.db that is a directory, saying so and naming it, and leaves it there', async () => {
    // It was opened, and refused as "not a usable SQLite database (ConnectionFailed("Unable to
    // open connection to local database …: 14"))": the driver's words and SQLite's code.
    const dir = dataDir();
    const file = join(dir, 'perfwatch.db');
    mkdirSync(file, { recursive: true });
    const m = monitor(dir);
    const e = await m.start().catch((error: unknown) => error);
    expect(e).toBeInstanceOf(StorageError);
    expect(e).toMatchObject({ code: 'PW_ERR_STORAGE', path: file });
    expect((e as Error).message).toBe(`${file}: is a directory, not perfwatch's database file: move it away (perfwatch never deletes what it did not make), or choose another dataDir`);
    expect(m.state).toBe('stopped');
    expect(statSync(file).isDirectory()).toBe(true);
  });

  it('fails start() with an error naming a dataDir that cannot be created', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'pw-storage-'));
    writeFileSync(join(parent, 'a-file'), '');
    const dir = join(parent, 'a-file', 'data');
    const m = monitor(dir);
    const e = await m.start().catch((error: unknown) => error);
    expect(e).toBeInstanceOf(StorageError);
    expect(e).toMatchObject({ code: 'PW_ERR_STORAGE', path: dir });
    expect((e as Error).message).toMatch(new RegExp(`^${dir}: cannot be created \\(ENOTDIR: `));
    expect((e as Error).message).not.toContain('ENOTDIR: ENOTDIR');
    // The other way out, for a service that can do without history.
    expect((e as Error).message).toMatch(/\): choose a dataDir this process may create and write, or storage: 'memory' to keep nothing on disk$/);
    expect(m.state).toBe('stopped');
  });

  it('refuses a corrupt database file, leaves it untouched, and starts nothing', async () => {
    const dir = dataDir();
    await monitor(dir).start();
    await monitors[0]!.stop();
    const file = join(dir, 'perfwatch.db');
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    const garbage = Buffer.alloc(65_536, 0x5a);
    writeFileSync(file, garbage);
    const m = monitor(dir);
    const e = await m.start().catch((error: unknown) => error);
    expect(e).toBeInstanceOf(StorageError);
    expect(e).toMatchObject({ path: file });
    expect((e as Error).message).toBe(`${file}: is not a usable SQLite database (file is not a database); it was left untouched: move it away or choose another dataDir`);
    expect(readFileSync(file).equals(garbage)).toBe(true);
    expect(m.state).toBe('stopped');
    expect(m.status().collector.state).toBe('stopped');
    // The lock went with it: another monitor may use the directory once the file is moved away.
    rmSync(file);
    await monitor(dir).start();
  });

  it("refuses another application's perfwatch.db, and one of a newer perfwatch, leaving the file, its modes and its directory as they were", async () => {
    // A file in rollback mode (journal_mode delete), 0644 in a directory 0755: opening it with
    // perfwatch's pragmas made it WAL, and the start's chmod made both private, before the refusal.
    const dir = dataDir();
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const file = join(dir, 'perfwatch.db');
    const other = openDatabase(file);
    other.exec('CREATE TABLE users (id INTEGER)');
    other.exec('PRAGMA journal_mode = DELETE');
    other.close();
    chmodSync(file, 0o644);
    const before = readFileSync(file);
    const e = await monitor(dir).start().catch((error: unknown) => error);
    expect(e).toMatchObject({ code: 'PW_ERR_STORAGE', path: file });
    expect((e as Error).message).toBe(`${file}: is an SQLite database of another application (no perfwatch application id); it was left untouched: move it away or choose another dataDir`);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(statSync(dir).mode & 0o777).toBe(0o755);
    // Nothing made beside it: no lock, no -wal or -shm.
    expect(readdirSync(dir)).toEqual(['perfwatch.db']);
    // And it is not perfwatch's to delete.
    const d = monitor(dir);
    expect(await d.discardData().catch((error: unknown) => error)).toMatchObject({ code: 'PW_ERR_STORAGE', path: file });
    expect(readFileSync(file).equals(before)).toBe(true);

    // perfwatch's own file, of a newer schema version: refused before it is opened.
    const newer = dataDir();
    await monitor(newer).start();
    await monitors[monitors.length - 1]!.stop();
    const db = openDatabase(join(newer, 'perfwatch.db'));
    db.exec('PRAGMA user_version = 999');
    db.exec('PRAGMA journal_mode = DELETE');
    db.close();
    const newerBytes = readFileSync(join(newer, 'perfwatch.db'));
    expect(await monitor(newer).start().catch((error: unknown) => error)).toMatchObject({ code: 'PW_ERR_STORAGE', message: expect.stringContaining('has schema version 999, newer than this perfwatch knows') });
    expect(readFileSync(join(newer, 'perfwatch.db')).equals(newerBytes)).toBe(true);
  });

  it('says that a database damaged past its header will not mend when its writes fail, in one statement, and keeps recording in memory', async () => {
    const dir = dataDir();
    const first = monitor(dir);
    await first.start();
    first.record('damaged_rt', 1);
    await first.stop();
    // The rollups table's root page overwritten: the file opens, its catalog reads, a flush's rows do not go in.
    const file = damageRollups(dir);

    const m = monitor(dir);
    await m.start();
    m.record('damaged_rt', 2);
    await m.flush();
    expect(await m.flushStorage()).toBe(false);
    const said = `${file}: database disk image is malformed: it is damaged: each flush tries again, but that will not mend it; the monitor goes on in memory: stop it and move the file away (sqlite3's .recover saves what is readable)`;
    // The storage actor's status and its fault event come over two channels, each in its own
    // time: on a loaded machine (a CI run beside other work) either could still be on its way.
    await waitFor(() => {
      const now = m.status();
      return now.faults.byKind.storage !== undefined && now.storage.mode === 'sqlite' && (now.storage.lastError ?? null) !== null;
    }, 10_000, 'the storage fault and its status');
    const s = m.status().storage;
    expect(s.mode === 'sqlite' && s.lastError?.message).toBe(said);
    // The fault began "a write failed and is retried at the next flush:", and its end took that back.
    expect(m.status().faults.byKind.storage?.lastMessage).toBe(`${file}: a write failed: ${said}`);
    expect(m.getMetrics({ names: ['damaged_rt'] }).reduce((a, x) => a + x.totalCount, 0)).toBe(1);
  });

  it('fails start() with a StorageError naming the file and what to do when a table it reads at start is damaged (the control state, the catalog)', async () => {
    for (const table of ['alert_rule', 'series']) {
      const dir = dataDir();
      const first = monitor(dir);
      await first.start();
      await first.createAlertRule({ metric: 'queue_size', aggregation: 'max', window: 5, operator: '>', threshold: 10 });
      await first.stop();
      const file = damageRollups(dir, table);
      const m = monitor(dir);
      const e = await m.start().catch((error: unknown) => error);
      // A bare SqliteError before: no code, no file, and the CLI printed its stack.
      expect(e, table).toBeInstanceOf(StorageError);
      expect(e, table).toMatchObject({ code: 'PW_ERR_STORAGE', path: file });
      expect((e as Error).message, table).toBe(`${file}: is damaged (database disk image is malformed); it was left untouched: move it away (sqlite3's .recover saves what is readable) or choose another dataDir`);
      expect(m.state).toBe('stopped');
    }
  });

  it('fails start() with "is damaged" when the journal it folds at open is damaged, and leaves the file byte for byte as it was', async () => {
    const dir = dataDir();
    const first = monitor(dir);
    await first.start();
    first.record('damaged_journal', 1);
    await first.stop();
    const file = damageRollups(dir, 'journal');
    const before = readFileSync(file);
    const beside = readdirSync(dir);
    // What SQLite reads as the file: the -wal too (an open's write goes there first, until a
    // checkpoint, at a close whose moment the driver's pinned statement leaves to the GC).
    const wal = (): Buffer | undefined => {
      try {
        return readFileSync(`${file}-wal`);
      } catch {
        return undefined;
      }
    };
    const walBefore = wal();
    const m = monitor(dir);
    const e = await m.start().catch((error: unknown) => error);
    // "cannot be opened: database disk image is malformed" before, with no advice; and every
    // open wrote the header (PRAGMA auto_vacuum), so the damaged file was written.
    expect(e).toBeInstanceOf(StorageError);
    expect(e).toMatchObject({ code: 'PW_ERR_STORAGE', path: file });
    expect((e as Error).message).toBe(`${file}: is damaged (database disk image is malformed); it was left untouched: move it away (sqlite3's .recover saves what is readable) or choose another dataDir`);
    expect(readFileSync(file).equals(before)).toBe(true);
    const walAfter = wal();
    // An empty -wal removed at the last connection's close is SQLite's; a frame in it is a write.
    if (walAfter !== undefined) expect(walAfter.equals(walBefore ?? Buffer.alloc(0))).toBe(true);
    expect(readdirSync(dir).filter((f) => !beside.includes(f))).toEqual([]);
  });

  it("says in a history which series' stored rollups could not be read, rather than leaving them out without a word", async () => {
    // A damaged file, a storage actor that cannot answer: each series whose stored part failed
    // was left out (or kept only its memory part), and the answer read as all there was.
    const dir = dataDir();
    const first = monitor(dir);
    await first.start();
    for (const route of ['/a', '/b', '/c']) first.record('unread_rt', 5, { route });
    await first.stop();
    damageRollups(dir);

    const m = monitor(dir);
    await m.start();
    m.record('unread_rt', 7, { route: '/c' });
    await m.flush();
    const h = await m.getMetricHistory({ metric: 'unread_rt', from: Date.now() - 3_600_000 });
    expect(h.series.map((s) => s.tags.route)).toEqual(['/c']);
    expect(h.unread).toEqual({ series: 3, error: expect.stringContaining('malformed') });
    // The JSON API and the MCP tool's text say it too.
    const server = await m.serveHttp({ port: 0 });
    const api = (await (await fetch(`${server.url}api/history?metric=unread_rt&from=${Date.now() - 3_600_000}`)).json()) as { unread?: unknown };
    await server.close();
    expect(api.unread).toEqual(h.unread);
    expect(historyText(historyOut(h, 500), false, 0, undefined, h.unread)).toMatch(/^the stored history of 3 series could not be read \(.*malformed.*\): they lack what is older than this process's data, or are left out; unread_rt/);
  });

  it('says what a damaged journal lost when it folds the journal a process left: a fault with the count, and status().storage', async () => {
    const dir = dataDir();
    const first = monitor(dir);
    await first.start();
    first.record('journal_rt', 1);
    await first.stop();
    // Two blobs a killed process left, cut short on the disk: their samples cannot be read.
    const db = openDatabase(join(dir, 'perfwatch.db'));
    db.prepare('INSERT INTO journal (seq, body) VALUES (?, ?)').run([7, Buffer.from([80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3])]);
    db.prepare('INSERT INTO journal (seq, body) VALUES (?, ?)').run([8, Buffer.from([1, 2, 3])]);
    db.close();

    const m = monitor(dir);
    await m.start();
    const s = m.status();
    const message = `${join(dir, 'perfwatch.db')}: 2 of the 2 journal blobs a process before left could not be read (damaged, cut short) and were deleted: the samples they held, of minutes that process had not closed, are lost; the rest of the journal is in rows`;
    expect(s.storage.mode === 'sqlite' && s.storage.journalLost).toEqual({ blobs: 2, at: expect.any(Number), message });
    expect(s.faults.byKind['storage-journal']).toMatchObject({ count: 1, lastMessage: message });
    expect(await historyTotals(m, 'journal_rt')).toEqual({ count: 1, sum: 1 });
  });

  it('counts a history that could not read its stored rows as one fault, naming how many series, not one per series', async () => {
    // 300 series on a file damaged in one page: one read counted 300 storage faults, and a
    // dashboard polling it made monitor_faults{kind="storage"} climb by hundreds a minute.
    const dir = dataDir();
    const first = monitor(dir);
    await first.start();
    for (let i = 0; i < 300; i++) first.record('many_unread_rt', i, { shard: `s${i}` });
    await first.stop();
    damageRollups(dir);

    const m = monitor(dir);
    let writes = 0;
    m.on('storage-error', () => writes++);
    await m.start();
    // A failed flush is a storage fault of its own (with its event): only the reads' are counted here.
    const reads = (): number => (m.status().faults.byKind.storage?.count ?? 0) - writes;
    const before = reads();
    const h = await m.getMetricHistory({ metric: 'many_unread_rt', from: Date.now() - 3_600_000 });
    expect(h.unread).toMatchObject({ series: 300 });
    expect(reads() - before).toBe(1);
    expect(m.status().faults.byKind.storage?.lastMessage).toMatch(/^the stored history of 300 series of many_unread_rt could not be read: .*malformed/);
    await m.getMetricHistory({ metric: 'many_unread_rt', from: Date.now() - 3_600_000 });
    expect(reads() - before).toBe(2);
  });

  it('writes the rollups again into a new file when the file is removed while running', async () => {
    const dir = dataDir();
    const m = monitor(dir);
    await m.start();
    for (let i = 1; i <= 10; i++) m.record('removed_rt', i);
    await m.flush();
    expect(await m.flushStorage()).toBe(true);
    const file = join(dir, 'perfwatch.db');
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    expect(await m.flushStorage()).toBe(true);
    await m.stop();
    const again = monitor(dir);
    await again.start();
    expect(await historyTotals(again, 'removed_rt')).toEqual({ count: 10, sum: 55 });
  });

  it('says the history a dataDir removed while running held is lost: a fault, a warning and an event', async () => {
    const dir = dataDir();
    const a = monitor(dir);
    await a.start();
    for (let i = 0; i < 100; i++) a.record('old_run', i);
    await a.flush();
    await a.stop();
    const b = monitor(dir);
    const events: string[] = [];
    b.on('storage-error', (e) => events.push(e.message));
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      await b.start();
      rmSync(dir, { recursive: true, force: true });
      b.record('new_run', 1);
      await b.flush();
      expect(await b.flushStorage()).toBe(true);
      await waitFor(() => warnings.some((w) => w.includes('storage-recreated')), 5_000, 'the warning');
    } finally {
      process.off('warning', onWarning);
    }
    const said = `${join(dir, 'perfwatch.db')}: the database file was removed while the monitor ran and was created again, holding what this monitor holds in memory`;
    expect((await b.getMetricHistory({ metric: 'old_run', from: Date.now() - 3_600_000 })).series).toEqual([]);
    expect(b.status().faults.byKind['storage-recreated']).toMatchObject({ count: 1, lastMessage: expect.stringContaining(said) });
    expect(b.status().faults.byKind['storage-recreated']!.lastMessage).toContain('the history stored in the file before (earlier runs, older minutes, older alert transitions) is lost');
    expect(events).toEqual([expect.stringContaining(said)]);
    const s = b.status().storage;
    expect(s.mode === 'sqlite' && s.recreated).toMatchObject({ message: expect.stringContaining('was removed while the monitor ran') });
    // Said once: later flushes find the new file theirs.
    expect(await b.flushStorage()).toBe(true);
    expect(b.status().faults.byKind['storage-recreated']!.count).toBe(1);
  });

  it('makes the lock again in a dataDir removed while running, and writes nothing into one that another process took meanwhile until it lets go', async () => {
    const dir = dataDir();
    const a = monitor(dir, { storageFlushMs: 5_000 });
    await a.start();
    a.record('taken_rt', 1);
    await a.flush();
    expect(await a.flushStorage()).toBe(true);

    // Another process starts on the directory before this monitor's next flush: loaded first
    // and told to start once the directory is gone, since on a loaded machine its start-up
    // outlasted the flush (5 s), which made the lock again before it.
    const index = new URL('../dist/src/index.js', import.meta.url).href;
    const script = `
      import { createInterface } from 'node:readline';
      import { PerformanceMonitor } from ${JSON.stringify(index)};
      const m = new PerformanceMonitor({ storage: 'sqlite', dataDir: ${JSON.stringify(dir)}, system: { enabled: false }, runtime: { enabled: false } });
      const commands = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
      console.log('loaded');
      await commands.next();
      await m.start();
      m.record('taken_rt', 10);
      await m.flush();
      console.log(String(await m.flushStorage()));
      await commands.next();
      await m.stop();
      process.exit(0);`;
    const other = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: other.stdout })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe('loaded');
    rmSync(dir, { recursive: true, force: true });
    other.stdin!.write('start\n');
    expect((await lines.next()).value).toBe('true');

    a.record('taken_rt', 2);
    await a.flush();
    expect(await a.flushStorage()).toBe(false);
    const s = a.status().storage;
    expect(s.mode === 'sqlite' && s.lastError?.message).toBe(`${dir} is in use by another perfwatch monitor (pid ${other.pid}): give each monitor its own dataDir, or stop that process`);

    other.stdin!.write('stop\n');
    await once(other, 'exit');
    // Let go: the lock is made again, this monitor's, and its store is written into the file.
    expect(await a.flushStorage()).toBe(true);
    expect(readFileSync(join(dir, 'perfwatch.lock'), 'utf8')).toBe(`${process.pid} ${startOf(process.pid)}\n`);
    const e = await monitor(dir).start().catch((error: unknown) => error);
    expect(e).toMatchObject({ code: 'PW_ERR_STORAGE_LOCKED', pid: process.pid });
    await a.stop();
    expect(() => readFileSync(join(dir, 'perfwatch.lock'))).toThrow(/ENOENT/);

    const b = monitor(dir);
    await b.start();
    expect(await historyTotals(b, 'taken_rt')).toEqual({ count: 3, sum: 13 });
  });

  it('replaces a storage actor that dies, which goes on writing where the other stopped', async () => {
    const dir = dataDir();
    const m = monitor(dir);
    const restarts: unknown[] = [];
    m.on('actor-restart', (info: { actor: string }) => restarts.push(info.actor));
    await m.start();
    for (let i = 1; i <= 10; i++) m.record('revived_rt', i);
    await m.flush();
    expect(await m.flushStorage()).toBe(true);
    await m.injectFault('kill', 'storage');
    for (let i = 11; i <= 20; i++) m.record('revived_rt', i);
    await m.flush();
    // The call waits for the successor.
    expect(await m.flushStorage()).toBe(true);
    await waitFor(() => restarts.includes('storage'), 10_000, "the storage actor's restart event");
    expect(m.status().storage).toMatchObject({ actor: { state: 'running', restarts: 1 } });
    await m.stop();
    const again = monitor(dir);
    await again.start();
    expect(await historyTotals(again, 'revived_rt')).toEqual({ count: 20, sum: 210 });
  });

  it('writes what the store holds at a stop() that comes while a dead storage actor is being replaced', async () => {
    const dir = dataDir();
    const m = monitor(dir);
    await m.start();
    // Recorded and drained, not on disk yet (the first flush is 5 s after the start).
    for (let i = 1; i <= 10; i++) m.record('replaced_rt', i);
    await m.flush();
    // Resolved once the actor is gone: its successor is starting as stop() begins.
    await m.injectFault('kill', 'storage');
    expect(m.status().storage).toMatchObject({ actor: { state: 'restarting' } });
    await m.stop();
    const again = monitor(dir);
    await again.start();
    expect(await historyTotals(again, 'replaced_rt')).toEqual({ count: 10, sum: 55 });
  });

  /** The monitor's watchdog link, through which a test ends an actor while stop() waits on it (injectFault is refused once stop() began). */
  const watchdogOf = (m: PerformanceMonitor): WatchdogLink => (m as unknown as { watchdog: WatchdogLink }).watchdog;

  /**
   * Hangs the collector, beating for it from this thread (as a collector in a long drain
   * beats): the watchdog finds no hang, before the stop or during it. Answers what stops the beats.
   */
  async function hangBeating(m: PerformanceMonitor): Promise<() => void> {
    const ctl = controlViews((m as unknown as { control: SharedArrayBuffer }).control);
    const beating = setInterval(() => {
      const now = monitorNow(ctl);
      ctl.f64[CLOCK] = now;
      ctl.f64[BEAT_BY] = now + 1_000;
    }, 100);
    await m.injectFault('hang');
    await waitFor(() => ctl.f64[HANG_AT]! > 0, 10_000, 'the collector to hang');
    return () => clearInterval(beating);
  }

  it('finishes the stop through a successor when the collector dies during its stop: every sample recorded is on disk', async () => {
    const dir = dataDir();
    const m = monitor(dir);
    await m.start();
    for (let i = 1; i <= 10; i++) m.record('stopped_rt', i);
    await m.flush();
    // A collector that hangs and is not found hung: the samples below wait in the ring, and its
    // stop() is never answered.
    const stopBeating = await hangBeating(m);
    for (let i = 11; i <= 20; i++) m.record('stopped_rt', i);
    const exits: ActorExit[] = [];
    m.on('actor-exit', (e: ActorExit) => exits.push(e));
    const stopping = m.stop();
    // stop() is waiting on the collector's stop: it dies there (an OOM kill, a native crash).
    await waitFor(() => m.status().collector.state === 'stopped', 10_000, "the collector's stop to begin");
    stopBeating();
    watchdogOf(m).post({ op: 'terminate', actor: 'collector' });
    await stopping;
    const again = monitor(dir);
    await again.start();
    expect(await historyTotals(again, 'stopped_rt')).toEqual({ count: 20, sum: 210 });
    // The death is reported; the stop's work was done, so nothing was lost: no fault.
    expect(exits.map((e) => [e.actor, e.error?.message])).toEqual([['collector', 'collector: died during its stop (exited with code 1): a successor does its stop']]);
    expect(m.status().collector.lastExit?.message).toBe('collector: died during its stop (exited with code 1): a successor does its stop');
    expect(m.status().faults.total).toBe(0);
  });

  it('reports in status().faults what a collector still at its stop past the bound lost, terminated', async () => {
    const dir = dataDir();
    const m = monitor(dir);
    await m.start();
    for (let i = 1; i <= 10; i++) m.record('late_rt', i);
    await m.flush();
    const stopBeating = await hangBeating(m);
    for (let i = 11; i <= 20; i++) m.record('late_rt', i);
    // Its stop is not answered within the bound (5 s): it is terminated, and what it had not
    // applied is lost. Slow rather than dead, it gets no successor; the loss is said.
    await m.stop().finally(stopBeating);
    expect(m.status().faults.byKind['actor-stop']).toMatchObject({
      count: 1,
      lastMessage: 'collector: it did not finish its stop within 5000 ms and was terminated: the 10 samples left in the rings are lost (not applied to the store, nor stored)',
    });
    const again = monitor(dir);
    await again.start();
    expect(await historyTotals(again, 'late_rt')).toEqual({ count: 10, sum: 55 });
  });

  it('writes what the store holds through a successor when the storage actor dies during its last flush at stop()', async () => {
    const dir = dataDir();
    const m = monitor(dir);
    await m.start();
    // Thousands of series: the last flush takes long enough for the death to land in it.
    for (let s = 0; s < 5_000; s++) m.record('flushed_rt', 1, { shard: `s${s}` });
    await m.flush();
    // Dead before stop(): its successor's stop is the last flush (751ca02), and it dies there.
    await m.injectFault('kill', 'storage');
    const stopping = m.stop();
    // Looked at every turn, not every 25 ms: the flush must still be under way.
    const storageState = (): string | undefined => {
      const st = m.status().storage;
      return st.mode === 'sqlite' ? st.actor.state : undefined;
    };
    const deadline = Date.now() + 10_000;
    while (storageState() !== 'stopped' && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    watchdogOf(m).post({ op: 'terminate', actor: 'storage' });
    await stopping;
    const again = monitor(dir);
    await again.start();
    expect(await historyTotals(again, 'flushed_rt')).toEqual({ count: 5_000, sum: 5_000 });
  });

  it('loses only what came after the last flush when the process is SIGKILLed', async () => {
    const dir = dataDir();
    const child = spawn(process.execPath, [new URL('./fixtures/storage-recorder.mjs', import.meta.url).pathname, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const steps: { step: string; count: number; sum: number }[] = [];
    const lines = createInterface({ input: child.stdout });
    await new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        steps.push(JSON.parse(line) as { step: string; count: number; sum: number });
        if (steps.length === 2) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the recorder exited early (${code})`)));
    });
    child.kill('SIGKILL');
    await once(child, 'exit');
    const [a, b] = steps;
    expect(a!.step).toBe('a-persisted');
    expect(b!.step).toBe('b-recorded');
    // The dead process's lock is taken over; what its periodic flush committed is all there.
    const m = monitor(dir);
    await m.start();
    const got = await historyTotals(m, 'killed_rt');
    // Batch B was recorded within the flush period before the kill: it may have been flushed.
    expect([{ count: a!.count, sum: a!.sum }, { count: a!.count + b!.count, sum: a!.sum + b!.sum }]).toContainEqual(got);
    // And it says so: what the killed monitor recorded after its last write is gone, and when that write was.
    const said = m.status().faults.byKind['storage-unclean'];
    expect(said?.lastMessage).toMatch(new RegExp(`^${dir}: the monitor before this one \\(pid ${child.pid}\\) ended without stop\\(\\) \\(its process was killed, crashed, or ended by process.exit\\(\\)\\): what it recorded after its last write to this database, at \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z, is lost \\(at most its storageFlushMs of samples\\); everything before is here$`));
    // A monitor stopped as it should be leaves nothing to say.
    await m.stop();
    const next = monitor(dir);
    await next.start();
    expect(next.status().faults.byKind['storage-unclean']).toBeUndefined();
  });
});

describe('storage: memory', () => {
  it('writes no file and says so in status()', async () => {
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    monitors.push(m);
    await m.start();
    expect(m.status().storage).toEqual({ mode: 'memory' });
    expect(await m.flushStorage()).toBe(false);
  });
});
