/**
 * A page of a metric's history, as each dashboard tab asks it once an interval: `node
 * dist/bench/history-page.js` (BENCH_HISTORY_CALLS, default 200 a case). A monitor (storage
 * 'memory', system and runtime sampling off) holds 1,000 and 10,000 counter series of two
 * metrics, 3 samples each; each case times getMetricHistory() on the calling (host's main)
 * thread, a page of 20 over the last 5 minutes at 120 points, and monitor.status() (what
 * /api/status answers) alike. Medians and 90th percentiles of the calls, after 20 unmeasured.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { PerformanceMonitor, type HistoryQuery } from '../src/index.js';

const CALLS = Number(process.env.BENCH_HISTORY_CALLS ?? 200);

function stats(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number): string => s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(3);
  return `median ${at(0.5)} ms, p90 ${at(0.9)} ms`;
}

async function time(what: string, call: () => unknown): Promise<void> {
  const ms: number[] = [];
  for (let i = 0; i < 20 + CALLS; i++) {
    const t0 = performance.now();
    await call();
    if (i >= 20) ms.push(performance.now() - t0);
  }
  console.log(`${what.padEnd(58)} ${stats(ms)}`);
}

async function main(): Promise<void> {
  console.log(`load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const monitor = new PerformanceMonitor({ storage: 'memory', maxSeries: 20_000, system: { enabled: false }, runtime: { enabled: false } });
  await monitor.start();
  try {
    for (const n of [1_000, 10_000]) {
      for (let i = 0; i < n; i++) {
        const h = monitor.metric(`hits_${n}`, { endpoint: `/e${i}` }, { kind: 'counter' });
        for (let k = 0; k < 3; k++) h.record(1);
      }
    }
    await monitor.flush();
    for (const n of [1_000, 10_000]) {
      const from = monitor.now() - 300_000;
      const base: HistoryQuery = { metric: `hits_${n}`, from, maxPoints: 120, limit: 20 };
      await time(`${n} series, order 'id', page 20`, () => monitor.getMetricHistory(base));
      await time(`${n} series, order 'id', page 20 at offset ${n / 2}`, () => monitor.getMetricHistory({ ...base, offset: n / 2 }));
      await time(`${n} series, order 'busiest', page 20 (ranking shared)`, () => monitor.getMetricHistory({ ...base, order: 'busiest' }));
      await time(`${n} series, the dashboard's rates (bucketed, zeroFill)`, () => monitor.getMetricHistory({ ...base, order: 'busiest', resolution: 'bucketed', zeroFill: true }));
    }
    await time(`monitor.status() (/api/status's monitor), 11,000 series`, () => monitor.status());
  } finally {
    await monitor.stop();
  }
  console.log(`load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

void main();
