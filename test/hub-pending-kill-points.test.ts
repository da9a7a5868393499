/**
 * A hub's store writer stopped at each step of its pending runs (store/pending-runs.ts) in
 * turn, as test/hub-apply-kill-points.test.ts stops it at each step of a row: a method of the
 * dead writer throws on entry to (or on return from) its n-th call, which leaves shared memory
 * as a worker terminated there would. Batches come ten a second into a log of two blocks (a
 * reach of 65,536 i32), so that cluster-wide buckets list runs (pendRun), fill their lists
 * and the pending runs' share of the log (rows then go into pages), and the log's head comes
 * near the oldest pending run (keepPending moves them all ahead: compactPending); closes merge
 * them (mergePending, mergeRun, emitMerged) and reset the bucket (resetOpen). A successor
 * starts and is given again each batch not acknowledged; every member series and every
 * cluster-wide series must hold exactly what was recorded.
 */
import { describe, expect, it } from 'vitest';
import { hubRecording, stopWriterAt, T0 } from './hub-apply-harness.js';

const STEPS = ['pendRun', 'keepPending', 'compactPending', 'mergePending', 'mergeRun', 'emitMerged', 'close', 'resetOpen', 'intoOpen', 'rawSlot', 'logRun'] as const;
type Step = (typeof STEPS)[number];
const SHAPE = { members: 3, series: 40, batches: 5, mib: 0.5, poolMib: 8 };
const STEP_MS = 100;

/** Applies the batches on a writer whose `step` throws at its n-th call (0: never); returns the calls of each step and the batches acknowledged. */
function run(step: Step | undefined, n: number, onReturn: boolean) {
  const hub = hubRecording(3, SHAPE);
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
    // The buckets' closes too.
    dead.pass((clock.now += 1000));
  } catch (error) {
    if ((error as Error).message !== 'stopped') throw error;
  }
  return { hub, calls, acked, clock };
}

function stoppedAt(step: Step, n: number, onReturn: boolean): string[] {
  const { hub, acked, clock } = run(step, n, onReturn);
  clock.now += 1500;
  const successor = hub.engine(clock);
  successor.start(clock.now);
  for (const k of hub.resent(acked)) successor.applyBuckets(hub.batches[k]!, (clock.now += STEP_MS));
  successor.pass((clock.now += 2000));
  return hub.check(`${step} ${onReturn ? 'return' : 'entry'} #${n}`);
}

describe("a hub's store writer stopped at each step of its pending runs", () => {
  const { hub, calls } = run(undefined, 0, false);

  it('calls each step often enough for the points to matter, and holds every series exactly when not stopped', () => {
    expect(hub.check('not stopped')).toEqual([]);
    expect(calls.pendRun).toBeGreaterThan(200);
    expect(calls.mergePending).toBeGreaterThan(100);
    expect(calls.compactPending).toBeGreaterThan(0);
  });

  for (const onReturn of [false, true]) {
    it(`keeps exact counts, sums and sketches when stopped at every ${onReturn ? 'return from' : 'entry to'} each step`, () => {
      const mismatches: string[] = [];
      for (const step of STEPS) {
        // At most about 30 points a step, spread over all its calls; an odd stride, as rows
        // call rawSlot for a member's record and its cluster-wide bucket in turn.
        const stride = Math.max(1, Math.ceil(calls[step] / 30)) | 1;
        for (let n = 1; n <= calls[step]; n += stride) mismatches.push(...stoppedAt(step, n, onReturn));
      }
      expect(mismatches.slice(0, 3)).toEqual([]);
    }, 120_000);
  }
});
