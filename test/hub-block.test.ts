/**
 * A hub whose own thread is held (the host's sync work, a long GC). The hub reads its members'
 * links on the host's thread, while its collector closes buckets and its alert actor judges
 * windows on threads of their own. Until 2026-12-07 both judged a member silent from the
 * hub's clock alone: held 8 s while its member sent all along, a hub fired that member's
 * `rate < 10` with 0 (the member's buckets unread in the socket) and marked it stale, and
 * held past dropMs it forgot it and reset its link (trial hubblock). Silence is now judged only
 * over what the hub had the chance to read.
 */
import { describe, expect, it } from 'vitest';
import type { AlertTransition } from '../dist/src/index.js';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes, sleep } from './hub-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();
const INTERVAL = 1000;

/** Holds this thread, the hub's, as a host's sync work does. */
function hold(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

describe('a hub whose thread is held', () => {
  it("judges no member silent for what it could not read: no `rate <` alert, not stale, not forgotten; a member that stops still fires", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: INTERVAL, hub: { listen: path, staleMs: 1500, dropMs: 3000 }, alerts: { resolveHoldMs: 0 } });
    const seen: AlertTransition[] = [];
    hub.on('alert', (t) => seen.push(t));
    await hub.createAlertRule({ name: 'stalled', metric: 'hb_jobs', aggregation: 'rate', window: 2, operator: '<', threshold: 10 });
    const member = await nodes.start('member', path, 'm-b');
    // 100 a second, steadily, in its own process: it goes on while the hub is held.
    await member.ask({ cmd: 'steady', name: 'hb_jobs', every: 10 });
    const mine = () => seen.filter((t) => t.tags.instance === 'm-b');
    // Its rule judged over two whole intervals of its buckets (it may fire at first, on the
    // window before it started, and resolve): from then on it is clear.
    await waitFor(() => hub.getMetrics().some((s) => s.name === 'hb_jobs' && s.tags.instance === 'm-b'), 5 * INTERVAL, "the member's series on the hub");
    await sleep(4 * INTERVAL);
    expect(hub.getAlerts().filter((a) => a.tags.instance === 'm-b')).toEqual([]);
    const before = mine().length;

    // Past dropMs and several intervals, while the member records and sends.
    hold(4.5 * INTERVAL);
    await sleep(3 * INTERVAL);

    const s = hub.status().hub!;
    expect(s.role === 'hub' && s.forgotten).toBe(0);
    const m = s.role === 'hub' ? s.members.find((x) => x.instance === 'm-b') : undefined;
    expect([m?.state, m?.connected]).toEqual(['live', true]);
    expect(mine().slice(before)).toEqual([]);

    // A member that really stops sending still fires, with 0.
    await member.kill();
    const fired = await waitFor(() => mine().slice(before).find((t) => t.to === 'firing'), 6 * INTERVAL, "the stopped member's rate rule to fire");
    expect(fired.value).toBe(0);
  });
});
