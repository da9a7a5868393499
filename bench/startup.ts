/**
 * What perfwatch costs a service before it records anything: `npm run bench:startup`.
 *
 * Each case runs in a fresh child process that does one thing and exits: nothing (node's own
 * start), `import 'perfwatch'`, import and a monitor's start() and stop() (in memory, and on
 * SQLite in a new dataDir), the CLI's `--help`, and beside them prom-client (default metrics
 * and a histogram, rendered once) and OpenTelemetry's sdk-metrics (a MeterProvider with an
 * OTLP/protobuf exporter's reader and a histogram). Per case: the child's CPU (user + system,
 * every thread, from /proc/self/stat's cutime and cstime once it is reaped: 10 ms ticks, so
 * read the medians), the wall time from spawn to exit, and for the perfwatch cases the time
 * from the child's start to the point named (import done, start() resolved). Cases run
 * interleaved, BENCH_ROUNDS rounds (default 7); the table gives the median and the range.
 * BENCH_CASES (comma-separated names; default all, `node` always) runs some of them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './median.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

/** Each case as the child runs it: resolves with the time (performance.now(), ms since the process began) of the point named. */
const CASES: Record<string, { note: string; run?: () => Promise<number>; argv?: string[] }> = {
  node: { note: 'node itself: start, nothing, exit', run: async () => performance.now() },
  import: {
    note: "`import 'perfwatch'`",
    run: async () => {
      await import('../src/index.js');
      return performance.now();
    },
  },
  start: {
    note: 'import, `new PerformanceMonitor()`, start() (memory), stop()',
    run: async () => {
      const { PerformanceMonitor } = await import('../src/index.js');
      const m = new PerformanceMonitor({ storage: 'memory' });
      await m.start();
      const at = performance.now();
      await m.stop();
      return at;
    },
  },
  'start-sqlite': {
    note: "the same with `storage: 'sqlite'` in a new dataDir",
    run: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'pw-bench-startup-'));
      try {
        const { PerformanceMonitor } = await import('../src/index.js');
        const m = new PerformanceMonitor({ storage: 'sqlite', dataDir: join(dir, 'data') });
        await m.start();
        const at = performance.now();
        await m.stop();
        return at;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  },
  'cli-help': { note: '`perfwatch --help`', argv: [CLI, '--help'] },
  'prom-client': {
    note: 'prom-client: import, collectDefaultMetrics(), a histogram, one render',
    run: async () => {
      const client = (await import('prom-client')).default;
      const registry = new client.Registry();
      client.collectDefaultMetrics({ register: registry });
      new client.Histogram({ name: 'startup_rt', help: 'rt', registers: [registry] }).observe(1);
      await registry.metrics();
      return performance.now();
    },
  },
  otel: {
    note: 'OpenTelemetry: import sdk-metrics and the OTLP/protobuf exporter, a MeterProvider with its reader, a histogram',
    run: async () => {
      const { MeterProvider, PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
      const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-proto');
      const reader = new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: 'http://127.0.0.1:9/v1/metrics' }), exportIntervalMillis: 60_000 });
      const provider = new MeterProvider({ readers: [reader] });
      provider.getMeter('startup').createHistogram('startup_rt').record(1);
      // Not shut down: its exporter would try the unreachable URL for its timeout; the process exits.
      return performance.now();
    },
  },
};

/** CPU (ms) of this process's reaped children: cutime + cstime of /proc/self/stat, in 10 ms ticks. */
function childCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

interface Run {
  cpuMs: number;
  wallMs: number;
  readyMs: number | undefined;
}

function runChild(name: string): Promise<Run> {
  const c = CASES[name]!;
  const argv = c.argv ?? [fileURLToPath(import.meta.url), '--case', name];
  const cpu0 = childCpuMs();
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`case ${name} exited with ${code}`));
      const ready = c.argv === undefined ? Number(out) : undefined;
      resolve({ cpuMs: childCpuMs() - cpu0, wallMs: performance.now() - t0, readyMs: ready });
    });
  });
}

function cell(xs: number[]): string {
  return `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--case');
  if (at >= 0) {
    const ready = await CASES[process.argv[at + 1]!]!.run!();
    // Exits once written: a case that leaves a timer (OpenTelemetry's reader) ends here too.
    process.stdout.write(String(ready), () => process.exit(0));
    return;
  }
  const load0 = loadavg()[0]!;
  const chosen = process.env.BENCH_CASES?.split(',');
  const names = Object.keys(CASES).filter((n) => n === 'node' || chosen === undefined || chosen.includes(n));
  const runs = new Map<string, Run[]>(names.map((n) => [n, []]));
  for (let round = 0; round < ROUNDS; round++) for (const name of names) runs.get(name)!.push(await runChild(name));
  const base = median(runs.get('node')!.map((r) => r.cpuMs));
  console.log(`\nperfwatch startup benchmark — ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${ROUNDS} rounds, load ${load0.toFixed(2)} → ${loadavg()[0]!.toFixed(2)}\n`);
  console.log('| case | CPU ms, median (range) | above node itself | wall ms, spawn to exit | ms from process start to the point | what |');
  console.log('|---|---:|---:|---:|---:|---|');
  for (const name of names) {
    const rs = runs.get(name)!;
    const cpu = rs.map((r) => r.cpuMs);
    const ready = rs.map((r) => r.readyMs).filter((x): x is number => x !== undefined);
    console.log(`| ${name} | ${cell(cpu)} | ${(median(cpu) - base).toFixed(0)} | ${cell(rs.map((r) => r.wallMs))} | ${ready.length > 0 ? cell(ready) : '–'} | ${CASES[name]!.note} |`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
