/**
 * get_performance_metrics with a misspelt tag name or value in its filter: the filter matches
 * no series, and the answer says which tags a typo most likely meant, in the text and in
 * structuredContent (did_you_mean), as the rest of the API answers an unknown name. It said
 * only that no series matched, and an agent left out the filter or gave up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { PerformanceMonitor } from '../dist/src/index.js';
import { connectInMemory } from './mcp-helpers.js';

type Answer = { isError?: boolean; content: { text: string }[]; structuredContent: { total: number; did_you_mean?: Record<string, string> } };

describe('get_performance_metrics with a misspelt tag', () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  let client: Client;
  const metrics = async (args: Record<string, unknown>) => {
    const r = (await client.callTool({ name: 'get_performance_metrics', arguments: args })) as Answer;
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    return r;
  };

  beforeAll(async () => {
    client = await connectInMemory(monitor, 'tag-typo');
    await monitor.start();
    for (const endpoint of ['/checkout', '/cart', '/search']) monitor.record('request_ms', 5, { endpoint, region: 'eu-west-1' });
    monitor.record('queue_size', 3, { queue: 'mail' });
    await monitor.flush();
  });
  afterAll(async () => {
    await client.close();
    await monitor.stop();
  });

  it('names the tag name a typo meant', async () => {
    const r = await metrics({ tags: { endpont: '/checkout' } });
    expect(r.structuredContent).toMatchObject({ total: 0, did_you_mean: { endpoint: '/checkout' } });
    expect(r.content[0]!.text).toBe('no series matches {endpont="/checkout"} yet: leave out tags for the series there are; did you mean {endpoint="/checkout"}?');
    expect(monitor.suggestTags({ tags: { endpont: '/checkout' } })).toEqual({ endpoint: '/checkout' });
  });

  it('names the value a typo meant, with the metric asked for and the tags spelt right', async () => {
    const r = await metrics({ metric_types: ['request_ms'], tags: { region: 'eu-west-1', endpoint: '/chekout' } });
    expect(r.structuredContent.did_you_mean).toEqual({ region: 'eu-west-1', endpoint: '/checkout' });
    expect(r.content[0]!.text).toMatch(/; did you mean request_ms\{region="eu-west-1",endpoint="\/checkout"\}\?$/);
  });

  it('suggests nothing for a filter no typo explains, nor for one that matches', async () => {
    // queue is a tag of queue_size's series, not of request_ms'.
    const other = await metrics({ metric_types: ['request_ms'], tags: { queue: 'mail' } });
    expect(other.structuredContent.did_you_mean).toBeUndefined();
    expect(other.content[0]!.text).toBe('no series matches request_ms{queue="mail"} yet: leave out tags (or metric_types) for the series there are');
    expect((await metrics({ tags: { colour: 'red' } })).structuredContent.did_you_mean).toBeUndefined();
    expect((await metrics({ tags: { endpoint: '/cart' } })).structuredContent).toMatchObject({ total: 1 });
    expect((await metrics({ tags: { endpoint: '/cart' } })).structuredContent.did_you_mean).toBeUndefined();
  });
});
