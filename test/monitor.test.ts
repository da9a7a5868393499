import { CONTROL_BYTES } from '../dist/src/engine/control.js';
import { rankOf } from '../dist/src/engine/sketch.js';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidArgumentError, MonitorStoppedError, PerformanceMonitor } from '../dist/src/index.js';
import { caught, once, waitFor } from './helpers.js';

const monitors: PerformanceMonitor[] = [];
function monitor(options?: ConstructorParameters<typeof PerformanceMonitor>[0]): PerformanceMonitor {
  const m = new PerformanceMonitor({ storage: 'memory', ...options });
  monitors.push(m);
  return m;
}
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.stop()));
});

function exact(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[rankOf(q, s.length)]!;
}

describe('PerformanceMonitor', () => {
  it('records through handles, names and requests, and reports exact statistics', async () => {
    const m = monitor({ system: { enabled: false }, runtime: { enabled: false } });
    await m.start();
    const rt = m.metric('response_time', { route: '/users' });
    const values = Array.from({ length: 10_000 }, (_, i) => 1 + (i % 500) / 10);
    for (const v of values) rt.record(v);
    for (let i = 0; i < 300; i++) m.record('queue_size', i % 30, { queue: 'mail' });
    m.recordRequest({ endpoint: '/pay', responseTimeMs: 120, success: true });
    m.recordRequest({ endpoint: '/pay', responseTimeMs: 480, success: false });
    m.recordRequest({ endpoint: '/pay', responseTimeMs: 95, statusCode: 503 });
    await m.flush();

    const metrics = m.getMetrics();
    const users = metrics.find((s) => s.name === 'response_time' && s.tags.route === '/users')!;
    expect(users).toMatchObject({ kind: 'distribution', unit: 'ms', totalCount: 10_000 });
    expect(users.totalSum).toBeCloseTo(values.reduce((a, b) => a + b, 0), 6);
    expect(users.window.min).toBe(1);
    expect(users.window.max).toBe(50.9);
    for (const [q, key] of [[0.5, 'p50'], [0.9, 'p90'], [0.99, 'p99']] as const) {
      expect(Math.abs(users.window[key]! - exact(values, q)) / exact(values, q)).toBeLessThan(0.01);
    }
    const queue = metrics.find((s) => s.name === 'queue_size')!;
    expect(queue).toMatchObject({ kind: 'gauge', tags: { queue: 'mail' }, totalCount: 300, value: 29, last: 29 });

    const pay = (name: string) => metrics.find((s) => s.name === name && s.tags.endpoint === '/pay')!;
    expect(pay('response_time')).toMatchObject({ totalCount: 3, totalSum: 695 });
    expect(pay('throughput')).toMatchObject({ kind: 'counter', totalCount: 3, totalSum: 3 });
    // Two of three failed (one by its 503): the error rate's mean is 2/3.
    expect(pay('error_rate').window.mean).toBeCloseTo(2 / 3, 12);
  });

  it('samples system and runtime metrics by itself', async () => {
    const m = monitor();
    await m.start();
    const wanted = ['cpu_usage', 'memory_usage', 'disk_usage', 'network_io', 'event_loop_lag', 'event_loop_utilization', 'heap_used', 'heap_total', 'rss', 'monitor_ingested', 'monitor_dropped', 'monitor_ring_fill', 'monitor_collector_lag'];
    const names = await waitFor(() => {
      const have = new Set(m.getMetrics().map((s) => s.name));
      return wanted.every((n) => have.has(n)) ? have : undefined;
    }, 15_000, `all of ${wanted.join(', ')}`);
    expect(names.has('cpu_usage')).toBe(true);
    const byName = new Map(m.getMetrics().map((s) => [s.name, s]));
    const cpu = byName.get('cpu_usage')!.value!;
    expect(cpu).toBeGreaterThanOrEqual(0);
    expect(cpu).toBeLessThanOrEqual(100);
    const mem = byName.get('memory_usage')!.value!;
    expect(mem).toBeGreaterThan(0);
    expect(mem).toBeLessThan(100);
    expect(byName.get('disk_usage')!.tags.mount).toBeTruthy();
    expect(byName.get('rss')!.value).toBeGreaterThan(10 * 1024 * 1024);
    expect(byName.get('heap_used')!.value).toBeLessThanOrEqual(byName.get('heap_total')!.value!);
    const status = m.status();
    expect(status.system?.platform).toBe(process.platform === 'linux' ? 'linux-proc' : 'portable');
    // The every-interval sources start no process; the ones that do run at the slow cadence,
    // and on Linux there are none: the mounts come from /proc/self/mounts, not df.
    const sources = status.system!.sources;
    const everyInterval = sources.filter((s) => s.cadenceMs === 1000);
    const spawning = sources.filter((s) => s.spawnsProcesses);
    expect(everyInterval.length).toBeGreaterThan(0);
    expect(everyInterval.filter((s) => s.spawnsProcesses)).toEqual([]);
    for (const s of spawning) expect(s.cadenceMs, s.source).toBe(m.options.system.slowCadenceMs);
    if (process.platform === 'linux') {
      expect(spawning).toEqual([]);
      const mounts = sources.find((s) => s.source === '/proc/self/mounts');
      expect(mounts).toMatchObject({ cadenceMs: m.options.system.slowCadenceMs, spawnsProcesses: false, errors: 0 });
      expect(mounts!.calls).toBeGreaterThan(0);
    } else {
      expect(spawning.length).toBeGreaterThan(0);
    }
  });

  it('measures collector lag as the time data waited, not the time the collector slept', async () => {
    // Idle: the only data are the runtime samples, which the main thread publishes without a
    // wake-up a few ms before the interval boundary the collector wakes for; they wait ~15 ms.
    // Measured from the collector's previous pass, they read as late as its longest nap
    // (a second, its longest sleep when idle).
    const m = monitor({ system: { enabled: false } });
    await m.start();
    // The first readings cover the start; then three, of which the median: a loaded machine
    // may delay one pass, but reading the nap would put every one near a second.
    const lags = await waitFor(async () => {
      const points = (await m.getMetricHistory({ metric: 'monitor_collector_lag' })).series[0]?.points ?? [];
      return points.length >= 5 ? points.slice(2).map((p) => p.value) : undefined;
    }, 20_000, 'five collector lag readings');
    const sorted = [...lags].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length / 2)], lags.join(' ')).toBeLessThan(100);
  });

  it('serves history as raw samples, then as buckets with quantiles', async () => {
    const m = monitor({ system: { enabled: false }, runtime: { enabled: false } });
    await m.start();
    const h = m.metric('formula_calculation_time', { sheet: 'q3' });
    for (let i = 1; i <= 100; i++) h.record(i);
    await m.flush();
    const raw = await m.getMetricHistory({ metric: 'formula_calculation_time', from: Date.now() - 60_000 });
    expect(raw.kind).toBe('distribution');
    expect(raw.series).toHaveLength(1);
    expect(raw.series[0]!.resolution).toBe('raw');
    expect(raw.series[0]!.points.map((p) => p.value)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    // Once the bucket closes, the bucketed view holds it with its statistics.
    const bucketed = await waitFor(async () => {
      const hist = await m.getMetricHistory({ metric: 'formula_calculation_time', resolution: 'bucket' });
      const closed = hist.series[0]?.points.find((p) => p.count === 100);
      return closed && m.status().collector.openSeries !== null ? closed : undefined;
    }, 5_000, 'a closed bucket');
    expect(bucketed).toMatchObject({ count: 100, sum: 5050, min: 1, max: 100, value: 50.5 });
    expect(Math.abs(bucketed.p99! - 99) / 99).toBeLessThan(0.01);
    const down = await m.getMetricHistory({ metric: 'formula_calculation_time', resolution: 'raw', maxPoints: 10 });
    expect(down.series[0]!.points).toHaveLength(10);
    expect(down.series[0]!.points[0]).toMatchObject({ count: 10, min: 1, max: 10, sum: 55 });
    await expect(m.getMetricHistory({ metric: 'never_recorded' })).rejects.toThrow(/^metric "never_recorded" is not a known metric; the nearest known: /);
    expect((await m.getMetricHistory({ metric: 'throughput' })).series).toEqual([]); // known, no data yet
  });

  it('records batches all or nothing, with the times the samples were taken', async () => {
    const m = monitor({ system: { enabled: false }, runtime: { enabled: false } });
    await m.start();
    const now = Date.now();
    expect(m.recordBatch([
      { name: 'api_response_time', value: 10, tags: { api: 'geo' }, timestamp: now - 400 },
      { name: 'api_response_time', value: 20, tags: { api: 'geo' }, timestamp: new Date(now - 200) },
      { name: 'api_response_time', value: 30, tags: { api: 'geo' } },
    ])).toBe(3);
    await m.flush();
    const flushed = Date.now();
    const raw = (await m.getMetricHistory({ metric: 'api_response_time', resolution: 'raw' })).series[0]!.points;
    expect(raw.map((p) => p.value)).toEqual([10, 20, 30]);
    expect(raw[0]!.t).toBe(now - 400);
    expect(raw[1]!.t).toBe(now - 200);
    // Without a timestamp: the time of the collector's pass that took it, which may have begun
    // a few ms before the batch was recorded (under load, 3 ms before `now` in a CI run).
    expect(raw[2]!.t).toBeGreaterThan(now - 200);
    expect(raw[2]!.t).toBeLessThanOrEqual(flushed);

    // One bad sample refuses the whole batch, naming it.
    const bad = () => m.recordBatch([{ name: 'api_response_time', value: 1, tags: { api: 'geo' } }, { name: 'api_response_time', value: Number.NaN, tags: { api: 'geo' } }]);
    expect(bad).toThrow('samples[1].value of api_response_time must be a finite number of ms from 0 to under 2^333 (~1.7e100): a time is not negative, got NaN');
    expect(() => m.recordBatch([{ name: 'api_response_time', value: 1, timestamp: now - 3_600_000 }])).toThrow(/^samples\[0\]\.timestamp \(.*\) is out of range: perfwatch records live data/);
    // A time past a Date's range (±8.64e15 ms) is out of range too, said with the number given: the
    // message's ISO time threw a RangeError into the host instead.
    for (const t of [1e300, 9e15, -9e15]) {
      expect(() => m.recordBatch([{ name: 'api_response_time', value: 1, timestamp: t }])).toThrow(InvalidArgumentError);
      expect(() => m.recordBatch([{ name: 'api_response_time', value: 1, timestamp: t }])).toThrow(`samples[0].timestamp is out of range: perfwatch records live data, so a timestamp may be at most 1000 ms in the past (one collection interval) and 5000 ms ahead, got ${t}`);
    }
    expect(() => m.recordBatch([{ name: 'bad name', value: 1 }])).toThrow('samples[0].name "bad name" must match [a-zA-Z_:][a-zA-Z0-9_:]*');
    await m.flush();
    expect(m.getMetrics({ names: ['api_response_time'] })[0]!.totalCount).toBe(3);

    // A batch larger than the ring goes in whole, whatever the overflow policy.
    const big = Array.from({ length: 200_000 }, (_, i) => ({ name: 'queue_size', value: i % 10, tags: { q: String(i % 4) } }));
    expect(m.recordBatch(big)).toBe(200_000);
    await m.flush();
    expect(m.getMetrics({ names: ['queue_size'] }).reduce((a, s) => a + s.totalCount, 0)).toBe(200_000);
    expect(m.status().ingestion.dropped).toBe(0);
  });

  it('answers repeated metric polls from the same data, and follows every change', async () => {
    const m = monitor({ system: { enabled: false }, runtime: { enabled: false } });
    await m.start();
    const window = (seconds = 60) => m.getMetrics({ names: ['poll_rt'], windowSeconds: seconds })[0]?.window;
    m.record('poll_rt', 10);
    await m.flush();
    expect(window()).toMatchObject({ count: 1, min: 10, max: 10, p50: 10 });
    expect(window()).toMatchObject({ count: 1, min: 10, max: 10, p50: 10 }); // unchanged: the same answer
    m.record('poll_rt', 30); // most often in the same open bucket; a bucket may close between the two
    await m.flush();
    expect(window()).toMatchObject({ count: 2, min: 10, max: 30 });
    // The buckets close (a collection interval past their end, as the collector ticks): the
    // window reads them from the bucket ring now, with the same numbers.
    await waitFor(async () => {
      const s = (await m.getMetricHistory({ metric: 'poll_rt', resolution: 'bucket' })).series[0];
      return s !== undefined && s.points.reduce((n, p) => n + p.count, 0) === 2 && s.points.every((p) => p.t + 2 * s.stepMs <= Date.now());
    }, 5000);
    expect(window()).toMatchObject({ count: 2, min: 10, max: 30 });
    // The window moves past the bucket with no new sample: a 1 s window no longer holds it.
    await waitFor(() => window(1)?.count === 0, 5000);
    expect(window(60)).toMatchObject({ count: 2 });
  });

  it('records batches in columns with the same rules, all or nothing', async () => {
    const m = monitor({ system: { enabled: false }, runtime: { enabled: false } });
    await m.start();
    const now = Date.now();
    const series = [{ name: 'col_rt', tags: { api: 'a' } }, { name: 'col_rt', tags: { api: 'b' } }, { name: 'col_hits', tags: undefined }];
    m.define({ name: 'col_hits', kind: 'counter' });
    const columns = {
      series,
      seriesIndex: Uint32Array.of(0, 1, 0, 2, 1),
      values: Float64Array.of(10, 20, 30, 1, 40),
      timestamps: Float64Array.of(now - 300, Number.NaN, now - 100, Number.NaN, Number.NaN),
      length: 5,
    };
    expect(m.recordColumns(columns)).toBe(5);
    await m.flush();
    const a = (await m.getMetricHistory({ metric: 'col_rt', tags: { api: 'a' }, resolution: 'raw' })).series[0]!.points;
    expect(a.map((p) => [p.value, p.t])).toEqual([[10, now - 300], [30, now - 100]]);
    expect((await m.getMetricHistory({ metric: 'col_rt', tags: { api: 'b' }, resolution: 'raw' })).series[0]!.points.map((p) => p.value)).toEqual([20, 40]);
    expect(m.getMetrics({ names: ['col_hits'] })[0]!.totalCount).toBe(1);

    // Refused whole, naming the sample: a counter going down, a non-finite value, a stale time, a bad index.
    const refused: [Partial<typeof columns>, string | RegExp][] = [
      [{ values: Float64Array.of(1, 2, 3, -1, 5) }, 'samples[3].value of col_hits must be a finite number from 0 to under 2^333 (~1.7e100): counters only go up, got -1'],
      [{ values: Float64Array.of(1, Number.POSITIVE_INFINITY, 3, 1, 5) }, 'samples[1].value of col_rt must be a finite number of magnitude under 2^333 (~1.7e100), got Infinity'],
      [{ timestamps: Float64Array.of(Number.NaN, now - 3_600_000, Number.NaN, Number.NaN, Number.NaN) }, /^samples\[1\]\.timestamp \(.*\) is out of range/],
      [{ timestamps: Float64Array.of(Number.NaN, 1e300, Number.NaN, Number.NaN, Number.NaN) }, /^samples\[1\]\.timestamp is out of range: .*, got 1e\+300$/],
      [{ seriesIndex: Uint32Array.of(0, 1, 7, 2, 1) }, 'samples[2].series index 7 is past the 3 series of the batch'],
      [{ series: [...series.slice(0, 2), { name: 'bad name', tags: undefined }] }, 'samples[3].name "bad name" must match [a-zA-Z_:][a-zA-Z0-9_:]*'],
      [{ length: 6 }, /^columns\.length must be an integer from 0 to the length of the columns, got 6/],
      [{ values: [1, 2, 3, 4, 5] as unknown as typeof columns.values }, /^columns must hold seriesIndex as a Uint32Array/],
    ];
    for (const [change, message] of refused) expect(() => m.recordColumns({ ...columns, ...change })).toThrow(message);
    await m.flush();
    expect(m.getMetrics({ names: ['col_rt'] }).reduce((n, s) => n + s.totalCount, 0)).toBe(4);
    expect(m.getMetrics({ names: ['col_hits'] })[0]!.totalCount).toBe(1);
  });

  it('reports its state, memory and rings in status()', async () => {
    const m = monitor({ system: { enabled: false }, runtime: { enabled: false }, maxSeries: 1000 });
    expect(m.status()).toMatchObject({ state: 'stopped', running: false });
    await m.start();
    m.record('active_connections', 12);
    await m.flush();
    const s = m.status();
    expect(s).toMatchObject({ state: 'running', running: true, collectionIntervalMs: 1000, series: { limit: 1000 } });
    expect(s.series.count).toBeGreaterThanOrEqual(1);
    expect(s.collector.state).toBe('running');
    expect(s.collector.restarts).toBe(0);
    expect(s.ingestion.dropped).toBe(0);
    expect(s.ingestion.rings[0]).toMatchObject({ owner: 'main', capacity: 65536 });
    expect(s.memory.storeBytes).toBeGreaterThan(0);
    expect(s.memory.addressSpaceBytes).toBe(s.memory.storeBytes + s.memory.registryBytes + s.memory.ringBytes + CONTROL_BYTES);
    expect(s.memory.touchedBytes).toBeLessThan(s.memory.addressSpaceBytes);
  });

  it('counts the memory touched by pages written, not whole series slots, and calls the reservation address space', async () => {
    // Five-minute buckets: a close between the records and the reading would write each
    // series' first bucket record too (about 7 KB a series more), which a loaded machine made
    // happen with one-second buckets.
    const m = monitor({ system: { enabled: false }, runtime: { enabled: false }, maxSeries: 2000, collectionIntervalMs: 300_000 });
    await m.start();
    const before = m.status().memory.touchedBytes;
    // 1,000 series of one sample each: each writes the header page of its slot and the first
    // page of its raw ring (about 2 pages), not its ~47 KB slot.
    for (let i = 0; i < 1000; i++) m.record('touch_test', 1, { i: String(i) });
    await m.flush();
    const { memory } = m.status();
    const added = memory.touchedBytes - before;
    expect(added).toBeGreaterThanOrEqual(1000 * 4096);
    expect(added).toBeLessThanOrEqual(1000 * 3 * 4096 + 64 * 1024);
    expect(memory.addressSpaceBytes).toBeGreaterThan(10 * memory.touchedBytes);
  });

  it('stores a burst of 1M on an idle monitor with default options, counting any sample it drops', async () => {
    // Defaults dropped 648,900 of them: the ring holds 65,536 and a tight loop fills it in a
    // millisecond. The default overflow policy now waits for a collector that frees room,
    // within a waiting budget of 250 ms: on an idle machine it stores all of them (bench:ingest's
    // burst row counts them), on a loaded one the collector may not keep up within the budget,
    // and what it drops is counted, not lost.
    const m = monitor();
    expect(m.options.overflow).toBe('wait');
    await m.start();
    await waitFor(() => m.getMetrics({ names: ['heap_used'] }).length > 0, 10_000, 'an idle, running monitor');
    const h = m.metric('burst_rt');
    for (let i = 0; i < 1_000_000; i++) h.record(i & 1023);
    await m.flush();
    const stored = m.getMetrics({ names: ['burst_rt'] })[0]!.totalCount;
    const dropped = m.status().ingestion.dropped;
    expect(stored + dropped).toBe(1_000_000);
    expect(stored).toBeGreaterThan(900_000);
  });

  it('runs start(), stop() and close() one at a time, in call order, each having done its job', async () => {
    const m = monitor({ system: { enabled: false }, runtime: { enabled: false } });
    await m.start();
    // Called together on a running monitor: stop, then start; it ends running.
    const done: string[] = [];
    await Promise.all([m.stop().then(() => done.push(`stop:${m.state}`)), m.start().then(() => done.push(`start:${m.state}`))]);
    expect(done).toEqual(['stop:stopped', 'start:running']);
    expect(() => m.record('queue_size', 1)).not.toThrow();
    // stop() during start(): start finishes, then stop does its job.
    await m.stop();
    const starting = m.start();
    const stopping = m.stop();
    await starting;
    await stopping;
    expect(m.state).toBe('stopped');
    expect(() => m.record('queue_size', 1)).toThrow(MonitorStoppedError);
    // close() then start(): the start comes after the close, and refuses.
    await m.start();
    const closing = m.close();
    await expect(m.start()).rejects.toThrow(/the monitor was closed/);
    await closing;
    expect(m.state).toBe('stopped');
    // Nor does instrument(), which would never attach (it gave a handle that recorded nothing until 2026-12-05).
    expect(() => m.instrument()).toThrow(/the monitor was closed: instrument\(\) would never record/);
  });

  it('says a record after close() that the monitor was closed, not to call the start() that refuses', async () => {
    const m = monitor({ system: { enabled: false }, runtime: { enabled: false } });
    await m.start();
    const h = m.metric('queue_size');
    const closedRule = 'the monitor was closed: build a new one to monitor again';
    await m.close();
    for (const record of [() => m.record('queue_size', 1), () => h.record(1), () => m.recordRequest({ endpoint: '/a', responseTimeMs: 1, success: true }), () => m.recordBatch([{ name: 'queue_size', value: 1 }])]) {
      expect(caught(record)).toMatchObject({ code: 'PW_ERR_STOPPED', message: closedRule });
    }
    expect(caught(() => m.producer())).toMatchObject({ code: 'PW_ERR_STOPPED', message: 'the monitor was closed: producer() would never record; build a new one to monitor again' });
    // Closed while stopped: the same.
    const stopped = monitor({ system: { enabled: false }, runtime: { enabled: false } });
    await stopped.start();
    await stopped.stop();
    expect(caught(() => stopped.record('queue_size', 1)).message).toBe('the monitor is not running: call start() before recording');
    await stopped.close();
    expect(caught(() => stopped.record('queue_size', 1)).message).toBe(closedRule);
  });

  it('refuses records once stopped, keeps its data readable, and resumes on start()', async () => {
    const m = monitor({ system: { enabled: false }, runtime: { enabled: false } });
    const h = m.metric('api_response_time', { api: 'billing' });
    expect(() => h.record(1)).toThrow(MonitorStoppedError);
    const started = once(m, 'start');
    await m.start();
    await started;
    for (let i = 0; i < 1000; i++) h.record(5);
    const stopped = once(m, 'stop');
    await m.stop();
    await stopped;
    expect(() => h.record(1)).toThrow(/the monitor is not running/);
    expect(() => m.record('api_response_time', 1, { api: 'billing' })).toThrow(MonitorStoppedError);
    const after = m.getMetrics({ names: ['api_response_time'] });
    expect(after[0]).toMatchObject({ totalCount: 1000, totalSum: 5000 });
    await m.start();
    h.record(7);
    await m.flush();
    expect(m.getMetrics({ names: ['api_response_time'] })[0]).toMatchObject({ totalCount: 1001, totalSum: 5007 });
  });

  it('applies at stop() every sample waiting in a ring larger than one pass takes (65,536 samples)', async () => {
    // The collector's stop ended after one pass, which drains at most 65,536 samples a ring:
    // with a ring of 1M slots, 434,464 of 500,000 samples recorded just before stop() were
    // left in it, and with storage lost at the process's exit. Here more than a collector
    // awake meanwhile drains while they are recorded, and under half the ring (which wakes it).
    const m = monitor({ system: { enabled: false }, runtime: { enabled: false }, ringCapacity: 1 << 22 });
    await m.start();
    const h = m.metric('burst_before_stop');
    const n = 1_500_000;
    for (let i = 0; i < n; i++) h.record(i % 10);
    await m.stop();
    expect(m.status().ingestion.pending).toBe(0);
    expect(m.getMetrics({ names: ['burst_before_stop'] })[0]).toMatchObject({ totalCount: n, totalSum: 4.5 * n });
  });
});
