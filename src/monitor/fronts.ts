/**
 * The fronts serveMcp() and serveHttp() serve, loaded when first asked for (a service that
 * never serves one never loads it), by require() of their ES modules rather than import().
 *
 * Node keeps a module whose file import() could not read under its URL, with the error, for
 * the life of the process: a serveHttp() that met EMFILE (the host at its limit on file
 * descriptors) failed the same on every later call, long after descriptors were free, and
 * the front never came up. require() reads the files one at a time (import() held some 30
 * open at once, so a host with a few left failed too), and keeps nothing of a load that
 * failed: the next call loads the front again. A failed load is a fault of kind 'fronts'
 * (status().faults) besides the caller's error. require() of an ES module needs Node.js 20.19
 * (package.json's engines); a host that turned it off (`--no-experimental-require-module`)
 * gets the fronts through import() as before, with its caching.
 *
 * A front's load held the host's main thread for its whole module graph, 190-470 ms, and the
 * monitor recorded it as the service's event-loop lag: its parts are now loaded a turn of the
 * event loop each first (front-stages.ts), and every part's time, the front's require() and
 * its synchronous start are the monitor's own work (`own`: status().overhead's frontsMs, left
 * out of event_loop_lag). The import() of a host without require() of ES modules runs over
 * several turns by itself and is not timed.
 *
 * Left: Node 20's require() of an ES module aborts the process when its thread is terminated
 * while Node links the module (workers/reports-entry.cts, where the report pool met it). The
 * fronts load in the thread that holds the monitor, so only a host's worker thread terminated
 * by its parent during a first serveHttp() or serveMcp() meets it.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { missingFile } from '../actors/package-files.js';
import { loadInSteps, markLoaded, timedOwn } from './front-stages.js';
import { ActorError } from '../errors.js';
import type * as HttpFront from '../http/index.js';
import type * as McpFront from '../mcp/index.js';
import type { Faults } from './faults.js';

const require = createRequire(import.meta.url);

export function mcpFront(faults: Faults, own: (ms: number) => void): Promise<typeof McpFront> {
  return load(faults, own, 'MCP', 'serveMcp', new URL('../mcp/index.js', import.meta.url), () => require('../mcp/index.js') as typeof McpFront, () => import('../mcp/index.js'));
}

export function httpFront(faults: Faults, own: (ms: number) => void): Promise<typeof HttpFront> {
  return load(faults, own, 'HTTP', 'serveHttp', new URL('../http/index.js', import.meta.url), () => require('../http/index.js') as typeof HttpFront, () => import('../http/index.js'));
}

/**
 * Loads a front from `file`; one that is not there (a bundled service: actors/package-files.ts)
 * is an error that says what to do, and no fault: an ActorError (PW_ERR_ACTOR), as start()'s
 * for a missing thread file, so that a host that branches on `code` meets one case, not a
 * plain Error with none.
 */
async function load<T>(faults: Faults, own: (ms: number) => void, front: 'MCP' | 'HTTP', call: string, file: URL, read: () => T, imported: () => Promise<T>): Promise<T> {
  const missing = missingFile(file);
  if (missing !== undefined) throw new ActorError(call, `the ${front} front's file ${missing}`);
  try {
    // Under Yarn Plug'n'Play the dependencies are found by its loader's hooks alone, which
    // Node's require() of ES modules does not run: the steps and require() failed on the first
    // bare import (`Cannot find package 'jsonc-parser'`), a trial. import() runs them.
    if (process.versions.pnp !== undefined) return await imported();
    try {
      await loadInSteps(front, fileURLToPath(file), own);
      const loaded = timedOwn(own, read);
      markLoaded(front);
      return loaded;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ERR_REQUIRE_ESM') throw error;
      return await imported();
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    faults.report('fronts', new Error(`the ${front} front could not be loaded (${message}): nothing of it is kept, and the next ${call}() loads it again`));
    throw error;
  }
}
