/**
 * The histograms an exporter pushes outlive its thread (src/analysis/fold-share.ts): a walk
 * begun anew (the watchdog's successor actor, the exporter of a monitor's next start()) takes
 * up each series' fold where the one before left it. It folded from the store's bucket ring
 * alone, and put the samples older than the ring in +Inf only: every pushed bucket but +Inf
 * went down, a counter reset in each `_bucket` series to Prometheus.
 * Walks over a store on synthetic time, the ring 10 buckets long (fold-store-helpers.ts).
 */
import { expect, it } from 'vitest';
import { FoldShare, foldShareBytes } from '../dist/src/analysis/fold-share.js';
import { SeriesWalk } from '../dist/src/analysis/series-walk.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';
import { FOLD_STORE_SERIES, foldStore } from './fold-store-helpers.js';

const BOUNDS = [1, 10, 100];

function store() {
  const s = foldStore();
  return {
    ...s,
    folds: new FoldShare(new SharedArrayBuffer(foldShareBytes(FOLD_STORE_SERIES, BOUNDS.length)), BOUNDS.length),
    walk(folds?: FoldShare): SeriesWalk {
      return new SeriesWalk(s.registry, new StoreReader(s.buffers), BOUNDS, folds ? { folds } : {});
    },
  };
}

/** The walk's only histogram as a remote_write exporter pushes it: cumulative buckets, then +Inf (the count). */
function pushed(walk: SeriesWalk): number[] {
  for (const p of walk.points()) {
    if (p.hist === undefined) continue;
    let cumulative = 0;
    return [...BOUNDS.map((_, i) => (cumulative += p.hist!.bins[i]!)), p.hist.count];
  }
  throw new Error('no histogram walked');
}

it('gives a walk begun after the bucket ring lapped the buckets the walk before it pushed, never fewer', () => {
  const s = store();
  const first = s.walk(s.folds);
  // 30 seconds, three times the ring, folded as the actor does (foldAll every few seconds).
  for (let t = 0; t < 30; t++) {
    s.second([0.5, 5, 50, 500]);
    if (t % 3 === 2) first.foldAll();
  }
  const before = pushed(first);
  expect(before).toEqual([29, 58, 87, 116]);

  // The actor is replaced (or the monitor stopped and started): a new walk over the same store.
  const next = s.walk(s.folds);
  expect(pushed(next)).toEqual(before);
  // It goes on folding from there: the 30th second closes (its 0.5 opens the 31st).
  s.second([0.5]);
  expect(pushed(next)).toEqual([30, 60, 90, 120]);

  // Without the folds kept, the samples older than the ring went to +Inf alone.
  const anew = s.walk();
  const lost = pushed(anew);
  expect(lost[3]).toBe(120);
  expect(lost[0]).toBeLessThan(30);
});

it('takes up the fold a walk left whole when a later walk went on from it', () => {
  const s = store();
  const a = s.walk(s.folds);
  for (let t = 0; t < 12; t++) {
    s.second([5]);
    a.foldAll();
  }
  const b = s.walk(s.folds);
  for (let t = 0; t < 12; t++) {
    s.second([50]);
    b.foldAll();
  }
  const c = s.walk(s.folds);
  expect(pushed(c)).toEqual(pushed(b));
  expect(pushed(c)).toEqual([0, 12, 23, 23]);
});

it('keeps nothing for an id past the buffer, and says so', () => {
  const folds = new FoldShare(new SharedArrayBuffer(foldShareBytes(2, BOUNDS.length)), BOUNDS.length);
  const st = { next: 4, count: 3, sum: 9, bins: new Float64Array([1, 1, 1, 0]) };
  folds.save(5, st);
  expect(folds.restore(5, { next: 0, count: 0, sum: 0, bins: new Float64Array(4) })).toBe(false);
  folds.save(1, st);
  const back = { next: 0, count: 0, sum: 0, bins: new Float64Array(4) };
  expect(folds.restore(1, back)).toBe(true);
  expect(back).toEqual(st);
});

it('takes up the copy written whole when a write into the other stopped half way (the thread terminated)', () => {
  const folds = new FoldShare(new SharedArrayBuffer(foldShareBytes(4, BOUNDS.length)), BOUNDS.length);
  const whole = { next: 4, count: 3, sum: 9, bins: new Float64Array([1, 1, 1, 0]) };
  folds.save(2, whole);
  // Bins whose third cannot be read: the write stops there, the next record, count, sum and two
  // bins written, as a thread terminated there would leave it.
  const cut = { length: 4, 0: 2, 1: 2, get 2(): number {
    throw new Error('terminated');
  } } as unknown as Float64Array;
  expect(() => folds.save(2, { next: 9, count: 8, sum: 90, bins: cut })).toThrow('terminated');
  const back = { next: 0, count: 0, sum: 0, bins: new Float64Array(4) };
  expect(folds.restore(2, back)).toBe(true);
  expect(back).toEqual(whole);
});
