import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
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
      expect(capture.file).toMatch(new RegExp(`^${root}/perfwatch-profiles-${process.pid}-[0-9a-f]{8}/perfwatch-[^/]+\\.cpuprofile$`));
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
    // One at an exited process's name, leading to a file named as ours: not followed to remove it.
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, OURS_NAME), '{}');
    symlinkSync(elsewhere, join(root, `perfwatch-profiles-${await exitedPid()}`));
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
    await m.start();
    // Its name is listed in the temporary directory once made: a link made there after a cleaner removed it.
    const own = m.status().profiling.dir;
    expect(own).toMatch(new RegExp(`^${root}/perfwatch-profiles-${process.pid}-[0-9a-f]{8}$`));
    symlinkSync(chosen, own);
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

  it("gives each monitor of a process a directory of its own, whose bounds prune its own files only, and removes a dead process's directory whose pid this process reuses", async () => {
    // One directory a process: two monitors' maxFiles counted and pruned each other's files,
    // and a profile path one had just answered no longer existed once the other wrote one.
    const root = mkdtempSync(join(tmpdir(), 'pw-profile-tmp-'));
    roots.push(root);
    process.env.TMPDIR = root;
    // A dead process's directory named with this process's pid (a pid reused, a container's
    // pid 1 every run), last written before this process started; and one of another copy of
    // perfwatch in this process (an older release names its directory so), written since.
    const stale = join(root, `perfwatch-profiles-${process.pid}`);
    mkdirSync(stale);
    writeFileSync(join(stale, OURS_NAME), '{}');
    const before = (Date.now() - process.uptime() * 1000 - 60_000) / 1000;
    utimesSync(stale, before, before);
    const copy = join(root, `perfwatch-profiles-${process.pid}-0123abcd`);
    mkdirSync(copy);
    writeFileSync(join(copy, OURS_NAME), '{}');
    const a = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, profiling: { maxFiles: 1 } });
    const b = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, profiling: { maxFiles: 1 } });
    await a.start();
    await b.start();
    let kept = '';
    try {
      expect(a.status().profiling.dir).not.toBe(b.status().profiling.dir);
      const first = await a.profile({ kind: 'cpu', seconds: 1 });
      const second = await b.profile({ kind: 'cpu', seconds: 1 });
      expect(existsSync(first.file!)).toBe(true);
      expect(existsSync(second.file!)).toBe(true);
      expect((await a.getProfile(first.id))?.file).toBe(first.file);
      expect(a.status().profiling.files.count).toBe(1);
      expect(b.status().profiling.files.count).toBe(1);
      // Each keeps maxFiles of its own: a's next prunes a's first, not b's.
      const third = await a.profile({ kind: 'cpu', seconds: 1 });
      expect(existsSync(third.file!)).toBe(true);
      expect(existsSync(first.file!)).toBe(false);
      expect(existsSync(second.file!)).toBe(true);
      expect(existsSync(stale)).toBe(false);
      expect(readdirSync(copy)).toEqual([OURS_NAME]);
      kept = second.file!;
    } finally {
      await a.stop();
      await b.stop();
    }
    // Stopped, a monitor's profiles stay where it named them (a stopped monitor's data stays readable).
    expect(existsSync(kept)).toBe(true);
  });
});
