/// <reference lib="dom" />
/**
 * What the dashboard's per-endpoint charts draw, in Debian's Chromium (as test/dashboard.test.ts):
 * a counter as its rate per second and a ratio per second, 0 across idle seconds, never its
 * raw increments or 0s and 1s; a series of one sample as a point; the busiest series of the
 * range, not the first registered; the y axis as wide as its labels; the hint of tags a typo
 * meant. Against values the test feeds (a trial of 2026-12-06 found each drawn otherwise).
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { describeWithPeer } from './peers/use.js';
import { chartPixels, SECOND_SERIES } from './dashboard-pixels.js';

const GUARD_MS = 20_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Drawn {
  labels: string[];
  /** Per series: [x seconds, y] of its values (null: a gap), the rows of other series left out. */
  values: [number, number | null][][];
  points: boolean[];
  y: { min: number; max: number };
  axis: { size: number; widest: number };
  note: string | null;
}

/** A chart as the page holds it (window.perfwatchDashboard), or null before it drew. */
function drawn(page: Page, id: string): Promise<Drawn | null> {
  return page.evaluate((chartId) => {
    type Plot = { series: { label: string; points: { show: unknown } }[]; data: (number | null | undefined)[][]; scales: { y: { min: number; max: number } }; axes: { _size: number; _values: string[] | null }[] };
    const chart = (window as unknown as { perfwatchDashboard: { charts: { spec: { id: string }; plot: Plot | null; note: HTMLElement }[] } }).perfwatchDashboard.charts.find((c) => c.spec.id === chartId);
    if (!chart?.plot) return chart ? { labels: [], values: [], points: [], y: { min: 0, max: 0 }, axis: { size: 0, widest: 0 }, note: chart.note.hidden ? null : chart.note.textContent } : null;
    const u = chart.plot;
    const measure = document.createElement('canvas').getContext('2d')!;
    measure.font = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif';
    const labels = u.axes[1]!._values ?? [];
    return {
      labels: u.series.slice(1).map((s) => s.label),
      values: u.series.slice(1).map((_s, i) => u.data[0]!.flatMap((x, r) => (u.data[i + 1]![r] === undefined ? [] : [[x!, u.data[i + 1]![r]!] as [number, number | null]]))),
      points: u.series.slice(1).map((s) => (typeof s.points.show === 'function' ? Boolean((s.points.show as (...a: unknown[]) => unknown)(u, 1)) : Boolean(s.points.show))),
      y: { min: u.scales.y.min, max: u.scales.y.max },
      axis: { size: u.axes[1]!._size, widest: Math.max(0, ...labels.map((l) => measure.measureText(l).width)) },
      note: chart.note.hidden ? null : chart.note.textContent,
    };
  }, id);
}

/** The values of a series by its second (x) from `start` on: [second, value]. */
function bySecond(view: Drawn, label: string, start: number): [number, number | null][] {
  const i = view.labels.indexOf(label);
  if (i < 0) return [];
  return view.values[i]!.filter(([x]) => x >= start).map(([x, y]) => [x - start, y]);
}

describeWithPeer('chromium', 'the dashboard charts rates, lone samples and the busiest series', (peer) => {
  let browser: Browser;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    // --no-sandbox: the run is root in a container, where Chromium's sandbox cannot start.
    browser = await chromium.launch({ executablePath: peer.binary, args: ['--no-sandbox'] });
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function serve(): Promise<{ monitor: PerformanceMonitor; page: Page; url: string }> {
    const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
    await monitor.start();
    cleanup.push(() => monitor.stop());
    const server = await monitor.serveHttp({ port: 0 });
    cleanup.push(() => server.close());
    const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
    cleanup.push(() => page.close());
    return { monitor, page, url: server.url };
  }

  it('charts a counter at 10/s, idle, then 10/s as 10, 0, 10 a second, and an error rate of 100 % then 0 % on a 0–100 % scale', async () => {
    const { monitor, page, url } = await serve();
    monitor.define({ name: 'jobs_done', kind: 'counter' });
    monitor.define({ name: 'copy_rate', kind: 'gauge', unit: 'bytes_per_second' });
    // From the start of a second the monitor watched whole: 10 requests in it (all failed), none
    // in the next, 10 in the one after (all fine).
    const start = Math.ceil((monitor.now() + 50) / 1000) * 1000;
    await sleep(start + 20 - monitor.now());
    const burst = (success: boolean) => {
      for (let i = 0; i < 10; i++) monitor.recordRequest({ endpoint: '/burst', responseTimeMs: 5, success });
      monitor.record('jobs_done', 10);
      monitor.record('copy_rate', success ? 150_000_000 : 160_000_000);
    };
    burst(false);
    // The second burst two seconds on, by a timer set now: under load (CI, load 12-20) the
    // page's setup below took longer than that, and a burst after it landed a second late.
    // The second it lands in is the one the charts must show it in.
    let second = 0;
    const later = new Promise<void>((resolve) =>
      setTimeout(() => {
        second = Math.floor((monitor.now() - start) / 1000);
        burst(true);
        resolve();
      }, start + 2020 - monitor.now()),
    );
    await page.goto(url);
    // Every answer a chart draws, with whether it held raw samples: "Any metric" must not draw
    // a counter's raw increments even once, before it knows the metric is one.
    await page.evaluate(() => {
      const w = window as unknown as { perfwatchDashboard: { charts: { set: unknown }[] }; drawnAnswers: { id: string; raw: boolean }[] };
      const proto = Object.getPrototypeOf(w.perfwatchDashboard.charts[0]) as { set: (this: { spec: { id: string } }, answers: { series?: { resolution: string }[] }[], range: unknown) => void };
      const set = proto.set;
      w.drawnAnswers = [];
      proto.set = function (answers, range) {
        w.drawnAnswers.push({ id: this.spec.id, raw: answers.some((a) => a.series?.some((x) => x.resolution === 'raw') === true) });
        set.call(this, answers, range);
      };
    });
    for (const [metric, tags] of [['jobs_done', ''], ['copy_rate', ''], ['response_time', 'endpont=/burst']]) {
      await page.fill('#explore-metric', metric!);
      await page.fill('#explore-tags', tags!);
      await page.click('#explore button[type=submit]');
    }
    await later;
    expect(second).toBeGreaterThanOrEqual(2);
    const gap = Array.from({ length: second - 1 }, (_, i) => i + 1);
    const want: [number, number | null][] = [[0, 10], ...gap.map((x): [number, number] => [x, 0]), [second, 10]];
    const label = 'throughput{endpoint="/burst"}';
    // Once the third second has closed and the page has read it (each new bucket of the stream wakes it).
    await expect.poll(async () => bySecond((await drawn(page, 'throughput'))!, label, start / 1000).slice(0, second + 1), { timeout: GUARD_MS, interval: 200 }).toEqual(want);
    // "Any metric" learns the metric is a counter and charts its rate too.
    await expect.poll(async () => bySecond((await drawn(page, 'explore-7'))!, 'jobs_done', start / 1000).slice(0, second + 1), { timeout: GUARD_MS, interval: 200 }).toEqual(want);
    const anyMetric = await page.evaluate(() => (window as unknown as { drawnAnswers: { id: string; raw: boolean }[] }).drawnAnswers.filter((d) => d.id === 'explore-7'));
    expect(anyMetric.length).toBeGreaterThan(0);
    expect(anyMetric.filter((d) => d.raw)).toEqual([]);
    const errors = (await drawn(page, 'error-rate'))!;
    expect(bySecond(errors, 'error_rate{endpoint="/burst"}', start / 1000)).toEqual([[0, 1], ...gap.map((x): [number, null] => [x, null]), [second, 0]]);
    // A ratio's range padded by a tenth read 0–110 %.
    expect(errors.y).toEqual({ min: 0, max: 1 });
    // The y axis holds its widest label and the ticks' 15 px ("152.6 MiB/s" was cut to ".52.6 MiB/s" at 70 px).
    const copy = (await drawn(page, 'explore-8'))!;
    expect(copy.axis.widest).toBeGreaterThan(60);
    expect(copy.axis.size).toBeGreaterThanOrEqual(copy.axis.widest + 15);
    // Tags that match nothing: the chart says what a typo of them most likely meant.
    expect((await drawn(page, 'explore-9'))!.note).toBe('response_time: no series of response_time has the tags {"endpont":"/burst"}: did you mean {"endpoint":"/burst"}?');
  });

  it('draws a series of a single sample as a point, beside a series of many', async () => {
    const { monitor, page, url } = await serve();
    // The busier series comes first (blue), the lone sample second (red): a line of one value
    // is no line, and uPlot shows points by itself only where there is room for every row's.
    for (let i = 0; i < 100; i++) monitor.recordRequest({ endpoint: '/steady', responseTimeMs: 5, statusCode: 200 });
    monitor.recordRequest({ endpoint: '/once', responseTimeMs: 250, success: false });
    await monitor.flush();
    await page.goto(url);
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-chart="response-time"]')?.dataset.series) >= 2, null, { timeout: GUARD_MS });
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
    const view = (await drawn(page, 'response-time'))!;
    expect(view.labels).toEqual(['response_time{endpoint="/steady"} samples', 'response_time{endpoint="/once"} samples']);
    expect(view.points[1]).toBe(true);
    expect(await chartPixels(page, 'response-time', SECOND_SERIES)).toBeGreaterThan(5);
  });

  it("offers every metric name in its picker, also one first recorded after a thousand series of a churned tag", async () => {
    const { monitor, page, url } = await serve();
    for (let i = 0; i < 1_100; i++) monitor.record('churn_ms', 5, { request_id: `r${i}` });
    await monitor.flush();
    monitor.record('late_total', 1);
    await monitor.flush();
    await page.goto(url);
    await page.waitForFunction(() => document.querySelectorAll('#metric-names option').length > 0, null, { timeout: GUARD_MS });
    const offered = await page.$$eval('#metric-names option', (options) => options.map((o) => (o as HTMLOptionElement).value));
    expect(offered).toContain('late_total');
    expect(offered.filter((n) => n === 'churn_ms')).toHaveLength(1);
  });

  it('charts the busiest series of the range, not the first 20 registered', async () => {
    const { monitor, page, url } = await serve();
    for (let i = 0; i < 25; i++) monitor.recordRequest({ endpoint: `/e${i}`, responseTimeMs: 5, statusCode: 200 });
    for (let i = 0; i < 30; i++) monitor.recordRequest({ endpoint: '/busy', responseTimeMs: 7, statusCode: 200 });
    await monitor.flush();
    await page.goto(url);
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-chart="throughput"]')?.dataset.series) >= 20, null, { timeout: GUARD_MS });
    for (const [id, metric] of [['throughput', 'throughput'], ['error-rate', 'error_rate']]) {
      const view = (await drawn(page, id!))!;
      expect(view.labels[0]).toBe(`${metric}{endpoint="/busy"}`);
      expect(view.labels).toHaveLength(20);
      expect(view.note).toBe(`${metric}: 20 of 26 series shown, the busiest in this range (choose others by tags below)`);
    }
    expect((await drawn(page, 'response-time'))!.labels[0]).toBe('response_time{endpoint="/busy"} samples');
  });

  it('charts the first registered, and says so, when more series match than the server ranks (its 400 naming order)', async () => {
    const { monitor, page, url } = await serve();
    for (let i = 0; i < 25; i++) monitor.recordRequest({ endpoint: `/e${i}`, responseTimeMs: 5, statusCode: 200 });
    for (let i = 0; i < 30; i++) monitor.recordRequest({ endpoint: '/busy', responseTimeMs: 7, statusCode: 200 });
    await monitor.flush();
    // The server's refusal of a ranking past MAX_RANKED_SERIES (10,000 matching series), as it answers it.
    await page.route(/\/api\/history\?.*order=busiest/, (route) =>
      route.fulfill({ status: 400, contentType: 'application/json', body: JSON.stringify({ error: { code: 'PW_ERR_INVALID_ARG', field: 'order', message: "order 'busiest' ranks at most 10000 series, and 10001 match" } }) }),
    );
    await page.goto(url);
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-chart="throughput"]')?.dataset.series) >= 20, null, { timeout: GUARD_MS });
    const view = (await drawn(page, 'throughput'))!;
    expect(view.labels[0]).toBe('throughput{endpoint="/e0"}');
    expect(view.note).toBe('throughput: 20 of 26 series shown, the first registered (too many to rank by activity) (choose others by tags below)');
  });
});
