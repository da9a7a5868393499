import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Faults } from '../dist/src/monitor/faults.js';
import { StorageLink } from '../dist/src/monitor/storage-link.js';
import { StorageService, type StorageStatus } from '../dist/src/storage/service.js';
import { T0, synthetic } from './synthetic.js';

const MINUTE = 60_000;

/**
 * Flushes that fail for longer than the store keeps rollups (`rollupCapacity` minutes a series:
 * 6 hours by default; 4 here) lose the oldest of them from the stored history. That loss is
 * counted and said, where it was left out without a word.
 */
describe('rollups lost to a long storage outage', () => {
  it('counts the minutes the store overwrote before a flush could write them, and only those', () => {
    const s = synthetic({ rollupCapacity: 4, bucketCapacity: 120 });
    const a = s.id('lost_rt', { r: 'a' }, 'distribution');
    const b = s.id('lost_rt', { r: 'b' });
    let now = T0;
    const file = join(mkdtempSync(join(tmpdir(), 'pw-rollups-lost-')), 'perfwatch.db');
    const service = new StorageService({ file, registry: s.registry, reader: s.reader, retentionMs: 30 * 86_400_000, clock: () => now });
    /** Samples of both series every 10 s for `minutes` minutes from `from`, with a flush every 5 s when `flushing`. */
    const run = (from: number, minutes: number, flushing: boolean): void => {
      for (let ms = from; ms < from + minutes * MINUTE; ms += 5_000) {
        now = T0 + ms + 3;
        s.apply(now, ms % 10_000 === 0 ? [[a, 1 + (ms % 7)], [b, 2]] : []);
        if (flushing) expect(service.flush()).toBe(true);
      }
    };
    const minutesOnDisk = (): number[] =>
      service.query('SELECT DISTINCT r.start FROM rollups r ORDER BY r.start').map((row) => Math.floor((Number(row[0]) - T0) / MINUTE));

    // Flushes that keep up lose nothing, however long they run past the capacity.
    run(0, 10, true);
    expect(service.status().rollupsLost).toBeNull();

    // Ten minutes without a flush that commits: 10 rollups a series (minutes 9-18: minute 9
    // closed after the last flush) of which the store holds the newest 4, so minutes 9-14 are gone.
    run(10 * MINUTE, 10, false);
    now += 1;
    expect(service.flush()).toBe(true);
    const lost = service.status().rollupsLost;
    expect(lost).toMatchObject({ rollups: 12, at: now });
    expect(lost!.message).toBe('12 minute rollups of 2 series could not be written: the store keeps 4 a series in memory (rollupCapacity), and flushes failed for longer than that; those minutes are missing from the stored history');
    // What was not lost is on disk: minutes 0-8, the 4 rollups held, and the open minute 19 in the journal.
    expect(minutesOnDisk()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 17, 18]);

    // Flushes that keep up again find nothing more.
    run(20 * MINUTE + 5_000, 3, true);
    expect(service.status().rollupsLost).toMatchObject({ rollups: 12, at: lost!.at });
    service.close();
  });

  it('counts nothing for a successor whose series are on disk already', () => {
    const s = synthetic({ rollupCapacity: 4, bucketCapacity: 120 });
    const a = s.id('succ_rt', {}, 'distribution');
    let now = T0;
    const file = join(mkdtempSync(join(tmpdir(), 'pw-rollups-lost-')), 'perfwatch.db');
    const first = new StorageService({ file, registry: s.registry, reader: s.reader, retentionMs: 30 * 86_400_000, clock: () => now });
    for (let ms = 0; ms < 8 * MINUTE; ms += 5_000) {
      now = T0 + ms + 3;
      s.apply(now, [[a, 5]]);
      first.flush();
    }
    first.close();
    // A storage actor that died and was replaced: the store holds 4 of the series' 7 rollups,
    // the file holds all 7; nothing is lost.
    const second = new StorageService({ file, registry: s.registry, reader: s.reader, retentionMs: 30 * 86_400_000, clock: () => now });
    for (let ms = 8 * MINUTE; ms < 10 * MINUTE; ms += 5_000) {
      now = T0 + ms + 3;
      s.apply(now, [[a, 5]]);
      expect(second.flush()).toBe(true);
    }
    expect(second.status().rollupsLost).toBeNull();
    second.close();
  });

  it('counts what a database attached late (a disk full at the start) can no longer be given', () => {
    const s = synthetic({ rollupCapacity: 4, bucketCapacity: 120 });
    const a = s.id('late_rt', {}, 'distribution');
    let now = T0;
    for (let ms = 0; ms < 9 * MINUTE; ms += 5_000) {
      now = T0 + ms + 3;
      s.apply(now, [[a, 5]]);
    }
    const file = join(mkdtempSync(join(tmpdir(), 'pw-rollups-lost-')), 'perfwatch.db');
    const late = new StorageService({ file, registry: s.registry, reader: s.reader, retentionMs: 30 * 86_400_000, clock: () => now });
    expect(late.flush()).toBe(true);
    // 8 minutes rolled up (0-7), the newest 4 still held.
    expect(late.status().rollupsLost).toMatchObject({ rollups: 4, message: expect.stringMatching(/^4 minute rollups of 1 series could not be written/) });
    expect(late.query('SELECT start FROM rollups ORDER BY start').map((row) => (Number(row[0]) - T0) / MINUTE)).toEqual([4, 5, 6, 7]);
    late.close();
  });

  it('is a storage fault for each flush that finds some, summed in status() past the storage actor', () => {
    // The monitor's side alone: the actor's flush reports, as its events bring them.
    const faults = new Faults(() => {});
    const link = new StorageLink({ options: { dataDir: mkdtempSync(join(tmpdir(), 'pw-rollups-lost-')) }, faults, emit: () => {}, watchdog: { attach: () => {} } } as never);
    const flushed = (rollupsLost: StorageStatus['rollupsLost']): void =>
      (link as unknown as { onEvent(e: unknown): void }).onEvent({ ev: 'flushed', status: { flushes: 1, rollupsLost } });
    flushed(null);
    expect(faults.status().byKind.storage).toBeUndefined();
    const message = '6 minute rollups of 1 series could not be written: …';
    flushed({ rollups: 6, at: 1000, message });
    // Seen again in the next flush's report (the same actor): not another fault.
    flushed({ rollups: 6, at: 1000, message });
    expect(faults.status().byKind.storage).toMatchObject({ count: 1, lastMessage: `${link.file}: ${message}` });
    // A later outage, or a new actor's (which reports its own): added.
    flushed({ rollups: 2, at: 2000, message });
    flushed(null);
    expect(faults.status().byKind.storage).toMatchObject({ count: 2 });
    expect(link.status()).toMatchObject({ rollupsLost: { rollups: 8, at: 2000, message } });
  });
});
