// What loads before a service records anything (docs/benchmarks.md, "Startup"): the CLI's
// help and usage errors load no monitor, zod or MCP SDK; `import 'perfwatch'` and a
// monitor's start() on Linux load neither systeminformation (every reading there is a /proc
// file's) nor piscina, which the first report loads. Each is a module's load or not, seen by
// a load hook in a child process, not a time.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI } from './mcp-helpers.js';

const run = promisify(execFile);
const HOOK = new URL('./fixtures/load-log.mjs', import.meta.url).pathname;
const INDEX = new URL('../dist/src/index.js', import.meta.url).href;

/** The modules `node --import HOOK ...args` loaded, as URLs: its main thread's, and its threads' where they inherit the preload. */
async function loads(args: string[], allowFail = false): Promise<string[]> {
  const file = join(mkdtempSync(join(tmpdir(), 'pw-loads-')), 'loads.txt');
  await run(process.execPath, ['--import', HOOK, ...args], { env: { ...process.env, LOAD_LOG: file }, timeout: 60_000 }).catch((error: unknown) => {
    if (!allowFail) throw error;
  });
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The packages a built file loads when it is imported, through the static imports of it and
 * of our files it loads (tsc leaves type-only imports out; a dynamic import() loads later).
 */
function packagesLoaded(entry: string): Map<string, string> {
  const by = new Map<string, string>();
  const files = new Set<string>();
  const stack = [resolve(ROOT, entry)];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) {
        const next = resolve(dirname(file), spec);
        if (existsSync(next)) stack.push(next);
      } else if (!spec.startsWith('node:')) {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        if (!by.has(name)) by.set(name, relative(ROOT, file));
      }
    }
  }
  return by;
}

const has = (urls: string[], part: string): boolean => urls.some((u) => u.includes(part));

describe('what loads at startup', () => {
  it("perfwatch --help, a command's --help and a usage error load no monitor, no zod and no MCP SDK", async () => {
    for (const args of [['--help'], ['profile', '--help'], ['serve', '--interval']]) {
      const urls = await loads([CLI, ...args], true);
      expect(has(urls, '/dist/src/cli/commands.js'), args.join(' ')).toBe(true);
      for (const heavy of ['/node_modules/zod/', '/node_modules/@modelcontextprotocol/', '/dist/src/monitor/monitor.js']) expect(has(urls, heavy), `${args.join(' ')}: ${heavy}`).toBe(false);
    }
  });

  it("a monitor's start() loads neither systeminformation nor piscina; its first report loads piscina", async () => {
    const script = `const { PerformanceMonitor } = await import(${JSON.stringify(INDEX)});
const m = new PerformanceMonitor({ storage: 'memory', threadPreloads: 'inherit' });
await m.start();
m.record('startup_rt', 1);
await m.flush();
if (process.argv[1] === 'report') await m.generateReport();
await m.stop();`;
    const started = await loads(['--input-type=module', '-e', script, 'start']);
    // The hook sees the packages a start loads (zod, by the options schema) and the collector's
    // thread (threadPreloads 'inherit' runs it there too): what it misses is not there.
    expect(has(started, '/node_modules/zod/')).toBe(true);
    expect(has(started, '/dist/workers/collector.js')).toBe(true);
    if (process.platform === 'linux') expect(has(started, '/node_modules/systeminformation/')).toBe(false);
    expect(has(started, '/node_modules/piscina/')).toBe(false);
    const reported = await loads(['--input-type=module', '-e', script, 'report']);
    expect(has(reported, '/node_modules/piscina/')).toBe(true);
  });

  // Every start of a monitor starts these threads, and each pays for what it loads: the schema
  // library (zod, with its locales: ~120 ms of CPU a thread on this machine) belongs where input
  // arrives, the host's thread, not in actors that are handed it parsed.
  it("the actors' threads started at every start load no schema library", () => {
    for (const shell of ['dist/workers/alerts.js', 'dist/workers/collector.js', 'dist/workers/watchdog.js', 'dist/workers/storage.js']) {
      const loaded = packagesLoaded(shell);
      expect(loaded.has('zod') ? `${shell} loads zod (from ${loaded.get('zod')})` : `${shell} loads no zod`).toBe(`${shell} loads no zod`);
    }
    // The walk sees packages at all: the host's entry loads zod for its options.
    expect(packagesLoaded('dist/src/index.js').has('zod')).toBe(true);
  });
});
