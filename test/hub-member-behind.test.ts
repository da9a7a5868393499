/**
 * A member that beats while its closedTo (how far it has sent its buckets) stands still, as one
 * that says how far its collector closed would while that is down: it is not stale. The hub holds the other
 * members' batches for a late member (the cluster-wide bucket it is due in stays open), a grace
 * (staleMs) at most each; waited for without a bound, such a member held every batch of the
 * others a grace each, one after another, for as long as its collector stayed down. A member
 * whose closedTo is older than the grace is not waited for.
 */
import { describe, expect, it } from 'vitest';
import type { HubStatus } from '../dist/src/hub/hub.js';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes, intoNextInterval, rawMember, rowsBatch } from './hub-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();

const def = (name: string) => [0, name, {}, 'distribution', ''];

describe('a member whose closedTo stands still while it beats', () => {
  it("holds the other members' batches no longer than a grace from when its closedTo stopped", async () => {
    const path = nodes.socketPath();
    // A grace of 3 s (staleMs; at least two intervals).
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path, staleMs: 3000, dropMs: 60_000 } });
    const behind = await rawMember(path);
    behind.send({ t: 'hello', instance: 'behind', epoch: 'b', intervalMs: 1000 });
    const bw = await behind.answer(1);
    const punctual = await rawMember(path);
    punctual.send({ t: 'hello', instance: 'punctual', epoch: 'p', intervalMs: 1000 });
    const pw = await punctual.answer(1);

    await intoNextInterval(100);
    // Its last batch: closed to this boundary, and then beats (its main thread alive) that
    // close no further, as a member whose collector is down says.
    const stuck = Math.floor(Date.now() / 1000) * 1000;
    behind.send(rowsBatch(1, bw.round, [[0, 3, 3]], [def('behind_rt')], stuck));
    await waitFor(() => behind.heard().some((m) => m.t === 'ack' && m.seq === 1), 10_000, "the late member's batch acknowledged");
    const beats = setInterval(() => behind.send({ t: 'beat', seq: 1, closedTo: stuck }), 250);
    try {
      // The punctual member's batches, one a second for 8 s, each of the second before.
      const SECONDS = 8;
      for (let s = 1; s <= SECONDS; s++) {
        await intoNextInterval(50);
        const closedTo = Math.floor(Date.now() / 1000) * 1000;
        punctual.send(rowsBatch(s, pw.round, [[0, 1, 1]], s === 1 ? [def('punctual_rt')] : [], closedTo));
      }
      // Held a grace from the stop (3 s, plus an interval: to about 4 s of the 8), then at
      // once: the last batch goes in a moment after it came. Waited for each, they would come
      // 3 s apart (the 8th about 24 s after the first, 16 s after it was sent).
      await waitFor(() => punctual.heard().some((m) => m.t === 'ack' && m.seq === SECONDS), 10_000, "the punctual member's batches acknowledged");
      const acks = punctual.heard().filter((m) => m.t === 'ack').map((m) => m.seq);
      expect(acks).toEqual(Array.from({ length: SECONDS }, (_, i) => i + 1));
      // The member behind is live all along: not stale, so it is the bound that let them go.
      const states = (hub.status().hub as HubStatus).members.map((m) => [m.instance, m.state]);
      expect(states).toEqual([['behind', 'live'], ['punctual', 'live']]);
    } finally {
      clearInterval(beats);
      behind.close();
      punctual.close();
    }
  });
});
