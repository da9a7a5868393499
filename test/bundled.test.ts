import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type * as Perfwatch from '../dist/src/index.js';

/**
 * perfwatch's code away from its worker files, as a bundler (esbuild, webpack) leaves it when
 * it folds perfwatch into a service's one file: the compiled src/ alone, with the package's
 * dependencies reachable, and no dist/workers beside it.
 */
function movedCopy(): string {
  const root = mkdtempSync(join(tmpdir(), 'perfwatch bundled '));
  const repo = new URL('../', import.meta.url);
  cpSync(new URL('dist/src', repo), join(root, 'dist', 'src'), { recursive: true, filter: (from) => !from.endsWith('.d.ts') });
  writeFileSync(join(root, 'package.json'), readFileSync(new URL('package.json', repo)));
  symlinkSync(new URL('node_modules', repo), join(root, 'node_modules'), 'dir');
  return root;
}

describe('perfwatch moved away from its worker files (a bundled service)', () => {
  const root = movedCopy();
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const load = (): Promise<typeof Perfwatch> => import(pathToFileURL(join(root, 'dist', 'src', 'index.js')).href) as Promise<typeof Perfwatch>;

  it.each([['memory'], ['disk']] as const)('fails start() at once with what to do, naming the missing worker file (storage: %s)', async (storage) => {
    const { PerformanceMonitor } = await load();
    const m = new PerformanceMonitor(storage === 'memory' ? { storage: 'memory' } : { dataDir: join(root, 'data') });
    const error = await m.start().then(
      () => undefined,
      (e: unknown) => e as Perfwatch.PerfwatchError,
    );
    expect(error?.code).toBe('PW_ERR_ACTOR');
    expect(error?.message).toContain(`its worker file ${join(root, 'dist', 'workers', 'watchdog.js')} is missing`);
    expect(error?.message).toContain('esbuild --external:perfwatch');
    expect(error?.message).toContain('docs/reference.md');
    expect(m.status().state).toBe('stopped');
    // Nothing was tried: no thread died, so no fault was counted on the way.
    expect(m.status().faults.total).toBe(0);
  });
});
