/**
 * A member late by more than an interval (stopped, starved, its collector hung and replaced)
 * sends the buckets it owes in one batch that spans the intervals it missed, while a punctual
 * member's batches of those intervals wait for it. The hub applies the late batch an interval
 * at a time, in turn with the punctual member's: every bucket lands in the cluster-wide
 * interval after the one it was recorded in. Until 2026-12-08 the late batch went in whole,
 * after the punctual member's (the mutual-wait rule let those go first, the late batch's
 * newest bucket being newer): the first of them closed the cluster-wide bucket the late
 * member's oldest was due in, and all of the late member's buckets landed in the interval
 * they arrived in (here 1, 1 and 31 where the members recorded 11 each).
 */
import { describe, expect, it } from 'vitest';
import type { HubStatus } from '../dist/src/hub/hub.js';
import { monitorStarter, waitFor } from './helpers.js';
import { hubNodes, intoNextInterval, rawMember, rowsBatch, sleep } from './hub-helpers.js';

const nodes = hubNodes();
const started = monitorStarter();

const DEF = [0, 'span_rt', {}, 'distribution', ''];

describe("a late member's batch that spans the intervals it missed", () => {
  it("goes in an interval at a time between the punctual member's held batches: each bucket in its cluster-wide interval", async () => {
    const path = nodes.socketPath();
    // A grace (staleMs) well past the 3 s the punctual member's batches wait.
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path, staleMs: 8000, dropMs: 60_000 } });
    const late = await rawMember(path);
    late.send({ t: 'hello', instance: 'late', epoch: 'l', intervalMs: 1000 });
    const lw = await late.answer(1);
    const punctual = await rawMember(path);
    punctual.send({ t: 'hello', instance: 'punctual', epoch: 'p', intervalMs: 1000 });
    const pw = await punctual.answer(1);
    const acked = (m: Awaited<ReturnType<typeof rawMember>>, seq: number, what: string) => waitFor(() => m.heard().some((a) => a.t === 'ack' && a.seq === seq), 10_000, what);
    const at = (t: number) => sleep(t - Date.now());
    try {
      // A cluster-wide bucket is held for a late member within its minute only: the test's 5 s in one.
      const intoMinute = () => Date.now() % 60_000;
      if (intoMinute() > 50_000) await sleep(61_000 - intoMinute());
      await intoNextInterval(100);
      const T = Math.floor(Date.now() / 1000) * 1000;
      // Both send the interval before T: punctual 1 sample a bucket, late 10.
      punctual.send(rowsBatch(1, pw.round, [[0, 1, 1, T - 1000]], [DEF], T));
      late.send(rowsBatch(1, lw.round, [[0, 10, 10, T - 1000]], [DEF], T));
      await acked(punctual, 1, 'punctual 1');
      await acked(late, 1, 'late 1');
      // Then the late member is silent for three intervals; the punctual one sends each.
      await at(T + 1100);
      punctual.send(rowsBatch(2, pw.round, [[0, 1, 1, T]], [], T + 1000));
      await at(T + 2100);
      punctual.send(rowsBatch(3, pw.round, [[0, 1, 1, T + 1000]], [], T + 2000));
      await at(T + 3100);
      punctual.send(rowsBatch(4, pw.round, [[0, 1, 1, T + 2000]], [], T + 3000));
      await sleep(100);
      // Held for the late member (its closedTo is T): not acknowledged yet.
      expect(punctual.heard().some((a) => a.t === 'ack' && a.seq === 3)).toBe(false);
      // The late member's three buckets in one batch, by series as a member reads them.
      late.send(rowsBatch(2, lw.round, [[0, 10, 10, T], [0, 10, 10, T + 1000], [0, 10, 10, T + 2000]], [], T + 3000));
      await acked(late, 2, 'late 2');
      await acked(punctual, 4, 'punctual 4');
      await hub.flush();
      const history = await hub.getMetricHistory({ metric: 'span_rt', resolution: 'bucket', from: T - 5000 });
      const counts = (instance: string | undefined) =>
        Object.fromEntries(history.series.find((s) => s.tags.instance === instance)!.points.filter((p) => p.count > 0).map((p) => [p.t - T, p.count]));
      // Each member's own series: its buckets at their starts.
      expect(counts('late')).toEqual({ [-1000]: 10, 0: 10, 1000: 10, 2000: 10 });
      expect(counts('punctual')).toEqual({ [-1000]: 1, 0: 1, 1000: 1, 2000: 1 });
      // The cluster-wide series: each interval's buckets an interval on, 11 each.
      expect(counts(undefined)).toEqual({ 0: 11, 1000: 11, 2000: 11, 3000: 11 });
      const members = (hub.status().hub as HubStatus).members.map((m) => [m.instance, m.state, m.buckets]);
      expect(members).toEqual([
        ['late', 'live', 4],
        ['punctual', 'live', 4],
      ]);
    } finally {
      late.close();
      punctual.close();
    }
  });
});
