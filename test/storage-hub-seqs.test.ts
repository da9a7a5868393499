import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { READ_HUB_SEQS, hubSeqsOf } from '../dist/src/storage/hub-seqs.js';
import { StorageService } from '../dist/src/storage/service.js';
import { T0, synthetic } from './synthetic.js';

/**
 * A hub's members' numbers (src/storage/hub-seqs.ts) commit with the rows of the flush that
 * wrote them, or not at all: a flush that fails leaves the numbers of the last one that
 * committed, so the disk never says it holds a batch whose rows it lacks.
 */
describe("a hub's members' numbers on disk", () => {
  it('are written in the flush that holds their rows, and a flush that fails writes neither', () => {
    const s = synthetic();
    const id = s.id('seq_rt', { r: 'a' }, 'distribution');
    let now = T0 + 1_000;
    const service = new StorageService({ file: join(mkdtempSync(join(tmpdir(), 'pw-hub-seqs-')), 'perfwatch.db'), registry: s.registry, reader: s.reader, retentionMs: 86_400_000, clock: () => now });
    const numbers = () => hubSeqsOf(service.query(READ_HUB_SEQS));
    s.apply(now, [[id, 5]]);
    expect(service.flush(false, [{ instance: 'a', epoch: 'e1', acked: 3 }, { instance: 'b', epoch: 'e7', acked: 1 }])).toBe(true);
    expect(numbers()).toEqual([{ instance: 'a', epoch: 'e1', acked: 3 }, { instance: 'b', epoch: 'e7', acked: 1 }]);
    // The next flush fails while it writes its rows (its journal table is gone): its numbers stay off the disk.
    service.commit([{ sql: 'DROP TABLE journal' }]);
    now += 1_000;
    s.apply(now, [[id, 9]]);
    expect(service.flush(false, [{ instance: 'a', epoch: 'e1', acked: 4 }, { instance: 'b', epoch: 'e7', acked: 1 }])).toBe(false);
    expect(service.status().lastError?.message).toMatch(/journal/);
    expect(numbers()).toEqual([{ instance: 'a', epoch: 'e1', acked: 3 }, { instance: 'b', epoch: 'e7', acked: 1 }]);
    service.close();
  });
});
