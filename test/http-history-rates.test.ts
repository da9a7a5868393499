/**
 * /api/history's parameters for the dashboard's charts of rates (resolution=bucketed,
 * zero_fill, order=busiest), and the answers of a query that matches nothing: a tag value
 * that is not a string names its tag, and tags a typo most likely meant are suggested
 * (suggestTags) in /api/history and /api/metrics.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type HttpServer } from '../dist/src/index.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

async function serving(): Promise<{ monitor: PerformanceMonitor; server: HttpServer; get: (path: string) => Promise<{ status: number; body: any }> }> {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
  await monitor.start();
  cleanup.push(() => monitor.stop());
  const server = await monitor.serveHttp({ port: 0 });
  cleanup.push(() => server.close());
  const get = async (path: string) => {
    const r = await fetch(new URL(path, server.url));
    return { status: r.status, body: await r.json() };
  };
  return { monitor, server, get };
}

const tags = (t: unknown): string => encodeURIComponent(JSON.stringify(t));

describe('/api/history for charts of rates', () => {
  it('answers the busiest series first with order=busiest, and buckets, never raw samples, with resolution=bucketed', async () => {
    const { monitor, get } = await serving();
    for (let i = 0; i < 25; i++) monitor.recordRequest({ endpoint: `/e${i}`, responseTimeMs: 5, statusCode: 200 });
    for (let i = 0; i < 30; i++) monitor.recordRequest({ endpoint: '/busy', responseTimeMs: 5, statusCode: i < 3 ? 500 : 200 });
    await monitor.flush();
    const byId = await get('/api/history?metric=throughput');
    expect(byId.body.series.map((s: { tags: { endpoint: string } }) => s.tags.endpoint)).not.toContain('/busy');
    const busiest = await get('/api/history?metric=throughput&order=busiest&resolution=bucketed&zero_fill=true');
    expect(busiest.status).toBe(200);
    expect(busiest.body.totalSeries).toBe(26);
    expect(busiest.body.series).toHaveLength(20);
    expect(busiest.body.series[0].tags).toEqual({ endpoint: '/busy' });
    expect(busiest.body.series.every((s: { resolution: string }) => s.resolution === 'bucket')).toBe(true);
    expect(busiest.body.series[0].points.reduce((n: number, p: { sum: number }) => n + p.sum, 0)).toBe(30);
    // An error rate of buckets: the mean of each (a bucket's 0s and 1s), 3 of 30 in all, where raw samples were 0s and 1s.
    const errors = await get(`/api/history?metric=error_rate&resolution=bucketed&tags=${tags({ endpoint: '/busy' })}`);
    const points: { value: number; sum: number; count: number }[] = errors.body.series[0].points;
    expect(errors.body.series[0].resolution).toBe('bucket');
    expect(points.every((p) => p.value === p.sum / p.count)).toBe(true);
    expect(points.reduce((n, p) => n + p.sum, 0) / points.reduce((n, p) => n + p.count, 0)).toBe(0.1);
    expect((await get('/api/history?metric=throughput&order=loud')).body.error).toEqual({ code: 'PW_ERR_INVALID_ARG', field: 'order', message: expect.stringMatching(/^order must be one of id, busiest/) });
    expect((await get('/api/history?metric=throughput&zero_fill=1')).body.error).toEqual({ code: 'PW_ERR_INVALID_ARG', field: 'zero_fill', message: 'zero_fill must be true or false, got "1"' });
    expect((await get('/api/history?metric=throughput&resolution=rates')).body.error).toMatchObject({ field: 'resolution', message: expect.stringMatching(/bucketed/) });
  });

  it('names the tag whose value is not a string, and suggests the tags a typo meant in an empty answer', async () => {
    const { monitor, get } = await serving();
    monitor.recordRequest({ endpoint: '/users', responseTimeMs: 5, statusCode: 200 });
    await monitor.flush();
    const bad = await get(`/api/history?metric=response_time&tags=${tags({ endpoint: 1 })}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toEqual({ code: 'PW_ERR_INVALID_ARG', field: 'tags', message: 'tags must be a JSON object of strings, such as {"endpoint":"/users"}: the value of "endpoint" is a number (1), not a string' });
    const history = await get(`/api/history?metric=response_time&tags=${tags({ endpont: '/users' })}`);
    expect(history.body).toMatchObject({ series: [], totalSeries: 0, suggestedTags: { endpoint: '/users' }, hint: 'no series of response_time has the tags {"endpont":"/users"}: did you mean {"endpoint":"/users"}?' });
    const metrics = await get(`/api/metrics?names=response_time&tags=${tags({ endpoint: '/user' })}`);
    expect(metrics.body).toMatchObject({ total: 0, suggestedTags: { endpoint: '/users' }, hint: 'no series of response_time has the tags {"endpoint":"/user"}: did you mean {"endpoint":"/users"}?' });
    // A match, or a miss no typo explains, has no hint.
    expect((await get(`/api/history?metric=response_time&tags=${tags({ endpoint: '/users' })}`)).body).not.toHaveProperty('hint');
    expect((await get(`/api/metrics?tags=${tags({ region: 'mars' })}`)).body).not.toHaveProperty('hint');
  });
});
