import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';

/**
 * A monitor without a dataDir of its own keeps its profiles in a directory of its process
 * under the system's temporary directory (docs/profiling.md). A process that exits leaves
 * it; the first profile of the next removes those of exited processes, ours only.
 */
const roots: string[] = [];
const savedTmp = process.env.TMPDIR;
afterEach(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
});

/** A pid no process has now: a child's, once it has exited. */
async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

const OURS_NAME = 'perfwatch-20261201T101010.000Z-1-1.cpuprofile';

describe('profile directories under the temporary directory', () => {
  it("the first profile a process keeps there removes what exited processes left, and nothing else", async () => {
    const root = mkdtempSync(join(tmpdir(), 'pw-profile-tmp-'));
    roots.push(root);
    process.env.TMPDIR = root;
    const dead = join(root, `perfwatch-profiles-${await exitedPid()}`);
    mkdirSync(dead);
    writeFileSync(join(dead, OURS_NAME), '{}');
    // A directory of an exited process holding something not ours: our file goes, the rest stays.
    const shared = join(root, `perfwatch-profiles-${await exitedPid()}`);
    mkdirSync(shared);
    writeFileSync(join(shared, OURS_NAME), '{}');
    writeFileSync(join(shared, 'notes.txt'), 'mine');
    // A live process's (this test's parent): untouched.
    const live = join(root, `perfwatch-profiles-${process.ppid}`);
    mkdirSync(live);
    writeFileSync(join(live, OURS_NAME), '{}');
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
    await m.start();
    try {
      const capture = await m.profile({ kind: 'cpu', seconds: 1 });
      expect(capture.file).toBe(join(root, `perfwatch-profiles-${process.pid}`, capture.file!.split('/').pop()!));
      expect(existsSync(capture.file!)).toBe(true);
      expect(existsSync(dead)).toBe(false);
      expect(readdirSync(shared)).toEqual(['notes.txt']);
      expect(readdirSync(live)).toEqual([OURS_NAME]);
    } finally {
      await m.stop();
    }
  });
});
