/**
 * Diagnoses in the spirit of clinic.js doctor: each rule reads a few statistics of the
 * report window, and when they cross its thresholds it says what it saw (the numbers and the
 * window), how bad it is, and what to do. Every threshold is in DIAGNOSIS_RULES, and the least
 * data the rules over sampled metrics judge in DIAGNOSIS_MINIMUM; the rules below only compare
 * against them.
 */
import type { MetricSummary, SeriesStats, TimeWindow, Diagnosis, DiagnosisSeverity, Evidence, Recommendation, AlertAnalysis } from './types.js';
import type { Pieces } from '../analysis/stats.js';
import { leastSquares } from '../analysis/stats.js';
import { isolated } from '../isolate.js';
import { percent } from '../percent.js';
import { tagsText } from '../series-text.js';
import { burstsOf } from './error-bursts.js';

const MiB = 1024 * 1024;

export const DIAGNOSIS_RULES = {
  eventLoopBlocked: { metric: 'event_loop_lag', p99WarningMs: 100, p99CriticalMs: 500, minReadingsOver: 3, utilizationMetric: 'event_loop_utilization', utilizationWarning: 0.9, waitMetric: 'event_loop_cpu_wait' },
  gcPressure: { metric: 'gc_pause', shareWarning: 0.05, shareCritical: 0.15, p99WarningMs: 100 },
  heapNearLimit: { metric: 'heap_usage', bytesMetric: 'heap_used', warning: 70, critical: 80, minSeen: 50, fitMs: 60_000, minFitBuckets: 3, soonSeconds: 300 },
  memoryLeak: { metric: 'heap_used', segments: 8, minRisingShare: 0.75, minGrowth: 0.1, minBytesPerHour: 16 * MiB, minSpanMs: 5 * 60_000, gcMetric: 'gc_pause', fullGcType: 'major' },
  cpuSaturation: { metric: 'cpu_usage', meanWarning: 85, p95Critical: 95 },
  ioWait: { metric: 'cpu_iowait', meanWarning: 10, meanCritical: 25 },
  errorBurst: { metric: 'error_rate', burstRate: 0.1, minEvents: 20, overFactor: 3, overallWarning: 0.05, named: 3, callMetric: 'api_error_rate' },
  lowCacheHitRate: { metric: 'cache_hit_rate', meanWarning: 0.8, meanCritical: 0.5, minEvents: 100 },
  poolSaturation: { metric: 'database_connections', sizeMetric: 'database_pool_size', utilizationWarning: 0.9, utilizationCritical: 0.98, plateauShare: 0.8, plateauMinBuckets: 10 },
  workerPoolSaturation: { metric: 'pool_utilization', waitMetric: 'pool_wait_time', runMetric: 'pool_run_time', queueMetric: 'queue_size', utilizationWarning: 0.9, minQueueGrowth: 1 },
  slowFormula: { metric: 'formula_calculation_time', p95WarningMs: 100, p95CriticalMs: 1000 },
  slowEndpoints: { metric: 'response_time', minEvents: 20, p95WarningMs: 1000, p95CriticalMs: 2000, shown: 5, callMetric: 'api_response_time', callShare: 0.5, callExplains: 0.9 },
} as const;

/**
 * The least data the rules over sampled metrics judge. event_loop_lag, event_loop_utilization,
 * cpu_usage and cpu_iowait come as one reading per interval, and a fresh monitor's first ones
 * cover its own start-up: a report 321 ms after start read event_loop_utilization's mean of 1
 * (its one reading) as a blocked event loop. Those rules wait for `readings` of their metric;
 * the share of wall time in GC pauses waits for `seconds` watched. The rules over events
 * (requests, lookups, evaluations) have their own counts in DIAGNOSIS_RULES.
 */
export const DIAGNOSIS_MINIMUM = { readings: 10, seconds: 10 } as const;

const SAMPLED_METRICS = [DIAGNOSIS_RULES.eventLoopBlocked.metric, DIAGNOSIS_RULES.eventLoopBlocked.utilizationMetric, DIAGNOSIS_RULES.cpuSaturation.metric, DIAGNOSIS_RULES.ioWait.metric];

export interface SeriesInput {
  stats: SeriesStats;
  /** Closed buckets of the range, for the metrics whose rules read them (empty otherwise). */
  pieces: Pieces;
}

export interface DiagnosisInput {
  window: TimeWindow;
  /** The seconds of the window the monitor watched (NaN: none). */
  seconds: number;
  metrics: ReadonlyMap<string, MetricSummary>;
  series: readonly SeriesInput[];
}

const round = (x: number, digits = 3): number => Number(x.toPrecision(digits));

function ev(metric: string, statistic: string, value: number, threshold: number, unit: string, window: TimeWindow, tags?: Record<string, string>): Evidence {
  return { metric, ...(tags && Object.keys(tags).length ? { tags } : {}), statistic, value: round(value, 4), threshold, unit, window };
}

type Rule = (input: DiagnosisInput) => Diagnosis[];

/** A sampled metric with readings enough to judge (DIAGNOSIS_MINIMUM). */
function judged(m: MetricSummary | undefined): m is MetricSummary {
  return m !== undefined && m.count >= DIAGNOSIS_MINIMUM.readings;
}

/** How the note of notEnoughData begins (answers that show only some notes pick it by this). */
export const NOT_ENOUGH_DATA = 'Not enough data yet to diagnose';

/** What the diagnoses waited on for want of data (DIAGNOSIS_MINIMUM), as a report note; null when nothing did. */
export function notEnoughData({ metrics, seconds }: DiagnosisInput): string | null {
  const short = SAMPLED_METRICS.map((n) => metrics.get(n)).filter((m): m is MetricSummary => m !== undefined && !judged(m));
  const gc = metrics.has(DIAGNOSIS_RULES.gcPressure.metric) && !(seconds >= DIAGNOSIS_MINIMUM.seconds);
  if (short.length === 0 && !gc) return null;
  const names = [...short.map((m) => m.name), ...(gc ? ['the share of time in gc_pause'] : [])].join(', ');
  const watched = Number.isFinite(seconds) ? `${round(seconds)} s of ${DIAGNOSIS_MINIMUM.seconds} s` : `no time watched of ${DIAGNOSIS_MINIMUM.seconds} s`;
  const fewest = Math.min(...short.map((m) => m.count));
  const readings = short.length > 0 ? `; ${fewest} reading${fewest === 1 ? '' : 's'} of ${DIAGNOSIS_MINIMUM.readings}` : '';
  return `${NOT_ENOUGH_DATA} ${names}: ${watched}${readings}.`;
}

/**
 * On a hub, each member's own series of a per-process metric (tagged `instance`, beside the
 * cluster-wide one): the one whose `stat` is highest, with readings enough to judge; none elsewhere.
 */
function worstMember(series: readonly SeriesInput[], metric: string, stat: 'p99' | 'mean'): SeriesStats | undefined {
  let worst: SeriesStats | undefined;
  for (const { stats } of series) {
    if (stats.name !== metric || stats.tags.instance === undefined || stats.count < DIAGNOSIS_MINIMUM.readings) continue;
    if (worst === undefined || stats[stat] > worst[stat]) worst = stats;
  }
  return worst;
}

/**
 * Whether the lag's p99 stands for `minReadingsOver` readings at the threshold or more. The p99
 * of fewer than 100 × minReadingsOver readings is among their few highest, and of under 100 their
 * maximum: one second's stall (the OS or a GC holding the thread once) in 40 read as a loop that
 * synchronous work holds. Under that many, the readings over the threshold are counted from the
 * buckets (a minute's rollup counting once, which only longer windows hold).
 */
function sustainedLag(series: readonly SeriesInput[], lag: MetricSummary): boolean {
  const r = DIAGNOSIS_RULES.eventLoopBlocked;
  if (lag.count * 0.01 >= r.minReadingsOver) return true;
  let over = 0;
  for (const { stats, pieces: p } of series) {
    if (stats.name !== r.metric || stats.tags.instance !== undefined) continue;
    for (let i = 0; i < p.n; i++) if (p.count[i]! > 0 && p.max[i]! >= r.p99WarningMs) over++;
  }
  return over >= r.minReadingsOver;
}

/**
 * Of the lag's readings at the threshold or more (each bucket's highest, where the main thread's
 * wait for a CPU was read in the same bucket), how many that wait explains: less the wait, the
 * loop was late by less than the threshold. Undefined where no such reading was taken (off
 * Linux, or data from before the wait was recorded). A loop is late by the time its thread,
 * ready to run, finds no CPU free: on a machine busy with other processes a healthy service's
 * 3%-busy loop was late 590 ms at p99, and was told that synchronous work held it. The wait
 * is not set against the lag as a share: on that machine a loop its own code held 400 ms (of
 * CPU) was late 2 s, most of it waiting, and its code is still what held it 400 ms. A
 * minute's rollup gives its highest lag and highest wait, which may be of different seconds.
 * On a hub, a member's (`instance`): the cluster-wide series merge every process's readings,
 * whose highest lag and highest wait in a bucket may be of different processes.
 */
function cpuWaits(series: readonly SeriesInput[], instance: string | undefined, of: (s: SeriesStats) => boolean = (s) => s.name === DIAGNOSIS_RULES.eventLoopBlocked.metric, threshold: number = DIAGNOSIS_RULES.eventLoopBlocked.p99WarningMs): { over: number; waited: number } | undefined {
  const highest = (take: (s: SeriesStats) => boolean): Map<number, number> => {
    const out = new Map<number, number>();
    for (const { stats, pieces: p } of series) {
      if (!take(stats) || stats.tags.instance !== instance) continue;
      for (let i = 0; i < p.n; i++) if (p.count[i]! > 0) out.set(p.start[i]!, Math.max(out.get(p.start[i]!) ?? 0, p.max[i]!));
    }
    return out;
  };
  const waits = highest((s) => s.name === DIAGNOSIS_RULES.eventLoopBlocked.waitMetric);
  if (waits.size === 0) return undefined;
  let over = 0;
  let waited = 0;
  for (const [start, late] of highest(of)) {
    const wait = waits.get(start);
    if (late < threshold || wait === undefined) continue;
    over++;
    if (late - wait < threshold) waited++;
  }
  return over > 0 ? { over, waited } : undefined;
}

const eventLoopBlocked: Rule = ({ metrics, series, window }) => {
  const r = DIAGNOSIS_RULES.eventLoopBlocked;
  const lag = metrics.get(r.metric);
  const elu = metrics.get(r.utilizationMetric);
  const evidence: Evidence[] = [];
  let severity: DiagnosisSeverity | undefined;
  let where = '';
  const late = judged(lag) && lag.p99 >= r.p99WarningMs && sustainedLag(series, lag);
  // Late mostly while the thread waited for a CPU: the machine's doing, not the loop's code.
  // On a hub, the member whose loop is worst, which the diagnosis names.
  const waits = late ? cpuWaits(series, worstMember(series, r.metric, 'p99')?.tags.instance) : undefined;
  const starved = waits !== undefined && waits.waited * 2 > waits.over;
  const delayed = late && !starved;
  const out: Diagnosis[] = starved ? [cpuWait(lag!, waits, series, metrics, window)] : [];
  if (delayed) {
    severity = lag.p99 >= r.p99CriticalMs ? 'critical' : 'warning';
    evidence.push(ev(r.metric, 'p99', lag.p99, lag.p99 >= r.p99CriticalMs ? r.p99CriticalMs : r.p99WarningMs, 'ms', window));
    // A hub's report: the member whose own loop is worst, which is where to profile.
    const worst = worstMember(series, r.metric, 'p99');
    if (worst !== undefined && worst.p99 >= r.p99WarningMs) {
      evidence.push(ev(r.metric, 'p99', worst.p99, worst.p99 >= r.p99CriticalMs ? r.p99CriticalMs : r.p99WarningMs, 'ms', window, worst.tags));
      where = `; worst in member "${isolated(worst.tags.instance!)}", p99 ${round(worst.p99)} ms`;
    }
  }
  if (judged(elu) && elu.mean >= r.utilizationWarning) {
    severity ??= 'warning';
    evidence.push(ev(r.utilizationMetric, 'mean', elu.mean, r.utilizationWarning, 'ratio', window));
  }
  if (!severity) return out;
  return [
    ...out,
    {
      id: 'event-loop-blocked',
      title: 'Event loop blocked',
      severity,
      category: 'cpu',
      summary: `The main thread's event loop was ${delayed ? `delayed (p99 ${round(lag.p99)} ms${where})` : `busy running JavaScript ${percent(elu!.mean)} of the time`}: synchronous work holds it, and every request waits behind it.`,
      evidence,
      actions: [
        "Profile the main thread while the loop is blocked (capture_performance_profile, monitor.profile({ kind: 'cpu' }), or a rule on event_loop_lag with capture: 'cpu', which takes one when it fires) and find the long synchronous functions.",
        'Move CPU-heavy work (parsing, formula evaluation, compression, crypto) to worker threads or a piscina pool.',
        'Break long loops into chunks that yield (setImmediate) and stream large JSON instead of JSON.parse/stringify at once.',
      ],
    },
  ];
};

/** The event loop late while its thread waited for a CPU (cpuWaits): what holds the CPUs is where to look, not the service's code. */
function cpuWait(lag: MetricSummary, waits: { over: number; waited: number }, series: readonly SeriesInput[], metrics: ReadonlyMap<string, MetricSummary>, window: TimeWindow): Diagnosis {
  const r = DIAGNOSIS_RULES.eventLoopBlocked;
  const critical = lag.p99 >= r.p99CriticalMs;
  const evidence = [
    ev(r.metric, 'p99', lag.p99, critical ? r.p99CriticalMs : r.p99WarningMs, 'ms', window),
    ev(r.waitMetric, `share of the ${r.metric} readings ≥ ${r.p99WarningMs} ms that the wait for a CPU brings under ${r.p99WarningMs} ms`, waits.waited / waits.over, 0.5, 'ratio', window),
  ];
  const worst = worstMember(series, r.metric, 'p99');
  const where = worst !== undefined && worst.p99 >= r.p99WarningMs ? `; worst in member "${isolated(worst.tags.instance!)}", p99 ${round(worst.p99)} ms` : '';
  const cpu = metrics.get(DIAGNOSIS_RULES.cpuSaturation.metric);
  const busy = judged(cpu) ? `; the machine's CPUs were busy ${percent(cpu.mean / 100)} on average` : '';
  const elu = metrics.get(r.utilizationMetric);
  const ran = judged(elu) ? ` Its loop ran JavaScript ${percent(elu.mean)} of the time.` : '';
  return {
    id: 'event-loop-cpu-wait',
    title: 'Event loop waiting for a CPU',
    severity: critical ? 'critical' : 'warning',
    category: 'cpu',
    summary:
      `The main thread's event loop was delayed (p99 ${round(lag.p99)} ms${where}), mostly waiting for a CPU: in ${waits.waited} of the ${waits.over} readings of ${r.p99WarningMs} ms or more the thread was ready to run and waited for one for all but less than ${r.p99WarningMs} ms of the delay (${r.waitMetric})${busy}. Its own code held the loop less than ${r.p99WarningMs} ms at a time there; other threads or processes held the CPUs, and every request waited behind them.${ran}`,
    evidence,
    actions: [
      "Find what takes the CPUs: the machine's other processes (top, pidstat -u), this process's other threads (worker pools: pool_utilization), and a container's CPU limit, which stops the service at its quota (cgroup cpu.stat: nr_throttled, throttled_usec).",
      'Give the service the CPU it needs: fewer busy processes or threads per core beside it, a higher CPU limit (or none), or a machine with cores to spare; batch work beside it at a lower priority (nice).',
      "A CPU profile of the main thread (capture_performance_profile) shows it mostly idle while this lasts: the time went waiting for a CPU, not to the service's functions. Profile it if event_loop_lag stays high once the CPU is free.",
    ],
  };
}

const gcPressure: Rule = ({ series, window, seconds }) => {
  const r = DIAGNOSIS_RULES.gcPressure;
  const gc = series.filter((s) => s.stats.name === r.metric);
  if (gc.length === 0) return [];
  const pausedMs = gc.reduce((a, s) => a + s.stats.sum, 0);
  const worst = gc.reduce((a, s) => (s.stats.p99 > a.stats.p99 ? s : a));
  const evidence: Evidence[] = [];
  const said: string[] = [];
  let severity: DiagnosisSeverity | undefined;
  // Each series' pauses over the seconds it stands for: those the store holds of it, where it
  // holds less than the window (SeriesStats.coveredSeconds); over the whole window, a day's
  // report read 6% of the time in pauses as 0.04% at 10 minutes of rollups.
  const held = gc.map((s) => s.stats.coveredSeconds ?? seconds);
  const least = Math.min(...held);
  if (least >= DIAGNOSIS_MINIMUM.seconds) {
    // Over the time the monitor watched (the pauses it did not watch are not in the sum), as every rate is.
    const share = gc.reduce((a, s, i) => a + s.stats.sum / (held[i]! * 1000), 0);
    const most = Math.max(...held);
    const over = least < seconds ? `the last ${round(least)}${most > least ? `–${round(most)}` : ''} s the store holds of ${gc.length === 1 ? 'its GC series' : 'each GC series'}` : `the ${round(seconds)} s watched`;
    said.push(`The process spent ${percent(share)} of ${over} in GC pauses (${round(pausedMs)} ms)`);
    if (share >= r.shareWarning) {
      severity = share >= r.shareCritical ? 'critical' : 'warning';
      evidence.push(ev(r.metric, 'share of wall time in GC pauses', share, share >= r.shareCritical ? r.shareCritical : r.shareWarning, 'ratio', window));
    }
  }
  // A pause is the main thread's wall time: on a thread that waited for a CPU meanwhile (the
  // wait read in the same buckets as its long pauses leaves less than the threshold of them),
  // the length is the machine's, not the collector's. A busy machine's 320 ms minor pauses of
  // a 30 MB heap read as GC pressure beside a loop 4% busy (cpuWaits, as for the lag).
  const waits = worst.stats.p99 >= r.p99WarningMs ? cpuWaits(series, worst.stats.tags.instance, (x) => x === worst.stats, r.p99WarningMs) : undefined;
  if (worst.stats.p99 >= r.p99WarningMs && !(waits !== undefined && waits.waited * 2 > waits.over)) {
    severity ??= 'warning';
    const type = worst.stats.tags.type;
    said.push(`${type ? `Its ${type} GC pauses` : 'GC pauses'} took ${round(worst.stats.p99)} ms at p99`);
    evidence.push(ev(r.metric, 'p99 pause', worst.stats.p99, r.p99WarningMs, 'ms', window, worst.stats.tags));
  }
  if (!severity) return [];
  return [
    {
      id: 'gc-pressure',
      title: 'Garbage-collection pressure',
      severity,
      category: 'memory',
      summary: `${said.join('. ')}.`,
      evidence,
      actions: [
        'Cut allocation on hot paths: reuse buffers and objects, avoid per-request closures and intermediate arrays.',
        'Check for large short-lived objects (big JSON payloads, string concatenation in loops).',
        'If the heap is near its limit (heap_usage, its share of it), raise --max-old-space-size or lower cache sizes.',
      ],
    },
  ];
};

/**
 * The heap after the last full collection from `after` on: the least reading of heap series
 * `heap` from the bucket of that collection to the end. null: its process's collections are
 * observed (gc_pause series of its instance) and none was full since `after`, so no reading
 * shows what survives one; undefined: no collection observed (the runtime's GC observer off),
 * the eighths' floors alone to go by.
 */
function lastFloor(series: readonly SeriesInput[], heap: SeriesInput, after: number): number | null | undefined {
  const r = DIAGNOSIS_RULES.memoryLeak;
  const instance = heap.stats.tags.instance;
  const gcs = series.filter((g) => g.stats.name === r.gcMetric && g.stats.tags.instance === instance);
  if (gcs.length === 0) return undefined;
  let last = -Infinity;
  for (const g of gcs) {
    if (g.stats.tags.type !== r.fullGcType) continue;
    const p = g.pieces;
    for (let i = 0; i < p.n; i++) if (p.count[i]! > 0 && p.start[i]! >= after && p.start[i]! > last) last = p.start[i]!;
  }
  if (last === -Infinity) return null;
  const p = heap.pieces;
  let least = Infinity;
  for (let i = 0; i < p.n; i++) if (p.count[i]! > 0 && p.start[i]! >= last && p.min[i]! < least) least = p.min[i]!;
  return Number.isFinite(least) ? least : null;
}

/** `s` seconds as minutes or seconds. */
const timeLeft = (s: number): string => (s >= 120 ? `${round(s / 60, 2)} minutes` : `${Math.max(1, Math.round(s))} s`);

/**
 * The heap against its limit (heap_usage: --max-old-space-size, or V8's default, less the young
 * generation), where V8 ends the process ("JavaScript heap out of memory"). V8 gives up from
 * 80% of the limit already, once four full collections in a row reclaim little while taking
 * most of the thread's time ("Ineffective mark-compacts near heap limit"): hosts under
 * --max-old-space-size=64 growing 1-4 MB/s died at 81-82%. So the rule reads the latest
 * reading against 70% and 80%, and the growth of the newest minute (each bucket's mean) for the
 * time left to 80%: a heap at 55% growing 1%/s is said to have 25 s, not left to a report that
 * reads only levels. Where heap_used of the same process was read, the limit is said in MiB.
 */
const heapNearLimit: Rule = ({ series, window }) => {
  const r = DIAGNOSIS_RULES.heapNearLimit;
  const out: Diagnosis[] = [];
  // On a hub, each member's own series: the cluster-wide one mixes every process's heap (and
  // the hub's), whose last reading is whichever wrote last.
  const hub = series.some((s) => s.stats.name === r.metric && s.stats.tags.instance !== undefined);
  for (const s of series) {
    if (s.stats.name !== r.metric || s.stats.count === 0 || (hub && s.stats.tags.instance === undefined)) continue;
    const now = s.stats.value;
    if (!Number.isFinite(now)) continue;
    const p = s.pieces;
    const times: number[] = [];
    const values: number[] = [];
    const newest = p.n > 0 ? p.start[p.n - 1]! : 0;
    for (let i = 0; i < p.n; i++) {
      if (p.count[i]! > 0 && p.start[i]! > newest - r.fitMs) {
        times.push(p.start[i]!);
        values.push(p.sum[i]! / p.count[i]!);
      }
    }
    const fit = times.length >= r.minFitBuckets ? leastSquares(times, values) : null;
    const perSecond = fit && fit.slopePerSecond > 0 ? fit.slopePerSecond : 0;
    const toCritical = perSecond > 0 && now < r.critical ? (r.critical - now) / perSecond : undefined;
    const soon = toCritical !== undefined && toCritical <= r.soonSeconds && now >= r.minSeen;
    if (now < r.warning && !soon) continue;
    const used = series.find((x) => x.stats.name === r.bytesMetric && sameTags(x.stats.tags, s.stats.tags))?.stats.value;
    const limit = used !== undefined && Number.isFinite(used) && now > 0 ? used / (now / 100) : undefined;
    const of = limit !== undefined ? ` (${round(used! / MiB)} MiB of ${round(limit / MiB)} MiB)` : '';
    const growth = perSecond > 0 ? ` and grew ${round(perSecond, 2)} points/s over the newest minute${limit !== undefined ? ` (${round((perSecond / 100) * limit / MiB, 2)} MiB/s)` : ''}` : '';
    const left = perSecond > 0 ? (now < r.critical ? `: at that pace it reaches ${r.critical}% in about ${timeLeft(toCritical!)}, and the limit in ${timeLeft((100 - now) / perSecond)}` : `: at that pace it reaches the limit in about ${timeLeft((100 - now) / perSecond)}`) : '';
    const who = s.stats.tags.instance !== undefined ? ` of ${tagsLabel(s.stats.tags)}` : '';
    const evidence = [ev(r.metric, 'last', now, now >= r.critical ? r.critical : r.warning, 'percent', window, s.stats.tags)];
    if (perSecond > 0) evidence.push(ev(r.metric, 'growth over the newest minute', perSecond, 0, 'percent/s', window, s.stats.tags));
    out.push({
      id: 'heap-near-limit',
      title: 'Heap near its limit',
      severity: now >= r.critical || soon ? 'critical' : 'warning',
      category: 'memory',
      summary: `The main thread's heap${who} is at ${round(now)}% of its limit${of}${growth}${left}. V8 ends the process at the limit, and from ${r.critical}% already when full collections reclaim little ("JavaScript heap out of memory").`,
      evidence,
      actions: [
        perSecond > 0
          ? 'Find what grows: take a heap profile now (capture_performance_profile with kind heap, or monitor.profile({ kind: \'heap\' })), or two heap snapshots a little apart, and bound the cache, queue or map that holds it.'
          : 'Find what holds the heap: a heap profile (capture_performance_profile with kind heap, or monitor.profile({ kind: \'heap\' })) names the allocation sites; bound caches and queues by size.',
        'Give the heap room: raise --max-old-space-size (or NODE_OPTIONS) and the container\'s memory limit with it, leaving room for buffers and native memory outside the heap (rss).',
        'Alert before it ends: a rule on heap_usage (e.g. heap_usage > 75) fires whatever each service\'s flag is.',
      ],
    });
  }
  return out;
};

const memoryLeak: Rule = ({ series, window }) => {
  const r = DIAGNOSIS_RULES.memoryLeak;
  const out: Diagnosis[] = [];
  for (const s of series) {
    if (s.stats.name !== r.metric) continue;
    const p = s.pieces;
    const filled: number[] = [];
    for (let i = 0; i < p.n; i++) if (p.count[i]! > 0) filled.push(i);
    if (filled.length < r.segments * 2) continue;
    const t0 = p.start[filled[0]!]!;
    const span = p.start[filled[filled.length - 1]!]! - t0;
    if (span < r.minSpanMs) continue;
    // The floor of each segment is the heap after collection: growth that survives GC.
    const floors: { t: number; v: number }[] = [];
    for (let k = 0; k < r.segments; k++) {
      const lo = t0 + (span * k) / r.segments;
      const hi = k === r.segments - 1 ? Infinity : t0 + (span * (k + 1)) / r.segments;
      let best: { t: number; v: number } | undefined;
      for (const i of filled) {
        const at = p.start[i]!;
        if (at >= lo && at < hi && (!best || p.min[i]! < best.v)) best = { t: at, v: p.min[i]! };
      }
      if (best) floors.push(best);
    }
    if (floors.length < 3) continue;
    // Where the process's collections are observed, the heap after the last full collection
    // since the first eighth, not the last eighth's floor: between full collections the floor
    // holds the garbage the minor ones promoted, and rises with it. Healthy services with 14 MB
    // heaps, two full collections at their start and none after, were each told their floor
    // "after collections" rose 10-14% in 5 minutes, a leak, while a forced GC found 0.2 MB more.
    const end = lastFloor(series, s, t0 + span / r.segments);
    if (end === null) continue;
    let rising = 0;
    for (let k = 1; k < floors.length; k++) if (floors[k]!.v > floors[k - 1]!.v) rising++;
    const risingShare = rising / (floors.length - 1);
    const growth = ((end ?? floors[floors.length - 1]!.v) - floors[0]!.v) / floors[0]!.v;
    const fit = leastSquares(floors.map((f) => f.t), floors.map((f) => f.v));
    if (!fit || risingShare < r.minRisingShare || growth < r.minGrowth || fit.slopePerHour < r.minBytesPerHour) continue;
    out.push({
      id: 'suspected-memory-leak',
      title: 'Suspected memory leak',
      severity: growth >= 0.5 ? 'critical' : 'warning',
      category: 'memory',
      summary: `The heap's floor after collections rose ${round(growth * 100)}% over ${round(span / 60_000)} minutes (${round(fit.slopePerHour / MiB)} MiB/h), in ${rising} of ${floors.length - 1} steps: memory that survives GC keeps growing.`,
      evidence: [
        ev(r.metric, 'growth of the post-GC floor', growth, r.minGrowth, 'ratio', window, s.stats.tags),
        ev(r.metric, 'slope of the post-GC floor', fit.slopePerHour, r.minBytesPerHour, 'bytes/h', window, s.stats.tags),
        ev(r.metric, 'share of rising floors', risingShare, r.minRisingShare, 'ratio', window, s.stats.tags),
      ],
      actions: [
        'Take two heap snapshots some minutes apart (node --heapsnapshot-signal=SIGUSR2, or Chrome DevTools) and compare retained sizes.',
        'Look for unbounded caches and maps keyed by request data, listeners added per request, and timers never cleared.',
        'Bound every cache (size and TTL) and check that closed connections release their buffers.',
      ],
    });
  }
  return out;
};

const cpuSaturation: Rule = ({ metrics, window }) => {
  const r = DIAGNOSIS_RULES.cpuSaturation;
  const cpu = metrics.get(r.metric);
  if (!judged(cpu)) return [];
  // The mean decides; p95 only its severity. Bursts to full on a CPU idle most of the time
  // queue nothing for long: a p95 alone called a 59% mean critical beside a cpu score of 100.
  if (cpu.mean < r.meanWarning) return [];
  const critical = cpu.p95 >= r.p95Critical;
  return [
    {
      id: 'cpu-saturation',
      title: 'CPU saturation',
      severity: critical ? 'critical' : 'warning',
      category: 'cpu',
      summary: `The machine's CPUs were busy ${percent(cpu.mean / 100)} on average (p95 ${percent(cpu.p95 / 100)}): work queues up behind them.`,
      evidence: [ev(r.metric, 'mean', cpu.mean, r.meanWarning, 'percent', window), ev(r.metric, 'p95', cpu.p95, r.p95Critical, 'percent', window)],
      actions: [
        "Find the hot code with a CPU profile of the main thread while the CPU is busy (capture_performance_profile, or monitor.profile({ kind: 'cpu' })) and cache or precompute what repeats; a profile mostly idle says the CPU goes to other threads or processes.",
        'Lower concurrency of CPU-bound pools to the core count; shed or queue load instead of oversubscribing.',
        'Scale out (more instances or cores) if the profile shows the work is necessary.',
      ],
    },
  ];
};

const ioWait: Rule = ({ metrics, window }) => {
  const r = DIAGNOSIS_RULES.ioWait;
  const io = metrics.get(r.metric);
  if (!judged(io) || io.mean < r.meanWarning) return [];
  return [
    {
      id: 'io-wait',
      title: 'CPU waiting on I/O',
      severity: io.mean >= r.meanCritical ? 'critical' : 'warning',
      category: 'network',
      summary: `CPUs sat idle waiting for disk or network I/O ${percent(io.mean / 100)} of the time on average.`,
      evidence: [ev(r.metric, 'mean', io.mean, io.mean >= r.meanCritical ? r.meanCritical : r.meanWarning, 'percent', window)],
      actions: [
        'Find the processes doing the I/O (iostat -x, pidstat -d) and whether it is this service.',
        'Batch small writes, use streams instead of reading whole files, and avoid synchronous fs calls.',
        'Move hot files to faster storage or cache them in memory; check for swapping (memory_usage near 100%).',
      ],
    },
  ];
};

/** `endpoint="/pay",method="POST"` of a series' tags, or 'no tags'. */
function tagsLabel(tags: Readonly<Record<string, string>>): string {
  // Quoted and escaped as every other answer writes a series (series-text.ts): unquoted,
  // {route:'a', x:'1'} and {route:'a,x=1'} read alike.
  return tagsText(tags) || 'no tags';
}

/** The label of a hub member's series without its `instance`: that of its cluster-wide twin. */
function twinLabel(tags: Readonly<Record<string, string>>): string {
  return tagsLabel(Object.fromEntries(Object.entries(tags).filter(([k]) => k !== 'instance')));
}

/**
 * On a hub, `items` less each member's whose cluster-wide twin (the same tags but `instance`)
 * is among them: said once, there. A member's alone is kept.
 */
function withoutMemberTwins<T>(items: readonly T[], tagsOf: (item: T) => Readonly<Record<string, string>>): T[] {
  const clusterWide = new Set(items.filter((i) => tagsOf(i).instance === undefined).map((i) => twinLabel(tagsOf(i))));
  return items.filter((i) => tagsOf(i).instance === undefined || !clusterWide.has(twinLabel(tagsOf(i))));
}

/**
 * The series of error_rate that failed, most failures first: a request's error_rate sample is
 * 1 or 0, so a series' sum is its failed requests. On a hub, a member's series is left out
 * when the cluster-wide series of the same tags holds its failures.
 */
function failingSeries(series: readonly SeriesInput[], metric: string): SeriesStats[] {
  const failing = series.map((s) => s.stats).filter((s) => s.name === metric && s.sum > 0);
  return withoutMemberTwins(failing, (s) => s.tags).sort((a, b) => b.sum - a.sum || b.mean - a.mean);
}

const errorBurst: Rule = ({ series, metrics, window }) => {
  const r = DIAGNOSIS_RULES.errorBurst;
  const overall = metrics.get(r.metric);
  if (!overall || overall.count === 0) return [];
  // On a hub, a member's bursts are its cluster-wide series' too: said once, there.
  const own = series.filter((s) => s.stats.name === r.metric);
  const bursts = withoutMemberTwins(own, (s) => s.stats.tags).flatMap((s) => burstsOf(s.pieces, s.stats.tags, r)).sort((a, b) => b.failed - a.failed);
  const worst = bursts
    .slice(0, r.named)
    .map((b) => `${tagsLabel(b.tags)} ${b.failed} of ${b.requests} requests failed (${percent(b.failed / b.requests)}) in ${round((b.to - b.from) / 1000)} s from ${new Date(b.from).toISOString()}`)
    .join('; ') + (bursts.length > r.named ? `; ${bursts.length - r.named} more` : '');
  const evidence = bursts.slice(0, 10).map((b) => ev(r.metric, 'error rate of a burst', b.failed / b.requests, r.burstRate, 'ratio', { from: b.from, to: b.to }, b.tags));
  // A share of the requests needs requests enough to be one: one failed request of one (a
  // monitor restarted on a quiet dataDir) read as a critical "100% of requests failed".
  const high = overall.mean >= r.overallWarning && overall.count >= r.minEvents;
  if (bursts.length === 0 && !high) return [];
  // Which endpoints failed: the mean over every series says how many requests failed, not
  // where (15% overall was one route failing every request beside healthy ones).
  const failing = failingSeries(series, r.metric);
  const named = failing.slice(0, r.named).map((s) => `${Object.keys(s.tags).length ? tagsLabel(s.tags) : 'untagged'} ${percent(s.mean)} of ${s.count}`);
  const where = named.length ? ` Most failures: ${named.join('; ')}${failing.length > named.length ? `; ${failing.length - named.length} more` : ''}.` : '';
  if (high) evidence.unshift(ev(r.metric, 'mean over the window', overall.mean, r.overallWarning, 'ratio', window), ...failing.slice(0, r.named).map((s) => ev(r.metric, 'mean over the window', s.mean, r.overallWarning, 'ratio', window, s.tags)));
  // Outgoing calls that failed in the window (instrument()'s http client and fetch): only they
  // make retries and circuit breakers the fix. A route answering its own 503s and calling
  // nothing was told to add them, and to correlate "the burst times" of a steady 9.4%.
  const calls = failingSeries(series, r.callMetric);
  const callNames = calls.slice(0, r.named).map((s) => `${tagsLabel(s.tags)} ${percent(s.mean)} of ${s.count}`);
  evidence.push(...calls.slice(0, r.named).map((s) => ev(r.callMetric, 'mean over the window', s.mean, 0, 'ratio', window, s.tags)));
  const routes = failing.slice(0, r.named).map((s) => (Object.keys(s.tags).length ? tagsLabel(s.tags) : 'the untagged requests'));
  const actions = [
    routes.length
      ? `Start with ${routes.join('; ')}${failing.length > routes.length ? ` (and ${failing.length - routes.length} more)` : ''}: read ${failing.length === 1 ? 'its' : 'their'} 5xx responses and the error logs of ${failing.length === 1 ? 'its handler' : 'their handlers'} in the window, and whether the handler answers the error itself (a 503 of its own, a thrown exception) or passes on one of something it calls.`
      : 'Read the 5xx responses and the error logs of the window: which handler answered them, and whether it answered the error itself or passed on one of something it calls.',
    bursts.length
      ? 'Correlate the burst times with deploys, dependency outages and alert transitions; read the error logs of those minutes.'
      : 'The failures came steadily over the window, at no moment in particular: look for a cause present the whole time (an error path of the handler, its configuration, a resource it lacks) rather than an outage of some minutes.',
    ...(calls.length
      ? [`Outgoing calls failed in the window too (${r.callMetric}: ${callNames.join('; ')}${calls.length > callNames.length ? `; ${calls.length - callNames.length} more` : ''}): add retries with backoff and timeouts on calls to those hosts, and a circuit breaker for the flaky ones.`]
      : []),
    `Alert on error_rate by endpoint over a short window so the next ${bursts.length ? 'burst' : 'rise'} is caught while it happens.`,
  ];
  return [
    {
      id: 'error-burst',
      title: high ? 'High error rate' : 'Error-rate bursts',
      severity: high ? 'critical' : 'warning',
      category: 'network',
      summary:
        (high
          ? `${percent(overall.mean)} of requests failed over the window${bursts.length ? `, with ${bursts.length} burst${bursts.length === 1 ? '' : 's'}: ${worst}` : ''}.`
          : `${bursts.length} burst${bursts.length === 1 ? '' : 's'} of errors at ${percent(r.burstRate)} or more of a series' requests and ${r.overFactor}× its rate outside them (${percent(overall.mean)} overall): ${worst}.`) + where,
      evidence,
      actions,
    },
  ];
};

const lowCacheHitRate: Rule = ({ metrics, window }) => {
  const r = DIAGNOSIS_RULES.lowCacheHitRate;
  const cache = metrics.get(r.metric);
  if (!cache || cache.count < r.minEvents || cache.mean >= r.meanWarning) return [];
  return [
    {
      id: 'low-cache-hit-rate',
      title: 'Low cache hit rate',
      severity: cache.mean < r.meanCritical ? 'critical' : 'warning',
      category: 'cache',
      summary: `Only ${percent(cache.mean)} of ${cache.count} cache lookups hit.`,
      evidence: [ev(r.metric, 'mean (hit ratio)', cache.mean, r.meanWarning, 'ratio', window)],
      actions: [
        "Raise the cache size if evictions are frequent. For perfwatch to tune it, the service's code registers the size as a knob (monitor.registerTunable({ name, type: 'cache', get, set, min, max, step, target: 'cache_hit_rate' })); an optimisation of type cache then steps it, verifying each step.",
        'Lengthen TTLs of data that rarely changes; check that cache keys are stable (no timestamps or random ids in them).',
        'Warm the cache at start-up for the hottest keys.',
      ],
    },
  ];
};

const sameTags = (a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean => JSON.stringify(a) === JSON.stringify(b);

const poolSaturation: Rule = ({ series, window }) => {
  const r = DIAGNOSIS_RULES.poolSaturation;
  const out: Diagnosis[] = [];
  const conns = series.filter((s) => s.stats.name === r.metric);
  const sizes = series.filter((s) => s.stats.name === r.sizeMetric);
  for (const c of conns) {
    const size = sizes.find((s) => sameTags(s.stats.tags, c.stats.tags)) ?? (sizes.length === 1 ? sizes[0] : undefined);
    if (size && size.stats.max > 0) {
      const utilization = c.stats.p95 / size.stats.max;
      if (utilization < r.utilizationWarning) continue;
      out.push({
        id: 'database-pool-saturation',
        title: 'Database pool saturation',
        severity: utilization >= r.utilizationCritical ? 'critical' : 'warning',
        category: 'database',
        summary: `Connections in use reached ${percent(utilization)} of the pool (p95 ${round(c.stats.p95)} of ${size.stats.max}): queries wait for a free connection.`,
        evidence: [ev(r.metric, 'p95 / pool size', utilization, r.utilizationWarning, 'ratio', window, c.stats.tags)],
        actions: poolActions,
      });
      continue;
    }
    // No pool size recorded: a connection count pinned at its maximum is the tell.
    const p = c.pieces;
    let filled = 0;
    let pinned = 0;
    for (let i = 0; i < p.n; i++) {
      if (p.count[i]! === 0) continue;
      filled++;
      if (p.max[i]! >= c.stats.max * 0.999) pinned++;
    }
    if (filled < r.plateauMinBuckets || !(c.stats.max > 0)) continue;
    const atMax = pinned / filled;
    if (atMax < r.plateauShare) continue;
    out.push({
      id: 'database-pool-saturation',
      title: 'Database pool appears pinned at its size',
      severity: 'info',
      category: 'database',
      summary: `Connections in use sat at their maximum (${c.stats.max}) in ${percent(atMax)} of the buckets. Record database_pool_size to measure utilization exactly.`,
      evidence: [ev(r.metric, 'share of buckets at the maximum', atMax, r.plateauShare, 'ratio', window, c.stats.tags)],
      actions: poolActions,
    });
  }
  return out;
};

const poolActions = [
  "Raise the pool size if the database has headroom. For perfwatch to tune it, the service's code registers the size as a knob (monitor.registerTunable({ name, type: 'database', get, set, min, max, step, target: 'response_time' })); an optimisation of type database then steps it, verifying each step.",
  'Find slow queries holding connections (EXPLAIN, slow-query log) and add the missing indexes.',
  'Release connections promptly: no network calls or long computations inside a transaction.',
];

/** `850 ms`, `3.76 s`. */
const duration = (ms: number): string => (ms >= 1000 ? `${round(ms / 1000)} s` : `${round(ms)} ms`);

/**
 * A worker pool that cannot keep up (instrument()'s piscina series, tagged pool): its threads
 * running tasks 90% of the time or more while its tasks wait in its queue at least as long as
 * they run; critical when the queue grew over the window (its first quarter against its last,
 * or the data before it against it), which is work arriving faster than the threads take it.
 * A pool busy all the time whose tasks hardly wait is well sized, not saturated. Without this
 * rule a saturated pool was said only as a slow endpoint, whose actions point at the event
 * loop and at downstream calls.
 */
const workerPoolSaturation: Rule = ({ series, window }) => {
  const r = DIAGNOSIS_RULES.workerPoolSaturation;
  const of = (metric: string, tags: Readonly<Record<string, string>>): SeriesStats | undefined => series.find((s) => s.stats.name === metric && sameTags(s.stats.tags, tags))?.stats;
  const found: { tags: Readonly<Record<string, string>>; diagnosis: Diagnosis }[] = [];
  for (const { stats: busy } of series) {
    if (busy.name !== r.metric || busy.count < DIAGNOSIS_MINIMUM.readings || busy.mean < r.utilizationWarning) continue;
    const wait = of(r.waitMetric, busy.tags);
    const run = of(r.runMetric, busy.tags);
    if (!wait || !run || !(wait.mean >= run.mean)) continue;
    const change = of(r.queueMetric, busy.tags)?.change;
    const grew = change != null && change.currentMean - change.baselineMean >= r.minQueueGrowth && change.currentMean >= 2 * change.baselineMean;
    const name = `${busy.tags.pool !== undefined ? `"${isolated(busy.tags.pool)}"` : tagsLabel(busy.tags)}${busy.tags.instance !== undefined ? ` of member "${isolated(busy.tags.instance)}"` : ''}`;
    const quarters = change?.basis === 'first-quarter';
    const evidence = [ev(r.metric, 'mean', busy.mean, r.utilizationWarning, 'ratio', window, busy.tags), ev(r.waitMetric, 'mean', wait.mean, round(run.mean, 4), 'ms', window, busy.tags)];
    if (grew) evidence.push(ev(r.queueMetric, quarters ? 'mean of the last quarter' : 'mean over the window', change.currentMean, round(change.baselineMean, 4), 'count', change.currentWindow, busy.tags));
    found.push({
      tags: busy.tags,
      diagnosis: {
        id: 'worker-pool-saturation',
        title: 'Worker pool saturated',
        severity: grew ? 'critical' : 'warning',
        category: 'concurrency',
        summary:
          `The worker pool ${name} was running tasks ${percent(busy.mean)} of its threads' time, and its tasks waited ${duration(wait.mean)} in its queue on average, ${round(wait.mean / run.mean)}× the ${duration(run.mean)} they ran` +
          (grew
            ? `; its queue grew from ${round(change.baselineMean)} to ${round(change.currentMean)} tasks (${quarters ? 'the first quarter of the window against the last' : 'before the window against in it'}): work arrives faster than its threads take it.`
            : ': its threads are all busy, and tasks queue for them.'),
        evidence,
        actions: [
          "Raise the pool's maxThreads if the machine has cores to spare (cpu_usage well under 85%): piscina fixes it at construction, so the pool is made anew with more; with the cores busy, more threads only share them.",
          "Bound the queue (piscina's maxQueue) and answer what overflows at once (503 with Retry-After) rather than let every task wait longer: a queue that keeps growing adds its whole length to each task's wait.",
          'Make each task cheaper (pool_run_time says how long one runs: profile a task, batch small ones, cache results that repeat), or scale out to more instances.',
        ],
      },
    });
  }
  // On a hub, a pool saturated cluster-wide once, not again for each member; a member saturated alone is named.
  return withoutMemberTwins(found, (f) => f.tags).map((f) => f.diagnosis);
};

const slowFormula: Rule = ({ metrics, window }) => {
  const r = DIAGNOSIS_RULES.slowFormula;
  const f = metrics.get(r.metric);
  if (!f || f.count === 0 || f.p95 < r.p95WarningMs) return [];
  return [
    {
      id: 'slow-formula-calculation',
      title: 'Slow formula calculation',
      severity: f.p95 >= r.p95CriticalMs ? 'critical' : 'warning',
      category: 'formula',
      summary: `Formula evaluation took ${round(f.p95)} ms at p95 (${round(f.mean)} ms on average, ${f.count} evaluations).`,
      evidence: [ev(r.metric, 'p95', f.p95, f.p95 >= r.p95CriticalMs ? r.p95CriticalMs : r.p95WarningMs, 'ms', window)],
      actions: [
        'Cache results of formulas whose inputs did not change (memoise on the dependency values).',
        'Recalculate only the cells downstream of a change (dependency graph) instead of the whole sheet.',
        'Run large recalculations in a worker pool so they do not block the event loop.',
      ],
    },
  ];
};

/**
 * Endpoints slow at p95, each on its own: the latency part of the score is the p95 of every
 * request together, in which a slow endpoint among many fast requests (health checks, static
 * files) does not show — a checkout at 1.4 s beside 20 ms pages scored latency 100.
 */
const slowEndpoints: Rule = ({ series, metrics, window }) => {
  const r = DIAGNOSIS_RULES.slowEndpoints;
  const slowAll = series.map((s) => s.stats).filter((s) => s.name === r.metric && s.count >= r.minEvents && s.p95 >= r.p95WarningMs);
  // On a hub, an endpoint slow cluster-wide once, not again for each member; a member slow alone is named.
  const slow = withoutMemberTwins(slowAll, (s) => s.tags).sort((a, b) => b.p95 - a.p95);
  if (slow.length === 0) return [];
  const all = metrics.get(r.metric);
  const critical = slow[0]!.p95 >= r.p95CriticalMs;
  const named = slow.slice(0, 3).map((s) => `${tagsLabel(s.tags)} ${round(s.p95)} ms (${s.count} requests)`);
  // Where the time went, from what the report holds beside: outgoing calls (api_response_time
  // by host) that took half a slow endpoint's p95 or more, and an event loop free meanwhile.
  // Without them a checkout awaiting a payments API at 1.25 s was named, and its reader left
  // to find the host among the series.
  const least = slow[slow.length - 1]!.p95 * r.callShare;
  const callsAll = series.map((s) => s.stats).filter((s) => s.name === r.callMetric && s.count >= r.minEvents && s.p95 >= least);
  const calls = withoutMemberTwins(callsAll, (s) => s.tags).sort((a, b) => b.p95 - a.p95);
  const lag = metrics.get(DIAGNOSIS_RULES.eventLoopBlocked.metric);
  const free = judged(lag) && lag.p99 < DIAGNOSIS_RULES.eventLoopBlocked.p99WarningMs ? lag : undefined;
  // A loop late mostly for want of a CPU (cpuWaits, as event-loop-cpu-wait says): on a busy
  // machine a handler that computes nothing was told "the time went computing" and sent to a
  // CPU profile, which shows it idle.
  const late = judged(lag) && lag.p99 >= DIAGNOSIS_RULES.eventLoopBlocked.p99WarningMs;
  const waits = late ? cpuWaits(series, worstMember(series, DIAGNOSIS_RULES.eventLoopBlocked.metric, 'p99')?.tags.instance) : undefined;
  const starved = waits !== undefined && waits.over < waits.waited * 2;
  const waited = calls.slice(0, 3).map((s) => `${tagsLabel(s.tags)} ${round(s.p95)} ms (${s.count} calls)`);
  return [
    {
      id: 'slow-endpoints',
      title: 'Slow endpoints',
      severity: critical ? 'critical' : 'warning',
      category: 'network',
      summary:
        `${slow.length} series of ${r.metric} answered at p95 in ${r.p95WarningMs} ms or more: ${named.join('; ')}${slow.length > named.length ? '; …' : ''}.` +
        (all && all.p95 < r.p95WarningMs ? ` Over every request together the p95 is ${round(all.p95)} ms, which hides them.` : '') +
        (waited.length ? ` Outgoing calls took half that time or more at p95 in the same window: ${waited.join('; ')}${calls.length > waited.length ? '; …' : ''}.` : '') +
        (free ? ` The event loop was free meanwhile (${free.name} p99 ${round(free.p99)} ms): the time went waiting, not computing.` : '') +
        (starved ? ` The event loop was late meanwhile (${lag!.name} p99 ${round(lag!.p99)} ms), mostly waiting for a CPU (${DIAGNOSIS_RULES.eventLoopBlocked.waitMetric}): other threads or processes held the CPUs.` : ''),
      evidence: [
        ...slow.slice(0, r.shown).map((s) => ev(r.metric, 'p95', s.p95, s.p95 >= r.p95CriticalMs ? r.p95CriticalMs : r.p95WarningMs, 'ms', window, s.tags)),
        ...calls.slice(0, r.shown).map((s) => ev(r.callMetric, 'p95', s.p95, round(least), 'ms', window, s.tags)),
        ...(free ? [ev(free.name, 'p99', free.p99, DIAGNOSIS_RULES.eventLoopBlocked.p99WarningMs, 'ms', window)] : []),
      ],
      actions: slowEndpointActions(slow[0]!, calls, lag, free !== undefined, starved),
    },
  ];
};

/**
 * What to do about slow endpoints, following what the rule found beside them: the slow outgoing
 * calls by host, an event loop free (the time went waiting on something unmeasured) or blocked
 * (computing: profile it), and only where nothing told them apart, both conditionals. A trial's
 * checkout awaiting one host at 1.1 s got "if the event loop was free, …" and "if the handler
 * computes, …", the host the summary had just named left out.
 */
function slowEndpointActions(slowest: SeriesStats, calls: readonly SeriesStats[], lag: MetricSummary | undefined, free: boolean, starved: boolean): string[] {
  const r = DIAGNOSIS_RULES;
  const blocked = !free && judged(lag) && lag.p99 >= r.eventLoopBlocked.p99WarningMs;
  const profile = `capture a CPU profile while it is slow (capture_performance_profile, or a rule with capture: 'cpu' on its response_time) and read its top functions`;
  const out: string[] = [];
  if (calls.length > 0) {
    const hosts = calls.slice(0, 3).map((s) => `${tagsLabel(s.tags)} (${round(s.p95)} ms at p95)`);
    out.push(
      `Start with the outgoing calls to ${hosts.join(', ')}, against ${round(slowest.p95)} ms for ${tagsLabel(slowest.tags)}: give them a timeout inside the endpoint's budget, make independent calls in parallel, cache the answers that allow it, and look at that host's own latency (api_response_time by host).`,
    );
  }
  // Outgoing calls as slow as the endpoint are where its time went, a loop blocked beside them
  // (by another route) or not: a trial's /slow awaiting a host at 1.5 s, beside a /block
  // holding the loop 150 ms, was told "the time went computing" and sent to a CPU profile.
  const call = calls[0]?.p95 ?? 0;
  if (blocked && call >= slowest.p95 * r.slowEndpoints.callExplains) {
    out.push(
      starved
        ? `The event loop was late too (${lag.name} p99 ${round(lag.p99)} ms), mostly waiting for a CPU (${r.eventLoopBlocked.waitMetric}), but that is not where this time went: the outgoing calls took ${round(call)} ms of its ${round(slowest.p95)} ms at p95. A late loop adds up to its lag to every request, whatever it awaits; the diagnosis event-loop-cpu-wait says where to look for what takes the CPUs.`
        : `The event loop was blocked too (${lag.name} p99 ${round(lag.p99)} ms), but that is not where this time went: the outgoing calls took ${round(call)} ms of its ${round(slowest.p95)} ms at p95. A blocked loop adds up to its lag to every request, whatever it awaits; a CPU profile of the main thread (capture_performance_profile) says what holds it.`,
    );
  } else if (blocked && starved) {
    out.push(
      `The event loop was late meanwhile (${lag.name} p99 ${round(lag.p99)} ms) mostly waiting for a CPU (${r.eventLoopBlocked.waitMetric}), not running this service's code: find what takes the CPUs first (the machine's other processes, this process's worker threads, a container's CPU limit; see the diagnosis event-loop-cpu-wait). A CPU profile of the main thread would show it mostly idle.`,
    );
  } else if (blocked && calls.length > 0) {
    out.push(`The event loop was blocked meanwhile (${lag.name} p99 ${round(lag.p99)} ms): the ${round(slowest.p95 - call)} ms at p95 that the outgoing calls do not explain may have gone computing; ${profile}.`);
  } else if (blocked) {
    out.push(`The event loop was blocked meanwhile (${lag.name} p99 ${round(lag.p99)} ms): the time went computing; ${profile}.`);
  } else if (free && calls.length === 0) {
    out.push(
      `The event loop was free meanwhile: the time went waiting on something not measured here (the database, locks, queues, or outgoing calls: monitor.instrument() measures http and fetch calls by host); time each step of one slow request.`,
    );
  } else if (!free) {
    // Neither free nor blocked as far as the report can tell (too few event_loop_lag readings).
    if (calls.length === 0) out.push('If the event loop was free meanwhile (event_loop_lag low), the time went waiting: on the database, on outgoing calls (api_response_time by host), on locks or queues; time each step of one slow request.');
    out.push(`If the handler computes, ${profile}.`);
  }
  out.push(
    `Alert on ${tagsLabel(slowest.tags)} alone: a rule on response_time p95 with its tags, so that the next slowdown is caught while the whole service looks fine.`,
  );
  return out;
}

export const RULES: readonly Rule[] = [eventLoopBlocked, gcPressure, heapNearLimit, memoryLeak, cpuSaturation, ioWait, errorBurst, lowCacheHitRate, poolSaturation, workerPoolSaturation, slowFormula, slowEndpoints];

export function diagnose(input: DiagnosisInput): Diagnosis[] {
  const order: Record<DiagnosisSeverity, number> = { critical: 0, warning: 1, info: 2 };
  return RULES.flatMap((rule) => rule(input)).sort((a, b) => order[a.severity] - order[b.severity]);
}

/** One recommendation per diagnosis, and one per flapping alert. */
export function recommend(diagnoses: readonly Diagnosis[], alerts: AlertAnalysis | null): Recommendation[] {
  const priority = { critical: 'high', warning: 'medium', info: 'low' } as const;
  const out: Recommendation[] = diagnoses.map((d) => ({ id: `fix-${d.id}`, title: d.title, priority: priority[d.severity], category: d.category, source: `diagnosis ${d.id}`, actions: d.actions, evidence: d.evidence }));
  for (const f of alerts?.flapping ?? []) {
    out.push({
      id: `stabilise-alert-${f.ruleId}`,
      title: `Alert rule "${isolated(f.ruleName)}" is flapping`,
      priority: 'medium',
      category: 'alerting',
      source: 'alert analysis',
      actions: ['Add a duration (for) before firing, and a resolve threshold below the firing one (hysteresis).', 'Alert on a smoothed aggregation (avg or p95 over a longer window) instead of last.'],
      evidence: [{ metric: 'alerts', statistic: `firings of ${f.fingerprint} within ${f.windowMs / 60_000} min`, value: f.firings, threshold: 3, unit: 'count', window: alerts!.window }],
    });
  }
  return out;
}
