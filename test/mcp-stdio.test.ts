import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as V1StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import * as schemas from '../dist/src/mcp/tools/index.js';
import { StatusOutput } from '../dist/src/mcp/status-answer.js';
import * as reports from '../dist/src/mcp/report-answer.js';
import { OptimizeAnswer } from '../dist/src/mcp/tools/optimize-performance.js';
import { z } from 'zod';

const AlertsCreate = z.object({ rule: z.object({ id: z.string() }).loose() });
import { CLI, RECORD_PATHS, TOOLS, ChildTransport, call, checkToolList, coreHappyPath, fails, ok, quietConfig, text, type AnyClient } from './mcp-helpers.js';

describe('perfwatch mcp over stdio (SDK v2 client, protocol 2025-11-25)', () => {
  const config = quietConfig();
  // quietConfig writes under the temporary directory: the one config_path may name files in.
  const transport = new ChildTransport(['mcp', '--config', config, '--config-dir', tmpdir()], RECORD_PATHS);
  const client = new Client({ name: 'perfwatch-test', version: '1.0.0' });
  /** The server's "record path: <entry> <samples>" lines so far (see RECORD_PATHS). */
  const recordPaths = (): string[] => transport.stderr.match(/^record path: .*$/gm) ?? [];

  beforeAll(async () => {
    await client.connect(transport);
  });
  afterAll(async () => {
    await client.close();
  });

  it('negotiates 2025-11-25 and lists every tool with schemas and all four annotations', async () => {
    expect(client.getProtocolEra()).toBe('legacy');
    expect(client.getServerVersion()).toMatchObject({ name: 'perfwatch' });
    await checkToolList(client as unknown as AnyClient, TOOLS);
  });

  it('answers every tool on its happy path with structured content that fits its output schema', async () => {
    await coreHappyPath(client as unknown as AnyClient, 'stdio_happy');
  });

  it('records batches exactly, through the stdio batch lane and, for one it does not take, through JSON.parse', async () => {
    const now = Date.now();
    const samples = Array.from({ length: 20_000 }, (_, i) => ({
      metric_type: 'lane_check',
      value: (i % 1000) - 250.5,
      tags: { shard: String(i % 4) },
      ...(i % 3 === 0 ? { timestamp: now } : {}),
    }));
    const seen = recordPaths().length;
    expect(await ok(client, 'record_performance_metric', { samples }, schemas.RecordOutput)).toEqual({ recorded: 20_000, metrics: ['lane_check'], truncated: false });
    // The lane read it into columns: the monitor recorded it through recordColumns.
    await expect.poll(() => recordPaths().slice(seen)).toEqual(['record path: recordColumns 20000']);
    // An escaped quote in a tag value: the lane leaves the whole line to JSON.parse. Stamped
    // anew: the first call's stamp may be more than the interval old by now on a loaded machine.
    const later = Date.now();
    const escaped = samples.map((s, i) => ({ ...s, ...(s.timestamp === undefined ? {} : { timestamp: later }), ...(i === 0 ? { tags: { shard: 'q"' } } : {}) }));
    expect(await ok(client, 'record_performance_metric', { samples: escaped }, schemas.RecordOutput)).toMatchObject({ recorded: 20_000 });
    await expect.poll(() => recordPaths().slice(seen)).toEqual(['record path: recordColumns 20000', 'record path: recordBatch 20000']);
    const got = await ok(client, 'get_performance_metrics', { metric_types: ['lane_check'] }, schemas.MetricsOutput);
    const byShard = Object.fromEntries(got.metrics.map((m) => [m.tags.shard, m]));
    expect(Object.keys(byShard).sort()).toEqual(['0', '1', '2', '3', 'q"']);
    expect(byShard['0']).toMatchObject({ total_count: 9_999, last: 996 - 250.5, count: 9_999, min: -250.5, max: 996 - 250.5 });
    expect(byShard['1']).toMatchObject({ total_count: 10_000, last: 997 - 250.5, min: 1 - 250.5, max: 997 - 250.5 });
    expect(byShard['q"']).toMatchObject({ total_count: 1, last: -250.5 });
  });

  it('keeps a rule on a metric no one has named yet, and says so with the metric a typo meant', async () => {
    // Thresholds no sample of these tests reaches: the rules stay quiet for the tests after this one.
    const typo = await call(client, 'create_performance_alert_rule', { metric_type: 'respnse_time', operator: '>', threshold: 1e9, severity: 'warning' });
    expect(typo.isError, text(typo)).toBeFalsy();
    const id = (typo.structuredContent as { rule: { id: string } }).rule.id;
    expect(text(typo)).toBe(`created rule ${id}: respnse_time > 1000000000 on every series of respnse_time (warning); no metric is named respnse_time yet: the rule waits for its first series; did you mean response_time?`);
    const known = await call(client, 'create_performance_alert_rule', { metric_type: 'response_time', operator: '>', threshold: 1e9, severity: 'warning' });
    expect(text(known)).not.toMatch(/no metric is named/);
  });

  it('stops keeping the data, refuses records while stopped, and resumes', async () => {
    await ok(client, 'record_performance_metric', { metric_type: 'kept', value: 7 }, schemas.RecordOutput);
    const stop = await ok(client, 'stop_performance_monitoring', {}, schemas.StopOutput);
    expect(stop).toMatchObject({ state: 'stopped', was_running: true, data_preserved: true });
    expect(await fails(client, 'record_performance_metric', { metric_type: 'kept', value: 8 })).toMatch(/^PW_ERR_STOPPED: /);
    const kept = await ok(client, 'get_performance_metrics', { metric_types: ['kept'] }, schemas.MetricsOutput);
    expect(kept.metrics).toMatchObject([{ total_count: 1, last: 7 }]);
    expect(await ok(client, 'start_performance_monitoring', {}, schemas.StartOutput)).toMatchObject({ started: true, state: 'running' });
    await ok(client, 'record_performance_metric', { metric_type: 'kept', value: 9 }, schemas.RecordOutput);
    expect((await ok(client, 'get_performance_metrics', { metric_types: ['kept'] }, schemas.MetricsOutput)).metrics).toMatchObject([{ total_count: 2, last: 9 }]);
  });

  it('says over MCP what to call and what happened: the tool that starts, a resume, alerts of any state, the tags it counted', async () => {
    await ok(client, 'record_performance_metric', { metric_type: 'paused_probe', value: 1 }, schemas.RecordOutput);
    await ok(client, 'stop_performance_monitoring', {}, schemas.StopOutput);
    expect(await fails(client, 'record_performance_metric', { metric_type: 'paused_probe', value: 2 })).toBe('PW_ERR_STOPPED: the monitor is not running: call start_performance_monitoring before recording');
    const resumed = await call(client, 'start_performance_monitoring', {});
    expect(text(resumed)).toMatch(/^resumed: interval /);
    expect(resumed.structuredContent).toMatchObject({ started: true, state: 'running' });
    expect(text(await call(client, 'start_performance_monitoring', {}))).toMatch(/^already running: /);
    const tags = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`t${i}`, 'v']));
    expect(await fails(client, 'record_performance_metric', { metric_type: 'paused_probe', value: 1, tags })).toBe('PW_ERR_INVALID_ARG: tags has 17 tags; the limit is maxTags 16');
    const all = text(await call(client, 'get_performance_alerts', { state: 'all' }));
    expect(all).toMatch(/; \d+ alerts? in any state/);
    expect(all).not.toMatch(/ all alert/);
  });

  it('applies a new interval only to a monitor without data, and a config file after discarding', async () => {
    expect(await fails(client, 'start_performance_monitoring', { collection_interval: 2 })).toMatch(/^PW_ERR_INVALID_ARG: collection_interval asks for options other than the current monitor's, which holds data/);
    expect(await ok(client, 'stop_performance_monitoring', { preserve_data: false }, schemas.StopOutput)).toMatchObject({ data_preserved: false, series: 0 });
    expect(await ok(client, 'start_performance_monitoring', { collection_interval: 2 }, schemas.StartOutput)).toMatchObject({ started: true, collection_interval: 2 });
    // The data went with the old monitor: the new one does not know the name.
    expect(await fails(client, 'get_performance_metrics', { metric_types: ['kept'] })).toMatch(/^PW_ERR_INVALID_ARG: metric_types\[0\] "kept" is not a known metric; the nearest known: /);
    await ok(client, 'stop_performance_monitoring', { preserve_data: false }, schemas.StopOutput);
    const other = quietConfig({ collectionIntervalMs: 3000 });
    expect(await ok(client, 'start_performance_monitoring', { config_path: relative(tmpdir(), other) }, schemas.StartOutput)).toMatchObject({ started: true, collection_interval: 3, config_path: realpathSync(other) });
    expect((await ok(client, 'get_monitoring_status', {}, StatusOutput)).collection_interval).toBe(3);
  });

  it('reads config_path only as monitor options: errors name the option and never echo the file', async () => {
    await ok(client, 'stop_performance_monitoring', { preserve_data: false }, schemas.StopOutput);
    const secret = quietConfig();
    writeFileSync(secret, 'root:x:0:0:SECRET-LINE:/root:/bin/bash\n');
    const notJson = await fails(client, 'start_performance_monitoring', { config_path: secret });
    expect(notJson).toBe('PW_ERR_INVALID_ARG: config_path is not valid JSON');
    writeFileSync(secret, JSON.stringify({ SECRET_KEY: 'SECRET-VALUE' }));
    const unknown = await fails(client, 'start_performance_monitoring', { config_path: secret });
    expect(unknown).toMatch(/config_path holds an option perfwatch does not know/);
    expect(unknown).not.toMatch(/SECRET/);
    writeFileSync(secret, JSON.stringify({ collectionIntervalMs: 5 }));
    expect(await fails(client, 'start_performance_monitoring', { config_path: secret })).toMatch(/config_path: collectionIntervalMs must be an integer from 1000 to 300000 ms/);
    expect(await ok(client, 'start_performance_monitoring', {}, schemas.StartOutput)).toMatchObject({ started: true });
  });

  it('reads config_path only inside its directory, with one error for every other path that tells nothing of the file', async () => {
    await ok(client, 'stop_performance_monitoring', { preserve_data: false }, schemas.StopOutput);
    const dir = mkdtempSync(join(tmpdir(), 'perfwatch-paths-'));
    symlinkSync('/etc/passwd', join(dir, 'passwd.json'));
    symlinkSync('/etc', join(dir, 'etc'));
    mkdirSync(join(dir, 'folder.json'));
    execFileSync('mkfifo', [join(dir, 'fifo.json')]);
    const refused = `PW_ERR_INVALID_ARG: config_path must name a readable JSON options file inside ${tmpdir()}, the directory this server takes config files from (relative paths start there)`;
    const paths = [
      '/etc/passwd', // exists, regular, not JSON
      '/etc/shadow', // exists, readable only by root
      '/proc/self/environ', // exists, procfs
      '/etc', // a directory
      '/no/such/file.json', // missing
      '../../../../../etc/passwd', // climbs out
      join(dir, 'passwd.json'), // a symlink inside, to a file outside
      join(dir, 'etc', 'passwd'), // through a symlinked directory
      join(dir, 'folder.json'), // a directory inside
      join(dir, 'fifo.json'), // a FIFO inside (must not hang)
      join(dir, 'missing.json'), // missing inside
    ];
    for (const path of paths) expect(await fails(client, 'start_performance_monitoring', { config_path: path }), path).toBe(refused);
    expect(await ok(client, 'start_performance_monitoring', {}, schemas.StartOutput)).toMatchObject({ started: true });
  });
});

describe('bad input over stdio', () => {
  const transport = new ChildTransport(['mcp', '--config', quietConfig()]);
  const client = new Client({ name: 'perfwatch-test', version: '1.0.0' });
  const mb = 'x'.repeat(3 * 1024 * 1024);

  beforeAll(async () => {
    await client.connect(transport);
    await ok(client, 'record_performance_metric', { samples: Array.from({ length: 100 }, (_, i) => ({ metric_type: 'before', value: i })) }, schemas.RecordOutput);
  });
  afterAll(async () => {
    await client.close();
  });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    // wrong types
    ['record_performance_metric', { metric_type: 'a', value: '5' }, /value must be a finite number, got "5"/],
    ['record_performance_metric', { metric_type: 42, value: 5 }, /metric_type must be a metric name \(a string\), got 42/],
    ['record_performance_metric', { metric_type: 'a', value: 1, tags: { route: 7 } }, /tags\.route must be a string, got 7/],
    // a bad tag or label name: the name's rule, not the record's ("must be an object of tag names to string values, got ...")
    ['record_performance_metric', { metric_type: 'a', value: 1, tags: { 'http-method': 'GET' } }, /^PW_ERR_INVALID_ARG: tags\.http-method is not a valid tag name: it must match \[a-zA-Z_\]\[a-zA-Z0-9_\]\*$/],
    ['get_performance_metrics', { tags: { ['k'.repeat(300)]: 'v' } }, /^PW_ERR_INVALID_ARG: tags\.k{40}… is a tag name longer than 100 characters$/],
    // A reserved name: no series has one, so a filter on it matched nothing without a word why.
    ['get_performance_metrics', { tags: { __name__: 'a' } }, /^PW_ERR_INVALID_ARG: tags\.__name__ is not a valid tag name: it must match \[a-zA-Z_\]\[a-zA-Z0-9_\]\*, not start with __, and be at most 100 characters$/],
    ['get_metric_history', { metric_type: 'a', tags: { __x: 'a' } }, /^PW_ERR_INVALID_ARG: tags\.__x is not a valid tag name: .*not start with __/],
    ['create_performance_alert_rule', { metric_type: 'a', operator: '>', threshold: 1, severity: 'info', labels: { 'team name': 'pay' } }, /^PW_ERR_INVALID_ARG: labels\.team name is not a valid label name: it must match \[a-zA-Z_\]\[a-zA-Z0-9_\]\*$/],
    ['record_performance_metric', { samples: 'many' }, /samples must be an array of samples, got "many"/],
    ['record_request_performance', { response_time: '12', success: true }, /response_time must be a finite number of ms >= 0, got "12"/],
    ['record_request_performance', { response_time: 12, success: 'yes' }, /success must be true or false, got "yes"/],
    ['get_performance_metrics', { metric_types: 'cpu_usage' }, /metric_types must be an array of metric names, got "cpu_usage"/],
    ['get_metric_history', { metric_type: 'a', max_points: 'all' }, /max_points must be an integer from 1 to 10000, got "all"/],
    ['get_monitoring_status', { include_metrics: 'yes' }, /include_metrics must be true or false, got "yes"/],
    ['start_performance_monitoring', { collection_interval: '5' }, /collection_interval must be a number of seconds from 1 to 300, got "5"/],
    ['stop_performance_monitoring', { preserve_data: 'no' }, /preserve_data must be true or false, got "no"/],
    // missing fields
    ['record_performance_metric', { value: 5 }, /metric_type is required \(or samples\)/],
    ['record_performance_metric', { metric_type: 'a' }, /value is required with metric_type/],
    ['record_performance_metric', { samples: [{ value: 1 }] }, /samples\[0\]\.metric_type is required/],
    ['record_request_performance', { success: true }, /response_time is required/],
    ['get_metric_history', {}, /metric_type is required/],
    // unknown enum-like values and out-of-range ones
    ['get_metric_history', { metric_type: 'a', time_range: '3 weeks' }, /time_range must be a duration such as 90s, 15m, 1h, 24h or 7d, got "3 weeks"/],
    ['get_metric_history', { metric_type: 'a', time_range: '1h', start: '2026-01-01T00:00:00Z' }, /time_range must not be given with start or end/],
    ['get_metric_history', { metric_type: 'a', start: 'yesterday' }, /start must be an ISO-8601 time/],
    ['get_metric_history', { metric_type: 'response_time', start: '2026-12-05T07:13:00' }, /start must be an ISO-8601 time with Z or an offset, such as 2026-11-27T10:00:00Z or 2026-11-27T11:00:00\+01:00/],
    ['get_metric_history', { metric_type: 'response_time', start: '2999-01-01T00:00:00Z' }, /start \(2999-01-01T00:00:00Z\) must not be after now \(\d{4}-[\d-]+T[\d:.]+Z\): nothing is recorded there yet/],
    ['record_request_performance', { response_time: 1, success: true, status_code: 700 }, /status_code must be an integer from 100 to 599, got 700/],
    ['start_performance_monitoring', { collection_interval: 301 }, /collection_interval must be a number of seconds from 1 to 300, got 301/],
    ['record_performance_metric', { metric_type: 'cpu usage', value: 1 }, /metric_type must match \[a-zA-Z_:\]\[a-zA-Z0-9_:\]\*, got "cpu usage"/],
    ['record_performance_metric', { metric_type: 'a', value: 1, colour: 'red' }, /colour is not a known argument/],
    // huge arrays
    ['record_performance_metric', { samples: Array.from({ length: 100_001 }, () => ({ metric_type: 'a', value: 1 })) }, /samples has 100001 items; the limit is 100000 per call/],
    ['get_performance_metrics', { metric_types: Array.from({ length: 300 }, () => 'a') }, /metric_types must list at most 256 metric names/],
    ['record_performance_metric', { samples: [] }, /samples must hold at least one sample/],
    // non-finite numbers (a JSON client sends NaN and Infinity as null)
    ['record_performance_metric', { metric_type: 'a', value: null }, /value must be a finite number, got null/],
    ['record_performance_metric', { samples: [{ metric_type: 'a', value: 1 }, { metric_type: 'a', value: null }] }, /samples\[1\]\.value must be a finite number, got null/],
    // strings of megabytes
    ['record_performance_metric', { metric_type: mb, value: 1 }, /metric_type must be 1 to 200 characters, got a string of 3145728 characters/],
    ['record_request_performance', { response_time: 1, success: true, endpoint: mb }, /endpoint must be at most 128 characters, got a string of 3145728 characters/],
    ['start_performance_monitoring', { config_path: mb }, /config_path must be at most 4096 characters, got a string of 3145728 characters/],
    ['get_metric_history', { metric_type: 'a', time_range: mb }, /time_range must be a duration such as 90s, 15m, 1h, 24h or 7d, got a string of 3145728 characters/],
    ['create_performance_alert_rule', { metric_type: 'a', operator: '=>', threshold: 1, severity: 'critical' }, /operator must be one of > < >= <= == !=, got "=>"/],
    ['create_performance_alert_rule', { metric_type: 'a', operator: '>', threshold: 1, severity: 'fatal' }, /severity must be one of info, warning, critical, emergency, got "fatal"/],
    ['create_performance_alert_rule', { metric_type: 'a', operator: '>', threshold: 1, severity: 'info', aggregation: 'median' }, /aggregation must be one of last, avg, min, max, sum, count, rate, p50, p90, p95, p99, anomaly, got "median"/],
    ['create_performance_alert_rule', { metric_type: 'a', operator: '>', severity: 'info' }, /threshold is required/],
    ['create_performance_alert_rule', { metric_type: 'a', operator: '>', threshold: null, severity: 'info' }, /threshold must be a finite number, got null/],
    ['create_performance_alert_rule', { metric_type: 'a', operator: '>', threshold: 1, severity: 'info', window: 0 }, /window must be a number of seconds from 1 to 86400, got 0/],
    ['create_performance_alert_rule', { metric_type: 'a', operator: '>', threshold: 1, severity: 'info', description: mb }, /description must be at most 1000 characters, got a string of 3145728 characters/],
    ['create_performance_alert_rule', { metric_type: 'a', operator: '>', threshold: 10, severity: 'info', resolve_threshold: 20 }, /PW_ERR_INVALID_ARG: resolve_threshold must be at or below threshold 10 for operator >/],
    ['get_performance_alerts', { state: 'open' }, /state must be one of pending, firing, resolved, active, all, got "open"/],
    ['get_performance_alerts', { severity: 'high' }, /severity must be one of info, warning, critical, emergency, got "high"/],
    ['generate_performance_report', { format: 'html' }, /format must be json or markdown, got "html"/],
    ['generate_performance_report', { time_range: 'forever' }, /time_range must be a duration such as 90s, 15m, 1h, 24h or 7d/],
    ['generate_performance_report', { include_alerts: 'no' }, /include_alerts must be true or false, got "no"/],
    ['optimize_performance', {}, /optimization_type is required/],
    ['optimize_performance', { optimization_type: 'speed' }, /optimization_type must be one of memory, cpu, cache, database, network, formula, concurrency, all, got "speed"/],
    ['optimize_performance', { optimization_type: 'all', auto_apply: true, dry_run: true }, /PW_ERR_INVALID_ARG: dry_run must not be true with auto_apply true/],
    ['optimize_performance', { optimization_type: 'all', verification_window: -1 }, /verification_window must be a number of seconds from 0.1 to 3600, got -1/],
    ['get_monitoring_status', { include_baselines: 1 }, /include_baselines must be true or false, got 1/],
    // an unknown metric is an error naming the nearest known ones, not an empty answer
    ['get_performance_metrics', { metric_types: ['before', 'respnse_time'] }, /^PW_ERR_INVALID_ARG: metric_types\[1\] "respnse_time" is not a known metric; the nearest known: response_time, /],
    ['get_metric_history', { metric_type: 'respnse_time' }, /^PW_ERR_INVALID_ARG: metric_type "respnse_time" is not a known metric; the nearest known: response_time, /],
    // caught by the library: all or nothing, the sample named
    ['record_performance_metric', { samples: [{ metric_type: 'a', value: 1 }, { metric_type: 'a', value: 1, timestamp: Date.now() - 3_600_000 }] }, /PW_ERR_INVALID_ARG: samples\[1\]\.timestamp \(.*\) is out of range/],
    ['record_performance_metric', { samples: [{ metric_type: 'a', value: 1, timestamp: 1e300 }] }, /^PW_ERR_INVALID_ARG: samples\[0\]\.timestamp is out of range: .*, got 1e\+300$/],
    ['record_performance_metric', { metric_type: 'throughput', value: -1 }, /PW_ERR_INVALID_ARG: value of throughput must be a finite number from 0 to under 2\^333 \(~1\.7e100\): counters only go up/],
    // ... under the tool's argument, not the library option it becomes (responseTimeMs, tags.endpoint)
    ['record_request_performance', { response_time: 1e200, success: true }, /^PW_ERR_INVALID_ARG: response_time must be a finite number from 0 to under 2\^333 \(~1\.7e100\), got 1e\+200$/],
    ['record_request_performance', { response_time: 1, success: true, endpoint: '/a\u0001b' }, /^PW_ERR_INVALID_ARG: endpoint must not contain control characters$/],
  ];

  for (const [tool, args, message] of cases) {
    it(`${tool} ${JSON.stringify(args).slice(0, 80)} → a tool error naming the field and the rule`, async () => {
      const m = await fails(client, tool, args);
      expect(m).toMatch(message);
      // One shape, whether the schema or the library caught it.
      expect(m).toMatch(/^PW_ERR_INVALID_ARG: [a-z_]/);
      expect(m.length).toBeLessThan(1000);
    });
  }

  it('answers arguments that are not an object like any other bad argument, not with a raw issue list', async () => {
    for (const [id, args, given] of [['null-args', 'null', 'null'], ['array-args', '[1]', 'an array of 1'], ['number-args', '5', '5']] as const) {
      transport.raw(`{"jsonrpc":"2.0","id":"${id}","method":"tools/call","params":{"name":"get_performance_metrics","arguments":${args}}}\n`);
      await expect.poll(() => transport.lines.find((l) => (l as { id?: unknown }).id === id)).toBeTruthy();
      const answer = transport.lines.find((l) => (l as { id?: unknown }).id === id) as { result: { isError: boolean; content: { text: string }[] } };
      expect(answer.result).toEqual({ isError: true, content: [{ type: 'text', text: `PW_ERR_INVALID_ARG: arguments must be an object of named arguments, got ${given}` }] });
    }
  });

  it('answers a value of 1e999 (Infinity after JSON.parse) with a tool error', async () => {
    transport.raw('{"jsonrpc":"2.0","id":"inf","method":"tools/call","params":{"name":"record_performance_metric","arguments":{"metric_type":"a","value":1e999}}}\n');
    await expect.poll(() => transport.lines.find((l) => (l as { id?: unknown }).id === 'inf')).toBeTruthy();
    const answer = transport.lines.find((l) => (l as { id?: unknown }).id === 'inf') as { result: { isError: boolean; content: { text: string }[] } };
    expect(answer.result.isError).toBe(true);
    expect(answer.result.content[0]!.text).toMatch(/value must be a finite number, got Infinity/);
  });

  it('refuses a __proto__ key sent as JSON, which zod leaves out without a word, naming the field', async () => {
    const tagRule = 'is not a valid tag name: it must match [a-zA-Z_][a-zA-Z0-9_]*, not start with __, and be at most 100 characters';
    // JSON.parse makes each an own __proto__ key (the escaped one too); an object literal here would set a prototype instead.
    const lines: [string, string, string][] = [
      ['get_performance_metrics', '{"tags":{"__proto__":{"a":"b"}}}', `tags.__proto__ ${tagRule}`],
      ['get_performance_metrics', '{"tags":{"\\u005f_proto__":"b"}}', `tags.__proto__ ${tagRule}`],
      ['get_performance_metrics', '{"__proto__":{"a":"b"}}', '__proto__ is not a known argument'],
      ['record_performance_metric', '{"metric_type":"a","value":1,"tags":{"__proto__":"b"}}', `tags.__proto__ ${tagRule}`],
      ['record_performance_metric', '{"samples":[{"metric_type":"a","value":1},{"metric_type":"a","value":1,"tags":{"__proto__":{"a":"b"}}}]}', `samples[1].tags.__proto__ ${tagRule}`],
      ['create_performance_alert_rule', '{"metric_type":"a","operator":">","threshold":1,"labels":{"__proto__":"x"}}', 'labels.__proto__ is not a valid label name: __proto__ is not allowed'],
    ];
    for (const [i, [tool, args, message]] of lines.entries()) {
      const id = `proto-${i}`;
      transport.raw(`{"jsonrpc":"2.0","id":"${id}","method":"tools/call","params":{"name":"${tool}","arguments":${args}}}\n`);
      await expect.poll(() => transport.lines.find((l) => (l as { id?: unknown }).id === id)).toBeTruthy();
      const answer = transport.lines.find((l) => (l as { id?: unknown }).id === id) as { result: { isError: boolean; content: { text: string }[] } };
      expect(answer.result, `${tool} ${args}`).toEqual({ isError: true, content: [{ type: 'text', text: `PW_ERR_INVALID_ARG: ${message}` }] });
    }
  });

  it('looks for __proto__ in arguments nested deeper than the call stack goes, and serves on', async () => {
    // 200,000 arrays deep: JSON.parse takes them, a recursive walk would overflow the stack.
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    transport.raw(`{"jsonrpc":"2.0","id":"deep","method":"tools/call","params":{"name":"get_performance_metrics","arguments":{"tags":${deep}}}}\n`);
    await expect.poll(() => transport.lines.find((l) => (l as { id?: unknown }).id === 'deep'), { timeout: 10_000 }).toBeTruthy();
    const answer = transport.lines.find((l) => (l as { id?: unknown }).id === 'deep') as { result: { isError: boolean; content: { text: string }[] } };
    expect(answer.result.isError).toBe(true);
    expect(answer.result.content[0]!.text).toMatch(/^PW_ERR_INVALID_ARG: tags must be an object of tag names to string values/);
  });

  it('answers a garbage line with a parse error and a non-JSON-RPC line with invalid request, and serves on', async () => {
    const before = transport.lines.length;
    transport.raw('this is not json\n');
    transport.raw('{"hello":"world","id":12}\n');
    await expect.poll(() => transport.lines.length).toBeGreaterThanOrEqual(before + 2);
    expect(transport.lines.slice(before, before + 2)).toEqual([
      { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error: the line is not valid JSON' } },
      { jsonrpc: '2.0', id: 12, error: { code: -32600, message: 'Invalid Request: not a JSON-RPC 2.0 request, notification or response: "jsonrpc" is missing: it must be "2.0"' } },
    ]);
    expect(transport.stderr).toMatch(/not JSON; answered with a parse error/);
    await ok(client, 'get_monitoring_status', {}, StatusOutput);
  });

  it('names the field of a line that is no JSON-RPC message', async () => {
    const lines: [string, string][] = [
      ['{"jsonrpc":"1.0","id":"f1","method":"ping"}', '"jsonrpc" must be "2.0", got "1.0"'],
      ['{"jsonrpc":"2.0","id":"f2","method":"ping","params":[]}', '"params" must be an object, got []'],
      ['{"jsonrpc":"2.0","id":"f3","method":7}', '"method" must be a string, got 7'],
    ];
    for (const [line] of lines) transport.raw(`${line}\n`);
    const answer = (id: string) => transport.lines.find((l) => (l as { id?: unknown }).id === id);
    await expect.poll(() => lines.every((_, i) => answer(`f${i + 1}`) !== undefined)).toBe(true);
    for (const [i, [, fault]] of lines.entries()) {
      expect(answer(`f${i + 1}`)).toEqual({ jsonrpc: '2.0', id: `f${i + 1}`, error: { code: -32600, message: `Invalid Request: not a JSON-RPC 2.0 request, notification or response: ${fault}` } });
    }
  });

  it('takes a batch message by message, answering each request with its id, and an element that is no message by its index and field', async () => {
    // A 2025-03-26 client may send one; refused whole with id null, every request of it went unanswered.
    const before = transport.lines.length;
    transport.raw(
      `${JSON.stringify([
        { jsonrpc: '2.0', id: 'b1', method: 'ping' },
        { jsonrpc: '2.0', id: 'b2', method: 'tools/call', params: { name: 'record_performance_metric', arguments: { metric_type: 'batched', value: 3 } } },
        { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 'none', reason: 'a notification in a batch' } },
        { jsonrpc: '2.0', id: 'b3', method: 'ping', params: 5 },
        [],
      ])}\n`,
    );
    transport.raw('[]\n');
    const answer = (id: string) => transport.lines.find((l) => (l as { id?: unknown }).id === id) as Record<string, unknown> | undefined;
    await expect.poll(() => ['b1', 'b2', 'b3'].every((id) => answer(id) !== undefined)).toBe(true);
    expect(answer('b1')).toEqual({ jsonrpc: '2.0', id: 'b1', result: {} });
    expect(answer('b2')).toMatchObject({ id: 'b2', result: { content: [{ type: 'text', text: 'recorded 1 sample of batched' }] } });
    expect(answer('b3')).toEqual({ jsonrpc: '2.0', id: 'b3', error: { code: -32600, message: 'Invalid Request: element 3 of the batch: not a JSON-RPC 2.0 request, notification or response: "params" must be an object, got 5' } });
    await expect.poll(() => transport.lines.slice(before).filter((l) => (l as { id?: unknown }).id === null).length).toBe(2);
    expect(transport.lines.slice(before).filter((l) => (l as { id?: unknown }).id === null)).toEqual([
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: element 4 of the batch: not a JSON-RPC 2.0 request, notification or response: it is an array, not an object' } },
      { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: the batch is empty: a batch holds one message at least' } },
    ]);
    expect(transport.stderr).toMatch(/2 of the 5 messages of a batch on stdin were refused/);
    const batched = await ok(client, 'get_performance_metrics', { metric_types: ['batched'] }, schemas.MetricsOutput);
    expect(batched.metrics).toMatchObject([{ total_count: 1 }]);
  });

  it('lost nothing recorded before the bad input, and recorded none of the refused batches', async () => {
    const before = await ok(client, 'get_performance_metrics', { metric_types: ['before'] }, schemas.MetricsOutput);
    expect(before.metrics).toMatchObject([{ total_count: 100, count: 100, mean: 49.5 }]);
    // The refused batches registered nothing: their name is not even known.
    const a = await call(client, 'get_performance_metrics', { metric_types: ['a'] });
    expect(a.isError).toBe(true);
    expect(text(a)).toMatch(/^PW_ERR_INVALID_ARG: metric_types\[0\] "a" is not a known metric/);
  });
});

describe('alert notifications over stdio', () => {
  it('sends a 2025-era client a log message at the alert\'s severity and resources/updated for perfwatch://alerts', async () => {
    const client = new Client({ name: 'alerts', version: '1.0.0' });
    const logs: { level: string; logger?: string; data: Record<string, unknown> }[] = [];
    const updates: string[] = [];
    client.setNotificationHandler('notifications/message', (n) => void logs.push(n.params as never));
    client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    await client.connect(new ChildTransport(['mcp', '--config', quietConfig()]));
    try {
      await client.subscribeResource({ uri: 'perfwatch://alerts' });
      const created = await ok(client, 'create_performance_alert_rule', { metric_type: 'notify_me', operator: '>=', threshold: 90, severity: 'critical', name: 'hot' }, AlertsCreate);
      await ok(client, 'record_performance_metric', { metric_type: 'notify_me', value: 95 }, schemas.RecordOutput);
      await expect.poll(() => logs.find((l) => l.data.to === 'firing'), { timeout: 10_000 }).toBeTruthy();
      const firing = logs.find((l) => l.data.to === 'firing')!;
      expect(firing).toMatchObject({ level: 'critical', logger: 'perfwatch.alerts', data: { event: 'alert', rule_id: (created.rule as { id: string }).id, rule_name: 'hot', metric_type: 'notify_me', from: 'inactive', value: 95, threshold: 90, severity: 'critical' } });
      expect(firing.data.message).toBe('FIRING critical hot: notify_me = 95 (threshold 90)');
      await expect.poll(() => updates).toContain('perfwatch://alerts');
      // A value back under the threshold resolves it: another message, at notice.
      await ok(client, 'record_performance_metric', { metric_type: 'notify_me', value: 10 }, schemas.RecordOutput);
      await expect.poll(() => logs.find((l) => l.data.to === 'resolved'), { timeout: 10_000 }).toMatchObject({ level: 'notice' });
    } finally {
      await client.close();
    }
  });

  it('sends a 2026-07-28 client resources/updated on its subscriptions/listen stream', async () => {
    const client = new Client({ name: 'alerts-modern', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    const updates: string[] = [];
    client.setNotificationHandler('notifications/resources/updated', (n) => void updates.push(n.params.uri));
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--config', quietConfig()], stderr: 'pipe' }));
    try {
      const sub = await client.listen({ resourceSubscriptions: ['perfwatch://alerts'] });
      expect(sub.honoredFilter).toEqual({ resourceSubscriptions: ['perfwatch://alerts'] });
      await ok(client, 'create_performance_alert_rule', { metric_type: 'notify_modern', operator: '>', threshold: 1, severity: 'warning' }, AlertsCreate);
      expect(updates).toEqual([]);
      await ok(client, 'record_performance_metric', { metric_type: 'notify_modern', value: 2 }, schemas.RecordOutput);
      await expect.poll(() => updates, { timeout: 10_000 }).toContain('perfwatch://alerts');
    } finally {
      await client.close();
    }
  });
});

describe('perfwatch mcp with other clients', () => {
  it('serves the SDK v1 Client (protocol 2025-11-25)', async () => {
    const client = new V1Client({ name: 'v1-client', version: '1.0.0' });
    await client.connect(new V1StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--config', quietConfig()], stderr: 'pipe' }));
    try {
      await checkToolList(client as unknown as AnyClient, TOOLS);
      await coreHappyPath(client as unknown as AnyClient, 'v1_happy');
      expect(await fails(client as unknown as AnyClient, 'record_performance_metric', { metric_type: 'a', value: 'x' })).toMatch(/value must be a finite number/);
    } finally {
      await client.close();
    }
  });

  it('serves a 2026-07-28 client (SDK v2 pinned to the new protocol)', async () => {
    const client = new Client({ name: 'modern', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--config', quietConfig()], stderr: 'pipe' }));
    try {
      expect(client.getProtocolEra()).toBe('modern');
      await checkToolList(client as unknown as AnyClient, TOOLS);
      await coreHappyPath(client as unknown as AnyClient, 'modern_happy');
    } finally {
      await client.close();
    }
  });

  it('exits when the client closes stdin, and writes nothing but protocol messages to stdout', async () => {
    const transport = new ChildTransport(['mcp', '--config', quietConfig()]);
    const client = new Client({ name: 'closer', version: '1.0.0' });
    await client.connect(transport);
    await ok(client, 'get_monitoring_status', {}, StatusOutput);
    const exited = new Promise<number | null>((resolve) => transport.child.once('exit', resolve));
    transport.child.stdin.end();
    expect(await exited).toBe(0);
    for (const line of transport.lines) expect(line).toMatchObject({ jsonrpc: '2.0' });
  });
});

describe('long reports over stdio', () => {
  // One report thread: a task the server did not stop would run before the next one does.
  const transport = new ChildTransport(['mcp', '--config', quietConfig({ reports: { threads: 1 } })]);
  const client = new Client({ name: 'reports', version: '1.0.0' });

  beforeAll(async () => {
    await client.connect(transport);
    // 2,000 series with a few samples each: a report long enough to watch and to cancel.
    const samples = Array.from({ length: 20_000 }, (_, i) => ({ metric_type: 'report_load', value: i % 97, tags: { shard: String(i % 2000) } }));
    await ok(client, 'record_performance_metric', { samples }, schemas.RecordOutput);
  });
  afterAll(async () => {
    await client.close();
  });

  it('sends progress notifications when the client asks for them', async () => {
    const progress: { progress: number; total?: number }[] = [];
    // What came over the wire, in order: the SDK client runs a notification's handler a
    // microtask after reading it, so a last notification read in one chunk with the answer
    // finds its request settled and is dropped ("unknown token"); the server's part is to
    // send every notification, the last at the total, before the answer.
    const wire: { progress?: number; total?: number; answer?: true }[] = [];
    const deliver = transport.onmessage!;
    transport.onmessage = (message) => {
      const m = message as { method?: string; params?: { progress: number; total: number }; result?: unknown };
      if (m.method === 'notifications/progress') wire.push({ progress: m.params!.progress, total: m.params!.total });
      else if (m.result !== undefined && (m.result as { structuredContent?: unknown }).structuredContent !== undefined) wire.push({ answer: true });
      deliver(message);
    };
    let r;
    try {
      r = await client.callTool({ name: 'generate_performance_report', arguments: { limit: 5 } }, { onprogress: (p) => void progress.push(p) });
    } finally {
      transport.onmessage = deliver;
    }
    expect(r.isError, text(r as never)).toBeFalsy();
    expect(progress.length).toBeGreaterThan(1);
    expect(wire.at(-1)).toEqual({ answer: true });
    const sent = wire.slice(0, -1);
    expect(sent.length).toBeGreaterThan(1);
    expect(sent.at(-1)).toMatchObject({ progress: sent.at(-1)!.total });
    for (let i = 1; i < sent.length; i++) expect(sent[i]!.progress).toBeGreaterThan(sent[i - 1]!.progress!);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.progress).toBeGreaterThan(progress[i - 1]!.progress);
    expect((r.structuredContent as { truncated: boolean }).truncated).toBe(true);
  });

  /** Reports the server's pool completed: monitor_report_time gets one sample per completed task. */
  async function reportsCompleted(): Promise<number> {
    // A record makes the next read wait for the rings to drain, the monitor's own readings with them.
    await ok(client, 'record_performance_metric', { metric_type: 'cancel_probe', value: 1 }, schemas.RecordOutput);
    const got = await ok(client, 'get_performance_metrics', { metric_types: ['monitor_report_time'] }, schemas.MetricsOutput);
    return got.metrics.reduce((n, m) => n + m.total_count, 0);
  }

  it('stops a report the client cancels, and serves the next one', async () => {
    const completed = await reportsCompleted();
    expect(completed).toBeGreaterThanOrEqual(1); // the report of the test before
    const controller = new AbortController();
    let seen = 0;
    const pending = client.callTool({ name: 'generate_performance_report', arguments: {} }, {
      signal: controller.signal,
      onprogress: () => {
        if (++seen === 1) controller.abort('no longer needed');
      },
    });
    await expect(pending).rejects.toThrow();
    expect(seen).toBeGreaterThanOrEqual(1);
    const next = await ok(client, 'generate_performance_report', { limit: 1 }, reports.ReportAnswer);
    expect((next.summary as { series: number }).series).toBeGreaterThanOrEqual(2000);
    // The cancelled task never completed: had the server let it run, it would have finished
    // on the one report thread before the next report started, and counted too.
    expect(await reportsCompleted()).toBe(completed + 1);
    expect(transport.stderr).not.toMatch(/a tool failed unexpectedly/);
  });
});
