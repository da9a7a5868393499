import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import type { StoreReader } from '../dist/src/engine/store/reader.js';
import type { Db } from '../dist/src/storage/driver.js';
import { foldJournal } from '../dist/src/storage/journal.js';
import { Persister } from '../dist/src/storage/persister.js';
import { RollupTable } from '../dist/src/storage/rollups.js';
import { openSchema } from '../dist/src/storage/schema.js';
import { T0, synthetic } from './synthetic.js';

/**
 * A flush reads the store on the storage actor's thread while the collector closes buckets
 * on its own (src/storage/persister.ts). A close publishes the bucket's record, then empties
 * the open bucket (src/engine/store/closes.ts): a flush that reads between the two finds the
 * samples in both, and must write them once. A hub's cluster-wide series holds a whole
 * batch or two in its open bucket, so the file held them twice (test/hub-durable.test.ts's
 * cut-batch test, 1 run in 10 under load).
 */

const file = (name: string) => join(mkdtempSync(join(tmpdir(), 'pw-close-read-')), name);

const counts = (db: Db) => db.prepare('SELECT r.start, r.count, r.sum FROM rollups r ORDER BY r.start').all();

/** The store as a flush sees it when the close of `id`'s open bucket lands between its reads: the record published, the open bucket as it was before. */
function midClose(reader: StoreReader, id: number, before: ReturnType<StoreReader['snapshot']>): StoreReader {
  return new Proxy(reader, {
    get(target, p) {
      if (p === 'snapshot') return (i: number) => (i === id ? before : target.snapshot(i));
      const v = Reflect.get(target, p) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe('a flush that reads a bucket being closed', () => {
  it('writes its samples once, as rows (a flush of whole minutes) and through the journal (folded as a next process does)', () => {
    const s = synthetic();
    const id = s.id('close_read_rt', {}, 'distribution');
    s.apply(T0 + 1_100, [[id, 5], [id, 7], [id, 9]]);
    const before = s.reader.snapshot(id);
    expect(before.openCount).toBe(3);
    // Its rows are keyed by the first sample's time (the persister's floor), in the minute of T0.
    expect(before.firstTs).toBe(T0 + 1_100);
    // The next bucket: the collector closes the open one into its record.
    s.apply(T0 + 2_100, []);
    expect(s.reader.snapshot(id).openCount).toBe(0);
    const torn = midClose(s.reader, id, before);

    const whole = openSchema(file('whole.db'));
    new Persister(s.registry, torn, new RollupTable(whole)).flush(T0 + 2_200, true);
    expect(counts(whole)).toEqual([[before.firstTs, 3, 21]]);

    const journaled = file('journaled.db');
    const db = openSchema(journaled);
    new Persister(s.registry, torn, new RollupTable(db)).flush(T0 + 2_200);
    db.close();
    const folded = openSchema(journaled);
    folded.transaction(() => foldJournal(folded, new RollupTable(folded), new SketchAccumulator(), T0 + 2_300));
    expect(counts(folded)).toEqual([[before.firstTs, 3, 21]]);
  });
});

/** The store as a flush sees it while `id`'s buckets keep closing under every read (its bucket count moves between each two looks), until `settle()`. */
function alwaysClosing(reader: StoreReader, id: number): { reader: StoreReader; settle(): void } {
  let moved = 0;
  let tearing = true;
  const torn = new Proxy(reader, {
    get(target, p) {
      if (p === 'bucketCount') return (i: number, tier: 1 | 2) => target.bucketCount(i, tier) + (tearing && i === id && tier === 1 ? moved++ : 0);
      const v = Reflect.get(target, p) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { reader: torn, settle: () => (tearing = false) };
}

describe('a flush whose every read of a series is torn by a close', () => {
  it('leaves its samples to the next flush, which writes them though no sample came since', () => {
    const s = synthetic();
    const id = s.id('torn_read_rt', {}, 'distribution');
    s.apply(T0 + 1_100, [[id, 5], [id, 7], [id, 9]]);
    s.apply(T0 + 2_100, [[id, 11]]);
    // A flush of the journal, then one of whole minutes (a stop), each torn first.
    for (const last of [false, true]) {
      const db = openSchema(file(`torn-${last}.db`));
      const store = alwaysClosing(s.reader, id);
      const persister = new Persister(s.registry, store.reader, new RollupTable(db));
      persister.flush(T0 + 2_200, last);
      expect(counts(db)).toEqual([]);
      store.settle();
      persister.flush(T0 + 2_300, true);
      expect(counts(db)).toEqual([[T0 + 1_100, 4, 32]]);
    }
  });
});
