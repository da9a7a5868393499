/**
 * Directories perfwatch makes (a dataDir, a profile directory) on paths whose parent exists but
 * cannot hold them: under /proc, or through a dangling symlink. Node's recursive mkdir spins
 * forever on those (ENOENT taken for a missing parent, made again, EEXIST, again); src/make-dirs.ts
 * answers the error. Each case runs in a child with a timeout, so a spin fails the test instead
 * of hanging it.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CHILD = new URL('./fixtures/make-dirs-child.mjs', import.meta.url).pathname;
const LIMIT_MS = 15_000;

function child(mode: string, path: string): Promise<{ ok: boolean; code?: string; message?: string; fileError?: string | null; summary?: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CHILD, mode, path], { timeout: LIMIT_MS }, (error, stdout) => {
      if (error) reject(new Error(`${mode} ${path}: the child did not answer within ${LIMIT_MS} ms (${error.signal ?? error.message})`));
      else resolve(JSON.parse(stdout));
    });
  });
}

const temp = (): string => mkdtempSync(join(tmpdir(), 'pw-make-dirs-'));
function dangling(): string {
  const parent = temp();
  symlinkSync(join(parent, 'gone'), join(parent, 'link'));
  return join(parent, 'link', 'data');
}

describe('making directories', () => {
  it('makes missing parents, and refuses a path through a file with ENOTDIR', async () => {
    const dir = join(temp(), 'a', 'b', 'c');
    expect(await child('async', dir)).toEqual({ ok: true });
    expect(statSync(dir).isDirectory()).toBe(true);
    const dir2 = join(temp(), 'x', 'y');
    expect(await child('sync', dir2)).toEqual({ ok: true });
    expect(statSync(dir2).isDirectory()).toBe(true);
    const file = join(temp(), 'a-file');
    writeFileSync(file, '');
    expect(await child('async', join(file, 'd'))).toMatchObject({ ok: false, code: 'ENOTDIR' });
    expect(await child('sync', file)).toMatchObject({ ok: false, code: 'ENOTDIR' });
  });

  it.runIf(existsSync('/proc/self'))('answers ENOENT under /proc, async and sync, instead of spinning', async () => {
    expect(await child('async', '/proc/perfwatch-test/data')).toMatchObject({ ok: false, code: 'ENOENT' });
    expect(await child('sync', '/proc/perfwatch-test')).toMatchObject({ ok: false, code: 'ENOENT' });
  });

  it('answers ENOENT through a dangling symlink, async and sync', async () => {
    expect(await child('async', dangling())).toMatchObject({ ok: false, code: 'ENOENT' });
    expect(await child('sync', dangling())).toMatchObject({ ok: false, code: 'ENOENT' });
  });

  it.runIf(existsSync('/proc/self'))("a monitor's start() on a dataDir under /proc or through a dangling symlink fails naming it, not hanging", async () => {
    const proc = await child('storage', '/proc/perfwatch-test/data');
    expect(proc).toMatchObject({ ok: false, code: 'PW_ERR_STORAGE' });
    expect(proc.message).toMatch(/^\/proc\/perfwatch-test\/data: cannot be created \(ENOENT: /);
    const link = dangling();
    const through = await child('storage', link);
    expect(through).toMatchObject({ ok: false, code: 'PW_ERR_STORAGE' });
    expect(through.message).toContain(`${link}: cannot be created (ENOENT: `);
  });

  it.runIf(existsSync('/proc/self'))('a capture whose profile directory is under /proc returns its summary and says why the file is missing', async () => {
    const c = await child('profile', '/proc/perfwatch-test/profiles');
    expect(c).toMatchObject({ ok: false, summary: 'cpu' });
    expect(c.fileError).toMatch(/^cannot write \/proc\/perfwatch-test\/profiles\/perfwatch-.*\.cpuprofile: ENOENT/);
  });
});
