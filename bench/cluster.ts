/**
 * Cluster benchmark (`npm run bench:cluster`): a real node:cluster, MEMBERS workers × SERIES
 * distributions each, every series recording RATE samples a second, 1 s buckets.
 *
 * - hub: the primary's CPU (all its threads: the main thread decoding and interning, the
 *   collector applying every member's buckets into two series each) per second, and the main
 *   thread's own share (its clock, /proc/thread-self), while the
 *   workers stream; the primary records nothing of its own (runtime and system sampling off).
 * - member: a worker's CPU with `hub: 'cluster'` against the same worker without a hub, same
 *   load, in the same run: what reading, encoding and sending its closed buckets costs it.
 *   Meanwhile (in the phase before the hub's) the primary runs the same monitor without the
 *   hub, idle: its own cost (its actors' timers, V8's collections of their heaps), which the
 *   hub's figure includes.
 * - peers: prom-client's AggregatorRegistry, the same MEMBERS workers with SERIES label sets
 *   observed at the same rate, once as a Summary (its cluster quantiles are the sum of the
 *   members', which is wrong) and once as a Histogram with /metrics' bounds (the type whose
 *   cluster merge is right); the primary's CPU per clusterMetrics() call (one aggregation, what
 *   a scrape of the primary costs), beside the hub's CPU per second (one aggregation of every
 *   member's interval). BENCH_PROM_TYPES=summary (or histogram) runs one of them.
 * - remote_write: 10,000 series pushed every 10 s (bench:export's run, imported): the exporter
 *   actor's CPU per export and its share of a core at that interval.
 * Process CPU from process.cpuUsage() over WINDOW_S seconds (the hub's over HUB_WINDOW_S) after a
 * warm-up of WARM_S; one table.
 * BENCH_HUB_ONLY=1 runs the hub's phase alone (its rows alone): pairs of two builds in minutes.
 * BENCH_HUB_STORAGE=sqlite gives the hub a database (a new dataDir in the temporary folder,
 * flushed every storageFlushMs, BENCH_FLUSH_MS or 5000), and adds its flushes to the rows.
 * BENCH_HUB_TIMELINE=1 also prints, every 10 s from the hub's start to the window's end, the
 * primary's CPU a second over those 10 s, its main thread's and its busiest other thread's (the
 * collector): how the hub's cost moves over its first minutes (with BENCH_WARM_S of several
 * minutes: docs/cluster.md, "The hub over its first minutes").
 */
import cluster from 'node:cluster';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import client from 'prom-client';
import { DEFAULT_BUCKETS } from '../src/analysis/series-walk.js';
import { threadCpuMs } from '../src/engine/thread-cpu.js';
import { PerformanceMonitor } from '../src/monitor/monitor.js';
import { EXPORTS, INTERVAL_S, ours } from './export-cost.js';
import { kernelScan } from './kernel-scan.js';
import { threadDeltas, threadTimes } from './thread-times.js';

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 4);
const SERIES = Number(process.env.BENCH_SERIES ?? 1000);
const RATE = Number(process.env.BENCH_RATE ?? 20);
/**
 * Seconds before the window: code that runs once a second needs a few rounds to be optimised,
 * and V8 shrinks each new heap (the primary's actors', the workers') with full collections
 * about 8-15 s after it grew, once a process: a window from 8 s took in those start-up costs
 * (10-20 ms a second of an idle monitor's primary), not what the hub costs every second.
 */
const WARM_S = Number(process.env.BENCH_WARM_S ?? 20);
const WINDOW_S = Number(process.env.BENCH_WINDOW_S ?? 10);
/**
 * The hub's window: a minute, so that it holds one minute's rollups (30-70 ms of its collector
 * once a minute), as every minute does. A 10 s window held them in about 1 run of 6, which
 * then read up to 7 ms a second more than the others.
 */
const HUB_WINDOW_S = Number(process.env.BENCH_HUB_WINDOW_S ?? 60);
const HUB_ONLY = process.env.BENCH_HUB_ONLY === '1';
const HUB_SQLITE = process.env.BENCH_HUB_STORAGE === 'sqlite';
const FLUSH_MS = Number(process.env.BENCH_FLUSH_MS ?? 5000);
const PROM_TYPES = (process.env.BENCH_PROM_TYPES ?? 'summary,histogram').split(',') as PromType[];
const TIMELINE = process.env.BENCH_HUB_TIMELINE === '1';
const TIMELINE_S = 10;

type PromType = 'summary' | 'histogram';
type Mode = 'hub' | 'alone' | `prom-${PromType}`;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const value = (k: number, i: number) => 1 + ((k * 7919 + i * 104729) % 997) * (1 + (k % 5));

/** A worker: records the load; in `hub` and `alone` modes into perfwatch, in `prom` mode into prom-client. */
async function worker(mode: Mode): Promise<void> {
  let record: (k: number, v: number) => void;
  let monitor: PerformanceMonitor | undefined;
  if (mode === 'prom-summary' || mode === 'prom-histogram') {
    const metric =
      mode === 'prom-summary'
        ? new client.Summary({ name: 'response_time', help: 'h', labelNames: ['endpoint'], percentiles: [0.5, 0.9, 0.95, 0.99], maxAgeSeconds: 60, ageBuckets: 5 })
        : new client.Histogram({ name: 'response_time', help: 'h', labelNames: ['endpoint'], buckets: [...DEFAULT_BUCKETS] });
    const children = Array.from({ length: SERIES }, (_, k) => metric.labels({ endpoint: `/e${k}` }));
    // The worker's side of AggregatorRegistry (its constructor adds the listener that answers
    // the primary with the default registry).
    new client.AggregatorRegistry();
    record = (k, v) => children[k]!.observe(v);
  } else {
    monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, maxSeries: SERIES + 16, ...(mode === 'hub' ? { hub: 'cluster' as const } : {}) });
    await monitor.start();
    const handles = Array.from({ length: SERIES }, (_, k) => monitor!.metric('response_time', { endpoint: `/e${k}` }));
    record = (k, v) => handles[k]!.record(v);
  }
  let i = 0;
  // Ten rounds a second, RATE/10 samples a series each.
  const round = (): void => {
    for (let n = 0; n < RATE / 10; n++, i++) for (let k = 0; k < SERIES; k++) record(k, value(k, i));
  };
  const timer = setInterval(round, 100);
  await sleep(WARM_S * 1000);
  const c0 = cpuMs();
  await sleep(WINDOW_S * 1000);
  const cpu = cpuMs() - c0;
  // In prom modes, the registry as the worker's side of clusterMetrics() sends it.
  const json = mode.startsWith('prom') ? await client.register.getMetricsAsJSON() : undefined;
  process.send!({ bench: 'cpu', cpu, json });
  // The primary may still aggregate (prom mode): keep recording until told to go.
  await new Promise<void>((resolve) => process.on('message', (m: { bench?: string }) => m.bench === 'exit' && resolve()));
  clearInterval(timer);
  await monitor?.close();
  process.exit(0);
}

/** Forks the members in `mode`, measures the primary over the window with `measure`, and collects the workers' CPU. */
async function phase(mode: Mode, measure: () => Promise<number>): Promise<{ primary: number; workers: number[]; json: unknown[] }> {
  // The primary's flags (a profiler's, a trace's: `node --trace-opt dist/bench/cluster.js`)
  // stay the primary's: inherited, the workers' output mixed into its own.
  cluster.setupPrimary({ execArgv: [], env: { ...process.env, BENCH_MODE: mode } } as never);
  const workers = Array.from({ length: MEMBERS }, () => cluster.fork({ BENCH_MODE: mode }));
  const cpus: number[] = [];
  const json: unknown[] = [];
  for (const w of workers) {
    w.on('message', (m: { bench?: string; cpu?: number; json?: unknown }) => {
      if (m.bench !== 'cpu') return;
      cpus.push(m.cpu!);
      if (m.json) json.push(m.json);
    });
  }
  await sleep(WARM_S * 1000);
  const primary = await measure();
  while (cpus.length < MEMBERS) await sleep(50);
  await Promise.all(workers.map((w) => new Promise((r) => (w.once('exit', r), w.send({ bench: 'exit' })))));
  return { primary, workers: cpus, json };
}

async function primary(): Promise<void> {
  const load0 = loadavg()[0]!.toFixed(2);
  const started = new Date().toISOString();
  // First, so that it runs in a primary as fresh as the hub's, not among the hub's garbage.
  let alone: { primary: number; workers: number[] } | undefined;
  if (!HUB_ONLY) {
    const quiet = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, maxSeries: 2 * MEMBERS * SERIES + SERIES + 64 });
    await quiet.start();
    alone = await phase('alone', async () => {
      const c0 = cpuMs();
      await sleep(WINDOW_S * 1000);
      return cpuMs() - c0;
    });
    await quiet.close();
  }
  const store = HUB_SQLITE ? { storage: 'sqlite' as const, dataDir: join(mkdtempSync(join(tmpdir(), 'bench-cluster-')), 'data'), storageFlushMs: FLUSH_MS } : { storage: 'memory' as const };
  const hub = new PerformanceMonitor({ ...store, system: { enabled: false }, runtime: { enabled: false }, maxSeries: 2 * MEMBERS * SERIES + SERIES + 64, hub: 'cluster' });
  await hub.start();
  const timeline = TIMELINE ? hubTimeline() : undefined;
  let applied = 0;
  let lag = 0;
  let health = '';
  let mainThread = 0;
  let threads = '';
  let flushes = '';
  const hubPhase = await phase('hub', async () => {
    const before = hub.status().hub;
    const storage0 = hub.status().storage;
    const c0 = cpuMs();
    const t0 = threadCpuMs();
    const tt0 = threadTimes();
    await sleep(HUB_WINDOW_S * 1000);
    const cpu = cpuMs() - c0;
    mainThread = threadCpuMs() - t0;
    // The main thread is the pid; of the others the busiest is the collector (it applies and
    // closes every bucket); the others are the other actors, V8's helpers (GC, compiler), libuv's.
    threads = threadDeltas(tt0, threadTimes())
      .filter((t) => t.ms / HUB_WINDOW_S >= 0.1)
      .map((t) => `${t.tid === process.pid ? 'main' : t.tid} ${(t.ms / HUB_WINDOW_S).toFixed(1)}`)
      .join(', ');
    const after = hub.status().hub;
    const storage1 = hub.status().storage;
    if (storage1.mode === 'sqlite' && storage0.mode === 'sqlite') {
      const took = storage1.lastFlushAt != null && storage1.lastFlushStartedAt != null ? storage1.lastFlushAt - storage1.lastFlushStartedAt : NaN;
      flushes = `${(storage1.flushes ?? 0) - (storage0.flushes ?? 0)} flushes, the last ${took} ms (${storage1.lastFlushRows} rows), ${storage1.failures} failed`;
    }
    if (before?.role === 'hub' && after?.role === 'hub') {
      applied = after.members.reduce((a, m) => a + m.buckets, 0) - before.members.reduce((a, m) => a + m.buckets, 0);
      lag = Math.max(...after.members.map((m) => m.lagMs ?? 0));
      const errors = after.members.map((m) => m.lastError?.message).filter((e) => e !== undefined);
      health = `failed ${after.members.reduce((a, m) => a + m.failed, 0)}, queued ${after.members.reduce((a, m) => a + m.queueDepth, 0)}, collector restarts ${hub.status().collector.restarts}${errors.length ? `, last error: ${errors[0]}` : ''}`;
    }
    return cpu;
  });
  if (timeline) clearInterval(timeline);
  await hub.close();
  const hubPerSecond = hubPhase.primary / HUB_WINDOW_S;
  const hubRows: [string, string][] = [
    [`hub: primary CPU per second (${MEMBERS} members × ${SERIES} series, 1 s buckets)`, `${hubPerSecond.toFixed(1)} ms (${(hubPerSecond / 10).toFixed(2)}% of a core)`],
    ['hub: of which the main thread (decoding, building the columns), the rest the actors', `${(mainThread / HUB_WINDOW_S).toFixed(1)} ms a second`],
    ['hub: per thread, ms a second (busiest first; ≥ 0.1 ms)', threads],
    ['hub: member buckets applied in the window (expected members × series × window)', `${applied} (${MEMBERS * SERIES * HUB_WINDOW_S})`],
    ['hub: largest member lag at the end of the window', `${lag} ms`],
    ['hub: health at the end of the window', health],
    ...(HUB_SQLITE ? [[`hub: storage sqlite, every ${FLUSH_MS} ms`, flushes] as [string, string]] : []),
  ];
  if (!alone) report(load0, started, hubRows);
  const peers: { type: PromType; perCall: number; merge: number; calls: number; timeouts: number }[] = [];
  for (const type of PROM_TYPES) peers.push({ type, ...(await promPhase(type)) });
  const remoteWrite = await ours('remoteWrite');
  const quietPerSecond = alone.primary / WINDOW_S;
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const memberExtra = (mean(hubPhase.workers) - mean(alone.workers)) / WINDOW_S;
  report(load0, started, [
    ...hubRows.slice(0, 3),
    ['primary: the same monitor without the hub, idle (in the phase before)', `${quietPerSecond.toFixed(1)} ms a second`],
    ['hub: primary CPU per second above that', `${(hubPerSecond - quietPerSecond).toFixed(1)} ms (${((hubPerSecond - quietPerSecond) / 10).toFixed(2)}% of a core)`],
    ...hubRows.slice(3),
    [`member: worker CPU per second with hub, without`, `${(mean(hubPhase.workers) / WINDOW_S).toFixed(1)} ms, ${(mean(alone.workers) / WINDOW_S).toFixed(1)} ms`],
    ['member: extra CPU per second for the hub link', `${memberExtra.toFixed(1)} ms (${(memberExtra / 10).toFixed(2)}% of a core)`],
    ...peers.flatMap(({ type, perCall, merge, calls, timeouts }): [string, string][] => [
      [`prom-client AggregatorRegistry, a ${type}: primary CPU per clusterMetrics() (${calls} calls, ${timeouts} timed out)`, `${perCall.toFixed(1)} ms`],
      [`prom-client, a ${type}: primary CPU to merge the workers' registries and render (median of 5)`, `${merge.toFixed(1)} ms`],
      [`ratio: prom-client (${type}) per aggregation (whole call) / perfwatch hub per aggregation (1 s)`, `${(perCall / hubPerSecond).toFixed(1)}×`],
      [`ratio: prom-client (${type}) merge alone / perfwatch hub per aggregation (1 s)`, `${(merge / hubPerSecond).toFixed(1)}×`],
    ]),
    [`remote_write: exporter CPU per export of 10,000 series (${EXPORTS + 1} exports), share of a core every ${INTERVAL_S} s`, `${remoteWrite.cpuMsPerExport.toFixed(1)} ms (${((remoteWrite.cpuMsPerExport / (INTERVAL_S * 1000)) * 100).toFixed(3)}% of a core)`],
  ]);
}

/** Prints, every TIMELINE_S from now, the primary's CPU a second over the last TIMELINE_S: all threads, the main thread, the busiest other one. */
function hubTimeline(): NodeJS.Timeout {
  const t0 = Date.now();
  let c0 = cpuMs();
  let tt0 = threadTimes();
  return setInterval(() => {
    const c1 = cpuMs();
    const tt1 = threadTimes();
    const deltas = threadDeltas(tt0, tt1);
    const main = deltas.find((t) => t.tid === process.pid)?.ms ?? 0;
    const other = deltas.find((t) => t.tid !== process.pid);
    const perS = (ms: number) => (ms / TIMELINE_S).toFixed(1);
    process.stdout.write(`hub timeline: ${Math.round((Date.now() - t0) / 1000)} s after its start: primary ${perS(c1 - c0)} ms a second (main thread ${perS(main)}, busiest other thread ${other ? `${other.tid} ${perS(other.ms)}` : '-'})\n`);
    c0 = c1;
    tt0 = tt1;
  }, TIMELINE_S * 1000);
}

/** prom-client's AggregatorRegistry over MEMBERS workers observing a `type` each: its primary's CPU per clusterMetrics(). */
async function promPhase(type: PromType): Promise<{ perCall: number; merge: number; calls: number; timeouts: number }> {
  const aggregator = new client.AggregatorRegistry();
  let calls = 0;
  let timeouts = 0;
  // Every worker's answer, counted as it arrives: a call that timed out is still answered and
  // aggregated by prom-client, and that work is the call's too.
  let answers = 0;
  const countAnswers = (_w: unknown, m: { type?: string }) => {
    if (m?.type === 'prom-client:getMetricsRes') answers++;
  };
  cluster.on('message', countAnswers);
  const prom = await phase(`prom-${type}`, async () => {
    const c0 = cpuMs();
    const until = Date.now() + WINDOW_S * 1000;
    while (Date.now() < until) {
      // prom-client gives up on a worker after 5 s (its fixed limit): counted, not fatal.
      await aggregator.clusterMetrics().then(
        () => calls++,
        () => timeouts++,
      );
    }
    // The late answers of timed-out calls, merged when the last one comes (a hang guard of 30 s).
    const deadline = Date.now() + 30_000;
    // prom-client's listener (added first) merges on the last answer before ours counts it.
    while (answers < MEMBERS * (calls + timeouts) && Date.now() < deadline) await sleep(20);
    return cpuMs() - c0;
  });
  cluster.off('message', countAnswers);
  // The primary's own work per clusterMetrics(), apart from the IPC and the 5 s limit: merging
  // the workers' registries (as they answer) and rendering the text.
  const merges: number[] = [];
  for (let r = 0; r < 5; r++) {
    const c0 = cpuMs();
    await client.AggregatorRegistry.aggregate(prom.json as never).metrics();
    merges.push(cpuMs() - c0);
  }
  // A timed-out call's answers still arrive and are aggregated (prom-client keeps the request),
  // inside the measurement above: it costs as much as one that finished in time.
  return { perCall: prom.primary / (calls + timeouts), merge: merges.sort((a, b) => a - b)[2]!, calls, timeouts };
}

/** Prints the table and ends the run. */
function report(load0: string, started: string, rows: [string, string][]): never {
  const w = Math.max(...rows.map((r) => r[0].length));
  process.stdout.write(`bench:cluster ${started}, load ${load0} → ${loadavg()[0]!.toFixed(2)}, ${RATE} samples/s a series, window ${WINDOW_S} s (the hub's ${HUB_WINDOW_S} s), ${kernelScan()}\n`);
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
  process.exit(0);
}

if (cluster.isPrimary) await primary();
else await worker(process.env.BENCH_MODE as Mode);
