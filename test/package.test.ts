/**
 * The package as npm publishes it: what `npm pack` puts in it, and what package.json says
 * about where it runs. The files are listed by `npm pack --dry-run --ignore-scripts` over the
 * build the test run made (no second build), and read from this tree.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
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
