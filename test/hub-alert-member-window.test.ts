/**
 * Window rules on a hub's member series. A member's bucket arrives on the hub a moment after
 * the hub's own bucket for that interval closed, and it keeps its start on the member; until
 * 2026-12-06 the hub judged every window at its own close alone, so a member series' window
 * never held the member's newest bucket: a member recording 500 samples a second read a 1 s
 * rate of 0 (`rate < 400` fired and stayed firing) and a 3 s count of 500 or 1000 for 1500
 * (trial t30). Now a member's series is judged once its bucket is in, over whole buckets,
 * and a member that goes silent still has its windows moved on, an interval behind the hub.
 */
import { describe, expect, it } from 'vitest';
import type { AlertTransition } from '../dist/src/index.js';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes, intoNextInterval } from './hub-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();
const INTERVAL = 1000;
const PER_BUCKET = 500;

describe("a hub's window rules on a member's series", () => {
  it("judge each window over the member's whole buckets, its newest one in, with exact values", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: INTERVAL, hub: { listen: path }, alerts: { resolveHoldMs: 0 } });
    const member = await started({ collectionIntervalMs: INTERVAL, hub: { connect: path, instance: 'm1' } });
    const seen: AlertTransition[] = [];
    hub.on('alert', (t) => seen.push(t));
    await hub.createAlertRule({ name: 'any in 1s', metric: 'mw_rt', aggregation: 'count', window: 1, operator: '>=', threshold: 1 });
    await hub.createAlertRule({ name: 'slow 1s rate', metric: 'mw_rt', aggregation: 'rate', window: 1, operator: '<', threshold: 400 });
    await hub.createAlertRule({ name: 'two buckets in 2s', metric: 'mw_rt', aggregation: 'count', window: 2, operator: '>=', threshold: 2 * PER_BUCKET });
    const rt = member.metric('mw_rt');
    const onMember = (rule: string) => seen.filter((t) => t.ruleName === rule && t.tags.instance === 'm1');

    // 500 samples in each of 4 intervals, 200 ms into each: every bucket of the member holds 500.
    for (let k = 0; k < 4; k++) {
      await intoNextInterval(200);
      for (let i = 1; i <= PER_BUCKET; i++) rt.record(i);
    }
    await waitFor(() => onMember('two buckets in 2s').length > 0, 3 * INTERVAL, "the member's 2 s count of two buckets to be judged");
    // The last burst's bucket is judged as it arrives, just after its end; the empty one after
    // it, at the hub's close an interval after that one's end: looked at in between.
    await intoNextInterval(500);

    expect(onMember('any in 1s').map((t) => [t.to, t.value])).toEqual([['firing', PER_BUCKET]]);
    expect(onMember('two buckets in 2s').map((t) => [t.to, t.value])).toEqual([['firing', 2 * PER_BUCKET]]);
    // 500 a second: never below 400 while it records (it read 0 and fired).
    expect(onMember('slow 1s rate')).toEqual([]);
    const alerts = hub.getAlerts().filter((a) => a.tags.instance === 'm1');
    expect(alerts.map((a) => [a.ruleName, a.value]).sort()).toEqual([['any in 1s', PER_BUCKET], ['two buckets in 2s', 2 * PER_BUCKET]]);
  });

  it("moves a silent member's windows on: its rate falls to 0 an interval after the hub's", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: INTERVAL, hub: { listen: path }, alerts: { resolveHoldMs: 0 } });
    const member = await started({ collectionIntervalMs: INTERVAL, hub: { connect: path, instance: 'm2' } });
    const seen: AlertTransition[] = [];
    hub.on('alert', (t) => seen.push(t));
    await hub.createAlertRule({ name: 'quiet', metric: 'mw_q', aggregation: 'rate', window: 1, operator: '<', threshold: 1 });
    const q = member.metric('mw_q');
    await intoNextInterval(200);
    for (let i = 0; i < PER_BUCKET; i++) q.record(i);
    const last = Math.floor(Date.now() / INTERVAL) * INTERVAL;
    // The member records nothing more; its series' empty windows are judged at the hub's closes.
    const fired = await waitFor(() => seen.find((t) => t.tags.instance === 'm2' && t.to === 'firing'), 5 * INTERVAL, "the silent member's rate rule to fire");
    expect(fired.value).toBe(0);
    // Not before its bucket of 500 was judged clear: the window after it, judged at the hub's close an interval after its end.
    expect(fired.at).toBeGreaterThanOrEqual(last + 3 * INTERVAL);
  });
});
