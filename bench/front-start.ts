/**
 * What a first serveHttp() (or serveMcp()) costs the host's event loop: `npm run bench:front-start`.
 *
 * BENCH_ROUNDS (default 5) times, a fresh child process (nothing of the fronts loaded yet)
 * starts a monitor (storage 'memory'), waits 2 s, then calls serveHttp({ port: 0 })
 * (BENCH_FRONT=mcp: serveMcp) while a 1 ms interval timer measures the host's loop. Per round:
 * the call's wall time; the longest gap between two turns of that timer (the longest the host
 * waited); the largest event_loop_lag reading the monitor recorded over the call and the 1.5 s
 * after it (what it charged to the service); and the main-thread time status().overhead counted
 * as the fronts' own (frontsMs, summed over its checks, every 100 ms here; '-' in a build
 * without it). Printed per round with the load average, then the medians; nothing is asserted.
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { PerformanceMonitor } from '../src/index.js';
import { median } from './median.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const FRONT = process.env.BENCH_FRONT === 'mcp' ? 'mcp' : 'http';

interface Round {
  callMs: number;
  longestGapMs: number;
  lagMaxMs: number;
  frontsMs: number | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Child: one first call of the front, as the host sees it. */
async function round(): Promise<Round> {
  const m = new PerformanceMonitor({ storage: 'memory', overhead: { checkIntervalMs: 100 } });
  await m.start();
  await sleep(2_000);
  // Each check's window once: the breakdown is per window.
  const windows = new Map<number, number>();
  const poll = setInterval(() => {
    const o = m.status().overhead;
    const fronts = (o.breakdown as { frontsMs?: number } | null)?.frontsMs;
    if (o.lastCheck !== null && fronts !== undefined) windows.set(o.lastCheck, fronts);
  }, 10);
  let last = performance.now();
  let longestGap = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - last);
    last = now;
  }, 1);
  await sleep(50);
  longestGap = 0;
  const t0 = performance.now();
  last = t0;
  const served = FRONT === 'mcp' ? await m.serveMcp({ port: 0 }) : await m.serveHttp({ port: 0 });
  const callMs = performance.now() - t0;
  await sleep(1_500);
  clearInterval(probe);
  clearInterval(poll);
  const [lag] = m.getMetrics({ names: ['event_loop_lag'], windowSeconds: Math.ceil((performance.now() - t0) / 1000) });
  await served.close();
  await m.stop();
  return { callMs, longestGapMs: longestGap, lagMaxMs: lag?.window.max ?? 0, frontsMs: windows.size > 0 ? [...windows.values()].reduce((a, b) => a + b, 0) : null };
}

const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
const ms = (x: number | null): string => (x === null ? '-' : x.toFixed(1));

async function main(): Promise<void> {
  if (process.argv[2] === 'round') {
    process.stdout.write(JSON.stringify(await round()));
    return;
  }
  console.log(`first serve${FRONT === 'mcp' ? 'Mcp' : 'Http'}(), ${ROUNDS} rounds, each in a fresh process`);
  console.log('round  call ms  longest host gap ms  event_loop_lag max ms  frontsMs  load');
  const rounds: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), 'round'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })) as Round;
    rounds.push(r);
    console.log(`${String(i + 1).padStart(5)}  ${ms(r.callMs).padStart(7)}  ${ms(r.longestGapMs).padStart(19)}  ${ms(r.lagMaxMs).padStart(21)}  ${ms(r.frontsMs).padStart(8)}  ${load()}`);
  }
  const fronts = rounds.map((r) => r.frontsMs).filter((x): x is number => x !== null);
  console.log(`median ${ms(median(rounds.map((r) => r.callMs))).padStart(7)}  ${ms(median(rounds.map((r) => r.longestGapMs))).padStart(19)}  ${ms(median(rounds.map((r) => r.lagMaxMs))).padStart(21)}  ${ms(fronts.length > 0 ? median(fronts) : null).padStart(8)}`);
}

await main();
