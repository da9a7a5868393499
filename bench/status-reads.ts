/**
 * monitor.status() at many series, on the host's main thread: `node dist/bench/status-reads.js
 * [series]` (default 100,000). A monitor (storage 'memory', system and runtime sampling off,
 * one-second buckets) holds that many series of one sample each; it times 21 calls 20 ms
 * apart with nothing recorded between them (an idle service's dashboard poll or overhead
 * check), then 21 calls each after a sample recorded and flushed; then a page of getMetrics(),
 * countMetrics() (/api/metrics' total) and getMetricNames() (/api/names), 21 calls each. Medians, ms.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { PerformanceMonitor } from '../src/index.js';

const N = Number(process.argv[2] ?? 100_000);

const median = (values: number[]): string => [...values].sort((a, b) => a - b)[values.length >> 1]!.toFixed(2);

/** 21 timings (ms) of `call`, each after `between` (a pause, a sample recorded) when given. */
async function timed(call: () => unknown, between?: () => Promise<unknown>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < 21; i++) {
    await between?.();
    const t0 = performance.now();
    call();
    ms.push(performance.now() - t0);
  }
  return ms;
}

async function main(): Promise<void> {
  const monitor = new PerformanceMonitor({ storage: 'memory', maxSeries: N + 100, system: { enabled: false }, runtime: { enabled: false } });
  await monitor.start();
  try {
    for (let i = 0; i < N; i++) monitor.metric(`req_ms_${i % 10}`, { route: `/r/${i}` }).record(i % 100);
    await monitor.flush();
    const idle = await timed(() => monitor.status(), () => new Promise((r) => setTimeout(r, 20)));
    const busy = await timed(() => monitor.status(), async () => {
      monitor.record('req_ms_0', 1, { route: '/r/0' });
      await monitor.flush();
    });
    const page = await timed(() => monitor.getMetrics({ limit: 200 }));
    const count = await timed(() => monitor.countMetrics());
    const names = await timed(() => monitor.getMetricNames());
    console.log(`${N} series, load ${loadavg()[0]!.toFixed(2)}: status() median ${median(idle)} ms with nothing recorded between calls, ${median(busy)} ms after a flushed sample; getMetrics({ limit: 200 }) ${median(page)} ms; countMetrics() ${median(count)} ms; getMetricNames() ${median(names)} ms`);
  } finally {
    await monitor.close();
  }
}

void main();
