/**
 * A hub's getMetrics window over its members' counters and gauges. Their buckets travel
 * without sketches (a member sends a sketch for distributions only), so their records on the
 * hub hold no bins; the window kept between reads (analysis/window-sketches.ts) took a read
 * that added no bins for a read with nothing new, and kept the count and sum of its first
 * read for good: a member restarted under its name, or any later bucket, was in totalCount
 * and not in the window (until 2026-12-01). And a gauge's quantiles: its buckets travel with
 * their sketches, so the hub has the quantiles the member has (until 2026-12-01 only a
 * distribution's did, and a hub's quantiles of a gauge were null).
 */
import { describe, expect, it } from 'vitest';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes } from './hub-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();

describe("a hub's window over members' counters and gauges", () => {
  it('counts every bucket that arrives after the window was first read, in the member series and the cluster-wide one', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'w' } });
    const hits = member.metric('win_hits', {}, { kind: 'counter' });
    const depth = member.metric('win_depth', {}, { kind: 'gauge' });
    const read = () => {
      try {
        return hub.getMetrics({ names: ['win_hits', 'win_depth'] });
      } catch {
        return []; // a name the hub has not heard of yet
      }
    };
    const reach = (count: number) =>
      waitFor(() => {
        const all = read();
        return all.length === 4 && all.every((s) => s.totalCount === count) ? all : undefined;
      }, 20_000, `every series at ${count} samples on the hub`);

    hits.record(5);
    depth.record(2);
    const first = await reach(1);
    // The windows read once: their state is kept from here on.
    for (const s of first) expect([s.name, s.tags, s.window.count, s.window.sum]).toEqual([s.name, s.tags, 1, s.totalSum]);

    hits.record(7);
    depth.record(4);
    await reach(2);
    // Each member series took the bucket as a closed record; the cluster-wide series in its
    // open bucket, closed an interval later. Read across three intervals: every read counts both.
    const seen = new Set<string>();
    const end = Date.now() + 3000;
    while (Date.now() < end) {
      for (const s of read()) seen.add(`${s.name} ${JSON.stringify(s.tags)} ${s.window.count} ${s.window.sum}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect([...seen].sort()).toEqual(['win_depth {"instance":"w"} 2 6', 'win_depth {} 2 6', 'win_hits {"instance":"w"} 2 12', 'win_hits {} 2 12']);
  });

  it("gives a gauge's window the member's quantiles, in the member series and the cluster-wide one, and fires a quantile rule on it", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'g' } });
    await hub.createAlertRule({ name: 'deep', metric: 'win_queue', aggregation: 'p90', window: 60, operator: '>', threshold: 80 });
    const fired: unknown[] = [];
    hub.on('alert', (t) => t.to === 'firing' && fired.push(t));
    const queue = member.metric('win_queue', {}, { kind: 'gauge' });
    for (let v = 1; v <= 100; v++) queue.record(v);
    await member.flush();
    const own = await waitFor(() => member.getMetrics({ names: ['win_queue'] })[0]?.window, 10_000, "the member's window");
    const onHub = await waitFor(() => {
      try {
        const all = hub.getMetrics({ names: ['win_queue'] });
        return all.length === 2 && all.every((s) => s.totalCount === 100) ? all : undefined;
      } catch {
        return undefined; // not heard of yet
      }
    }, 20_000, 'the gauge on the hub');
    for (const s of onHub) expect([s.tags, s.window.p50, s.window.p90, s.window.p99]).toEqual([s.tags, own.p50, own.p90, own.p99]);
    expect(own.p90).toBeGreaterThan(80);
    await waitFor(() => fired.length === 2, 20_000, 'the p90 rule to fire on both series');
  });
});
