/**
 * Driving the built `perfwatch mcp` with the SDK's clients: a child-process transport that also
 * lets a test write raw bytes to the server's stdin and see every raw line it answers, and the
 * happy path of every tool, checked against the tools' output schemas.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import type { PerformanceMonitor } from '../dist/src/index.js';
import { MonitorHost } from '../dist/src/mcp/host.js';
import { McpFront } from '../dist/src/mcp/server.js';
import { expect } from 'vitest';
import * as schemas from '../dist/src/mcp/tools/index.js';
import { StatusOutput } from '../dist/src/mcp/status-answer.js';
import * as reports from '../dist/src/mcp/report-answer.js';
import { OptimizeAnswer } from '../dist/src/mcp/tools/optimize-performance.js';
import { HistoryOutput } from '../dist/src/mcp/tools/get-metric-history.js';
import { AlertsOutput } from '../dist/src/mcp/alerts-answer.js';

/** An SDK client connected in memory to `monitor`'s MCP server (the legacy tool set), as `perfwatch mcp` serves it. */
export async function connectInMemory(monitor: PerformanceMonitor, name: string): Promise<Client> {
  const server = new McpFront(new MonitorHost(monitor, false)).createServer('legacy');
  const client = new Client({ name, version: '1.0.0' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  await client.connect(b);
  return client;
}

export const CLI = fileURLToPath(new URL('../dist/src/cli/main.js', import.meta.url));
/** Node arguments that make the server say on stderr which path recorded each batch (see the fixture). */
export const RECORD_PATHS = ['--import', fileURLToPath(new URL('./fixtures/record-paths.mjs', import.meta.url))];

/** A config file for a quiet monitor: no system sampling (the tests record their own data). */
export function quietConfig(extra: Record<string, unknown> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'perfwatch-mcp-'));
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify({ system: { enabled: false }, storage: 'memory', ...extra }));
  return path;
}

/** Newline-delimited JSON-RPC over a child's stdio, with raw access for tests. */
export class ChildTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly child: ChildProcessWithoutNullStreams;
  /** Every line the server wrote to stdout, parsed. */
  readonly lines: unknown[] = [];
  stderr = '';
  private buffer = '';

  /** `nodeArgs` go to node before the CLI (a module to preload, say); `env` is the child's environment (a preloaded library's settings). */
  constructor(args: string[], nodeArgs: string[] = [], env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn(process.execPath, [...nodeArgs, CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
  }

  async start(): Promise<void> {
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let nl = this.buffer.indexOf('\n'); nl !== -1; nl = this.buffer.indexOf('\n')) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        const message = JSON.parse(line) as JSONRPCMessage;
        this.lines.push(message);
        this.onmessage?.(message);
      }
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.child.on('exit', () => this.onclose?.());
  }

  /** Writes bytes to the server's stdin as they are (a garbage line, a hand-made request). */
  raw(text: string): void {
    this.child.stdin.write(text);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    if (this.child.exitCode === null) await new Promise((resolve) => this.child.once('exit', resolve));
  }
}

export interface ToolResult {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
}

/** The minimal client surface both SDK lines share. */
export interface AnyClient {
  listTools(): Promise<{ tools: { name: string; description?: string; inputSchema: Record<string, unknown>; outputSchema?: Record<string, unknown>; annotations?: Record<string, unknown> }[] }>;
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
  readResource(params: { uri: string }): Promise<{ contents: { uri: string; text?: string }[] }>;
}

export async function call(client: AnyClient, name: string, args: Record<string, unknown> = {}): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args })) as ToolResult;
}

export function text(r: ToolResult): string {
  return r.content.map((c) => c.text ?? '').join('\n');
}

/** Calls a tool expecting success, and checks its structured answer against the output schema. */
export async function ok<S extends { parse(v: unknown): unknown }>(client: AnyClient, name: string, args: Record<string, unknown>, output: S): Promise<ReturnType<S['parse']>> {
  const r = await call(client, name, args);
  expect(r.isError, `${name} failed: ${text(r)}`).toBeFalsy();
  expect(r.content[0]?.type).toBe('text');
  expect(text(r).length).toBeGreaterThan(0);
  output.parse(r.structuredContent);
  // The answer as sent (parse would strip keys the schema does not list), typed by its schema.
  return r.structuredContent as ReturnType<S['parse']>;
}

/** Calls a tool expecting a tool error, and returns its message. */
export async function fails(client: AnyClient, name: string, args: Record<string, unknown>): Promise<string> {
  const r = await call(client, name, args);
  expect(r.isError, `${name} ${JSON.stringify(args).slice(0, 200)} should fail, answered ${text(r).slice(0, 300)}`).toBe(true);
  return text(r);
}

export const TOOLS = [
  'start_performance_monitoring',
  'stop_performance_monitoring',
  'record_performance_metric',
  'record_request_performance',
  'get_performance_metrics',
  'get_metric_history',
  'get_monitoring_status',
  'create_performance_alert_rule',
  'delete_performance_alert_rule',
  'get_performance_alerts',
  'generate_performance_report',
  'optimize_performance',
  'capture_performance_profile',
];

/** tools/list: every tool described, with object input and output schemas and all four annotations. */
export async function checkToolList(client: AnyClient, expected: string[]): Promise<void> {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name).sort()).toEqual([...expected].sort());
  for (const tool of tools) {
    expect(tool.description!.length, tool.name).toBeGreaterThan(40);
    expect(tool.inputSchema.type).toBe('object');
    expect(tool.outputSchema?.type, tool.name).toBe('object');
    for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint']) {
      expect(typeof tool.annotations?.[hint], `${tool.name} ${hint}`).toBe('boolean');
    }
  }
  const record = tools.find((t) => t.name === 'record_performance_metric')!;
  const props = record.inputSchema.properties as Record<string, { maxItems?: number }>;
  expect(Object.keys(props).sort()).toEqual(['metric_type', 'samples', 'tags', 'value']);
  expect(props.samples!.maxItems).toBe(100_000);
  // The limits advertised are the monitor's (its maxTagValueLength, 128 by default), not the widest allowed.
  const deref = (s: Record<string, unknown>, root: Record<string, unknown>): Record<string, unknown> =>
    typeof s.$ref === 'string' ? ((root.$defs as Record<string, Record<string, unknown>>)[s.$ref.split('/').pop()!]!) : s;
  const tags = deref(props.tags as Record<string, unknown>, record.inputSchema);
  expect((tags.additionalProperties as { maxLength: number }).maxLength).toBe(128);
  expect(tags.maxProperties).toBe(16); // its maxTags
  const request = tools.find((t) => t.name === 'record_request_performance')!;
  expect((request.inputSchema.properties as Record<string, { maxLength?: number }>).endpoint!.maxLength).toBe(128);
  const reads = tools.filter((t) => t.name.startsWith('get_'));
  for (const t of reads) expect(t.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
}

/**
 * The happy path of every core tool on a running monitor, with exact numbers where there are
 * some. `metric` is a name no other test writes.
 */
export async function coreHappyPath(client: AnyClient, metric: string): Promise<void> {
  const start = await ok(client, 'start_performance_monitoring', {}, schemas.StartOutput);
  expect(start).toMatchObject({ state: 'running', started: false });

  expect(await ok(client, 'record_performance_metric', { metric_type: metric, value: 10, tags: { route: '/a' } }, schemas.RecordOutput)).toEqual({ recorded: 1, metrics: [metric], truncated: false });
  const batch = await ok(
    client,
    'record_performance_metric',
    { samples: [{ metric_type: metric, value: 20, tags: { route: '/a' } }, { metric_type: metric, value: 30, tags: { route: '/a' }, timestamp: Date.now() }, { metric_type: metric, value: 5, tags: { route: '/b' }, timestamp: new Date().toISOString() }] },
    schemas.RecordOutput,
  );
  expect(batch).toMatchObject({ recorded: 3, metrics: [metric] });
  const req = await ok(client, 'record_request_performance', { response_time: 42, success: false, endpoint: `/${metric}`, status_code: 503 }, schemas.RequestOutput);
  expect(req).toEqual({ recorded: ['response_time', 'throughput', 'error_rate'], endpoint: `/${metric}` });

  const metrics = await ok(client, 'get_performance_metrics', { metric_types: [metric], tags: { route: '/a' } }, schemas.MetricsOutput);
  expect(metrics).toMatchObject({ total: 1, truncated: false });
  expect(metrics).toMatchObject({ window_seconds: 60 });
  const [a] = metrics.metrics as unknown[];
  expect(a).toMatchObject({ tags: { route: '/a' }, kind: 'distribution', total_count: 3, count: 3, mean: 20, min: 10, max: 30, last: 30, p50: expect.any(Number), p99: expect.any(Number) });
  const limited = await ok(client, 'get_performance_metrics', { metric_types: [metric], limit: 1 }, schemas.MetricsOutput);
  expect(limited).toMatchObject({ total: 2, truncated: true });
  expect((limited.metrics as unknown[]).length).toBe(1);
  const errors = await ok(client, 'get_performance_metrics', { metric_types: ['error_rate'], tags: { endpoint: `/${metric}` } }, schemas.MetricsOutput);
  expect(errors.metrics).toMatchObject([{ count: 1, mean: 1 }]);

  const history = await ok(client, 'get_metric_history', { metric_type: metric, tags: { route: '/a' }, time_range: '15m', max_points: 2 }, HistoryOutput);
  expect(history).toMatchObject({ metric, kind: 'distribution', total_series: 1, truncated: false, points_per_series: 2, downsampled: true });
  const series = (history.series as { value: number[]; count: number[]; min: number[]; max: number[]; source_points: number }[])[0]!;
  expect(series.source_points).toBe(3);
  expect(series.value.length).toBe(2);
  expect(series.count.reduce((n, c) => n + c, 0)).toBe(3);
  expect(Math.min(...series.min)).toBe(10);
  const ranged = await ok(client, 'get_metric_history', { metric_type: metric, start: new Date(Date.now() - 60_000).toISOString(), end: new Date(Date.now() + 1_000).toISOString() }, HistoryOutput);
  expect(ranged.total_series).toBe(2);

  const status = await ok(client, 'get_monitoring_status', { include_metrics: true, limit: 500 }, StatusOutput);
  expect(status).toMatchObject({ state: 'running', metrics_total: expect.any(Number) });
  expect((status.metrics as { name: string }[]).some((m) => m.name === metric)).toBe(true);

  const resource = await client.readResource({ uri: 'perfwatch://status' });
  expect(JSON.parse(resource.contents[0]!.text!)).toMatchObject({ state: 'running' });

  // Alerts: a rule on this test's metric, which fires on the next sample over it.
  const created = await call(client, 'create_performance_alert_rule', { metric_type: metric, operator: '>', threshold: 100, severity: 'warning', tags: { route: '/a' }, aggregation: 'max', window: 30, description: 'slow /a' });
  expect(created.isError, text(created)).toBeFalsy();
  const rule = (created.structuredContent as { rule: Record<string, unknown> }).rule;
  // The text says the condition once, and the series the rule watches.
  expect(text(created)).toBe(`created rule ${rule.id}: max(${metric}[30s]) > 100 on ${metric}{route="/a"} (warning)`);
  expect(rule).toMatchObject({ metric_type: metric, operator: '>', threshold: 100, severity: 'warning', aggregation: 'max', window: 30, auto_resolve: true, tags: { route: '/a' }, condition: `max(${metric}[30s]) > 100` });
  await ok(client, 'record_performance_metric', { metric_type: metric, value: 500, tags: { route: '/a' } }, schemas.RecordOutput);
  await expect
    .poll(async () => ((await ok(client, 'get_performance_alerts', { state: 'firing' }, AlertsOutput)).alerts as { rule_id: string }[]).some((a) => a.rule_id === rule.id), { timeout: 10_000 })
    .toBe(true);
  const alerts = await ok(client, 'get_performance_alerts', { state: 'all', severity: 'warning', include_rules: true, include_history: true, limit: 200 }, AlertsOutput);
  expect((alerts.alerts as { rule_id: string; value: number; state: string }[]).find((a) => a.rule_id === rule.id)).toMatchObject({ state: 'firing', value: 500 });
  expect((alerts.rules as { id: string }[]).some((r) => r.id === rule.id)).toBe(true);
  expect((alerts.history as { rule_id: string; to: string }[]).find((t) => t.rule_id === rule.id)).toMatchObject({ to: 'firing' });
  const withAlerts = await ok(client, 'get_monitoring_status', { include_alerts: true }, StatusOutput);
  expect((withAlerts.alerting as { firing: number }).firing).toBeGreaterThanOrEqual(1);
  expect((withAlerts.alerts as { rule_id: string }[]).some((a) => a.rule_id === rule.id)).toBe(true);
  const alertsResource = JSON.parse((await client.readResource({ uri: 'perfwatch://alerts' })).contents[0]!.text!);
  expect(alertsResource.alerts.some((a: { rule_id: string }) => a.rule_id === rule.id)).toBe(true);

  // Reports: the series recorded above, with exact statistics, and the alert that fired.
  const report = await ok(client, 'generate_performance_report', { time_range: '1h', limit: 500 }, reports.ReportAnswer);
  expect(report).toMatchObject({ format: 'json', truncated: false });
  expect((report.summary as { series: number }).series).toBeGreaterThanOrEqual(3);
  const stats = (report.series as { name: string; tags: Record<string, string>; count: number; min: number; max: number; mean: number }[]).find((x) => x.name === metric && x.tags.route === '/a');
  expect(stats).toMatchObject({ count: 4, min: 10, max: 500, mean: 140 });
  expect((report.alerts as { firings: number }).firings).toBeGreaterThanOrEqual(1);
  expect(typeof (report.score as { formula: string }).formula).toBe('string');
  const latest = JSON.parse((await client.readResource({ uri: 'perfwatch://report/latest' })).contents[0]!.text!);
  expect(latest.generated_at).toBe(report.generated_at);
  const md = await call(client, 'generate_performance_report', { time_range: '1h', format: 'markdown', include_alerts: false });
  expect(md.isError, text(md)).toBeFalsy();
  expect(text(md)).toMatch(/^# Performance report/);
  // The document is the text; structuredContent says what it covers and does not repeat it.
  expect(md.structuredContent).toMatchObject({ format: 'markdown', summary: { series: expect.any(Number) } });
  expect(JSON.stringify(md.structuredContent)).not.toMatch(/# Performance report/);
  reports.ReportAnswer.parse(md.structuredContent);

  // Optimisation: a dry run plans over the monitor's own knobs and changes nothing. Every
  // knob is either in the plan or skipped with its reason, once.
  const plan = await ok(client, 'optimize_performance', { optimization_type: 'all' }, OptimizeAnswer);
  expect(plan).toMatchObject({ dry_run: true, optimization_type: 'all', state: 'done', applied: [] });
  const knobs = plan.knobs.map((k) => k.name).sort();
  expect(knobs).toContain('perfwatch.report_threads');
  expect([...plan.plan.map((s) => s.knob), ...plan.skipped.map((s) => s.knob)].sort()).toEqual(knobs);
  for (const s of plan.skipped) expect(s.reason, s.knob).not.toBe('');
  expect(plan.log.filter((e) => e.kind !== 'plan' && e.kind !== 'skip')).toEqual([]);

  const baselines = await ok(client, 'get_monitoring_status', { include_baselines: true, limit: 500 }, StatusOutput);
  expect((baselines.baselines as { metric: string }[]).some((b) => b.metric === metric)).toBe(true);
}
