/**
 * A member held stopped (`kill -STOP`, 2 s: a CPU-starved container, a debugger) sends its
 * buckets late over a link that stayed up. What holds: its own series on the hub keeps its
 * intervals, bucket for bucket as on the member, and the cluster-wide series' total is the
 * members' sum. Where the late buckets land in the cluster-wide series (the interval they
 * arrive in, not the one they were recorded in): docs/cluster.md, Timing and Not done.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from './helpers.js';
import { hubNodes, sleep } from './hub-helpers.js';

const nodes = hubNodes();
const NAMES = ['late-1', 'late-2', 'late-3'];

describe('a member held stopped for 2 s', () => {
  it('keeps its intervals on the hub, and the cluster total is the members\' sum', async () => {
    const path = nodes.socketPath();
    const hub = await nodes.start('hub', path);
    const members = [];
    for (const name of NAMES) members.push(await nodes.start('member', path, name));
    for (const m of members) await m.ask({ cmd: 'steady', name: 'jobs', every: 10 });
    // Every member's buckets are in on the hub before the stop.
    await waitFor(async () => (await hub.ask({ cmd: 'points', name: 'jobs' })).series.filter((s: any) => s.tags.instance !== undefined && s.points.length >= 2).length === 3, 20_000, "every member's buckets");
    const held = members[0]!;
    held.child.kill('SIGSTOP');
    // How long it is held, not a bar: nothing below depends on it.
    await sleep(2000);
    held.child.kill('SIGCONT');
    await sleep(1500);
    // Each member's own intervals, its newest (open, still filling) left out; then a clean
    // stop sends its last buckets.
    const own = new Map<string, number[][]>();
    for (const [i, m] of members.entries()) {
      const points: number[][] = (await m.ask({ cmd: 'points', name: 'jobs' })).series[0].points;
      own.set(NAMES[i]!, points.slice(0, -1));
      await m.ask({ cmd: 'stop' });
    }
    const total = (points: number[][]) => points.reduce((a, p) => a + p[1]!, 0);
    const onHub = await waitFor(async () => {
      const r = await hub.ask({ cmd: 'points', name: 'jobs' });
      const cluster = r.series.find((s: any) => s.tags.instance === undefined);
      const sum = r.series.filter((s: any) => s.tags.instance !== undefined).reduce((a: number, s: any) => a + total(s.points), 0);
      return r.series.length === 4 && total(cluster.points) === sum ? r : undefined;
    }, 20_000, "the cluster-wide total to be the members' sum");
    for (const name of NAMES) {
      const mine = own.get(name)!;
      const series = onHub.series.find((s: any) => s.tags.instance === name);
      expect(series.points.slice(0, mine.length), name).toEqual(mine);
    }
    // The stop left a gap in the held member's own intervals (it recorded nothing meanwhile).
    const heldPoints = own.get(NAMES[0]!)!;
    const gaps = heldPoints.slice(1).filter((p, i) => p[0]! - heldPoints[i]![0]! > 1000);
    expect(gaps.length).toBeGreaterThan(0);
  }, 60_000);
});
