import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAIN_LOCK_TAG, Registry, createRegistry } from '../dist/src/engine/registry.js';
import { createStore } from '../dist/src/engine/store/layout.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';
import { RETENTION_EVERY_MS, StorageService } from '../dist/src/storage/service.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

/** A storage service over an empty store, on a clock the test moves. */
function service(file: string, clock: () => number): StorageService {
  const registry = new Registry(createRegistry({ maxSeries: 16, maxTags: 4, maxTagValueLength: 16 }), MAIN_LOCK_TAG);
  const store = createStore({ maxSeries: 16, rawCapacity: 16, bucketCapacity: 120, rollupCapacity: 4, intervalMs: 1000, rollupMs: MINUTE, logBytes: 1 << 20, rollupLogBytes: 1 << 20, poolBytes: 1 << 20 });
  return new StorageService({ file, registry, reader: new StoreReader(store), retentionMs: 30 * DAY, clock });
}

describe('storage retention', () => {
  it('deletes rollups older than the retention on its schedule and hands the space back', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pw-retention-')), 'perfwatch.db');
    const T0 = Date.UTC(2026, 0, 1);
    let now = T0;
    const s = service(file, () => now);
    // 40 days of one-minute rollups of one series, written through commit() as any module would.
    s.commit([{ sql: 'INSERT INTO series (name, tags, kind, unit) VALUES (?, ?, ?, ?)', params: ['old_rt', '{}', 'distribution', 'ms'] }]);
    const blob = new Uint8Array(200).fill(1);
    const minutes = 40 * 1440;
    const ops = Array.from({ length: minutes }, (_, i) => ({ sql: 'INSERT INTO rollups (series, start, count, sum, min, max, last, sketch) VALUES (1, ?, 1, 1, 1, 1, 1, ?)', params: [T0 + i * MINUTE, blob] }));
    s.commit(ops);
    s.query('PRAGMA wal_checkpoint(TRUNCATE)');
    const fullBytes = statSync(file).size;
    expect(s.status()).toMatchObject({ rows: minutes, oldestData: T0 });

    // Day 40: the first flush runs retention; 30 days are kept.
    now = T0 + 40 * DAY;
    expect(s.flush()).toBe(true);
    expect(s.status()).toMatchObject({ rows: 30 * 1440, oldestData: T0 + 10 * DAY });
    expect(s.query('PRAGMA freelist_count')).toEqual([[0]]);
    s.query('PRAGMA wal_checkpoint(TRUNCATE)');
    const keptBytes = statSync(file).size;
    expect(keptBytes).toBeLessThan(fullBytes * 0.8);

    // Not again before its schedule, then again on it.
    now += RETENTION_EVERY_MS - MINUTE;
    s.flush();
    expect(s.status().rows).toBe(30 * 1440);
    now += MINUTE;
    s.flush();
    expect(s.status()).toMatchObject({ rows: 30 * 1440 - RETENTION_EVERY_MS / MINUTE, oldestData: now - 30 * DAY });
    s.close();
  });
});
