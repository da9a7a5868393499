/**
 * The system sampler reads /proc files into one reused buffer (src/engine/system.ts): each
 * read gives the whole file, or its head, and nothing of the file read before it, however
 * the sizes go up and down across the buffer's size.
 */
import { mkdtempSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localMounts, readProc, samplingCost, SystemSampler, type SourceCost } from '../dist/src/engine/system.js';
import { seeded as random } from './fixtures/seeded.mjs';

const dir = mkdtempSync(join(tmpdir(), 'perfwatch-proc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readProc', () => {
  it('reads whole files and heads exactly, as files grow past the buffer and shrink again (many seeds)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rnd = random(seed);
      for (let i = 0; i < 8; i++) {
        // Sizes from empty to ~200 KB (the buffer starts at 16 KB), latin1 text.
        const size = Math.floor(rnd() ** 3 * 200_000);
        const text = Array.from({ length: size }, () => String.fromCharCode(32 + Math.floor(rnd() * 200))).join('');
        const path = join(dir, `f${seed}-${i}`);
        writeFileSync(path, text, 'latin1');
        expect(readProc(path) === text, `seed ${seed}, file ${i}: ${size} bytes whole`).toBe(true);
        const head = 1 + Math.floor(rnd() * 40_000);
        expect(readProc(path, head) === text.slice(0, head), `seed ${seed}, file ${i}: head ${head} of ${size}`).toBe(true);
      }
    }
  });

  it('reads /proc files as readFileSync does', () => {
    if (process.platform !== 'linux') return;
    for (const path of ['/proc/cpuinfo', '/proc/self/cmdline', '/proc/version']) {
      expect(readProc(path)).toBe(readFileSync(path, 'latin1'));
    }
    expect(readProc('/proc/stat', 4096).split('\n')[0]).toMatch(/^cpu\s+\d+/);
  });
});

describe('localMounts', () => {
  it("finds the local storage in /proc/self/mounts' text: one mount a device (the shortest), escapes read, pseudo, in-memory, remote and empty filesystems left out", () => {
    const text = [
      'proc /proc proc rw,relatime 0 0',
      'tmpfs /dev/shm tmpfs rw 0 0',
      'overlay / overlay rw,lowerdir=/x 0 0',
      '/dev/vda1 /etc/hosts ext4 rw 0 0',
      '/dev/vda1 /data ext4 rw 0 0',
      '/dev/vda1 /etc/resolv.conf ext4 rw 0 0',
      '/dev/vdb /srv/my\\040disk xfs rw 0 0',
      'server:/export /mnt/nfs nfs4 rw 0 0',
      '//host/share /mnt/smb cifs rw 0 0',
      '/dev/loop0 /snap/core squashfs ro 0 0',
      '/dev/vdc /empty ext4 rw 0 0',
      '/dev/vdd /gone ext4 rw 0 0',
      '',
    ].join('\n');
    const statted: string[] = [];
    const statfs = (path: string) => {
      statted.push(path);
      if (path === '/gone') throw new Error('ENOENT');
      return { blocks: path === '/empty' ? 0 : 1000 };
    };
    expect(localMounts(text, statfs)).toEqual(['/data', '/srv/my disk']);
    expect(statted).not.toContain('/mnt/nfs');
    expect(statted).not.toContain('/proc');
  });

  it("reads this machine's own table: the root filesystem's mount among them, on Linux", () => {
    if (process.platform !== 'linux') return;
    const mounts = localMounts(readProc('/proc/self/mounts'), statfsSync);
    expect(mounts.length).toBeGreaterThan(0);
    expect(mounts.length).toBeLessThanOrEqual(64);
  });
});

describe('samplingCost', () => {
  const cost = (source: string, spawnsProcesses: boolean, times: number[], slow = false): SourceCost => ({
    source,
    cadenceMs: slow ? 60_000 : 1000,
    spawnsProcesses,
    slow,
    calls: times.length,
    errors: 0,
    failing: false,
    lastMs: times[times.length - 1]!,
    meanMs: times.reduce((a, b) => a + b, 0) / times.length,
    minMs: Math.min(...times),
  });

  it("prices a pass at each source's quickest call, a slow source at its share, and all calls at their total, leaving out the sources that spawn", () => {
    // A first, cold call of 40 ms and a pass waited 12 ms for a CPU on a busy machine: the
    // mean says 17.4 ms a pass, the quickest 0.2. The search for mounts, once a minute: 6 ms
    // cold, a sixtieth of it a pass.
    const costs = [cost('/proc/stat', false, [40, 0.2, 12, 0.3]), cost('/proc/meminfo', false, [0.1, 0.15]), cost('/proc/self/mounts', false, [6], true), cost('df', true, [30, 25])];
    const { samplingMs, passMs } = samplingCost(costs, 1000 / 60_000);
    expect(passMs).toBeCloseTo(0.4, 10);
    expect(samplingMs).toBeCloseTo(58.75, 10);
  });

  it("keeps each source's quickest call as the sampler reads the system", () => {
    if (process.platform !== 'linux') return;
    const sampler = new SystemSampler({ intervalMs: 1000, slowCadenceMs: 60_000 });
    for (let i = 0; i < 5; i++) sampler.sample(Date.now() + i * 1000);
    const read = sampler.costs().filter((c) => c.calls > 0);
    expect(read.length).toBeGreaterThan(0);
    for (const c of read) {
      expect(c.minMs, c.source).toBeGreaterThan(0);
      expect(c.minMs, c.source).toBeLessThanOrEqual(c.meanMs);
      expect(c.minMs, c.source).toBeLessThanOrEqual(c.lastMs);
    }
  });
});
