/**
 * A hub's store and its members' batches on synthetic time, for the tests that kill its
 * collector while it applies them (hub-apply-kill*.test.ts): the registry with each member's
 * series and the cluster-wide ones, batches as Engine.applyBuckets takes them (one row a
 * series, a bucket of integer values with its sketch run), what each series must hold, and
 * the check of the store against it.
 */
import { createControl } from '../dist/src/engine/control.js';
import { Engine, type AppliedBuckets } from '../dist/src/engine/engine.js';
import { Registry, createRegistry } from '../dist/src/engine/registry.js';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { createStore, type StoreConfig } from '../dist/src/engine/store/layout.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';
import { seeded } from './fixtures/seeded.mjs';

export const T0 = 1_800_000_000_000;
const MiB = 1024 * 1024;

export interface HubShape {
  members: number;
  series: number;
  batches: number;
  /** MiB of the sketch log and of the page pool. */
  mib: number;
  /** MiB of the page pool, if not `mib`. */
  poolMib?: number;
  /** The engine's `pendingRuns` (default true): false adds every row's cluster-wide bins into pages. */
  pendingRuns?: boolean;
  /**
   * The batches' `awaited` (AppliedBuckets): set, the cluster-wide series takes each bucket at
   * its start plus an interval where the store's order allows (bucket-rows.ts, clusterStart);
   * unset, into its open bucket of now.
   */
  awaited?: number;
}

interface Expected {
  count: number;
  sum: number;
  values: number[];
}

/** A hub's store, registry and control block, every member's batches interleaved (`order`) and what each series must hold. */
export function hubRecording(seed: number, shape: HubShape) {
  const config: StoreConfig = { maxSeries: shape.series * (shape.members + 1) + 16, rawCapacity: 16, bucketCapacity: 64, rollupCapacity: 8, intervalMs: 1000, rollupMs: 60_000, logBytes: shape.mib * MiB, rollupLogBytes: shape.mib * MiB, poolBytes: (shape.poolMib ?? shape.mib) * MiB };
  const control = createControl();
  const registry = createRegistry({ maxSeries: config.maxSeries, maxTags: 4, maxTagValueLength: 32 });
  const names = new Registry(registry, 1);
  names.define('hub_rt', 'distribution', 'ms');
  const cluster = Array.from({ length: shape.series }, (_, s) => names.seriesId('hub_rt', { k: String(s) }));
  const member = Array.from({ length: shape.members }, (_, m) => Array.from({ length: shape.series }, (_, s) => names.seriesId('hub_rt', { k: String(s), instance: `m${m}` })));
  const rand = seeded(seed);
  const batches: AppliedBuckets[] = [];
  const owner: number[] = [];
  const expected = new Map<number, Expected>();
  const add = (id: number, values: number[]) => {
    let e = expected.get(id);
    if (!e) expected.set(id, (e = { count: 0, sum: 0, values: [] }));
    e.count += values.length;
    for (const v of values) {
      e.sum += v;
      e.values.push(v);
    }
  };
  const acc = new SketchAccumulator();
  for (let m = 0; m < shape.members; m++) {
    for (let seq = 1; seq <= shape.batches; seq++) {
      const rows = shape.series - Math.floor(rand() * shape.series * 0.1);
      const ids = new Int32Array(2 * rows);
      // Batch 3 carries buckets of batch 2's second again, as a member restarted under the same
      // name within an interval would: its member series take them into their open buckets.
      const starts = new Float64Array(rows).fill(T0 + (seq === 3 ? 1 : seq - 1) * 1000);
      const stats = new Float64Array(5 * rows);
      const runAt = new Int32Array(rows);
      const runs: number[] = [0];
      for (let s = 0; s < rows; s++) {
        // Few or many samples, over one sketch page or several; now and then an empty bucket.
        const n = rand() < 0.03 ? 0 : 1 + Math.floor(rand() * (rand() < 0.5 ? 5 : 60));
        const values = Array.from({ length: n }, () => Math.round(Math.exp(rand() * (seed % 2 === 0 ? 4 : 14))));
        ids[2 * s] = member[m]![s]!;
        ids[2 * s + 1] = cluster[s]!;
        if (n > 0) stats.set([n, values.reduce((a, b) => a + b, 0), Math.min(...values), Math.max(...values), values[n - 1]!], 5 * s);
        acc.reset();
        for (const v of values) acc.add(v);
        const run = new Int32Array(acc.encodedLengthBound());
        const len = acc.encodeInto(run, 0);
        runAt[s] = runs.length;
        for (let k = 0; k < len; k++) runs.push(run[k]!);
        add(member[m]![s]!, values);
        add(cluster[s]!, values);
      }
      batches.push({ key: m + 1, seq, ids, starts, stats, runs: Int32Array.from(runs), runAt, ...(shape.awaited !== undefined ? { awaited: shape.awaited, holdMs: 5000 } : {}) });
      owner.push(m);
    }
  }
  // The members' batches interleaved, each member's in order.
  const next = new Array(shape.members).fill(0);
  const order: number[] = [];
  while (order.length < batches.length) {
    const m = Math.floor(rand() * shape.members);
    if (next[m] < shape.batches) order.push(m * shape.batches + next[m]++);
  }
  const store = createStore(config);
  const pendingRuns = shape.pendingRuns ?? true;
  const engine = (t: { now: number }) => new Engine({ control, registry, store, rings: [], intervalMs: 1000, ownReadings: false, clock: () => t.now, pendingRuns });
  return { store, control, registry, batches, order, rand, engine, pendingRuns, check: (label: string) => check(store, expected, label), resent: (acked: ArrayLike<number>) => resent(order, acked, owner) };
}

/**
 * What is not acknowledged, as the members resend it: each member's in order, and another
 * member's first where there is one (moved ahead), so a batch cut by a kill comes after
 * another member's began in the successor.
 */
function resent(order: number[], acked: ArrayLike<number>, owner: number[]): number[] {
  const left = order.filter((k) => acked[k] === 0);
  const other = left.findIndex((k) => owner[k] !== owner[left[0]!]);
  if (other > 0) left.unshift(left.splice(other, 1)[0]!);
  return left;
}

const bins = (from: SketchAccumulator): string => {
  const out: string[] = [];
  from.forEachBin((key, count) => out.push(`${key}:${count}`));
  return out.sort().join(' ');
};

/** Each series' totals and all-time window (count, sum) and sketch bins against what was recorded; the mismatches. */
function check(store: ReturnType<typeof createStore>, expected: Map<number, Expected>, label: string): string[] {
  const reader = new StoreReader(store);
  const acc = new SketchAccumulator();
  const wanted = new SketchAccumulator();
  const mismatches: string[] = [];
  for (const [id, want] of expected) {
    if (want.count === 0) continue;
    const snap = reader.snapshot(id);
    const agg = reader.aggregate(id, -Infinity, Infinity, acc);
    const got = JSON.stringify({ total: [snap.totalCount, snap.totalSum], window: [agg.count, agg.sum] });
    const exact = JSON.stringify({ total: [want.count, want.sum], window: [want.count, want.sum] });
    wanted.reset();
    for (const v of want.values) wanted.add(v);
    if (got !== exact) mismatches.push(`${label}, series ${id}: ${got} ≠ ${exact}`);
    else if (bins(acc) !== bins(wanted)) mismatches.push(`${label}, series ${id}: bins ${bins(acc).slice(0, 120)} ≠ ${bins(wanted).slice(0, 120)}`);
  }
  return mismatches;
}

/**
 * Makes `engine`'s store writer stop at the n-th call of `step` (0 or undefined: never), on
 * entry or on return: the method throws 'stopped', which leaves shared memory as a worker
 * terminated there would (V8 stops one only at function entries and loop back-edges). Returns
 * the calls of each step, counted as they come.
 */
export function stopWriterAt<S extends string>(engine: Engine, steps: readonly S[], step: S | undefined, n: number, onReturn: boolean): Record<S, number> {
  const writer = (engine as unknown as { writer: Record<S, (...args: unknown[]) => unknown> }).writer;
  const calls = Object.fromEntries(steps.map((s) => [s, 0])) as Record<S, number>;
  for (const s of steps) {
    const original = writer[s].bind(writer);
    writer[s] = (...args) => {
      const at = ++calls[s];
      if (s === step && at === n && !onReturn) throw new Error('stopped');
      const out = original(...args);
      if (s === step && at === n) throw new Error('stopped');
      return out;
    };
  }
  return calls;
}
