/**
 * When a hub calls a member stale, and forgets it, and how far behind it is (docs/cluster.md,
 * Links): a member speaks once an interval, so a healthy one is neither stale nor forgotten,
 * whatever staleMs and dropMs say against a longer interval, and an idle one is not behind;
 * one that stopped cleanly is marked so, not stale.
 */
import { describe, expect, it } from 'vitest';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes } from './hub-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();

describe("a hub's view of a member that speaks once an interval", () => {
  it('is live all along, neither stale nor forgotten, with staleMs and dropMs shorter than the interval', async () => {
    const path = nodes.socketPath();
    const base = { collectionIntervalMs: 3000, bucketCapacity: 40 };
    const hub = await started({ ...base, hub: { listen: path, staleMs: 1000, dropMs: 1500 } });
    const member = await started({ ...base, hub: { connect: path, instance: 'steady' } });
    member.record('steady_rt', 1);
    await waitFor(() => hub.status().hub?.role === 'hub' && (hub.status().hub as { members: unknown[] }).members.length === 1, 10_000, 'the member');
    const seen = new Set<string>();
    // Two intervals and a half: each member speaks at its intervals' ends, 3 s apart.
    const end = Date.now() + 7500;
    while (Date.now() < end) {
      const h = hub.status().hub as { members: { state: string }[]; forgotten: number };
      seen.add(h.members.map((m) => m.state).join(',') || 'none');
      expect(h.forgotten).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect([...seen]).toEqual(['live']);
  });

  it('an idle member, every batch applied, is not behind: its lagMs stays under three intervals while it records nothing', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'idle' } });
    member.record('idle_rt', 1);
    const lag = () => (hub.status().hub as { members: { lagMs: number | null; buckets: number }[] }).members[0];
    await waitFor(() => (lag()?.buckets ?? 0) > 0, 10_000, 'its one bucket');
    // Nothing recorded for 4 intervals: the member beats, and its lag is that of its beats.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(lag()!.lagMs).not.toBeNull();
    expect(lag()!.lagMs!).toBeLessThan(3000);
  });

  it('a member that stops cleanly with nothing to send is marked stopped, and not stale for its silence after', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path, staleMs: 1000, dropMs: 60_000 } });
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'leaving' } });
    const state = () => (hub.status().hub as { members: { state: string }[] }).members[0]?.state;
    await waitFor(() => state() === 'live', 10_000, 'the member');
    // Nothing recorded: the member holds nothing unacknowledged when it stops.
    await member.stop();
    await waitFor(() => state() === 'stopped', 10_000, 'the member stopped');
    // Past staleMs and two intervals of silence: still stopped, never stale.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(state()).toBe('stopped');
  });

  it("a member that stopped cleanly is behind nothing: its lagMs is null, not the time since it stopped, and monitor_hub_lag does not rise for it", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path, staleMs: 1000, dropMs: 60_000 } });
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'leaving' } });
    member.record('leaving_rt', 1);
    const seen = () => (hub.status().hub as { members: { state: string; lagMs: number | null; buckets: number }[] }).members[0];
    await waitFor(() => ((seen()?.buckets ?? 0) > 0 ? seen() : undefined), 10_000, 'its bucket applied');
    await member.stop();
    await waitFor(() => seen()?.state === 'stopped', 10_000, 'the member stopped');
    // Its lag grew with the time since it stopped (3 s, 15 s…), and the hub's gauge with it.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect(seen()).toMatchObject({ state: 'stopped', lagMs: null });
    await hub.flush();
    const gauge = hub.getMetrics({ names: ['monitor_hub_lag'] })[0]!;
    expect(gauge.last).toBeLessThan(1500);
  });
});
