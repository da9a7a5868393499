/**
 * What a member tells its hub it has sent (`closedTo`, with every batch and beat): the hub
 * closes a cluster-wide bucket once every live member has sent its buckets of that interval.
 * A member's read goes ahead by the next boundary whatever its collector did; until
 * 2026-12-08 it said the wall clock's last boundary, so a collector held past it (starved of
 * CPU, hung until the watchdog replaced it) had its buckets promised and not sent: the hub
 * closed the cluster-wide buckets they were due in, and they went into the interval they
 * arrived in, a dip and a spike no member recorded. Now it says no further than its collector
 * has closed, and, before its first close, the interval it started in.
 */
import { describe, expect, it } from 'vitest';
import { createRegistry, Registry } from '../dist/src/engine/registry.js';
import { createStore } from '../dist/src/engine/store/layout.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';
import { HubMember } from '../dist/src/hub/member.js';
import { HubObjectSchema } from '../dist/src/hub/options.js';
import type { MemberHandlers, MemberTransport } from '../dist/src/hub/transport.js';
import { encodeMessage, type MemberMessage } from '../dist/src/hub/wire.js';

const INTERVAL = 1000;
const MiB = 1024 * 1024;

/** A member over an empty store, linked to a transport that keeps what it sends, welcomed; `closed` stands for its collector's closes. */
function welcomedMember(closed: { to: number }, watchedFrom: number) {
  const store = createStore({ maxSeries: 16, rawCapacity: 16, bucketCapacity: 16, rollupCapacity: 4, intervalMs: INTERVAL, rollupMs: 60_000, logBytes: MiB, rollupLogBytes: MiB, poolBytes: MiB });
  const sent: MemberMessage[] = [];
  let handlers: MemberHandlers | undefined;
  const transport: MemberTransport = {
    kind: 'socket',
    address: '/nowhere',
    via: 'socket',
    failures: 0,
    start: (h) => (handlers = h),
    send: (m) => (sent.push(m), true),
    welcomed: () => {},
    stop: () => {},
  };
  const member = new HubMember({
    registry: new Registry(createRegistry({ maxSeries: 16, maxTags: 4, maxTagValueLength: 32 }), 1),
    reader: new StoreReader(store),
    intervalMs: INTERVAL,
    transport,
    options: HubObjectSchema.parse({ connect: '/nowhere', instance: 'claims' }),
    perProcess: new Set(),
    watchedFrom: () => watchedFrom,
    closedTo: () => closed.to,
    clock: () => Date.now(),
  });
  member.start();
  handlers!.open();
  handlers!.message(encodeMessage({ t: 'welcome', acked: 0, round: 1, hub: 'run' }));
  /** The closedTo of the beat a read that found nothing sends. */
  const claim = (): number | undefined => {
    const from = sent.length;
    member.tick(false);
    const beat = sent.slice(from).find((m) => m.t === 'beat');
    return beat?.t === 'beat' ? beat.closedTo : undefined;
  };
  return { member, claim };
}

describe("a member's closedTo", () => {
  it('says no further than its collector has closed, however far the wall clock went', async () => {
    const boundary = Math.floor(Date.now() / INTERVAL) * INTERVAL;
    const closed = { to: boundary - 3 * INTERVAL };
    const { member, claim } = welcomedMember(closed, boundary - 60 * INTERVAL);
    try {
      // The collector held for three intervals: what it closed, not the last boundary.
      expect(claim()).toBe(boundary - 3 * INTERVAL);
      // It closes them: the claim follows.
      closed.to = boundary;
      expect(claim()).toBe(boundary);
      // A collector's close ahead of the wall clock (its clock after a step back) is not said
      // ahead of the wall clock's boundary.
      closed.to = boundary + 5 * INTERVAL;
      expect(claim()).toBeLessThanOrEqual(Math.floor(Date.now() / INTERVAL) * INTERVAL);
    } finally {
      await member.stop();
    }
  });

  it('says the interval it started in before its collector has closed anything', async () => {
    const boundary = Math.floor(Date.now() / INTERVAL) * INTERVAL;
    // The control block's CLOSED_BUCKET_START before a first close is 0: the end of "the
    // bucket of 0" is one interval. Said as it is, the hub waited for buckets from 1970.
    const { member, claim } = welcomedMember({ to: INTERVAL }, boundary - 2 * INTERVAL + 400);
    try {
      expect(claim()).toBe(boundary - 2 * INTERVAL);
    } finally {
      await member.stop();
    }
  });
});
