/**
 * A hub's collector killed at random points while it applies its members' batches, over many
 * seeds and several kills a seed: each successor starts (recover() finishes a row left half
 * applied) and is given again every batch not acknowledged, another member's first where
 * there is one (the hub's members resend what it did not acknowledge, in their own order).
 * Every member series and every cluster-wide series must hold exactly what the members
 * recorded (count, sum, the sketch bin by bin), none lost, none applied twice.
 * test/hub-apply-kill-points.test.ts stops the writer at each step of a row, these at random.
 */
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { HUB_ROW_BINS, HUB_ROW_STEP } from '../dist/src/engine/store/layout.js';

/** HUB_ROW_STEP of a row whose cluster-wide series takes it (bucket-rows.ts). */
const ROW_CLUSTER = 3;
import { hubRecording, T0 } from './hub-apply-harness.js';

const SEEDS = 16;
const KILLS = 3;
const STEP_MS = 400;

/**
 * Where a kill lands depends on the machine's speed: past SEEDS, more seeds run (up to
 * MAX_SEEDS) until the kills have landed often enough inside rows and inside the step a test
 * is about, which its last assertions require (a loaded run had 1 kill of 48 in a row's
 * cluster-wide step).
 */
const MAX_SEEDS = 3 * SEEDS;

type Outcome = { inRow: number; inBins: number; inCluster: number; mismatches: string[] };

/** The kills that must land inside rows, and inside the step a test is about, for it not to be vacuous. */
const MIN_IN_ROW = 8;
const MIN_IN_STEP = 3;

const total = (outcomes: Outcome[], key: 'inRow' | 'inBins' | 'inCluster'): number => outcomes.reduce((a, o) => a + o[key], 0);

function covered(outcomes: Outcome[], step: 'inBins' | 'inCluster'): boolean {
  return total(outcomes, 'inRow') >= MIN_IN_ROW && total(outcomes, step) >= MIN_IN_STEP;
}

async function killedRuns(seed: number, pendingRuns: boolean, parts = false): Promise<Outcome> {
  const hub = hubRecording(seed, { members: 3, series: 400, batches: 8, mib: 32, pendingRuns });
  const { store, batches, order, rand } = hub;
  const meta = new Int32Array(store.meta);
  // Per batch 1 once acknowledged (its apply returned), and at the end how many are.
  const acked = new SharedArrayBuffer(4 * (batches.length + 1));
  const acks = new Int32Array(acked);
  let pending = order;
  let t0 = T0 + 10_000;
  let inRow = 0;
  let inBins = 0;
  let inCluster = 0;
  for (let kill = 0; kill < KILLS && pending.length > 0; kill++) {
    const worker = new Worker(new URL('./fixtures/hub-apply-killed.mjs', import.meta.url), { workerData: { control: hub.control, registry: hub.registry, store, batches, order: pending, t0, stepMs: STEP_MS, acked, pendingRuns, parts } });
    let done = false;
    worker.on('message', (m) => {
      if (m === 'done') done = true;
    });
    await new Promise((resolve) => worker.once('message', resolve));
    const killAt = Atomics.load(acks, batches.length) + Math.floor(rand() * Math.min(pending.length, 6));
    const extraUs = rand() * 4000;
    // Hang guard only.
    const deadline = performance.now() + 20_000;
    while (!done && Atomics.load(acks, batches.length) < killAt && performance.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    const spin = performance.now() + extraUs / 1000;
    while (performance.now() < spin);
    await worker.terminate();
    if (meta[HUB_ROW_STEP] !== 0) inRow++;
    if (meta[HUB_ROW_STEP]! >= 2 && meta[HUB_ROW_BINS]! > 0) inBins++;
    if (meta[HUB_ROW_STEP] === ROW_CLUSTER) inCluster++;
    pending = hub.resent(acks);
    t0 += STEP_MS * (order.length + 10);
  }
  const clock = { now: t0 };
  const engine = hub.engine(clock);
  engine.start(clock.now);
  for (const k of pending) engine.applyBuckets(batches[k]!, (clock.now += STEP_MS));
  engine.pass((clock.now += 2000));
  return { inRow, inBins, inCluster, mismatches: hub.check(`seed ${seed}`) };
}

describe("a hub's collector killed at random points of applying its members' batches", () => {
  it(`keeps exact counts, sums and sketches of every member and cluster-wide series over ${SEEDS} seeds or more, ${KILLS} kills each`, async () => {
    const outcomes: Outcome[] = [];
    // Every row's cluster-wide bins into pages (pendingRuns false), so that kills land in bins.
    for (let seed = 1; seed <= SEEDS || (!covered(outcomes, 'inBins') && seed <= MAX_SEEDS); seed++) outcomes.push(await killedRuns(seed, false));
    expect(outcomes.flatMap((o) => o.mismatches).slice(0, 5)).toEqual([]);
    // Not vacuous: kills landed inside rows (18 and 26 of 48 in two trial runs), and inside a row's bins (12 and 13).
    expect(total(outcomes, 'inRow')).toBeGreaterThanOrEqual(MIN_IN_ROW);
    expect(total(outcomes, 'inBins')).toBeGreaterThanOrEqual(MIN_IN_STEP);
  }, 180_000);

  it(`keeps them exact with the cluster-wide buckets' runs pending until their closes, over ${SEEDS} seeds or more, ${KILLS} kills each`, async () => {
    const outcomes: Outcome[] = [];
    for (let seed = 1; seed <= SEEDS || (!covered(outcomes, 'inCluster') && seed <= MAX_SEEDS); seed++) outcomes.push(await killedRuns(seed, true));
    expect(outcomes.flatMap((o) => o.mismatches).slice(0, 5)).toEqual([]);
    // Not vacuous: kills landed inside rows, and in a row's cluster-wide step (its pending run listed, not yet committed, or its bucket's close).
    expect(total(outcomes, 'inRow')).toBeGreaterThanOrEqual(MIN_IN_ROW);
    expect(total(outcomes, 'inCluster')).toBeGreaterThanOrEqual(MIN_IN_STEP);
  }, 180_000);

  it(`keeps them exact with each batch applied in two parts (a late member's batch an interval at a time, Hub.applyBatch), resent whole after the last kill, over ${SEEDS} seeds or more, ${KILLS} kills each`, async () => {
    const outcomes: Outcome[] = [];
    for (let seed = 1; seed <= SEEDS || (!covered(outcomes, 'inCluster') && seed <= MAX_SEEDS); seed++) outcomes.push(await killedRuns(seed, true, true));
    expect(outcomes.flatMap((o) => o.mismatches).slice(0, 5)).toEqual([]);
    expect(total(outcomes, 'inRow')).toBeGreaterThanOrEqual(MIN_IN_ROW);
    expect(total(outcomes, 'inCluster')).toBeGreaterThanOrEqual(MIN_IN_STEP);
  }, 180_000);
});
