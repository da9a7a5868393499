import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = new URL('../', import.meta.url);
/** Where the stand-in resolver finds every package: this checkout's node_modules. */
const anchor = new URL('package.json', repo);

/**
 * Yarn Plug'n'Play as a service meets it, without Yarn: no node_modules anywhere above the
 * service or perfwatch, and every package found only by PnP's runtime, which Yarn gives as
 * NODE_OPTIONS preloads: `.pnp.cjs` (require()'s resolver; it sets process.versions.pnp) and
 * `.pnp.loader.mjs` (the ES module loader's resolve hook). These two resolve a bare name that
 * Node cannot from this checkout's node_modules instead of Yarn's zip cache.
 */
const PNP_CJS = `
const Module = require('node:module');
const from = Module.createRequire(${JSON.stringify(anchor.href)});
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, isMain, options) {
  try {
    return resolve.call(this, request, parent, isMain, options);
  } catch (error) {
    if (/^(\\.|\\/|node:)/.test(request)) throw error;
    return from.resolve(request);
  }
};
process.versions.pnp = '3';
`;

const PNP_LOADER = `
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (/^(\\.|\\/|node:|file:)/.test(specifier)) throw error;
    return next(specifier, { ...context, parentURL: ${JSON.stringify(anchor.href)} });
  }
}
`;

/** The service: a monitor with the defaults but memory storage, its threads, a report and both fronts; what each did, as one JSON line. */
const SERVICE = `
import { PerformanceMonitor } from './perfwatch/dist/src/index.js';
const out = {};
const m = new PerformanceMonitor({ storage: 'memory' });
try {
  await m.start();
  m.metric('x').record(1);
  await m.flush();
  out.recorded = m.getMetrics({ names: ['x'] })[0]?.totalCount ?? 0;
  out.report = (await m.generateReport({ format: 'markdown' })).split('\\n')[0];
} catch (e) {
  out.startError = e.message;
}
try {
  const s = await m.serveHttp({ port: 0 });
  out.metrics = (await fetch(s.url + 'metrics')).status;
  await s.close();
} catch (e) {
  out.httpError = e.message;
}
try {
  const s = await m.serveMcp({ port: 0 });
  out.mcp = s.url.endsWith('/mcp');
  await s.close();
} catch (e) {
  out.mcpError = e.message;
}
out.faults = Object.keys(m.status().faults.byKind);
await m.close();
console.log(JSON.stringify(out));
`;

interface Outcome {
  recorded?: number;
  report?: string;
  startError?: string;
  metrics?: number;
  httpError?: string;
  mcp?: boolean;
  mcpError?: string;
  faults: string[];
}

describe("a service installed by Yarn Plug'n'Play (no node_modules: packages found by its preloads)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'perfwatch-pnp-'));
  let outcome: Outcome;
  let stderr = '';

  beforeAll(async () => {
    for (const part of ['dist/src', 'dist/workers', 'dashboard']) cpSync(new URL(part, repo), join(dir, 'perfwatch', part), { recursive: true, filter: (from) => !from.endsWith('.d.ts') && !from.endsWith('.map') });
    writeFileSync(join(dir, 'perfwatch', 'package.json'), readFileSync(new URL('package.json', repo)));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'service', type: 'module' }));
    writeFileSync(join(dir, '.pnp.cjs'), PNP_CJS);
    writeFileSync(join(dir, '.pnp.loader.mjs'), PNP_LOADER);
    writeFileSync(join(dir, 'service.mjs'), SERVICE);
    // As \`yarn node service.mjs\` runs it.
    const NODE_OPTIONS = `--require ${join(dir, '.pnp.cjs')} --experimental-loader ${pathToFileURL(join(dir, '.pnp.loader.mjs')).href}`;
    const stdout = await new Promise<string>((resolve) => {
      execFile(process.execPath, ['service.mjs'], { cwd: dir, timeout: 60_000, killSignal: 'SIGKILL', env: { ...process.env, NODE_OPTIONS } }, (_error, out, err) => {
        stderr = err;
        resolve(out);
      });
    });
    outcome = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Outcome;
  }, 90_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("starts its threads and runs a report with the default threadPreloads: 'skip' keeps PnP's runtime, the resolver every thread needs", () => {
    // A trial: skip left .pnp.cjs out of our threads, each died at its first import
    // (MODULE_NOT_FOUND, three watchdogs in a row) and start() failed.
    expect(outcome.startError, stderr).toBeUndefined();
    expect(outcome.recorded).toBe(1);
    expect(outcome.report).toBe('# Performance report');
  });

  it('serves its HTTP and MCP fronts, whose modules the loader alone finds', () => {
    // A trial: require() of the fronts' ES modules, which runs no loader hook, failed at their
    // first bare import (`Cannot find package 'jsonc-parser'`), a fault of kind fronts.
    expect(outcome.httpError, stderr).toBeUndefined();
    expect(outcome.mcpError).toBeUndefined();
    expect(outcome.metrics).toBe(200);
    expect(outcome.mcp).toBe(true);
    expect(outcome.faults).toEqual([]);
  });
});
