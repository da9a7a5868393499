import { describe, expect, it } from 'vitest';
import { DIAGNOSIS_MINIMUM, DIAGNOSIS_RULES } from '../dist/src/reports/diagnoses.js';
import { reportOut, reportText } from '../dist/src/mcp/report-answer.js';
import { seeded } from './fixtures/seeded.mjs';
import { T0, synthetic, type Synthetic } from './synthetic.js';

const MiB = 1024 * 1024;
const SECONDS = 1200;
type Gen = (s: number) => number | number[] | undefined;

/** `count` events a second, `bad` of them 1 and the rest 0. */
const ratio = (count: number, bad: number): number[] => Array.from({ length: count }, (_, i) => (i < bad ? 1 : 0));

/** Fills a store with named series for SECONDS seconds and returns its report's diagnoses. */
function diagnosesOf(series: [name: string, tags: Record<string, string>, gen: Gen][]): ReturnType<Synthetic['report']>['diagnoses'] {
  const s = synthetic();
  s.fill(
    SECONDS,
    series.map(([name, tags, gen]) => [s.id(name, tags), gen]),
  );
  return s.report().diagnoses;
}

const rand = seeded(7);
/** Every diagnosed metric, at healthy values. */
const HEALTHY: [string, Record<string, string>, Gen][] = [
  ['event_loop_lag', {}, () => 1 + rand() * 3],
  ['event_loop_utilization', {}, () => 0.2 + rand() * 0.2],
  ['gc_pause', { type: 'minor' }, () => [1.5, 2, 2.5, 1, 2]],
  ['heap_used', {}, (s) => 50 * MiB + (s % 30) * MiB], // a sawtooth whose floor stays put
  ['heap_usage', {}, (s) => 30 + (s % 30) / 2], // well below its limit
  ['cpu_usage', {}, () => 30 + rand() * 20],
  ['cpu_iowait', {}, () => rand() * 2],
  ['error_rate', { endpoint: '/a' }, () => ratio(100, 1)],
  ['cache_hit_rate', {}, () => ratio(100, 95)],
  ['database_connections', {}, (s) => 3 + (s % 5)],
  ['database_pool_size', {}, () => 20],
  ['formula_calculation_time', {}, () => [5, 8, 12, 20]],
  ['response_time', { endpoint: '/pay' }, () => [20, 35, 60, 180, 400]],
  // A piscina pool busy most of the time whose tasks hardly wait: well sized, not saturated.
  ['pool_utilization', { pool: 'render' }, () => 0.9 + rand() * 0.08],
  ['pool_wait_time', { pool: 'render' }, () => 2 + rand() * 10],
  ['pool_run_time', { pool: 'render' }, () => 150],
  ['queue_size', { pool: 'render' }, (s) => s % 2],
];

function only(name: string, tags: Record<string, string>, gen: Gen, id: string, extra: [string, Record<string, string>, Gen][] = []) {
  const diagnoses = diagnosesOf([[name, tags, gen], ...extra]);
  expect(diagnoses.map((d) => d.id)).toEqual([id]);
  const d = diagnoses[0]!;
  expect(d.evidence.length).toBeGreaterThan(0);
  expect(d.actions.length).toBeGreaterThanOrEqual(2);
  for (const e of d.evidence) expect(e.window.to).toBeGreaterThan(e.window.from);
  return d;
}

describe('diagnoses', () => {
  it('stay silent on a healthy service that has every diagnosed metric', () => {
    expect(diagnosesOf(HEALTHY)).toEqual([]);
  });

  it("say a heap near its limit (heap_usage), in MiB of the limit where heap_used was read, and what to do", () => {
    // 48 MiB of a 64 MiB limit: 75%, steady.
    const d = only('heap_usage', {}, () => 75, 'heap-near-limit', [['heap_used', {}, () => 48 * MiB]]);
    expect(d.severity).toBe('warning');
    expect(d.summary).toContain("The main thread's heap is at 75% of its limit (48 MiB of 64 MiB).");
    expect(d.summary).toContain('from 80% already');
    expect(d.summary).not.toContain('grew');
    expect(d.evidence[0]).toMatchObject({ metric: 'heap_usage', statistic: 'last', value: 75, threshold: 70, unit: 'percent' });
    expect(d.actions.join(' ')).toContain('--max-old-space-size');
    expect(only('heap_usage', {}, () => 85, 'heap-near-limit').severity).toBe('critical');
  });

  it("say a hub member's heap near its limit once, with its instance, not the cluster-wide series that mixes every process's heap", () => {
    const d = only('heap_usage', { instance: 'api-2' }, () => 78, 'heap-near-limit', [['heap_usage', {}, () => 78], ['heap_usage', { instance: 'api-1' }, () => 30]]);
    expect(d.summary).toContain(`The main thread's heap of instance="api-2" is at 78% of its limit.`);
    expect(d.evidence[0]!.tags).toEqual({ instance: 'api-2' });
  });

  it('say the time left at the growth of the newest minute: a heap at 57% growing 0.5 points/s is critical before it reaches 70%', () => {
    // Steady at 30% until the last minute, then 0.5 points a second: 57% at the end.
    const grow: Gen = (s) => (s < SECONDS - 60 ? 30 : 30 + (s - (SECONDS - 60)) * 0.5);
    const d = only('heap_usage', {}, grow, 'heap-near-limit', [['heap_used', {}, (s) => (grow(s) as number) / 100 * 64 * MiB]]);
    expect(d.severity).toBe('critical');
    expect(d.summary).toMatch(/is at 5\d(\.\d+)?% of its limit \([\d.]+ MiB of 64 MiB\) and grew 0\.5 points\/s over the newest minute \(0\.32 MiB\/s\): at that pace it reaches 80% in about \d+ s, and the limit in \d+ s/);
    expect(d.evidence.map((e) => e.statistic)).toEqual(['last', 'growth over the newest minute']);
    // The same growth an hour before the end, long since flat at 45%, says nothing.
    expect(diagnosesOf([['heap_usage', {}, (s) => Math.min(45, 30 + s * 0.5)]])).toEqual([]);
  });

  it('event loop blocked: p99 lag over 100 ms, critical over 500', () => {
    const d = only('event_loop_lag', {}, () => [20, 30, 150], 'event-loop-blocked');
    expect(d).toMatchObject({ severity: 'warning', category: 'cpu' });
    expect(d.evidence[0]).toMatchObject({ metric: 'event_loop_lag', statistic: 'p99', threshold: DIAGNOSIS_RULES.eventLoopBlocked.p99WarningMs });
    expect(d.evidence[0]!.value).toBeGreaterThan(140);
    // The profile to take is the monitor's own, while the loop is blocked (not node --cpu-prof, a restart away).
    expect(d.actions[0]).toMatch(/^Profile the main thread while the loop is blocked \(capture_performance_profile, monitor\.profile\(\{ kind: 'cpu' \}\), or a rule on event_loop_lag with capture: 'cpu'/);
    expect(only('event_loop_lag', {}, () => 800, 'event-loop-blocked').severity).toBe('critical');
  });

  it('event loop blocked needs the lag over its threshold in 3 readings, not one stall: the p99 of fewer than 300 readings is their maximum', () => {
    // A healthy service on a busy machine: one second's reading of 106 ms in 40 (the OS or a
    // GC held the thread once) read as "synchronous work holds it", a warning.
    const stalls = (n: number) => {
      const s = synthetic();
      s.fill(40, [[s.id('event_loop_lag', {}), (sec) => (sec >= 20 && sec < 20 + n ? 106 : 3)]]);
      return s.report().diagnoses.map((d) => d.id);
    };
    expect(stalls(1)).toEqual([]);
    expect(stalls(2)).toEqual([]);
    expect(stalls(DIAGNOSIS_RULES.eventLoopBlocked.minReadingsOver)).toEqual(['event-loop-blocked']);
  });

  it('GC pressure: over 5% of wall time in pauses', () => {
    // Five 20 ms pauses a second: 10% of the time.
    const d = only('gc_pause', { type: 'major' }, () => [20, 20, 20, 20, 20], 'gc-pressure');
    expect(d.severity).toBe('warning');
    expect(d.evidence[0]!.value).toBeCloseTo(0.1, 2);
  });

  it('suspected leak: the heap floor after collections keeps rising', () => {
    // The same sawtooth as the healthy case, on a floor that grows 20 KB a second.
    const d = only('heap_used', {}, (s) => 50 * MiB + s * 20_000 + (s % 30) * MiB, 'suspected-memory-leak');
    expect(d.category).toBe('memory');
    const slope = d.evidence.find((e) => e.statistic === 'slope of the post-GC floor')!;
    expect(slope.value).toBeGreaterThan(20_000 * 3600 * 0.9);
    expect(slope.value).toBeLessThan(20_000 * 3600 * 1.1);
  });

  it('suspected leak: where collections are observed, judged by the heap after the last full one, not by floors of uncollected garbage', () => {
    // A trial: healthy services with 14 MB heaps, two full collections at their start and none
    // after, were each told their floor "after collections" rose 10-14% in 5 minutes, a leak: the
    // minor collections promote garbage that only a full one frees (a forced GC found 0.2 MB more).
    const minor: [string, Record<string, string>, Gen] = ['gc_pause', { type: 'minor' }, () => [1, 1.5]];
    const atStart: [string, Record<string, string>, Gen] = ['gc_pause', { type: 'major' }, (s) => (s < 2 ? 5 : undefined)];
    const rising: Gen = (s) => 50 * MiB + s * 20_000 + (s % 30) * MiB;
    expect(diagnosesOf([['heap_used', {}, rising], minor, atStart]).map((d) => d.id)).toEqual([]);
    // A full collection every 10 minutes takes the floor back to where it was: garbage, no leak.
    const majors: [string, Record<string, string>, Gen] = ['gc_pause', { type: 'major' }, (s) => (s % 600 === 0 ? 5 : undefined)];
    expect(diagnosesOf([['heap_used', {}, (s) => 50 * MiB + (s % 600) * 20_000 + (s % 30) * MiB], minor, majors]).map((d) => d.id)).toEqual([]);
    // The heap after each full collection higher than the last: a leak, its growth to the last.
    const d = only('heap_used', {}, rising, 'suspected-memory-leak', [minor, ['gc_pause', { type: 'major' }, (s) => (s % 300 === 0 ? 5 : undefined)]]);
    const growth = d.evidence.find((e) => e.statistic === 'growth of the post-GC floor')!;
    expect(growth.value).toBeCloseTo((900 * 20_000) / (50 * MiB), 2);
  });

  it('CPU saturation: mean over 85%', () => {
    const d = only('cpu_usage', {}, () => 88 + rand() * 4, 'cpu-saturation');
    expect(d.severity).toBe('warning');
    expect(d.actions[0]).toMatch(/^Find the hot code with a CPU profile of the main thread while the CPU is busy \(capture_performance_profile, or monitor\.profile/);
    expect(only('cpu_usage', {}, () => 99, 'cpu-saturation').severity).toBe('critical');
    // Bursts to full on a CPU busy 60% on average are no saturation (docs/reports.md: mean ≥ 85%,
    // critical when p95 ≥ 95% besides): before, p95 alone made it critical, the report's
    // cpu score 100 beside it.
    expect(diagnosesOf([['cpu_usage', {}, (s) => (s % 10 === 0 ? 98 : 55)]]).map((d) => d.id)).toEqual([]);
  });

  it('I/O wait: mean iowait over 10%', () => {
    const d = only('cpu_iowait', {}, () => 30, 'io-wait');
    expect(d.severity).toBe('critical');
    expect(d.evidence[0]).toMatchObject({ metric: 'cpu_iowait', statistic: 'mean', value: 30 });
  });

  it('error bursts: buckets at 10% errors and 3× the mean', () => {
    // 1% errors, except ten seconds at 50%.
    const d = only('error_rate', { endpoint: '/pay' }, (s) => (s >= 600 && s < 610 ? ratio(100, 50) : ratio(100, 1)), 'error-burst');
    expect(d).toMatchObject({ severity: 'warning', title: 'Error-rate bursts' });
    // The ten buckets are one burst, said once with its window.
    expect(d.evidence).toEqual([expect.objectContaining({ value: 0.5, tags: { endpoint: '/pay' }, window: { from: T0 + 600_000, to: T0 + 610_000 } })]);
    expect(d.summary).toMatch(/: endpoint="\/pay" 500 of 1000 requests failed \(50%\) in 10 s from /);
  });

  it('error bursts on a route of fewer than 20 requests a second: consecutive buckets pooled to 20 requests, the burst said with its counts', () => {
    // 10 requests a second to /pay, 15 s of them at 60% failures: 90 of 150 failed, 0.75% of
    // the whole window, and no one-second bucket holds the 20 requests a share needs.
    const d = only('error_rate', { endpoint: '/pay' }, (s) => (s >= 120 && s < 135 ? ratio(10, 6) : ratio(10, 0)), 'error-burst');
    expect(d).toMatchObject({ severity: 'warning', title: 'Error-rate bursts' });
    expect(d.summary).toBe(
      `1 burst of errors at 10% or more of a series' requests and 3× its rate outside them (0.75% overall): endpoint="/pay" 90 of 150 requests failed (60%) in 15 s from ${new Date(T0 + 120_000).toISOString()}. Most failures: endpoint="/pay" 0.75% of 12000.`,
    );
    expect(d.evidence).toEqual([{ metric: 'error_rate', tags: { endpoint: '/pay' }, statistic: 'error rate of a burst', value: 0.6, threshold: DIAGNOSIS_RULES.errorBurst.burstRate, unit: 'ratio', window: { from: T0 + 120_000, to: T0 + 135_000 } }]);
    // Beside a high error rate the burst is said with its counts too, not only counted.
    const [high] = diagnosesOf([
      ['error_rate', { endpoint: '/pay' }, (s) => (s >= 120 && s < 135 ? ratio(10, 6) : ratio(10, 0))],
      ['error_rate', { endpoint: '/fail' }, () => ratio(1, 1)],
    ]);
    expect(high!.summary).toBe(
      `9.77% of requests failed over the window, with 1 burst: endpoint="/pay" 90 of 150 requests failed (60%) in 15 s from ${new Date(T0 + 120_000).toISOString()}. Most failures: endpoint="/fail" 100% of 1200; endpoint="/pay" 0.75% of 12000.`,
    );
  });

  it('error bursts: an outage holding over a third of a route\'s requests is found whole, judged against the rate outside it', () => {
    // A trial's /pay at 10 requests a second for 45 s, every request failing for 17 s (37.8% of
    // its requests): judged against 3× the series' mean (over 100%), no window burst, and the
    // report said the failures "came steadily". Its first failing second holds 1 failure of 10,
    // the second of a window of 20 requests at 5%: the burst's edge takes it in.
    const outage = (s: number): number[] => (s === 13 ? ratio(10, 1) : s >= 14 && s < 31 ? ratio(10, 10) : ratio(10, 0));
    const s = synthetic();
    s.fill(45, [
      [s.id('error_rate', { endpoint: '/pay' }), outage],
      [s.id('error_rate', { endpoint: '/home' }), () => ratio(30, 0)],
    ]);
    const [d] = s.report().diagnoses.filter((x) => x.id === 'error-burst');
    expect(d?.summary).toBe(
      `9.5% of requests failed over the window, with 1 burst: endpoint="/pay" 171 of 180 requests failed (95%) in 18 s from ${new Date(T0 + 13_000).toISOString()}. Most failures: endpoint="/pay" 38% of 450.`,
    );
    expect(d!.actions[1]).toMatch(/^Correlate the burst times with deploys/);
  });

  it('high error rate names the endpoints that failed, most failures first, with their evidence, and needs 20 requests', () => {
    // One route fails every request beside a healthy one and a flaky one: 9% overall, which
    // alone does not say where to look.
    const d = only('error_rate', { endpoint: '/ok' }, () => ratio(100, 0), 'error-burst', [
      ['error_rate', { endpoint: '/fail' }, () => ratio(10, 10)],
      ['error_rate', { endpoint: '/flaky' }, () => ratio(20, 2)],
    ]);
    expect(d).toMatchObject({ severity: 'critical', title: 'High error rate' });
    expect(d.summary).toBe('9.23% of requests failed over the window. Most failures: endpoint="/fail" 100% of 12000; endpoint="/flaky" 10% of 24000.');
    // Fewer requests than a burst bucket needs are no share of failures: no diagnosis of a few.
    const few = DIAGNOSIS_RULES.errorBurst.minEvents - 1;
    expect(diagnosesOf([['error_rate', { endpoint: '/x' }, (sec) => (sec < few ? 1 : undefined)]])).toEqual([]);
    expect(diagnosesOf([['error_rate', { endpoint: '/x' }, (sec) => (sec <= few ? 1 : undefined)]]).map((x) => x.title)).toEqual(['High error rate']);
    expect(d.evidence.map((e) => [e.tags, e.value])).toEqual([
      [undefined, 0.09231],
      [{ endpoint: '/fail' }, 1],
      [{ endpoint: '/flaky' }, 0.1],
    ]);
  });

  it('high error rate acts on what the window shows: the failing endpoints first, bursts only when bursty, retries only when outgoing calls failed', () => {
    // A route answering 9% of its requests with its own 503, steadily, and calling nothing.
    const steady = only('error_rate', { endpoint: '/api/items' }, () => ratio(100, 9), 'error-burst');
    expect(steady).toMatchObject({ severity: 'critical', title: 'High error rate' });
    expect(steady.actions[0]).toMatch(/^Start with endpoint="\/api\/items": read its 5xx responses and the error logs of its handler in the window/);
    expect(steady.actions.join(' ')).not.toMatch(/burst|retries|circuit breaker/i);
    expect(steady.actions[1]).toMatch(/^The failures came steadily over the window, at no moment in particular: look for a cause present the whole time/);
    // The same beside outgoing calls that fail: retries and a circuit breaker, for the hosts named.
    const [called] = diagnosesOf([
      ['error_rate', { endpoint: '/api/items' }, () => ratio(100, 9)],
      ['api_error_rate', { host: 'payments.example', method: 'POST' }, () => ratio(10, 5)],
      ['api_error_rate', { host: 'ok.example', method: 'GET' }, () => ratio(10, 0)],
    ]).filter((x) => x.id === 'error-burst');
    const retries = called!.actions.filter((a) => /retries/.test(a));
    expect(retries).toEqual([expect.stringMatching(/^Outgoing calls failed in the window too \(api_error_rate: host="payments\.example",method="POST" 50% of 12000\): add retries with backoff and timeouts on calls to those hosts, and a circuit breaker/)]);
    expect(called!.evidence.filter((e) => e.metric === 'api_error_rate').map((e) => [e.tags, e.value])).toEqual([[{ host: 'payments.example', method: 'POST' }, 0.5]]);
    // A burst is said as one, with its times to correlate.
    const burst = only('error_rate', { endpoint: '/pay' }, (sec) => (sec >= 600 && sec < 610 ? ratio(100, 50) : ratio(100, 1)), 'error-burst');
    expect(burst.actions[1]).toMatch(/^Correlate the burst times with deploys/);
    expect(burst.actions.join(' ')).not.toMatch(/retries|circuit breaker/);
  });

  it('high error rate on a hub names a route failing cluster-wide once, not again for each member', () => {
    const [d] = diagnosesOf([
      ['error_rate', { endpoint: '/fail' }, () => ratio(20, 20)],
      ['error_rate', { endpoint: '/fail', instance: 'a' }, () => ratio(10, 10)],
      ['error_rate', { endpoint: '/fail', instance: 'b' }, () => ratio(10, 10)],
      ['error_rate', { endpoint: '/ok' }, () => ratio(20, 0)],
    ]).filter((x) => x.id === 'error-burst');
    expect(d!.summary).toMatch(/ Most failures: endpoint="\/fail" 100% of 24000\.$/);
    expect(d!.evidence.map((e) => e.tags)).toEqual([undefined, { endpoint: '/fail' }]);
  });

  it('low cache hit rate: under 80% of lookups hit', () => {
    const d = only('cache_hit_rate', {}, () => ratio(100, 60), 'low-cache-hit-rate');
    expect(d).toMatchObject({ severity: 'warning', category: 'cache' });
    expect(d.evidence[0]!.value).toBeCloseTo(0.6, 9);
    // An agent reading this cannot register a knob: the action says who must.
    expect(d.actions[0]).toMatch(/the service's code registers the size as a knob \(monitor\.registerTunable\(\{ name, type: 'cache', .*target: 'cache_hit_rate' \}\)\)/);
  });

  it('database pool saturation: p95 of connections at 90% of the pool size, or pinned without one', () => {
    const d = only('database_connections', {}, (s) => 19 + (s % 2), 'database-pool-saturation', [['database_pool_size', {}, () => 20]]);
    expect(d).toMatchObject({ severity: 'critical', category: 'database' });
    // p95 is 20, a sketch bin edge: read from its bin (19.69, 20] within the sketch's 0.78%
    // (it read from [20, 20.31), clamped to the max, before bins held their upper edge).
    expect(Math.abs((d.evidence[0]!.value as number) - 1)).toBeLessThanOrEqual(1 / 129);
    expect(d.actions[0]).toMatch(/the service's code registers the size as a knob \(monitor\.registerTunable\(\{ name, type: 'database'/);
    expect(only('database_connections', {}, () => 10, 'database-pool-saturation').severity).toBe('info');
  });

  it('worker pool saturation: a piscina pool busy all the time whose tasks wait longer than they run, critical when its queue grows', () => {
    // A pool fed more than it can run: busy 97%, its queue growing a task every 25 s, each task
    // waiting 160 ms for each one queued before it, longer than its 150 ms run on average. The
    // first quarter's mean queue is 5.5 (its 300 whole buckets), the last's 41.5.
    const pool = { pool: 'render' };
    const d = only('pool_utilization', pool, () => 0.97, 'worker-pool-saturation', [
      ['queue_size', pool, (s) => Math.floor(s / 25)],
      ['pool_wait_time', pool, (s) => 160 * Math.floor(s / 25)],
      ['pool_run_time', pool, () => 150],
    ]);
    expect(d).toMatchObject({ severity: 'critical', category: 'concurrency', title: 'Worker pool saturated' });
    expect(d.summary).toBe(
      'The worker pool "render" was running tasks 97% of its threads\' time, and its tasks waited 3.76 s in its queue on average, 25.1× the 150 ms they ran; its queue grew from 5.5 to 41.5 tasks (the first quarter of the window against the last): work arrives faster than its threads take it.',
    );
    expect(d.evidence.map((e) => [e.metric, e.statistic, e.value])).toEqual([
      ['pool_utilization', 'mean', 0.97],
      ['pool_wait_time', 'mean', 3760],
      ['queue_size', 'mean of the last quarter', 41.5],
    ]);
    expect(d.evidence.every((e) => e.tags?.pool === 'render')).toBe(true);
    expect(d.actions[0]).toMatch(/maxThreads/);
    // The same pool with a queue that held still: saturated, not running away.
    const steady = only('pool_utilization', pool, () => 0.97, 'worker-pool-saturation', [
      ['queue_size', pool, (s) => 3 + (s % 2)],
      ['pool_wait_time', pool, () => 500],
      ['pool_run_time', pool, () => 150],
    ]);
    expect(steady.severity).toBe('warning');
  });

  it('slow formula calculation: p95 over 100 ms', () => {
    const d = only('formula_calculation_time', {}, () => [200, 250, 300], 'slow-formula-calculation');
    expect(d).toMatchObject({ severity: 'warning', category: 'formula' });
  });

  it('slow endpoints: one endpoint at p95 over 1 s is named, though fast requests hide it in the p95 of all', () => {
    // 50 health checks a second at 2 ms, and a checkout a second at 1.4 s: the p95 of all requests is 2 ms.
    const d = only('response_time', { endpoint: '/checkout' }, () => 1400, 'slow-endpoints', [['response_time', { endpoint: '/health' }, () => Array.from({ length: 50 }, () => 2)]]);
    expect(d.severity).toBe('warning');
    expect(d.summary).toBe('1 series of response_time answered at p95 in 1000 ms or more: endpoint="/checkout" 1400 ms (1200 requests). Over every request together the p95 is 2 ms, which hides them.');
    expect(d.evidence).toEqual([expect.objectContaining({ metric: 'response_time', tags: { endpoint: '/checkout' }, statistic: 'p95', threshold: DIAGNOSIS_RULES.slowEndpoints.p95WarningMs })]);
    expect(d.evidence[0]!.value).toBeCloseTo(1400, -1);
    // Critical from 2 s; and a handful of slow requests (under minEvents) is not an endpoint's behaviour.
    expect(only('response_time', { endpoint: '/export' }, () => 2500, 'slow-endpoints').severity).toBe('critical');
    expect(diagnosesOf([['response_time', { endpoint: '/rare' }, (sec) => (sec < DIAGNOSIS_RULES.slowEndpoints.minEvents - 1 ? 5000 : undefined)]])).toEqual([]);
  });

  it('slow endpoints say where the time went: the outgoing calls slow in the same window, and an event loop that was free', () => {
    // A checkout at 1.3 s that awaits a payments API at 1.25 s, its loop idle: the report named
    // the endpoint and left the reader to find the host among the series.
    const d = only('response_time', { endpoint: '/checkout' }, () => 1300, 'slow-endpoints', [
      ['api_response_time', { host: 'payments:443' }, () => 1250],
      ['api_response_time', { host: 'cache:6379' }, () => 2],
      ['event_loop_lag', {}, () => 3],
    ]);
    expect(d.summary).toBe(
      '1 series of response_time answered at p95 in 1000 ms or more: endpoint="/checkout" 1300 ms (1200 requests). Outgoing calls took half that time or more at p95 in the same window: host="payments:443" 1250 ms (1200 calls). The event loop was free meanwhile (event_loop_lag p99 3 ms): the time went waiting, not computing.',
    );
    expect(d.evidence.map((e) => [e.metric, e.tags, e.statistic])).toEqual([
      ['response_time', { endpoint: '/checkout' }, 'p95'],
      ['api_response_time', { host: 'payments:443' }, 'p95'],
      ['event_loop_lag', undefined, 'p99'],
    ]);
  });

  it("slow endpoints' actions follow what was found: the slow host named first, a free loop's unmeasured wait, a blocked loop's profile", () => {
    // A trial: the summary named the host at 1.1 s and the free loop, the actions still read
    // "if the event loop was free…" and "if the handler computes…".
    const waiting = only('response_time', { endpoint: '/checkout' }, () => 1300, 'slow-endpoints', [
      ['api_response_time', { host: 'payments:443' }, () => 1250],
      ['event_loop_lag', {}, () => 3],
    ]);
    expect(waiting.actions[0]).toMatch(/^Start with the outgoing calls to host="payments:443" \(1250 ms at p95\), against 1300 ms for endpoint="\/checkout": give them a timeout/);
    expect(waiting.actions.join(' ')).not.toMatch(/^If |If the handler computes|CPU profile/);
    expect(waiting.actions.at(-1)).toMatch(/^Alert on endpoint="\/checkout" alone/);
    // The loop free, no slow call measured: the wait is on something the monitor does not see.
    const unseen = only('response_time', { endpoint: '/report' }, () => 1300, 'slow-endpoints', [['event_loop_lag', {}, () => 3]]);
    expect(unseen.actions[0]).toMatch(/^The event loop was free meanwhile: the time went waiting on something not measured here/);
    expect(unseen.actions.join(' ')).not.toMatch(/CPU profile/);
    // The loop blocked: the time went computing, a profile first.
    const computing = diagnosesOf([
      ['response_time', { endpoint: '/render' }, () => 1300],
      ['event_loop_lag', {}, () => 400],
    ]).find((d) => d.id === 'slow-endpoints')!;
    expect(computing.actions[0]).toMatch(/^The event loop was blocked meanwhile \(event_loop_lag p99 400 ms\): the time went computing; capture a CPU profile/);
    // Too few loop readings to tell: both conditionals, as before.
    const unknown = only('response_time', { endpoint: '/export' }, () => 1300, 'slow-endpoints');
    expect(unknown.actions.slice(0, 2).map((a) => a.slice(0, 3))).toEqual(['If ', 'If ']);
  });

  it('slow endpoints beside a blocked loop: outgoing calls as slow as the endpoint are where its time went, not computing', () => {
    // A trial: /slow awaited a host at 1.5 s while /block held the loop 150 ms; the actions said
    // of /slow "the time went computing" and sent it to a CPU profile.
    const waited = diagnosesOf([
      ['response_time', { endpoint: '/slow' }, () => 1300],
      ['api_response_time', { host: 'payments:443' }, () => 1250],
      ['event_loop_lag', {}, () => 400],
    ]).find((d) => d.id === 'slow-endpoints')!;
    expect(waited.actions[0]).toMatch(/^Start with the outgoing calls to host="payments:443"/);
    expect(waited.actions[1]).toBe(
      'The event loop was blocked too (event_loop_lag p99 400 ms), but that is not where this time went: the outgoing calls took 1250 ms of its 1300 ms at p95. A blocked loop adds up to its lag to every request, whatever it awaits; a CPU profile of the main thread (capture_performance_profile) says what holds it.',
    );
    expect(waited.actions.join(' ')).not.toMatch(/went computing/);
    // Calls that explain part of it: the rest may have gone computing, said as the rest.
    const part = diagnosesOf([
      ['response_time', { endpoint: '/render' }, () => 1300],
      ['api_response_time', { host: 'images:443' }, () => 700],
      ['event_loop_lag', {}, () => 400],
    ]).find((d) => d.id === 'slow-endpoints')!;
    expect(part.actions[1]).toMatch(/^The event loop was blocked meanwhile \(event_loop_lag p99 400 ms\): the 600 ms at p95 that the outgoing calls do not explain may have gone computing; capture a CPU profile/);
  });

  it("slow endpoints on a hub: an endpoint slow cluster-wide is named once, not again for each member; a member slow alone is named with its instance", () => {
    const [d] = diagnosesOf([
      ['response_time', { endpoint: '/checkout' }, () => [1400, 1500]],
      ['response_time', { endpoint: '/checkout', instance: 'a' }, () => 1400],
      ['response_time', { endpoint: '/checkout', instance: 'b' }, () => 1500],
      // b answers 1 search a second at 1.3 s, a answers 30 at 50 ms: fast cluster-wide.
      ['response_time', { endpoint: '/search' }, () => [...Array.from({ length: 30 }, () => 50), 1300]],
      ['response_time', { endpoint: '/search', instance: 'a' }, () => Array.from({ length: 30 }, () => 50)],
      ['response_time', { endpoint: '/search', instance: 'b' }, () => 1300],
    ]).filter((x) => x.id === 'slow-endpoints');
    expect(d!.evidence.map((e) => e.tags)).toEqual([{ endpoint: '/checkout' }, { endpoint: '/search', instance: 'b' }]);
  });

  it('turn each diagnosis into a recommendation carrying its evidence', () => {
    const s = synthetic();
    s.fill(120, [[s.id('cache_hit_rate'), () => ratio(100, 30)]]);
    const r = s.report();
    expect(r.recommendations).toHaveLength(1);
    expect(r.recommendations![0]).toMatchObject({ id: 'fix-low-cache-hit-rate', priority: 'high', category: 'cache', source: 'diagnosis low-cache-hit-rate' });
    expect(r.recommendations![0]!.evidence).toEqual(r.diagnoses[0]!.evidence);
    expect(s.report({ includeRecommendations: false }).recommendations).toBeNull();
    // The MCP answer's text, which a model reads, says what to do: its recommendation pointed
    // at the diagnosis' actions, which only structuredContent holds.
    const text = reportText(reportOut(r, undefined)).split('\n');
    expect(text).toContain(`recommend [high] ${r.recommendations![0]!.title}: ${r.diagnoses[0]!.actions[0]!}`);
  });
});

describe('diagnoses on a fresh monitor', () => {
  /** A monitor watched from T0, with the readings of its first `seconds` seconds: start-up's look like a blocked, saturated machine. */
  function freshReport(seconds: number) {
    const s = synthetic();
    const elu = s.id('event_loop_utilization', {});
    const lag = s.id('event_loop_lag', {});
    const cpu = s.id('cpu_usage', {});
    const gc = s.id('gc_pause', { type: 'major' });
    if (seconds < 1) s.apply(T0 + seconds * 1000, [[elu, 1], [lag, 800], [cpu, 100], [gc, 30]]);
    else s.fill(seconds, [[elu, () => 1], [lag, () => 800], [cpu, () => 100], [gc, () => [30, 30, 30]]]);
    const now = T0 + Math.max(0.321, seconds) * 1000 + 10;
    return s.report({ from: T0, to: now, now, watched: { from: T0, to: Infinity } });
  }

  it('wait for the readings and seconds they need, and the report says what they wait for', () => {
    const r = freshReport(0.3);
    expect(r.diagnoses).toEqual([]);
    const note = `Not enough data yet to diagnose event_loop_lag, event_loop_utilization, cpu_usage, the share of time in gc_pause: 0.331 s of ${DIAGNOSIS_MINIMUM.seconds} s; 1 reading of ${DIAGNOSIS_MINIMUM.readings}.`;
    expect(r.notes).toContain(note);
    // The MCP answer's text says it too, and prints no "?" for a figure it lacks.
    const text = reportText(reportOut(r, undefined));
    expect(text.split('\n')).toContain(note);
    expect(text).not.toContain('?');
    // Nine seconds: nine readings, still short of ten.
    const nine = freshReport(9);
    expect(nine.diagnoses).toEqual([]);
    expect(nine.notes.some((n) => n.startsWith('Not enough data yet to diagnose event_loop_lag, event_loop_utilization, cpu_usage, the share of time in gc_pause: 9.01 s of 10 s; 9 readings of 10'))).toBe(true);
    // Ten: every rule judges, and the note is gone.
    const ten = freshReport(DIAGNOSIS_MINIMUM.seconds);
    expect(ten.diagnoses.map((d) => d.id).sort()).toEqual(['cpu-saturation', 'event-loop-blocked', 'gc-pressure']);
    expect(ten.notes.filter((n) => n.startsWith('Not enough data'))).toEqual([]);
  });

  it('take the share of time in GC pauses over the time watched, not over a longer range asked for', () => {
    // Watched for 60 s of a 1 h range: five 20 ms pauses a second are 10% of the time watched (0.17% of the hour).
    const s = synthetic();
    s.fill(60, [[s.id('gc_pause', { type: 'major' }), () => [20, 20, 20, 20, 20]]]);
    const now = T0 + 60_000;
    const r = s.report({ from: now - 3_600_000, to: now, now, watched: { from: T0, to: Infinity } });
    const d = r.diagnoses.find((x) => x.id === 'gc-pressure')!;
    expect(d).toMatchObject({ severity: 'warning', summary: 'The process spent 10% of the 60 s watched in GC pauses (6000 ms).' });
    expect(d.evidence[0]).toMatchObject({ statistic: 'share of wall time in GC pauses', value: 0.1 });
  });

  it('say a long GC pause by itself before the share of time in pauses can be judged, without a share', () => {
    // 2 s watched, one 150 ms major pause: the pause is judged, the share (7.5% of 2 s) waits for 10 s.
    const s = synthetic();
    s.apply(T0 + 500, [[s.id('gc_pause', { type: 'major' }), 150]]);
    const now = T0 + 2_000;
    s.apply(now, []);
    const r = s.report({ from: T0, to: now, now, watched: { from: T0, to: Infinity } });
    const d = r.diagnoses.find((x) => x.id === 'gc-pressure')!;
    expect(d).toMatchObject({ severity: 'warning', summary: 'Its major GC pauses took 150 ms at p99.' });
    expect(d.evidence.map((e) => e.statistic)).toEqual(['p99 pause']);
    // Once 10 s are watched, both: the share first.
    s.apply(T0 + 10_500, []);
    const later = s.report({ from: T0, to: T0 + 10_500, now: T0 + 10_500, watched: { from: T0, to: Infinity } });
    expect(later.diagnoses.find((x) => x.id === 'gc-pressure')!.summary).toBe('The process spent 1.43% of the 10.5 s watched in GC pauses (150 ms). Its major GC pauses took 150 ms at p99.');
  });

  it('say a blocked event loop from its utilization alone with its figure, never a "?"', () => {
    const s = synthetic();
    s.fill(30, [[s.id('event_loop_utilization', {}), () => 0.95]]);
    const [d] = s.report().diagnoses;
    expect(d!.id).toBe('event-loop-blocked');
    expect(d!.summary).toBe("The main thread's event loop was busy running JavaScript 95% of the time: synchronous work holds it, and every request waits behind it.");
  });
});
