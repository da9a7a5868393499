/**
 * New series refused at maxSeries are counted and said: status().series.refused, a fault of
 * kind series-limit (one process warning), a note in reports and a line of the MCP status.
 * Each refusal was a CardinalityError to its caller alone: a service that swallowed it lost
 * the series with no trace anywhere, while series never expire in a running monitor (a trial:
 * 25 refused, faults empty, no word in the report).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { CardinalityError, PerformanceMonitor } from '../dist/src/index.js';
import { connectInMemory } from './mcp-helpers.js';

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
