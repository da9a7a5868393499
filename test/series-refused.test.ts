/**
 * New series refused at maxSeries are counted and said: status().series.refused, a fault of
 * kind series-limit (one process warning), a note in reports and a line of the MCP status.
 * Each refusal was a CardinalityError to its caller alone: a service that swallowed it lost
 * the series with no trace anywhere, while series never expire in a running monitor (a trial:
 * 25 refused, faults empty, no word in the report).
 */
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { CapacityError, CardinalityError, PerformanceMonitor } from '../dist/src/index.js';
import { createSharedTable } from '../dist/src/engine/shared-table.js';
import { OWN_SERIES, Registry, type PendingSeries, type RefusalCause } from '../dist/src/engine/registry.js';
import { SeriesRefusals } from '../dist/src/monitor/series-refusals.js';
import { HANG_AT, controlViews } from '../dist/src/engine/control.js';
import { connectInMemory } from './mcp-helpers.js';
import { once, waitFor } from './helpers.js';
import { parseExposition, valueOf } from './http-metrics-helpers.js';

/**
 * Scrapes the monitor's /metrics until monitor_series_refused_total says `total`: its samples
 * come at the monitor's tick, once an interval, and show once their bucket closes.
 */
async function scrapedRefusals(monitor: PerformanceMonitor, total: number): Promise<number | undefined> {
  const server = await monitor.serveHttp({ port: 0 });
  try {
    let seen: number | undefined;
    await waitFor(async () => {
      seen = valueOf(parseExposition(await (await fetch(server.metricsUrl)).text()), 'monitor_series_refused_total', {});
      return seen === total;
    }, 15_000, `monitor_series_refused_total ${total}`).catch(() => {});
    return seen;
  } finally {
    await server.close();
  }
}

describe('new series refused at maxSeries', () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', maxSeries: 16, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    if (w.message.includes('series-limit')) warnings.push(w.message);
  };
  let client: Client;

  beforeAll(async () => {
    process.on('warning', onWarning);
    client = await connectInMemory(monitor, 'series-refused');
    await monitor.start();
    for (let i = 1; i <= 10; i++) monitor.record('req_ms', i, { route: '/a' });
    // A wrapper that swallows the error, as many around a metrics call do.
    let thrown = 0;
    for (let u = 0; u < 40; u++) {
      try {
        monitor.record('req_ms', 5, { user: `u${u}` });
      } catch (error) {
        expect(error).toBeInstanceOf(CardinalityError);
        thrown++;
      }
    }
    expect(thrown).toBe(25);
    expect(() => monitor.recordBatch([{ name: 'req_ms', value: 1, tags: { route: '/a' } }, { name: 'jobs', value: 1 }])).toThrow(CardinalityError);
    await monitor.flush();
  });
  afterAll(async () => {
    process.off('warning', onWarning);
    await client.close();
    await monitor.stop();
  });

  it('counts them in status().series.refused by metric name, with the tag whose values filled the registry, and as one fault of kind series-limit, warned of once', () => {
    const s = monitor.status();
    expect(s.series.refused).toMatchObject({ total: 26, byName: [{ name: 'req_ms', count: 25, tag: 'user' }, { name: 'jobs', count: 1, tag: null }] });
    expect(s.series.refused.firstAt).toBeLessThanOrEqual(s.series.refused.lastAt!);
    // One fault for the limit, not one a refusal (a request under instrument() each, at the limit).
    expect(s.faults.byKind['series-limit']).toMatchObject({ count: 1, lastMessage: 'maxSeries (16) reached: req_ms{user="u15"} was refused, and every new series after it is (counted in status().series.refused); series never expire in a running monitor: raise maxSeries or reduce tag values' });
    expect(warnings).toHaveLength(1);
    // The series already there stay exact.
    expect(monitor.getMetrics({ names: ['req_ms'], tags: { route: '/a' } })[0]).toMatchObject({ totalCount: 10, totalSum: 55 });
  });

  it('says as many on /metrics as status() does, in monitor_series_refused_total', async () => {
    // A team alerting from Prometheus saw monitor_faults_total{kind="series-limit"} 1 alone:
    // one fault, not how many series (and their samples) were lost.
    expect(await scrapedRefusals(monitor, 26)).toBe(monitor.status().series.refused.total);
  });

  it('says so in a report, with what to do', async () => {
    const md = (await monitor.generateReport({ format: 'markdown' })) as string;
    expect(md).toMatch(/26 new series refused at maxSeries \(16\) since \d{4}-\d\d-\d\dT[\d:.]+Z: their samples were not recorded, and series never expire in a running monitor, so every new one is refused until a restart: raise maxSeries or reduce tag values, e\.g\. tag `user` on req_ms \(25 refused\)/);
  });

  it('says so in get_monitoring_status', async () => {
    const r = (await client.callTool({ name: 'get_monitoring_status', arguments: {} })) as { content: { text: string }[]; structuredContent: { series: { refused: number }; faults: { by_kind: Record<string, number> } } };
    expect(r.content[0]!.text.split('\n')).toContain('series refused: 26 new series at maxSeries (req_ms 25 (tag user), jobs 1); series never expire in a running monitor: raise maxSeries or reduce tag values');
    expect(r.structuredContent.series.refused).toBe(26);
    expect(r.structuredContent.faults.by_kind['series-limit']).toBe(1);
  });
});

// A producer() thread's refusals reached its caller alone: a service that records from workers
// or piscina (as the README suggests) saw `refused.total` 0, no fault and nothing in the MCP
// status while 28 of its series were refused (a trial).
// Each tag's values were kept up to 16: every tag that reached 16 tied, and the first in order
// won, so a route tag of 40 values was named over a user id of 1,900 (a trial): the advice
// told the service to drop its route tag.
describe('the tag a refusal names', () => {
  it('is the one of the most distinct values, past the first 16 of each tag too', () => {
    const refusals = new SeriesRefusals();
    for (let i = 0; i < 1900; i++) refusals.note('req_ms', [['endpoint', `/e${i % 40}`], ['user', `u${i}`]], 1000 + i);
    for (let i = 0; i < 300; i++) refusals.note('jobs_ms', [['a_user', `u${i}`], ['queue', `q${i % 20}`]], 5000 + i);
    expect(refusals.status().byName).toEqual([
      { name: 'req_ms', count: 1900, tag: 'user' },
      { name: 'jobs_ms', count: 300, tag: 'a_user' },
    ]);
    expect(refusals.reportNote(100)).toContain('e.g. tag `user` on req_ms (1900 refused)');
  });
});

describe('new series refused at maxSeries in a producer() thread', () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', maxSeries: 16, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    if (w.message.includes('series-limit')) warnings.push(w.message);
  };
  let client: Client;
  let refusedInWorker = 0;

  beforeAll(async () => {
    process.on('warning', onWarning);
    client = await connectInMemory(monitor, 'series-refused-threads');
    await monitor.start();
    const code = [
      "const { parentPort, workerData } = require('node:worker_threads');",
      `import(${JSON.stringify(new URL('../dist/src/index.js', import.meta.url).href)}).then(({ attachProducer }) => {`,
      '  const producer = attachProducer(workerData.handle);',
      '  let refused = 0;',
      '  for (let k = 0; k < 40; k++) {',
      "    try { producer.record('w_card', 1, { user: `u${k}` }); } catch (error) { if (error.name === 'CardinalityError') refused++; else throw error; }",
      '  }',
      '  producer.flush();',
      '  parentPort.postMessage(refused);',
      '});',
    ].join('\n');
    const worker = new Worker(code, { eval: true, workerData: { handle: monitor.producer() } });
    // Both listened for from the start: a worker that ends before its message is read has both
    // emitted at once (Node drains the port at the exit), 'exit' before a listener added after
    // the message (a CI run under load waited for it until the hook's timeout).
    [refusedInWorker] = await Promise.all([once<number>(worker, 'message'), once(worker, 'exit')]);
    await monitor.flush();
  });
  afterAll(async () => {
    process.off('warning', onWarning);
    await client.close();
    await monitor.stop();
  });

  it("counts them in status().series.refused and as the series-limit fault, which comes by itself, warned of once", async () => {
    expect(refusedInWorker).toBe(24);
    // The fault and its warning without a look at status: the monitor's tick takes the count.
    await waitFor(() => warnings.length > 0, 10_000, 'the series-limit warning');
    const s = monitor.status();
    expect(s.series.refused).toMatchObject({ total: 24, threads: 24, byName: [] });
    expect(s.series.refused.firstAt).toBeLessThanOrEqual(s.series.refused.lastAt!);
    expect(s.faults.byKind['series-limit']).toMatchObject({ count: 1, lastMessage: expect.stringMatching(/^maxSeries \(16\) reached: a new series of a producer\(\) thread was refused/) });
    expect(warnings).toHaveLength(1);
  });

  it("says them on /metrics too, in monitor_series_refused_total", async () => {
    expect(await scrapedRefusals(monitor, 24)).toBe(monitor.status().series.refused.total);
  });

  it('says so in a report and in get_monitoring_status', async () => {
    const md = (await monitor.generateReport({ format: 'markdown' })) as string;
    expect(md).toMatch(/24 new series refused \(24 of them in producer\(\) threads\) at maxSeries \(16\) since /);
    const r = (await client.callTool({ name: 'get_monitoring_status', arguments: {} })) as { content: { text: string }[]; structuredContent: { series: { refused: number } } };
    expect(r.content[0]!.text.split('\n')).toContain('series refused: 24 new series at maxSeries (24 in producer() threads); series never expire in a running monitor: raise maxSeries or reduce tag values');
    expect(r.structuredContent.series.refused).toBe(24);
  });
});

// The registry's string arena (names and tags) can refuse a new series below maxSeries; that
// refusal was counted nowhere (no status, no fault), a CapacityError to its caller alone. Within
// a monitor's limits only its most, 1 GiB of tags, fills it (or memory that cannot be had), so
// these tests are at the registry's level, with an arena of 64 bytes for the application.
describe("new series refused by the registry's full string arena", () => {
  function smallArena(): Registry {
    const limits = { maxSeries: 16, maxTags: 4, maxTagValueLength: 16 };
    const total = limits.maxSeries + OWN_SERIES;
    const names = createSharedTable({ capacity: total, arenaBytes: total * 48, extraInts: 2, reserved: OWN_SERIES, reservedArenaBytes: OWN_SERIES * 48 });
    const series = createSharedTable({ capacity: total, arenaBytes: 64 + 256, extraInts: 1, reserved: OWN_SERIES, reservedArenaBytes: 256 });
    return new Registry({ names, series, limits }, 1);
  }

  it('calls onRefused with the arena as the cause, once a record or a batch, as at maxSeries', () => {
    const r = smallArena();
    const refused: [string, RefusalCause][] = [];
    r.onRefused = (p: PendingSeries, cause: RefusalCause) => refused.push([`${p.name}:${p.pairs.map(([, v]) => v).join()}`, cause]);
    // `req_ms\x1fuser\x1euN` is 14 bytes: four fit in 64, the fifth does not, 11 below maxSeries.
    for (let u = 0; u < 4; u++) r.seriesId('req_ms', { user: `u${u}` });
    expect(() => r.seriesId('req_ms', { user: 'u4' })).toThrow(CapacityError);
    expect(() => r.commit([r.prepare('req_ms', { user: 'u5' }) as PendingSeries, r.prepare('req_ms', { user: 'u6' }) as PendingSeries])).toThrow(CapacityError);
    expect(r.applicationSeriesCount()).toBe(4);
    expect(refused).toEqual([['req_ms:u4', 'arena'], ['req_ms:u5', 'arena']]);
    // The monitor's own share is apart: its series still fit, and are not the application's refusals.
    expect(r.ownSeriesId('monitor_series_refused', undefined)).toBeGreaterThanOrEqual(0);
    expect(refused).toHaveLength(2);
  });

  it("counts them in status().series.refused, with the arena's apart, in any thread, and says so in a report", () => {
    const refusals = new SeriesRefusals();
    refusals.note('req_ms', [['user', 'u4']], 1_000, 0, 'arena');
    refusals.note('req_ms', [['user', 'u5']], 2_000, 0, 'maxSeries');
    // A producer() thread's: 3 in all, 2 of them the arena's.
    refusals.takeThreads(3, 3_000, 2);
    expect(refusals.status()).toMatchObject({ total: 5, arena: 3, threads: 3, byName: [{ name: 'req_ms', count: 2, tag: 'user' }] });
    expect([refusals.of('arena'), refusals.of('maxSeries')]).toEqual([3, 2]);
    expect(refusals.reportNote(16)).toMatch(/; 3 of them were refused below it, the registry's string arena full: see the series-arena fault$/);
  });
});

// The registry's name table holds maxSeries metric names of the application's (the built-in
// and the monitor's own apart); define() adds a name without a series, so a loop of distinct
// names fills it with maxSeries far from reached (a trial: 400 names at maxSeries 16, 305 refused
// with "metric name limit reached (16 names)" and counted nowhere: no status, no fault).
describe("new metric names refused by the registry's full name table", () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', maxSeries: 16, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    if (w.message.includes('series-names')) warnings.push(w.message);
  };
  let client: Client;
  let defined = 0;
  const errors: unknown[] = [];

  beforeAll(async () => {
    process.on('warning', onWarning);
    client = await connectInMemory(monitor, 'series-refused-names');
    await monitor.start();
    // A wrapper that swallows the error, as many around a metrics call do.
    for (let i = 0; i < 200; i++) {
      try {
        monitor.define({ name: `job_${i}_ms`, kind: 'counter' });
        defined++;
      } catch (error) {
        errors.push(error);
      }
    }
    // A record of a new name and a batch with one: refused by the name table, not maxSeries.
    expect(() => monitor.record('late_ms', 1)).toThrow(CardinalityError);
    expect(() => monitor.recordBatch([{ name: 'job_0_ms', value: 1 }, { name: 'later_ms', value: 1 }])).toThrow(/^samples\[1\] metric name limit reached: .* and "later_ms" would be one more/);
    await monitor.flush();
  });
  afterAll(async () => {
    process.off('warning', onWarning);
    await client.close();
    await monitor.stop();
  });

  it('throws a CardinalityError naming the limit, the name and what to do', () => {
    expect(defined).toBe(16);
    expect(errors).toHaveLength(200 - defined);
    const e = errors[0] as CardinalityError;
    expect(e).toBeInstanceOf(CardinalityError);
    expect(e.field).toBe('name');
    expect(e.message).toBe(`metric name limit reached: the registry holds 16 metric names of the application's (as many as maxSeries; the built-in names and the monitor's own are apart) and "job_${defined}_ms" would be one more; record fewer distinct metric names (put the varying part in a tag) or raise maxSeries`);
  });

  it('counts them in status().series.refused.names and the total, as one fault of kind series-names, warned of once', () => {
    const refused = 200 - defined + 2;
    const s = monitor.status();
    expect(s.series.refused).toMatchObject({ total: refused, names: refused, arena: 0, threads: 0 });
    // By name, each once, with no tag: a name, not a tag's values, filled the table.
    expect(s.series.refused.byName).toHaveLength(5);
    for (const n of s.series.refused.byName) expect(n).toEqual({ name: expect.stringMatching(/^job_\d+_ms$/), count: 1, tag: null });
    expect(s.faults.byKind['series-names']).toMatchObject({ count: 1, lastMessage: expect.stringMatching(/^the registry's name table is full at 16 metric names of the application's .*: the metric name "job_\d+_ms" was refused, .*record fewer distinct metric names \(put the varying part in a tag\) or raise maxSeries$/) });
    expect(s.faults.byKind['series-limit']).toBeUndefined();
    expect(warnings).toHaveLength(1);
  });

  it('says as many on /metrics, in a report and in get_monitoring_status', async () => {
    const refused = 200 - defined + 2;
    expect(await scrapedRefusals(monitor, refused)).toBe(refused);
    const md = (await monitor.generateReport({ format: 'markdown' })) as string;
    expect(md).toContain(`; ${refused} of them were refused for a new metric name, the registry's name table full (16 names of the application's): record fewer distinct metric names (put the varying part in a tag) or raise maxSeries`);
    const r = (await client.callTool({ name: 'get_monitoring_status', arguments: {} })) as { content: { text: string }[]; structuredContent: { series: { refused: number } } };
    const line = r.content[0]!.text.split('\n').find((l) => l.startsWith('series refused:'));
    expect(line).toMatch(new RegExp(`; ${refused} of them for a new metric name, the registry's name table full: record fewer distinct metric names \\(put the varying part in a tag\\) or raise maxSeries$`));
    // None of them at maxSeries: the line does not say so, nor what to do there.
    expect(line).toMatch(new RegExp(`^series refused: ${refused} new series \\(`));
    expect(line).not.toContain('series never expire');
    expect(r.structuredContent.series.refused).toBe(refused);
  });
});

// The same refusals in a producer() thread reached its caller alone.
describe("new metric names refused by the registry's full name table in a producer() thread", () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', maxSeries: 16, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  let refusedInWorker: string[] = [];

  beforeAll(async () => {
    await monitor.start();
    // The table filled here, this thread's one refusal at its end.
    for (let i = 0; i < 200; i++) {
      try {
        monitor.define({ name: `job_${i}_ms`, kind: 'counter' });
      } catch {
        break;
      }
    }
    const code = [
      "const { parentPort, workerData } = require('node:worker_threads');",
      `import(${JSON.stringify(new URL('../dist/src/index.js', import.meta.url).href)}).then(({ attachProducer }) => {`,
      '  const producer = attachProducer(workerData.handle);',
      '  const refused = [];',
      "  const calls = [() => producer.metric('w_kind', {}, { kind: 'counter' }), () => producer.record('w_plain', 1), () => producer.record('w_other', 1)];",
      '  for (const call of calls) {',
      '    try { call(); } catch (error) { refused.push(error.name + \': \' + error.message); }',
      '  }',
      '  producer.flush();',
      '  parentPort.postMessage(refused);',
      '});',
    ].join('\n');
    const worker = new Worker(code, { eval: true, workerData: { handle: monitor.producer() } });
    [refusedInWorker] = await Promise.all([once<string[]>(worker, 'message'), once(worker, 'exit')]);
  });
  afterAll(() => monitor.stop());

  it("counts them in status().series.refused.names, apart from the thread's other refusals", () => {
    expect(refusedInWorker).toHaveLength(3);
    expect(refusedInWorker[0]).toMatch(/^CardinalityError: metric name limit reached: the registry holds 16 metric names of the application's .* and "w_kind" would be one more; record fewer distinct metric names/);
    const s = monitor.status();
    expect(s.series.refused).toMatchObject({ total: 4, names: 4, threads: 3 });
    expect(s.faults.byKind['series-names']?.count).toBe(1);
  });
});

// monitor_series_refused's reading goes into the host's ring, which drops it when full (the
// monitor's own readings never wait). Marked as recorded all the same, the refusals it carried
// were never on /metrics: it said fewer than status() for as long as the monitor ran.
describe('monitor_series_refused when its reading finds the ring full', () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', overflow: 'drop', ringCapacity: 1024, maxSeries: 16, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  afterAll(() => monitor.stop());

  it('gives the refusals again with the next reading: /metrics still says as many as status()', async () => {
    await monitor.start();
    for (let i = 0; i < 16; i++) monitor.metric('jobs', { i: String(i) });
    const h = monitor.metric('jobs', { i: '0' });
    const ctl = controlViews((monitor as unknown as { control: SharedArrayBuffer }).control);
    await monitor.injectFault('hang');
    await waitFor(() => ctl.f64[HANG_AT]! > 0, 10_000, 'the collector to hang');
    const writer = (monitor as unknown as { mainWriter: { fill(): number } }).mainWriter;
    while (writer.fill() < 1024) h.record(1);
    expect(() => monitor.metric('jobs', { i: '16' })).toThrow(CardinalityError);
    const dropped = monitor.status().ingestion.dropped;
    // The tick's reading of the refusals, while the ring is still full: dropped.
    (monitor as unknown as { recordRefusals(): void }).recordRefusals();
    expect(monitor.status().ingestion.dropped).toBeGreaterThan(dropped);
    // The collector replaced, the ring drained: a later tick gives the refusal again.
    expect(await scrapedRefusals(monitor, 1)).toBe(monitor.status().series.refused.total);
  }, 40_000);
});
