/**
 * A restart on a dataDir of many series: `npm run bench:catalog-start`.
 *
 * For each size (BENCH_SERIES, default 10000,100000), a child process builds the dataDir
 * through the public API (storage 'sqlite', maxSeries raised to fit, one sample into each
 * series for 4 collection intervals, flushed, stopped); then, BENCH_ROUNDS (3) times, a fresh
 * child process starts a monitor on it and prints what its `await monitor.start()` cost the
 * host: the wall time, the longest the main thread's event loop was held meanwhile (the
 * largest gap of a 10 ms interval timer, and the max of monitorEventLoopDelay), the main
 * thread's CPU in it, the RSS after, and then what the first getMetricHistory() of one
 * series takes: its wall time and the host's thread's CPU in it. Printed per round, with the load average; nothing
 * is asserted. The dataDirs go to a temporary directory, removed at the end.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { PerformanceMonitor } from '../src/index.js';
import { threadCpuMs } from '../src/engine/thread-cpu.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SIZES = (process.env.BENCH_SERIES ?? '10000,100000').split(',').map(Number);
const INTERVALS = 4;

interface StartFigures {
  series: number;
  wallMs: number;
  maxGapMs: number;
  eventLoopDelayMaxMs: number;
  cpuMs: number;
  rssMiB: number;
  /** The first getMetricHistory() of one series after start(): its wall time, and the host's thread's CPU in it (it finds the series' ids among the restored ones). */
  historyMs: number;
  historyCpuMs: number;
}

const options = (dataDir: string, series: number) => ({ storage: 'sqlite' as const, dataDir, maxSeries: series + 100, storageFlushMs: 1_000 });

/** Child: the dataDir of `series` series, made through the public API. */
async function build(dataDir: string, series: number): Promise<void> {
  const monitor = new PerformanceMonitor(options(dataDir, series));
  await monitor.start();
  const handles = Array.from({ length: series }, (_, i) => monitor.metric('bench_rt', { route: `/r${i}`, shard: `s${i % 7}` }));
  for (let round = 0; round < INTERVALS; round++) {
    for (let i = 0; i < series; i++) {
      handles[i]!.record(1 + ((i * 7 + round) % 100));
      // The collector drains the ring meanwhile: a ring filled faster than that drops samples,
      // and a series with none is not stored (69,632 of 100,000 were, on a loaded machine).
      if (i % 4_096 === 4_095) await monitor.flush();
    }
    await new Promise((resolve) => setTimeout(resolve, 1_100));
  }
  await monitor.flush();
  await monitor.stop();
}

/** Child: a fresh process's start() on the dataDir, as the host sees it. */
async function start(dataDir: string, series: number): Promise<StartFigures> {
  const monitor = new PerformanceMonitor(options(dataDir, series));
  const delay = monitorEventLoopDelay({ resolution: 5 });
  let last = performance.now();
  let maxGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 10);
  await new Promise((resolve) => setTimeout(resolve, 100));
  delay.enable();
  maxGap = 0;
  const cpu0 = threadCpuMs();
  const t0 = performance.now();
  last = t0;
  await monitor.start();
  const wallMs = performance.now() - t0;
  const cpuMs = threadCpuMs() - cpu0;
  // The timer's next turn closes the last gap.
  await new Promise((resolve) => setTimeout(resolve, 30));
  delay.disable();
  clearInterval(timer);
  const h0 = performance.now();
  const hc0 = threadCpuMs();
  await monitor.getMetricHistory({ metric: 'bench_rt', tags: { route: '/r1' }, from: Date.now() - 3_600_000 });
  const historyCpuMs = threadCpuMs() - hc0;
  const historyMs = performance.now() - h0;
  const figures = {
    historyMs,
    historyCpuMs,
    series: monitor.status().series.count,
    wallMs,
    maxGapMs: maxGap,
    eventLoopDelayMaxMs: delay.max / 1e6,
    cpuMs,
    rssMiB: process.memoryUsage().rss / 1_048_576,
  };
  await monitor.stop();
  return figures;
}

function child(role: 'build' | 'start', dataDir: string, series: number): string {
  return execFileSync(process.execPath, [fileURLToPath(import.meta.url), role, dataDir, String(series)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const [role, dataDir, series] = process.argv.slice(2);
  if (role === 'build') return build(dataDir!, Number(series));
  if (role === 'start') {
    process.stdout.write(JSON.stringify(await start(dataDir!, Number(series))));
    return;
  }
  const root = mkdtempSync(join(tmpdir(), 'perfwatch-catalog-start-'));
  try {
    for (const size of SIZES) {
      const dir = join(root, String(size));
      const t = performance.now();
      child('build', dir, size);
      process.stdout.write(`${size.toLocaleString('en-US')} series: dataDir built in ${((performance.now() - t) / 1000).toFixed(1)} s (load ${load()})\n`);
      for (let round = 1; round <= ROUNDS; round++) {
        const f = JSON.parse(child('start', dir, size)) as StartFigures;
        process.stdout.write(
          `  round ${round}: start() ${f.wallMs.toFixed(0)} ms, main thread held at most ${f.maxGapMs.toFixed(0)} ms (event-loop delay max ${f.eventLoopDelayMaxMs.toFixed(0)} ms), its CPU ${f.cpuMs.toFixed(0)} ms, RSS ${f.rssMiB.toFixed(0)} MiB, the first getMetricHistory ${f.historyMs.toFixed(0)} ms (the main thread's CPU ${f.historyCpuMs.toFixed(0)} ms), ${f.series.toLocaleString('en-US')} series restored (load ${load()})\n`,
        );
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
