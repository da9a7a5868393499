/**
 * A report on a hub (docs/cluster.md, docs/reports.md): each member bucket is in two series of
 * the hub's store, the member's and the cluster-wide one; a metric's summary counts it once.
 */
import { describe, expect, it } from 'vitest';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes, rawMember, statsBatch } from './hub-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();

/** A hand-made batch of one row of sid 0, cache_hit_rate: count and sum, of the second before now, in the round of the member's welcome. */
const batch = (round: number, count: number, sum: number) => statsBatch(1, round, [[0, count, sum, 0, 1, 1]], [[0, 'cache_hit_rate', {}, 'distribution', 'ratio']]);

describe('a report on a hub', () => {
  it("counts each member's samples once in a metric's summary and its diagnoses: the cluster-wide series holds them, the member series are listed apart", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    for (const [instance, hits] of [['a', 50], ['b', 0]] as const) {
      const m = await rawMember(path);
      m.send({ t: 'hello', instance, epoch: 'e', intervalMs: 1000 });
      const welcome = await m.answer(1);
      m.send(batch(welcome.round, 100, hits));
      expect(await m.answer(2)).toEqual({ t: 'ack', seq: 1 });
      m.close();
    }
    await hub.flush();
    await waitFor(() => hub.getMetrics({ names: ['cache_hit_rate'] }).find((s) => !('instance' in s.tags))?.totalCount === 200, 10_000, 'both batches on the hub');
    const report = await hub.generateReport();
    const metric = report.metrics.find((m) => m.name === 'cache_hit_rate')!;
    expect([metric.series, metric.count, metric.mean]).toEqual([1, 200, 0.25]);
    // Each series is still reported: the cluster-wide one and each member's.
    expect(report.series.filter((s) => s.name === 'cache_hit_rate').map((s) => [s.tags.instance ?? '', s.count]).sort()).toEqual([['', 200], ['a', 100], ['b', 100]]);
    expect(report.diagnoses.find((d) => d.id === 'low-cache-hit-rate')?.summary).toBe('Only 25% of 200 cache lookups hit.');
    const own = report.series.filter((s) => s.name !== 'cache_hit_rate').reduce((a, s) => a + s.count, 0);
    expect(report.summary.samples).toBe(200 + own);
  });

  it("has each member's own runtime series (event-loop lag, heap, GC) tagged instance, not its system or monitor_ ones, and the event-loop diagnosis names the member whose loop is worst", async () => {
    const path = nodes.socketPath();
    // The hub's own samplers on too: its event_loop_lag is its own series, into which the members' merge.
    const hub = await started({ collectionIntervalMs: 1000, system: { enabled: true }, runtime: { enabled: true }, hub: { listen: path } });
    const env = { HUB_SAMPLERS: '1' };
    const [, busy] = await Promise.all([nodes.startIn(env, 'member', path, 'calm'), nodes.startIn(env, 'member', path, 'busy')]);
    const count = (instance: string) => hub.getMetrics({ names: ['event_loop_lag'], tags: { instance } })[0]?.totalCount ?? 0;
    // busy holds its event loop 300 ms twice a second: each interval's p99 delay is about that.
    const deadline = Date.now() + 60_000;
    while (count('busy') < 10 || count('calm') < 10) {
      if (Date.now() > deadline) throw new Error(`10 readings of each member's event_loop_lag: busy ${count('busy')}, calm ${count('calm')}`);
      await busy.ask({ cmd: 'block', ms: 300 });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const report = await hub.generateReport();
    const blocked = report.diagnoses.find((d) => d.id === 'event-loop-blocked');
    expect(blocked?.summary).toMatch(/; worst in member "busy", p99 \d+/);
    expect(blocked?.evidence).toContainEqual(expect.objectContaining({ metric: 'event_loop_lag', statistic: 'p99', tags: { instance: 'busy' } }));
    const travelled = new Set(report.series.filter((s) => s.tags.instance === 'calm').map((s) => s.name));
    for (const name of ['event_loop_lag', 'event_loop_utilization', 'heap_used', 'heap_total', 'rss']) expect(travelled).toContain(name);
    expect([...travelled].filter((n) => n.startsWith('monitor_') || n.startsWith('cpu_') || n.startsWith('memory_') || n.startsWith('disk_') || n === 'network_io')).toEqual([]);
    // The machine's own, on the hub: its sampler's series, without instance.
    expect(report.series.some((s) => s.name === 'cpu_usage' && s.tags.instance === undefined)).toBe(true);
  });
});
