/**
 * Answer budgets, on a monitor with 10 series × 256 raw samples and 300 firing alerts: every
 * read tool's default answer within 8 KB (reports 16 KB), nothing sent twice, every cap saying
 * how to get more, tools/list within 20 KB, and the 300 alerts notified as one message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { PerformanceMonitor } from '../dist/src/index.js';
import { MonitorHost } from '../dist/src/mcp/host.js';
import { McpFront } from '../dist/src/mcp/server.js';
import { waitFor } from './helpers.js';

const bytes = (x: unknown): number => Buffer.byteLength(JSON.stringify(x));
const KB = 1024;

describe('answer budgets', () => {
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  // A group window long enough that the 300 transitions of one evaluation fall in it on any machine.
  const server = new McpFront(new MonitorHost(monitor, false), { alertGroupWaitMs: 3000 }).createServer('legacy');
  const client = new Client({ name: 'budgets', version: '1.0.0' });
  const logs: { level: string; data: Record<string, unknown> }[] = [];

  beforeAll(async () => {
    client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params as never));
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    await client.connect(b);
    await monitor.start();
    // 30 rules over the 10 series, each firing on every series: 300 alerts.
    for (let r = 0; r < 30; r++) await monitor.createAlertRule({ metric: 'response_time', operator: '>', threshold: r, severity: r % 2 ? 'critical' : 'warning' });
    for (let s = 0; s < 10; s++) for (let i = 0; i < 256; i++) monitor.record('response_time', 50 + ((i * 7919 + s * 31) % 1000) / 7, { endpoint: `/api/e${s}` });
    await monitor.flush();
    await waitFor(() => monitor.getAlerts({ state: 'firing' }).length === 300, 15_000, '300 firing alerts');
  }, 30_000);
  afterAll(async () => {
    await client.close();
    await monitor.stop();
  });

  const call = async (name: string, args: Record<string, unknown> = {}) => {
    const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: { text: string }[]; structuredContent: Record<string, unknown> };
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    return { r, text: r.content.map((c) => c.text).join('\n'), size: bytes(r) };
  };

  it('keeps every read tool\'s default answer within 8 KB, and each cut says how to get more', async () => {
    const cases: [string, Record<string, unknown>, RegExp | null][] = [
      ['get_performance_metrics', {}, null],
      ['get_metric_history', { metric_type: 'response_time' }, /pass max_points \(up to 10000\) for more/],
      ['get_monitoring_status', {}, null],
      ['get_monitoring_status', { include_metrics: true, include_alerts: true }, /pass limit \(up to 1000\) for more/],
      ['get_performance_alerts', {}, /showing (\d+): pass offset \1 for the next page \(limit: up to 1000 a page\), or state and severity to choose/],
      ['get_performance_alerts', { include_rules: true, include_history: true }, /rules \((\d+) of 30: pass offset \1 for the next page\)/],
      ['optimize_performance', { optimization_type: 'all' }, null],
    ];
    for (const [name, args, more] of cases) {
      const { size, text } = await call(name, args);
      expect(size, `${name} ${JSON.stringify(args)}`).toBeLessThanOrEqual(8 * KB);
      if (more) expect(text, `${name} ${JSON.stringify(args)}`).toMatch(more);
    }
    // The resources are held to the same budgets.
    for (const uri of ['perfwatch://status', 'perfwatch://alerts']) expect(bytes(await client.readResource({ uri })), uri).toBeLessThanOrEqual(8 * KB);
  });

  it('pages alerts, rules and history with offset: every item once, and a cut page names the next', async () => {
    // Past the last page a limit could reach (1,000) the rest could not be listed: a rule over
    // 10,000 series fires thousands, and the answer said to raise the limit it had raised.
    type Page = { r: { structuredContent: Record<string, unknown> }; text: string };
    const walk = async (args: Record<string, unknown>, list: 'alerts' | 'rules' | 'history', key: (x: Record<string, unknown>) => string, limit = 70) => {
      const seen: string[] = [];
      let offset = 0;
      for (let pages = 0; pages < 20; pages++) {
        const page: Page = await call('get_performance_alerts', { ...args, limit, offset });
        const items = page.r.structuredContent[list] as Record<string, unknown>[];
        seen.push(...items.map(key));
        const line = page.text.split('\n').find((l) => (list === 'alerts' ? true : l.startsWith(list === 'rules' ? 'rules (' : 'history, newest first (')));
        const next = line === undefined ? null : /pass offset (\d+) for the next page/.exec(line);
        if (!next) return { seen, last: page };
        expect(Number(next[1])).toBe(offset + items.length);
        offset = Number(next[1]);
      }
      throw new Error(`${list}: no last page`);
    };
    const alerts = await walk({}, 'alerts', (a) => `${a.rule_id as string}/${a.fingerprint as string}`);
    expect(alerts.seen).toHaveLength(300);
    expect(new Set(alerts.seen).size).toBe(300);
    expect(alerts.last.r.structuredContent).toMatchObject({ total: 300, truncated: false });
    const rules = await walk({ include_rules: true }, 'rules', (r) => r.id as string, 7);
    expect(new Set(rules.seen).size).toBe(30);
    expect(rules.seen).toHaveLength(30);
    const history = monitor.getAlertHistory().length;
    const changes = await walk({ include_history: true }, 'history', (t) => `${t.at as string}/${t.fingerprint as string}/${t.to as string}`);
    expect(changes.seen).toHaveLength(history);
    expect(new Set(changes.seen).size).toBe(history);
    // A page past the end says where offsets end.
    const past = await call('get_performance_alerts', { offset: 300 });
    expect(past.r.structuredContent).toMatchObject({ alerts: [], total: 300, truncated: false });
    expect(past.text).toMatch(/none from offset 300: offset counts from 0 to 299/);
  });

  it('names one next offset for the alerts, rules and history of a page, which skips none of them', async () => {
    // The lists share the offset but not the budget: cut at 4 alerts, 4 rules and 6
    // changes, the page said "pass offset 6" for the history, which skipped alerts and rules
    // 4 and 5.
    const seen = { alerts: [] as string[], rules: [] as string[], history: [] as string[] };
    const history = monitor.getAlertHistory().length;
    let offset = 0;
    for (let pages = 0; ; pages++) {
      expect(pages, 'pages walked').toBeLessThan(400);
      const { r, text } = await call('get_performance_alerts', { include_rules: true, include_history: true, offset });
      const page = r.structuredContent as { alerts: Record<string, string>[]; rules: Record<string, string>[]; history: Record<string, string>[] };
      seen.alerts.push(...page.alerts.map((a) => `${a.rule_id}/${a.fingerprint}`));
      seen.rules.push(...page.rules.map((x) => x.id!));
      seen.history.push(...page.history.map((t) => `${t.at}/${t.fingerprint}/${t.to}`));
      const named = new Set([...text.matchAll(/pass offset (\d+) for the next page/g)].map((m) => Number(m[1])));
      if (named.size === 0) break;
      expect([...named], `the next offsets page ${pages} names`).toHaveLength(1);
      offset = [...named][0]!;
    }
    expect(seen.alerts).toHaveLength(300);
    expect(new Set(seen.alerts).size).toBe(300);
    expect(seen.rules).toHaveLength(30);
    expect(new Set(seen.rules).size).toBe(30);
    expect(seen.history).toHaveLength(history);
    expect(new Set(seen.history).size).toBe(history);
  });

  it('gives history as columns: raw samples as times and values, no object per point', async () => {
    const { r } = await call('get_metric_history', { metric_type: 'response_time', tags: { endpoint: '/api/e3' }, max_points: 256 });
    const [s] = r.structuredContent.series as Record<string, unknown>[];
    expect(s).toMatchObject({ resolution: 'raw', source_points: 256 });
    expect(Object.keys(s!).sort()).toEqual(['resolution', 'source_points', 'start', 'step_seconds', 't', 'tags', 'value']);
    expect((s!.value as number[]).length).toBe(256);
    expect((s!.value as number[])[0]).toBe(50 + (3 * 31 % 1000) / 7);
    // All ten series, raw, cost what the samples cost: about 25 bytes a sample.
    expect((await call('get_metric_history', { metric_type: 'response_time', max_points: 256 })).size).toBeLessThan(10 * 256 * 30);
  });

  it('keeps history within 8 KB where a cut grows the answer: raw series cut below their samples gain columns', async () => {
    // Two series of 200 raw samples: 9 KB in two columns; cut to fewer points, each point adds
    // count, min, max and three quantiles, so scaling the points by what is over did not
    // converge in its five rounds and answered 9 KB.
    for (let s = 0; s < 2; s++) for (let i = 0; i < 200; i++) monitor.record('checkout_ms', 0.05 + ((i * 7919 + s * 31) % 1000) / 7.3, { endpoint: `/c${s}` });
    await monitor.flush();
    const full = await call('get_metric_history', { metric_type: 'checkout_ms', max_points: 200 });
    expect(full.size).toBeGreaterThan(8 * KB);
    const { size, text } = await call('get_metric_history', { metric_type: 'checkout_ms' });
    expect(size).toBeLessThanOrEqual(8 * KB);
    expect(text).toMatch(/downsampled to \d+ points per series to fit 8 KB: pass max_points \(up to 10000\) for more/);
  });

  it('keeps history within 8 KB when its series carry long tags: fewer series a page, and the cut names the offset of the next', async () => {
    // Ten series of 8 tags of 90 characters: at a point a series they answered 12 KB and said
    // nothing was cut (truncated false), since only the points were cut.
    const tags = (j: number) => Object.fromEntries(Array.from({ length: 8 }, (_, k) => [`k${k}_${'x'.repeat(28)}`, `${j}_${'v'.repeat(58)}`]));
    for (let j = 0; j < 10; j++) for (let i = 0; i < 3; i++) monitor.record('wide_tags_ms', j + i, tags(j));
    await monitor.flush();
    const seen: string[] = [];
    let offset = 0;
    for (let page = 0; page < 10; page++) {
      const { r, size, text } = await call('get_metric_history', { metric_type: 'wide_tags_ms', ...(offset > 0 ? { offset } : {}) });
      expect(size).toBeLessThanOrEqual(8 * KB);
      const sc = r.structuredContent as { series: { tags: Record<string, string> }[]; total_series: number; truncated: boolean };
      expect(sc.total_series).toBe(10);
      seen.push(...sc.series.map((x) => Object.values(x.tags)[0]!.split('_')[0]!));
      offset += sc.series.length;
      expect(sc.truncated).toBe(offset < 10);
      if (offset >= 10) break;
      expect(sc.series.length).toBeLessThan(10);
      expect(text).toContain(`${10 - offset} more series: pass offset ${offset} for the next page`);
    }
    expect(seen).toEqual(Array.from({ length: 10 }, (_, j) => String(j)));
  });

  it('keeps a report within 16 KB and sends Markdown once, in the text', async () => {
    const json = await call('generate_performance_report', {});
    expect(json.size).toBeLessThanOrEqual(16 * KB);
    const md = await call('generate_performance_report', { format: 'markdown' });
    expect(md.size).toBeLessThanOrEqual(16 * KB);
    expect(md.text).toMatch(/^# Performance report/);
    expect(JSON.stringify(md.r.structuredContent)).not.toContain('# Performance report');
  });

  it('lists every tool with full schemas in at most 20 KB', async () => {
    const list = await client.listTools();
    expect(list.tools).toHaveLength(13);
    for (const t of list.tools) expect(t.outputSchema?.type, t.name).toBe('object');
    expect(bytes(list)).toBeLessThanOrEqual(20 * KB);
    // The schemas advertise the monitor's tag limits: at their widest the list still fits.
    const wide = new McpFront(new MonitorHost(new PerformanceMonitor({ storage: 'memory', maxTags: 64, maxTagValueLength: 4096 }), false)).createServer('legacy');
    const other = new Client({ name: 'wide', version: '1.0.0' });
    const [a, b] = InMemoryTransport.createLinkedPair();
    await wide.connect(a);
    await other.connect(b);
    expect(bytes(await other.listTools())).toBeLessThanOrEqual(20 * KB);
    await other.close();
  });

  it('names every tool it lists in its instructions, so that an agent oriented by them knows each', async () => {
    const instructions = client.getInstructions() ?? '';
    const missing = (await client.listTools()).tools.map((t) => t.name).filter((name) => !instructions.includes(name));
    expect(missing).toEqual([]);
  });

  it('lists the limit on an alert rule\'s labels that the server enforces', async () => {
    const rule = (await client.listTools()).tools.find((t) => t.name === 'create_performance_alert_rule')!;
    const root = rule.inputSchema as { properties: Record<string, Record<string, unknown>>; $defs?: Record<string, Record<string, unknown>> };
    const ref = root.properties.labels!.$ref;
    const labels = typeof ref === 'string' ? root.$defs![ref.split('/').pop()!]! : root.properties.labels!;
    expect(labels.maxProperties).toBe(32);
    const over = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, 'v']));
    const r = (await client.callTool({ name: 'create_performance_alert_rule', arguments: { metric_type: 'response_time', operator: '>', threshold: 1, severity: 'info', labels: over } })) as { isError?: boolean; content: { text: string }[] };
    expect(r.content[0]!.text).toBe('PW_ERR_INVALID_ARG: labels must have at most 32 entries');
  });

  it('cuts the current metrics to 8 KB when there are many series, and says how to get the rest', async () => {
    // Last: it adds 200 series to the fixture.
    for (let i = 0; i < 200; i++) monitor.record('queue_size', i, { queue: `q${i}` });
    await monitor.flush();
    const { size, text, r } = await call('get_performance_metrics', {});
    expect(size).toBeLessThanOrEqual(8 * KB);
    const total = r.structuredContent.total as number;
    expect(total).toBeGreaterThanOrEqual(210);
    expect(r.structuredContent.truncated).toBe(true);
    // The fixture's monitor may be younger than the window: then the head says how much of it it watched.
    expect(text).toMatch(new RegExp(`^${total} series, last 60s( \\(this monitor watched [\\d.]+s of it: [^)]+\\))? \\(showing (\\d+): pass offset \\2 for the next page \\(limit: up to 1000 a page\\), or metric_types or tags to choose\\)`));
    // Every series in one page of 1000. The system's and runtime's samplers go on meanwhile, and
    // a source read at a slower cadence can add its series between the two calls (CI: 223, then 227).
    const all = (await call('get_performance_metrics', { limit: 1000 })).r.structuredContent;
    expect(all).toMatchObject({ truncated: false });
    expect(all.total as number).toBeGreaterThanOrEqual(total);
    expect((all.metrics as unknown[]).length).toBe(all.total);
  });

  it('says how much of a window reaching past the monitor\'s start it watched, and where the rest is', async () => {
    const { text, r } = await call('get_performance_metrics', { window: 86_400, limit: 1 });
    const covered = r.structuredContent.covered_seconds as number;
    expect(covered).toBeGreaterThan(0);
    expect(covered).toBeLessThan(3_600);
    expect(text).toMatch(new RegExp(`^\\d+ series, last 86400s \\(this monitor watched ${covered}s of it: samples from before it started are in get_metric_history when storage kept them\\)`));
    // A window it watched whole says nothing of the kind.
    const short = await call('get_performance_metrics', { window: 1, limit: 1 });
    expect(short.r.structuredContent).not.toHaveProperty('covered_seconds');
    expect(short.text).not.toMatch(/watched/);
  });


  it('says a filter matched no series, not that the monitor has no data, and refuses an empty metric_types', async () => {
    const none = [
      [{ tags: { endpoint: '/nope' } }, 'no series matches {endpoint="/nope"} yet: leave out tags for the series there are'],
      [{ metric_types: ['queue_size'], tags: { endpoint: '/api/e1' } }, 'no series matches queue_size{endpoint="/api/e1"} yet: leave out tags (or metric_types) for the series there are'],
      [{ metric_types: ['error_rate'] }, 'no series matches error_rate yet: leave out metric_types for the series there are'],
    ] as const;
    for (const [args, said] of none) {
      const { text, r } = await call('get_performance_metrics', args);
      expect(r.structuredContent).toMatchObject({ metrics: [], total: 0 });
      expect(text).toBe(said);
    }
    const empty = (await client.callTool({ name: 'get_performance_metrics', arguments: { metric_types: [] } })) as { isError?: boolean; content: { text: string }[] };
    expect(empty.isError).toBe(true);
    expect(empty.content[0]!.text).toBe('PW_ERR_INVALID_ARG: metric_types must list at least one metric name (leave it out for every metric), got an array of 0');
  });
  it('notifies the 300 alerts that fired together as one message with counts', async () => {
    const message = await waitFor(() => logs.find((l) => l.data.event === 'alerts'), 10_000, 'the grouped notification');
    expect(message.level).toBe('critical');
    expect(message.data).toMatchObject({ count: 300 });
    // 30 (rule, change) pairs of 10 each: the first 10 listed, the rest counted.
    expect(message.data.changes).toHaveLength(10);
    expect((message.data.changes as { count: number }[]).every((c) => c.count === 10)).toBe(true);
    expect(message.data.message).toMatch(/^300 alert changes: 10 firing (critical|warning) response_time > \d+; .*; 20 more \(rule, change\) pairs\. get_performance_alerts lists them$/);
    expect(message.data.first).toHaveLength(5);
    expect(logs.filter((l) => l.data.event === 'alert' || l.data.event === 'alerts')).toHaveLength(1);
    expect(bytes(message)).toBeLessThanOrEqual(8 * KB);
  });
});

describe('a report cut to the limit asked', () => {
  // 520 series: past the report's largest limit, 500.
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  const server = new McpFront(new MonitorHost(monitor, false)).createServer('legacy');
  const client = new Client({ name: 'report-limit', version: '1.0.0' });

  beforeAll(async () => {
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    await client.connect(b);
    await monitor.start();
    for (let s = 0; s < 520; s++) monitor.record('response_time', 10 + (s % 7), { endpoint: `/e${s}` });
    await monitor.flush();
  }, 30_000);
  afterAll(async () => {
    await client.close();
    await monitor.stop();
  });

  const report = async (args: Record<string, unknown>) => {
    const r = (await client.callTool({ name: 'generate_performance_report', arguments: args })) as { isError?: boolean; content: { text: string }[]; structuredContent: { series: unknown[]; summary: { series: number } } };
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    return { r, last: r.content[0]!.text.split('\n').at(-1)! };
  };

  it('says the lists were cut to the limit asked, not to 16 KB, and names only what gives more', async () => {
    // At the largest limit the report has nothing more to give: the tools that page series do.
    // It said "to fit 16 KB: pass limit (up to 500) for more, or a shorter time_range" of a 174 KB answer.
    const most = await report({ limit: 500 });
    const total = most.r.structuredContent.summary.series;
    expect(total).toBeGreaterThanOrEqual(520);
    expect(most.r.structuredContent.series).toHaveLength(500);
    // The monitor's own metrics (monitor_*) come and go with the machine's load: counted, not named.
    expect(most.last).toMatch(
      new RegExp(`^structuredContent holds \\d+ of the metrics, 500 of ${total} series and \\d+ of \\d+ anomalies cut to the limit 500 asked: past 500 series, get_performance_metrics pages every series \\(offset; its figures are over its window, up to 86400 s\\), get_metric_history a metric's series over a range \\(offset\\)$`),
    );
    // Below the largest limit a larger one gives more; past 500 series the same pointer.
    expect((await report({ limit: 20 })).last).toMatch(/ cut to the limit 20 asked: pass limit \(up to 500\) for more; past 500 series, get_performance_metrics pages every series /);
    // Without a limit, the budget cut it.
    const fitted = await report({});
    expect(fitted.last).toMatch(/ to fit 16 KB: pass limit \(up to 500\) for more; past 500 series, get_performance_metrics pages every series /);
    expect(fitted.last).not.toMatch(/time_range/);
    expect(Buffer.byteLength(JSON.stringify(fitted.r))).toBeLessThanOrEqual(16 * KB);
  });
});
