/**
 * A member that joins a hub up for a while (docs/cluster.md, Members' series). Until
 * 2026-12-07 a member's own series took its rate and covered seconds from the hub's watched
 * time, so the time before the member existed counted as watched: a member doing 180/s for
 * 33 s read 131.7/s on a hub up 45 s, and a hub rule `rate(jobs[60s]) < 50` on a member
 * doing 190/s fired the moment it joined. The member now says in its hello when it started
 * watching, and its series on the hub are watched from there.
 */
import { describe, expect, it } from 'vitest';
import type { AlertTransition } from '../dist/src/index.js';
import type { HubStatus } from '../dist/src/hub/hub.js';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes, intoNextInterval, rawMember, sleep } from './hub-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();
const INTERVAL = 1000;
const PER_BUCKET = 100;
const BURSTS = 4;

describe('a member that joins a hub up for a while', () => {
  it("has its series' rate and covered seconds on the hub as its own monitor has them, in getMetrics, reports and history, and a `rate < x` rule on it does not fire", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: INTERVAL, hub: { listen: path }, alerts: { resolveHoldMs: 0 } });
    hub.define({ name: 'hj_jobs', kind: 'counter', unit: 'count' });
    const seen: AlertTransition[] = [];
    hub.on('alert', (t) => seen.push(t));
    // 100 a second from its first bucket on: over the hub's time, its first window read 100 over 11 s or more.
    await hub.createAlertRule({ name: 'jobs dropped', metric: 'hj_jobs', tags: { instance: 'j1' }, aggregation: 'rate', window: 30, operator: '<', threshold: 20 });
    await sleep(10 * INTERVAL);

    const joinedAt = Date.now();
    const member = await started({ collectionIntervalMs: INTERVAL, hub: { connect: path, instance: 'j1' } });
    member.define({ name: 'hj_jobs', kind: 'counter', unit: 'count' });
    const jobs = member.metric('hj_jobs');
    for (let k = 0; k < BURSTS; k++) {
      await intoNextInterval(200);
      for (let i = 0; i < PER_BUCKET; i++) jobs.record(1);
    }
    const onHub = () => hub.getMetrics({ names: ['hj_jobs'], tags: { instance: 'j1' } })[0];
    await waitFor(() => onHub()?.window.count === BURSTS * PER_BUCKET, 10 * INTERVAL, "the member's buckets on the hub");
    // Both over the same time, from the member's start to now.
    const [own] = member.getMetrics({ names: ['hj_jobs'] });
    const there = onHub()!;
    expect(there.window.rate! / own!.window.rate!).toBeGreaterThan(0.9);
    // The hub's window on a member series ends where the member's data does (query.ts, memberEnd),
    // the member's own at now, later by the time its last bucket took to reach the hub. The member
    // reads each interval just after its collector closed it (hub/member.ts, readDue): under load
    // 22-26 the hub read up to 1.06×. Read at the moment of the interval the member started in, up
    // to an interval late, the hub read up to 1.25× (1.24 and 1.13 in CI runs on 2026-12-07).
    expect(there.window.rate! / own!.window.rate!).toBeLessThan(1.1);
    expect(Math.abs(there.window.coveredSeconds! - own!.window.coveredSeconds!)).toBeLessThanOrEqual(0.5);
    expect(seen.filter((t) => t.ruleName === 'jobs dropped')).toEqual([]);

    const report = await hub.generateReport({ from: joinedAt - 20 * INTERVAL });
    const reported = report.series.find((s) => s.name === 'hj_jobs' && s.tags.instance === 'j1')!;
    expect(reported.rate / own!.window.rate!).toBeGreaterThan(0.8);
    // No zero points for the hub's time before the member was.
    const history = await hub.getMetricHistory({ metric: 'hj_jobs', tags: { instance: 'j1' }, resolution: 'bucket', zeroFill: true, from: joinedAt - 20 * INTERVAL });
    expect(history.series[0]!.points.filter((p) => p.t < joinedAt - INTERVAL)).toEqual([]);
  });

  it('a hello whose watchedFrom is no time is malformed, named with the member and the field', async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: INTERVAL, hub: { listen: path } });
    const m = await rawMember(path);
    m.send({ t: 'hello', instance: 'odd-start', epoch: 'e', intervalMs: INTERVAL, watchedFrom: 1e16 });
    await m.closed();
    expect((hub.status().hub as HubStatus).lastError?.message).toMatch(/: hello\.watchedFrom of member "odd-start" must be a time \(ms\) within ±8\.64e15 of the epoch \(the range of a Date\) when present, not 10000000000000000$/);
    // A member that does not say (an older one) is welcomed.
    const old = await rawMember(path);
    old.send({ t: 'hello', instance: 'older', epoch: 'e', intervalMs: INTERVAL });
    expect(await old.answer(1)).toMatchObject({ t: 'welcome' });
    old.close();
  });
});
