/// <reference lib="dom" />
/**
 * The dashboard in a real browser: Debian's Chromium (provided by the test run, see
 * test/peers), driven by playwright-core over CDP. One browser for the file, a page per
 * view. What a reader would see is checked against what the monitor holds: the charts'
 * uPlot data against the recorded samples and the pixels of the series on the canvas, an
 * alert fired while the page is open, a report's score. Screenshots go to
 * reports/screenshots/ (gitignored), kept as artifacts of the run.
 */
import { mkdirSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PerformanceMonitor, type AlertTransition, type HttpServer } from '../dist/src/index.js';
import { waitFor } from './helpers.js';
import { holdPlace } from './http-helpers.js';
import { describeWithPeer } from './peers/use.js';
import { chartPixels, FIRST_SERIES } from './dashboard-pixels.js';

const SHOTS = fileURLToPath(new URL('../reports/screenshots/', import.meta.url));
/** Hang guard for what the page shows after the monitor's next interval or two. */
const GUARD_MS = 20_000;

const PHONE_WIDTH = 390;
const ORDERS = Array.from({ length: 40 }, (_, i) => 5 + i * 0.5);
const LOGIN = Array.from({ length: 25 }, (_, i) => 80 + i * 2);

interface ChartView {
  id: string;
  labels: string[];
  data: (number | null | undefined)[][];
  range: { from: number; to: number };
}

/** The charts' uPlot state, as the page holds it (window.perfwatchDashboard). */
function charts(page: Page): Promise<ChartView[]> {
  return page.evaluate(() =>
    (window as unknown as { perfwatchDashboard: { charts: { spec: { id: string }; plot: { series: { label: string }[]; data: (number | null | undefined)[][] } | null; range: { from: number; to: number } }[] } }).perfwatchDashboard.charts
      .filter((c) => c.plot)
      .map((c) => ({ id: c.spec.id, labels: c.plot!.series.slice(1).map((s) => s.label), data: c.plot!.data.map((d) => [...d]), range: c.range })),
  );
}

describeWithPeer('chromium', 'the dashboard in headless Chromium', (peer) => {
  let monitor: PerformanceMonitor;
  let server: HttpServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    monitor = new PerformanceMonitor({ storage: 'memory', alerts: { resolveHoldMs: 0 } });
    await monitor.start();
    for (const ms of ORDERS) monitor.recordRequest({ endpoint: '/orders', responseTimeMs: ms, statusCode: 200 });
    for (const ms of LOGIN) monitor.recordRequest({ endpoint: '/login', responseTimeMs: ms, statusCode: ms > 120 ? 503 : 200 });
    await monitor.flush();
    server = await monitor.serveHttp({ port: 0 });
    // --no-sandbox: the run is root in a container, where Chromium's sandbox cannot start.
    browser = await chromium.launch({ executablePath: peer.binary, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(server.url);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await monitor?.close();
  });

  it('draws the recorded series: uPlot holds the samples, the canvas shows the lines', async () => {
    // Three cpu readings make a line (the first comes after two intervals); then a frame for uPlot to paint.
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-chart="response-time"]')?.dataset.series) >= 2 && Number(document.querySelector<HTMLElement>('[data-chart="cpu"]')?.dataset.points) >= 3, null, { timeout: GUARD_MS });
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(resolve)));
    const views = await charts(page);
    const rt = views.find((v) => v.id === 'response-time')!;
    const column = (label: string): number[] => {
      const i = rt.labels.findIndex((l) => l.startsWith(label));
      expect(i, `a series ${label} among ${rt.labels.join(', ')}`).toBeGreaterThanOrEqual(0);
      // A series is undefined on the other series' rows, and null at a gap in its own.
      return rt.data[i + 1]!.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);
    };
    // Few samples: the raw ones, each drawn, per endpoint.
    expect(column('response_time{endpoint="/orders"}')).toEqual(ORDERS);
    expect(column('response_time{endpoint="/login"}')).toEqual(LOGIN);
    const errors = views.find((v) => v.id === 'error-rate')!;
    expect(errors.labels.sort()).toEqual(['error_rate{endpoint="/login"}', 'error_rate{endpoint="/orders"}']);
    const cpu = views.find((v) => v.id === 'cpu')!;
    expect(cpu.data[1]!.some((v) => typeof v === 'number' && v >= 0 && v <= 100)).toBe(true);
    expect(cpu.range.to - cpu.range.from).toBe(5 * 60_000);
    expect(await chartPixels(page, 'response-time', FIRST_SERIES)).toBeGreaterThan(5);
    expect(await chartPixels(page, 'cpu', FIRST_SERIES)).toBeGreaterThan(5);
    expect(pageErrors).toEqual([]);
    await page.screenshot({ path: `${SHOTS}dashboard-laptop.png`, fullPage: true });
  });

  it('draws an error rate at 0 throughout on a 0–100 % axis, not the 0–10,000 % of a ratio ranged as 0–100', async () => {
    const own = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
    await own.start();
    for (let i = 0; i < 20; i++) own.recordRequest({ endpoint: '/fine', responseTimeMs: 10, statusCode: 200 });
    await own.flush();
    const front = await own.serveHttp({ port: 0 });
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await tab.goto(front.url);
      await tab.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-chart="error-rate"]')?.dataset.points) >= 1, null, { timeout: GUARD_MS });
      const y = await tab.evaluate(() => {
        const chart = (window as unknown as { perfwatchDashboard: { charts: { spec: { id: string }; unit: string; plot: { scales: { y: { min: number; max: number } } } | null }[] } }).perfwatchDashboard.charts.find((c) => c.spec.id === 'error-rate')!;
        return { unit: chart.unit, min: chart.plot!.scales.y.min, max: chart.plot!.scales.y.max };
      });
      expect(y).toEqual({ unit: 'ratio', min: 0, max: 1 });
    } finally {
      await tab.close();
      await front.close();
      await own.stop();
    }
  });

  it('opens on a fresh monitor, no report yet, without an error in the console', async () => {
    const own = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
    await own.start();
    const front = await own.serveHttp({ port: 0 });
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    tab.on('console', (m) => {
      if (m.type() === 'error') errors.push(`${m.text()} ${m.location().url}`);
    });
    tab.on('pageerror', (e) => errors.push(e.message));
    try {
      await tab.goto(front.url);
      await tab.locator('#report .empty').filter({ hasText: 'No report yet' }).waitFor({ timeout: GUARD_MS });
      // The answer came before the panel said so (a 404 is logged as it arrives); the other panels' first reads meanwhile.
      await tab.waitForTimeout(500);
      expect(errors).toEqual([]);
    } finally {
      await tab.close();
      await front.close();
      await own.stop();
    }
  });

  it('draws samples recorded while the page is open, woken by the event stream', async () => {
    await page.waitForSelector('#live[data-live="on"]', { timeout: GUARD_MS });
    monitor.recordRequest({ endpoint: '/orders', responseTimeMs: 999, statusCode: 200 });
    await page.waitForFunction(
      () => {
        const c = (window as unknown as { perfwatchDashboard: { charts: { spec: { id: string }; plot: { data: (number | null)[][] } | null }[] } }).perfwatchDashboard.charts.find((x) => x.spec.id === 'response-time');
        return c?.plot?.data.slice(1).some((ys) => ys.includes(999)) === true;
      },
      null,
      { timeout: GUARD_MS },
    );
  });

  it('shows an alert fired while the page is open, without a reload', async () => {
    await page.waitForSelector('#live[data-live="on"]', { timeout: GUARD_MS });
    await page.evaluate(() => Object.assign(window, { loadedOnce: true }));
    const fired = new Promise<AlertTransition>((resolve) => {
      const on = (t: AlertTransition): void => {
        if (t.to !== 'firing') return;
        monitor.off('alert', on);
        resolve(t);
      };
      monitor.on('alert', on);
    });
    monitor.define({ name: 'dashboard_probe', kind: 'gauge' });
    await monitor.createAlertRule({ name: 'probe too high', metric: 'dashboard_probe', operator: '>', threshold: 5, severity: 'critical', description: 'the probe went over 5' });
    monitor.record('dashboard_probe', 9);
    const t = await fired;
    const row = page.locator(`#alerts [data-fingerprint="${t.fingerprint}"][data-state="firing"]`);
    await row.waitFor({ timeout: GUARD_MS });
    await expect(row.textContent()).resolves.toContain('probe too high');
    expect(await page.locator('#alert-count').textContent()).toBe('1');
    // The list alone: no "null" beside it where no note of more alerts goes.
    expect(await page.locator('#alerts').evaluate((e) => Array.from(e.childNodes, (n) => n.nodeName))).toEqual(['UL']);
    expect(await page.locator(`#alert-history [data-fingerprint="${t.fingerprint}"][data-to="firing"]`).count()).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
  });

  it('takes a burst of alert transitions with a read or two of the alerts, not one each, and counts them all past the page it lists', async () => {
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(e.message));
    let reads = 0;
    tab.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/alerts') reads++;
    });
    const loaded = tab.waitForResponse((r) => new URL(r.url()).pathname === '/api/alerts', { timeout: GUARD_MS });
    await tab.goto(server.url);
    await tab.waitForSelector('#live[data-live="on"]', { timeout: GUARD_MS });
    await loaded;
    const before = reads;
    // 150 series over the threshold at once: 150 transitions on the stream in a burst.
    const BURST = 150;
    const rule = await monitor.createAlertRule({ name: 'burst load', metric: 'burst_load', operator: '>', threshold: 10, severity: 'warning' });
    for (let i = 0; i < BURST; i++) monitor.record('burst_load', 50, { host: `h${i}` });
    await waitFor(() => monitor.getAlerts({ state: 'firing' }).filter((a) => a.ruleId === rule.id).length === BURST, GUARD_MS, 'the burst firing');
    await tab.waitForFunction(() => Array.from(document.querySelectorAll('#alerts [data-state="firing"]')).filter((li) => li.textContent!.includes('burst load')).length >= 50, null, { timeout: GUARD_MS });
    expect(reads - before).toBeLessThan(20);
    expect(errors).toEqual([]);
    // A tab opened now counts every active alert, past the page of them it lists.
    const active = monitor.getAlerts().length;
    const fresh = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await fresh.goto(server.url);
    await fresh.waitForSelector('#alerts [data-state="firing"]', { timeout: GUARD_MS });
    expect(await fresh.locator('#alert-count').textContent()).toBe(String(active));
    expect(await fresh.locator('#alerts li.alert').count()).toBe(100);
    await expect(fresh.locator('#alerts .more').textContent()).resolves.toBe(`and ${active - 100} more (all of them: /api/alerts, page by page with limit and offset)`);
    await fresh.close();
    await monitor.deleteAlertRule(rule.id);
    await tab.close();
  });

  it('opens in more tabs than the six connections a browser makes to one server: one stream for all of them', async () => {
    // One browser profile: its tabs share its six connections to the server.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    // The first page's stream, in its own profile, is counted apart.
    await page.waitForSelector('#live[data-live="on"]', { timeout: GUARD_MS });
    const streams = server.status().events.open;
    try {
      const tabs: Page[] = [];
      for (let i = 0; i < 8; i++) {
        const tab = await context.newPage();
        tab.on('pageerror', (e) => pageErrors.push(e.message));
        tabs.push(tab);
        await tab.goto(server.url, { timeout: GUARD_MS });
        await tab.waitForSelector('#live[data-live="on"]', { timeout: GUARD_MS });
        await tab.waitForSelector('#state[data-state="running"]', { timeout: GUARD_MS });
      }
      // Every tab's reads go through: a chart drawn in the last one opened.
      await tabs.at(-1)!.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-chart="cpu"]')?.dataset.points) >= 1, null, { timeout: GUARD_MS });
      expect(server.status().events.open).toBe(streams + 1);
      // The stream outlives the tab that opened it.
      await tabs.shift()!.close();
      monitor.recordRequest({ endpoint: '/tabs', responseTimeMs: 7, statusCode: 200 });
      await tabs.at(-1)!.waitForFunction(() => document.querySelector('[data-chart="throughput"]')?.textContent?.includes('/tabs'), null, { timeout: GUARD_MS });
    } finally {
      await context.close();
    }
    await waitFor(() => server.status().events.open === streams, GUARD_MS, 'the shared stream closed with its last tab');
  });

  it('goes live again once a refused stream finds a place: the page asks again after a refusal', async () => {
    const capped = await monitor.serveHttp({ port: 0, maxEventStreams: 1 });
    const holder = new AbortController();
    try {
      // The one place held by another client: the page's stream is refused (503).
      const held = await fetch(new URL('/api/events', capped.url), { signal: holder.signal });
      expect(held.status).toBe(200);
      const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await tab.goto(capped.url);
      await waitFor(() => capped.status().events.refused >= 1, GUARD_MS, "the page's stream refused");
      expect(await tab.locator('#live').getAttribute('data-live')).toBe('off');
      holder.abort();
      await waitFor(() => capped.status().events.open === 0, GUARD_MS, 'the place freed');
      await tab.waitForSelector('#live[data-live="on"]', { timeout: GUARD_MS });
      await tab.close();
    } finally {
      holder.abort();
      await capped.close();
    }
  });

  it('renders a report it asked for with its score, and the latest one on a fresh load', async () => {
    await page.click('#report-run');
    await page.waitForSelector('#report .score[data-score]', { timeout: GUARD_MS });
    const report = monitor.getLatestReport()!;
    expect(report.score.overall).not.toBeNull();
    expect(await page.locator('#report .score').getAttribute('data-score')).toBe(String(report.score.overall));
    expect(await page.locator('#report .score').textContent()).toBe(`${Math.round(report.score.overall!)}/100`);
    expect(await page.locator('#report .parts tbody tr').count()).toBe(report.score.parts.length);
    expect(await page.locator('#report [data-diagnosis]').count()).toBe(report.diagnoses.length);
    await page.screenshot({ path: `${SHOTS}dashboard-report.png`, fullPage: true });
    const fresh = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await fresh.goto(server.url);
    await fresh.waitForSelector(`#report [data-generated="${report.generatedAt}"]`, { timeout: GUARD_MS });
    await fresh.close();
  });

  it('opens on a server bound beyond the loopback with a token: signed in once by ?token=, live, and its report POST let through', async () => {
    const token = 'a-dashboard-token-of-32-characters';
    const guarded = await monitor.serveHttp({ port: 0, host: '0.0.0.0', token });
    try {
      const base = `http://127.0.0.1:${guarded.port}/`;
      const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      expect((await tab.goto(base))!.status()).toBe(401);
      await tab.goto(`${base}?token=${token}`);
      // The token left the address; the cookie carries the session to the API and the stream.
      expect(tab.url()).toBe(base);
      await tab.waitForSelector('#live[data-live="on"]', { timeout: GUARD_MS });
      await tab.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-chart="response-time"]')?.dataset.series) >= 2, null, { timeout: GUARD_MS });
      const before = monitor.getLatestReport()?.generatedAt;
      await tab.click('#report-run');
      await tab.waitForFunction((old) => {
        const g = document.querySelector<HTMLElement>('#report [data-generated]')?.dataset.generated;
        return g !== undefined && g !== String(old);
      }, before, { timeout: GUARD_MS });
      expect(await tab.evaluate(() => document.cookie)).toBe('');
      await tab.close();
    } finally {
      await guarded.close();
    }
  });

  it('works behind a reverse proxy that serves it under a path prefix: its files, API, stream and sign-in stay under the prefix', async () => {
    // The page asked for /dashboard/…, /api/… and its sign-in redirected to /: behind a proxy
    // at /perfwatch/ each went to the proxy's root, and the page came up without its styles,
    // scripts and data.
    const token = 'a-dashboard-token-of-32-characters';
    const guarded = await monitor.serveHttp({ port: 0, host: '0.0.0.0', token });
    const outside: string[] = [];
    const proxy = createServer((req, res) => {
      if (!req.url!.startsWith('/perfwatch/')) {
        outside.push(req.url!);
        res.writeHead(404).end();
        return;
      }
      const up = httpRequest({ host: '127.0.0.1', port: guarded.port, path: req.url!.slice('/perfwatch'.length), method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/perfwatch/`;
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await tab.goto(`${base}?token=${token}`);
      expect(tab.url()).toBe(base);
      await tab.waitForSelector('#live[data-live="on"]', { timeout: GUARD_MS });
      await tab.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-chart="response-time"]')?.dataset.series) >= 2, null, { timeout: GUARD_MS });
      expect(outside).toEqual([]);
    } finally {
      await tab.close();
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await guarded.close();
    }
  });

  it('fits a phone screen: one column, nothing wider than the screen', async () => {
    const phone = await browser.newPage({ viewport: { width: PHONE_WIDTH, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await phone.goto(server.url);
    await phone.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-chart="response-time"]')?.dataset.series) >= 2, null, { timeout: GUARD_MS });
    const widths = await phone.evaluate(() => ({ page: document.documentElement.scrollWidth, screen: window.innerWidth, chart: document.querySelector('[data-chart="cpu"]')!.getBoundingClientRect().width }));
    // A page wider than the phone makes mobile Chromium zoom out (innerWidth grows with it).
    expect(widths.screen).toBe(PHONE_WIDTH);
    expect(widths.page).toBeLessThanOrEqual(PHONE_WIDTH);
    expect(widths.chart).toBeGreaterThan(PHONE_WIDTH * 0.8);
    await phone.screenshot({ path: `${SHOTS}dashboard-phone.png`, fullPage: true });
    await phone.close();
  });

  it("keeps a service's long and hostile names, tags and alert texts as text, within a phone's screen", async () => {
    // The longest tag value there is (maxTagValueLength), unbroken, and markup where text goes.
    const long = `/${'x'.repeat(127)}`;
    const hostile = '<img src=x onerror="window.pwned=1"></script><script>window.pwned=2</script>';
    monitor.recordRequest({ endpoint: long, responseTimeMs: 12, statusCode: 200 });
    monitor.recordRequest({ endpoint: hostile, responseTimeMs: 13, statusCode: 500 });
    const rule = await monitor.createAlertRule({ name: `${hostile} ${'y'.repeat(120)}`, metric: 'response_time', tags: { endpoint: long }, operator: '>', threshold: 1, severity: 'info', description: `${hostile} ${'z'.repeat(300)}` });
    const phone = await browser.newPage({ viewport: { width: PHONE_WIDTH, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const errors: string[] = [];
    phone.on('pageerror', (e) => errors.push(e.message));
    await phone.goto(server.url);
    await phone.waitForFunction((text) => document.querySelector('[data-chart="response-time"]')?.textContent?.includes(text) && document.querySelector('#alerts')?.textContent?.includes(text), long, { timeout: GUARD_MS });
    expect(await phone.locator('#alerts').textContent()).toContain(hostile);
    const widths = await phone.evaluate(() => ({ page: document.documentElement.scrollWidth, screen: window.innerWidth }));
    expect(widths.screen).toBe(PHONE_WIDTH);
    expect(widths.page).toBeLessThanOrEqual(PHONE_WIDTH);
    expect(await phone.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(errors).toEqual([]);
    await phone.screenshot({ path: `${SHOTS}dashboard-phone-long.png`, fullPage: true });
    await monitor.deleteAlertRule(rule.id);
    await phone.close();
  });

  it("keeps a direction override in a tag value from turning the rest of an alert's line around", async () => {
    // U+202E (right-to-left override), never closed: the text after it reads backwards to the end of its paragraph.
    const rule = await monitor.createAlertRule({ name: 'queue deep', metric: 'bidi_queue', operator: '>', threshold: 10, severity: 'critical' });
    monitor.record('bidi_queue', 1234, { shard: 'a\u202eb' });
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await tab.goto(server.url);
    const row = tab.locator('#alert-history li', { hasText: 'bidi_queue' }).first();
    await row.waitFor({ state: 'attached', timeout: GUARD_MS });
    await tab.click('#alerts-panel summary');
    // The row's last text (" = 1,234") and where each of its characters is drawn, left to right,
    // read in one task of the page. The history is drawn anew at each answer of the API (one
    // follows the stream's transition that drew the row first): a row found by one call and
    // measured by the next (row.evaluate is both) could be one the page had just replaced, out
    // of the document, each of its characters at x = 0 ("expected 0 to be greater than 0").
    const { open, text, xs } = await tab.evaluate(() => {
      const li = Array.from(document.querySelectorAll('#alert-history li')).find((l) => l.textContent!.includes('bidi_queue'))!;
      const last = li.lastChild as Text;
      const range = document.createRange();
      return {
        open: li.closest('details')!.open,
        text: last.data,
        xs: Array.from(last.data, (_, i) => {
          range.setStart(last, i);
          range.setEnd(last, i + 1);
          return range.getBoundingClientRect().x;
        }),
      };
    });
    expect(open).toBe(true);
    expect(text).toBe(' = 1,234');
    for (let i = 1; i < xs.length; i++) expect(xs[i], text).toBeGreaterThan(xs[i - 1]!);
    await monitor.deleteAlertRule(rule.id);
    await tab.close();
  });

  it("shows each evidence of a report's diagnosis with its series' tags, and the window of one shorter than the report", async () => {
    // One route failing every request beside a healthy one: the overall error rate and the
    // failing route's are two lines of evidence, told apart by the route's tags.
    const own = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
    await own.start();
    for (let i = 0; i < 30; i++) own.recordRequest({ endpoint: '/fail', responseTimeMs: 10, statusCode: 503 });
    for (let i = 0; i < 30; i++) own.recordRequest({ endpoint: '/ok', responseTimeMs: 10, statusCode: 200 });
    await own.flush();
    await own.generateReport();
    const front = await own.serveHttp({ port: 0 });
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await tab.goto(front.url);
      const items = tab.locator('#report [data-diagnosis="error-burst"] .evidence li');
      await items.first().waitFor({ state: 'attached', timeout: GUARD_MS });
      expect(await items.allTextContents()).toEqual(['mean over the window of error_rate = 0.5 ratio (threshold 0.05)', 'mean over the window of error_rate{endpoint="/fail"} = 1 ratio (threshold 0.05)']);
      // A burst's evidence says its minutes; the report's own window is not said again.
      // Imported by the page itself (a string: vitest rewrites an import() in a function it passes).
      const lines = (await tab.evaluate(`(async () => {
        const { renderReport } = await import(new URL('dashboard/js/report.js', document.baseURI).href);
        const box = document.createElement('div');
        const window = { from: Date.UTC(2026, 11, 5, 10), to: Date.UTC(2026, 11, 5, 11) };
        const burst = { from: window.from + 600000, to: window.from + 615000 };
        const ev = (w) => ({ metric: 'error_rate', tags: { endpoint: '/pay' }, statistic: 'error rate of a burst', value: 0.6, threshold: 0.1, unit: 'ratio', window: w });
        renderReport(box, { generatedAt: window.to, window: { ...window, durationMs: 3600000 }, summary: { series: 1, samples: 1 }, score: { overall: null, formula: '', parts: [] }, notes: [], recommendations: [], diagnoses: [{ id: 'error-burst', title: 'Error-rate bursts', severity: 'warning', summary: '', actions: [], evidence: [ev(burst), ev(window)] }] });
        return { lines: [...box.querySelectorAll('.evidence li')].map((li) => li.textContent), from: new Date(burst.from).toLocaleString([], { timeZoneName: 'short' }), to: new Date(burst.to).toLocaleString([], { timeZoneName: 'short' }) };
      })()`)) as { lines: string[]; from: string; to: string };
      expect(lines.lines).toEqual([`error rate of a burst of error_rate{endpoint="/pay"} = 0.6 ratio (threshold 0.1), ${lines.from} – ${lines.to} (15 s)`, 'error rate of a burst of error_rate{endpoint="/pay"} = 0.6 ratio (threshold 0.1)']);
    } finally {
      await tab.close();
      await front.close();
      await own.stop();
    }
  });

  it("keeps a direction override in a tag value from turning the rest of a report's sentence around", async () => {
    // A monitor of its own: its slow endpoint, named in the report's diagnosis, is no series of the other tests' charts.
    const own = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
    await own.start();
    // U+202E (right-to-left override), never closed, in the endpoints the slow-endpoints diagnosis
    // names; the second's pop of an isolate (U+2069) it never opened comes first.
    for (let i = 0; i < 25; i++) own.recordRequest({ endpoint: '/a\u202eb', responseTimeMs: 1500, success: true });
    for (let i = 0; i < 25; i++) own.recordRequest({ endpoint: '/c\u2069\u202ed', responseTimeMs: 1200, success: true });
    await own.flush();
    await own.generateReport();
    const front = await own.serveHttp({ port: 0 });
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await tab.goto(front.url);
    const summary = tab.locator('#report [data-diagnosis="slow-endpoints"] p').first();
    await summary.waitFor({ state: 'attached', timeout: GUARD_MS });
    // Where each character of the sentence after each endpoint (" 1500 ms (25 requests)") is drawn, left to right.
    const tails = await summary.evaluate((p) => {
      const text = p.firstChild as Text;
      const range = document.createRange();
      const out: { tail: string; xs: number[] }[] = [];
      for (let at = text.data.indexOf('\u202e'); at >= 0; at = text.data.indexOf('\u202e', at + 1)) {
        const from = text.data.indexOf(' ', at);
        const to = text.data.indexOf(')', from) + 1;
        out.push({
          tail: text.data.slice(from, to),
          xs: Array.from({ length: to - from }, (_, i) => {
            range.setStart(text, from + i);
            range.setEnd(text, from + i + 1);
            return range.getBoundingClientRect().x;
          }),
        });
      }
      return out;
    });
    expect(tails).toHaveLength(2);
    for (const { tail, xs } of tails) {
      expect(tail).toMatch(/^ \d+ ms \(25 requests\)$/);
      for (let i = 1; i < xs.length; i++) expect(xs[i], tail).toBeGreaterThan(xs[i - 1]!);
    }
    await tab.close();
    await front.close();
    await own.stop();
  });

  it("keeps a direction override in a tag value from turning an HTML or Markdown report's evidence line around", async () => {
    const own = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
    await own.start();
    // U+202E (right-to-left override), never closed, in the endpoint the slow-endpoints diagnosis names.
    for (let i = 0; i < 25; i++) own.recordRequest({ endpoint: '/a\u202eb', responseTimeMs: 1500, success: true });
    await own.flush();
    const html = await own.generateReport({ format: 'html' });
    const markdown = await own.generateReport({ format: 'markdown' });
    await own.stop();
    // The Markdown's evidence line, shown as a page of its own: one paragraph, as any viewer shows it.
    const line = markdown.split('\n').find((l) => l.startsWith('- response_time{endpoint='))!;
    expect(line).toMatch(/} p\d+ = 1500 ms \(threshold \d+\)/);
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    for (const [what, content] of [
      ['html', html],
      ['markdown', `<!doctype html><meta charset="utf-8"><ul><li>${line.slice(2).replace(/&/g, '&amp;').replace(/</g, '&lt;')}</li></ul>`],
    ] as const) {
      await tab.setContent(content);
      // Where each character after the series (" p95 = 1500 ms (threshold 1000)") is drawn, left to right.
      const { tail, xs } = await tab.evaluate(() => {
        const li = Array.from(document.querySelectorAll('li')).find((l) => l.textContent!.includes('\u202e'))!;
        const text = li.firstChild as Text;
        const from = text.data.indexOf('"}') + 2;
        const to = text.data.indexOf(')', from) + 1;
        const range = document.createRange();
        return {
          tail: text.data.slice(from, to),
          xs: Array.from({ length: to - from }, (_, i) => {
            range.setStart(text, from + i);
            range.setEnd(text, from + i + 1);
            return range.getBoundingClientRect().x;
          }),
        };
      });
      expect(tail, what).toMatch(/^ p\d+ = 1500 ms \(threshold \d+\)$/);
      for (let i = 1; i < xs.length; i++) expect(xs[i], `${what}: ${tail}`).toBeGreaterThan(xs[i - 1]!);
    }
    await tab.close();
  });

  it("reckons its ranges by the monitor's clock (X-Perfwatch-Now), not the browser's", async () => {
    // The server says its clock is an hour ahead of this browser's: another machine's clock,
    // or the monitor's after a step back of the wall clock (docs/architecture.md, Time). The
    // page drew the hour before the monitor's newest data, which it never showed.
    const AHEAD = 3_600_000;
    const skewed = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // The JSON answers only: the event stream never ends, so it is not fetched whole.
    await skewed.route((url) => url.pathname.startsWith('/api/') && url.pathname !== '/api/events', async (route) => {
      const response = await route.fetch();
      await route.fulfill({ response, headers: { ...response.headers(), 'x-perfwatch-now': String(Date.now() + AHEAD) } });
    });
    const asked: number[] = [];
    skewed.on('request', (r) => {
      const url = new URL(r.url());
      if (url.pathname === '/api/history' && url.searchParams.has('to')) asked.push(Number(url.searchParams.get('to')) - Date.now());
    });
    const answered = server.url.replace(/\/$/, '');
    await skewed.goto(server.url);
    // The first charts may be asked before any answer said the server's clock; the refreshes after one are not.
    await expect.poll(() => asked.at(-1) ?? 0, { timeout: GUARD_MS, interval: 200 }).toBeGreaterThan(AHEAD - 60_000);
    expect(asked.at(-1)!).toBeLessThan(AHEAD + 60_000);
    await skewed.unrouteAll({ behavior: 'ignoreErrors' });
    const header = (await fetch(`${answered}/api/status`)).headers.get('x-perfwatch-now');
    expect(Math.abs(Number(header) - monitor.now())).toBeLessThan(5_000);
    await skewed.close();
  });

  it("says a busy server (429) calmly, not as an error, and draws its answers once it has a place", async () => {
    // One place, held, and no queue: every /api request of the page is answered 429 with
    // Retry-After. The page said "429: Too Many Requests: …" in red and dropped the answers
    // until the next poll; it now waits as asked and asks again.
    const own = new PerformanceMonitor({ storage: 'memory', system: { enabled: false } });
    await own.start();
    for (const ms of ORDERS) own.recordRequest({ endpoint: '/orders', responseTimeMs: ms, statusCode: 200 });
    await own.flush();
    const front = await own.serveHttp({ port: 0, maxCallsInProgress: 1, maxQueuedCalls: 0 });
    const holder = holdPlace(front.port);
    await waitFor(() => front.status().calls.inProgress === 1, GUARD_MS, 'the holder to have its place');
    const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(e.message));
    try {
      await tab.goto(front.url);
      await tab.locator('#busy').filter({ hasText: 'The server is busy' }).waitFor({ timeout: GUARD_MS });
      expect(front.status().calls.refusedBusy).toBeGreaterThan(0);
      expect(await tab.locator('#error').isHidden()).toBe(true);
      expect(await tab.locator('#charts').textContent()).not.toContain('429');
      holder.release();
      expect((await holder.answered).status).toBe(200);
      // Its requests asked again once the place was free: the charts drawn, the notice gone, no error.
      await tab.locator('#busy').waitFor({ state: 'hidden', timeout: GUARD_MS });
      await expect.poll(async () => (await charts(tab)).find((c) => c.id === 'response-time')?.data[1]?.filter((v) => v != null).length ?? 0, { timeout: GUARD_MS, interval: 200 }).toBeGreaterThan(0);
      expect(await tab.locator('#error').isHidden()).toBe(true);
      expect(await tab.locator('#charts').textContent()).not.toContain('429');
      expect(errors).toEqual([]);
    } finally {
      await tab.close();
      await front.close();
      await own.stop();
    }
  });
});
