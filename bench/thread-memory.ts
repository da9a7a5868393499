/**
 * What the monitor's threads take of a process's memory: `node dist/bench/thread-memory.js`.
 * The figures behind start()'s checks (src/actors/thread-room.ts, src/monitor/memory-fit.ts;
 * docs/reference.md, "Memory limits").
 *
 * Each case runs in a fresh child process. `workers`: five idle Worker threads made one after
 * another, the process's VmSize (its address space, what `ulimit -v` limits) read before the
 * first and once each is online. `memory` and `sqlite` (a new dataDir): perfwatch imported and
 * a monitor constructed, then its RSS (what a cgroup's memory limit counts) and VmSize read,
 * start(), 200 samples recorded, 5 s of running, and both read again; per thread is the growth
 * over the threads start() makes (startThreads). Besides, the host's own heap (what
 * `--max-old-space-size` limits): its used bytes after a full GC before perfwatch is imported,
 * and again after those 5 s of running. BENCH_ROUNDS rounds (default 3) of each.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MiB = 1024 * 1024;

/** VmSize and VmRSS of this process, in bytes. */
function vm(): { size: number; rss: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { size: kb('VmSize'), rss: kb('VmRSS') };
}

interface Result {
  threads: number;
  /** null for `workers` (not read). */
  rss: number | null;
  /** The host thread's heap used after a full GC, grown from before the import; null for `workers`. */
  heap: number | null;
  size: number;
  /** workers: VmSize growth of each Worker, in order. */
  each?: number[];
}

async function child(kind: string): Promise<Result> {
  if (kind === 'workers') {
    const each: number[] = [];
    const held: Worker[] = [];
    let before = vm().size;
    for (let i = 0; i < 5; i++) {
      const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
      await new Promise((resolve) => w.once('online', resolve));
      held.push(w);
      const now = vm().size;
      each.push(now - before);
      before = now;
    }
    await Promise.all(held.map((w) => w.terminate()));
    return { threads: 5, rss: null, heap: null, size: each.reduce((a, b) => a + b, 0), each };
  }
  const heapUsed = (): number => {
    (globalThis as { gc?: () => void }).gc?.();
    return process.memoryUsage().heapUsed;
  };
  const heap0 = heapUsed();
  const { PerformanceMonitor } = await import('../src/index.js');
  const { startThreads } = await import('../src/monitor/memory-fit.js');
  const { resolveOptions } = await import('../src/monitor/options.js');
  const dir = kind === 'sqlite' ? mkdtempSync(join(tmpdir(), 'perfwatch-bench-threads-')) : undefined;
  const options = dir === undefined ? { storage: 'memory' as const } : { dataDir: dir };
  try {
    const m = new PerformanceMonitor(options);
    const before = vm();
    await m.start();
    for (let i = 0; i < 200; i++) m.record('bench_ms', i % 17);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const after = vm();
    const heap = heapUsed() - heap0;
    await m.close();
    return { threads: startThreads(resolveOptions(options)).length, rss: after.rss - before.rss, heap, size: after.size - before.size };
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

function run(kind: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), kind], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Result) : reject(new Error(`${kind}: exit ${code}`))));
  });
}

const mib = (b: number): string => (b / MiB).toFixed(1);

if (process.argv[2] !== undefined) {
  process.stdout.write(JSON.stringify(await child(process.argv[2])));
} else {
  console.log(`load ${loadavg()[0]!.toFixed(2)}; ${ROUNDS} rounds; MiB`);
  console.log('| case | threads | RSS added | per thread | VmSize added | per thread | host heap added |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  const workers: number[][] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const kind of ['workers', 'memory', 'sqlite']) {
      const x = await run(kind);
      if (x.each) workers.push(x.each);
      console.log(`| ${kind} | ${x.threads} | ${x.rss === null ? '–' : mib(x.rss)} | ${x.rss === null ? '–' : mib(x.rss / x.threads)} | ${mib(x.size)} | ${mib(x.size / x.threads)} | ${x.heap === null ? '–' : mib(x.heap)} |`);
    }
  }
  console.log(`VmSize growth of each idle Worker, in order: ${workers.map((w) => w.map(mib).join(', ')).join('; ')}`);
  console.log(`load ${loadavg()[0]!.toFixed(2)}`);
}
