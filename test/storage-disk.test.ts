/**
 * A full disk, for real: the dataDir is on a tmpfs of 4 MB that a filler file fills; and a
 * dataDir on a read-only file system (root may write anywhere else). Mounting needs root; without it the suite is skipped with that reason, and under CI=true it fails
 * instead (CI must not pass by skipping).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PerformanceMonitor, StorageError } from '../dist/src/index.js';
import { waitFor, historyTotals } from './helpers.js';

const root = process.getuid?.() === 0;
const reason = 'mounting a tmpfs needs root';

/** Writes until the file system is full; returns the filler's path. */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  const chunk = Buffer.alloc(64 * 1024, 1);
  let size = 0;
  for (;;) {
    try {
      writeFileSync(filler, chunk, { flag: size === 0 ? 'w' : 'a' });
      size += chunk.length;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
      throw error;
    }
  }
  // And the last bytes a chunk did not fit in.
  for (;;) {
    try {
      writeFileSync(filler, Buffer.alloc(512, 1), { flag: 'a' });
    } catch {
      return filler;
    }
  }
}

if (!root && process.env.CI === 'true') {
  describe('storage on a full disk', () => {
    it('runs as root', () => {
      throw new Error(`the full-disk test cannot run: ${reason}`);
    });
  });
} else {
  (root ? describe : describe.skip)(root ? 'storage on a full disk' : `storage on a full disk (skipped: ${reason})`, () => {
    const mnt = mkdtempSync(join(tmpdir(), 'pw-tmpfs-'));
    beforeAll(() => {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
    });
    afterAll(() => {
      execFileSync('umount', [mnt]);
    });

    it('fails start() with an error naming a dataDir on a read-only file system', async () => {
      const ro = mkdtempSync(join(tmpdir(), 'pw-tmpfs-ro-'));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]);
      try {
        const m = new PerformanceMonitor({ storage: 'sqlite', dataDir: ro, system: { enabled: false }, runtime: { enabled: false } });
        const e = await m.start().catch((error: unknown) => error);
        expect(e).toBeInstanceOf(StorageError);
        expect((e as Error).message).toMatch(new RegExp(`^${ro}: cannot be written \\(EROFS: `));
        expect(m.state).toBe('stopped');
      } finally {
        execFileSync('umount', [ro]);
      }
    });

    it('keeps recording in memory, reports the error in status and as a metric, and catches up once there is room', async () => {
      const dir = join(mnt, 'data');
      const m = new PerformanceMonitor({ storage: 'sqlite', dataDir: dir, storageFlushMs: 5_000, system: { enabled: false }, runtime: { enabled: false } });
      const events: string[] = [];
      m.on('storage-error', () => events.push('error'));
      m.on('storage-recovered', () => events.push('recovered'));
      await m.start();
      try {
        m.record('disk_rt', 1);
        await m.flush();
        expect(await m.flushStorage()).toBe(true);

        const filler = fill(mnt);
        // New series and samples while the disk is full: 300 series need new pages.
        for (let i = 0; i < 300; i++) m.record('disk_rt', 2, { shard: `s${i}` });
        await m.flush();
        expect(await m.flushStorage()).toBe(false);
        const s = m.status();
        if (s.storage.mode !== 'sqlite') throw new Error('expected sqlite');
        expect(s.storage.lastError?.message).toMatch(/full/i);
        // The actor's report crosses on a port of its own: wait for it.
        await waitFor(() => events.includes('error'), 10_000, 'the storage-error event');
        expect(m.status().faults.byKind.storage?.count).toBeGreaterThanOrEqual(1);
        // Recording went on: every sample is in memory, and the fault is a metric.
        expect(m.getMetrics({ names: ['disk_rt'] }).reduce((a, x) => a + x.totalCount, 0)).toBe(301);
        await m.flush();
        expect(m.getMetrics({ names: ['monitor_faults'] }).find((x) => x.tags.kind === 'storage')?.totalCount).toBeGreaterThanOrEqual(1);

        rmSync(filler);
        expect(await m.flushStorage()).toBe(true);
        await waitFor(() => events.at(-1) === 'recovered', 10_000, 'the storage-recovered event');
        const after = m.status().storage;
        expect(after.mode === 'sqlite' && after.lastError).toBeNull();
      } finally {
        await m.stop();
      }
      // Everything reached the disk once it had room.
      const again = new PerformanceMonitor({ storage: 'sqlite', dataDir: dir, system: { enabled: false }, runtime: { enabled: false } });
      await again.start();
      try {
        expect(await historyTotals(again, 'disk_rt')).toEqual({ count: 301, sum: 601 });
      } finally {
        await again.stop();
      }
    });
  });
}
