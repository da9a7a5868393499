/**
 * Alert benchmark. `npm run bench:alerts`.
 *
 * 1. Breach-to-event latency: with 1,000 rules loaded and a worker thread recording 1M
 *    samples/s (the rate printed is what the monitor took in: drops are subtracted, and the
 *    store must hold every sample taken in), the time from record() of a breaching sample to
 *    the 'alert' event on the main thread, for a `last` rule with duration 0; p50 and p99
 *    over 1,000 trials.
 * 2. Window rule evaluation: 10,000 window rules on 1,000 series with live buckets (50
 *    samples per series per second), evaluated as at each bucket close; the time of a round
 *    is the CPU the alert actor spends per 1 s bucket. Two mixes of the 10 rules per series:
 *    - shared windows: all over 60 s, aggregations avg, max, rate, count, p95, p99, avg, max,
 *      min, sum (two repeated). The evaluator reads a (series, window) once for all of its
 *      rules, so a round is 1,000 window reads and 1,000 sketch merges.
 *    - distinct windows: windows of 51 to 60 s, one per rule, and ten distinct aggregations
 *      (avg, max, min, sum, count, rate, p50, p90, p95, p99): 10,000 window reads and 4,000
 *      sketch merges a round, what a set of rules written one by one looks like.
 * 3. `last` rules judging every sample: 1M samples a second over 100 series, each with two
 *    `last` rules, drained in 1,000 passes (the collector's 1 ms naps), the evaluator running
 *    after each pass as the alert actor does; its time is the CPU share at 1M samples/s.
 *
 * Cases 2 and 3 drive the store on this thread and check that it applied every sample
 * pushed; the benchmark fails when one is missing.
 */
import { rankOf } from '../src/engine/sketch.js';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { AlertEvaluator } from '../src/alerts/evaluator.js';
import { parseAlertRule, type AlertRule, type AlertTransition } from '../src/alerts/schema.js';
import { PerformanceMonitor } from '../src/index.js';
import { drivenEngine } from './driven-engine.js';

const TRIALS = Number(process.env.BENCH_TRIALS ?? 1000);
const RATE = Number(process.env.BENCH_RATE ?? 1_000_000);

function quantile(sorted: number[], q: number): number {
  return sorted[rankOf(q, sorted.length)]!;
}

/** Stops the benchmark when the store applied other than every sample pushed. */
function checkApplied(what: string, applied: number, pushed: number): void {
  if (applied !== pushed) throw new Error(`${what}: pushed ${pushed} samples, the store applied ${applied}`);
}

async function latency(): Promise<{ p50: number; p99: number; max: number; flowRate: number }> {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
  await monitor.start();
  for (let i = 0; i < 999; i++) {
    await monitor.createAlertRule({ metric: i < 100 ? 'bench_flow' : 'bench_other', tags: { n: String(i) }, operator: '>', threshold: 1e9 });
  }
  await monitor.createAlertRule({ metric: 'bench_target', operator: '>', threshold: 100 });
  const target = monitor.metric('bench_target');
  const stop = new SharedArrayBuffer(4);
  const flow = new Worker(new URL('./flow-worker.js', import.meta.url), { workerData: { handle: monitor.producer(), stop, rate: RATE } });
  const flowDone = new Promise<{ sent: number; seconds: number }>((resolve) => flow.once('message', resolve));
  await new Promise((resolve) => setTimeout(resolve, 500));
  let waiting: ((t: AlertTransition) => void) | undefined;
  monitor.on('alert', (t: AlertTransition) => waiting?.(t));
  const next = (): Promise<AlertTransition> => new Promise((resolve) => (waiting = resolve));
  const samples: number[] = [];
  for (let i = 0; i < TRIALS; i++) {
    const fired = next();
    const t0 = performance.now();
    target.record(500);
    await fired;
    samples.push(performance.now() - t0);
    const resolved = next();
    target.record(1);
    await resolved;
  }
  Atomics.store(new Int32Array(stop), 0, 1);
  const { sent, seconds } = await flowDone;
  await flow.terminate();
  await monitor.flush();
  // The flow is the only thing recorded on its thread's ring: what that ring dropped is the flow's.
  const dropped = monitor.status().ingestion.rings.filter((r) => r.owner === 'worker').reduce((a, r) => a + r.dropped, 0);
  const held = monitor.getMetrics({ names: ['bench_flow'] }).reduce((a, m) => a + m.totalCount, 0);
  await monitor.stop();
  if (held !== sent - dropped) throw new Error(`flow: recorded ${sent}, dropped ${dropped}, but the store holds ${held}`);
  samples.sort((a, b) => a - b);
  return { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99), max: samples.at(-1)!, flowRate: (sent - dropped) / seconds };
}

type Aggregation = 'avg' | 'max' | 'min' | 'sum' | 'count' | 'rate' | 'p50' | 'p90' | 'p95' | 'p99';
/** The ten rules of each series: [aggregation, window in s]. */
const SHARED_WINDOWS: [Aggregation, number][] = (['avg', 'max', 'rate', 'count', 'p95', 'p99', 'avg', 'max', 'min', 'sum'] as const).map((a) => [a, 60]);
const DISTINCT_WINDOWS: [Aggregation, number][] = (['avg', 'max', 'min', 'sum', 'count', 'rate', 'p50', 'p90', 'p95', 'p99'] as const).map((a, k) => [a, 51 + k]);

function windowRules(mix: [Aggregation, number][]): { roundMs: number; rules: number; perSecond: number } {
  const T0 = 1_800_000_000_000;
  const { engine, registry, reader, producer, drain } = drivenEngine({ maxSeries: 2048, rawCapacity: 64, bucketCapacity: 300, rollupCapacity: 60, intervalMs: 1000, rollupMs: 60_000, logBytes: 64 << 20, rollupLogBytes: 32 << 20, poolBytes: 64 << 20 }, T0);
  const evaluator = new AlertEvaluator(registry, reader);
  const ids = Array.from({ length: 1000 }, (_, i) => registry.seriesId('api_response_time', { endpoint: `/e${i}` }));
  let n = 0;
  for (let i = 0; i < 1000; i++) {
    for (const [aggregation, window] of mix) {
      const parsed = parseAlertRule({ metric: 'api_response_time', tags: { endpoint: `/e${i}` }, aggregation, window, operator: '>', threshold: 1e12 });
      const rule: AlertRule = { ...parsed, id: `r${n++}`, name: 'bench', createdAt: T0 };
      evaluator.addRule(rule);
    }
  }
  // Two minutes of buckets, 50 samples per series per second (50,000 samples a second).
  const rounds: number[] = [];
  let applied = 0;
  for (let s = 0; s < 120; s++) {
    const t = T0 + s * 1000 + 5;
    const open = engine.bucketStart;
    for (let k = 0; k < 50; k++) for (const id of ids) producer.push(id, 5 + ((k * 7 + id) % 200));
    applied += drain(t);
    if (engine.bucketStart !== open && s >= 61) {
      const t0 = performance.now();
      evaluator.onBucket(engine.bucketStart, t);
      rounds.push(performance.now() - t0);
    }
  }
  checkApplied('window rules', applied, 120 * 50 * ids.length);
  rounds.sort((a, b) => a - b);
  const roundMs = quantile(rounds, 0.5);
  return { roundMs, rules: n, perSecond: (n / roundMs) * 1000 };
}

function lastRules(): { msPerSecond: number; judged: number } {
  const T0 = 1_800_000_000_000;
  const { registry, reader, producer, drain } = drivenEngine({ maxSeries: 256, rawCapacity: 256, bucketCapacity: 300, rollupCapacity: 60, intervalMs: 1000, rollupMs: 60_000, logBytes: 16 << 20, rollupLogBytes: 16 << 20, poolBytes: 16 << 20 }, T0, 1 << 16);
  const evaluator = new AlertEvaluator(registry, reader);
  const ids = Array.from({ length: 100 }, (_, i) => registry.seriesId('response_time', { endpoint: `/e${i}` }));
  let n = 0;
  for (let i = 0; i < 100; i++) {
    for (const threshold of [1e9, 2e9]) {
      const parsed = parseAlertRule({ metric: 'response_time', tags: { endpoint: `/e${i}` }, operator: '>', threshold });
      evaluator.addRule({ ...parsed, id: `r${n++}`, name: 'bench', createdAt: T0 });
    }
  }
  const seconds = 5;
  let evalMs = 0;
  let applied = 0;
  for (let pass = 0; pass < seconds * 1000; pass++) {
    const t = T0 + pass;
    for (let k = 0; k < 1000; k++) producer.push(ids[k % 100]!, 5 + (k % 200));
    applied += drain(t);
    const t0 = performance.now();
    evaluator.onData(t);
    evaluator.commitProgress();
    evalMs += performance.now() - t0;
  }
  checkApplied('last rules', applied, seconds * 1_000_000);
  return { msPerSecond: evalMs / seconds, judged: seconds * 1_000_000 * 2 - evaluator.unjudged };
}

async function main(): Promise<void> {
  process.stderr.write('last rules…\n');
  const last = lastRules();
  process.stderr.write('window rules, shared windows…\n');
  const w = windowRules(SHARED_WINDOWS);
  process.stderr.write('window rules, distinct windows…\n');
  const d = windowRules(DISTINCT_WINDOWS);
  process.stderr.write(`latency, ${TRIALS} trials under ${RATE / 1e6}M samples/s…\n`);
  const l = await latency();
  console.log(`\nperfwatch alert benchmark — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}\n`);
  console.log('| measure | value |');
  console.log('|---|---:|');
  console.log(`| breach → 'alert' event, p50 (1,000 rules, ${(l.flowRate / 1e6).toFixed(2)}M samples/s flowing) | ${l.p50.toFixed(2)} ms |`);
  console.log(`| breach → 'alert' event, p99 | ${l.p99.toFixed(2)} ms |`);
  console.log(`| breach → 'alert' event, max of ${TRIALS} | ${l.max.toFixed(2)} ms |`);
  for (const [label, r] of [['shared windows: all 60 s, 8 distinct aggregations', w], ['distinct windows: 51 to 60 s and 10 aggregations, one each', d]] as const) {
    console.log(`| ${r.rules.toLocaleString('en')} window rules on 1,000 series (${label}), one evaluation round | ${r.roundMs.toFixed(1)} ms (${(r.roundMs / 10).toFixed(2)}% of one core at a 1 s bucket; ${Math.round(r.perSecond).toLocaleString('en')} rules/s) |`);
  }
  console.log(`| 200 \`last\` rules judging every sample of 1M samples/s (100 series, 1,000 drains a second) | ${(last.msPerSecond / 10).toFixed(2)}% of one core (${last.judged.toLocaleString('en')} judgements in 5 s) |`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
