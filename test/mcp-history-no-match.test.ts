/**
 * get_metric_history with a tag filter that matches no series says so, as
 * get_performance_metrics does, and keeps "no data in the range" for a metric whose series
 * have no data: an agent told "no data in the range" widens the range, which cannot help a
 * filter that matches nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { PerformanceMonitor } from '../dist/src/index.js';
import { connectInMemory } from './mcp-helpers.js';

describe('get_metric_history with a filter that matches no series', () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  let client: Client;

  beforeAll(async () => {
    client = await connectInMemory(monitor, 'history-no-match');
    await monitor.start();
    monitor.record('k', 1, { a: 'x' });
    monitor.record('request_ms', 120, { endpoint: '/slow' });
    await monitor.flush();
  });
  afterAll(async () => {
    await client.close();
    await monitor.stop();
  });

  const text = async (name: string, args: Record<string, unknown>): Promise<string> => {
    const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: { text: string }[] };
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    return r.content[0]!.text;
  };

  it('says no series matches the metric with those tags, as get_performance_metrics does, not that the range has no data', async () => {
    // A filter no typo explains (no tag of k's series is near zone): no did you mean.
    expect(await text('get_metric_history', { metric_type: 'k', tags: { zone: 'eu' } })).toBe('no series matches k{zone="eu"} yet: leave out tags for the series there are');
    expect(await text('get_performance_metrics', { metric_types: ['k'], tags: { zone: 'eu' } })).toMatch(/^no series matches k\{zone="eu"\} yet: /);
  });

  it('names the tags a typo in the filter most likely meant, as get_performance_metrics does', async () => {
    // It said only "no series matches response_time{endpont=/slow} yet" where get_performance_metrics added the did you mean.
    expect(await text('get_metric_history', { metric_type: 'request_ms', tags: { endpont: '/slow' } })).toBe('no series matches request_ms{endpont="/slow"} yet: leave out tags for the series there are; did you mean request_ms{endpoint="/slow"}?');
    expect(await text('get_metric_history', { metric_type: 'k', tags: { a: 'y' } })).toBe('no series matches k{a="y"} yet: leave out tags for the series there are; did you mean k{a="x"}?');
  });

  it('lists a matching series outside the range with no points, and says no data in the range of a metric without any', async () => {
    // An hour that ended before the monitor started.
    const before = { metric_type: 'k', tags: { a: 'x' }, start: new Date(Date.now() - 7_200_000).toISOString(), end: new Date(Date.now() - 3_600_000).toISOString() };
    expect(await text('get_metric_history', before)).toMatch(/^k\{a="x"\}: no points$/m);
    expect(await text('get_metric_history', { metric_type: 'response_time' })).toBe('response_time: no data in the range');
  });
});
