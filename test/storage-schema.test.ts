import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StorageError } from '../dist/src/index.js';
import { openDatabase } from '../dist/src/storage/driver.js';
import { RollupTable } from '../dist/src/storage/rollups.js';
import { MIGRATIONS, SCHEMA_VERSION, openSchema } from '../dist/src/storage/schema.js';
import { caught } from './helpers.js';

const FIXTURE = new URL('./fixtures/storage-v1.db', import.meta.url);

function tmpFile(name = 'perfwatch.db'): string {
  return join(mkdtempSync(join(tmpdir(), 'pw-schema-')), name);
}

describe('the storage schema', () => {
  it('creates a new file at the current version, in WAL mode with incremental vacuum', () => {
    const db = openSchema(tmpFile());
    expect(db.pragma('user_version')).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode')).toBe('wal');
    expect(db.pragma('auto_vacuum')).toBe(2);
    expect(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all().map((r) => r[0])).toEqual(['alert_rule', 'alert_state', 'alert_transition', 'baseline', 'hourly', 'journal', 'meta', 'notify_outbox', 'optimization_log', 'rollups', 'series', 'tunable_value', 'watched']);
    db.close();
  });

  it('refuses a file that is not a database, naming it, and leaves its bytes as they were', () => {
    const file = tmpFile();
    const bytes = Buffer.concat([Buffer.from('not a database at all '), Buffer.alloc(8192, 7)]);
    writeFileSync(file, bytes);
    const e = caught<StorageError>(() => openSchema(file));
    expect(e).toBeInstanceOf(StorageError);
    expect(e).toMatchObject({ code: 'PW_ERR_STORAGE', path: file });
    expect(e.message).toContain(`${file}: is not a usable SQLite database (file is not a database); it was left untouched`);
    expect(readFileSync(file).equals(bytes)).toBe(true);
    // SQLite's first bytes and nothing after them: no header to tell whose it is.
    const cut = Buffer.from('SQLite format 3\0\x10\x00', 'latin1');
    writeFileSync(file, cut);
    expect(caught<StorageError>(() => openSchema(file))).toMatchObject({ code: 'PW_ERR_STORAGE', message: `${file}: is not a usable SQLite database (file is not a database); it was left untouched: move it away or choose another dataDir` });
    expect(readFileSync(file).equals(cut)).toBe(true);
  });

  it("refuses another application's SQLite database and leaves it untouched", () => {
    const file = tmpFile();
    const other = openDatabase(file);
    other.exec('CREATE TABLE invoices (id INTEGER PRIMARY KEY)');
    other.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    other.close();
    const before = readFileSync(file);
    expect(caught(() => openSchema(file)).message).toBe(`${file}: is an SQLite database of another application (no perfwatch application id); it was left untouched: move it away or choose another dataDir`);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it("refuses a database whose header was overwritten as damaged, not as another application's, and leaves it untouched", () => {
    const file = tmpFile();
    const made = openSchema(file);
    made.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    made.close();
    // The header read is the file's own, no newer page 1 in a -wal (checkpointed, the file holds every page).
    rmSync(`${file}-wal`, { force: true });
    rmSync(`${file}-shm`, { force: true });
    const whole = readFileSync(file);
    // SQLite's magic kept, the rest of the header (and the application id in it) garbled.
    const garbled = Buffer.from(whole);
    for (let i = 16; i < 108; i++) garbled[i] = (i * 37 + 11) & 0xff;
    writeFileSync(file, garbled);
    const e = caught<StorageError>(() => openSchema(file));
    expect(e).toMatchObject({ code: 'PW_ERR_STORAGE', path: file });
    expect(e.message).toBe(`${file}: is not a usable SQLite database (its header is damaged: page size ${garbled.readUInt16BE(16)}); it was left untouched: move it away or choose another dataDir`);
    expect(readFileSync(file).equals(garbled)).toBe(true);
    // Only the payload fractions wrong: each fixed field is looked at.
    const fractions = Buffer.from(whole);
    fractions[21] = 0;
    writeFileSync(file, fractions);
    expect(caught(() => openSchema(file)).message).toContain('(its header is damaged: payload fractions 0, 32, 32)');
    // The header whole again: opened as perfwatch's.
    writeFileSync(file, whole);
    openSchema(file).close();
  });

  it('refuses a database from a newer build', () => {
    const file = tmpFile();
    openSchema(file).close();
    const db = openDatabase(file);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(caught(() => openSchema(file)).message).toBe(`${file}: has schema version ${SCHEMA_VERSION + 1}, newer than this perfwatch knows (${SCHEMA_VERSION}): it was written by a newer release; upgrade perfwatch or choose another dataDir`);
  });

  it('migrates a file made by this version (the fixture) and keeps its data', () => {
    const file = tmpFile();
    copyFileSync(FIXTURE, file);
    const added = { name: 'a table of a later version', up: (d: { exec(sql: string): void }) => d.exec('CREATE TABLE later (x INTEGER)') };
    const db = openSchema(file, [...MIGRATIONS, added]);
    expect(db.pragma('user_version')).toBe(SCHEMA_VERSION + 1);
    expect(db.prepare('SELECT count(*) FROM later').get()).toEqual([0]);
    // The fixture is version 1: the control state's tables (version 2) were added to it.
    expect(db.prepare('SELECT count(*) FROM alert_rule').get()).toEqual([0]);
    // And the hourly tier (version 3), empty until the storage actor builds it.
    expect(db.prepare('SELECT count(*) FROM hourly').get()).toEqual([0]);
    // And the runs that watched (version 7): the file's whole stored span as one, its clock
    // not kept then, so to the end of its newest minute.
    expect(db.prepare('SELECT start, until FROM watched').all()).toEqual([[1_700_000_000_000, 1_700_000_120_000]]);
    const table = new RollupTable(db);
    expect(table.catalog()).toEqual([
      { name: 'response_time', tags: { route: '/a' }, kind: 'distribution', unit: 'ms', own: false, newest: 1_700_000_060_000 },
      { name: 'queue_size', tags: {}, kind: 'gauge', unit: 'count', own: false, newest: 1_700_000_000_000 },
    ]);
    const rows = table.read('response_time', { route: '/a' }, -Infinity, Infinity)!;
    expect([...rows.start]).toEqual([1_700_000_000_000, 1_700_000_060_000]);
    expect([...rows.count]).toEqual([3, 1]);
    expect([...rows.sketchAt]).toEqual([0, -1]);
    expect([...rows.sketches.subarray(0, 5)]).toEqual([2, 1000, 2, 1100, 1]);
    db.close();
  });

  it('leaves the file at its version when a migration fails', () => {
    const file = tmpFile();
    copyFileSync(FIXTURE, file);
    const broken = { name: 'a broken one', up: (d: { exec(sql: string): void }) => d.exec('CREATE TABLE later (x INTEGER); CREATE TABLE later (y INTEGER)') };
    expect(caught(() => openSchema(file, [...MIGRATIONS, broken])).message).toMatch(new RegExp(`^${file}: migration ${SCHEMA_VERSION + 1} \\(a broken one\\) failed: .*; the file was left at version 1$`));
    const db = openDatabase(file);
    expect(db.pragma('user_version')).toBe(1);
    expect(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'later'").get()).toEqual([0]);
    db.close();
  });
});

describe('a sketch on disk', () => {
  it('round-trips a run with keys in any order and counts up to 2^32 - 1, keys ascending', async () => {
    const { decodeSketchInto, encodeSketch } = await import('../dist/src/storage/sketch-codec.js');
    const run = Int32Array.from([3, 200_000, 7, 5, 0xffffffff | 0, 90_000, 1]);
    const blob = encodeSketch(run, 0)!;
    const out = new Int32Array(16).fill(-9);
    expect(decodeSketchInto(blob, out, 2)).toBe(7);
    expect([...out.subarray(2, 9)]).toEqual([3, 5, 0xffffffff | 0, 90_000, 1, 200_000, 7]);
    expect(out[9]).toBe(-9);
    expect(encodeSketch(Int32Array.of(0), 0)).toBeNull();
    // A damaged blob adds nothing.
    expect(decodeSketchInto(blob.subarray(0, blob.length - 2), out, 0)).toBe(0);
    expect(decodeSketchInto(Uint8Array.of(0x92, 0xff, 0x01), out, 0)).toBe(0);
    // A long run (an array16 header; gaps and counts of one, two, three and five bytes) comes back whole.
    const bins = Array.from({ length: 300 }, (_, i) => [i * (i % 2 ? 300 : 37) + (i % 7), [1, 200, 60_000, 1_000_000][i % 4]!] as const);
    const long = Int32Array.from([bins.length, ...[...bins].reverse().flat()]);
    const wide = new Int32Array(1 + 2 * bins.length);
    expect(decodeSketchInto(encodeSketch(long, 0)!, wide, 0)).toBe(1 + 2 * bins.length);
    expect([...wide]).toEqual([bins.length, ...[...bins].sort((a, b) => a[0] - b[0] || a[1] - b[1]).flat()]);
  });

  it("decodes sketches laid end to end (a hub member's batch) by their ranges, each as it decodes alone, and refuses a range cut short", async () => {
    const { decodeSketchInto, decodeSketchRange, encodeSketch } = await import('../dist/src/storage/sketch-codec.js');
    // A fixarray header, an array16 one, and one bin.
    const runs = [Int32Array.from([2, 9, 1, 4, 2]), Int32Array.from([20, ...Array.from({ length: 40 }, (_, i) => (i % 2 ? i : 1000 + 3 * i))]), Int32Array.from([1, 77, 300])];
    const blobs = runs.map((r) => encodeSketch(r, 0)!);
    const bytes = new Uint8Array(blobs.reduce((a, b) => a + b.length, 0));
    let from = 0;
    for (const b of blobs) {
      bytes.set(b, from);
      const alone = new Int32Array(64);
      const ranged = new Int32Array(64);
      expect(decodeSketchRange(bytes, from, from + b.length, ranged, 1)).toBe(decodeSketchInto(b, alone, 1));
      expect([...ranged]).toEqual([...alone]);
      from += b.length;
    }
    expect(decodeSketchRange(bytes, 0, blobs[0]!.length - 1, new Int32Array(64), 0)).toBe(0);
  });

  it("writes the bytes @msgpack/msgpack's encoder writes for the same integers, on random runs of every header and integer size", async () => {
    const { encodeSketch, encodeSketchTo, sketchBytesBound } = await import('../dist/src/storage/sketch-codec.js');
    const { Encoder } = await import('@msgpack/msgpack');
    const { KEY_COUNT } = await import('../dist/src/engine/sketch.js');
    const { seeded } = await import('./fixtures/seeded.mjs');
    const encoder = new Encoder();
    const rand = seeded(16);
    // Counts and key gaps of one, two, three and five bytes; runs of a fixarray, an array16 and an array32 (over 32,767 bins).
    const sizes = [0x7f, 0xff, 0xffff, 0xffffffff];
    const lengths = [1, 7, 8, 9, 100, 32_767, 32_768, 40_000];
    for (let round = 0; round < 60; round++) {
      const n = round < lengths.length ? lengths[round]! : 1 + Math.floor(rand() * 300);
      const keys = new Set<number>();
      while (keys.size < n) keys.add(n > 1000 ? Math.floor(rand() * KEY_COUNT) : Math.floor(rand() * Math.min(KEY_COUNT, sizes[Math.floor(rand() * 3)]! * 4)));
      const run = new Int32Array(1 + 2 * n);
      run[0] = n;
      let i = 1;
      for (const key of keys) {
        run[i++] = key;
        run[i++] = Math.floor(rand() * (sizes[Math.floor(rand() * 4)]! + 1)) | 0;
      }
      // The reference: the same integers (keys ascending, delta-coded) through the library's encoder.
      const pairs = [...keys].map((key, j) => [key, run[2 + 2 * j]! >>> 0] as const).sort((a, b) => a[0] - b[0]);
      const flat: number[] = [];
      let prev = 0;
      for (const [key, count] of pairs) {
        flat.push(key - prev, count);
        prev = key;
      }
      const expected = encoder.encode(flat);
      const out = new Uint8Array(3 + sketchBytesBound(n)).fill(0xee);
      const written = encodeSketchTo(run, 0, out, 3);
      expect(written).toBe(expected.length);
      expect(Buffer.from(out.subarray(3, 3 + written)).equals(Buffer.from(expected))).toBe(true);
      expect([...out.subarray(0, 3)]).toEqual([0xee, 0xee, 0xee]);
      expect(Buffer.from(encodeSketch(run, 0)!).equals(Buffer.from(expected))).toBe(true);
    }
  });
});
