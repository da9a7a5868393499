/**
 * The package as npm publishes it: what `npm pack` puts in it, and what package.json says
 * about where it runs. The files are listed by `npm pack --dry-run --ignore-scripts` over the
 * build the test run made (no second build), and read from this tree.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string }; type: string; exports: Record<string, unknown> };

/**
 * Whether a range of `^a.b.c` and `>=a.b.c` comparators joined by `||` (the forms
 * package.json's engines uses; a missing minor or patch is 0) admits a version; any other
 * form fails the test rather than be read wrong.
 */
function admits(range: string, version: string): boolean {
  const v = version.split('.').map(Number);
  const atLeast = (min: number[]): boolean => {
    for (let i = 0; i < 3; i++) if (v[i] !== min[i]) return v[i]! > min[i]!;
    return true;
  };
  return range.split('||').some((part) => {
    const m = /^\s*(\^|>=)(\d+)(?:\.(\d+))?(?:\.(\d+))?\s*$/.exec(part);
    if (!m) throw new Error(`engines.node: "${part.trim()}" is no form this test reads (^a.b.c or >=a.b.c)`);
    const min = [Number(m[2]), Number(m[3] ?? 0), Number(m[4] ?? 0)];
    return atLeast(min) && (m[1] === '>=' || v[0] === min[0]);
  });
}

describe('the published package', () => {
  it('holds the sources its source maps name', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    const files = new Set((JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
    const maps = [...files].filter((f) => f.endsWith('.js.map'));
    expect(maps.length).toBeGreaterThan(100);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(ROOT, map), 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const path = normalize(join(dirname(map), source));
        if (!files.has(path)) missing.push(`${map} → ${path}`);
      }
    }
    expect(missing.slice(0, 5), `${missing.length} sources missing`).toEqual([]);
  }, 180_000);

  it('ships the docs its README, error texts and help name, and its LICENSE, without the docs images', async () => {
    // A trial: README.md, the errors (docs/reference.md, "Bundling a service") and `perfwatch mcp
    // --help` named docs/*.md that the package did not hold, and "license": "MIT" had no LICENSE.
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    const files = new Set((JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
    const named = new Set<string>();
    const texts = [readFileSync(join(ROOT, 'README.md'), 'utf8'), ...[...files].filter((f) => f.startsWith('dist/src/') && f.endsWith('.js')).map((f) => readFileSync(join(ROOT, f), 'utf8'))];
    for (const text of texts) for (const m of text.matchAll(/\bdocs\/[a-z-]+\.md\b/g)) named.add(m[0]);
    expect(named.size).toBeGreaterThan(3);
    expect([...named].filter((f) => !files.has(f))).toEqual([]);
    expect(files.has('LICENSE')).toBe(true);
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) 2026 the perfwatch authors\n/);
    expect([...files].filter((f) => f.startsWith('docs/img/'))).toEqual([]);
  }, 180_000);

  it('keeps dist/ of an unpacked tarball when npm install runs its prepare script there (no tsconfig.json: not a checkout)', async () => {
    // A trial: `tar xzf perfwatch-*.tgz && cd package && npm install --omit=dev` ran prepare,
    // whose build deleted dist/ and then failed (no tsc, no tsconfig.json): the package was
    // gone and `npm start` failed with MODULE_NOT_FOUND. npm install runs the same script.
    const dir = mkdtempSync(join(tmpdir(), 'perfwatch unpacked '));
    try {
      const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
      const tarball = (JSON.parse(stdout) as { filename: string }[])[0]!.filename;
      await run('tar', ['xzf', join(dir, tarball)], { cwd: dir, timeout: 60_000 });
      const unpacked = join(dir, 'package');
      expect(existsSync(join(unpacked, 'tsconfig.json'))).toBe(false);
      const prepared = await run('npm', ['run', 'prepare'], { cwd: unpacked, timeout: 120_000 }).then(
        () => 'ok',
        (e: { stdout?: string; stderr?: string }) => `failed: ${e.stdout ?? ''}${e.stderr ?? ''}`,
      );
      expect(prepared).toBe('ok');
      expect(existsSync(join(unpacked, 'dist', 'src', 'cli', 'main.js'))).toBe(true);
      // And it still runs, with the dependencies an install would have put beside it.
      symlinkSync(join(ROOT, 'node_modules'), join(unpacked, 'node_modules'), 'dir');
      const version = await run(process.execPath, [join(unpacked, 'dist', 'src', 'cli', 'main.js'), '--version'], { cwd: unpacked, timeout: 60_000 });
      expect(version.stdout.trim()).toContain((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it("stops the monitor of npm start when npm gets SIGTERM (a container's stop), leaving no orphan on the port and the dataDir", async () => {
    // A trial: npm ran the script through sh -c, which kept node as its child and did not pass
    // npm's SIGTERM on: node ran on with PPID 1, holding the port and the dataDir's lock. The
    // start script, on port 0, in a folder of its own (its dataDir there), run by npm.
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts;
    const dir = mkdtempSync(join(tmpdir(), 'perfwatch npm start '));
    symlinkSync(join(ROOT, 'dist'), join(dir, 'dist'), 'dir');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'start-check', private: true, scripts: { start: scripts.start.replace('--http 9464', '--http 0') } }));
    const npm = spawn('npm', ['start'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
    /** The processes under `pid`, read from /proc. */
    const descendants = (pid: number): number[] => {
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      return children.flatMap((c) => [c, ...(existsSync(`/proc/${c}`) ? descendants(c) : [])]);
    };
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
      } catch {
        return false;
      }
    };
    let under: number[] = [];
    try {
      await expect.poll(() => out, { timeout: 60_000, interval: 100 }).toContain('dashboard at http://127.0.0.1:');
      under = descendants(npm.pid!);
      expect(under.length).toBeGreaterThan(0);
      npm.kill('SIGTERM');
      await exited;
      await expect.poll(() => under.filter(alive), { timeout: 30_000, interval: 100 }).toEqual([]);
      expect(out).toContain('perfwatch: SIGTERM, stopping');
    } finally {
      for (const pid of [npm.pid!, ...under]) if (alive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it("admits no Node.js in engines that cannot require() it: an ES module alone, it needs require(esm) (20.19 on the 20 line, 22.12 on the 22 line)", async () => {
    expect(pkg.type).toBe('module');
    expect(JSON.stringify(pkg.exports)).not.toContain('"require"');
    for (const version of ['20.0.0', '20.18.3', '21.7.3', '22.0.0', '22.11.0']) expect(admits(pkg.engines.node, version), version).toBe(false);
    for (const version of ['20.19.0', '20.20.2', '22.12.0', '23.0.0', '24.1.0']) expect(admits(pkg.engines.node, version), version).toBe(true);
    // And on this Node, which it admits, a CommonJS service's require() loads it.
    expect(admits(pkg.engines.node, process.versions.node)).toBe(true);
    const { stdout } = await run(process.execPath, ['-e', `process.stdout.write(typeof require(${JSON.stringify(ROOT)}).PerformanceMonitor)`], { timeout: 60_000 });
    expect(stdout).toBe('function');
  }, 90_000);
});
