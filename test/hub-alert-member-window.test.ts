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
import { Registry, type PendingSeries } from '../dist/src/engine/registry.js';
import { T0, harness } from './alert-harness.js';
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

  it('judges no window of a member series before its first bucket is in', () => {
    // The hub defines a member's series as the batch arrives and applies its buckets after,
    // behind the member's chain; a close of the hub's own in between judged the window before
    // the series' first bucket: `rate < 400` fired with 0, then resolved with 500 (CI).
    const h = harness();
    h.rule({ name: 'slow 1s rate', metric: 'mw_first', aggregation: 'rate', window: 1, operator: '<', threshold: 400 });
    const id = h.registry.seriesId('mw_first', { instance: 'm1' });
    h.registry.markMember(id, T0);
    for (let k = 1; k <= 3; k++) h.at(T0 + k * INTERVAL + 5);
    expect(h.transitions).toEqual([]);
  });

  it("marks a member's series, and its cluster-wide one, as it creates them: no other thread sees them unmarked", async () => {
    // Marked just after, the alert actor bound a new member series at the hub's close in
    // between and judged it as one of the hub's own, over the hub's bucket just closed, where
    // the member's bucket was not yet: `rate < 400` fired with 0 and resolved 7 ms later (CI).
    const commit = Registry.prototype.commit;
    const unmarked: string[] = [];
    const hubs = new Set<Registry>();
    Registry.prototype.commit = function (this: Registry, pending: readonly PendingSeries[], ...rest: [boolean?, ((i: number) => string)?]) {
      const ids = commit.call(this, pending, ...rest);
      // As the alert actor's thread sees them the moment commit() made them visible.
      ids.forEach((id, i) => {
        const p = pending[i]!;
        if (p.name !== 'mw_mark') return;
        if (p.pairs.some(([k]) => k === 'instance')) {
          hubs.add(this);
          if (!this.isMember(id) || this.memberFrom(id) === -Infinity) unmarked.push(`member series ${p.key}`);
        } else if (hubs.has(this) && !this.isCluster(id)) unmarked.push(`cluster-wide series ${p.key}`);
      });
      return ids;
    };
    try {
      const path = nodes.socketPath();
      const hub = await started({ collectionIntervalMs: INTERVAL, hub: { listen: path } });
      const member = await started({ collectionIntervalMs: INTERVAL, hub: { connect: path, instance: 'm3' } });
      member.metric('mw_mark').record(1);
      await waitFor(() => hub.getMetrics().some((m) => m.name === 'mw_mark' && m.tags.instance === 'm3'), 5 * INTERVAL, "the member's series on the hub");
      expect(hubs.size).toBe(1);
      expect(unmarked).toEqual([]);
    } finally {
      Registry.prototype.commit = commit;
    }
  });
});
