/**
 * bench:instrument: what HTTP instrumentation costs a plain node:http server, perfwatch's
 * instrument() beside a hand-written prom-client middleware and OpenTelemetry's
 * instrumentation-http (metrics through a MeterProvider; no tracer provider, so its spans are
 * not recorded), in the same run.
 *
 * Each run forks a fresh server (instrument-server.ts) in one of the modes, warms it up, and
 * drives it from this process with autocannon over loopback (keep-alive connections, a few
 * routes with ids). Modes are interleaved: every round runs each mode once, in an order
 * rotated per round, so the machine's drift spreads over all of them. Reported per mode: the
 * median of requests per second and of p99 latency over the rounds (min–max beside), the
 * ratio of the median rps to the uninstrumented server's, and the server process's CPU time
 * per request (all its threads): on a shared, loaded machine throughput swings with what
 * else runs, while the CPU a request costs moves much less.
 *
 * Then the cost of a 10 s CPU capture on the perfwatch server's throughput, while it runs and
 * after (capturePhases below).
 *
 *   BENCH_ROUNDS (5), BENCH_SECONDS (5), BENCH_WARMUP_SECONDS (1), BENCH_CONNECTIONS (32),
 *   BENCH_MODES (a comma-separated subset; `none` is always run, as the base of the ratios),
 *   BENCH_CAPTURE_ROUNDS (2; 0 skips the capture phases), BENCH_CAPTURE_SECONDS (10)
 */
import { cpus, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import { measureCapture, type CaptureCost, type CaptureTarget } from './capture.js';
import { forkServer, type RunningServer } from './forked-server.js';
import { median } from './median.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const CAPTURE_ROUNDS = Number(process.env.BENCH_CAPTURE_ROUNDS ?? 2);
const CAPTURE_SECONDS = Number(process.env.BENCH_CAPTURE_SECONDS ?? 10);
const ALL_MODES = ['none', 'monitor', 'perfwatch', 'prom-client', 'otel'] as const;
type Mode = (typeof ALL_MODES)[number];
const chosen = process.env.BENCH_MODES?.split(',').map((m) => m.trim());
const MODES: readonly Mode[] = chosen ? ALL_MODES.filter((m) => m === 'none' || chosen.includes(m)) : ALL_MODES;

const PATHS = ['/users/17', '/users/4242', '/orders/9', '/orders/31337', '/health', '/users/8'].map((path) => ({ method: 'GET', path }));

export interface Phase {
  rps: number;
  p99: number;
  errors: number;
  requests: number;
}

/** Forks a server in `mode` and resolves once it listens. */
export function startServer(mode: string): Promise<RunningServer> {
  return forkServer(new URL('./instrument-server.js', import.meta.url), [mode], `server (${mode})`);
}

/** One load phase against a running server: requests per second and p99 (ms) over `seconds`. */
export async function measure(url: string, seconds: number): Promise<Phase> {
  const r = await autocannon({ url, connections: CONNECTIONS, duration: seconds, requests: PATHS });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx, requests: r.requests.total };
}

async function run(mode: Mode): Promise<Phase & { cpuPerRequest: number }> {
  const server = await startServer(mode);
  try {
    if (WARMUP > 0) await measure(server.url, WARMUP);
    const cpu0 = (await server.call('cpu')) as number;
    const phase = await measure(server.url, SECONDS);
    const cpu1 = (await server.call('cpu')) as number;
    return { ...phase, cpuPerRequest: (cpu1 - cpu0) / Math.max(1, phase.requests) };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`bench:instrument ${new Date().toISOString()} · Node ${process.version} · ${cpus().length} cores · load ${load}`);
  console.log(`${ROUNDS} rounds × ${MODES.length} modes, ${SECONDS} s each after ${WARMUP} s warm-up, ${CONNECTIONS} connections, ${PATHS.length} paths`);
  const results = new Map<Mode, (Phase & { cpuPerRequest: number })[]>(MODES.map((m) => [m, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const order = MODES.map((_, i) => MODES[(i + round) % MODES.length]!);
    for (const mode of order) {
      const phase = await run(mode);
      results.get(mode)!.push(phase);
      process.stderr.write(`  round ${round + 1} ${mode}: ${Math.round(phase.rps)} rps, p99 ${phase.p99} ms, ${phase.cpuPerRequest.toFixed(1)} µs CPU a request${phase.errors ? `, ${phase.errors} errors` : ''}\n`);
    }
  }
  const base = median(results.get('none')!.map((p) => p.rps));
  const baseCpu = median(results.get('none')!.map((p) => p.cpuPerRequest));
  const rows = MODES.map((mode) => {
    const phases = results.get(mode)!;
    const rps = phases.map((p) => p.rps);
    const p99 = phases.map((p) => p.p99);
    const m = median(rps);
    return {
      mode,
      'rps (median)': Math.round(m),
      'rps min–max': `${Math.round(Math.min(...rps))}–${Math.round(Math.max(...rps))}`,
      'vs none': `${(m / base).toFixed(3)} (${((1 - m / base) * 100).toFixed(1)}% lost)`,
      'p99 ms (median)': median(p99),
      'p99 min–max': `${Math.min(...p99)}–${Math.max(...p99)}`,
      'CPU µs/req (median)': Number(median(phases.map((p) => p.cpuPerRequest)).toFixed(1)),
      'CPU vs none': Number((median(phases.map((p) => p.cpuPerRequest)) / baseCpu).toFixed(3)),
      errors: phases.reduce((n, p) => n + p.errors, 0),
    };
  });
  console.table(rows);
  console.log(`load after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  if (CAPTURE_ROUNDS > 0) await capturePhases();
}

type CapturePhase = 'no capture' | 'cpu capture' | 'after it';

/**
 * Issue 15's other figure: what a CPU capture (V8's default 1 ms sampling) costs the same
 * server (the perfwatch mode, instrument() on) while it runs, and after. One server, phases of
 * CAPTURE_SECONDS under the same load: none, a capture through bench/capture.ts's
 * measureCapture(), then CAPTURE_SECONDS / 2 after it; the first two alternate in order per round.
 */
async function capturePhases(): Promise<void> {
  console.log(`\nCPU capture on the perfwatch server: ${CAPTURE_ROUNDS} rounds of ${CAPTURE_SECONDS} s without, ${CAPTURE_SECONDS} s with, ${CAPTURE_SECONDS / 2} s after; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const server = await startServer('perfwatch');
  const target: CaptureTarget = {
    url: server.url,
    async capture(kind, seconds) {
      const id = (await server.call('capture', { kind, seconds })) as number;
      return { ended: server.call('captured', { capture: id }) as Promise<CaptureCost> };
    },
  };
  const results = new Map<CapturePhase, (Phase & { cpuPerRequest: number; captureMs?: number })[]>();
  const timed = async (phase: CapturePhase, run: () => Promise<Phase & { capture?: CaptureCost }>): Promise<void> => {
    const cpu0 = (await server.call('cpu')) as number;
    const r = await run();
    const cpuPerRequest = ((await server.call('cpu')) as number - cpu0) / Math.max(1, r.requests);
    results.set(phase, [...(results.get(phase) ?? []), { ...r, cpuPerRequest, ...(r.capture ? { captureMs: r.capture.mainThreadMs } : {}) }]);
    process.stderr.write(`  ${phase}: ${Math.round(r.rps)} rps, p99 ${r.p99} ms, ${cpuPerRequest.toFixed(1)} µs CPU a request${r.capture ? `, capture ${r.capture.mainThreadMs} ms on the main thread` : ''}\n`);
  };
  try {
    if (WARMUP > 0) await measure(server.url, WARMUP);
    for (let round = 0; round < CAPTURE_ROUNDS; round++) {
      const none = () => timed('no capture', () => measure(server.url, CAPTURE_SECONDS));
      const cpu = async () => {
        await timed('cpu capture', () => measureCapture(target, 'cpu', CAPTURE_SECONDS, (s) => measure(server.url, s)));
        await timed('after it', () => measure(server.url, CAPTURE_SECONDS / 2));
      };
      if (round % 2 === 0) {
        await none();
        await cpu();
      } else {
        await cpu();
        await none();
      }
    }
  } finally {
    await server.stop();
  }
  const base = median(results.get('no capture')!.map((p) => p.rps));
  console.table(
    (['no capture', 'cpu capture', 'after it'] as const).map((phase) => {
      const ps = results.get(phase)!;
      const rps = ps.map((p) => p.rps);
      const m = median(rps);
      const ms = ps.flatMap((p) => (p.captureMs === undefined ? [] : [p.captureMs]));
      return {
        phase,
        'rps (median)': Math.round(m),
        'rps min–max': `${Math.round(Math.min(...rps))}–${Math.round(Math.max(...rps))}`,
        'vs no capture': `${(m / base).toFixed(3)} (${((1 - m / base) * 100).toFixed(1)}% lost)`,
        'p99 ms (median)': median(ps.map((p) => p.p99)),
        'CPU µs/req (median)': Number(median(ps.map((p) => p.cpuPerRequest)).toFixed(1)),
        'capture main-thread ms': ms.length ? `${Math.min(...ms)}–${Math.max(...ms)}` : '',
      };
    }),
  );
  console.log(`load after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

// Run as a script; imported, it only lends startServer() and measure().
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
