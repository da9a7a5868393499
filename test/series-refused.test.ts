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
import { CardinalityError, PerformanceMonitor } from '../dist/src/index.js';
import { connectInMemory } from './mcp-helpers.js';
import { once, waitFor } from './helpers.js';

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

  it('says so in a report and in get_monitoring_status', async () => {
    const md = (await monitor.generateReport({ format: 'markdown' })) as string;
    expect(md).toMatch(/24 new series refused \(24 of them in producer\(\) threads\) at maxSeries \(16\) since /);
    const r = (await client.callTool({ name: 'get_monitoring_status', arguments: {} })) as { content: { text: string }[]; structuredContent: { series: { refused: number } } };
    expect(r.content[0]!.text.split('\n')).toContain('series refused: 24 new series at maxSeries (24 in producer() threads); series never expire in a running monitor: raise maxSeries or reduce tag values');
    expect(r.structuredContent.series.refused).toBe(24);
  });
});
