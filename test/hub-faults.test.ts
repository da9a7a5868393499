// The hub's faults (docs/cluster.md): the primary's socket lost under its workers, socket
// files left by hubs that were killed, large batches (a frame in many chunks, a collector busy
// applying one for longer than the watchdog's grace).
import { describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { type ActorExit } from '../dist/src/index.js';
import { GRACE_MS } from '../dist/src/actors/watchdog.js';
import type { HubStatus } from '../dist/src/hub/hub.js';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { FrameReader } from '../dist/src/hub/wire.js';
import { encodeSketch } from '../dist/src/storage/sketch-codec.js';
import { seeded } from './fixtures/seeded.mjs';
import { monitorStarter, once, waitFor } from './helpers.js';
import { bigBatch, hubNodes, rawMember } from './hub-helpers.js';

const run = promisify(execFile);
const nodes = hubNodes();
const started = monitorStarter();

/** A Unix socket at `path` that nobody listens on: another program's, which was killed. */
async function deadForeignSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGKILL');
  });
}

describe("hub over node:cluster, the primary's socket lost", () => {
  it("a worker whose socket closes under it (just after a batch went out) goes on over the channel and dials the socket again; with the socket file removed and every link cut it stays on the channel: nothing lost, nothing twice, the losses in its status and monitor_hub_failed", async () => {
    const env = { ...process.env, TMPDIR: mkdtempSync(join(tmpdir(), 'pw-hubtmp-')) };
    const { stdout } = await run(process.execPath, [new URL('./fixtures/hub-cluster-socket-loss.mjs', import.meta.url).pathname], { timeout: 60_000, env });
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(r.totals).toEqual({ cluster: r.expected[1] + r.expected[2], 'worker-1': r.expected[1], 'worker-2': r.expected[2] });
    // Step 1: worker 1 said hello again on the channel, then went back to the socket.
    expect(r.envelopes[1][1]).toBeGreaterThanOrEqual(1);
    expect(r.afterStep1[1]).toMatchObject({ via: 'socket', connected: true, failed: 1, dropped: 0 });
    // Said as the socket closed (and cleared once the hub acknowledges a batch again).
    expect(r.afterStep1[1].lastErrorAtCut.message).toMatch(/the socket to the primary closed: on over the IPC channel/);
    // Step 2: the socket file gone, both on the channel for good; their batches cross it.
    expect(r.file).toHaveLength(1);
    for (const id of [1, 2]) {
      expect(r.envelopes[id][2]).toBeGreaterThan(1);
      expect(r.finals[id]).toMatchObject({ via: 'channel', queueDepth: 0, dropped: 0, failed: id === 1 ? 2 : 1 });
      expect(r.finals[id].failedMetric).toBe(r.finals[id].failed);
    }
    expect(r.hub.members.map((x: any) => [x.instance, x.via, x.dropped, x.failed]).sort()).toEqual([
      ['worker-1', 'channel', 0, 0],
      ['worker-2', 'channel', 0, 0],
    ]);
  });
});

describe('socket files left by a hub that was killed', () => {
  it('hub.listen: a socket of ours that a killed hub left is reclaimed; a socket nobody listens on without our record, or with a record of another file, is a clear error naming the path, and stays', async () => {
    const path = nodes.socketPath();
    const first = await nodes.start('hub', path);
    expect(existsSync(`${path}.owner`)).toBe(true);
    await first.kill();
    expect(existsSync(path)).toBe(true);
    const second = await nodes.start('hub', path);
    expect((await second.ask({ cmd: 'status' })).hub).toMatchObject({ reclaimed: 1, address: path });
    await second.kill();

    // Another program's socket in its place: the record beside it names the file the hub made, not this one.
    const foreign = nodes.socketPath();
    await deadForeignSocket(foreign);
    for (const p of [foreign, path]) {
      if (p === path) {
        await run('rm', [path]);
        await deadForeignSocket(path);
      }
      const refused = await nodes.spawn('hub', p).next();
      expect(refused.error).toMatchObject({ code: 'PW_ERR_INVALID_ARG', field: 'hub.listen' });
      expect(refused.error.message).toContain(`${p} is a socket nobody listens on, but no perfwatch hub's record`);
      expect(existsSync(p)).toBe(true);
    }
  });

  it("node:cluster: a primary removes the sockets that killed primaries of ours left in the temporary folder, and leaves a look-alike of another program's", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-hubtmp-'));
    const env = { TMPDIR: dir };
    const killed = await nodes.startIn(env, 'cluster');
    const left = readdirSync(dir).filter((f) => f.endsWith('.sock'));
    expect(left).toHaveLength(1);
    await killed.kill();
    expect(readdirSync(dir).sort()).toEqual([left[0], `${left[0]}.owner`]);
    // The name of a primary's socket, of a pid that does not run, made by another program.
    const lookAlike = `perfwatch-hub-${killed.child.pid}-0123456789ab.sock`;
    await deadForeignSocket(join(dir, lookAlike));

    const next = await nodes.startIn(env, 'cluster');
    expect((await next.ask({ cmd: 'status' })).hub).toMatchObject({ reclaimed: 1 });
    const now = readdirSync(dir);
    expect(now).not.toContain(left[0]);
    expect(now).not.toContain(`${left[0]}.owner`);
    expect(now).toContain(lookAlike);
    expect(now.filter((f) => f.startsWith(`perfwatch-hub-${next.child.pid}-`))).toHaveLength(2);
  });
});

describe('a large frame', () => {
  it('arriving in many chunks, is joined once when whole, not copied again at every chunk', () => {
    const size = 1 << 20;
    const bytes = new Uint8Array(4 + size);
    new DataView(bytes.buffer).setUint32(0, size);
    for (let i = 4; i < bytes.length; i++) bytes[i] = i & 255;
    const concat = Buffer.concat;
    let copied = 0;
    Buffer.concat = (list: readonly Uint8Array[], n?: number) => {
      const out = concat(list, n);
      copied += out.length;
      return out;
    };
    const reader = new FrameReader(size);
    const frames: Uint8Array[] = [];
    try {
      // The last chunk carries the next frame's first bytes too: a header cut in two.
      for (let at = 0; at < bytes.length; at += 4096) frames.push(...reader.push(Buffer.from(bytes.subarray(at, at + 4096))));
      frames.push(...reader.push(Buffer.from([0, 0])));
      frames.push(...reader.push(Buffer.from([0, 2, 7])));
      frames.push(...reader.push(Buffer.from([8])));
    } finally {
      Buffer.concat = concat;
    }
    expect(frames.map((f) => f.length)).toEqual([size, 2]);
    expect(Buffer.compare(frames[0]!, bytes.subarray(4))).toBe(0);
    expect([...frames[1]!]).toEqual([7, 8]);
    expect(copied).toBeLessThan(2 * bytes.length);
  });
});

/** A hub on a fresh socket (its collector's exits kept) and a raw member that said hello to it, with the hub's welcome. */
async function hubWithMember(instance: string, maxFrameBytes: number) {
  const path = nodes.socketPath();
  const m = await started({ hub: { listen: path, maxFrameBytes } });
  const exits: ActorExit[] = [];
  m.on('actor-exit', (e: ActorExit) => exits.push(e));
  const member = await rawMember(path);
  member.send({ t: 'hello', instance, epoch: 'e1', intervalMs: 1000 });
  const welcome = await member.answer(1);
  return { m, exits, member, welcome };
}

describe("a hub's collector killed while it applies a member's batches", () => {
  it('again and again: the member resends what was not acknowledged, the store goes on after the rows applied, and every member and cluster-wide series is exact', async () => {
    const { m, exits, member, welcome } = await hubWithMember('cut', 64 * 1024 * 1024);
    let { round } = welcome;
    let answered = 1;
    const SIDS = 32;
    const ROWS = 1 << 16;
    const BATCHES = 6;
    const defs = Array.from({ length: SIDS }, (_, i) => [i, 'cut_rt', { k: String(i) }, 'distribution', '']);
    const rand = seeded(7);
    for (let seq = 1; seq <= BATCHES; seq++) {
      const closedTo = Math.floor(Date.now() / 1000) * 1000;
      for (let sends = 1; ; sends++) {
        if (sends > 6) throw new Error(`batch ${seq} was not acknowledged in 6 sends`);
        member.send(bigBatch(seq, round, ROWS, SIDS, closedTo, seq === 1 ? defs : []));
        // Killed a moment after it went out: in its decode, its apply (about 0.2 s here) or after.
        if (sends === 1) {
          await new Promise((resolve) => setTimeout(resolve, rand() * 400));
          await m.injectFault('kill');
        }
        const a = await member.answer(++answered);
        if (a.t === 'ack' && a.seq === seq) break;
        expect(a.t).toBe('welcome');
        round = a.round;
        if (a.acked >= seq) break;
      }
    }
    const hub = m.status().hub as HubStatus;
    expect(hub).toMatchObject({ members: [{ instance: 'cut', batches: BATCHES, buckets: BATCHES * ROWS, dropped: 0 }] });
    // Not vacuous: kills cut applies (each failed apply is counted and resent; 3 of the 6 in three trial runs).
    expect(hub.members[0]!.failed).toBeGreaterThanOrEqual(1);
    expect(exits.length).toBeGreaterThanOrEqual(BATCHES);
    const all = m.getMetrics({ names: ['cut_rt'] });
    const per = (BATCHES * ROWS * 64) / SIDS;
    for (const instance of [undefined, 'cut']) {
      const series = all.filter((x) => x.tags.instance === instance);
      expect(series).toHaveLength(SIDS);
      expect(series.map((x) => [x.totalCount, x.totalSum])).toEqual(Array.from({ length: SIDS }, () => [per, (per / 64) * 2080]));
    }
    member.close();
  }, 120_000);
});

/** The hub's bucket interval here (the monitor's default). */
const INTERVAL_MS = 1000;

describe("a hub collector busy with a large batch", () => {
  it("beats while it applies a batch that takes longer than the watchdog's grace: not replaced, every bucket applied once; a collector stuck after it is still replaced", async () => {
    const { m, exits, member, welcome } = await hubWithMember('big', 256 * 1024 * 1024);
    let { round } = welcome;
    let answered = 1;
    const SIDS = 16;
    const defs = Array.from({ length: SIDS }, (_, i) => [i, 'big_rt', { k: String(i) }, 'distribution', 'ms']);
    // Every bucket: 64 samples in 64 bins of the sketch (the bins are the collector's work).
    const acc = new SketchAccumulator();
    for (let k = 0; k < 64; k++) acc.add(1.2 ** k);
    const scratch = new Int32Array(acc.encodedLengthBound());
    acc.encodeInto(scratch, 0);
    const sketch = encodeSketch(scratch, 0)!;
    // The collector thread's CPU time: a batch that costs it more than the grace past the beat it
    // promised takes at least that long to apply. Before each wait the collector promises its
    // next beat, never past the next bucket boundary (workers/collector.ts, sleep), and it makes
    // no new promise while a call waits for it: the promise an apply starts under is at most the
    // boundary after the moment the hub called the collector (`calledAt`, seen here).
    const collector = (m as any).collector as { call<T>(f: (c: any) => T): Promise<T> };
    const call = collector.call.bind(collector);
    let calledAt = 0;
    collector.call = (f) => {
      if (String(f).includes('applyBuckets')) calledAt = Date.now();
      return call(f);
    };
    const cpuMs = async (): Promise<number> => (await collector.call((c) => c.usage())).cpuMs;
    /** How long an apply called at `at` may run before a collector that never beats is overdue. */
    const bar = (at: number): number => GRACE_MS + (Math.floor(at / INTERVAL_MS) + 1) * INTERVAL_MS - at;
    // Batches of such buckets, twice as large each time, until one that cost the collector more
    // than that, in one call, was applied with no exit of the collector meanwhile.
    // Without beats every such batch ends in one. With them, a thread left waiting for a CPU past
    // the grace on a loaded machine may still be replaced (docs/cluster.md, Not done): the hub
    // then answers with a welcome, the batch is sent again, and the next one tries once more.
    let rows = 1 << 15;
    let seq = 0;
    let proven = false;
    // From send to the call (the hub's decode), per try: the next send is timed so that its call
    // comes late in a second, where the bar is lowest (a try that misses only raises its bar).
    let delay = 0;
    let delayRows = rows;
    const tried: string[] = [];
    for (let tries = 0; !proven && tries < 12; tries++) {
      seq++;
      const expected = (delay * rows) / delayRows;
      const closedTo = Math.floor(Date.now() / 1000) * 1000;
      const sids = new Int32Array(rows).map((_, i) => i % SIDS);
      const stats = new Float64Array(5 * rows).map((_, i) => [64, 64, 1, 1.2 ** 63, 1][i % 5]!);
      const sketches = new Uint8Array(rows * sketch.length);
      for (let i = 0; i < rows; i++) sketches.set(sketch, i * sketch.length);
      const sketchEnd = new Int32Array(rows).map((_, i) => (i + 1) * sketch.length);
      const exitsBefore = exits.length;
      await new Promise((resolve) => setTimeout(resolve, (((INTERVAL_MS - 150 - expected - Date.now()) % INTERVAL_MS) + INTERVAL_MS) % INTERVAL_MS));
      const cpuBefore = await cpuMs();
      const sentAt = Date.now();
      for (let sends = 1; ; sends++) {
        if (sends > 3) throw new Error(`batch ${seq} of ${rows} buckets was not applied in 3 sends: the collector was replaced each time`);
        member.send({ t: 'batch', seq, round, closedTo, defs, sids: new Uint8Array(sids.buffer.slice(0)), starts: new Uint8Array(new Float64Array(rows).fill(closedTo - 1000).buffer), stats: new Uint8Array(stats.buffer.slice(0)), sketchEnd: new Uint8Array(sketchEnd.buffer), sketches });
        // The largest batches (up to a million buckets) take the hub's collector seconds on a
        // loaded machine: the answer is what this test judges, not how soon it comes.
        const a = await member.answer(++answered, 60_000);
        if (a.t === 'ack' && a.seq === seq) break;
        expect(a.t).toBe('welcome');
        round = a.round;
        if (a.acked >= seq) break;
      }
      const cpu = (await cpuMs()) - cpuBefore;
      delay = calledAt - sentAt;
      delayRows = rows;
      tried.push(`${rows} rows: ${exits.length - exitsBefore} exits, ${Math.round(cpu)} ms of CPU against ${bar(calledAt)}`);
      proven = exits.length === exitsBefore && cpu > bar(calledAt);
      if (rows < 1 << 20) rows *= 2;
    }
    expect(proven, tried.join('; ')).toBe(true);
    const hub = m.status().hub as HubStatus;
    expect(hub).toMatchObject({ members: [{ instance: 'big', batches: seq }] });
    // Exact, a replaced collector or not: a batch resent after one goes on after its rows applied.
    const cluster = m.getMetrics({ names: ['big_rt'] }).filter((x) => !('instance' in x.tags));
    expect(cluster).toHaveLength(SIDS);
    expect(cluster.reduce((a, x) => a + x.totalCount, 0)).toBe(64 * hub.members[0]!.buckets);

    // A collector that stops beating is still noticed and replaced.
    const restarted = once<{ actor: string; restarts: number }>(m, 'actor-restart');
    const before = exits.length;
    await m.injectFault('hang');
    expect(await restarted).toMatchObject({ actor: 'collector' });
    expect(exits.slice(before)).toMatchObject([{ actor: 'collector', hung: true }]);
    member.close();
  }, 180_000);
});
