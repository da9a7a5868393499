/**
 * A hub forgets a member silent past dropMs (docs/cluster.md, Links): what becomes of a member
 * that comes back, on the same hub run.
 */
import { describe, expect, it } from 'vitest';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes, rawMember, rowsBatch } from './hub-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();

/** A series definition of a hand-made batch: sid 0 is raw_rt{route="/r"}, a distribution. */
const def = () => [0, 'raw_rt', { route: '/r' }, 'distribution', ''];

/** A hand-made batch of one row of sid 0: count and sum, min 1, of the second before now. */
const batch = (seq: number, round: number, count: number, sum: number, defs: unknown[] = []) => rowsBatch(seq, round, [[0, count, sum]], defs);

describe('a hub forgets a silent member', () => {
  it('a member forgotten while its link stays open has the link reset, and its hello is welcomed with a round newer than any it took from this hub: its batches apply again', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path, staleMs: 500, dropMs: 600 } });
    const total = () => hub.getMetrics({ names: ['raw_rt'], tags: { route: '/r' } }).find((s) => !('instance' in s.tags))?.totalCount ?? 0;
    const a = await rawMember(path);
    a.send({ t: 'hello', instance: 'paused', epoch: 'e', intervalMs: 1000 });
    const first = await a.answer(1);
    a.send(batch(1, first.round, 5, 5, [def()]));
    expect(await a.answer(2)).toEqual({ t: 'ack', seq: 1 });
    // Silent (a process paused) on a link that stays open: forgotten, and the link reset.
    await a.closed();
    expect(hub.status().hub).toMatchObject({ members: [], forgotten: 1, malformed: 0 });
    const b = await rawMember(path);
    b.send({ t: 'hello', instance: 'paused', epoch: 'e', intervalMs: 1000 });
    const again = await b.answer(1);
    // A round the member has not taken yet: it ignores a welcome of this run at or below its
    // last; and what the hub acknowledged before it forgot the member.
    expect(again).toMatchObject({ t: 'welcome', hub: first.hub, acked: 1 });
    expect(again.round).toBeGreaterThan(first.round);
    b.send(batch(2, again.round, 2, 2, [def()]));
    expect(await b.answer(2)).toEqual({ t: 'ack', seq: 2 });
    await hub.flush();
    expect(total()).toBe(7);
    // Batch 1 was acknowledged before the member was forgotten: not a gap in its seqs.
    expect(hub.status().hub).toMatchObject({ members: [{ instance: 'paused', batches: 1, dropped: 0 }] });
    b.close();
  });

  it("a member forgotten takes its series off /metrics and getMetrics (a restart under a new name adds none for good); the cluster-wide series keep their totals, its history stays, and back under its name it brings back each series it sends", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path, staleMs: 1500, dropMs: 3000 } });
    const server = await hub.serveHttp({ port: 0 });
    try {
      const scrape = async () => (await fetch(new URL('metrics', server.url))).text();
      const own = () => hub.getMetrics({ names: ['gone_rt'] }).filter((s) => s.tags.instance === 'gone-1');
      const a = await nodes.start('member', path, 'gone-1');
      await a.ask({ cmd: 'record', name: 'gone_rt', values: [1, 2, 3], tags: { route: '/g' } });
      await waitFor(async () => /^gone_rt_count\{instance="gone-1",route="\/g"\} 3$/m.test(await scrape()), 20_000, "the member's series on /metrics");
      await a.kill();
      await waitFor(() => (hub.status().hub as { forgotten: number }).forgotten === 1, 20_000, 'the member to be forgotten');
      const text = await waitFor(async () => {
        const t = await scrape();
        return t.includes('instance="gone-1"') ? undefined : t;
      }, 20_000, "the forgotten member's series to leave /metrics");
      expect(text).toMatch(/^gone_rt_count\{route="\/g"\} 3$/m);
      expect(own()).toEqual([]);
      expect(hub.getMetrics({ names: ['gone_rt'] }).map((s) => [s.tags, s.totalCount])).toEqual([[{ route: '/g' }, 3]]);
      const history = await hub.getMetricHistory({ metric: 'gone_rt', resolution: 'bucket' });
      expect(history.series.find((s) => s.tags.instance === 'gone-1')?.points.reduce((n, p) => n + p.count, 0)).toBe(3);

      const b = await nodes.start('member', path, 'gone-1');
      await b.ask({ cmd: 'record', name: 'gone_rt', values: [4], tags: { route: '/g' } });
      const back = await waitFor(() => own().find((s) => s.totalCount === 4), 20_000, "the member's series back on the hub");
      expect(back.tags).toEqual({ instance: 'gone-1', route: '/g' });
      await waitFor(async () => /^gone_rt_count\{instance="gone-1",route="\/g"\} 4$/m.test(await scrape()), 20_000, "the member's series back on /metrics");
    } finally {
      await server.close();
    }
  });
});
