import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import type { Db } from '../dist/src/storage/driver.js';
import { foldJournal } from '../dist/src/storage/journal.js';
import { Persister } from '../dist/src/storage/persister.js';
import { RollupTable } from '../dist/src/storage/rollups.js';
import { openSchema } from '../dist/src/storage/schema.js';
import { T0, synthetic, type Synthetic } from './synthetic.js';

/**
 * The journal (src/storage/journal.ts) against the rows the last flush of a stop writes:
 * a file flushed every 5 s and then left as a killed process leaves it, folded when opened
 * again, must hold exactly the rows (counts, sums, extremes, last values and sketches, byte
 * for byte) that one flush writing every minute as rows holds at the same moment.
 */

function file(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'pw-journal-')), name);
}

function rows(db: Db): unknown[][] {
  return db.prepare('SELECT s.name, s.tags, r.start, r.count, r.sum, r.min, r.max, r.last, hex(r.sketch) FROM rollups r JOIN series s ON s.id = r.series ORDER BY s.name, s.tags, r.start').all();
}

/** Opens `path` as the next process would: the journal folded into rows. */
function reopen(path: string): Db {
  const db = openSchema(path);
  db.transaction(() => foldJournal(db, new RollupTable(db), new SketchAccumulator(), T0));
  return db;
}

/** Samples at irregular times over `seconds` from `from` (seconds after T0), several per bucket, the last bucket left open. */
function record(s: Synthetic, ids: number[], from: number, seconds: number, flush: (t: number) => void): void {
  let x = 12345 + from;
  for (let ms = from * 1000; ms < (from + seconds) * 1000; ms += 250) {
    const samples: [number, number][] = [];
    for (const id of ids) {
      x = (x * 1103515245 + 12345) >>> 0;
      if (x % 3 !== 0) samples.push([id, 1 + Math.round(Math.exp((x / 2 ** 32) * 7))]);
    }
    s.apply(T0 + ms + 7, samples);
    if (ms % 5000 === 0) flush(T0 + ms + 7);
  }
}

describe('the journal of open minutes', () => {
  it('folds into exactly the rows a flush of whole minutes writes, sketches included', () => {
    const s = synthetic();
    const ids = [s.id('j_rt', { r: 'a' }, 'distribution'), s.id('j_rt', { r: 'b' }), s.id('j_gauge', {}, 'gauge'), s.id('j_count', {}, 'counter')];
    const killed = file('killed.db');
    const db = openSchema(killed);
    const persister = new Persister(s.registry, s.reader, new RollupTable(db));
    // 2.5 minutes: two minutes close (their rows), the third is open with its open bucket.
    record(s, ids, 0, 152, (t) => persister.flush(t));
    const end = T0 + 152_500;
    persister.flush(end);
    expect(Number(db.prepare('SELECT count(*) FROM journal').get()![0])).toBeGreaterThan(0);
    db.close();

    const whole = openSchema(file('whole.db'));
    new Persister(s.registry, s.reader, new RollupTable(whole)).flush(end, true);
    const folded = reopen(killed);
    expect(rows(folded)).toEqual(rows(whole));
    expect(rows(folded).length).toBe(4 * 3);
    expect(Number(folded.prepare('SELECT count(*) FROM journal').get()![0])).toBe(0);
  });

  it('a flush of whole minutes mid-minute (a stop, flushStorage) and the journal after it fold into the whole minute', () => {
    const s = synthetic();
    const ids = [s.id('k_rt', {}, 'distribution'), s.id('k_gauge', {}, 'gauge')];
    const path = file('restarted.db');
    const db = openSchema(path);
    const persister = new Persister(s.registry, s.reader, new RollupTable(db));
    record(s, ids, 0, 20, (t) => persister.flush(t));
    persister.flush(T0 + 20_500, true);
    // More of the same minute, journaled, then killed.
    record(s, ids, 21, 20, (t) => persister.flush(t));
    persister.flush(T0 + 41_500);
    db.close();

    const whole = openSchema(file('whole.db'));
    new Persister(s.registry, s.reader, new RollupTable(whole)).flush(T0 + 41_500, true);
    expect(rows(reopen(path))).toEqual(rows(whole));
  });

  it('deletes a blob once every minute in it has its row', () => {
    const s = synthetic();
    const id = s.id('d_rt', {}, 'distribution');
    const db = openSchema(file('cleanup.db'));
    const persister = new Persister(s.registry, s.reader, new RollupTable(db));
    record(s, [id], 0, 300, (t) => persister.flush(t));
    // Five minutes closed: only the blobs of the open minute (and of the one just closed, until its row) remain.
    expect(Number(db.prepare('SELECT count(*) FROM journal').get()![0])).toBeLessThanOrEqual(13);
  });

  // A series recorded once (a request or user id in a tag) has its open minute journaled and no
  // sample after: its count never changed again, so flushes skipped it, its closed minute never
  // became a row while the monitor ran, and every blob holding it (with all the other series'
  // buckets of that flush) stayed: a trial's journal grew by every flush that met a new one.
  it('writes the row of a series that got no sample after its minute closed, and deletes its blobs', () => {
    const s = synthetic();
    const steady = s.id('o_rt', {}, 'distribution');
    const once = [0, 1, 2, 3].map((i) => s.id('o_login', { user: `u${i}` }, 'distribution'));
    const db = openSchema(file('once.db'));
    const persister = new Persister(s.registry, s.reader, new RollupTable(db));
    for (let ms = 0; ms < 300_000; ms += 250) {
      const samples: [number, number][] = [[steady, 1 + (ms % 7)]];
      // One sample each, in the first minutes, none after.
      if (ms % 40_000 === 10_000 && ms < 160_000) samples.push([once[(ms - 10_000) / 40_000]!, 5]);
      s.apply(T0 + ms + 7, samples);
      if (ms % 5000 === 0) persister.flush(T0 + ms + 7);
    }
    const stored = db.prepare("SELECT s.tags, r.start, r.count, r.sum FROM rollups r JOIN series s ON s.id = r.series WHERE s.name = 'o_login' ORDER BY s.tags").all();
    expect(stored).toEqual([0, 1, 2, 3].map((i) => [`{"user":"u${i}"}`, T0 + 10_007 + i * 40_000, 1, 5]));
    // Five minutes closed: only the blobs of the open minute (and of the one just closed, until its row) remain.
    expect(Number(db.prepare('SELECT count(*) FROM journal').get()![0])).toBeLessThanOrEqual(13);
  });
});
