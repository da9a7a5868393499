/**
 * What a hub member costs the service's main thread (`node dist/bench/hub-member.js`): a
 * monitor whose series each take 20 samples a second, recorded in small pieces every 5 ms as
 * a service's requests would, with and without `hub: { connect }` to a hub in another process
 * (this file with `--hub PATH`). Per case, over the window: the main thread's CPU a second (its
 * own clock, /proc/self/task/<pid>/schedstat) and the event loop's delay (monitorEventLoopDelay
 * at 1 ms: its max, p99 and p99.9), which is what a request arriving during the member's read
 * of the interval's buckets waits. The member's part is the difference of the two rows.
 *
 * BENCH_SERIES (default 1000,10000), BENCH_WARM_S (4), BENCH_WINDOW_S (10).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { PerformanceMonitor } from '../src/index.js';
import { threadTimes } from './thread-times.js';

const SERIES = (process.env.BENCH_SERIES ?? '1000,10000').split(',').map(Number);
const WARM_S = Number(process.env.BENCH_WARM_S ?? 4);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 10);
const RATE = 20;
const PIECE_MS = 5;

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function hub(path: string): Promise<void> {
  const m = new PerformanceMonitor({ storage: 'memory', hub: { listen: path }, maxSeries: 2 * Math.max(...SERIES) + 1000 });
  await m.start();
  process.stdout.write('ready\n');
  // Until the parent kills it: a monitor keeps no process alive.
  setInterval(() => {}, 60_000);
}

interface Row {
  series: number;
  linked: boolean;
  mainMsPerS: number;
  maxMs: number;
  p99Ms: number;
  p999Ms: number;
  sent: number | null;
}

async function run(series: number, path: string | null): Promise<Row> {
  const m = new PerformanceMonitor({ storage: 'memory', maxSeries: series + 1000, ...(path ? { hub: { connect: path, instance: 'bench' } } : {}) });
  await m.start();
  const handles = Array.from({ length: series }, (_, i) => m.metric('bench_member', { series: String(i) }));
  const perPiece = (series * RATE * PIECE_MS) / 1000;
  let k = 0;
  const record = async (ms: number): Promise<void> => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      await sleep(PIECE_MS);
      for (let j = 0; j < perPiece; j++) handles[k++ % series]!.record(1 + (k % 997));
    }
  };
  await record(WARM_S * 1000);
  const h = monitorEventLoopDelay({ resolution: 1 });
  const t0 = threadTimes().get(process.pid) ?? 0;
  const w0 = performance.now();
  h.enable();
  await record(WINDOW_S * 1000);
  h.disable();
  const mainMs = (threadTimes().get(process.pid) ?? 0) - t0;
  const seconds = (performance.now() - w0) / 1000;
  const link = m.status().hub as { sent: number } | undefined;
  await m.stop();
  return { series, linked: path !== null, mainMsPerS: mainMs / seconds, maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6, p999Ms: h.percentile(99.9) / 1e6, sent: link ? link.sent : null };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pw-hub-member-'));
  const path = join(dir, 'hub.sock');
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--hub', path], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the hub exited (${code})`)));
  });
  console.log(`hub-member ${new Date().toISOString()}: ${RATE} samples/s a series in pieces every ${PIECE_MS} ms, warm-up ${WARM_S} s, window ${WINDOW_S} s, load ${load()}`);
  console.log('| series | hub link | main thread CPU, ms a second | event loop delay max, ms | p99 | p99.9 | buckets the hub acknowledged |');
  console.log('|---:|---|---:|---:|---:|---:|---:|');
  try {
    for (const series of SERIES) {
      for (const linked of [false, true]) {
        const r = await run(series, linked ? path : null);
        console.log(`| ${series.toLocaleString('en')} | ${linked ? 'yes' : 'no'} | ${r.mainMsPerS.toFixed(1)} | ${r.maxMs.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.p999Ms.toFixed(1)} | ${r.sent === null ? '–' : r.sent.toLocaleString('en')} |`);
      }
    }
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`load after: ${load()}`);
}

if (process.argv[2] === '--hub') await hub(process.argv[3]!);
else await main();
