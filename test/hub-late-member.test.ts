/**
 * A member held stopped (`kill -STOP`, 2 s: a CPU-starved container, a debugger) sends its
 * buckets late over a link that stayed up. The cluster-wide series takes each member bucket in
 * the interval after the one it was recorded in, late or not: its count at each start is the
 * members' at the start before, exactly. Until 2026-12-07 a late bucket went into the interval
 * it arrived in: three members at about 98 a second read 197, 194, 319 where they had recorded
 * 295, 219, 196, and a hub rule `count(jobs[1s]) > 310` fired on a spike no member recorded.
 * The member series keep their intervals, bucket for bucket as on the member.
 */
import { describe, expect, it } from 'vitest';
import { waitFor } from './helpers.js';
import { hubNodes, intoNextInterval, sleep } from './hub-helpers.js';

const nodes = hubNodes();
const NAMES = ['late-1', 'late-2', 'late-3'];

describe('a member held stopped for 2 s', () => {
  it("lands in the cluster-wide interval it was recorded for, and fires no rule on a spike no member recorded", async () => {
    const path = nodes.socketPath();
    // A member is waited for until it is stale: longer than the stop.
    const hub = await nodes.startIn({ HUB_STALE_MS: '6000', HUB_DROP_MS: '12000' }, 'hub', path);
    await hub.ask({ cmd: 'rule', rule: { name: 'spike', metric: 'jobs', aggregation: 'count', window: 1, operator: '>', threshold: 310 } });
    const members = [];
    for (const name of NAMES) members.push(await nodes.start('member', path, name));
    // Each at most 100 a second (a timer every 10 ms): the cluster at most 300 an interval, never 310.
    for (const m of members) await m.ask({ cmd: 'steady', name: 'jobs', every: 10 });
    await waitFor(async () => (await hub.ask({ cmd: 'points', name: 'jobs' })).series.filter((s: any) => s.tags.instance !== undefined && s.points.length >= 2).length === 3, 20_000, "every member's buckets");
    // A bucket held open for a late member closes at its minute's end (its rollup): the stop
    // falls within one minute. And 0.3 s into an interval, so the held member recorded part of it.
    const intoMinute = () => Date.now() % 60_000;
    if (intoMinute() > 45_000) await sleep(61_000 - intoMinute());
    await intoNextInterval(300);
    const held = members[0]!;
    held.child.kill('SIGSTOP');
    // How long it is held, not a bar: nothing below depends on it.
    await sleep(2000);
    held.child.kill('SIGCONT');
    await sleep(1500);
    // Each member's own intervals, its newest (open, still filling) left out; then a clean
    // stop sends its last buckets.
    const own = new Map<string, number[][]>();
    const stopping = Date.now();
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
    const bySeries = new Map<string, Map<number, number>>(onHub.series.map((s: any) => [s.tags.instance ?? '', new Map(s.points)]));
    for (const name of NAMES) {
      const mine = own.get(name)!;
      expect([...bySeries.get(name)!].slice(0, mine.length), name).toEqual(mine);
    }
    // The stop left a gap in the held member's own intervals (it recorded nothing meanwhile).
    const heldPoints = own.get(NAMES[0]!)!;
    expect(heldPoints.slice(1).filter((p, i) => p[0]! - heldPoints[i]![0]! > 1000).length).toBeGreaterThan(0);
    // Each cluster-wide interval holds the members' buckets of the interval before, exactly, up
    // to the clean stops: a stopping member sends its open bucket before it ends, which the
    // cluster-wide series takes in its open bucket of then, as before.
    const until = Math.min(...NAMES.map((n) => own.get(n)!.at(-1)![0]!));
    const wrong: string[] = [];
    for (const [t, count] of bySeries.get('')!) {
      if (t > until) continue;
      const members = NAMES.map((n) => bySeries.get(n)!.get(t - 1000) ?? 0);
      if (count !== members.reduce((a, c) => a + c, 0)) wrong.push(`${t}: ${count}, the members' ${members.join(' + ')}`);
    }
    expect(wrong).toEqual([]);
    // Before the clean stops, whose open buckets go into the cluster-wide bucket of then.
    const fired = (await hub.ask({ cmd: 'alerts' })).alerts.filter((a: any) => a[0] === 'spike' && a[1].instance === undefined && a[2] === 'firing' && a[4] < stopping);
    expect(fired).toEqual([]);
  }, 120_000);
});
