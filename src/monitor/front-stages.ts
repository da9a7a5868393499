/**
 * A front's modules loaded in steps, one turn of the event loop each, before the front itself
 * is required (fronts.ts), and the time each step held the host's main thread.
 *
 * require() of the MCP front loaded the SDK, its zod schemas, its JSON Schema validator,
 * @hono/node-server and Node's fetch globals, then perfwatch's tools, in one synchronous
 * call: 190-250 ms on a 2-core machine, up to 470 ms loaded, during which the host's own
 * requests and timers waited, and which the runtime sampler then recorded as the service's
 * event_loop_lag. Most of that time is V8 compiling and running the modules, which no loader
 * avoids; what can be avoided is running it all at once. Each step below requires a part of
 * the front's module graph (a public entry of a package, or one of our modules), and the next
 * waits for setImmediate, so the host's callbacks run between the parts and the longest hold
 * is the largest part's (the SDK's own entry, which is one bundle) instead of their sum.
 *
 * A step only warms Node's module cache: the front's require() that follows finds its parts
 * loaded. A step that fails (EMFILE, a package laid out differently in another SDK version, a
 * host with require() of ES modules turned off) is passed over: require() keeps nothing of a
 * failed load, so the front's own require() loads that part again and is the one whose error
 * the caller gets (fronts.ts), as before the steps.
 *
 * Every step's time, and the front's synchronous start, is the monitor's own work on the
 * host's main thread (`own`): counted in status().overhead (frontsMs) and left out of
 * event_loop_lag and event_loop_utilization (runtime.ts, ownWork()).
 */
import { closeSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { monoNow, setImmediate } from '../engine/real-timers.js';

const require = createRequire(import.meta.url);

/** One part of a front's module graph, in the order its importers need it. */
type Step = () => unknown;

/** Node's fetch globals (undici), which Node loads at their first use: @hono/node-server's. */
const fetchGlobals: Step = () => globalThis.Response;

/**
 * A package's ES module entry, as the front's `import` statements resolve it: require() of
 * the bare name would resolve its "require" condition, the CommonJS build, a second copy
 * that the front never uses.
 */
const esm = (specifier: string): Step => () => require(fileURLToPath(import.meta.resolve(specifier)));

/**
 * The SDK's core (the protocol's zod schemas), which the SDK imports and does not re-export:
 * loaded from here only when it is the copy the SDK resolves (the same package directory),
 * not a copy of another version that the SDK would never use.
 */
const sdkCore: Step = () => {
  const ours = fileURLToPath(import.meta.resolve('@modelcontextprotocol/core/internal'));
  const sdks = createRequire(require.resolve('@modelcontextprotocol/server')).resolve('@modelcontextprotocol/core/internal');
  const dir = (file: string) => file.replaceAll('\\', '/').replace(/\/@modelcontextprotocol\/core\/.*$/, '');
  if (dir(ours) === dir(sdks)) require(ours);
};

/**
 * What serveMcp() loads, in the order its importers need it: Node's fetch globals, the SDK's
 * JSON Schema validator (its shims import it), its core, its entry, its Node transport, then
 * perfwatch's tools, their largest modules apart. Each step took 0.2-35 ms on a 2-core machine.
 */
const MCP_STEPS: Step[] = [
  fetchGlobals,
  esm('@modelcontextprotocol/server/_shims'),
  sdkCore,
  esm('@modelcontextprotocol/server'),
  esm('@modelcontextprotocol/node'),
  () => require('../mcp/validate.js'),
  () => require('../mcp/format.js'),
  () => require('../mcp/status-answer.js'),
  () => require('../mcp/report-answer.js'),
  () => require('../mcp/alerts-answer.js'),
  () => require('../mcp/tools/index.js'),
  () => require('../mcp/server.js'),
  () => require('../mcp/http.js'),
];

/** What serveHttp() loads: the MCP endpoint's parts, then the JSON API's. */
const HTTP_STEPS: Step[] = [...MCP_STEPS, () => require('../http/api.js'), () => require('../http/events.js')];

/** The steps of a front, by the name fronts.ts gives it. */
export const FRONT_STEPS: Record<'MCP' | 'HTTP', readonly Step[]> = { MCP: MCP_STEPS, HTTP: HTTP_STEPS };

/** The module cache is warm once a front has loaded: later calls skip the steps and their turns. */
const loaded = new Set<string>();

/** Runs `fn` and tells `own` how long it held the thread; its result or its error as they are. */
export function timedOwn<T>(own: (ms: number) => void, fn: () => T): T {
  const from = monoNow();
  try {
    return fn();
  } finally {
    own(monoNow() - from);
  }
}

/**
 * Whether this process can open a file now. A step's resolution that meets EMFILE takes the
 * package.json it could not read for none, and Node keeps that: the package was "not found"
 * for every later load, descriptors free or not. A step runs only with a descriptor free: it
 * reads its files one at a time, and nothing else on this thread can take that one meanwhile.
 */
function descriptorFree(file: string): boolean {
  try {
    closeSync(openSync(file, 'r'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads `front`'s steps, one a turn of the event loop, each timed as the monitor's own; no
 * step's failure is thrown. Without a file descriptor (`entry`, the front's file, cannot be
 * opened) the steps stop, and the front's require() meets the lack itself.
 */
export async function loadInSteps(front: 'MCP' | 'HTTP', entry: string, own: (ms: number) => void): Promise<void> {
  if (loaded.has(front)) return;
  for (const step of FRONT_STEPS[front]) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!descriptorFree(entry)) return;
    try {
      timedOwn(own, step);
    } catch (error) {
      // Without require() of ES modules no later step can load either: the front's import() does it all.
      if ((error as NodeJS.ErrnoException).code === 'ERR_REQUIRE_ESM') return;
    }
  }
}

/** Marks `front` loaded (its require() succeeded): its steps have nothing left to do. */
export function markLoaded(front: 'MCP' | 'HTTP'): void {
  loaded.add(front);
}
