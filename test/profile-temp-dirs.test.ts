import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
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
  it("writes no profile through a link another user made at its directory's name, which any user of the temporary directory can know, follows no link at an exited process's name, and keeps its own directory to itself", async () => {
    // The name is this process's pid, no secret: a link made there first (to a directory of the
    // maker's choosing) was followed, and every profile of the process written where it chose,
    // to read, or to have us write through links of its own.
    const root = mkdtempSync(join(tmpdir(), 'pw-profile-tmp-'));
    roots.push(root);
    process.env.TMPDIR = root;
    const chosen = join(root, 'chosen');
    mkdirSync(chosen);
    const own = join(root, `perfwatch-profiles-${process.pid}`);
    symlinkSync(chosen, own);
    // One at an exited process's name, leading to a file named as ours: not followed to remove it.
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, OURS_NAME), '{}');
    symlinkSync(elsewhere, join(root, `perfwatch-profiles-${await exitedPid()}`));
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
    await m.start();
    try {
      const linked = await m.profile({ kind: 'cpu', seconds: 1 });
      expect(linked.file).toBeNull();
      expect(linked.fileError).toMatch(new RegExp(`^cannot write ${own}/perfwatch-[^ ]+\\.cpuprofile: ${own} is a symbolic link, not a directory of this process: another user may have made it; no profile is written there: the capture's summary is kept without its file; set profiling\\.dir \\(or TMPDIR, where it goes with no dataDir of its own\\) to a directory this process may write$`));
      expect(readdirSync(chosen)).toEqual([]);
      // Its own directory, once made, no one else may read or write.
      rmSync(own);
      const kept = await m.profile({ kind: 'cpu', seconds: 1 });
      expect(kept.file).toMatch(new RegExp(`^${own}/`));
      expect(statSync(own).mode & 0o777).toBe(0o700);
      expect(readdirSync(elsewhere)).toEqual([OURS_NAME]);
    } finally {
      await m.stop();
    }
  });
});
