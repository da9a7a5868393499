/**
 * bench:capture: what a profile capture costs a plain node:http server while it runs, and
 * after. One server process (capture-server.ts, perfwatch's monitor running in it) is driven
 * from this process with autocannon over loopback, in phases of BENCH_SECONDS each: no
 * capture; a CPU capture of that length (V8's default 1 ms sampling interval); a sampling
 * heap capture of that length; and, after each capture, a phase with none again ("nothing
 * after"). Phases are interleaved: every round runs them all, in an order rotated per round,
 * so the machine's drift spreads over all of them. Reported per phase: the median of requests
 * per second and p99 latency over the rounds (min–max beside), the ratio to the phases
 * without a capture, the server's CPU time per request, and the main-thread time the
 * capture cost beyond V8's sampling (its inspector calls, the summary, serialising the file).
 *
 * measureCapture() is the measuring function, for other benchmarks to call on a server of
 * their own: it starts the capture through the server's `capture` callback, loads the server
 * for the capture's length, and answers the load and what the capture cost.
 *
 *   BENCH_ROUNDS (3), BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_CONNECTIONS (32)
 */
import { cpus, loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import autocannon from 'autocannon';
import type { ProfileKind } from '../src/index.js';
import { forkServer } from './forked-server.js';
import { median } from './median.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);

export interface Load {
  rps: number;
  p99: number;
  errors: number;
  requests: number;
}

/** What a capture cost, as the server reports it once the capture ended. */
export interface CaptureCost {
  mainThreadMs: number;
  fileBytes: number;
  headline: string;
}

/** A server to measure: where to load it, and how to start a capture in it. */
export interface CaptureTarget {
  url: string;
  /** Starts a capture of `seconds`; resolves once it has started, with a promise of its cost once it ends. */
  capture(kind: ProfileKind, seconds: number): Promise<{ ended: Promise<CaptureCost> }>;
}

/** Loads `url` for `seconds`: requests per second and p99 latency (ms). */
export async function measureLoad(url: string, seconds: number, connections = CONNECTIONS): Promise<Load> {
  const r = await autocannon({ url, connections, duration: seconds });
  return { rps: r.requests.average, p99: r.latency.p99, errors: r.errors + r.timeouts + r.non2xx, requests: r.requests.total };
}

/**
 * The load a server takes during a capture of `seconds` (started just before the load), and
 * the capture's cost. `load` drives the server for that long (default: measureLoad of its url).
 */
export async function measureCapture(target: CaptureTarget, kind: ProfileKind, seconds: number, load: (seconds: number) => Promise<Load> = (s) => measureLoad(target.url, s)): Promise<Load & { capture: CaptureCost }> {
  const { ended } = await target.capture(kind, seconds);
  const phase = await load(seconds);
  return { ...phase, capture: await ended };
}

interface Server extends CaptureTarget {
  cpuMs(): Promise<number>;
  stop(): Promise<void>;
}

async function startServer(): Promise<Server> {
  const server = await forkServer(new URL('./capture-server.js', import.meta.url), [], 'capture server');
  const call = server.call;
  return {
    url: `${server.url}/`,
    async capture(kind, seconds) {
      const id = (await call('capture', { kind, seconds })) as number;
      return { ended: call('captured', { capture: id }) as Promise<CaptureCost> };
    },
    cpuMs: async () => (await call('cpu')) as number,
    stop: server.stop,
  };
}

const PHASES = ['none', 'cpu', 'heap'] as const;
type Phase = (typeof PHASES)[number] | 'after cpu' | 'after heap';

async function main(): Promise<void> {
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`bench:capture ${new Date().toISOString()} · Node ${process.version} · ${cpus().length} cores · load ${load}`);
  console.log(`${ROUNDS} rounds; phases of ${SECONDS} s (after a capture: ${SECONDS / 2} s) after ${WARMUP} s warm-up; ${CONNECTIONS} connections`);
  const server = await startServer();
  const results = new Map<Phase, (Load & { cpuPerRequest: number; capture?: CaptureCost })[]>();
  const add = (phase: Phase, r: Load & { cpuPerRequest: number; capture?: CaptureCost }): void => {
    results.set(phase, [...(results.get(phase) ?? []), r]);
    process.stderr.write(`  ${phase}: ${Math.round(r.rps)} rps, p99 ${r.p99} ms, ${r.cpuPerRequest.toFixed(1)} µs CPU a request${r.capture ? `, capture ${r.capture.mainThreadMs} ms on the main thread, file ${r.capture.fileBytes} bytes` : ''}${r.errors ? `, ${r.errors} errors` : ''}\n`);
  };
  try {
    if (WARMUP > 0) await measureLoad(server.url, WARMUP);
    for (let round = 0; round < ROUNDS; round++) {
      const order = PHASES.map((_, i) => PHASES[(i + round) % PHASES.length]!);
      for (const phase of order) {
        const cpu0 = await server.cpuMs();
        const r = phase === 'none' ? await measureLoad(server.url, SECONDS) : await measureCapture(server, phase, SECONDS);
        const cpu1 = await server.cpuMs();
        add(phase, { ...r, cpuPerRequest: (1000 * (cpu1 - cpu0)) / Math.max(1, r.requests) });
        if (phase !== 'none') {
          const a0 = await server.cpuMs();
          const after = await measureLoad(server.url, SECONDS / 2);
          add(`after ${phase}`, { ...after, cpuPerRequest: (1000 * ((await server.cpuMs()) - a0)) / Math.max(1, after.requests) });
        }
      }
    }
  } finally {
    await server.stop();
  }
  const base = median(results.get('none')!.map((p) => p.rps));
  const baseCpu = median(results.get('none')!.map((p) => p.cpuPerRequest));
  const rows = (['none', 'cpu', 'after cpu', 'heap', 'after heap'] as const).map((phase) => {
    const ps = results.get(phase)!;
    const rps = ps.map((p) => p.rps);
    const p99 = ps.map((p) => p.p99);
    const m = median(rps);
    const cpu = median(ps.map((p) => p.cpuPerRequest));
    const captureMs = ps.flatMap((p) => (p.capture ? [p.capture.mainThreadMs] : []));
    return {
      phase,
      'rps (median)': Math.round(m),
      'rps min–max': `${Math.round(Math.min(...rps))}–${Math.round(Math.max(...rps))}`,
      'vs none': `${(m / base).toFixed(3)} (${((1 - m / base) * 100).toFixed(1)}% lost)`,
      'p99 ms (median)': median(p99),
      'p99 min–max': `${Math.min(...p99)}–${Math.max(...p99)}`,
      'CPU µs/req': Number(cpu.toFixed(1)),
      'CPU vs none': Number((cpu / baseCpu).toFixed(3)),
      'capture main-thread ms': captureMs.length ? `${Math.min(...captureMs)}–${Math.max(...captureMs)}` : '',
      errors: ps.reduce((n, p) => n + p.errors, 0),
    };
  });
  console.table(rows);
  console.log(`load after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

// Run as a script; imported, it only lends measureLoad() and measureCapture().
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
