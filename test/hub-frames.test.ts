/**
 * A member's batch and the hub's maxFrameBytes: an interval whose buckets (with their series'
 * definitions) make a frame longer than it goes as several batches, each within it. Until
 * 2026-12-01 a batch was an interval's buckets whatever their size: the hub reset the link
 * for the frame (malformed), the member sent that batch again at each reconnection, and
 * nothing it held reached the hub again.
 */
import { describe, expect, it } from 'vitest';
import type { PerformanceMonitor } from '../dist/src/index.js';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes, rawMember, statsBatch } from './hub-helpers.js';
import { RecordReads } from '../dist/src/engine/store/reader-records.js';

const nodes = hubNodes();
const started = monitorStarter();

/**
 * Records one sample in each of `series` series of `name` (values 1 to series) on `member`,
 * and waits for the hub to acknowledge every bucket: no failure, drop or malformed batch.
 */
async function deliverOneInterval(member: PerformanceMonitor, hub: PerformanceMonitor, name: string, series: number): Promise<void> {
  for (let i = 0; i < series; i++) member.record(name, i + 1, { k: `series-${i}` });
  await member.flush();
  const link = await waitFor(() => {
    const s = member.status().hub as { sent: number; queueDepth: number };
    return s.sent >= series && s.queueDepth === 0 ? s : undefined;
  }, 20_000, 'the hub to acknowledge every bucket');
  expect(link).toMatchObject({ failed: 0, dropped: 0, lastError: null });
  expect((hub.status().hub as { malformed: number }).malformed).toBe(0);
}

describe("a member's interval larger than maxFrameBytes", () => {
  it('goes as several batches, each frame within it: every bucket reaches the hub, no link reset', async () => {
    const path = nodes.socketPath();
    const maxFrameBytes = 65_536;
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path, maxFrameBytes } });
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'wide', maxFrameBytes } });
    // 3,000 series in one interval: some 300 KB of rows and definitions.
    const series = 3000;
    await deliverOneInterval(member, hub, 'wide_rt', series);
    const onHub = hub.getMetrics({ names: ['wide_rt'] });
    const members = onHub.filter((s) => s.tags.instance === 'wide');
    const cluster = onHub.filter((s) => !('instance' in s.tags));
    for (const side of [members, cluster]) {
      expect(side).toHaveLength(series);
      expect(side.reduce((a, s) => a + s.totalCount, 0)).toBe(series);
      expect(side.reduce((a, s) => a + s.totalSum, 0)).toBe((series * (series + 1)) / 2);
    }
  });
});

describe("a batch's series definitions", () => {
  // The hub decodes a definition object by object on its main thread: a frame of 16 MiB of
  // them (130,000 series) held its event loop for a second.
  it('a batch of more than 1,024 is malformed before it is decoded, naming the bound: counted, the link reset; 1,024 are taken', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const defs = (n: number) => Array.from({ length: n }, (_, sid) => [sid, 'defs_rt', { shard: `s${sid}` }, 'distribution', '']);
    const a = await rawMember(path);
    a.send({ t: 'hello', instance: 'many-defs', epoch: 'e', intervalMs: 1000 });
    a.send(statsBatch(1, (await a.answer(1)).round, [], defs(1025)));
    await a.closed();
    expect(hub.status().hub).toMatchObject({ malformed: 1, lastError: { message: expect.stringContaining('member "many-defs": a batch carries at most 1024 series definitions') } });
    const b = await rawMember(path);
    b.send({ t: 'hello', instance: 'many-defs', epoch: 'e', intervalMs: 1000 });
    b.send(statsBatch(1, (await b.answer(1)).round, [], defs(1024)));
    expect(await b.answer(2)).toEqual({ t: 'ack', seq: 1 });
    b.close();
  });

  it("a member's interval of more series than that goes as several batches, each within the bound: every bucket reaches the hub, no link reset", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'many' } });
    const series = 2500;
    await deliverOneInterval(member, hub, 'many_rt', series);
    const cluster = hub.getMetrics({ names: ['many_rt'] }).filter((s) => !('instance' in s.tags));
    expect(cluster).toHaveLength(series);
    expect(cluster.reduce((a, s) => a + s.totalSum, 0)).toBe((series * (series + 1)) / 2);
  });

  it("a member reads an interval's buckets of many series in slices, a turn of the event loop each, not in one hold of the service's main thread", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'sliced' } });
    // The turn of the event loop in which each of the member's series had its buckets read.
    let turn = 0;
    let turning = true;
    const next = (): void => {
      turn++;
      if (turning) setImmediate(next);
    };
    setImmediate(next);
    const turns = new Set<number>();
    const buckets = RecordReads.prototype.buckets;
    RecordReads.prototype.buckets = function (this: RecordReads, ...args: Parameters<typeof buckets>) {
      turns.add(turn);
      return buckets.apply(this, args);
    };
    const series = 4000;
    try {
      await deliverOneInterval(member, hub, 'sliced_rt', series);
    } finally {
      RecordReads.prototype.buckets = buckets;
      turning = false;
    }
    const cluster = hub.getMetrics({ names: ['sliced_rt'] }).filter((s) => !('instance' in s.tags));
    expect(cluster.reduce((a, s) => a + s.totalSum, 0)).toBe((series * (series + 1)) / 2);
    // At most 1,024 series a slice: 4,000 series' buckets are read in four turns or more.
    expect(turns.size).toBeGreaterThanOrEqual(4);
  });
});

describe("a socket link the hub resets", () => {
  // Until 2026-12-05 the hub's socket closed such a link without a word: a member whose
  // maxFrameBytes was larger than the hub's was reset at every batch, sent nothing ever again,
  // and its status said lastError null the whole time (the cluster channel said why already).
  it("tells the member why: its lastError names the hub's reason", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path, maxFrameBytes: 1024 } });
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'loud', maxFrameBytes: 1024 } });
    // One bucket longer than the frame (its definition's tags alone are 1.2 KB): a batch holds one row at least.
    const tags = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`t${i}`, 'v'.repeat(120)]));
    member.record('loud_rt', 1, tags);
    await member.flush();
    const link = await waitFor(() => {
      const s = member.status().hub as { lastError: { message: string } | null; failed: number };
      return s.lastError !== null ? s : undefined;
    }, 20_000, "the member's lastError");
    expect(link.lastError!.message).toMatch(/^the hub reset this link: frame of \d+ bytes is longer than this hub's hub.maxFrameBytes \(1024\)/);
    expect(link.failed).toBeGreaterThan(0);
    expect((hub.status().hub as { malformed: number }).malformed).toBeGreaterThan(0);
  });
});
