import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import type * as Perfwatch from '../dist/src/index.js';

const run = promisify(execFile);
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const repo = new URL('../', import.meta.url);
const entry = fileURLToPath(new URL('dist/src/index.js', repo));

/** Runs a script with node in `cwd`; its exit code, stdout and stderr (a hang guard of 60 s). */
async function node(script: string, cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [script], { cwd, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A service's script that starts a monitor, records and stops, saying how start() went. */
const SERVICE = (from: string): string => `
import { PerformanceMonitor } from ${JSON.stringify(from)};
const m = new PerformanceMonitor({ storage: 'memory' });
try {
  await m.start();
  m.metric('x').record(1);
  await m.flush();
  console.log('recorded', m.getMetrics({ names: ['x'] })[0].totalCount);
  await m.stop();
} catch (e) {
  console.log('start failed:', e.code, e.message);
}
`;

describe('perfwatch bundled into a service', () => {
  const root = mkdtempSync(join(tmpdir(), 'perfwatch bundle '));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** Bundles `source` (an ES module in `dir`) with esbuild for node, as a service's build does. */
  async function bundle(dir: string, source: string, options: { format: 'esm' | 'cjs'; external?: string[] }): Promise<string> {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'service.mjs'), source);
    const outfile = join(dir, 'out', options.format === 'esm' ? 'service.mjs' : 'service.cjs');
    await build({
      entryPoints: [join(dir, 'service.mjs')],
      bundle: true,
      platform: 'node',
      format: options.format,
      outfile,
      external: options.external ?? [],
      logLevel: 'silent',
      // The usual banner of an ES module bundle: the CommonJS dependencies folded in call require().
      ...(options.format === 'esm' ? { banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" } } : {}),
    });
    return outfile;
  }

  it('fails start() of an ES module bundle at once, naming the missing worker file and what to do', async () => {
    const dir = join(root, 'esm');
    const out = await bundle(dir, SERVICE(entry), { format: 'esm' });
    const { code, stdout, stderr } = await node(out, dir);
    expect(code).toBe(0);
    // The bundle is root/esm/out/service.mjs: the code's ../../workers is root/workers.
    expect(stdout).toContain(`start failed: PW_ERR_ACTOR watchdog: its worker file ${join(root, 'workers', 'watchdog.js')} is missing`);
    expect(stdout).toContain('esbuild --external:perfwatch');
    // Before any thread was made: no watchdog died on the way, so no fault was warned.
    expect(stderr).not.toContain('PERFWATCH_FAULT');
  });

  it('answers serveHttp(), serveMcp() and generateReport() of an ES module bundle with the missing file and what to do', async () => {
    const dir = join(root, 'esm-fronts');
    const out = await bundle(
      dir,
      `
import { PerformanceMonitor } from ${JSON.stringify(entry)};
const m = new PerformanceMonitor({ storage: 'memory' });
for (const call of [() => m.serveHttp({ port: 0 }), () => m.serveMcp({ port: 0 }), () => m.generateReport({ format: 'markdown' })]) {
  await call().then(() => console.log('served'), (e) => console.log(e.message));
}
`,
      { format: 'esm' },
    );
    const { stdout } = await node(out, dir);
    const lines = stdout.trim().split('\n');
    // The bundle is root/esm-fronts/out/service.mjs: the code's ../http is root/esm-fronts/http, ../../workers root/workers.
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`^serveHttp: the HTTP front's file ${escape(join(dir, 'http', 'index.js'))} is missing: .*esbuild --external:perfwatch`));
    expect(lines[1]).toMatch(new RegExp(`^serveMcp: the MCP front's file ${escape(join(dir, 'mcp', 'index.js'))} is missing: .*esbuild --external:perfwatch`));
    expect(lines[2]).toMatch(new RegExp(`^the report task failed: the report thread's file ${escape(join(root, 'workers', 'reports-entry.cjs'))} is missing: .*esbuild --external:perfwatch`));
  });

  it('fails serveHttp() and serveMcp() of an ES module bundle with an ActorError (PW_ERR_ACTOR), as start() fails', async () => {
    // The fronts' error was a plain Error with no code: a host that branches on err.code, as
    // start()'s ActorError invites, could not tell it.
    const dir = join(root, 'esm-front-codes');
    const out = await bundle(
      dir,
      `
import { PerformanceMonitor, ActorError } from ${JSON.stringify(entry)};
const m = new PerformanceMonitor({ storage: 'memory' });
for (const call of [() => m.serveHttp({ port: 0 }), () => m.serveMcp({ port: 0 })]) {
  await call().then(() => console.log('served'), (e) => console.log(JSON.stringify({ name: e.name, code: e.code, actor: e.actor, isActorError: e instanceof ActorError })));
}
`,
      { format: 'esm' },
    );
    const { stdout } = await node(out, dir);
    expect(stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { name: 'ActorError', code: 'PW_ERR_ACTOR', actor: 'serveHttp', isActorError: true },
      { name: 'ActorError', code: 'PW_ERR_ACTOR', actor: 'serveMcp', isActorError: true },
    ]);
  });

  it("runs none of the service's files where its own should be, beside an ES module bundle, and says so with the documented error", async () => {
    // A trial: the service's http/index.js beside its bundle's folder was run by serveHttp(),
    // which then failed with "front.serveMonitorHttp is not a function". Every file perfwatch
    // would load or start from the bundle has a decoy of the service's here.
    const base = join(root, 'decoy');
    const dir = join(base, 'service');
    const ran = join(base, 'ran.txt');
    const decoy = (name: string): string => `process.getBuiltinModule('node:fs').appendFileSync(${JSON.stringify(ran)}, ${JSON.stringify(`${name}\n`)});\n`;
    mkdirSync(join(dir, 'http'), { recursive: true });
    mkdirSync(join(dir, 'mcp'), { recursive: true });
    mkdirSync(join(base, 'workers'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'service', type: 'module' }));
    writeFileSync(join(dir, 'http', 'index.js'), decoy('http/index.js'));
    writeFileSync(join(dir, 'mcp', 'index.js'), decoy('mcp/index.js'));
    for (const name of ['watchdog.js', 'collector.js', 'storage.js', 'alerts.js', 'exporter.js', 'exposition.js', 'reports.js', 'reports-entry.cjs']) {
      writeFileSync(join(base, 'workers', name), decoy(`workers/${name}`));
    }
    const out = await bundle(
      dir,
      `
import { PerformanceMonitor } from ${JSON.stringify(entry)};
const m = new PerformanceMonitor({ storage: 'memory' });
for (const call of [() => m.serveHttp({ port: 0 }), () => m.serveMcp({ port: 0 }), () => m.start(), () => m.generateReport({ format: 'markdown' })]) {
  await call().then(() => console.log('{"served":true}'), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })));
}
`,
      { format: 'esm' },
    );
    const { code, stdout, stderr } = await node(out, dir);
    expect(code).toBe(0);
    expect(existsSync(ran) ? readFileSync(ran, 'utf8') : '').toBe('');
    const answers = stdout.trim().split('\n').map((l) => JSON.parse(l) as { code: string; message: string });
    const not = (file: string): RegExp => new RegExp(`${escape(file)} is not perfwatch's own file and was not loaded \\(.*"service".*\\): .*esbuild --external:perfwatch`);
    expect(answers.map((a) => a.code)).toEqual(['PW_ERR_ACTOR', 'PW_ERR_ACTOR', 'PW_ERR_ACTOR', 'PW_ERR_REPORT']);
    expect(answers[0]?.message).toMatch(new RegExp(`^serveHttp: the HTTP front's file ${not(join(dir, 'http', 'index.js')).source}`));
    expect(answers[1]?.message).toMatch(new RegExp(`^serveMcp: the MCP front's file ${not(join(dir, 'mcp', 'index.js')).source}`));
    expect(answers[2]?.message).toMatch(new RegExp(`^watchdog: its worker file ${not(join(base, 'workers', 'watchdog.js')).source}`));
    expect(answers[3]?.message).toMatch(new RegExp(`the report thread's file ${not(join(base, 'workers', 'reports-entry.cjs')).source}`));
    expect(stderr).not.toContain('PERFWATCH_FAULT');
  });

  it("fails a CommonJS bundle's require at once, saying why and what to do", async () => {
    const dir = join(root, 'cjs');
    const out = await bundle(dir, `const { PerformanceMonitor } = require(${JSON.stringify(entry)}); console.log(typeof PerformanceMonitor);`, { format: 'cjs' });
    const { code, stdout, stderr } = await node(out, dir);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('ActorError: watchdog: perfwatch cannot find its worker files from a CommonJS bundle (import.meta.url is empty there)');
    expect(stderr).toContain('esbuild --external:perfwatch');
    expect(stderr).not.toContain('ERR_INVALID_ARG_VALUE');
  });

  it('runs from a bundle that marks perfwatch external, as the error says', async () => {
    const dir = join(root, 'external');
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    symlinkSync(fileURLToPath(repo), join(dir, 'node_modules', 'perfwatch'), 'dir');
    const out = await bundle(dir, SERVICE('perfwatch'), { format: 'esm', external: ['perfwatch'] });
    const { stdout } = await node(out, dir);
    expect(stdout.trim()).toBe('recorded 1');
  });
});

/**
 * perfwatch's code away from its worker files, as a bundler leaves it: the compiled src/
 * alone, with the package's dependencies reachable, and no dist/workers beside it.
 */
function movedCopy(): string {
  const root = mkdtempSync(join(tmpdir(), 'perfwatch moved '));
  cpSync(new URL('dist/src', repo), join(root, 'dist', 'src'), { recursive: true, filter: (from) => !from.endsWith('.d.ts') });
  writeFileSync(join(root, 'package.json'), readFileSync(new URL('package.json', repo)));
  symlinkSync(new URL('node_modules', repo), join(root, 'node_modules'), 'dir');
  return root;
}

describe('perfwatch moved away from its worker files', () => {
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

/**
 * perfwatch's package as a private registry holds it: published under a scope (GitHub
 * Packages takes scoped names alone), so its package.json names it "@acme/perfwatch".
 */
function renamedCopy(): string {
  const root = mkdtempSync(join(tmpdir(), 'perfwatch renamed '));
  const dir = join(root, 'node_modules', '@acme', 'perfwatch');
  for (const part of ['dist/src', 'dist/workers']) cpSync(new URL(part, repo), join(dir, part), { recursive: true, filter: (from) => !from.endsWith('.d.ts') });
  const pkg = JSON.parse(readFileSync(new URL('package.json', repo), 'utf8')) as { name: string };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, name: '@acme/perfwatch' }));
  symlinkSync(new URL('node_modules', repo), join(dir, 'node_modules'), 'dir');
  return dir;
}

describe('perfwatch published under another name', () => {
  const dir = renamedCopy();
  afterAll(() => rmSync(join(dir, '..', '..', '..'), { recursive: true, force: true }));

  it('starts its threads, its fronts and its report thread from its own files, whatever its package is named', async () => {
    // A trial: a copy named "@acme/perfwatch" refused every file of its own, each call failing
    // with "… is not perfwatch's own file …: mark it external (esbuild --external:perfwatch …)".
    const { PerformanceMonitor } = (await import(pathToFileURL(join(dir, 'dist', 'src', 'index.js')).href)) as typeof Perfwatch;
    const m = new PerformanceMonitor({ storage: 'memory' });
    try {
      await m.start();
      m.metric('x').record(1);
      await m.flush();
      expect(m.getMetrics({ names: ['x'] })[0]?.totalCount).toBe(1);
      const server = await m.serveMcp({ port: 0 });
      await server.close();
      const report = await m.generateReport({ format: 'markdown' });
      expect(report).toContain('# Performance report');
      expect(m.status().faults.total).toBe(0);
    } finally {
      await m.close();
    }
  });
});
