/**
 * bench:instrument: what HTTP instrumentation costs a plain node:http server, perfwatch's
 * instrument() beside a hand-written prom-client middleware and OpenTelemetry's
 * instrumentation-http (metrics through a MeterProvider; no tracer provider, so its spans are
 * not recorded), in the same run.
 *
 * Placement (placement.ts): with util-linux taskset this process, the load generator
 * (autocannon over loopback, keep-alive connections, a few routes with ids), runs on the first
 * CPU and every server with all its threads on the last, so the generator never takes the
 * server's core and the monitor's collector and alert threads compete with the server's main
 * thread, where their cost is real. One server per mode, forked once and warmed up, then
 * rounds of a phase each, in an order rotated per round. Reported per mode: requests per
 * second (median, min–max) and its ratio to the bare server's in the same round (the median
 * of those paired ratios, and the same against the monitor alone), p99, and the server's CPU a
 * request from /proc/<pid>/task/<tid>/schedstat, split into its main thread, the monitor's
 * threads and the runtime's others, with how busy the server's and the generator's CPUs were
 * ("core rps": the rps one core would serve at that CPU a request, the figure that the rest of
 * the machine disturbs least).
 *
 * Then one server switches instrument()'s subscribers on and off every BENCH_SLICE_MS under
 * load, with states between that split their cost (switchPhases below), and the cost of a
 * 10 s CPU capture on the instrument() server, while it runs and after, in pairs of rounds
 * with a capture and without (capture-phases.ts).
 *
 *   BENCH_ROUNDS (12), BENCH_SECONDS (3), BENCH_WARMUP_SECONDS (2), BENCH_CONNECTIONS (32),
 *   BENCH_RATE (requests a second the generator holds to, as a service's traffic rather than
 *   saturation; unset: as many as the server answers),
 *   BENCH_MODES (a comma-separated subset; `none` is always run, as the base of the ratios;
 *   `last` is perfwatch's with one `last` alert rule, run only when named),
 *   BENCH_SWITCH_ROUNDS (12; 0 skips the one-server slices), BENCH_SLICE_MS (50),
 *   BENCH_SWITCH_STATES (a comma-separated subset of the switched states, `record1` among them),
 *   BENCH_PIN (0: pin nothing), BENCH_CAPTURE_ROUNDS (3 pairs of rounds, one with a
 *   capture and one without; 0 skips them), BENCH_CAPTURE_SECONDS (10), BENCH_AFTER_SECONDS
 *   (10: the phases before and after)
 */
import { cpus, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { capturePhases } from './capture-phases.js';
import { forkServer, type RunningServer } from './forked-server.js';
import type { SliceTotals } from './instrument-server.js';
import { median } from './median.js';
import { placeGenerator, splitTimes, threadTimes, type Placement, type ThreadSplit } from './placement.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SWITCH_ROUNDS = Number(process.env.BENCH_SWITCH_ROUNDS ?? 12);
const CAPTURE_PAIRS = Number(process.env.BENCH_CAPTURE_ROUNDS ?? 3);
const CAPTURE_SECONDS = Number(process.env.BENCH_CAPTURE_SECONDS ?? 10);
const AFTER_SECONDS = Number(process.env.BENCH_AFTER_SECONDS ?? 10);
const RATE = process.env.BENCH_RATE ? Number(process.env.BENCH_RATE) : undefined;
const ALL_MODES = ['none', 'monitor', 'perfwatch', 'last', 'prom-client', 'otel'] as const;
type Mode = (typeof ALL_MODES)[number];
const chosen = process.env.BENCH_MODES?.split(',').map((m) => m.trim());
const MODES: readonly Mode[] = chosen ? ALL_MODES.filter((m) => m === 'none' || chosen.includes(m)) : ALL_MODES.filter((m) => m !== 'last');

const PATHS = ['/users/17', '/users/4242', '/orders/9', '/orders/31337', '/health', '/users/8'].map((path) => ({ method: 'GET', path }));

export interface Phase {
  rps: number;
  p99: number;
  errors: number;
  requests: number;
}

/** Forks a server in `mode` and resolves once it listens; pinned to `cpus` when given (see placement.ts). */
export function startServer(mode: string, cpus?: string): Promise<RunningServer> {
  return forkServer(new URL('./instrument-server.js', import.meta.url), [mode], `server (${mode})`, cpus);
}

/** One load phase against a running server: requests per second and p99 (ms) over `seconds`. */
export async function measure(url: string, seconds: number): Promise<Phase> {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: seconds, requests: PATHS, ...(RATE ? { overallRate: RATE } : {}) });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx, requests: r.requests.total };
}

interface Run extends Phase {
  /** CPU of the server's threads a request, µs: all, and by group. */
  cpuPerRequest: number;
  split: ThreadSplit;
  /** The server's CPU over the phase's wall time (1 = one core busy throughout). */
  busy: number;
  /** The same for this process, the load generator. */
  generatorBusy: number;
}

interface Server {
  mode: Mode | 'switch';
  running: RunningServer;
  pid: number;
  monitorTids: Set<number>;
}

async function open(mode: Mode | 'switch'): Promise<Server> {
  const running = await startServer(mode, placement.server);
  const server = { mode, running, pid: running.child.pid!, monitorTids: new Set((await running.call('threads')) as number[]) };
  if (WARMUP > 0) await measure(running.url, WARMUP);
  return server;
}

/** One phase of load on a server, with what its threads and the generator spent. */
async function run(server: Server): Promise<Run> {
  const t0 = threadTimes(server.pid);
  const wall0 = performance.now();
  const own0 = process.cpuUsage();
  const phase = await measure(server.running.url, SECONDS);
  const own = process.cpuUsage(own0);
  const wallUs = (performance.now() - wall0) * 1_000;
  await server.running.call('settle');
  const total = splitTimes(server.pid, server.monitorTids, t0, threadTimes(server.pid));
  const n = Math.max(1, phase.requests);
  const all = total.main + total.monitor + total.runtime;
  return {
    ...phase,
    cpuPerRequest: all / n,
    split: { main: total.main / n, monitor: total.monitor / n, runtime: total.runtime / n },
    busy: all / wallUs,
    generatorBusy: (own.user + own.system) / wallUs,
  };
}

const range = (xs: number[], digits = 0): string => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
const lost = (ratio: number): string => `${ratio.toFixed(3)} (${((1 - ratio) * 100).toFixed(1)}% lost)`;

async function main(): Promise<void> {
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`bench:instrument ${new Date().toISOString()} · Node ${process.version} · ${cpus().length} cores · load ${load}`);
  console.log(`one server per mode, ${WARMUP} s warm-up each, then ${ROUNDS} rounds × ${MODES.length} modes of ${SECONDS} s, ${CONNECTIONS} connections, ${PATHS.length} paths${RATE ? `, held to ${RATE} requests a second` : ''}`);
  console.log(placement.unpinned ? `not pinned (${placement.unpinned}): the generator and the server share the CPUs` : `load generator pinned to CPU ${placement.generator}, each server (all its threads) to CPU ${placement.server}`);
  const results = new Map<Mode, Run[]>(MODES.map((m) => [m, []]));
  const servers = new Map<Mode, Server>();
  try {
    for (const mode of MODES) servers.set(mode, await open(mode));
    for (let round = 0; round < ROUNDS; round++) {
      const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]!);
      for (const mode of order) {
        const r = await run(servers.get(mode)!);
        results.get(mode)!.push(r);
        const s = r.split;
        process.stderr.write(
          `  round ${round + 1} ${mode}: ${Math.round(r.rps)} rps, p99 ${r.p99} ms, CPU a request ${r.cpuPerRequest.toFixed(2)} µs (main ${s.main.toFixed(2)}, monitor ${s.monitor.toFixed(2)}, runtime ${s.runtime.toFixed(2)}), server busy ${r.busy.toFixed(2)}, generator ${r.generatorBusy.toFixed(2)}${r.errors ? `, ${r.errors} errors` : ''}\n`,
        );
      }
    }
  } finally {
    for (const server of servers.values()) await server.running.stop();
  }
  const bare = results.get('none')!;
  const monitorOnly = results.get('monitor');
  const base = median(bare.map((p) => p.rps));
  const baseCpu = median(bare.map((p) => p.cpuPerRequest));
  // Each round's ratio to the bare run of the same round: the machine's drift over the
  // whole run cancels out of these, where it stays in a ratio of medians.
  const paired = (runs: Run[], to: Run[]): number[] => runs.map((r, i) => r.rps / to[i]!.rps);
  const rows = MODES.map((mode) => {
    const runs = results.get(mode)!;
    const rps = runs.map((p) => p.rps);
    const p99 = runs.map((p) => p.p99);
    const cpu = median(runs.map((p) => p.cpuPerRequest));
    return {
      mode,
      'rps (median)': Math.round(median(rps)),
      'rps min–max': range(rps),
      'vs none (paired)': lost(median(paired(runs, bare))),
      'vs monitor (paired)': monitorOnly ? lost(median(paired(runs, monitorOnly))) : '',
      'p99 ms': `${median(p99)} (${range(p99)})`,
      'CPU µs/req': `${cpu.toFixed(2)} (${range(runs.map((p) => p.cpuPerRequest), 2)})`,
      'CPU vs none': Number((cpu / baseCpu).toFixed(3)),
      'core rps vs none (paired)': lost(median(runs.map((r, i) => bare[i]!.cpuPerRequest / r.cpuPerRequest))),
      'main µs/req': Number(median(runs.map((p) => p.split.main)).toFixed(2)),
      'monitor µs/req': Number(median(runs.map((p) => p.split.monitor)).toFixed(2)),
      'runtime µs/req': Number(median(runs.map((p) => p.split.runtime)).toFixed(2)),
      'server busy': Number(median(runs.map((p) => p.busy)).toFixed(2)),
      'generator busy': Number(median(runs.map((p) => p.generatorBusy)).toFixed(2)),
      errors: runs.reduce((n, p) => n + p.errors, 0),
    };
  });
  console.table(rows);
  console.log(`rps of the medians: none ${Math.round(base)}; "paired" = the median over rounds of (mode's rps / that round's bare rps); CPU from /proc/<pid>/task/*/schedstat: main thread, the monitor's threads, the runtime's others`);
  console.log(`load after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (SWITCH_ROUNDS > 0) await switchPhases();
  if (CAPTURE_PAIRS > 0) {
    await capturePhases({
      open: async () => {
        const server = await startServer('perfwatch', placement.server);
        if (WARMUP > 0) await measure(server.url, WARMUP);
        return server;
      },
      load: measure,
      pairs: CAPTURE_PAIRS,
      seconds: CAPTURE_SECONDS,
      afterSeconds: AFTER_SECONDS,
    });
  }
}

/**
 * BENCH_SWITCH_STATES picks some (instrument-server.ts, STATES; `record1` is not in the
 * default run, nor `baseline`, which needs BENCH_BASELINE_DIST); `channels`, the base, always
 * comes first.
 */
const SWITCH_STATES = ['channels', ...(process.env.BENCH_SWITCH_STATES?.split(',').map((s) => s.trim()).filter((s) => s !== 'channels') ?? ['microtask', 'immediate', 'records', 'perfwatch'])];
const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 50);

/**
 * What instrument()'s subscribers cost, without the spread between server processes and
 * between phases seconds apart: one server in the switch mode changes state every SLICE_MS
 * while it is loaded, so that every state meets the same interference from the rest of the
 * machine (instrument-server.ts, slices()). The base state, `channels`, has functions that do
 * nothing subscribed to the two channels for the whole run (node:http then publishes as for
 * any subscriber; flipping them would swap the channels' prototypes every slice, see
 * STATES there); `immediate` adds a setImmediate once a turn (as the ring schedules its
 * end-of-turn flush; `microtask` a queueMicrotask instead), `records` instrument()'s three
 * samples a request through handles found beforehand (the ring, its flush, the collector),
 * `floor` those samples with the request's duration timed on the socket (the least any
 * subscriber-based instrumentation recording them costs; not in the default states),
 * `perfwatch` instrument()'s subscribers. Per round, each state's CPU a request (main thread;
 * all threads) over its slices; reported, the median over rounds of each state's difference
 * to the base in the same round. A collector pass that applies one slice's samples may fall
 * in the next slice (it drains every few ms), so the all-threads figure smears a little of
 * the collector's cost over the other states. What node:http's publishing costs against no
 * subscriber at all is not in these figures.
 */
async function switchPhases(): Promise<void> {
  console.log(`\none server, instrument()'s subscribers switched every ${SLICE_MS} ms under load: ${SWITCH_ROUNDS} rounds of ${SECONDS} s; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const server = await open('switch');
  const rounds: SliceTotals[][] = [];
  try {
    for (let round = 0; round < SWITCH_ROUNDS; round++) {
      const sliced = server.running.call('slices', { states: SWITCH_STATES, seconds: SECONDS, sliceMs: SLICE_MS }) as Promise<SliceTotals[]>;
      await measure(server.running.url, SECONDS + 0.5);
      const totals = await sliced;
      rounds.push(totals);
      process.stderr.write(`  round ${round + 1}: ${totals.map((t) => `${t.state} ${(t.mainNs / 1_000 / t.requests).toFixed(2)} / ${(t.allNs / 1_000 / t.requests).toFixed(2)} µs (${Math.round((t.requests * 1_000) / t.ms)} rps)`).join(', ')}\n`);
    }
    const faults = (await server.running.call('faults')) as number;
    if (faults > 0) console.log(`${faults} faults in the subscribers`);
  } finally {
    await server.running.stop();
  }
  const perReq = (t: SliceTotals, ns: number): number => ns / 1_000 / Math.max(1, t.requests);
  const diff = (i: number, pick: (t: SliceTotals) => number): string => {
    const d = rounds.map((r) => pick(r[i]!) - pick(r[0]!));
    return `${median(d).toFixed(3)} (${range(d, 2)})`;
  };
  console.table(
    SWITCH_STATES.map((state, i) => ({
      state,
      'main µs/req': Number(median(rounds.map((r) => perReq(r[i]!, r[i]!.mainNs))).toFixed(2)),
      'all threads µs/req': Number(median(rounds.map((r) => perReq(r[i]!, r[i]!.allNs))).toFixed(2)),
      '+ main µs/req': diff(i, (t) => perReq(t, t.mainNs)),
      '+ all threads µs/req': diff(i, (t) => perReq(t, t.allNs)),
      'core rps vs channels (paired)': lost(median(rounds.map((r) => r[0]!.allNs / r[0]!.requests / (r[i]!.allNs / r[i]!.requests)))),
      'rps vs channels (paired)': lost(median(rounds.map((r) => (r[i]!.requests / r[i]!.ms) / (r[0]!.requests / r[0]!.ms)))),
    })),
  );
  console.log(`"+": the median over rounds of (state − channels, the base, in the same round) (min–max); "core rps": the rps one core would serve at that CPU a request; load after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const [b, p] = [SWITCH_STATES.indexOf('baseline'), SWITCH_STATES.indexOf('perfwatch')];
  if (b > 0 && p > 0) {
    const main = rounds.map((r) => perReq(r[b]!, r[b]!.mainNs) - perReq(r[p]!, r[p]!.mainNs));
    const all = rounds.map((r) => perReq(r[b]!, r[b]!.allNs) - perReq(r[p]!, r[p]!.allNs));
    console.log(
      `baseline (${process.env.BENCH_BASELINE_DIST}) − perfwatch, the same round: main thread ${median(main).toFixed(3)} µs a request (${range(main, 2)}), all threads ${median(all).toFixed(3)} (${range(all, 2)}); perfwatch cheaper on the main thread in ${main.filter((d) => d > 0).length} of ${rounds.length} rounds`,
    );
  }
}

// Run as a script; imported, it only lends startServer() and measure() (and pins nothing).
const script = import.meta.url === pathToFileURL(process.argv[1] ?? '').href;
const placement: Placement = script ? placeGenerator() : { generator: undefined, server: undefined, unpinned: 'imported' };
if (script) await main();
