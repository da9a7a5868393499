import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseTimeRange } from '../dist/src/mcp/schemas.js';
import { acceptsBatch } from '../dist/src/mcp/fast-lane/accept.js';
import { RecordInput } from '../dist/src/mcp/tools/record-performance-metric.js';
import { checker } from '../dist/src/mcp/validate.js';
import { metricsInputFor } from '../dist/src/mcp/tools/get-performance-metrics.js';

/** A seeded generator of samples, most valid, some broken in one of many ways. */
function* inputs(seed: number, count: number): Generator<unknown> {
  let s = seed;
  const rand = (): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 4294967296;
  };
  const breakers: ((x: Record<string, unknown>) => void)[] = [
    (x) => (x.value = 'x'),
    (x) => (x.value = null),
    (x) => (x.value = Infinity),
    (x) => (x.metric_type = 'bad name'),
    (x) => (x.metric_type = ''),
    (x) => (x.metric_type = 'a'.repeat(201)),
    (x) => (x.tags = { route: 5 }),
    (x) => (x.tags = { 'bad key': 'v' }),
    (x) => (x.tags = ['a']),
    (x) => (x.tags = { v: 'x'.repeat(4097) }),
    (x) => (x.extra = 1),
    (x) => (x.timestamp = 'soon'),
    (x) => (x.timestamp = NaN),
    (x) => delete x.value,
  ];
  for (let n = 0; n < count; n++) {
    const len = 1 + Math.floor(rand() * 20);
    const samples = Array.from({ length: len }, (_, i) => {
      const x: Record<string, unknown> = { metric_type: rand() < 0.5 ? 'response_time' : `m_${i % 3}`, value: rand() * 100 };
      if (rand() < 0.5) x.tags = { route: `/r${i % 2}` };
      if (rand() < 0.2) x.timestamp = Date.now();
      return x;
    });
    if (rand() < 0.6) breakers[Math.floor(rand() * breakers.length)]!(samples[Math.floor(rand() * len)]!);
    yield rand() < 0.05 ? { samples, metric_type: 'a' } : { samples };
  }
}

describe('MCP schemas', () => {
  it('accepts a batch on the fast path only where the schema accepts it unchanged', () => {
    let fast = 0;
    let slow = 0;
    for (const input of inputs(7, 3000)) {
      const parsed = RecordInput.safeParse(input);
      if (acceptsBatch(input)) {
        fast++;
        expect(parsed.error?.issues, JSON.stringify(input).slice(0, 300)).toBeUndefined();
        expect(parsed.data).toEqual(input);
      } else slow++;
    }
    expect(fast).toBeGreaterThan(800);
    expect(slow).toBeGreaterThan(800);
  });

  it('names the argument an unknown one most likely meant, as the library does: metric_type for metric_types', () => {
    const message = (schema: z.ZodType, input: unknown): string | undefined => {
      const checked = checker(schema)(input);
      return 'error' in checked ? checked.error.message : undefined;
    };
    const metrics = metricsInputFor({ maxTags: 16, maxTagValueLength: 128 });
    expect(message(metrics, { metric_type: ['cpu_usage'] })).toBe('metric_type is not a known argument; did you mean metric_types?');
    expect(message(RecordInput, { metric_type: 'a', value: 1, tag: { x: 'y' } })).toBe('tag is not a known argument; did you mean tags?');
    expect(message(RecordInput, { samples: [{ metric_type: 'a', value: 1 }, { metric_type: 'a', value: 1, timestamps: 1 }] })).toBe('samples[1].timestamps is not a known argument; did you mean timestamp?');
    // Nothing near: the arguments there are, as the library's errors list its fields.
    expect(message(RecordInput, { metric_type: 'a', value: 1, colour: 'red' })).toBe('colour is not a known argument (the arguments: metric_type, value, tags, samples)');
    expect(message(metrics, { names: ['cpu_usage'] })).toMatch(/^names is not a known argument \(the arguments: metric_types, tags, window, limit, offset\)$/);
    expect(message(metrics, { metric_types: ['cpu_usage'] })).toBeUndefined();
  });

  it('reads time ranges in seconds, minutes, hours and days', () => {
    expect(parseTimeRange('90s')).toBe(90_000);
    expect(parseTimeRange('15m')).toBe(900_000);
    expect(parseTimeRange('24h')).toBe(86_400_000);
    expect(parseTimeRange('7d')).toBe(604_800_000);
  });
});

describe('tool answers are checked against their output schemas on the server', () => {
  it('refuses an answer that does not fit its schema, and passes one that does', async () => {
    const { McpServer, InMemoryTransport } = await import('@modelcontextprotocol/server');
    const { Client } = await import('@modelcontextprotocol/client');
    const { defineTool, READ, TOOL_DEADLINE_MS } = await import('../dist/src/mcp/tools/define.js');
    const front = { stateChanges: true, limits: { deadlineMs: TOOL_DEADLINE_MS }, host: { starting: undefined } };
    const server = new McpServer({ name: 't', version: '1' });
    const Out = z.object({ n: z.number(), label: z.string().nullable() });
    let answer: unknown = { n: 1, label: null };
    defineTool(server, front, 'probe', { title: 'probe', description: 'probe', input: z.strictObject({}), output: Out, annotations: READ }, () => ({ structured: answer as z.output<typeof Out>, text: 'probe' }));
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    const client = new Client({ name: 'c', version: '1' });
    await client.connect(b);
    expect(await client.callTool({ name: 'probe', arguments: {} })).toMatchObject({ structuredContent: { n: 1, label: null } });
    for (const bad of [{ n: 'one', label: null }, { label: 'x' }, { n: Number.NaN, label: null }]) {
      answer = bad;
      const r = (await client.callTool({ name: 'probe', arguments: {} })) as { isError?: boolean; content: { text: string }[] };
      expect(r.isError, JSON.stringify(bad)).toBe(true);
      expect(r.content[0]!.text).toMatch(/Output validation error/);
    }
    // Items checked once are not checked again; new ones are, and a refusal names their place.
    const Listed = z.object({ total: z.number(), items: z.array(z.object({ v: z.number() })) });
    let listed: unknown;
    defineTool(server, front, 'lister', { title: 'lister', description: 'lister', input: z.strictObject({}), output: Listed, annotations: READ, checkedOutputItems: { key: 'items', seen: new WeakSet() } }, () => ({ structured: listed as z.output<typeof Listed>, text: 'lister' }));
    await client.listTools();
    const x = Object.freeze({ v: 1 });
    const y = Object.freeze({ v: 2 });
    const answerOf = async (value: unknown) => {
      listed = value;
      return (await client.callTool({ name: 'lister', arguments: {} })) as { isError?: boolean; content: { text: string }[]; structuredContent?: unknown };
    };
    expect(await answerOf({ total: 2, items: [x, y] })).toMatchObject({ structuredContent: { total: 2, items: [{ v: 1 }, { v: 2 }] } });
    expect(await answerOf({ total: 3, items: [y, x, { v: 'three' }] })).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/items\[2\]\.v .*got "three"/) }] });
    expect(await answerOf({ total: 'two', items: [x, y] })).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/total /) }] });
    expect(await answerOf({ total: 1, items: [{ v: Number.NaN }] })).toMatchObject({ isError: true });
    await client.close();
  });
});

describe('metric summaries kept between polls', () => {
  it('reuse an unchanged series, copy a counter whose rate moved, and rebuild one with new data', async () => {
    const { MetricSummaries, stat } = await import('../dist/src/mcp/format.js');
    const tags = { route: '/a' };
    const snap = (over: Record<string, unknown> = {}, window: Record<string, unknown> = {}) => ({
      id: 3, name: 'hits', tags, kind: 'counter' as const, unit: 'requests' as const, value: 2.123456789, last: 1, lastTimestamp: 1_764_230_400_000,
      totalCount: 10, totalSum: 10,
      window: { seconds: 60, count: 10, sum: 10, mean: 1, min: 1, max: 1, rate: 2.123456789, p50: 1, p90: 1, p95: 1, p99: 1, ...window },
      ...over,
    });
    const memo = new MetricSummaries();
    const first = memo.of([snap()]);
    expect(first.metrics[0]).toEqual({ name: 'hits', tags, kind: 'counter', unit: 'requests', value: 2.12346, last: 1, last_at: '2025-11-27T08:00:00.000Z', count: 10, mean: 1, min: 1, max: 1, total_count: 10 });
    expect(memo.of([snap()]).metrics[0]).toBe(first.metrics[0]);
    const moved = memo.of([snap({ value: 2.5 }, { rate: 2.5 })]);
    expect(moved.metrics[0]).not.toBe(first.metrics[0]);
    expect(moved.metrics[0]).toMatchObject({ value: 2.5, count: 10 });
    expect(first.metrics[0]!.value).toBe(2.12346); // the earlier answer is left as it was
    expect(moved.lines[0]).toMatch(/^hits\{route="\/a"\} 2\.5\/s/);
    const grown = memo.of([snap({ totalCount: 11, last: 4 }, { count: 11, max: 4 })]);
    expect(grown.metrics[0]).toMatchObject({ last: 4, total_count: 11, count: 11, max: 4 });
    // A gauge: its value is its last sample, and quantiles and a sum per second say nothing.
    const gauge = memo.of([snap({ id: 4, name: 'heap_used', kind: 'gauge', unit: 'bytes', value: 5e7, last: 5e7 }, { mean: 4.5e7, min: 4e7, max: 5e7 })]);
    expect(gauge.metrics[0]).toEqual({ name: 'heap_used', tags, kind: 'gauge', unit: 'bytes', value: 5e7, last_at: '2025-11-27T08:00:00.000Z', count: 10, mean: 4.5e7, min: 4e7, max: 5e7, total_count: 10 });
    expect(gauge.lines[0]).toBe('heap_used{route="/a"} 50000000 bytes  n=10');
    // The stdio transport writes the summaries from their kept JSON, byte for byte as JSON.stringify would.
    const { serializeLine, withJson } = await import('../dist/src/mcp/prebuilt.js');
    expect(serializeLine({ jsonrpc: '2.0', id: 1, result: { structuredContent: { a: withJson([1], '[1.0]') } } })).toBe('{"jsonrpc":"2.0","id":1,"result":{"structuredContent":{"a":[1.0]}}}\n'); // the kept text is used
    const both = memo.of([snap(), snap({ id: 5, name: 'lat', kind: 'distribution', unit: 'ms', tags: { q: 'a"\\b\u2028' } })]);
    const message = { jsonrpc: '2.0' as const, id: 7, result: { content: [{ type: 'text' as const, text: both.lines.join('\n') }], structuredContent: { window_seconds: 60, metrics: both.metrics, total: 2, truncated: false } } };
    expect(serializeLine(message)).toBe(`${JSON.stringify(message)}\n`);
    const copied = { ...message, result: { ...message.result, structuredContent: { ...message.result.structuredContent, metrics: [...both.metrics] } } };
    expect(serializeLine(copied)).toBe(`${JSON.stringify(copied)}\n`);
    expect(serializeLine({ jsonrpc: '2.0', id: 8, result: { content: [] } })).toBe('{"jsonrpc":"2.0","id":8,"result":{"content":[]}}\n');
    expect(stat(0.30000000000000004)).toBe(0.3);
    expect(stat(123456789.123)).toBe(123457000);
    expect(stat(null)).toBe(null);
  });
});
