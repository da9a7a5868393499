/**
 * The server of bench:instrument, one process per run so that the load generator (the
 * parent) never shares its thread: a plain node:http server answering a small JSON body on a
 * few routes, instrumented one way, chosen by argv[2]:
 *   none         no metrics
 *   monitor      a perfwatch monitor running, without instrument() (what the monitor costs alone)
 *   perfwatch    the same monitor with instrument() (diagnostics channels, no patching)
 *   last         perfwatch's, with one alert rule of aggregation `last` (which judges every
 *                drain, so the collector dozes only briefly: docs/benchmarks.md, "A `last` rule's wake-ups")
 *   prom-client  a hand-written middleware: a Histogram by method, route, status code
 *   otel         @opentelemetry/instrumentation-http with a MeterProvider (sdk-metrics 2.x)
 *   switch       the perfwatch monitor, and instrument()'s subscribers switched on and off many
 *                times a second by the `slices` command (see STATES); with BENCH_BASELINE_DIST
 *                (another build's dist folder), that build's subscribers too, as `baseline`
 * It sends { port } when listening and answers IPC commands from COMMANDS.
 */
import dc from 'node:diagnostics_channel';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PerformanceObserver, performance as perfHooks } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Tags } from '../src/engine/registry.js';
import { Instrumentation } from '../src/instrument/instrumentation.js';
import { resolveInstrumentOptions } from '../src/instrument/options.js';
import { PerformanceMonitor } from '../src/monitor/monitor.js';
import { ownThreads } from './placement.js';
import { settle } from './settled-cpu.js';
import type { ProfileKind } from '../src/profiling/limits.js';
import type { Capture } from '../src/profiling/schema.js';

const mode = process.argv[2] ?? 'none';
const require = createRequire(import.meta.url);

/** The app's routes, matched by hand as a small service would (for prom-client's route label). */
function route(url: string): string {
  if (url.startsWith('/users/')) return '/users/:id';
  if (url.startsWith('/orders/')) return '/orders/:id';
  return url;
}

/** Requests answered so far. */
let answered = 0;

function answer(req: IncomingMessage, res: ServerResponse): void {
  answered++;
  const body = JSON.stringify({ route: route(req.url ?? '/'), ok: true });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

let monitor: PerformanceMonitor | undefined;
/** The threads monitor.start() started (the collector, the alert actor), by Linux thread id. */
let monitorThreads: number[] = [];
let handler: (req: IncomingMessage, res: ServerResponse) => void = answer;

/** Where a capture's .cpuprofile goes: removed when the server exits. */
const profileDir = mkdtempSync(join(tmpdir(), 'pw-bench-instrument-'));

if (mode === 'monitor' || mode === 'perfwatch' || mode === 'last' || mode === 'switch') {
  monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, profiling: { dir: profileDir, maxFiles: 2 } });
  const before = new Set(ownThreads());
  await monitor.start();
  monitorThreads = ownThreads().filter((tid) => !before.has(tid));
  if (mode === 'perfwatch' || mode === 'last') monitor.instrument();
  if (mode === 'last') await monitor.createAlertRule({ metric: 'response_time', aggregation: 'last', operator: '>', threshold: 60_000 });
} else if (mode === 'prom-client') {
  const client = (await import('prom-client')).default;
  const histogram = new client.Histogram({ name: 'http_request_duration_seconds', help: 'request time', labelNames: ['method', 'route', 'status_code'] });
  handler = (req, res) => {
    const end = histogram.startTimer();
    res.once('finish', () => end({ method: req.method, route: route(req.url ?? '/'), status_code: res.statusCode }));
    answer(req, res);
  };
} else if (mode === 'otel') {
  const { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } = await import('@opentelemetry/sdk-metrics');
  const { HttpInstrumentation } = await import('@opentelemetry/instrumentation-http');
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 1_000 });
  const instrumentation = new HttpInstrumentation();
  instrumentation.setMeterProvider(new MeterProvider({ readers: [reader] }));
  instrumentation.enable();
} else if (mode !== 'none') {
  throw new Error(`unknown mode ${mode}`);
}

// Loaded through require after the OpenTelemetry instrumentation is enabled: it patches
// node:http as the module loads (require-in-the-middle); the other modes take the same path.
const http = require('node:http') as typeof import('node:http');
const server = http.createServer((req, res) => handler(req, res));
server.keepAliveTimeout = 30_000;

const captures = new Map<number, Promise<Capture>>();

const HTTP_CHANNELS = ['http.server.request.start', 'http.server.response.finish'];
const noop = (): void => {};

/**
 * The switch mode's instrumentation: what monitor.instrument() builds, kept, so that it can be
 * attached and detached many times a second without a new object each time (a new one would
 * add a close listener to every kept-alive connection per switch).
 */
let switched: Instrumentation | undefined;
/**
 * Another build's instrument() (BENCH_BASELINE_DIST names its dist folder), attached in the
 * `baseline` state: two builds' subscribers in one server, meeting the same interference,
 * for an A/B of a change to them (bench/instrument.ts prints the pairs).
 */
let baselined: Instrumentation | undefined;
const BASELINE_DIST = process.env.BENCH_BASELINE_DIST;
let switchFaults = 0;
/** On finish, the three samples instrument() records a request, with none of its work to find them. */
let recordThree = noop;
/** On finish, response_time alone: what throughput's and error_rate's samples cost is the difference to recordThree. */
let recordOne = noop;
/**
 * The floor of any subscriber-based instrumentation that records what instrument() records:
 * the start's clock reading on the socket, and at finish a second reading and the three
 * samples through ready handles (pipelining, routes and tags ignored). instrument() over
 * `floor` is what its own work costs. Its clock is node:perf_hooks' `performance`, as
 * instrument()'s: the global one is a lazy getter looked up on every call.
 */
const FLOOR_STARTED = Symbol('floor started');
let floorStart: (message: unknown) => void = noop;
let floorFinish: (message: unknown) => void = noop;
/**
 * The floor's two parts, each with the three samples: `clocks` its two clock readings (the
 * start kept in one variable, not per request), `stash` its slot on the socket (a constant
 * in it, no clock).
 */
let clockStarted = 0;
let clocksStart: (message: unknown) => void = noop;
let clocksFinish: (message: unknown) => void = noop;
let stashStart: (message: unknown) => void = noop;
let stashFinish: (message: unknown) => void = noop;
if (mode === 'switch') {
  const m = monitor!;
  const recorder = { metric: (name: string, tags: Tags) => m.metric(name, tags), metrics: (series: readonly { name: string; tags: Tags }[]) => series.map((s) => m.metric(s.name, s.tags)), maxTagValueLength: 128, fault: () => void switchFaults++ };
  switched = new Instrumentation(recorder, resolveInstrumentOptions(undefined), 1_000);
  if (BASELINE_DIST !== undefined) {
    const other = (await import(pathToFileURL(join(resolve(BASELINE_DIST), 'src/instrument/instrumentation.js')).href)) as { Instrumentation: typeof Instrumentation };
    baselined = new other.Instrumentation(recorder, resolveInstrumentOptions(undefined), 1_000);
  }
  const tags = { endpoint: '/switch', method: 'GET', status_class: '2xx' };
  const [rt, tp, er] = [m.metric('response_time', tags), m.metric('throughput', tags), m.metric('error_rate', { endpoint: '/switch', method: 'GET' })];
  recordThree = () => {
    rt.record(1.5);
    tp.record(1);
    er.record(0);
  };
  recordOne = () => rt.record(1.5);
  floorStart = (message) => {
    ((message as { socket: Record<symbol, number> }).socket)[FLOOR_STARTED] = perfHooks.now();
  };
  floorFinish = (message) => {
    rt.record(perfHooks.now() - (message as { socket: Record<symbol, number> }).socket[FLOOR_STARTED]!);
    tp.record(1);
    er.record(0);
  };
  clocksStart = () => {
    clockStarted = perfHooks.now();
  };
  clocksFinish = () => {
    rt.record(perfHooks.now() - clockStarted);
    tp.record(1);
    er.record(0);
  };
  stashStart = (message) => {
    ((message as { socket: Record<symbol, number> }).socket)[FLOOR_STARTED] = 1.5;
  };
  stashFinish = (message) => {
    rt.record((message as { socket: Record<symbol, number> }).socket[FLOOR_STARTED]!);
    tp.record(1);
    er.record(0);
  };
}

/** On finish, a setImmediate once a turn, as the ring schedules its end-of-turn flush, with nothing recorded. */
let turnPending = false;
const turnEnded = (): void => {
  turnPending = false;
};
const onceATurn = (): void => {
  if (turnPending) return;
  turnPending = true;
  setImmediate(turnEnded);
};

/** The same once a macrotask through queueMicrotask, which adds no turn of the event loop. */
const onceATask = (): void => {
  if (turnPending) return;
  turnPending = true;
  queueMicrotask(turnEnded);
};

/**
 * Back to the base state: instrument() detached, nothing on the finish channel but a no-op.
 * The no-ops stay subscribed to both channels in every state: a channel's first subscriber
 * and its last unsubscribe swap its prototype (node:diagnostics_channel's Channel and
 * ActiveChannel), which throws away the optimised code of node:http that publishes on it,
 * so switching them every slice charged a re-optimisation to whichever state came next.
 */
function toBase(): void {
  switched!.detach();
  baselined?.detach();
  for (const f of [recordThree, recordOne, onceATurn, onceATask, floorFinish, clocksFinish, stashFinish]) dc.unsubscribe(HTTP_CHANNELS[1]!, f);
  for (const f of [floorStart, clocksStart, stashStart]) dc.unsubscribe(HTTP_CHANNELS[0]!, f);
}

/**
 * The switch mode's states, each a layer over the one before: `channels`, the base (the
 * monitor, and no-ops on the two channels instrument() uses: node:http publishes as it does
 * for any subscriber); a setImmediate once an event-loop turn, as the ring schedules its
 * flush (and, beside it, a queueMicrotask once a macrotask, for comparison); three samples
 * recorded a request through handles found beforehand (the ring, its end-of-turn flush, the
 * collector's share), or response_time's alone (`record1`: what the other two cost, which a
 * cheaper kind for throughput and error_rate could save at most); `floor`, the least that
 * records what instrument() does (two clock readings, a slot on the socket, the three
 * samples), and its parts `clocks` and `stash`; instrument(). Each starts from the base (a function subscribed twice would run
 * twice).
 */
const STATES: Record<string, () => void> = {
  channels: toBase,
  microtask: () => {
    toBase();
    dc.subscribe(HTTP_CHANNELS[1]!, onceATask);
  },
  immediate: () => {
    toBase();
    dc.subscribe(HTTP_CHANNELS[1]!, onceATurn);
  },
  records: () => {
    toBase();
    dc.subscribe(HTTP_CHANNELS[1]!, recordThree);
  },
  record1: () => {
    toBase();
    dc.subscribe(HTTP_CHANNELS[1]!, recordOne);
  },
  floor: () => {
    toBase();
    dc.subscribe(HTTP_CHANNELS[0]!, floorStart);
    dc.subscribe(HTTP_CHANNELS[1]!, floorFinish);
  },
  clocks: () => {
    toBase();
    dc.subscribe(HTTP_CHANNELS[0]!, clocksStart);
    dc.subscribe(HTTP_CHANNELS[1]!, clocksFinish);
  },
  stash: () => {
    toBase();
    dc.subscribe(HTTP_CHANNELS[0]!, stashStart);
    dc.subscribe(HTTP_CHANNELS[1]!, stashFinish);
  },
  perfwatch: () => {
    toBase();
    switched!.attach();
  },
  baseline: () => {
    if (baselined === undefined) throw new Error('state baseline needs BENCH_BASELINE_DIST (another build\'s dist folder)');
    toBase();
    baselined.attach();
  },
};

/** ns the main thread has run (Linux), booked to now (settle(): read as is, it moves in 4 ms ticks, as much as a 50 ms slice's differences). */
function mainThreadNs(): number {
  settle();
  return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]);
}

/** One state's slices of the switch mode (bench/instrument.ts reads them). */
export interface SliceTotals {
  state: string;
  requests: number;
  /** ns on a CPU: the main thread, and the whole process (its every thread). */
  mainNs: number;
  allNs: number;
  ms: number;
}

/**
 * Switches between `states` every `sliceMs` for `seconds` (the order rotated each cycle) while
 * the parent loads the server, and answers the requests and CPU of each state's slices.
 * Hundreds of short slices a run put every state under the same interference from the rest
 * of the machine, which phases of seconds do not.
 */
async function slices(states: string[], seconds: number, sliceMs: number): Promise<SliceTotals[]> {
  if (mode !== 'switch') throw new Error('slices needs mode switch');
  for (const s of states) if (!(s in STATES)) throw new Error(`state ${s}: one of ${Object.keys(STATES).join(', ')}`);
  const totals = states.map((state) => ({ state, requests: 0, mainNs: 0, allNs: 0, ms: 0 }));
  for (const c of HTTP_CHANNELS) dc.subscribe(c, noop);
  const end = performance.now() + seconds * 1_000;
  for (let k = 0; performance.now() < end; k++) {
    const i = (k + Math.floor(k / states.length)) % states.length;
    STATES[states[i]!]!();
    const r0 = answered;
    const m0 = mainThreadNs();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((resolve) => setTimeout(resolve, sliceMs));
    const c = process.cpuUsage(c0);
    const t = totals[i]!;
    t.mainNs += mainThreadNs() - m0;
    t.allNs += (c.user + c.system) * 1_000;
    t.requests += answered - r0;
    t.ms += performance.now() - t0;
  }
  toBase();
  for (const c of HTTP_CHANNELS) dc.unsubscribe(c, noop);
  return totals;
}

/** ms the main isolate spent in GC since gcMs() was first called (which starts observing, so that other runs pay nothing for it). */
let gcTotal: number | undefined;
function gcMs(): number {
  if (gcTotal === undefined) {
    gcTotal = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) gcTotal! += e.duration;
    }).observe({ entryTypes: ['gc'] });
  }
  return gcTotal;
}

function running(): PerformanceMonitor {
  if (!monitor) throw new Error(`mode ${mode} runs no monitor`);
  return monitor;
}

/**
 * What the parent may ask of a running server by IPC ({ id, cmd, ...args }), each answering
 * { id, ok, value | error }: 'capture' starts a profile capture and answers its id at once,
 * 'captured' answers when that capture ended with what it cost (as capture-server.ts does),
 * 'gc' the main isolate's GC time so far (ms; observed from its first call).
 */
const COMMANDS: Record<string, (args: Record<string, unknown>) => unknown> = {
  status: () => ({ mode, instrument: monitor?.status().instrument ?? null }),
  threads: () => monitorThreads,
  /** Resolves once the monitor applied everything recorded so far, so that a phase's collector work falls within it. */
  settle: () => monitor?.flush(),
  slices: (args) => slices(args.states as string[], args.seconds as number, args.sliceMs as number),
  faults: () => switchFaults,
  capture: (args) => {
    const started = running().startProfile({ kind: args.kind as ProfileKind, seconds: args.seconds as number });
    captures.set(started.id, started.done);
    return started.id;
  },
  captured: async (args) => {
    const c = await captures.get(args.capture as number)!;
    captures.delete(c.id);
    return { mainThreadMs: c.mainThreadMs, fileBytes: c.fileBytes, headline: c.headline };
  },
  gc: () => gcMs(),
  /** CPU time of the whole process (every thread: the monitor's actors too), in µs. */
  cpu: () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  },
};

process.on('message', async (msg: { id: number; cmd: string } & Record<string, unknown>) => {
  const run = COMMANDS[msg.cmd];
  try {
    if (!run) throw new Error(`unknown command ${msg.cmd}`);
    process.send!({ id: msg.id, ok: true, value: await run(msg) });
  } catch (error) {
    process.send!({ id: msg.id, ok: false, error: String(error) });
  }
});
process.on('disconnect', () => {
  rmSync(profileDir, { recursive: true, force: true });
  process.exit(0);
});
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
