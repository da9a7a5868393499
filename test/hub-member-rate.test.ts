/**
 * getMetrics' window on a hub's member series. A member's buckets keep their starts on the
 * hub as closed records, each arriving a moment after its interval ends, and no open bucket
 * fills the member series' interval of now; until 2026-12-07 its window still ended now, so a
 * member doing 49 a second read `rate` 23.6 and a 3 s `count` of 49 (one bucket) while the
 * cluster-wide series read 47 (scratch trial, no stop). Now its window ends where its
 * member's newest bucket ends, over whole buckets, as a window rule judges it
 * (hub-alert-member-window.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes, intoNextInterval } from './hub-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();
const INTERVAL = 1000;
const PER_BUCKET = 500;

describe("getMetrics on a hub's member series", () => {
  it("reads a short window over the member's newest whole buckets: count, rate and quantiles", async () => {
    const path = nodes.socketPath();
    const hub = await started({ collectionIntervalMs: INTERVAL, hub: { listen: path } });
    const member = await started({ collectionIntervalMs: INTERVAL, hub: { connect: path, instance: 'm1' } });
    const rt = member.metric('mr_rt');
    // 500 samples (1..500) in each of 4 intervals, 200 ms into each: every bucket of the member holds 500.
    for (let k = 0; k < 4; k++) {
      await intoNextInterval(200);
      for (let i = 1; i <= PER_BUCKET; i++) rt.record(i);
    }
    const own = () => hub.getMetrics({ names: ['mr_rt'], tags: { instance: 'm1' }, windowSeconds: 3 })[0];
    // Read as soon as the last bucket is on the hub (its window then ends where that bucket does).
    const m = await waitFor(() => (own()?.totalCount === 4 * PER_BUCKET ? own() : undefined), 5 * INTERVAL, "the member's 4 buckets on the hub");
    expect(m.window.count).toBe(3 * PER_BUCKET);
    expect(m.window.rate).toBe(PER_BUCKET);
    expect(m.window.coveredSeconds).toBeUndefined();
    expect(Math.abs(m.window.p50! - 250) / 250).toBeLessThan(0.01);
    // The member's 1 s window holds its newest bucket: it is sampled.
    expect(hub.countMetrics({ names: ['mr_rt'], tags: { instance: 'm1' }, sampled: true, windowSeconds: 1 })).toBe(1);
    expect(hub.getMetrics({ names: ['mr_rt'], tags: { instance: 'm1' }, windowSeconds: 1 })[0]!.window.rate).toBe(PER_BUCKET);
  });
});
