import { describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { InvalidArgumentError, PerformanceMonitor, type MemberLinkStatus } from '../dist/src/index.js';
import { caught, monitorStarter, waitFor } from './helpers.js';
import { hubNodes, rawMember, rowsBatch as batch, type HubNode } from './hub-helpers.js';
import { CLI, quietConfig } from './mcp-helpers.js';

const run = promisify(execFile);
const nodes = hubNodes();
const started = monitorStarter();

/** A series definition of a hand-made batch: sid 0 is raw_rt{route="/r"}, a distribution. */
const def = (sid = 0, kind = 'distribution', tags: Record<string, string> = { route: '/r' }) => [sid, 'raw_rt', tags, kind, ''];

interface Totals {
  name: string;
  tags: Record<string, string>;
  totalCount: number;
  totalSum: number;
}

async function totals(hub: HubNode, name: string): Promise<Totals[]> {
  return (await hub.ask({ cmd: 'metrics', names: [name] })).metrics;
}

/** Waits until the hub's cluster-wide series of `name` (no instance tag) holds `count` samples. */
async function clusterReaches(hub: HubNode, name: string, count: number): Promise<Totals> {
  return waitFor(async () => {
    const all = await totals(hub, name);
    const c = all.find((s) => !('instance' in s.tags));
    return c && c.totalCount >= count ? c : undefined;
  }, 20_000, `${name} to reach ${count} on the hub`);
}

const ints = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);

describe('hub over node:cluster', () => {
  it("merges the workers' buckets: exact count and sum, the p99 of one sketch of all samples (not the mean of the members' p99s), per-member series tagged instance, and a rule on the hub fires on the cluster-wide value only", async () => {
    const { stdout } = await run(process.execPath, [new URL('./fixtures/hub-cluster.mjs', import.meta.url).pathname], { timeout: 60_000, env: { ...process.env, WORKERS: '4' } });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    const lat = r.metrics.filter((s: Totals) => s.name === 'hub_latency');
    const cluster = lat.find((s: Totals) => !('instance' in s.tags));
    expect(cluster.totalCount).toBe(r.expected.count);
    expect(cluster.totalSum).toBe(r.expected.sum);
    expect(cluster.p99).toBe(r.expected.p99);
    const meanOfP99s = r.expected.memberP99.reduce((a: number, b: number) => a + b, 0) / r.expected.memberP99.length;
    expect(Math.abs(cluster.p99 - meanOfP99s) / cluster.p99).toBeGreaterThan(0.5);
    const members = lat.filter((s: Totals & { p99: number }) => 'instance' in s.tags);
    expect(members.map((s: Totals) => s.tags.instance).sort()).toEqual(['worker-1', 'worker-2', 'worker-3', 'worker-4']);
    expect(members.map((s: Totals) => s.totalCount)).toEqual([2000, 2000, 2000, 2000]);
    // Each member's p99 is its own sketch's, within the sketch's relative error.
    const mine = members.map((s: { p99: number }) => s.p99).sort((a: number, b: number) => a - b);
    [...r.expected.memberP99].sort((a, b) => a - b).forEach((p: number, i: number) => expect(Math.abs(mine[i] - p) / p).toBeLessThan(0.0078));
    // The rule (sum of requests > 7000) holds for the cluster (8000), for no member (2000 each) nor three.
    expect(r.alerts).toEqual([{ state: 'firing', tags: { route: '/a' }, value: r.expected.requests }]);
    // The application's own IPC messages arrived untouched beside the hub's.
    expect(r.user.map((m: { from: number }) => m.from).sort()).toEqual([0, 1, 2, 3]);
    for (const d of r.done) expect(d.link).toMatchObject({ role: 'member', transport: 'cluster', dropped: 0, queueDepth: 0, lastError: null });
    expect(r.hub.members).toHaveLength(4);
    // Every worker stopped cleanly, and said so: stopped, not live (nor stale later).
    for (const m of r.hub.members) expect(m).toMatchObject({ state: 'stopped', failed: 0, dropped: 0, queueDepth: 0 });
    // What the hub counts as applied is what the members count as acknowledged, bucket for bucket.
    const applied = Object.fromEntries(r.hub.members.map((m: { instance: string; buckets: number }) => [m.instance, m.buckets]));
    for (const d of r.done) expect(applied[d.link.instance]).toBe(d.link.sent);
    expect(Object.values(applied).every((b) => (b as number) > 0)).toBe(true);
  });
});

describe("hub over node:cluster, docs/cluster.md's snippet as written", () => {
  it("workers given neither storage nor dataDir keep memory storage (the primary's SQLite holds the history), so that every start() succeeds; a worker's own dataDir is kept", async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'perfwatch-cluster-defaults-'));
    try {
      const { stdout } = await run(process.execPath, [new URL('./fixtures/hub-cluster-defaults.mjs', import.meta.url).pathname], { timeout: 60_000, cwd });
      const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
      expect(r.primary).toEqual({ mode: 'sqlite', dataDir: join(cwd, 'perfwatch-data') });
      expect(r.workers).toEqual({
        '1': { started: true, mode: 'memory' },
        '2': { started: true, mode: 'memory' },
        '3': { started: true, mode: 'sqlite', dataDir: join(cwd, 'worker-3-data') },
      });
      expect(r.total).toBe(30);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('hub over node:cluster, a malformed message', () => {
  it('resets the link and tells the worker, which says hello again: its later buckets reach the hub', async () => {
    const { stdout } = await run(process.execPath, [new URL('./fixtures/hub-cluster-malformed.mjs', import.meta.url).pathname], { timeout: 60_000 });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(r.total).toBe(200);
    expect(r.malformed).toBe(1);
    expect(r.reset.lastError.message).toMatch(/^the hub reset this link: /);
    // Said until the hub acknowledged a batch again, then cleared; the reset stays counted.
    expect(r.link).toMatchObject({ role: 'member', transport: 'cluster', connected: true, lastError: null });
    expect(r.link.failed).toBeGreaterThan(0);
  });
});

describe("hub over node:cluster, the primary's socket", () => {
  it('each worker moves its link from the IPC channel to the primary\'s socket after its hello: no batch crosses the channel, and every bucket reaches the hub', async () => {
    const { stdout } = await run(process.execPath, [new URL('./fixtures/hub-cluster-socket.mjs', import.meta.url).pathname], { timeout: 60_000 });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(r.totals).toEqual({ cluster: 400, 'worker-1': 200, 'worker-2': 200 });
    expect(Object.values(r.batches).every((b) => (b as number) >= 3)).toBe(true);
    // The hello, and at most one message sent before the socket answered.
    expect(Object.keys(r.envelopes).sort()).toEqual(['1', '2']);
    for (const n of Object.values(r.envelopes)) expect(n).toBeLessThanOrEqual(2);
  });

  it("a worker whose monitor is stopped and started again moves its link back to the primary's socket at once: after its hello, no batch crosses the channel", async () => {
    const { stdout } = await run(process.execPath, [new URL('./fixtures/hub-cluster-socket.mjs', import.meta.url).pathname], { timeout: 60_000, env: { ...process.env, RESTART: '1' } });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(r.totals).toEqual({ cluster: 400, 'worker-1': 200, 'worker-2': 200 });
    // The hello on the channel, and at most one message before the socket answered. Before,
    // the worker kept the socket's path and dialed it no more: each batch after its start
    // crossed the channel, base64 in JSON, for as long as it ran.
    expect(Object.keys(r.after).sort()).toEqual(['1', '2']);
    for (const n of Object.values(r.after)) expect(n).toBeLessThanOrEqual(2);
  });

  it('a primary that cannot listen on a socket (its temporary folder missing) keeps every link on the IPC channel, and every bucket reaches the hub', async () => {
    const { stdout } = await run(process.execPath, [new URL('./fixtures/hub-cluster-socket.mjs', import.meta.url).pathname], { timeout: 60_000, env: { ...process.env, TMPDIR: '/nonexistent/perfwatch-hub-test' } });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(r.totals).toEqual({ cluster: 400, 'worker-1': 200, 'worker-2': 200 });
    // Every batch crossed the channel: the hello and at least the batches the hub applied.
    for (const [id, n] of Object.entries(r.envelopes)) expect(n).toBeGreaterThan(r.batches[`worker-${id}`]);
  });
});

describe('hub over node:cluster, members dying', () => {
  it("a worker killed and forked again under its name: its counter goes on adding on the hub (no jump back, nothing twice), the others lose no interval, and a worker killed for good is marked stale, then forgotten", async () => {
    const { stdout } = await run(process.execPath, [new URL('./fixtures/hub-cluster-restart.mjs', import.meta.url).pathname], { timeout: 90_000 });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    // Round one: 100 each of 4 members; round two: 100 each of slots 0 and 1 (counting while
    // 2 and 3 were killed) and of slot 2 forked again (a new epoch under the same name).
    expect(r.before.cluster).toBe(400);
    expect(r.after.members).toEqual({ 'slot-0': 200, 'slot-1': 200, 'slot-2': 200, 'slot-3': 100 });
    expect(r.after.cluster).toBe(700);
    expect(r.afterForgotten).toEqual({ cluster: 700, members: { 'slot-0': 200, 'slot-1': 200, 'slot-2': 200 } });
    expect(r.staleSeen).toBe(true);
    expect(r.hub.forgotten).toBe(1);
    expect(r.hub.malformed).toBe(0);
    expect(r.hub.members.map((m: { instance: string }) => m.instance).sort()).toEqual(['slot-0', 'slot-1', 'slot-2']);
    for (const m of r.hub.members) expect(m).toMatchObject({ state: 'live', connected: true, failed: 0, dropped: 0, queueDepth: 0 });
    // The collector never crashed. The watchdog may have replaced it for a heartbeat missed
    // while its thread waited for a CPU on a loaded machine (docs/cluster.md, Not done): that
    // is the scheduler's timing, not this test's business; the exact totals above are.
    expect(r.collectorExits).toHaveLength(r.collectorRestarts);
    for (const e of r.collectorExits) expect(e).toMatchObject({ hung: true, rule: expect.stringMatching(/no heartbeat/) });
  }, 100_000);
});

describe('hub over node:cluster, workers replaced', () => {
  it("a worker left to its default name is named by its slot: a replacement forked after a SIGKILL takes the dead worker's name and goes on with its series, so a crash loop adds no member series", async () => {
    const { stdout } = await run(process.execPath, [new URL('./fixtures/hub-cluster-slots.mjs', import.meta.url).pathname], { timeout: 90_000 });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    // Worker 2's slot had four processes (node:cluster ids 2, 3, 4, 5), each counting 100.
    expect(r.totals).toEqual({ cluster: 500, 'worker-1': 100, 'worker-2': 400 });
    expect(r.memberSeries).toEqual(['worker-1', 'worker-2']);
    expect(r.members.map((x: { instance: string }) => x.instance).sort()).toEqual(['worker-1', 'worker-2']);
    // Each process's own link says the name the hub gave it.
    expect(r.names).toEqual([
      { worker: 1, instance: 'worker-1' },
      { worker: 2, instance: 'worker-2' },
      { worker: 3, instance: 'worker-2' },
      { worker: 4, instance: 'worker-2' },
      { worker: 5, instance: 'worker-2' },
    ]);
  }, 100_000);
});

describe('hub over a Unix socket', () => {
  it('independent processes: exact totals per member and cluster-wide', async () => {
    const path = nodes.socketPath();
    const hub = await nodes.start('hub', path);
    const a = await nodes.start('member', path, 'api-a');
    const b = await nodes.start('member', path, 'api-b');
    await a.ask({ cmd: 'record', name: 'sock_rt', values: ints(1, 500), tags: { route: '/x' } });
    await b.ask({ cmd: 'record', name: 'sock_rt', values: ints(1000, 300), tags: { route: '/x' } });
    const c = await clusterReaches(hub, 'sock_rt', 800);
    expect(c).toMatchObject({ totalCount: 800, totalSum: sum(ints(1, 500)) + sum(ints(1000, 300)), tags: { route: '/x' } });
    const per = (await totals(hub, 'sock_rt')).filter((s) => 'instance' in s.tags);
    expect(per.map((s) => [s.tags.instance, s.totalCount, s.totalSum]).sort()).toEqual([
      ['api-a', 500, sum(ints(1, 500))],
      ['api-b', 300, sum(ints(1000, 300))],
    ]);
    // `sent` counts what the hub acknowledged: its ack may reach the member after the hub's
    // totals are readable, so it is awaited (a hang guard), not read at once.
    const s = await waitFor(async () => {
      const hub = (await a.ask({ cmd: 'status' })).hub;
      return hub.sent > 0 ? hub : undefined;
    }, 20_000, 'the hub acknowledging api-a');
    expect(s).toMatchObject({ role: 'member', transport: 'socket', instance: 'api-a', connected: true, dropped: 0, lastError: null });
    // The links' own metrics: what a member sent, and the hub's live members.
    await waitFor(async () => (await totals(a, 'monitor_hub_sent')).some((t) => t.totalSum > 0), 20_000, 'monitor_hub_sent on the member');
    const members = await waitFor(async () => (await totals(hub, 'monitor_hub_members')).find((t) => t.tags.state === 'live' && t.totalSum > 0), 20_000, 'monitor_hub_members on the hub');
    expect(members.totalSum).toBeGreaterThan(0);
  });

  it('a member stopped before the hub answered its hello sends its last buckets once the hub does', async () => {
    const path = nodes.socketPath();
    const hub = await nodes.start('hub', path);
    // The hub's event loop held: the member connects (the kernel accepts), says hello, records and stops unanswered.
    await hub.ask({ cmd: 'block', ms: 1500 });
    const a = await nodes.start('member', path, 'late');
    await a.ask({ cmd: 'record', name: 'late_rt', values: ints(1, 50) });
    const stopped = await a.ask({ cmd: 'stop' });
    expect(stopped.hub).toMatchObject({ queueDepth: 0, dropped: 0 });
    expect(stopped.hub.sent).toBeGreaterThan(0);
    const c = await clusterReaches(hub, 'late_rt', 50);
    expect(c).toMatchObject({ totalCount: 50, totalSum: sum(ints(1, 50)) });
  });

  it('a hub killed and restarted: members reconnect and resend what they held, none lost, none twice', async () => {
    const path = nodes.socketPath();
    let hub = await nodes.start('hub', path);
    const a = await nodes.start('member', path, 'a');
    const b = await nodes.start('member', path, 'b');
    await a.ask({ cmd: 'record', name: 'restart_rt', values: ints(1, 100) });
    await b.ask({ cmd: 'record', name: 'restart_rt', values: ints(1, 100) });
    await clusterReaches(hub, 'restart_rt', 200);
    // Killed once the members hold nothing: an ack still on its way would make them resend
    // batch A to the new hub, rightly (it never saw it), and the totals below would differ.
    for (const m of [a, b]) await waitFor(async () => (await m.ask({ cmd: 'status' })).hub.queueDepth === 0, 20_000, 'the member to be acknowledged');
    await hub.kill();
    // While the hub is away: recorded, closed, held.
    await a.ask({ cmd: 'record', name: 'restart_rt', values: ints(500, 70) });
    await b.ask({ cmd: 'record', name: 'restart_rt', values: ints(900, 30) });
    for (const m of [a, b]) await waitFor(async () => (await m.ask({ cmd: 'status' })).hub.queueDepth > 0, 20_000, 'the member to hold buckets');
    hub = await nodes.start('hub', path);
    // A fresh hub (memory store) gets exactly what the members held: the batches after the kill.
    await clusterReaches(hub, 'restart_rt', 100);
    for (const m of [a, b]) await waitFor(async () => (await m.ask({ cmd: 'status' })).hub.queueDepth === 0, 20_000, 'the member to be acknowledged');
    const c = await clusterReaches(hub, 'restart_rt', 100);
    expect(c).toMatchObject({ totalCount: 100, totalSum: sum(ints(500, 70)) + sum(ints(900, 30)) });
    // Nothing arrives twice, however long we look.
    await a.ask({ cmd: 'record', name: 'restart_rt', values: [1] });
    const after = await clusterReaches(hub, 'restart_rt', 101);
    expect(after.totalCount).toBe(101);
    const s = (await a.ask({ cmd: 'status' })).hub;
    expect(s.failed).toBeGreaterThan(0);
    expect(s.dropped).toBe(0);
  });

  it('a member killed is marked stale, then dropped', async () => {
    const path = nodes.socketPath();
    const hub = await nodes.start('hub', path);
    const a = await nodes.start('member', path, 'doomed');
    await a.ask({ cmd: 'record', name: 'stale_rt', values: [1, 2, 3] });
    await clusterReaches(hub, 'stale_rt', 3);
    await a.kill();
    const stale = await waitFor(async () => (await hub.ask({ cmd: 'status' })).hub.members.find((m: { instance: string; state: string }) => m.instance === 'doomed' && m.state === 'stale'), 20_000, 'stale');
    expect(stale.connected).toBe(false);
    const gone = await waitFor(async () => {
      const h = (await hub.ask({ cmd: 'status' })).hub;
      return h.members.length === 0 ? h : undefined;
    }, 20_000, 'dropped');
    expect(gone.forgotten).toBe(1);
    // Its series leave the answers of now; the cluster-wide one keeps what it sent.
    expect((await totals(hub, 'stale_rt')).map((s) => [s.tags, s.totalCount])).toEqual([[{}, 3]]);
  });

  it("a member's buffer while the hub is away is capped; the drops are counted", async () => {
    const path = nodes.socketPath();
    const a = await nodes.start('member', path, 'capped', '3');
    for (let i = 0; i < 3; i++) {
      await a.ask({ cmd: 'record', name: 'cap_rt', values: [1], tags: { n: String(i) } });
      await a.ask({ cmd: 'record', name: 'cap_rt', values: [2], tags: { n: String(i + 10) } });
    }
    const s = await waitFor(async () => {
      const h = (await a.ask({ cmd: 'status' })).hub;
      return h.dropped > 0 ? h : undefined;
    }, 20_000, 'drops');
    expect(s.queueDepth).toBeLessThanOrEqual(3);
    expect(s.connected).toBe(false);
    expect(s.failed).toBeGreaterThan(0);
    expect(s.lastError?.message).toMatch(/ENOENT|ECONNREFUSED/);
    // The hub that comes gets what was held, and the member says what it lost.
    const hub = await nodes.start('hub', path);
    // Each of the six series' buckets is either applied on the hub or counted dropped: waited
    // for, not read once the held batches were sent, since a bucket that closed after `s` was
    // read goes in a later batch (a CI run under load read 4 of 6 with one still on its way).
    const accounted = await waitFor(async () => {
      const got = (await totals(hub, 'cap_rt')).filter((t) => 'instance' in t.tags).length;
      const final = (await a.ask({ cmd: 'status' })).hub;
      return final.queueDepth === 0 && got + final.dropped >= 6 ? { got, dropped: final.dropped } : undefined;
    }, 20_000, 'every bucket applied on the hub or counted dropped');
    expect(accounted.got + accounted.dropped).toBe(6);
    expect(accounted.dropped).toBeGreaterThan(0);
  });

  it("a member's lastError of its link (connect ENOENT while the hub was away) is cleared once the hub acknowledges a batch again; what failed stays counted", async () => {
    const path = nodes.socketPath();
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'early', retryMaxMs: 200 } });
    const link = () => member.status().hub as MemberLinkStatus;
    member.record('early_rt', 1);
    const away = await waitFor(() => link().lastError ?? undefined, 10_000, 'the link error');
    expect(away.message).toMatch(/ENOENT|ECONNREFUSED/);
    await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    await waitFor(() => link().sent > 0, 20_000, 'a batch acknowledged');
    member.record('early_rt', 2);
    const sent = link().sent;
    await waitFor(() => link().sent > sent, 20_000, 'the next batch acknowledged');
    expect(link()).toMatchObject({ connected: true, lastError: null });
    expect(link().failed).toBeGreaterThan(0);
  });

  it('a resent batch is acknowledged and not applied again; a new epoch (a restarted member) starts its seqs over and adds up', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const total = () => hub.getMetrics({ names: ['raw_rt'], tags: { route: '/r' } }).find((s) => !('instance' in s.tags))?.totalCount ?? 0;
    const a = await rawMember(path);
    a.send({ t: 'hello', instance: 'hand', epoch: 'e1', intervalMs: 1000 });
    const first = await a.answer(1);
    expect(first).toEqual({ t: 'welcome', acked: 0, round: 1, hub: expect.any(String) });
    a.send(batch(1, 1, [[0, 5, 5]], [def()]));
    expect(await a.answer(2)).toEqual({ t: 'ack', seq: 1 });
    // The connection drops before the member saw the ack: it reconnects and resends seq 1.
    a.close();
    const b = await rawMember(path);
    b.send({ t: 'hello', instance: 'hand', epoch: 'e1', intervalMs: 1000 });
    // The same hub run: its rounds go on.
    expect(await b.answer(1)).toEqual({ t: 'welcome', acked: 1, round: 2, hub: first.hub });
    b.send(batch(1, 2, [[0, 5, 5]], [def()]));
    expect(await b.answer(2)).toEqual({ t: 'ack', seq: 1 });
    b.send(batch(2, 2, [[0, 2, 2]]));
    expect(await b.answer(3)).toEqual({ t: 'ack', seq: 2 });
    // A batch of an earlier round (sent before a resync) is ignored.
    b.send(batch(3, 1, [[0, 100, 100]]));
    // The member restarted: epoch e2, seq 1 again, applied.
    b.send({ t: 'hello', instance: 'hand', epoch: 'e2', intervalMs: 1000 });
    expect(await b.answer(4)).toEqual({ t: 'welcome', acked: 0, round: 3, hub: first.hub });
    b.send(batch(1, 3, [[0, 1, 1]], [def()]));
    expect(await b.answer(5)).toEqual({ t: 'ack', seq: 1 });
    await hub.flush();
    expect(total()).toBe(8);
    b.close();
  });

  it("a member's own series on the hub keeps its buckets' starts (closed records, as on the member); a bucket that would come before one it has goes into the open bucket; the totals exact either way", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const a = await rawMember(path);
    a.send({ t: 'hello', instance: 'timed', epoch: 'e', intervalMs: 1000 });
    await a.answer(1);
    const s = Math.floor(Date.now() / 1000) * 1000;
    a.send(batch(1, 1, [[0, 3, 30, s - 3000], [0, 2, 20, s - 2000]], [def()]));
    expect(await a.answer(2)).toEqual({ t: 'ack', seq: 1 });
    // Its start comes before the newest record the series has: into the hub's open bucket.
    a.send(batch(2, 1, [[0, 4, 40, s - 3000]]));
    expect(await a.answer(3)).toEqual({ t: 'ack', seq: 2 });
    await hub.flush();
    const mine = hub.getMetrics({ names: ['raw_rt'], tags: { instance: 'timed' } });
    expect(mine.map((m) => [m.totalCount, m.totalSum])).toEqual([[9, 90]]);
    const history = await hub.getMetricHistory({ metric: 'raw_rt', tags: { instance: 'timed' }, resolution: 'bucket', from: s - 10_000 });
    const points = history.series[0]!.points;
    expect(points.filter((p) => p.t < s).map((p) => [p.t, p.count, p.sum])).toEqual([
      [s - 3000, 3, 30],
      [s - 2000, 2, 20],
    ]);
    expect(points.filter((p) => p.t >= s).map((p) => p.count)).toEqual([4]);
    expect(hub.getMetrics({ names: ['raw_rt'], tags: { route: '/r' } }).find((m) => !('instance' in m.tags))?.totalCount).toBe(9);
    a.close();
  });

  it("answers a history of its members' series from their buckets, not their raw slots (one a bucket), whatever the resolution asked: every sample counted", async () => {
    // By default (auto) a young series was read from its raw ring, which on a hub holds one slot
    // a member's bucket, its last value: buckets of 3 and 2 samples read as 2 points of count 1.
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const a = await rawMember(path);
    a.send({ t: 'hello', instance: 'counted', epoch: 'e', intervalMs: 1000 });
    await a.answer(1);
    const s = Math.floor(Date.now() / 1000) * 1000;
    a.send(batch(1, 1, [[0, 3, 30, s - 3000], [0, 2, 20, s - 2000]], [def()]));
    expect(await a.answer(2)).toEqual({ t: 'ack', seq: 1 });
    await hub.flush();
    for (const resolution of [undefined, 'auto', 'raw'] as const) {
      const history = await hub.getMetricHistory({ metric: 'raw_rt', ...(resolution ? { resolution } : {}) });
      const counted = history.series.map((x) => [x.tags.instance ?? 'cluster', x.resolution, x.points.reduce((n, p) => n + p.count, 0), x.points.reduce((n, p) => n + p.sum, 0)]);
      expect(counted, String(resolution)).toEqual(expect.arrayContaining([['counted', 'bucket', 5, 50], ['cluster', 'bucket', 5, 50]]));
    }
    a.close();
  });

  it("a member's series with maxTags tags (16) is taken on the hub, whose own instance tag makes 17: the tag is the hub's and counts against no limit of the member's", async () => {
    const path = nodes.socketPath();
    const hub = await nodes.start('hub', path);
    const a = await nodes.start('member', path, 'wide-tags');
    const tags = Object.fromEntries(ints(0, 16).map((i) => [`t${i}`, `v${i}`]));
    await a.ask({ cmd: 'record', name: 'wide_rt', values: ints(1, 40), tags });
    const c = await clusterReaches(hub, 'wide_rt', 40);
    expect(c).toMatchObject({ totalCount: 40, totalSum: sum(ints(1, 40)), tags });
    const own = await waitFor(async () => (await totals(hub, 'wide_rt')).find((s) => s.tags.instance === 'wide-tags'), 20_000, "the member's own series on the hub");
    expect(own).toMatchObject({ totalCount: 40, tags: { ...tags, instance: 'wide-tags' } });
    const m = (await hub.ask({ cmd: 'status' })).hub.members.find((x: { instance: string }) => x.instance === 'wide-tags');
    expect(m).toMatchObject({ failed: 0, lastError: null });
    expect((await a.ask({ cmd: 'status' })).hub.lastError).toBe(null);
  });

  it('a member whose interval differs from the hub\'s is refused, naming the member and the field', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const a = await rawMember(path);
    a.send({ t: 'hello', instance: 'slow', epoch: 'e', intervalMs: 5000 });
    expect(await a.answer(1)).toEqual({ t: 'reject', field: 'collectionIntervalMs', message: 'member "slow" collects every 5000 ms and this hub every 1000 ms: give both the same collectionIntervalMs' });
    expect(hub.status().hub).toMatchObject({ members: [], lastError: { message: expect.stringMatching(/member "slow": collectionIntervalMs 5000/) } });
  });

  it("an entry whose kind clashes with the hub's, or that carries the tag instance, is refused and named; the rest of its batch applies", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const a = await rawMember(path);
    a.send({ t: 'hello', instance: 'mixed', epoch: 'e', intervalMs: 1000 });
    await a.answer(1);
    a.send(batch(1, 1, [[0, 3, 3], [1, 1, 1], [2, 1, 1]], [def(0), def(1, 'counter'), def(2, 'distribution', { instance: 'x' })]));
    // The member is told of each entry refused, then the batch is acknowledged.
    expect(await a.answer(4)).toEqual({ t: 'ack', seq: 1 });
    expect(a.heard().slice(1, 3).map((m) => m.t)).toEqual(['refused', 'refused']);
    await hub.flush();
    const m = hub.status().hub as { members: { failed: number; lastError: { message: string } }[] };
    expect(m.members[0]!.failed).toBe(2);
    expect(m.members[0]!.lastError.message).toBe('member "mixed": series "raw_rt" {"instance":"x"}: the tag "instance" is the hub\'s: a member\'s series cannot carry it');
    expect(hub.getMetrics({ names: ['raw_rt'] }).find((s) => !('instance' in s.tags))?.totalCount).toBe(3);
    a.send(batch(2, 1, [[1, 1, 1]]));
    expect(await a.answer(6)).toEqual({ t: 'ack', seq: 2 });
    expect((hub.status().hub as { members: { lastError: { message: string } }[] }).members[0]!.lastError.message).toBe('member "mixed": series "raw_rt" {"route":"/r"}: kind: metric "raw_rt" is a distribution on the hub and a counter on this member');
    a.close();
  });

  it('a batch row whose series this member never defined is malformed: counted, the link reset, none of that batch applied', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const a = await rawMember(path);
    a.send({ t: 'hello', instance: 'undefined-sid', epoch: 'e', intervalMs: 1000 });
    await a.answer(1);
    a.send(batch(1, 1, [[0, 3, 3], [7, 1, 1]], [def(0)]));
    const h = await waitFor(() => {
      const s = hub.status().hub as { malformed: number; lastError: { message: string } | null };
      return s.malformed > 0 ? s : undefined;
    }, 10_000, 'the batch to be refused');
    expect(h.malformed).toBe(1);
    expect(h.lastError?.message).toBe('member "undefined-sid": batch 1 row 1: sid 7 was never defined');
    await hub.flush();
    expect(hub.getMetrics().some((s) => s.name === 'raw_rt' && s.totalCount > 0)).toBe(false);
    a.close();
  });

  it("a member's series definitions are kept within the hub's bounds: past its maxSeries or its limits of a name and tags they are refused and named, not kept, their rows left out and counted, the link kept; a sid no member can have is malformed", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, maxSeries: 16, hub: { listen: path } });
    const members = () => (hub.status().hub as { members: { instance: string; failed: number; lastError: { message: string } | null }[] }).members;
    const a = await rawMember(path);
    a.send({ t: 'hello', instance: 'many', epoch: 'e', intervalMs: 1000 });
    await a.answer(1);
    // Twenty series: the hub keeps the definitions of sixteen (each would be a series of its store), not one more.
    const defs = ints(0, 20).map((sid) => def(sid, 'distribution', { route: `/r${sid}` }));
    a.send(batch(1, 1, [[0, 3, 3], [19, 1, 1]], defs));
    expect(await a.answer(3)).toEqual({ t: 'ack', seq: 1 });
    expect(a.heard()[1]).toEqual({ t: 'refused', message: 'member "many": 4 series definitions of batch 1 refused, their rows left out; the first, series "raw_rt" {"route":"/r16"}: past the 16 series definitions the hub keeps for its members (its maxSeries)' });
    // Rows of a series refused are left out and counted, batch after batch, the link kept.
    a.send(batch(2, 1, [[19, 1, 1], [0, 2, 2]]));
    expect(await a.answer(4)).toEqual({ t: 'ack', seq: 2 });
    expect(members()[0]!.failed).toBe(2);
    await hub.flush();
    expect(hub.getMetrics({ names: ['raw_rt'] }).filter((s) => s.totalCount > 0).map((s) => [s.tags, s.totalCount])).toEqual(expect.arrayContaining([[{ route: '/r0' }, 5], [{ instance: 'many', route: '/r0' }, 5]]));
    expect(hub.getMetrics({ names: ['raw_rt'] }).some((s) => s.tags.route === '/r19')).toBe(false);

    // A definition past the hub's limits of a name or its tags is not kept either (a name of a
    // megabyte, kept, would have cost a megabyte per series for the member's run).
    const b = await rawMember(path);
    b.send({ t: 'hello', instance: 'wide', epoch: 'e', intervalMs: 1000 });
    const { round } = await b.answer(1);
    b.send(batch(1, round, [[0, 1, 1], [1, 1, 1]], [[0, `x${'y'.repeat(300)}`, {}, 'gauge', ''], def(1, 'distribution', { route: 'v'.repeat(200) })]));
    expect(await b.answer(3)).toEqual({ t: 'ack', seq: 1 });
    expect(b.heard()[1]).toEqual({ t: 'refused', message: `member "wide": 2 series definitions of batch 1 refused, their rows left out; the first, series "x${'y'.repeat(199)}…": name must be 1 to 200 characters, got 301` });
    expect(members().find((m) => m.instance === 'wide')!.failed).toBe(2);

    // A sid beyond any member's registry (maxSeries at most 1,000,000, and 128 of the monitor's own).
    const c = await rawMember(path);
    c.send({ t: 'hello', instance: 'far', epoch: 'e', intervalMs: 1000 });
    c.send(batch(1, (await c.answer(1)).round, [], [def(1_000_128)]));
    await c.closed();
    expect(hub.status().hub).toMatchObject({ malformed: 1, lastError: { message: 'member "far": defs[0].sid must be an integer from 0 to 1000127' } });
    a.close();
    b.close();
  });

  it('a malformed frame is rejected and counted, the link reset, the hub unharmed', async () => {
    const path = nodes.socketPath();
    const hub = await nodes.start('hub', path);
    const send = (bytes: Buffer) =>
      new Promise<void>((resolve) => {
        const s = connect(path, () => s.write(bytes));
        s.on('error', () => {});
        s.on('close', () => resolve());
      });
    // Not MessagePack (0xc1 is never used), a frame longer than maxFrameBytes, and a batch before hello.
    await send(Buffer.from([0, 0, 0, 1, 0xc1]));
    await send(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    await send(Buffer.from([0, 0, 0, 7, 0x81, 0xa1, 0x74, 0xa3, 0x62, 0x65, 0x61])); // {t:'bea'}: unknown type
    const h = (await hub.ask({ cmd: 'status' })).hub;
    expect(h.malformed).toBe(3);
    expect(h.lastError.message).toMatch(/unknown message type "bea"/);
    const faults = (await hub.ask({ cmd: 'status' })).faults;
    expect(faults.byKind['hub-malformed'].count).toBe(3);
    // And a member still gets through.
    const a = await nodes.start('member', path, 'after');
    await a.ask({ cmd: 'record', name: 'mal_rt', values: [5, 6] });
    expect((await clusterReaches(hub, 'mal_rt', 2)).totalSum).toBe(11);
  });

  it('a hub socket path that exists and is not a socket is a clear error, and is not deleted', async () => {
    const path = nodes.socketPath();
    writeFileSync(path, 'not ours');
    const n = nodes.spawn('hub', path);
    const first = await n.next();
    expect(first.error).toMatchObject({ code: 'PW_ERR_INVALID_ARG', field: 'hub.listen' });
    expect(first.error.message).toMatch(/exists and is not a socket/);
    expect(existsSync(path)).toBe(true);
  });

  it('a live hub on the path is a clear error for a second hub', async () => {
    const path = nodes.socketPath();
    await nodes.start('hub', path);
    const first = await nodes.spawn('hub', path).next();
    expect(first.error.message).toMatch(/is the socket of a running perfwatch hub \(pid \d+, its record .+\.owner says\): left alone/);
  });
});

describe('perfwatch serve --hub', () => {
  it("is the hub of other processes: its /metrics has the cluster-wide series and each member's, tagged instance; a config shared with its members has their own options left out, said", async () => {
    const path = nodes.socketPath();
    // The members' config: their hub block names options a hub refuses.
    const config = quietConfig({ runtime: { enabled: false }, hub: { connect: path, instance: 'api', bufferLimit: 5_000, retryMaxMs: 500 } });
    const child = spawn(process.execPath, [CLI, 'serve', '--hub', path, '--http', '0', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (err += c));
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      const url = await new Promise<string>((resolve) => child.stdout.on('data', (c: string) => ((out += c), /dashboard at (\S+) /.exec(out) && resolve(/dashboard at (\S+) /.exec(out)![1]!))));
      expect(out).toContain(`the hub of other monitors at ${path}`);
      const a = await nodes.start('member', path, 'm1');
      await a.ask({ cmd: 'record', name: 'cli_rt', values: [10, 20, 30], tags: { route: '/y' } });
      const text = await waitFor(async () => {
        const t = await (await fetch(new URL('metrics', url))).text();
        return /cli_rt_count\{route="\/y"\} 3$/m.test(t) ? t : undefined;
      }, 20_000, 'the cluster series on /metrics');
      expect(text).toMatch(/^cli_rt_count\{instance="m1",route="\/y"\} 3$/m);
      expect(text).toMatch(/^cli_rt_sum\{route="\/y"\} 60$/m);
      expect(err).toBe("perfwatch: --hub: the config's hub.instance, hub.bufferLimit, hub.retryMaxMs are members' options, left out of this hub\n");
    } finally {
      const code = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await code;
    }
  });
});

describe('hub options', () => {
  it('refuses a hub option that is not exactly one of listen, connect or cluster, naming the field', () => {
    for (const hub of [{}, { listen: '/tmp/a.sock', connect: '/tmp/a.sock' }, { cluster: true, listen: '/tmp/x' }]) {
      const e = caught<{ code: string; field: string; message: string }>(() => new PerformanceMonitor({ storage: 'memory', hub: hub as never }));
      expect(e.code).toBe('PW_ERR_INVALID_ARG');
      expect(e.field).toBe('hub');
      expect(e.message).toMatch(/exactly one of listen \(be the hub\), connect \(be a member\) or cluster: true/);
    }
    const long = caught<{ field: string; message: string }>(() => new PerformanceMonitor({ storage: 'memory', hub: { connect: `/tmp/${'x'.repeat(120)}` } }));
    expect(long.field).toBe('hub.connect');
    expect(long.message).toMatch(/at most 107 bytes \(the limit of a Unix socket path\), not 125\b/);
    // Fewer characters than bytes: the message says the bytes, which the limit counts.
    const wide = caught<{ field: string; message: string }>(() => new PerformanceMonitor({ storage: 'memory', hub: { listen: `/tmp/${'é'.repeat(55)}.sock` } }));
    expect(wide.field).toBe('hub.listen');
    expect(wide.message).toMatch(/at most 107 bytes \(the limit of a Unix socket path\), not 120\b/);
    const limit = caught<{ field: string; message: string }>(() => new PerformanceMonitor({ storage: 'memory', hub: { connect: '/tmp/a.sock', bufferLimit: 0 } }));
    expect(limit.field).toBe('hub.bufferLimit');
    expect(limit.message).toMatch(/from 1 to 10000000 buckets/);
    // A member's name on a hub: refused, not ignored.
    const named = caught<{ field: string; message: string }>(() => new PerformanceMonitor({ storage: 'memory', hub: { listen: '/tmp/a.sock', instance: 'api' } }));
    expect(named.field).toBe('hub.instance');
    expect(named.message).toMatch(/names a member \(connect, or a cluster worker\): this process is the hub \(listen\)/);
    expect(() => new PerformanceMonitor({ storage: 'memory', hub: 'cluster' })).not.toThrow();
  });

  // A URL is a relative path to the system: a member dialed ./tcp:/… and failed with ENOENT at
  // each retry, with no word that a URL is no socket path.
  it('refuses a URL where a socket path goes, naming the field, as InvalidArgumentError', () => {
    const url = caught<InvalidArgumentError>(() => new PerformanceMonitor({ storage: 'memory', hub: { connect: 'tcp://127.0.0.1:9000' } }));
    expect(url).toBeInstanceOf(InvalidArgumentError);
    expect(url).toMatchObject({ field: 'hub.connect', message: 'hub.connect must be a Unix socket path, not a URL: a hub listens, and is reached, on a Unix socket only (a path such as /run/myapp/perfwatch.sock), got "tcp://127.0.0.1:9000"' });
    expect(caught<InvalidArgumentError>(() => new PerformanceMonitor({ storage: 'memory', hub: { listen: 'unix:///run/app/h.sock' } })).field).toBe('hub.listen');
    // A path whose folder has a colon is a path.
    expect(() => new PerformanceMonitor({ storage: 'memory', hub: { connect: '/tmp/a:b/h.sock' } })).not.toThrow();
  });

  // Taken without a word, a member's maxConnections read as a bound it kept; it bounded nothing.
  it("refuses a hub's option given to a member, naming the field and why; takes it on a hub and under node:cluster, whose workers get the primary's options", () => {
    for (const [key, value, what] of [
      ['maxConnections', 100, 'the connections its socket keeps open'],
      ['helloTimeoutMs', 1_000, 'how long its socket waits for a hello'],
      ['staleMs', 2_000, 'when it marks a silent member stale'],
      ['dropMs', 90_000, 'when it forgets a silent member'],
    ] as const) {
      const e = caught<InvalidArgumentError>(() => new PerformanceMonitor({ storage: 'memory', hub: { connect: '/tmp/a.sock', [key]: value } }));
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect(e).toMatchObject({ field: `hub.${key}`, message: `hub.${key} is a hub's option (${what}): this process is a member (connect); give it to the hub (listen), got ${value}` });
      expect(() => new PerformanceMonitor({ storage: 'memory', hub: { listen: '/tmp/a.sock', [key]: value } })).not.toThrow();
      expect(() => new PerformanceMonitor({ storage: 'memory', hub: { cluster: true, [key]: value } })).not.toThrow();
    }
    // A member's own options stay a member's.
    expect(() => new PerformanceMonitor({ storage: 'memory', hub: { connect: '/tmp/a.sock', bufferLimit: 10, retryMaxMs: 500, maxFrameBytes: 4096, instance: 'api' } })).not.toThrow();
  });

  it("refuses a member's option given to a hub, naming the field and why; takes it under node:cluster", () => {
    for (const [key, value, what] of [
      ['bufferLimit', 10, 'the buckets it keeps while the hub is away'],
      ['retryMaxMs', 500, 'its longest wait between attempts to reach the hub'],
    ] as const) {
      const e = caught<InvalidArgumentError>(() => new PerformanceMonitor({ storage: 'memory', hub: { listen: '/tmp/a.sock', [key]: value } }));
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect(e).toMatchObject({ field: `hub.${key}`, message: `hub.${key} is a member's option (${what}): this process is the hub (listen); give it to each member (connect), got ${value}` });
      expect(() => new PerformanceMonitor({ storage: 'memory', hub: { cluster: true, [key]: value } })).not.toThrow();
    }
    // Both sides read the frame bound.
    expect(() => new PerformanceMonitor({ storage: 'memory', hub: { listen: '/tmp/a.sock', maxFrameBytes: 4096, maxConnections: 10 } })).not.toThrow();
  });
});
