/**
 * The server of bench:instrument, one process per run so that the load generator (the
 * parent) never shares its thread: a plain node:http server answering a small JSON body on a
 * few routes, instrumented one way, chosen by argv[2]:
 *   none         no metrics
 *   monitor      a perfwatch monitor running, without instrument() (what the monitor costs alone)
 *   perfwatch    the same monitor with instrument() (diagnostics channels, no patching)
 *   prom-client  a hand-written middleware: a Histogram by method, route, status code
 *   otel         @opentelemetry/instrumentation-http with a MeterProvider (sdk-metrics 2.x)
 *   switch       the perfwatch monitor, its instrumentation switched by the `state` command
 *                between STATES (for paired phases within one process)
 * It sends { port } when listening and answers IPC commands from COMMANDS.
 */
import dc from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PerformanceMonitor } from '../src/monitor/monitor.js';
import { ownThreads } from './placement.js';
import type { Capture, ProfileKind } from '../src/profiling/schema.js';

const mode = process.argv[2] ?? 'none';
const require = createRequire(import.meta.url);

/** The app's routes, matched by hand as a small service would (for prom-client's route label). */
function route(url: string): string {
  if (url.startsWith('/users/')) return '/users/:id';
  if (url.startsWith('/orders/')) return '/orders/:id';
  return url;
}

function answer(req: IncomingMessage, res: ServerResponse): void {
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

if (mode === 'monitor' || mode === 'perfwatch' || mode === 'switch') {
  monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, profiling: { dir: profileDir, maxFiles: 2 } });
  const before = new Set(ownThreads());
  await monitor.start();
  monitorThreads = ownThreads().filter((tid) => !before.has(tid));
  if (mode === 'perfwatch') monitor.instrument();
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
 * The switch mode's states: the monitor alone; subscribers that do nothing on the two
 * channels instrument() uses (what node:http's publishing costs once anyone listens); instrument().
 */
const STATES: Record<string, (m: PerformanceMonitor) => void> = {
  monitor: (m) => {
    m.uninstrument();
    for (const c of HTTP_CHANNELS) dc.unsubscribe(c, noop);
  },
  channels: (m) => {
    m.uninstrument();
    for (const c of HTTP_CHANNELS) dc.subscribe(c, noop);
  },
  perfwatch: (m) => {
    for (const c of HTTP_CHANNELS) dc.unsubscribe(c, noop);
    m.instrument();
  },
};

function running(): PerformanceMonitor {
  if (!monitor) throw new Error(`mode ${mode} runs no monitor`);
  return monitor;
}

/**
 * What the parent may ask of a running server by IPC ({ id, cmd, ...args }), each answering
 * { id, ok, value | error }: 'capture' starts a profile capture and answers its id at once,
 * 'captured' answers when that capture ended with what it cost (as capture-server.ts does).
 */
const COMMANDS: Record<string, (args: Record<string, unknown>) => unknown> = {
  status: () => ({ mode, instrument: monitor?.status().instrument ?? null }),
  threads: () => monitorThreads,
  /** Resolves once the monitor applied everything recorded so far, so that a phase's collector work falls within it. */
  settle: () => monitor?.flush(),
  state: (args) => {
    const apply = STATES[args.state as string];
    if (mode !== 'switch' || apply === undefined) throw new Error(`state ${String(args.state)} needs mode switch and one of ${Object.keys(STATES).join(', ')}`);
    apply(running());
    return args.state;
  },
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
