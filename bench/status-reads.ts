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

async function main(): Promise<void> {
  const monitor = new PerformanceMonitor({ storage: 'memory', maxSeries: N + 100, system: { enabled: false }, runtime: { enabled: false } });
  await monitor.start();
  try {
    for (let i = 0; i < N; i++) monitor.metric(`req_ms_${i % 10}`, { route: `/r/${i}` }).record(i % 100);
    await monitor.flush();
    const idle: number[] = [];
    const busy: number[] = [];
    for (let i = 0; i < 21; i++) {
      const t0 = performance.now();
      monitor.status();
      idle.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
    for (let i = 0; i < 21; i++) {
      monitor.record('req_ms_0', 1, { route: '/r/0' });
      await monitor.flush();
      const t0 = performance.now();
      monitor.status();
      busy.push(performance.now() - t0);
    }
    const page: number[] = [];
    for (let i = 0; i < 21; i++) {
      const t0 = performance.now();
      monitor.getMetrics({ limit: 200 });
      page.push(performance.now() - t0);
    }
    const count: number[] = [];
    const names: number[] = [];
    for (let i = 0; i < 21; i++) {
      let t0 = performance.now();
      monitor.countMetrics();
      count.push(performance.now() - t0);
      t0 = performance.now();
      monitor.getMetricNames();
      names.push(performance.now() - t0);
    }
    console.log(`${N} series, load ${loadavg()[0]!.toFixed(2)}: status() median ${median(idle)} ms with nothing recorded between calls, ${median(busy)} ms after a flushed sample; getMetrics({ limit: 200 }) ${median(page)} ms; countMetrics() ${median(count)} ms; getMetricNames() ${median(names)} ms`);
  } finally {
    await monitor.close();
  }
}

void main();
