/**
 * Idle cost benchmark: what an idle monitor costs at a 1 s interval, all threads and child
 * processes included. `npm run bench:idle` (BENCH_IDLE_SECONDS, default 60).
 *
 * Each case runs in a child process of its own that does nothing else; the child measures
 * its CPU with process.cpuUsage() (every thread) plus its reaped children's CPU from
 * /proc/self/stat, over the measured window after a warm-up.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import client from 'prom-client';
import { PerformanceMonitor } from '../src/index.js';

const SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
// V8 settles its heaps (a few full GCs) in the first seconds of any process: not measured.
const WARMUP_MS = Number(process.env.BENCH_IDLE_WARMUP_MS ?? 15_000);

interface Result {
  name: string;
  cpuMs: number;
  childMs: number;
  seconds: number;
  note: string;
}

function childTicksMs(): number {
  // Fields 16 and 17 of /proc/self/stat: cutime and cstime, in clock ticks (100 per second).
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[13]) || 0) + (Number(fields[14]) || 0)) * 10;
  } catch {
    return 0;
  }
}

async function measureHere(name: string, note: string, setup: () => Promise<() => Promise<void>>): Promise<Result> {
  const teardown = await setup();
  await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
  const cpu0 = process.cpuUsage();
  const child0 = childTicksMs();
  const t0 = Date.now();
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  const cpu = process.cpuUsage(cpu0);
  const seconds = (Date.now() - t0) / 1000;
  const childMs = childTicksMs() - child0;
  await teardown();
  return { name, cpuMs: (cpu.user + cpu.system) / 1000, childMs, seconds, note };
}

const CASES: Record<string, () => Promise<Result>> = {
  baseline: () =>
    measureHere('node process, nothing running', 'the floor', async () => {
      const keep = setInterval(() => {}, 60_000);
      return async () => clearInterval(keep);
    }),
  perfwatch: () =>
    measureHere('perfwatch, idle, 1 s interval', 'system + runtime + own metrics, all threads', async () => {
      const monitor = new PerformanceMonitor({ storage: 'memory', collectionIntervalMs: 1000 });
      await monitor.start();
      const keep = setInterval(() => {}, 60_000);
      return async () => {
        clearInterval(keep);
        await monitor.stop();
      };
    }),
  promClient: () =>
    measureHere('prom-client default metrics, scraped at 1 Hz', 'process metrics only, no system metrics', async () => {
      const registry = new client.Registry();
      client.collectDefaultMetrics({ register: registry });
      const timer = setInterval(() => void registry.metrics(), 1000);
      return async () => clearInterval(timer);
    }),
};

async function runChild(name: string): Promise<Result> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [self, '--case', name], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Result) : reject(new Error(`case ${name} exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--case');
  if (at >= 0) {
    const result = await CASES[process.argv[at + 1]!]!();
    process.stdout.write(JSON.stringify(result));
    return;
  }
  process.stderr.write(`measuring ${Object.keys(CASES).length} cases for ${SECONDS} s each…\n`);
  const results: Result[] = [];
  for (const name of Object.keys(CASES)) results.push(await runChild(name));
  console.log(`\nperfwatch idle benchmark — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${SECONDS} s per case\n`);
  console.log('| case | CPU ms | of which child processes | % of one core | note |');
  console.log('|---|---:|---:|---:|---|');
  for (const r of results) {
    const total = r.cpuMs + r.childMs;
    console.log(`| ${r.name} | ${total.toFixed(0)} | ${r.childMs.toFixed(0)} | ${((100 * total) / (r.seconds * 1000)).toFixed(3)}% | ${r.note} |`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
