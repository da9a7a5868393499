/**
 * The series an agent reads first on a service whose tags churn (a request id in a tag: series
 * recorded once, then never again): get_performance_metrics lists those with a sample in the
 * window first, says how many had none and where they are; in id order its first page was
 * all `n=0` rows, and the live series were pages away (a trial of 2026-12-07).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { PerformanceMonitor } from '../dist/src/index.js';
import { connectInMemory } from './mcp-helpers.js';

const ONCE = 300;
const LIVE = 5;
/** The window asked for: the series recorded once are older than it when the live ones are recorded. */
const WINDOW = 2;

type Answer = { isError?: boolean; content: { text: string }[]; structuredContent: { metrics: { name: string; tags: Record<string, string>; count: number }[]; total: number; idle: number; truncated: boolean; next_offset?: number } };

describe('a churned monitor: the series with samples in the window first', () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  let client: Client;
  const names = ['response_time', 'steady_ms'];

  beforeAll(async () => {
    await monitor.start();
    client = await connectInMemory(monitor, 'idle');
    for (let s = 0; s < ONCE; s++) monitor.record('response_time', 5, { request_id: `r${s}` });
    await monitor.flush();
    // Past the window: their buckets start before any window of WINDOW seconds asked after this.
    await new Promise((resolve) => setTimeout(resolve, (WINDOW + 1) * 1000));
    for (let s = 0; s < LIVE; s++) monitor.record('steady_ms', 10 + s, { route: `/live${s}` });
    await monitor.flush();
  });
  afterAll(async () => {
    await client.close();
    await monitor.stop();
  });

  const call = async (args: Record<string, unknown>): Promise<Answer> => {
    const r = (await client.callTool({ name: 'get_performance_metrics', arguments: { window: WINDOW, ...args } })) as Answer;
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    return r;
  };

  it('get_performance_metrics: its first page holds the live series, before the idle ones, and says how many are idle and where', async () => {
    const r = await call({ metric_types: names });
    const shown = r.structuredContent.metrics;
    expect(r.structuredContent).toMatchObject({ total: ONCE + LIVE, idle: ONCE, truncated: true });
    expect(shown.slice(0, LIVE).map((m) => m.tags.route)).toEqual(['/live0', '/live1', '/live2', '/live3', '/live4']);
    expect(shown.slice(0, LIVE).every((m) => m.count === 1)).toBe(true);
    // Then the idle ones, by id.
    expect(shown.slice(LIVE).map((m) => m.tags.request_id)).toEqual(shown.slice(LIVE).map((_, i) => `r${i}`));
    expect(r.content[0]!.text).toMatch(new RegExp(`^${ONCE + LIVE} series, last ${WINDOW}s; ${ONCE} had no sample in it, listed after the ${LIVE} that did \\(from offset ${LIVE}\\)`));
    // Without a filter too: the monitor's own series are live, the ones recorded once are not.
    const all = await call({});
    expect(all.structuredContent.idle).toBe(ONCE);
    expect(all.structuredContent.metrics.filter((m) => m.name === 'steady_ms')).toHaveLength(LIVE);
    expect(all.structuredContent.metrics.findIndex((m) => m.count === 0)).toBe(all.structuredContent.total - ONCE);
  });

  it('get_performance_metrics pages through the live series, then the idle ones, each once', async () => {
    const seen: string[] = [];
    let offset = 0;
    for (let page = 0; page < 4 && offset < ONCE + LIVE; page++) {
      const r = await call({ metric_types: names, limit: 100, ...(offset ? { offset } : {}) });
      seen.push(...r.structuredContent.metrics.map((m) => m.tags.route ?? m.tags.request_id!));
      offset += r.structuredContent.metrics.length;
    }
    expect(seen).toEqual([...Array.from({ length: LIVE }, (_, i) => `/live${i}`), ...Array.from({ length: ONCE }, (_, i) => `r${i}`)]);
    // An offset inside the idle ones starts there.
    const mid = await call({ metric_types: names, limit: 2, offset: LIVE + 10 });
    expect(mid.structuredContent.metrics.map((m) => m.tags.request_id)).toEqual(['r10', 'r11']);
  });

  it('getMetrics and countMetrics take sampled: the series with or without a sample in the window', () => {
    expect(monitor.getMetrics({ names, windowSeconds: WINDOW, sampled: true }).map((m) => m.tags.route)).toEqual(['/live0', '/live1', '/live2', '/live3', '/live4']);
    expect(monitor.countMetrics({ names, sampled: true, windowSeconds: WINDOW })).toBe(LIVE);
    expect(monitor.countMetrics({ names, sampled: false, windowSeconds: WINDOW })).toBe(ONCE);
    expect(monitor.getMetrics({ names, windowSeconds: WINDOW, sampled: false, limit: 3 }).map((m) => [m.tags.request_id, m.window.count])).toEqual([['r0', 0], ['r1', 0], ['r2', 0]]);
    // Without sampled: every series, in id order, as before.
    expect(monitor.getMetrics({ names, windowSeconds: WINDOW, limit: 1 })[0]!.tags).toEqual({ request_id: 'r0' });
    expect(() => monitor.getMetrics({ sampled: 'yes' } as never)).toThrow(/^sampled must be true \(only the series with a sample in the window\) or false \(only those without\)/);
    expect(() => monitor.countMetrics({ windowSeconds: WINDOW })).toThrow(/^windowSeconds is a field of countMetrics\(\) only with sampled/);
  });
});
