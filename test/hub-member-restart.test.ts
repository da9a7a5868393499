/**
 * A member monitor stopped and started again in its process (stop(), start()): its stop sends
 * the open bucket whole, and the store goes on filling that same bucket when the monitor starts
 * again within its interval. What it takes after must reach the hub too, at that bucket's close
 * or at the next stop, once (docs/cluster.md, Links).
 */
import { describe, expect, it } from 'vitest';
import type { MemberLinkStatus } from '../dist/src/index.js';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes, rawHub } from './hub-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();
const INTERVAL = 5_000;

describe('a member stopped and started again within an interval', () => {
  it("sends what the open bucket sent at its stop took after, at the next stop and at the bucket's close: the hub's counts, sums and quantiles are the member's", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: INTERVAL, hub: { listen: path } });
    const member = await started({ collectionIntervalMs: INTERVAL, hub: { connect: path, instance: 'm' } });
    await waitFor(() => (member.status().hub as MemberLinkStatus).connected || undefined, 10_000, 'the member welcomed');
    // Early in an interval, so that the three runs below record into one bucket.
    await waitFor(() => Date.now() % INTERVAL < 500 || undefined, INTERVAL + 1_000, 'the start of an interval');
    const from = Date.now();
    const cluster = () => (hub.getMetrics().some((s) => s.name === 'restart_rt') ? hub.getMetrics({ names: ['restart_rt'], windowSeconds: 3600 }).find((s) => !('instance' in s.tags)) : undefined);
    const runs = [Array.from({ length: 10 }, (_, i) => 1 + i), Array.from({ length: 7 }, (_, i) => 100 + i), Array.from({ length: 5 }, (_, i) => 1_000 + i)];
    for (const [i, values] of runs.entries()) {
      for (const v of values) member.record('restart_rt', v);
      // The first two runs end in a stop (its open bucket sent), the last in the bucket's close.
      if (i < runs.length - 1) {
        await member.stop();
        // A stop waits for the hub's ack: what the runs so far recorded is there, a monitor
        // stopped for good included.
        const so = runs.slice(0, i + 1).flat().length;
        await waitFor(() => (cluster()?.totalCount === so ? true : undefined), 10_000, `the hub to hold the ${so} samples of the runs before the stop`);
        await member.start();
      }
    }
    await member.flush();
    const own = await member.getMetricHistory({ metric: 'restart_rt', from: from - INTERVAL, resolution: 'bucket' });
    // The premise: the three runs went into one bucket, which the stops sent open.
    expect(own.series[0]!.points.map((p) => p.count)).toEqual([22]);
    const all = runs.flat();
    // Before, the stops sent the first run and nothing after it: the hub held 10 samples for good.
    await waitFor(() => (cluster()?.totalCount === all.length ? true : undefined), 3 * INTERVAL, "the hub to hold every sample");
    await hub.flush();
    const mine = member.getMetrics({ names: ['restart_rt'], windowSeconds: 3600 })[0]!;
    for (const s of hub.getMetrics({ names: ['restart_rt'], windowSeconds: 3600 })) {
      expect([s.tags, s.totalCount, s.totalSum]).toEqual([s.tags, all.length, all.reduce((a, b) => a + b, 0)]);
      expect(s.window).toMatchObject({ count: all.length, min: 1, max: 1_004, p50: mine.window.p50, p90: mine.window.p90, p99: mine.window.p99 });
    }
    // Nothing dropped, nothing left unacknowledged: the member's batch of the interval that just
    // closed (its own metrics) may be on its way at this moment (CI read a queue of 1), so the
    // queue is waited for, as the hub's totals are above.
    expect((member.status().hub as MemberLinkStatus).dropped).toBe(0);
    await waitFor(() => ((member.status().hub as MemberLinkStatus).queueDepth === 0 ? true : undefined), 3 * INTERVAL, 'the member\'s queue empty, every batch acknowledged');
    expect((member.status().hub as MemberLinkStatus)).toMatchObject({ dropped: 0, queueDepth: 0 });
  });

  // Its stop marked it stopping, and nothing unmarked it: started again, its first welcome with
  // batches held said `stopping` after them, and the hub marked this running member stopped
  // (a hub on a database flushed for it too).
  it('started again, is a fresh member: a welcome with batches held sends them and no stopping beat', async () => {
    const path = nodes.socketPath();
    const hub = await rawHub(path);
    const m = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'again' } });
    await hub.heard((x) => x.t === 'hello', 'the hello');
    hub.send({ t: 'welcome', acked: 0, round: 1, hub: 'run' });
    m.record('again_rt', 5);
    const stopped = m.stop();
    // A stop sends its open buckets, then says it stops, and waits for the acks.
    await hub.heard((x) => x.t === 'beat' && x.stopping === true, 'the stopping beat');
    hub.send({ t: 'ack', seq: Math.max(...hub.said.filter((x) => x.t === 'batch').map((x) => x.seq)) });
    await stopped;

    const from = hub.said.length;
    await m.start();
    await hub.heard((x) => x.t === 'hello', 'the hello of the monitor started again', from);
    m.record('again_rt', 7);
    // Held: no welcome yet on this link.
    await waitFor(() => (m.status().hub as MemberLinkStatus).queueDepth > 0 || undefined, 10_000, 'a batch held');
    const welcomedAt = hub.said.length;
    hub.send({ t: 'welcome', acked: 0, round: 2, hub: 'run' });
    const held = await hub.heard((x) => x.t === 'batch', 'the held batch sent at the welcome', welcomedAt);
    // Anything it said after the batches the welcome sent: a stopping beat comes right after them.
    m.record('again_rt', 9);
    await hub.heard((x) => (x.t === 'batch' && x.seq > held.seq) || (x.t === 'beat' && x.stopping !== true), 'a later batch or beat', welcomedAt);
    expect(hub.said.slice(welcomedAt).filter((x) => x.t === 'beat' && x.stopping === true)).toEqual([]);
    await hub.close();
  });
});
