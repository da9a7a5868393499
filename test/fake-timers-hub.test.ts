/**
 * A hub and its member in one test process (`hub: { listen }`, `hub: { connect }`), under a test
 * runner's fake timers installed after they started: buckets keep reaching the hub, a member
 * started before its hub dials until the hub is there, and fake time that jumps marks no live
 * member stale.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HubStatus, MemberLinkStatus, PerformanceMonitor } from '../dist/src/index.js';
import { monitorStarter } from './helpers.js';
import { hubNodes } from './hub-helpers.js';
import { FAKED, realSetTimeout, realSleep, realWait } from './fake-timers-helpers.js';

const started = monitorStarter();
const nodes = hubNodes();

afterEach(() => {
  vi.useRealTimers();
});

/** The hub's count of `name` over its members (the series without an instance label); 0 before any reached it. */
function onHub(hub: PerformanceMonitor, name: string): number {
  if (!hub.getMetricNames().some((m) => m.name === name)) return 0;
  return hub.getMetrics({ names: [name] }).find((s) => !('instance' in s.tags))?.totalCount ?? 0;
}

describe("a hub and its member under a test runner's fake timers", () => {
  it('keep applying buckets once the fakes are installed after start, and mark a member killed meanwhile stale', async () => {
    // The hub's turn, which judges its members' silence, was a global setTimeout re-armed at
    // each turn (faked: it never came again), and judged it by the fake Date.now(): a member
    // whose process was killed stayed 'live' on the hub for as long as the fakes held.
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path, staleMs: 1500 } });
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'here' } });
    const other = await nodes.start('member', path, 'killed');
    member.record('before_ms', 1);
    await realWait(() => onHub(hub, 'before_ms') === 1, 30_000, 'the bucket recorded before the fakes on the hub');
    vi.useFakeTimers({ toFake: [...FAKED], now: 0 });
    for (let i = 0; i < 5; i++) member.record('job_ms', i);
    await other.ask({ cmd: 'record', name: 'job_ms', values: [10, 20] });
    await realWait(() => onHub(hub, 'job_ms') === 7, 30_000, 'the buckets recorded under the fakes on the hub');
    await other.kill();
    const state = (instance: string) => (hub.status().hub as HubStatus).members.find((m) => m.instance === instance)?.state;
    await realWait(() => state('killed') === 'stale', 30_000, 'the killed member marked stale');
    expect(state('here')).toBe('live');
    expect((member.status().hub as MemberLinkStatus).connected).toBe(true);
  }, 90_000);

  it('a member started before its hub dials it on real time, and fake time that jumps two minutes marks it not stale', async () => {
    // The redial after a refused connect was a global setTimeout (faked: the member never
    // dialled again), and the hub judged a member's silence by the fake Date.now().
    const path = nodes.socketPath();
    const member = await started({ collectionIntervalMs: 1000, hub: { connect: path, instance: 'early', retryMaxMs: 200 } });
    const link = () => member.status().hub as MemberLinkStatus;
    await realWait(() => link().failed > 0, 30_000, 'a refused connect');
    vi.useFakeTimers({ toFake: [...FAKED] });
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path } });
    member.record('job_ms', 7);
    await realWait(() => onHub(hub, 'job_ms') === 1, 30_000, 'the bucket on the hub');
    vi.advanceTimersByTime(120_000);
    member.record('job_ms', 8);
    await realWait(() => onHub(hub, 'job_ms') === 2, 30_000, 'the next bucket on the hub');
    expect((hub.status().hub as HubStatus).members.map((m) => [m.instance, m.state])).toEqual([['early', 'live']]);
  }, 90_000);
});
