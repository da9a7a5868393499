/**
 * remote_write against the real thing: Debian's Prometheus 2.42 with its remote-write
 * receiver on (--web.enable-remote-write-receiver). A gauge, a counter and a histogram pushed
 * every second are queried back through its HTTP API: the values recorded, every bucket
 * exactly the count of samples at or below its bound (the default bounds lie on sketch bin
 * edges), and histogram_quantile over them. A monitor that stops ends its series there with
 * stale markers, as a scraped target that goes away does; so does a hub's member it forgets.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { rawMember, rowsBatch } from './hub-helpers.js';
import { monitorStarter, waitFor } from './helpers.js';
import { histogramQuantile, logValues, runPrometheus } from './http-metrics-helpers.js';
import { describeWithPeer } from './peers/use.js';

const started = monitorStarter();
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

describeWithPeer('prometheus', 'a Prometheus server receiving remote_write', (peer) => {
  it('stores the gauge, the counter and every histogram bucket pushed, with instance and job', async () => {
    const prometheus = await runPrometheus(peer.binary, 'global:\n  scrape_interval: 1m\n', ['--web.enable-remote-write-receiver']);
    cleanup.push(() => prometheus.stop());
    const m = await started({ export: { remoteWrite: [{ url: `http://127.0.0.1:${prometheus.port}/api/v1/write`, intervalMs: 1_000 }], instance: 'box:7', job: 'checkout' } });
    m.define({ name: 'queue_depth', kind: 'gauge' });
    m.define({ name: 'orders', kind: 'counter' });
    m.record('queue_depth', 42.5, { pool: 'a "quoted" pool' });
    for (let i = 0; i < 25; i++) m.record('orders', 2, { region: 'Grüße 世界' });
    const vs = logValues(4000, 99);
    const h = m.metric('api_response_time', { route: '/pay' });
    for (const v of vs) h.record(v);
    await m.flush();

    const sel = '{instance="box:7",job="checkout",route="/pay"}';
    await waitFor(async () => (await prometheus.query(`api_response_time_count${sel}`)) === vs.length, 40_000, 'Prometheus to store the pushed histogram');
    expect(await prometheus.query('queue_depth{instance="box:7",job="checkout",pool="a \\"quoted\\" pool"}')).toBe(42.5);
    expect(await prometheus.query('orders_total{job="checkout",region="Grüße 世界"}')).toBe(50);
    expect(await prometheus.query(`api_response_time_sum${sel}`)).toBeCloseTo(vs.reduce((a, v) => a + v, 0), 6);
    const bounds = [0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 4000, 8000, 16000, Infinity];
    const buckets = bounds.map((le) => ({ le, count: vs.filter((v) => v <= le).length }));
    for (const b of buckets) {
      expect(await prometheus.query(`api_response_time_bucket{instance="box:7",job="checkout",route="/pay",le="${b.le === Infinity ? '+Inf' : b.le}"}`), `le ${b.le}`).toBe(b.count);
    }
    for (const q of [0.5, 0.9, 0.99]) {
      expect(await prometheus.query(`histogram_quantile(${q}, api_response_time_bucket${sel})`)).toBeCloseTo(histogramQuantile(q, buckets), 9);
    }
    const st = (await m.exportNow()).exporters[0]!;
    expect(st).toMatchObject({ kind: 'remoteWrite', failed: 0, dropped: 0, lastError: null });
    expect(st.sent).toBeGreaterThan(0);
  });
});

describeWithPeer('prometheus', 'a Prometheus server receiving remote_write from a monitor that stops', (peer) => {
  it('marks every series pushed stale at stop(), as a scrape target that went away, and takes them again after a start', async () => {
    const prometheus = await runPrometheus(peer.binary, 'global:\n  scrape_interval: 1m\n', ['--web.enable-remote-write-receiver']);
    cleanup.push(() => prometheus.stop());
    const m = await started({ export: { remoteWrite: [{ url: `http://127.0.0.1:${prometheus.port}/api/v1/write`, intervalMs: 3_600_000 }], instance: 'box:7', job: 'checkout' } });
    m.define({ name: 'queue_depth', kind: 'gauge' });
    m.define({ name: 'orders', kind: 'counter' });
    m.record('queue_depth', 42.5);
    m.record('orders', 3);
    m.record('api_response_time', 12);
    await m.flush();
    await waitFor(async () => {
      await m.exportNow();
      return (await prometheus.query('api_response_time_count{job="checkout"}')) === 1;
    }, 40_000, 'Prometheus to store the pushed histogram');
    expect(await prometheus.query('queue_depth{job="checkout"}')).toBe(42.5);
    await m.stop();
    // Without stale markers Prometheus would answer the last values for its 5-minute lookback,
    // a stopped monitor's series looking alive (a scraped target that goes away is marked stale).
    for (const q of ['queue_depth', 'orders_total', 'api_response_time_count', 'api_response_time_bucket']) {
      expect(await prometheus.query(`count(${q}{job="checkout"})`), q).toBeUndefined();
    }
    await m.start();
    m.record('queue_depth', 7);
    await m.flush();
    await m.exportNow();
    expect(await prometheus.query('queue_depth{job="checkout"}')).toBe(7);
    expect(await prometheus.query('orders_total{job="checkout"}')).toBe(3);
  });
});

describeWithPeer('prometheus', 'a Prometheus server receiving remote_write from a process that restarted', (peer) => {
  it("sees the counter's reset when the restarted process's first total is above the last before the restart, and increase() takes in both", async () => {
    // A process's totals are its own from its start: a hub restarted after a crash, whose
    // member's backlog arrived at once, sent 320 then 680, and Prometheus saw one counter
    // going on (resets() 0, increase() short by the total before the restart).
    const prometheus = await runPrometheus(peer.binary, 'global:\n  scrape_interval: 1m\n', ['--web.enable-remote-write-receiver']);
    cleanup.push(() => prometheus.stop());
    const options = { export: { remoteWrite: [{ url: `http://127.0.0.1:${prometheus.port}/api/v1/write`, intervalMs: 3_600_000 }], instance: 'hub-1', job: 'restart' } };
    for (const total of [300, 680]) {
      // Each monitor a process of its own: its first start, its own totals.
      const m = await started(options);
      m.define({ name: 'jobs', kind: 'counter' });
      m.record('jobs', total);
      await m.flush();
      await waitFor(async () => {
        await m.exportNow();
        return (await prometheus.query('jobs_total{job="restart"}')) === total;
      }, 40_000, `Prometheus to store ${total}`);
      expect(m.status().export.exporters[0]).toMatchObject({ failed: 0 });
      await m.stop();
    }
    expect(await prometheus.query('resets(jobs_total{job="restart"}[10m])')).toBe(1);
    // 300 before the restart and 680 after (increase() extrapolates a little past the samples' span).
    expect(await prometheus.query('increase(jobs_total{job="restart"}[10m])')).toBeGreaterThanOrEqual(980);
  });
});

describeWithPeer('prometheus', 'a Prometheus server receiving remote_write from a hub that forgets a member', (peer) => {
  it("ends the forgotten member's series at the next export with stale markers; the cluster-wide series goes on", async () => {
    // The member's series left the hub's /metrics and the exporter simply stopped sending
    // them: Prometheus answered their last value for its 5-minute lookback, as if the member
    // were still there.
    const prometheus = await runPrometheus(peer.binary, 'global:\n  scrape_interval: 1m\n', ['--web.enable-remote-write-receiver']);
    cleanup.push(() => prometheus.stop());
    const path = join(mkdtempSync(join(tmpdir(), 'pw-hub-')), 'hub.sock');
    const hub = await started({ collectionIntervalMs: 1000, hub: { listen: path, staleMs: 500, dropMs: 600 }, export: { remoteWrite: [{ url: `http://127.0.0.1:${prometheus.port}/api/v1/write`, intervalMs: 3_600_000 }], instance: 'hub:1', job: 'cluster' } });
    const member = await rawMember(path);
    cleanup.push(async () => member.close());
    member.send({ t: 'hello', instance: 'gone-1', epoch: 'e', intervalMs: 1000 });
    const welcome = await member.answer(1);
    member.send(rowsBatch(1, welcome.round, [[0, 5, 5]], [[0, 'gone_rt', { route: '/g' }, 'distribution', '']]));
    expect(await member.answer(2)).toEqual({ t: 'ack', seq: 1 });
    await hub.flush();
    await waitFor(async () => {
      await hub.exportNow();
      // The cluster-wide series takes the bucket into its open interval: it shows once that closes.
      return (await prometheus.query('gone_rt_count{instance="gone-1",job="cluster"}')) === 5 && (await prometheus.query('gone_rt_count{instance="hub:1",job="cluster",route="/g"}')) === 5;
    }, 40_000, "Prometheus to store the member's series and the cluster-wide one");
    // Silent past dropMs: forgotten (its link reset), its series retired.
    await member.closed();
    await waitFor(() => (hub.status().hub as { forgotten: number }).forgotten === 1, 20_000, 'the member to be forgotten');
    await hub.exportNow();
    for (const q of ['gone_rt_count', 'gone_rt_sum', 'gone_rt_bucket']) expect(await prometheus.query(`count(${q}{instance="gone-1"})`), q).toBeUndefined();
    expect(await prometheus.query('gone_rt_count{instance="hub:1",job="cluster",route="/g"}')).toBe(5);
  });
});
