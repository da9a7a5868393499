import { execFile } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * A first serveHttp() loads the SDK and the HTTP front on the host's main thread. That time is
 * perfwatch's: the monitor recorded it as the service's event_loop_lag (a 190-470 ms stall
 * read as the service's on a 2-core machine), which the report's score and diagnoses then
 * blamed on the service. Here the load is made to hold the thread for a known time (Node's
 * lazy fetch global `Response`, which the front's modules read while they load, busy-waits
 * STALL_MS the first time once armed), so that what is charged where does not depend on how
 * fast this machine loads modules.
 */
const STALL_MS = 3_000;

const CHILD = `
import Module from 'node:module';
import { PerformanceMonitor } from ${JSON.stringify(new URL('../dist/src/index.js', import.meta.url).href)};
const STALL_MS = ${STALL_MS};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fetchGlobal = Object.getOwnPropertyDescriptor(globalThis, 'Response');
let armed = false;
let stalled = false;
Object.defineProperty(globalThis, 'Response', {
  configurable: true,
  enumerable: fetchGlobal.enumerable,
  get() {
    if (armed && !stalled) {
      stalled = true;
      const until = performance.now() + STALL_MS;
      while (performance.now() < until);
    }
    return fetchGlobal.get ? fetchGlobal.get.call(globalThis) : fetchGlobal.value;
  },
  set(value) { fetchGlobal.set?.call(globalThis, value); },
});
const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, overhead: { checkIntervalMs: 100 } });
await m.start();
await sleep(3_000);
// Every window of the overhead governor's checks, once each: frontsMs is per window.
const windows = new Map();
const poll = setInterval(() => {
  const o = m.status().overhead;
  if (o.breakdown && o.lastCheck !== null) windows.set(o.lastCheck, o.breakdown.frontsMs);
}, 10);
// The host's loop turns, counted; and the turn of each require() made while the front loads.
let turn = 0;
let turning = true;
const spin = () => { turn++; if (turning) setImmediate(spin); };
setImmediate(spin);
const requireTurns = new Set();
const load = Module._load;
Module._load = function (...args) {
  if (armed) requireTurns.add(turn);
  return load.apply(this, args);
};
const armedAt = performance.now();
armed = true;
const server = await m.serveHttp({ port: 0 });
armed = false;
Module._load = load;
turning = false;
const status = (await fetch(server.url + 'api/status')).status;
await sleep(2_500);
clearInterval(poll);
const windowSeconds = Math.ceil((performance.now() - armedAt) / 1000);
const [lag, elu] = m.getMetrics({ names: ['event_loop_lag', 'event_loop_utilization'], windowSeconds });
await server.close();
await m.stop();
console.log(JSON.stringify({ stalled, status, lagMax: lag.window.max, lagCount: lag.window.count, eluMax: elu.window.max, frontsMs: [...windows.values()].reduce((a, b) => a + b, 0), requireTurns: requireTurns.size }));
`;

function runChild(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', CHILD], { timeout: 50_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

interface Result {
  stalled: boolean;
  status: number;
  lagMax: number;
  lagCount: number;
  eluMax: number;
  frontsMs: number;
  requireTurns: number;
}

describe('the start of a front', () => {
  let r: Result;
  beforeAll(async () => {
    const out = await runChild();
    expect(out.code, out.stderr).toBe(0);
    r = JSON.parse(out.stdout.trim().split('\n').at(-1)!) as Result;
    // The premise: the known stall ran inside serveHttp()'s load, and the front served.
    expect(r.stalled).toBe(true);
    expect(r.status).toBe(200);
  }, 60_000);

  it("leaves a first serveHttp()'s load out of the service's event_loop_lag and event_loop_utilization, and counts it in status().overhead (frontsMs)", () => {
    // Readings were taken over the load; none holds the stall. Charged to the service, it read
    // as a lag of STALL_MS and more, and as a utilization of at least 0.75: no reading is taken
    // while the thread is held, so the one after it spans the 3 s stall and at most a second
    // besides. The bounds leave a loaded machine's own lateness room: the test's setImmediate
    // spin keeps the loop out of its idle poll while the front loads, and on a machine twice
    // loaded its turns, held off the CPU, read as a utilization of 0.47.
    expect(r.lagCount).toBeGreaterThanOrEqual(3);
    expect(r.lagMax).toBeLessThan(250);
    expect(r.eluMax).toBeLessThan(0.6);
    // The time is the monitor's own: counted where the rest of its main-thread work is.
    expect(r.frontsMs).toBeGreaterThanOrEqual(STALL_MS);
  });

  it("loads a first serveHttp()'s front a part at a time, the host's loop turning between the parts", () => {
    // The whole graph in one require() was one hold of the thread, 190-470 ms: its require()
    // calls (the front's, and those of the CommonJS packages in it) all fell in one turn.
    expect(r.requireTurns).toBeGreaterThanOrEqual(5);
  });
});
