/**
 * Idle cost benchmark: what an idle monitor costs at a 1 s interval, all threads and child
 * processes included. `npm run bench:idle` (BENCH_IDLE_SECONDS, default 60).
 *
 * Each case runs in a child process of its own that does nothing else; the child measures
 * its CPU with process.cpuUsage() (every thread) plus its reaped children's CPU from
 * /proc/self/stat, over the measured window after a warm-up. Per thread (Linux): CPU ms and
 * wake-ups a second of the threads that were not there before the case started (its workers,
 * libuv's pool) and of the main thread; V8's own threads (GC, compiler) are the rest.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import client from 'prom-client';
import { PerformanceMonitor } from '../src/index.js';
import { threadDeltas, threadTimes, threadWakeups } from './thread-times.js';

const SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
// V8 settles its heaps (a few full GCs) in the first seconds of any process: not measured.
const WARMUP_MS = Number(process.env.BENCH_IDLE_WARMUP_MS ?? 15_000);

interface Result {
  name: string;
  cpuMs: number;
  childMs: number;
  seconds: number;
  note: string;
  /** "main 1.2/20, +3 0.4/1.0": ms of CPU / wake-ups a second; +n is a thread started by the case, by its order. */
  threads: string;
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
  const before = new Set(threadTimes().keys());
  const teardown = await setup();
  await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
  const cpu0 = process.cpuUsage();
  const child0 = childTicksMs();
  const times0 = threadTimes();
  const wakes0 = threadWakeups();
  const t0 = Date.now();
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  const cpu = process.cpuUsage(cpu0);
  const seconds = (Date.now() - t0) / 1000;
  const childMs = childTicksMs() - child0;
  const wakes1 = threadWakeups();
  const started = [...times0.keys()].filter((tid) => !before.has(tid)).sort((a, b) => a - b);
  const threads = threadDeltas(times0, threadTimes())
    .filter((t) => t.tid === process.pid || started.includes(t.tid))
    .sort((a, b) => a.tid - b.tid)
    .map((t) => `${t.tid === process.pid ? 'main' : `+${started.indexOf(t.tid) + 1}`} ${(t.ms / seconds).toFixed(2)}/${(((wakes1.get(t.tid) ?? 0) - (wakes0.get(t.tid) ?? 0)) / seconds).toFixed(1)}`)
    .join(', ');
  await teardown();
  return { name, cpuMs: (cpu.user + cpu.system) / 1000, childMs, seconds, note, threads };
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
  console.log('| case | CPU ms | of which child processes | % of one core | per thread: ms / wake-ups a second | note |');
  console.log('|---|---:|---:|---:|---|---|');
  for (const r of results) {
    const total = r.cpuMs + r.childMs;
    console.log(`| ${r.name} | ${total.toFixed(0)} | ${r.childMs.toFixed(0)} | ${((100 * total) / (r.seconds * 1000)).toFixed(3)}% | ${r.threads} | ${r.note} |`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
