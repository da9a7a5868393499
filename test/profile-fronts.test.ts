/**
 * Profiles through the fronts: the capture_performance_profile tool (bounded answers, a
 * capture longer than the deadline read back by id, one at a time, bad arguments named),
 * the MCP log message of an alert's capture, and `perfwatch profile --url` against a real
 * service with a hot function.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { PerformanceMonitor } from '../dist/src/index.js';
import { MonitorHost } from '../dist/src/mcp/host.js';
import { McpFront } from '../dist/src/mcp/server.js';
import { captureAnswer } from '../dist/src/mcp/tools/capture-performance-profile.js';
import { CLI } from './mcp-helpers.js';
import { FIXTURE, lineOf, startHotService, type HotService } from './profile-helpers.js';
import { waitFor } from './helpers.js';

const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, [CLI, ...args], { timeout: 60_000 });
const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

type Result = { isError?: boolean; content: { text: string }[]; structuredContent: Record<string, unknown> };

/** A monitor behind an in-memory MCP client, with a tool deadline of `deadlineMs`. */
async function connected(deadlineMs: number): Promise<{ monitor: PerformanceMonitor; client: Client; logs: Record<string, unknown>[]; call: (args: Record<string, unknown>) => Promise<Result> }> {
  const dir = await mkdtemp(join(tmpdir(), 'pw-profile-mcp-'));
  dirs.push(dir);
  const monitor = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, profiling: { dir } });
  const server = new McpFront(new MonitorHost(monitor, false), { toolDeadlineMs: deadlineMs, alertGroupWaitMs: 50 }).createServer('legacy');
  const client = new Client({ name: 'profile', version: '1.0.0' });
  const logs: Record<string, unknown>[] = [];
  client.setNotificationHandler('notifications/message', (n) => void logs.push((n.params as { data: Record<string, unknown> }).data));
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  await client.connect(b);
  await monitor.start();
  cleanups.push(async () => {
    await client.close();
    await monitor.close();
  });
  const call = async (args: Record<string, unknown>) => (await client.callTool({ name: 'capture_performance_profile', arguments: args })) as Result;
  return { monitor, client, logs, call };
}

describe('capture_performance_profile', () => {
  it('answers the summary cut to top, says how to get more, and names the file', async () => {
    const { call } = await connected(25_000);
    // Work in two functions of this thread, so that the summary has more than one to cut.
    const parse = (): number => JSON.parse(JSON.stringify({ a: Array.from({ length: 2000 }, (_, i) => i) })).a.length;
    const sum = (): number => Array.from({ length: 20000 }, (_, i) => i).reduce((a, b) => a + Math.sqrt(b), 0);
    const busy = setInterval(() => parse() + sum(), 5);
    const r = await call({ seconds: 1, top: 1 }).finally(() => clearInterval(busy));
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ id: 1, state: 'done', file: expect.stringMatching(/perfwatch-.*-1\.cpuprofile$/) });
    const summary = r.structuredContent.summary as { topSelf: unknown[]; topTotal: unknown[]; stacks: unknown[]; samples: number };
    expect(summary.topSelf).toHaveLength(1);
    expect(summary.topTotal).toHaveLength(1);
    expect(summary.stacks.length).toBeLessThanOrEqual(1);
    const text = r.content[0]!.text;
    expect(text).toMatch(/^cpu profile 1 of the main thread, 1(\.\d)? s from /);
    // One count when the two lists are as long, else each list's.
    expect(text).toMatch(/^(1 of \d+|(all \d+|1 of \d+) by self time, (all \d+|1 of \d+) by total time) shown: pass top \(up to \d+\) for more\.$/m);
    expect(text).toContain(`Full profile (open in Chrome DevTools): ${r.structuredContent.file as string}`);
  }, 20_000);

  it('cuts the lists to what fits 8 KB when top is not given, and says how to get more', () => {
    // A summary as a service with long paths gives: 20 functions a list, 5 stacks of 8 frames.
    const fn = (i: number) => ({ function: `renderTheNestedPlayerStatisticsTable${i}`, file: `packages/game-server/src/rendering/statistics/tables/nested-${i}.js`, line: 100 + i, column: 3, selfShare: 0.04, totalShare: 0.5, selfMs: 400, totalMs: 5000 });
    const functions = Array.from({ length: 20 }, (_, i) => fn(i));
    const summary = { kind: 'cpu' as const, samples: 10_000, idle: 0.1, gc: 0.02, program: 0.03, js: 0.85, topSelf: functions, topTotal: functions, stacks: Array.from({ length: 5 }, () => ({ share: 0.04, ms: 400, frames: functions.slice(0, 8).map((f) => `${f.function} (${f.file}:${f.line})`) })) };
    const capture = { id: 7, kind: 'cpu' as const, startedAt: 0, endedAt: 10_000, seconds: 10, headline: 'h', summary, file: '/tmp/x.cpuprofile', fileBytes: 1, fileError: null, alert: null, mainThreadMs: 1 };
    const size = (a: { structured: unknown; text: string }): number => Buffer.byteLength(JSON.stringify(a.structured)) + Buffer.byteLength(a.text);
    expect(size(captureAnswer(capture, 10))).toBeGreaterThan(8 * 1024);
    const fitted = captureAnswer(capture, undefined);
    expect(size(fitted)).toBeLessThanOrEqual(8 * 1024);
    const shown = (fitted.structured.summary as { topSelf: unknown[] }).topSelf.length;
    expect(shown).toBeGreaterThan(1);
    expect(fitted.text).toContain(`${shown} of 20 shown: pass top (up to 20) for more.`);
    // Asked for, top is given whole.
    expect((captureAnswer(capture, 20).structured.summary as { topSelf: unknown[] }).topSelf).toHaveLength(20);
    // Lists of other lengths are counted each: 8 functions with self time said "10 of 20 shown".
    const fewer = { ...capture, summary: { ...summary, topSelf: functions.slice(0, 8) } };
    expect(captureAnswer(fewer, 10).text).toContain('all 8 by self time, 10 of 20 by total time shown: pass top (up to 20) for more.');
  });

  it('answers a capture longer than its deadline at once with its id, then by id once it ends; one at a time', async () => {
    // A 7 s deadline leaves 2 s to wait in: a 3 s capture answers at once.
    const { call, client, monitor } = await connected(7_000);
    const first = await call({ seconds: 3, kind: 'heap' });
    expect(first.structuredContent).toMatchObject({ id: 1, state: 'running', ends_at: expect.any(String) });
    expect(first.content[0]!.text).toMatch(/^capture 1 runs until .*: call this tool again with \{ id: 1 \} from then on for its summary$/);
    const busy = await call({ seconds: 1 });
    expect(busy.isError).toBe(true);
    expect(busy.content[0]!.text).toMatch(/^PW_ERR_BUSY: profile capture 1 \(heap\) is running until /);
    // Asked by id, it waits for the capture once its end is within the deadline.
    const done = await waitFor(async () => {
      const r = await call({ id: 1 });
      return r.structuredContent?.state === 'done' && r;
    }, 15_000, 'capture 1 done');
    expect(done.isError, done.content[0]?.text).toBeFalsy();
    expect(done.structuredContent).toMatchObject({ id: 1, state: 'done', file: expect.stringMatching(/\.heapprofile$/) });
    expect(done.content[0]!.text).toMatch(/^heap profile 1 of the main thread/);
    // A kind given with an id must be that capture's: a cpu asked of a heap capture is refused.
    const other = await call({ id: 1, kind: 'cpu' });
    expect(other.isError).toBe(true);
    expect(other.content[0]!.text).toBe('PW_ERR_INVALID_ARG: kind is not capture 1\'s, a heap capture: leave kind out to read it, got "cpu"');
    expect((await call({ id: 1, kind: 'heap' })).structuredContent).toMatchObject({ id: 1, state: 'done' });
    // Nor a length: it would change nothing (it was ignored until 2026-12-05).
    const longer = await call({ id: 1, seconds: 3 });
    expect(longer.isError).toBe(true);
    expect(longer.content[0]!.text).toBe('PW_ERR_INVALID_ARG: seconds is a new capture\'s length: with id, capture 1 is read as it was taken; leave seconds out to read it, got 3');

    // The status says what was taken and refused, and what the directory holds against its bounds.
    const profiling = monitor.status().profiling;
    expect(profiling).toMatchObject({ busy: null, captures: 1, refused: { busy: 1, rateLimited: 0 }, failed: 0, lastError: null });
    const bytes = (await stat(done.structuredContent.file as string)).size;
    expect(profiling.files).toMatchObject({ count: 1, bytes, maxFiles: 20, maxBytes: 256 * 1024 * 1024, lastError: null });
    const status = await client.callTool({ name: 'get_monitoring_status', arguments: {} }) as Result;
    const line = status.content[0]!.text.split('\n').find((l) => l.startsWith('profiling: '));
    expect(line).toMatch(/^profiling: 1 captures, refused 1 \(one at a time\) and 0 \(rule rate limit\), failed 0; files 1\/20, [\d.]+ MiB of 256 MiB in /);
    expect(line!.endsWith(` in ${profiling.dir}`)).toBe(true);
    expect(Number(/files 1\/20, ([\d.]+) MiB/.exec(line!)![1])).toBeCloseTo(bytes / 1048576, 3);
  }, 20_000);

  it('ends a capture its client cancels, so that the next starts at once; the cancelled one is kept', async () => {
    const { client, call, monitor } = await connected(25_000);
    const controller = new AbortController();
    const pending = client.callTool({ name: 'capture_performance_profile', arguments: { seconds: 20 } }, { signal: controller.signal });
    await waitFor(() => monitor.profilingStatus().busy !== null, 10_000, 'the capture running');
    controller.abort('no longer needed');
    await expect(pending).rejects.toThrow();
    // Left running, it held the one capture there is for its 20 s: every capture asked for
    // meanwhile was PW_ERR_BUSY, and its client had gone.
    await waitFor(() => monitor.profilingStatus().busy === null, 10_000, 'the cancelled capture ended');
    const next = await call({ seconds: 1 });
    expect(next.isError, next.content[0]?.text).toBeFalsy();
    expect(next.structuredContent).toMatchObject({ id: 2, state: 'done' });
    // What it sampled until the cancel is kept, as a capture that stop() ends early is.
    const cancelled = monitor.getProfile(1);
    expect(cancelled).toMatchObject({ id: 1, kind: 'cpu' });
    expect((cancelled as { seconds: number }).seconds).toBeLessThan(20);
  }, 40_000);

  it('refuses bad arguments naming the field and the limit', async () => {
    const { call } = await connected(25_000);
    const cases: [Record<string, unknown>, string][] = [
      [{ seconds: 500 }, 'PW_ERR_INVALID_ARG: seconds must be a number of seconds from 1 to 120, got 500'],
      [{ seconds: 0.5 }, 'PW_ERR_INVALID_ARG: seconds must be a number of seconds from 1 to 120, got 0.5'],
      [{ kind: 'gpu' }, 'PW_ERR_INVALID_ARG: kind must be one of cpu, heap, got "gpu"'],
      [{ top: 0 }, 'PW_ERR_INVALID_ARG: top must be an integer from 1 to 100, got 0'],
      [{ id: 99 }, 'PW_ERR_INVALID_ARG: id is not a capture kept: the last 20 are (profiling.keep), got 99'],
    ];
    for (const [args, message] of cases) {
      const r = await call(args);
      expect(r.isError, JSON.stringify(args)).toBe(true);
      expect(r.content[0]!.text).toBe(message);
    }
  });

  it("logs an alert's capture to the client, and creates rules with capture through the rule tool", async () => {
    const { monitor, client, logs } = await connected(25_000);
    const created = (await client.callTool({ name: 'create_performance_alert_rule', arguments: { metric_type: 'stats_ms', operator: '>', threshold: 10, severity: 'critical', capture: 'cpu', capture_seconds: 1 } })) as Result;
    expect(created.structuredContent.rule).toMatchObject({ capture: 'cpu 1s' });
    const bad = (await client.callTool({ name: 'create_performance_alert_rule', arguments: { metric_type: 'stats_ms', operator: '>', threshold: 10, severity: 'critical', capture: 'cpu', capture_seconds: 1000 } })) as Result;
    expect(bad.content[0]!.text).toBe('PW_ERR_INVALID_ARG: capture_seconds must be a number of seconds from 1 to 120, got 1000');
    monitor.record('stats_ms', 50);
    await monitor.flush();
    const log = await waitFor(() => logs.find((l) => l.event === 'alert-profile'), 15_000, 'the profile log message');
    // This test's process mostly waits while it captures: then the headline says so first.
    expect(log.message).toMatch(/^PROFILE stats_ms > 10: (\d+(\.\d+)?% of samples in|the main thread was idle in \d+(\.\d+)?% of samples) .* \(.*\.cpuprofile\)$|^PROFILE stats_ms > 10: no JavaScript on the stack/);
    expect(log).toMatchObject({ to: 'firing', profile: { id: 1, file: expect.stringMatching(/\.cpuprofile$/) } });
    // The alerts' text names what the capture found, on the firing alert and its history
    // entry: a model that reads the text alone saw the firing without its culprit.
    const headline = (log.profile as { headline: string }).headline;
    const alerts = (await client.callTool({ name: 'get_performance_alerts', arguments: { include_history: true } })) as Result;
    const said = `; profile 1 (capture_performance_profile { id: 1 }): ${headline}`;
    expect(alerts.content[0]!.text.split('\n').filter((l) => l.endsWith(said))).toEqual([expect.stringMatching(/^CRITICAL stats_ms > 10: stats_ms = 50 \(threshold 10\), firing since /), expect.stringMatching(/^ {2}\S+ stats_ms > 10 stats_ms: inactive → firing at 50; /)]);
  }, 20_000);
});

describe('perfwatch profile', () => {
  const services: HotService[] = [];
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
  });

  it('prints the summary of a running service, the hot function first', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pw-profile-cli-'));
    dirs.push(dir);
    const s = await startHotService({ profiling: { dir } });
    services.push(s);
    const stop = s.load('/hot?ms=20');
    const { stdout } = await cli('profile', '--url', s.mcpUrl, '--seconds', '2', '--top', '3');
    await stop();
    // The run deleted its session on its way out, rather than leave it idle in a place
    // (maxSessions) until it expired or made room for another.
    expect(await s.call('sessions')).toMatchObject({ count: 0, evicted: 0 });
    const hot = `renderPlayerStats at ${FIXTURE}:${lineOf('renderPlayerStats')}`;
    expect(stdout).toMatch(new RegExp(`^cpu profile 1 of the main thread, .*: \\d+(\\.\\d+)?% of samples in ${hot.replace(/[.]/g, '\\.')} \\(self\\)`));
    expect(stdout).toMatch(/^Top functions by self time:\n {2}\d+(\.\d+)?% \(\d+(\.\d)? ms\) renderPlayerStats at /m);
    expect(stdout).toMatch(/^Full profile \(open in Chrome DevTools\): .*\.cpuprofile$/m);
    // How to see more, in the CLI's own words ("3 of 18 by self time, 3 of 20 by total time
    // shown" when the two lists are of different lengths, as V8's samples made them in a CI run).
    expect(stdout).toMatch(/^3 of \d+ (by self time, 3 of \d+ by total time )?shown: pass --top \d+ for more\.$/m);
  }, 30_000);

  it('says at once that the service went away during the capture, rather than wait out its --timeout', async () => {
    // Until 2026-12-05 a service killed 2 s into a capture of 10 held the run 42 s, which then
    // said the server "did not answer within 40 s", as if it had been silent.
    const dir = await mkdtemp(join(tmpdir(), 'pw-profile-cli-'));
    dirs.push(dir);
    const s = await startHotService({ profiling: { dir } });
    services.push(s);
    const running = cli('profile', '--url', s.mcpUrl, '--seconds', '30', '--timeout', '60');
    running.catch(() => {});
    await waitFor(async () => ((await s.call<{ profiling: { busy: unknown } }>('status')).profiling.busy !== null) || undefined, 20_000, 'the capture to start');
    await s.kill();
    const killedAt = Date.now();
    const failed = await running.then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failed).toMatchObject({ code: 2, stderr: expect.stringMatching(/\nperfwatch: the server at http:\/\/127\.0\.0\.1:\d+\/mcp went away during the run \(connect ECONNREFUSED 127\.0\.0\.1:\d+\): was the service stopped or restarted\?\n$/) });
    // Said once a reconnection is refused (about 1 s after the kill), not at the next call
    // after the wait between two (15 s), nor after the capture's 30 s and --timeout's 60.
    expect(Date.now() - killedAt).toBeLessThan(12_000);
  }, 60_000);

  it('refuses bad options naming the option and its limit', async () => {
    await expect(cli('profile', '--url', 'http://127.0.0.1:1/mcp', '--seconds', '500')).rejects.toMatchObject({ code: 2, stderr: 'perfwatch: --seconds must be an integer number of seconds from 1 to 120, got "500"\n' });
    await expect(cli('profile', '--url', 'http://127.0.0.1:1/mcp', '--kind', 'gpu')).rejects.toMatchObject({ code: 2, stderr: 'perfwatch: --kind must be one of cpu, heap, got gpu\n' });
    await expect(cli('profile', '--seconds', '5')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/^perfwatch: --url is required/) });
    await expect(cli('profile', '--url', 'http://127.0.0.1:1/mcp')).rejects.toMatchObject({ code: 2, stderr: expect.stringMatching(/cannot reach an MCP endpoint/) });
  });
});
