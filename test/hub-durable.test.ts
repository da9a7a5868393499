import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AppliedBuckets } from '../dist/src/engine/engine.js';
import { PerformanceMonitor, type MemberLinkStatus } from '../dist/src/index.js';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { READ_HUB_SEQS, hubSeqsOf } from '../dist/src/storage/hub-seqs.js';
import { foldJournal } from '../dist/src/storage/journal.js';
import { RollupTable } from '../dist/src/storage/rollups.js';
import { openSchema } from '../dist/src/storage/schema.js';
import { seeded } from './fixtures/seeded.mjs';
import { monitorStarter, waitFor } from './helpers.js';
import { bigBatch, hubNodes, rawMember, rowsBatch, type HubNode } from './hub-helpers.js';

/**
 * A hub with storage 'sqlite' killed with SIGKILL and started again on the same dataDir
 * (docs/cluster.md, "A hub on a database"): its members' numbers are on disk with the buckets
 * they cover, it acknowledges a batch only once a flush holds it, so nothing is counted twice
 * and nothing is lost, whenever the kill comes.
 */
const nodes = hubNodes();
const started = monitorStarter();

const dataDir = () => join(mkdtempSync(join(tmpdir(), 'pw-hub-disk-')), 'data');
const onDisk = (dir: string, flushMs = 5000) => ({ HUB_DATA_DIR: dir, HUB_FLUSH_MS: String(flushMs) });

interface SeriesTotals {
  tags: Record<string, string>;
  count: number;
  sum: number;
}

/** Per series of `name` on the hub, disk and memory: count and sum, keyed by instance ('' for the cluster-wide one). */
async function history(hub: HubNode, name: string): Promise<Record<string, { count: number; sum: number }>> {
  const { series } = (await hub.ask({ cmd: 'history', name })) as { series: SeriesTotals[] };
  const out: Record<string, { count: number; sum: number }> = {};
  for (const s of series) out[s.tags.instance ?? ''] = { count: s.count, sum: s.sum };
  return out;
}

const def = [0, 'disk_rt', { route: '/r' }, 'distribution', ''];

/** The start of a hand-made member's first bucket: its bucket of seq n starts n seconds later (a batch resent is the same batch). */
const T0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;

/** A hand-made batch of one row (count, sum; min 1, max and last the sum), as columns. */
const batch = (seq: number, round: number, count: number, sum: number, defs: unknown[] = []) => rowsBatch(seq, round, [[0, count, sum]], defs, T0 + 1000 * (seq + 1));

/** Per series of `name` in the database of `dir` (its journal folded, as a next process does): count and sum, keyed by the tags' JSON. */
function onFile(dir: string, name: string): Record<string, [number, number]> {
  const db = openSchema(join(dir, 'perfwatch.db'));
  try {
    db.transaction(() => foldJournal(db, new RollupTable(db), new SketchAccumulator(), Date.now()));
    const out: Record<string, [number, number]> = {};
    for (const [tags, count, sum] of db.prepare('SELECT s.tags, sum(r.count), sum(r.sum) FROM rollups r JOIN series s ON s.id = r.series WHERE s.name = ? GROUP BY s.id ORDER BY s.tags').all([name])) out[String(tags)] = [Number(count), Number(sum)];
    return out;
  } finally {
    db.close();
  }
}

const applied = (hub: HubNode, batches: number) =>
  waitFor(async () => (await hub.ask({ cmd: 'status' })).hub.members.find((m: { batches: number }) => m.batches >= batches), 20_000, `${batches} batches applied`);

describe('a hub on SQLite killed and restarted', () => {
  it('after a flush whose ack never reached the member: the new hub welcomes it with the seq on disk and does not apply the resent batch again', async () => {
    const dir = dataDir();
    const path = nodes.socketPath();
    let hub = await nodes.startIn(onDisk(dir), 'hub', path);
    let a = await rawMember(path);
    a.send({ t: 'hello', instance: 'hand', epoch: 'e1', intervalMs: 1000 });
    const w1 = await a.answer(1);
    expect(w1).toMatchObject({ t: 'welcome', acked: 0 });
    a.send(batch(1, w1.round, 5, 50, [def]));
    await applied(hub, 1);
    expect((await hub.ask({ cmd: 'flushStorage' })).flushed).toBe(true);
    // The flush committed batch 1 and its number; the ack goes out after it...
    expect(await a.answer(2)).toEqual({ t: 'ack', seq: 1 });
    // ...and is lost with the hub: the member goes on as if it had not come.
    await hub.kill();
    a.close();
    hub = await nodes.startIn(onDisk(dir), 'hub', path);
    a = await rawMember(path);
    a.send({ t: 'hello', instance: 'hand', epoch: 'e1', intervalMs: 1000 });
    const w2 = await a.answer(1);
    expect(w2).toMatchObject({ t: 'welcome', acked: 1 });
    a.send(batch(1, w2.round, 5, 50, [def]));
    expect(await a.answer(2)).toEqual({ t: 'ack', seq: 1 });
    a.send(batch(2, w2.round, 2, 7));
    await applied(hub, 1);
    expect((await hub.ask({ cmd: 'flushStorage' })).flushed).toBe(true);
    expect(await a.answer(3)).toEqual({ t: 'ack', seq: 2 });
    expect(await history(hub, 'disk_rt')).toEqual({ '': { count: 7, sum: 57 }, hand: { count: 7, sum: 57 } });
    a.close();
  });

  it('between an apply and the flush: the batch was not acknowledged, the member resends it to the new hub, counted once', async () => {
    const dir = dataDir();
    const path = nodes.socketPath();
    let hub = await nodes.startIn(onDisk(dir), 'hub', path);
    let a = await rawMember(path);
    a.send({ t: 'hello', instance: 'hand', epoch: 'e1', intervalMs: 1000 });
    const w1 = await a.answer(1);
    a.send(batch(1, w1.round, 5, 50, [def]));
    await applied(hub, 1);
    const before = (await hub.ask({ cmd: 'status' })).storage.flushes;
    await hub.kill();
    // What the member heard before the kill: an ack only if a flush (the hub's own, every 5 s) came between.
    const acks = a.heard().filter((m) => m.t === 'ack');
    if (before === 0) expect(acks).toEqual([]);
    const acked = Math.max(0, ...acks.map((m) => m.seq as number));
    a.close();
    hub = await nodes.startIn(onDisk(dir), 'hub', path);
    a = await rawMember(path);
    a.send({ t: 'hello', instance: 'hand', epoch: 'e1', intervalMs: 1000 });
    const w2 = await a.answer(1);
    // As a member does: what the welcome or an ack covered is dropped, the rest sent again.
    if (Math.max(acked, w2.acked) < 1) a.send(batch(1, w2.round, 5, 50, [def]));
    a.send(batch(2, w2.round, 2, 7, [def]));
    await applied(hub, 1);
    expect((await hub.ask({ cmd: 'flushStorage' })).flushed).toBe(true);
    expect(await a.answer(2)).toMatchObject({ t: 'ack' });
    expect(await history(hub, 'disk_rt')).toEqual({ '': { count: 7, sum: 57 }, hand: { count: 7, sum: 57 } });
    a.close();
  });

  it('stopped cleanly with a batch applied and not yet flushed: its stop writes the number with the rows, and the next hub does not apply the resend', async () => {
    const dir = dataDir();
    const path = nodes.socketPath();
    const first = await nodes.startIn(onDisk(dir), 'hub', path);
    let a = await rawMember(path);
    a.send({ t: 'hello', instance: 'hand', epoch: 'e1', intervalMs: 1000 });
    const w1 = await a.answer(1);
    a.send(batch(1, w1.round, 5, 50, [def]));
    await applied(first, 1);
    expect((await first.ask({ cmd: 'stop' })).stopped).toBe(true);
    a.close();
    const hub = await nodes.startIn(onDisk(dir), 'hub', path);
    a = await rawMember(path);
    a.send({ t: 'hello', instance: 'hand', epoch: 'e1', intervalMs: 1000 });
    const w2 = await a.answer(1);
    expect(w2).toMatchObject({ t: 'welcome', acked: 1 });
    // Sent again as a member that never saw an ack would: acknowledged, not applied.
    a.send(batch(1, w2.round, 5, 50, [def]));
    expect(await a.answer(2)).toEqual({ t: 'ack', seq: 1 });
    expect((await hub.ask({ cmd: 'flushStorage' })).flushed).toBe(true);
    expect(await history(hub, 'disk_rt')).toEqual({ '': { count: 5, sum: 50 }, hand: { count: 5, sum: 50 } });
    a.close();
  });

  it("a member that stops cleanly: the hub flushes on its word, so the member leaves with its last buckets acknowledged, and a hub killed then keeps them", async () => {
    const dir = dataDir();
    const path = nodes.socketPath();
    let hub = await nodes.startIn(onDisk(dir, 5000), 'hub', path);
    const member = await nodes.start('member', path, 'leaving');
    await waitFor(async () => (await member.ask({ cmd: 'status' })).hub.connected, 20_000, 'member welcomed');
    // Right after one of the hub's own flushes (every 5 s), so that the next is further away
    // than the 2 s the member waits for its acks: only a flush for the member's stop can ack it.
    const flushes = (await hub.ask({ cmd: 'status' })).storage.flushes;
    await waitFor(async () => (await hub.ask({ cmd: 'status' })).storage.flushes > flushes, 20_000, "the hub's next flush");
    const values = Array.from({ length: 40 }, (_, i) => i + 1);
    expect((await member.ask({ cmd: 'record', name: 'disk_rt', values, tags: { route: '/r' } })).ok).toBe(true);
    const stopped = await member.ask({ cmd: 'stop' });
    expect(stopped.hub).toMatchObject({ queueDepth: 0, dropped: 0 });
    // Said so in its last beat: stopped, not live (nor stale later for its silence).
    expect((await hub.ask({ cmd: 'status' })).hub.members).toMatchObject([{ instance: 'leaving', state: 'stopped' }]);
    await hub.kill();
    hub = await nodes.startIn(onDisk(dir), 'hub', path);
    expect(await history(hub, 'disk_rt')).toEqual({ '': { count: 40, sum: 820 }, leaving: { count: 40, sum: 820 } });
  });

  it('stopped and started again in its process: it still flushes on the word of a member that stops cleanly, which leaves with its last buckets acknowledged', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, storage: 'sqlite', dataDir: dataDir(), storageFlushMs: 5000, hub: { listen: path } });
    await hub.stop();
    await hub.start();
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'leaving' } });
    await waitFor(() => (member.status().hub as MemberLinkStatus).connected, 20_000, 'member welcomed');
    // Right after one of the hub's own flushes (every 5 s): only a flush for the member's stop can ack within its 2 s.
    const flushed = () => (hub.status().storage as { flushes: number }).flushes;
    const flushes = flushed();
    await waitFor(() => flushed() > flushes, 20_000, "the hub's next flush");
    member.recordBatch(Array.from({ length: 40 }, (_, i) => ({ name: 'disk_rt', value: i + 1 })));
    await member.stop();
    expect(member.status().hub).toMatchObject({ queueDepth: 0, dropped: 0 });
  });

  it('a member forgotten with a batch applied and not yet flushed: welcomed back with what the disk holds, its resend not applied again, acknowledged at the next flush', async () => {
    const dir = dataDir();
    const path = nodes.socketPath();
    const hub = await nodes.startIn(onDisk(dir, 5000), 'hub', path);
    // Right after one of the hub's own flushes (every 5 s): the member is forgotten (3 s of
    // silence in hub-node.mjs) and back before the next one, unless the machine is very slow.
    const flushes = async () => (await hub.ask({ cmd: 'status' })).storage.flushes as number;
    const before = await flushes();
    await waitFor(async () => (await flushes()) > before, 20_000, "the hub's next flush");
    const flushed = await flushes();
    const a = await rawMember(path);
    a.send({ t: 'hello', instance: 'hand', epoch: 'e1', intervalMs: 1000 });
    const w1 = await a.answer(1);
    a.send(batch(1, w1.round, 5, 50, [def]));
    await applied(hub, 1);
    // Silent past dropMs on a link that stays open: forgotten, the link reset.
    await a.closed();
    expect((await hub.ask({ cmd: 'status' })).hub).toMatchObject({ members: [], forgotten: 1 });
    const b = await rawMember(path);
    b.send({ t: 'hello', instance: 'hand', epoch: 'e1', intervalMs: 1000 });
    const w2 = await b.answer(1);
    // Batch 1 is applied and, with no flush since, not on disk: a welcome that acknowledged it
    // would have the member drop it, lost if the hub were killed before its next flush.
    if ((await flushes()) === flushed) expect(w2).toMatchObject({ t: 'welcome', acked: 0 });
    if (w2.acked < 1) b.send(batch(1, w2.round, 5, 50, [def]));
    expect((await hub.ask({ cmd: 'flushStorage' })).flushed).toBe(true);
    await waitFor(() => w2.acked === 1 || b.heard().some((m) => m.t === 'ack' && m.seq === 1), 20_000, 'batch 1 acknowledged after a flush');
    expect(await history(hub, 'disk_rt')).toEqual({ '': { count: 5, sum: 50 }, hand: { count: 5, sum: 50 } });
    b.close();
  });

  it('stopped cleanly while a batch stays cut (its apply failed, and again at the stop): no flush writes part of it, and the next hub counts its resend once', async () => {
    const dir = dataDir();
    const path = nodes.socketPath();
    // This hub runs in the test's process, its collector's applies in the test's hands: batch
    // 2's apply takes half its rows and fails, as when the collector is killed there, and so
    // does every apply of it after (a collector killed again while the hub finishes it).
    const first = new PerformanceMonitor({ storage: 'sqlite', dataDir: dir, system: { enabled: false }, runtime: { enabled: false }, collectionIntervalMs: 1000, hub: { listen: path, staleMs: 1500, dropMs: 3000 } });
    await first.start();
    type Apply = (b: AppliedBuckets) => Promise<number>;
    const collector = (first as unknown as { collector: { call(fn: (c: { applyBuckets: Apply }) => Promise<unknown>, retry?: boolean): Promise<unknown> } }).collector;
    const call = collector.call.bind(collector);
    let tries = 0;
    collector.call = (fn, retry) =>
      call((c) => {
        const applyBuckets: Apply = async (b) => {
          if (b.seq !== 2) return c.applyBuckets(b);
          if (tries++ > 0) throw new Error('the collector died again');
          const h = b.starts.length / 2;
          await c.applyBuckets({ key: b.key, seq: b.seq, ids: b.ids.slice(0, 2 * h), starts: b.starts.slice(0, h), stats: b.stats.slice(0, 5 * h), runs: b.runs, runAt: b.runAt.slice(0, h) });
          throw new Error('the collector died in this apply');
        };
        return fn(new Proxy(c, { get: (target, p) => (p === 'applyBuckets' ? applyBuckets : Reflect.get(target, p)) }));
      }, retry);
    const ROWS = 64;
    const from = T0 - 240_000;
    const defs = [[0, 'stop_cut_rt', {}, 'distribution', '']];
    const one = [ROWS * 64, ROWS * 2080];
    const member = () => {
      const s = first.status().hub;
      return s?.role === 'hub' ? s.members[0] : undefined;
    };
    try {
      let a = await rawMember(path);
      a.send({ t: 'hello', instance: 'stopcut', epoch: 'e1', intervalMs: 1000 });
      const w1 = await a.answer(1);
      a.send(bigBatch(1, w1.round, ROWS, 1, from + 1000 * ROWS, defs, true));
      await waitFor(() => member()?.batches === 1, 20_000, 'batch 1 applied');
      expect(await first.flushStorage()).toBe(true);
      expect(await a.answer(2)).toEqual({ t: 'ack', seq: 1 });
      a.send(bigBatch(2, w1.round, ROWS, 1, from + 2000 * ROWS, [], true));
      await waitFor(() => tries > 0 && member()?.failed === 1, 20_000, "batch 2's apply cut");
      await first.stop();
      // Not vacuous: the stop tried to finish it, and could not.
      expect(tries).toBeGreaterThanOrEqual(2);
      a.close();
      // The file as the stop left it: batch 1 and its number, no part of batch 2.
      const db = openSchema(join(dir, 'perfwatch.db'));
      const numbers = hubSeqsOf(db.prepare(READ_HUB_SEQS).all());
      db.close();
      expect(numbers).toEqual([{ instance: 'stopcut', epoch: 'e1', acked: 1 }]);
      expect(Object.values(onFile(dir, 'stop_cut_rt'))).toEqual([one, one]);
      // The member resends batch 2 to the next hub: counted once.
      const hub = await nodes.startIn(onDisk(dir), 'hub', path);
      a = await rawMember(path);
      a.send({ t: 'hello', instance: 'stopcut', epoch: 'e1', intervalMs: 1000 });
      const w2 = await a.answer(1);
      expect(w2).toMatchObject({ t: 'welcome', acked: 1 });
      a.send(bigBatch(2, w2.round, ROWS, 1, from + 2000 * ROWS, defs, true));
      await applied(hub, 1);
      expect((await hub.ask({ cmd: 'flushStorage' })).flushed).toBe(true);
      expect(await a.answer(2)).toEqual({ t: 'ack', seq: 2 });
      const two = { count: 2 * one[0]!, sum: 2 * one[1]! };
      expect(await history(hub, 'stop_cut_rt')).toEqual({ '': two, stopcut: two });
      a.close();
    } finally {
      await first.stop();
    }
  });

  it("with its collector killed in a batch's apply before a flush: the file holds whole batches only, exactly those its numbers say", async () => {
    const dir = dataDir();
    const path = nodes.socketPath();
    const hub = await nodes.startIn(onDisk(dir), 'hub', path);
    const a = await rawMember(path);
    a.send({ t: 'hello', instance: 'cut', epoch: 'e1', intervalMs: 1000 });
    let { round } = await a.answer(1);
    // It beats as a member does: a hub slow to take a batch must not forget it (dropMs 3 s).
    const beat = setInterval(() => a.send({ t: 'beat' }), 500);
    beat.unref();
    const SIDS = 32;
    const ROWS = 1 << 15;
    const BATCHES = 6;
    const defs = Array.from({ length: SIDS }, (_, i) => [i, 'cut_rt', { k: String(i) }, 'distribution', '']);
    const rand = seeded(5);
    let failed = 0;
    for (let seq = 1; seq <= BATCHES; seq++) {
      a.send(bigBatch(seq, round, ROWS, SIDS, T0 + 1000 * (seq + 1), seq === 1 ? defs : []));
      // A moment after it went out: in its decode, its apply (a few hundred ms here) or after.
      await new Promise((resolve) => setTimeout(resolve, rand() * 300));
      await hub.ask({ cmd: 'killCollector' });
      // The member does not resend (as if its link were slow): the flush must hold no part of a
      // batch without its number all the same. It finishes a cut batch first, and is skipped
      // while one stays cut: under load the watchdog may replace the collector again in that
      // apply (no heartbeat), and the next flush finishes it.
      await waitFor(async () => (await hub.ask({ cmd: 'flushStorage' })).flushed, 20_000, 'a flush that commits');
      // Applied before the next goes out (on its way or waiting for the collector's successor
      // when its kill came, it is applied after the flush; cut, the flush finished it): else
      // the next kill could cut it, after the next batch went out with a round it ends, and a
      // hand-made member does not resend what the hub then drops.
      await applied(hub, seq);
      const member = (await hub.ask({ cmd: 'status' })).hub.members[0];
      if (member.failed > failed) {
        // The apply was cut: the hub's resync welcome gives the round the next batch must carry.
        failed = member.failed;
        round = (await waitFor(() => a.heard().filter((m) => m.t === 'welcome' && m.round > round).pop(), 20_000, 'the resync welcome')).round;
      }
    }
    // Not vacuous: kills cut applies (each failed apply is counted).
    expect(failed).toBeGreaterThanOrEqual(1);
    // A batch still on its way when its kill and its flush came (megabytes a frame, on a loaded
    // host) is applied after them, and its flush is then the hub's own (every 5 s), maybe
    // between the reads below and the kill: read them once the last batch is applied and flushed.
    await applied(hub, BATCHES);
    expect((await hub.ask({ cmd: 'flushStorage' })).flushed).toBe(true);
    // The store first (what the hub applied), then the file (what its flushes wrote).
    const batchesApplied = (await hub.ask({ cmd: 'status' })).hub.members[0].batches as number;
    expect(batchesApplied).toBe(BATCHES);
    const inStore = (await hub.ask({ cmd: 'metrics', names: ['cut_rt'] })).metrics as { totalCount: number }[];
    expect(inStore.map((m) => m.totalCount)).toEqual(Array.from({ length: 2 * SIDS }, () => (batchesApplied * ROWS * 64) / SIDS));
    // Closed first: a hub killed with a beat unread resets the link (ECONNRESET, on a socket with no error listener).
    clearInterval(beat);
    a.close();
    await hub.kill();
    // The file as the next hub opens it: every series holds as many whole batches as the member's number says, no part of another.
    const db = openSchema(join(dir, 'perfwatch.db'));
    const numbers = hubSeqsOf(db.prepare(READ_HUB_SEQS).all());
    db.close();
    expect(numbers).toHaveLength(1);
    expect(numbers[0]).toMatchObject({ instance: 'cut', epoch: 'e1' });
    expect(numbers[0]!.acked).toBe(batchesApplied);
    const per = (numbers[0]!.acked * ROWS * 64) / SIDS;
    const totals = onFile(dir, 'cut_rt');
    expect(Object.keys(totals)).toHaveLength(2 * SIDS);
    expect(Object.values(totals)).toEqual(Array.from({ length: 2 * SIDS }, () => [per, (per / 64) * 2080]));
  }, 120_000);

  for (const seed of [11, 23, 37, 41]) {
    it(`killed at random moments (seed ${seed}), members on a Unix socket: per-member and cluster-wide totals exact, the members resent what the disk did not hold`, async () => {
      const rand = seeded(seed);
      const dir = dataDir();
      const path = nodes.socketPath();
      let hub = await nodes.startIn(onDisk(dir, 200), 'hub', path);
      const members = { a: await nodes.start('member', path, 'a'), b: await nodes.start('member', path, 'b') };
      const want: Record<string, { count: number; sum: number }> = { a: { count: 0, sum: 0 }, b: { count: 0, sum: 0 } };
      const heldAtKill: number[] = [];
      const appliedSoFar = async () => ((await hub.ask({ cmd: 'status' })).hub.members as { batches: number }[]).reduce((n, m) => n + m.batches, 0);
      for (let kill = 0; kill < 4; kill++) {
        const before = await appliedSoFar();
        for (const [name, m] of Object.entries(members)) {
          const values = Array.from({ length: 1 + Math.floor(rand() * 40) }, () => 1 + Math.floor(rand() * 1000));
          await m.ask({ cmd: 'record', name: 'disk_rt', values });
          want[name]!.count += values.length;
          want[name]!.sum += values.reduce((x, y) => x + y, 0);
        }
        const moment = kill === 3 ? 'held' : rand() < 0.5 ? 'anywhere' : 'applied';
        if (moment === 'anywhere') {
          // Anywhere in the next interval and a half: before a flush, between an apply and the
          // flush (every 200 ms), after a flush before its ack reached the member.
          await new Promise((resolve) => setTimeout(resolve, Math.floor(rand() * 1500)));
        } else if (moment === 'applied') {
          // Within a flush period after an apply: before its flush, or after it.
          await waitFor(async () => (await appliedSoFar()) > before, 20_000, 'a batch applied');
          await new Promise((resolve) => setTimeout(resolve, Math.floor(rand() * 250)));
        } else {
          // The hub's loop held: the members' batches reach it and wait, unapplied, unacknowledged.
          await hub.ask({ cmd: 'block', ms: 5000 });
          for (const m of Object.values(members)) await waitFor(async () => (await m.ask({ cmd: 'status' })).hub.queueDepth > 0, 20_000, 'the member to hold a batch');
        }
        await hub.kill();
        const held = await Promise.all(Object.values(members).map(async (m) => (await m.ask({ cmd: 'status' })).hub.queueDepth as number));
        heldAtKill.push(...held);
        hub = await nodes.startIn(onDisk(dir, 200), 'hub', path);
      }
      // The members stop once welcomed again: their open buckets go too, and they wait for the hub's acknowledgement.
      for (const m of Object.values(members)) {
        await waitFor(async () => (await m.ask({ cmd: 'status' })).hub.connected, 20_000, 'the member to be welcomed');
        const stopped = await m.ask({ cmd: 'stop' });
        expect(stopped.hub).toMatchObject({ queueDepth: 0, dropped: 0 });
        expect(stopped.hub.failed).toBeGreaterThanOrEqual(4);
      }
      expect((await hub.ask({ cmd: 'flushStorage' })).flushed).toBe(true);
      const got = await history(hub, 'disk_rt');
      expect(got).toEqual({ '': { count: want.a!.count + want.b!.count, sum: want.a!.sum + want.b!.sum }, a: want.a, b: want.b });
      // The members held batches across the kills (at least the last: its hub held), and resent them.
      expect(heldAtKill.slice(-2).every((q) => q > 0)).toBe(true);
    });
  }
});
