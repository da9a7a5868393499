/**
 * The control state on disk (storage 'sqlite'): a monitor started again on the same dataDir
 * finds its rules, alert history, firing alerts (which then resolve normally), baselines,
 * the tunables' kept values (set again) and the audit log; a SIGKILLed process loses none of
 * what it was acknowledged for; preserve_data false discards the database; on a full disk
 * (a real one: a tmpfs, which needs root) a rule that cannot be committed is refused and not
 * created, while alerts go on and reach the disk once it has room.
 */
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { PerformanceMonitor, StorageError, type AlertTransition, type MonitorOptions } from '../dist/src/index.js';
import { MonitorHost } from '../dist/src/mcp/host.js';
import { McpFront } from '../dist/src/mcp/server.js';
import type { ControlOp } from '../dist/src/actors/protocols.js';
import { statementsOf } from '../dist/src/storage/control.js';
import { openSchema } from '../dist/src/storage/schema.js';
import { waitFor } from './helpers.js';

const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tmp = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-persist-'));
  dirs.push(dir);
  return dir;
};

function monitorOn(dataDir: string, options: MonitorOptions = {}): PerformanceMonitor {
  const m = new PerformanceMonitor({ storage: 'sqlite', dataDir, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false }, ...options });
  monitors.push(m);
  return m;
}

/** A knob whose value sets the cache hit rate the service records (so a step up is kept). */
function cacheKnob(m: PerformanceMonitor, knob: { value: number; sets: number[] }): void {
  m.registerTunable({
    name: 'cache.size',
    type: 'cache',
    get: () => knob.value,
    set: (v) => {
      knob.sets.push(v);
      knob.value = v;
    },
    min: 10,
    max: 90,
    step: 10,
    target: 'cache_hit_rate',
  });
}

/** The simulated service: every 10 ms, 20 cache lookups whose hit count follows the knob. */
function cacheTraffic(m: PerformanceMonitor, knob: { value: number }): NodeJS.Timeout {
  return setInterval(() => {
    for (let i = 0; i < 20; i++) m.record('cache_hit_rate', i < Math.round(knob.value / 5) ? 1 : 0);
  }, 10);
}

/** What the storage actor answered (rules and transitions committed) and what the monitor acknowledged, in order. */
function acknowledgements(m: PerformanceMonitor): string[] {
  const order: string[] = [];
  const link = (m as unknown as { storage: { commit(ops: ControlOp[]): Promise<number> } }).storage;
  const commit = link.commit.bind(link);
  link.commit = async (ops) => {
    const changes = await commit(ops);
    for (const op of ops.flatMap(statementsOf)) if (/^(INSERT|DELETE).* (alert_rule|alert_transition) /.test(op.sql)) order.push(`${op.sql.split(' ')[0]} ${/alert_\w+/.exec(op.sql)![0]} committed`);
    return changes;
  };
  m.on('alert', (t: AlertTransition) => order.push(`${t.to} emitted`));
  return order;
}

describe('the control state on disk', () => {
  it('comes back on start() on the same dataDir: rules, history, firing alerts that then resolve, baselines, kept tunable values, the audit log', async () => {
    const dir = tmp();
    const a = monitorOn(dir);
    const knob = { value: 50, sets: [] as number[] };
    cacheKnob(a, knob);
    await a.start();
    const order = acknowledgements(a);
    const timer = cacheTraffic(a, knob);
    const kept = await a.createAlertRule({ metric: 'queue_size', tags: { shard: 'a' }, operator: '>', threshold: 100, severity: 'critical', duration: 0, description: 'queue backs up', labels: { team: 'core' } });
    order.push('created');
    const gone = await a.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 1e9 });
    order.push('created');
    expect(await a.deleteAlertRule(gone.id)).toBe(true);
    order.push('deleted');
    a.record('queue_size', 150, { shard: 'a' });
    a.record('queue_size', 1, { shard: 'b' });
    await a.flush();
    await waitFor(() => a.getAlerts({ state: 'firing' }).length === 1, 10_000, 'the alert firing');
    // Each acknowledgement came after its commit: the rules' promises, the transition's event.
    expect(order).toEqual(['INSERT alert_rule committed', 'created', 'INSERT alert_rule committed', 'created', 'DELETE alert_rule committed', 'deleted', 'INSERT alert_transition committed', 'firing emitted']);
    await new Promise((resolve) => setTimeout(resolve, 600));
    // A window that holds a bucket's start (the interval is 1 s): one that lies inside a bucket is
    // read from that bucket whole, the samples before the change diluting the gain, which left a
    // loaded machine's run rolled back when the change came late in its bucket.
    const run = await a.optimize({ type: 'cache', dryRun: false, verificationWindowMs: 2500 }).finally(() => clearInterval(timer));
    expect(run.applied[0]).toMatchObject({ knob: 'cache.size', from: 50, to: 60, outcome: 'kept' });
    const baselines = await a.getBaselines();
    expect(baselines.some((b) => b.metric === 'queue_size')).toBe(true);
    const rules = a.listAlertRules();
    const history = a.getAlertHistory();
    const firing = a.getAlerts({ state: 'firing' });
    await a.stop();
    const log = a.getOptimizationLog();
    expect(log.map((e) => e.kind)).toEqual(['plan', 'change', 'verify', 'keep']);

    const b = monitorOn(dir);
    const knob2 = { value: 50, sets: [] as number[] };
    cacheKnob(b, knob2);
    await b.start();
    expect(b.listAlertRules()).toEqual(rules);
    expect(b.listAlertRules().map((r) => r.id)).toEqual([kept.id]);
    expect(b.getAlertHistory()).toEqual(history);
    expect(b.getAlerts({ state: 'firing' })).toEqual(firing);
    // The kept value is set again on the knob, and that is audited after the old entries.
    expect(knob2).toEqual({ value: 60, sets: [60] });
    expect(b.getOptimizationLog().slice(0, 4)).toEqual(log);
    expect(b.getOptimizationLog()[4]).toMatchObject({ seq: 5, kind: 'restore', knob: 'cache.size', from: 50, to: 60 });
    // queue_size has no data in this process yet: its baseline is the stored one.
    const stored = (await b.getBaselines()).filter((x) => x.metric === 'queue_size');
    expect(stored.map(({ seriesId: _, ...rest }) => rest)).toEqual(baselines.filter((x) => x.metric === 'queue_size').map(({ seriesId: _, ...rest }) => rest));

    // The alert that was firing resolves as it would have: same fingerprint, from firing.
    const fp = firing[0]!.fingerprint;
    b.record('queue_size', 10, { shard: 'a' });
    await b.flush();
    await waitFor(() => b.getAlerts({ state: 'resolved' }).length === 1, 10_000, 'the alert resolving');
    expect(b.getAlertHistory().slice(history.length)).toMatchObject([{ fingerprint: fp, from: 'firing', to: 'resolved', value: 10 }]);
    expect(b.getAlerts({ state: 'all' })).toMatchObject([{ fingerprint: fp, state: 'resolved', activeSince: firing[0]!.activeSince, firedAt: firing[0]!.firedAt }]);
  }, 60_000);

  it('writes everything again into a new file when the database is removed while running: the control state and the catalog, not only the rollups', async () => {
    const dir = tmp();
    const a = monitorOn(dir);
    const knob = { value: 50, sets: [] as number[] };
    cacheKnob(a, knob);
    await a.start();
    const timer = cacheTraffic(a, knob);
    await a.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 100, duration: 0 });
    a.record('queue_size', 150);
    // A series with no sample in the store: only the catalog knows it.
    a.metric('idle_rt', { route: '/never' });
    await a.flush();
    await waitFor(() => a.getAlerts({ state: 'firing' }).length === 1, 10_000, 'the alert firing');
    await new Promise((resolve) => setTimeout(resolve, 600));
    const run = await a.optimize({ type: 'cache', dryRun: false, verificationWindowMs: 2500 }).finally(() => clearInterval(timer));
    expect(run.applied[0]).toMatchObject({ knob: 'cache.size', outcome: 'kept' });
    const all = await a.getBaselines();
    const baselines = all.filter((b) => b.metric === 'queue_size');
    expect(baselines.length).toBe(1);
    const audited = a.getOptimizationLog().length;

    const file = join(dir, 'perfwatch.db');
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    // The next flush finds the file gone, creates a new one, and the monitor writes its state into it.
    expect(await a.flushStorage()).toBe(true);
    const after = await waitFor(async () => {
      const d = await a.storedData();
      return d !== null && d.rules === 1 && d.transitions === 1 && d.baselines === all.length && d.auditEntries === audited && d.tunables === 1 ? d : false;
    }, 10_000, 'the control state written again');
    expect(after).toMatchObject({ rules: 1, alerts: 1, transitions: 1, tunables: 1, auditEntries: audited, baselines: all.length });
    // Transitions after it number on from the rewritten ones, as in the file that was removed.
    a.record('queue_size', 10);
    await a.flush();
    await waitFor(() => a.getAlerts({ state: 'resolved' }).length === 1, 10_000, 'the alert resolving');
    const rules = a.listAlertRules();
    const history = a.getAlertHistory();
    const resolved = a.getAlerts({ state: 'all' });
    const log = a.getOptimizationLog();
    await a.stop();
    const raw = openSchema(file);
    expect(raw.prepare('SELECT seq FROM alert_transition ORDER BY seq').all()).toEqual([[1], [2]]);
    raw.close();

    const b = monitorOn(dir);
    const knob2 = { value: 50, sets: [] as number[] };
    cacheKnob(b, knob2);
    await b.start();
    expect([b.listAlertRules(), b.getAlertHistory(), b.getAlerts({ state: 'all' })]).toEqual([rules, history, resolved]);
    expect(b.getOptimizationLog().slice(0, log.length)).toEqual(log);
    expect(knob2.value).toBe(60);
    expect((await b.getBaselines()).filter((x) => x.metric === 'queue_size').map(({ seriesId: _, ...rest }) => rest)).toEqual(baselines.map(({ seriesId: _, ...rest }) => rest));
    const idle = await b.getMetricHistory({ metric: 'idle_rt' });
    expect([idle.kind, idle.totalSeries]).toEqual(['distribution', 0]);
  }, 60_000);

  it('creates the dataDir again when it is removed while running (rm -rf, a cleaner of /tmp), and writes everything into it', async () => {
    const dir = tmp();
    const a = monitorOn(dir);
    await a.start();
    await a.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 100 });
    a.record('queue_size', 5);
    await a.flush();
    expect(await a.flushStorage()).toBe(true);

    rmSync(dir, { recursive: true, force: true });
    a.record('queue_size', 7);
    await a.flush();
    expect(await a.flushStorage()).toBe(true);
    expect(a.status().storage).toMatchObject({ lastError: null });
    // Made again as the first ones were: the user's alone, whatever the umask (022 here).
    for (const file of readdirSync(dir)) expect([file, statSync(join(dir, file)).mode & 0o777]).toEqual([file, 0o600]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    await a.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 200 });
    await waitFor(async () => (await a.storedData())?.rules === 2, 10_000, 'the rules written again');
    await a.stop();

    const b = monitorOn(dir);
    await b.start();
    expect(b.listAlertRules().map((r) => r.threshold)).toEqual([100, 200]);
    const h = await b.getMetricHistory({ metric: 'queue_size' });
    expect(h.series.flatMap((s) => s.points).reduce((n, p) => n + p.count, 0)).toBe(2);
  }, 30_000);

  it("gives a restarted monitor's history one point a minute over the stored partial minutes and its own buckets, every sample counted once", async () => {
    const dir = tmp();
    const from = Date.now() - 15 * 60_000;
    const recorded: number[] = [];
    for (const run of [10, 20, 30]) {
      const m = monitorOn(dir);
      await m.start();
      m.define({ name: 'g', kind: 'gauge' });
      for (let i = 0; i < 3; i++) {
        m.record('g', run + i);
        recorded.push(run + i);
        await new Promise((r) => setTimeout(r, 400));
      }
      await m.flush();
      const [series] = (await m.getMetricHistory({ metric: 'g', from })).series;
      await m.stop();
      monitors.splice(monitors.indexOf(m), 1);
      expect(series!.points.reduce((n, p) => n + p.count, 0)).toBe(recorded.length);
      expect(Math.max(...series!.points.map((p) => p.max))).toBe(run + 2);
      // The first process's own samples only: raw.
      if (run === 10) expect(series!.resolution).toBe('raw');
      else {
        // Stored rows of the runs before (partial minutes) and this run's 1 s buckets: minutes.
        expect([series!.resolution, series!.stepMs]).toEqual(['rollup', 60_000]);
        const ts = series!.points.map((p) => p.t);
        for (const t of ts) expect(t % 60_000).toBe(0);
        expect(new Set(ts).size).toBe(ts.length);
      }
    }
  }, 60_000);

  it('answers resolveAlert() once the resolution is committed', async () => {
    const m = monitorOn(tmp());
    await m.start();
    const order = acknowledgements(m);
    await m.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 100, autoResolve: false });
    m.record('queue_size', 500);
    await m.flush();
    const [alert] = await waitFor(() => m.getAlerts({ state: 'firing' }).length === 1 && m.getAlerts({ state: 'firing' }), 10_000, 'the alert firing');
    order.length = 0;
    expect(await m.resolveAlert(alert!.fingerprint)).toBe(true);
    order.push('answered');
    expect(order).toEqual(['INSERT alert_transition committed', 'resolved emitted', 'answered']);
  }, 30_000);

  it('keeps, after a SIGKILL, every rule and transition the process was acknowledged for', async () => {
    const dir = tmp();
    const child = spawn(process.execPath, [new URL('./fixtures/alerts-killed.mjs', import.meta.url).pathname, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked = { rules: [] as string[], transitions: [] as Pick<AlertTransition, 'at' | 'fingerprint' | 'ruleId' | 'from' | 'to'>[] };
    const exited = new Promise((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = JSON.parse(line) as { rule?: string; t?: (typeof acked.transitions)[number] };
        if (m.rule) acked.rules.push(m.rule);
        if (m.t) acked.transitions.push(m.t);
        // Killed in the middle of its work: rules being created, alerts flipping.
        if (acked.rules.length >= 12 && acked.transitions.length >= 40 && child.signalCode === null && !child.killed) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await exited;
    expect(child.signalCode).toBe('SIGKILL');

    const m = monitorOn(dir);
    await m.start();
    const rules = m.listAlertRules().map((r) => r.id);
    // Every acknowledged rule; beyond them at most the one whose commit the kill overtook.
    expect(rules.slice(0, acked.rules.length)).toEqual(acked.rules);
    expect(rules.length - acked.rules.length).toBeLessThanOrEqual(1);
    const history = m.getAlertHistory().map(({ at, fingerprint, ruleId, from, to }) => ({ at, fingerprint, ruleId, from, to }));
    // Every acknowledged transition, in order; beyond them only transitions committed but not yet emitted.
    expect(history.slice(0, acked.transitions.length)).toEqual(acked.transitions);
    // The alerts' states are those their last stored transition left.
    const last = new Map<string, string>();
    for (const t of history) last.set(t.fingerprint, t.to);
    const states = new Map(m.getAlerts({ state: 'all' }).map((x) => [x.fingerprint, x.state as string]));
    for (const [fp, to] of last) if (to !== 'inactive') expect(states.get(fp), fp).toBe(to);
  }, 60_000);
});

describe('stop_performance_monitoring and the database', () => {
  async function front(dataDir: string, options: MonitorOptions = {}) {
    const monitor = new PerformanceMonitor({ storage: 'sqlite', dataDir, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false }, ...options });
    const host = new MonitorHost(monitor, true);
    const server = new McpFront(host).createServer('legacy');
    const client = new Client({ name: 'persist', version: '1.0.0' });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    await client.connect(b);
    const call = async (name: string, args: Record<string, unknown> = {}) => {
      const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: { text: string }[] };
      expect(r.isError, r.content[0]?.text).toBeFalsy();
      return r.content.map((c) => c.text).join('\n');
    };
    return { host, call, close: () => Promise.all([client.close(), host.close()]) };
  }

  it('with preserve_data true says what it kept and where, and a new process finds it', async () => {
    const dir = tmp();
    const f = await front(dir);
    await f.call('start_performance_monitoring');
    await f.host.monitor.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 1 });
    f.host.monitor.record('queue_size', 5);
    await f.host.monitor.flush();
    await waitFor(() => f.host.monitor.getAlertHistory().length === 1, 10_000, 'a transition');
    const text = await f.call('stop_performance_monitoring');
    expect(text).toMatch(new RegExp(`^stopped; data kept in ${join(dir, 'perfwatch.db').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: \\d+ series \\(\\d+ rollup rows? on disk\\), 1 alert rule, 1 alert transition, 1 alert state, 0 baselines, 0 audit entries, 0 kept tunable values; start_performance_monitoring resumes on it`));
    await f.close();
    const m = monitorOn(dir);
    await m.start();
    expect(m.listAlertRules()).toHaveLength(1);
  }, 30_000);

  it('counts what the file holds once its last flush is written, a stop before the first flush and one after a restart alike', async () => {
    // A stop within the first storageFlushMs said "0 rollup rows on disk" of a file that then
    // held every series' row, and a restart's stop counted the registry's series, not the file's.
    const dir = tmp();
    const f = await front(dir);
    await f.call('start_performance_monitoring');
    for (let s = 0; s < 40; s++) f.host.monitor.record('stop_count_rt', s, { shard: String(s) });
    const counted = (text: string) => {
      const m = /: (\d+) series \((\d+) rollup rows? on disk\)/.exec(text);
      expect(m, text).not.toBeNull();
      return { series: Number(m![1]), rows: Number(m![2]) };
    };
    const first = counted(await f.call('stop_performance_monitoring'));
    await f.close();
    const raw = openSchema(join(dir, 'perfwatch.db'));
    const inFile = (sql: string) => Number((raw.prepare(sql).all() as number[][])[0]![0]);
    const app = { series: inFile("SELECT count(*) FROM series WHERE name = 'stop_count_rt'"), rows: inFile("SELECT count(*) FROM rollups r JOIN series s ON s.id = r.series WHERE s.name = 'stop_count_rt'") };
    const all = { series: inFile('SELECT count(*) FROM series'), rows: inFile('SELECT count(*) FROM rollups') };
    raw.close();
    expect(app.series).toBe(40);
    expect(app.rows).toBeGreaterThanOrEqual(40);
    // What the answer counted is in the file (the monitor's own series may gain a row after it).
    expect(first.series).toBeGreaterThanOrEqual(40);
    expect(first.rows).toBeGreaterThanOrEqual(40);
    expect(first.series).toBeLessThanOrEqual(all.series);
    expect(first.rows).toBeLessThanOrEqual(all.rows);

    // A new process that records nothing: at maxSeries 40 its start leaves the 40 stored series
    // out of the registry (room for them to come back live), and they are still in the file.
    const g = await front(dir, { maxSeries: 40 });
    await g.call('start_performance_monitoring');
    const second = counted(await g.call('stop_performance_monitoring'));
    await g.close();
    expect((g.host.monitor.status().storage as { catalog?: { leftOut: number } }).catalog?.leftOut).toBe(40);
    expect(second.series).toBeGreaterThanOrEqual(all.series);
    expect(second.rows).toBeGreaterThanOrEqual(all.rows);
  }, 30_000);

  it('keeps a rule an agent creates or deletes after stop_performance_monitoring: a new process on the dataDir finds the change', async () => {
    // The stop answer says a new process resumes on the data; the changes made after it waited
    // in memory and were lost with the process: the deleted rule came back, the created one was gone.
    const dir = tmp();
    const f = await front(dir);
    await f.call('start_performance_monitoring');
    const doomed = await f.host.monitor.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 1, name: 'to delete while stopped' });
    await f.call('stop_performance_monitoring');
    expect(await f.call('create_performance_alert_rule', { metric_type: 'queue_size', operator: '>', threshold: 20, severity: 'critical', name: 'made while stopped' })).toMatch(/^created rule /);
    expect(await f.call('delete_performance_alert_rule', { rule_id: doomed.id })).toMatch(/^deleted rule /);
    await f.close();
    const m = monitorOn(dir);
    await m.start();
    expect(m.listAlertRules().map((r) => r.name)).toEqual(['made while stopped']);
  }, 30_000);

  it('with preserve_data false says what it discarded, deletes the database, and nothing comes back', async () => {
    const dir = tmp();
    const f = await front(dir);
    await f.call('start_performance_monitoring');
    await f.host.monitor.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 1 });
    await f.host.monitor.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 2 });
    f.host.monitor.record('queue_size', 5);
    await f.host.monitor.flush();
    await waitFor(() => f.host.monitor.getAlertHistory().length === 2, 10_000, 'two transitions');
    const text = await f.call('stop_performance_monitoring', { preserve_data: false });
    expect(text).toMatch(/^stopped; data discarded: \d+ series \(\d+ rollup rows? on disk\), 2 alert rules, 2 alert transitions, 2 alert states, 0 baselines, 0 audit entries, 0 kept tunable values; the database .*perfwatch\.db was deleted$/);
    expect(existsSync(join(dir, 'perfwatch.db'))).toBe(false);
    // The front's new monitor starts on an empty database.
    await f.call('start_performance_monitoring');
    expect(f.host.monitor.listAlertRules()).toEqual([]);
    expect(f.host.monitor.getAlertHistory()).toEqual([]);
    await f.close();
    const m = monitorOn(dir);
    await m.start();
    expect(m.listAlertRules()).toEqual([]);
  }, 30_000);
});

const root = process.getuid?.() === 0;
(root ? describe : describe.skip)(root ? 'the control state on a full disk' : 'the control state on a full disk (skipped: mounting a tmpfs needs root)', () => {
  const mnt = mkdtempSync(join(tmpdir(), 'pw-tmpfs-'));
  beforeAll(() => {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
  });
  afterAll(() => {
    execFileSync('umount', [mnt]);
    rmSync(mnt, { recursive: true });
  });

  /** Writes until the file system is full; returns the filler's path. */
  function fill(): string {
    const filler = join(mnt, 'filler');
    for (const size of [64 * 1024, 512]) {
      for (;;) {
        try {
          appendFileSync(filler, Buffer.alloc(size, 1));
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    }
    return filler;
  }

  it('refuses a rule it cannot commit with a StorageError and creates nothing; alerts go on and reach the disk once it has room', async () => {
    const dir = join(mnt, 'data');
    const m = monitorOn(dir);
    const events: string[] = [];
    m.on('alert', (t: AlertTransition) => events.push(`${t.from}>${t.to}`));
    await m.start();
    const first = await m.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 100 });
    const filler = fill();
    // A rule of 33 KB needs new pages: rules are created until one cannot be committed.
    const big = { metric: 'queue_size', operator: '>' as const, threshold: 1e9, description: 'd'.repeat(1000), labels: Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`l${i}`, 'x'.repeat(1024)])) };
    let refused: StorageError | undefined;
    const created: string[] = [];
    for (let i = 0; i < 200 && !refused; i++) {
      try {
        created.push((await m.createAlertRule({ ...big, name: `big ${i}` })).id);
      } catch (error) {
        refused = error as StorageError;
      }
    }
    expect(refused).toBeInstanceOf(StorageError);
    expect(refused).toMatchObject({ code: 'PW_ERR_STORAGE', path: join(dir, 'perfwatch.db') });
    expect(refused!.message).toMatch(new RegExp(`: cannot save alert rule "big ${created.length}", so it was not done: .*full.*try again once status\\(\\)\\.storage shows no error$`));
    expect(m.listAlertRules().map((r) => r.id)).toEqual([first.id, ...created]);
    // A transition during the fault fires and is emitted, and waits to be written.
    m.record('queue_size', 500);
    await m.flush();
    await waitFor(() => events.length === 1, 10_000, 'the alert firing');
    expect(events).toEqual(['inactive>firing']);
    await waitFor(() => (m.status().storage as { control?: { unsaved: number } }).control?.unsaved === 2, 10_000, 'the transition waiting');
    expect((m.status().storage as { control: { lastError: string } }).control.lastError).toMatch(/full/);
    expect(m.status().faults.byKind['storage-control']?.count).toBeGreaterThanOrEqual(1);

    rmSync(filler);
    const after = await m.createAlertRule({ metric: 'queue_size', operator: '>', threshold: 1000 });
    expect((m.status().storage as { control: { unsaved: number; lastError: string | null } }).control).toMatchObject({ unsaved: 0, lastError: null });
    await m.stop();
    const again = monitorOn(dir);
    await again.start();
    expect(again.listAlertRules().map((r) => r.id)).toEqual([first.id, ...created, after.id]);
    expect(again.getAlertHistory()).toMatchObject([{ ruleId: first.id, from: 'inactive', to: 'firing', value: 500 }]);
    expect(again.getAlerts({ state: 'firing' })).toMatchObject([{ ruleId: first.id }]);
  }, 60_000);
});
