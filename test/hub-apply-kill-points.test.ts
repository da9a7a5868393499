/**
 * A hub's store writer stopped at each step of applying its members' batches in turn, in this
 * thread: a method of the dead writer throws on entry to (or on return from) its n-th call,
 * which leaves shared memory as a worker terminated there would (V8 stops one only at
 * function entries and loop back-edges). A successor starts (recover() finishes the row in
 * flight) and is given again each batch not acknowledged; every member series and every
 * cluster-wide series must hold exactly what was recorded. The steps: a row's end-to-end
 * (finishRow), its member series' record (takesClosed, commitClosed, writeRecord) or open
 * bucket and the cluster-wide one's (intoOpen, close, open, binTail, page: one call a sketch
 * page the bins go to), the run's copy into the log (logRun) and the raw slot of its last
 * value (rawSlot). test/hub-apply-kill.test.ts kills a worker at random points.
 */
import { describe, expect, it } from 'vitest';
import { hubRecording, stopWriterAt, T0 } from './hub-apply-harness.js';

const STEPS = ['finishRow', 'takesClosed', 'commitClosed', 'writeRecord', 'intoOpen', 'close', 'open', 'binTail', 'page', 'logRun', 'rawSlot'] as const;
type Step = (typeof STEPS)[number];
// Every member caught up (awaited): each cluster-wide bucket at its start plus an interval, in
// the past of the writer's clock, as a late member's (bucket-rows.ts, clusterStart).
const SHAPE = { members: 2, series: 12, batches: 5, mib: 1, awaited: T0 + 60_000 };
const STEP_MS = 700;

/** Applies `order` on a writer whose `step` throws at its n-th call (0: never); returns the calls of each step and the batches acknowledged. */
function run(seed: number, step: Step | undefined, n: number, onReturn: boolean) {
  const hub = hubRecording(seed, SHAPE);
  const clock = { now: T0 + 10_000 };
  const dead = hub.engine(clock);
  const calls = stopWriterAt(dead, STEPS, step, n, onReturn);
  const acked = new Int32Array(hub.batches.length);
  dead.start(clock.now);
  try {
    for (const k of hub.order) {
      dead.applyBuckets(hub.batches[k]!, (clock.now += STEP_MS));
      acked[k] = 1;
    }
  } catch (error) {
    if ((error as Error).message !== 'stopped') throw error;
  }
  return { hub, calls, acked, clock };
}

function stoppedAt(seed: number, step: Step, n: number, onReturn: boolean): string[] {
  const { hub, acked, clock } = run(seed, step, n, onReturn);
  clock.now += 5000;
  const successor = hub.engine(clock);
  successor.start(clock.now);
  for (const k of hub.resent(acked)) successor.applyBuckets(hub.batches[k]!, (clock.now += STEP_MS));
  successor.pass((clock.now += 2000));
  return hub.check(`seed ${seed}, ${step} ${onReturn ? 'return' : 'entry'} #${n}`);
}

describe("a hub's store writer stopped at each step of applying its members' batches", () => {
  // Seed 1 spreads values over several sketch pages, seed 2 keeps them in one.
  for (const seed of [1, 2]) {
    const { calls } = run(seed, undefined, 0, false);

    it(`seed ${seed}: calls each step often enough for the points to matter`, () => {
      expect(calls.finishRow).toBeGreaterThan(100);
      // Member series take records, and open buckets (batch 3: buckets not after their series' newest record).
      expect(calls.commitClosed).toBeGreaterThan(20);
      expect(calls.intoOpen).toBeGreaterThan(calls.finishRow);
      expect(calls.page).toBeGreaterThan(20);
    });

    for (const onReturn of [false, true]) {
      it(`seed ${seed}: keeps exact counts, sums and sketches when stopped at every ${onReturn ? 'return from' : 'entry to'} each step`, () => {
        const mismatches: string[] = [];
        for (const step of STEPS) {
          // At most about 40 points a step, spread over all its calls.
          const stride = Math.max(1, Math.ceil(calls[step] / 40));
          for (let n = 1; n <= calls[step]; n += stride) mismatches.push(...stoppedAt(seed, step, n, onReturn));
        }
        expect(mismatches.slice(0, 3)).toEqual([]);
      }, 120_000);
    }
  }
});
