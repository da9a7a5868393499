/**
 * A hub's minute of a member's series, rolled up while the hub's own thread was held. The hub
 * reads its members' links on the host's thread; its collector closes buckets and rolls minutes
 * up on a thread of its own. Until 2026-12-07 it rolled a member's minute up an interval after
 * the minute ended whatever that thread had read: held 4.5 s over a minute's end (the host's
 * sync work, a long GC), the member's last buckets of the minute waited unread in the socket,
 * came after the rollup, and went into the open bucket of when they were read: the member's
 * 2 s window before it held nothing (`rate < 10` fired with 0 on a member doing 100 a second,
 * resolved with 188.5 an interval later; hub-block.test.ts in CI and under CPU burners).
 */
import { describe, expect, it } from 'vitest';
import { controlViews, createControl, markHubRead } from '../dist/src/engine/control.js';
import { Engine, type AppliedBuckets } from '../dist/src/engine/engine.js';
import { Registry, createRegistry } from '../dist/src/engine/registry.js';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { createStore } from '../dist/src/engine/store/layout.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';

/** A minute's start. */
const T0 = 1_800_000_000_000;
const INTERVAL = 1000;
const MiB = 1024 * 1024;
const PER_BUCKET = 100;

describe("a hub's minute of a member's series", () => {
  it("rolls up once the hub's thread has read its links past the minute: its last buckets, read late, in their own intervals", () => {
    const store = createStore({ maxSeries: 16, rawCapacity: 16, bucketCapacity: 128, rollupCapacity: 8, intervalMs: INTERVAL, rollupMs: 60_000, logBytes: MiB, rollupLogBytes: MiB, poolBytes: MiB });
    const control = createControl();
    const ctl = controlViews(control);
    const buffers = createRegistry({ maxSeries: 16, maxTags: 4, maxTagValueLength: 32 });
    const names = new Registry(buffers, 1);
    names.define('hm_jobs', 'counter', 'count');
    const member = names.seriesId('hm_jobs', { instance: 'm1' });
    const cluster = names.seriesId('hm_jobs', undefined);
    names.markMember(member, T0);
    names.markCluster(cluster);
    const clock = { now: T0 };
    const engine = new Engine({ control, registry: buffers, store, rings: [], intervalMs: INTERVAL, ownReadings: false, clock: () => clock.now });
    engine.start(T0);

    // The member's bucket of [start, start + 1 s): 100 increments of 1, as a batch the hub applies.
    const acc = new SketchAccumulator();
    for (let i = 0; i < PER_BUCKET; i++) acc.add(1);
    const run = new Int32Array(acc.encodedLengthBound());
    const runs = Int32Array.from([0, ...run.subarray(0, acc.encodeInto(run, 0))]);
    let seq = 0;
    const batch = (start: number): AppliedBuckets => ({ key: 1, seq: ++seq, ids: Int32Array.from([member, cluster]), starts: Float64Array.from([start]), stats: Float64Array.from([PER_BUCKET, PER_BUCKET, 1, 1, 1]), runs, runAt: Int32Array.from([1]), awaited: start + INTERVAL, holdMs: 5000 });

    // A punctual hub: each second its collector closes, the member's bucket of the second before
    // arrives 5 ms on, and its thread's turns (each half interval) read the links.
    const second = (t: number) => {
      engine.pass((clock.now = t + 1));
      markHubRead(ctl, t + 1, INTERVAL);
      engine.applyBuckets(batch(t - INTERVAL), (clock.now = t + 5));
      engine.pass((clock.now = t + 501));
      markHubRead(ctl, t + 501, INTERVAL);
    };
    for (let s = 1; s <= 57; s++) second(T0 + s * INTERVAL);
    // Held from 57.6 s to 62.2 s: its collector closes and rolls up; the member's buckets of
    // 57 s to 61 s wait in the socket, and the thread says it read no further.
    for (let t = T0 + 58_000; t <= T0 + 62_000; t += INTERVAL) engine.pass((clock.now = t + 1));
    for (let start = T0 + 57_000; start <= T0 + 61_000; start += INTERVAL) engine.applyBuckets(batch(start), (clock.now = T0 + 62_200));
    markHubRead(ctl, T0 + 62_201, INTERVAL);
    second(T0 + 63_000);
    second(T0 + 64_000);
    engine.pass((clock.now = T0 + 65_001));

    const reader = new StoreReader(store);
    // Every second of the member's in its own interval, none empty, none doubled.
    expect(reader.buckets(member, 1).map((r) => [r.start - T0, r.count])).toEqual(Array.from({ length: 64 }, (_, s) => [s * INTERVAL, PER_BUCKET]));
    // The minute rolled up whole, its last buckets (read 2.2 s after it ended) in.
    const rolled = reader.buckets(member, 2).map((r) => [r.start - T0, r.count]);
    expect(rolled).toEqual([[0, 60 * PER_BUCKET]]);
  });
});
