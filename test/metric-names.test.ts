/**
 * getMetricNames() and GET /api/names: every metric name with data, by name, each once, with
 * its kind, unit and number of series. A picker of names built from a page of series (the
 * dashboard read the first 1,000 of /api/metrics) missed every name first recorded after a
 * thousand series of a churned tag.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type HttpServer } from '../dist/src/index.js';

const CHURN = 1_100;

describe('the names of the metrics with data', () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  let server: HttpServer;
  const get = async (path: string): Promise<{ status: number; body: any }> => {
    const r = await fetch(new URL(path, server.url));
    return { status: r.status, body: await r.json() };
  };

  beforeAll(async () => {
    await monitor.start();
    server = await monitor.serveHttp({ port: 0 });
    monitor.define({ name: 'never_recorded_ms', kind: 'distribution', unit: 'ms' });
    monitor.define({ name: 'churn_ms', kind: 'distribution', unit: 'ms' });
    monitor.define({ name: 'late_total', kind: 'counter' });
    for (let i = 0; i < CHURN; i++) monitor.record('churn_ms', i, { request_id: `r${i}` });
    await monitor.flush();
    monitor.record('late_total', 3);
    monitor.record('bytes_in_flight', 1024);
    await monitor.flush();
  });
  afterAll(async () => {
    await server.close();
    await monitor.stop();
  });

  it('lists each name with data once, by name, with its kind, unit and series; a name defined but never recorded is not one', () => {
    const names = monitor.getMetricNames();
    expect(names.map((n) => n.name)).toEqual([...names.map((n) => n.name)].sort());
    expect(new Set(names.map((n) => n.name)).size).toBe(names.length);
    const of = (name: string) => names.find((n) => n.name === name);
    expect(of('churn_ms')).toEqual({ name: 'churn_ms', kind: 'distribution', unit: 'ms', series: CHURN });
    expect(of('late_total')).toMatchObject({ name: 'late_total', kind: 'counter', series: 1 });
    expect(of('bytes_in_flight')).toMatchObject({ name: 'bytes_in_flight', series: 1 });
    expect(of('never_recorded_ms')).toBeUndefined();
    // The same series getMetrics() lists.
    for (const n of names) expect(n.series).toBe(monitor.countMetrics({ names: [n.name] }));
  });

  it('GET /api/names: the same, a page at a time, next naming the following page; a bad limit is a 400 naming it', async () => {
    // The monitor's own series take their first samples a tick after start: read once the names hold still.
    let all = monitor.getMetricNames();
    for (let tries = 0; tries < 10; tries++) {
      // Longer than the monitor's interval (1 s): its next tick's series are in by then.
      await new Promise((r) => setTimeout(r, 1_200));
      const again = monitor.getMetricNames();
      if (again.length === all.length) break;
      all = again;
    }
    const whole = await get('/api/names');
    expect(whole).toEqual({ status: 200, body: { total: all.length, offset: 0, limit: 1000, names: all } });
    const first = await get('/api/names?limit=2');
    expect(first.body).toMatchObject({ total: all.length, offset: 0, limit: 2, next: '/api/names?limit=2&offset=2' });
    expect(first.body.names).toEqual(all.slice(0, 2));
    const last = await get(`/api/names?limit=2&offset=${all.length - 1}`);
    expect(last.body.names).toEqual(all.slice(-1));
    expect(last.body.next).toBeUndefined();
    const over = await get('/api/names?limit=1001');
    expect(over).toMatchObject({ status: 400, body: { error: { code: 'PW_ERR_INVALID_ARG', field: 'limit', message: 'limit must be an integer from 1 to 1000, got "1001"' } } });
    expect((await get('/api/names?name=x')).body.error.message).toMatch(/unknown query parameter "name"; this route takes limit, offset/);
  });
});
