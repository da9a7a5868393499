/**
 * Long work over MCP answers at once: an optimisation run returns its id and plan and goes
 * on in the monitor, is read and cancelled by id; every other tool call is held to a deadline.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { PerformanceMonitor } from '../dist/src/index.js';
import { MonitorHost } from '../dist/src/mcp/host.js';
import { McpFront } from '../dist/src/mcp/server.js';
import { OptimizeAnswer } from '../dist/src/mcp/tools/optimize-performance.js';
import { TOOL_DEADLINE_MS } from '../dist/src/mcp/tools/define.js';
import { call, ok, text } from './mcp-helpers.js';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A running monitor with the service's cache knob, half of its lookups hitting, and a client on it. */
async function setup(frontOptions: { toolDeadlineMs?: number } = {}) {
  const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } });
  await m.start();
  closers.push(() => m.stop());
  const knob = { value: 50 };
  m.registerTunable({ name: 'cache.size', type: 'cache', get: () => knob.value, set: (v) => void (knob.value = v), min: 10, max: 90, step: 10, target: 'cache_hit_rate' });
  for (let i = 0; i < 20; i++) m.record('cache_hit_rate', i < 10 ? 1 : 0);
  await m.flush();
  const server = new McpFront(new MonitorHost(m, false), frontOptions).createServer('legacy');
  const client = new Client({ name: 'runs-test', version: '1.0.0' });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  await client.connect(b);
  closers.push(async () => {
    await client.close();
    await server.close();
  });
  return { m, knob, client };
}

describe('optimize_performance runs', () => {
  it('answers auto_apply at once with the run id and plan; the run is read and cancelled by id', async () => {
    const { knob, client } = await setup();
    // A verification window of an hour: before runs, this call held its request for the hour.
    const started = await ok(client, 'optimize_performance', { optimization_type: 'cache', auto_apply: true, verification_window: 3600 }, OptimizeAnswer);
    expect(started).toMatchObject({ run_id: 1, state: 'running', dry_run: false, auto_apply: true, verification_window: 3600, finished_at: null });
    expect(started.plan).toMatchObject([{ knob: 'cache.size', from: 50, to: 60, target: 'cache_hit_rate', goal: 'increase', baseline: 0.5 }]);
    expect(started.next).toMatch(/read it with optimize_performance \{ run_id: 1 \}; stop it with \{ run_id: 1, cancel: true \}/);
    expect(knob.value).toBe(60);

    const progress = await call(client, 'optimize_performance', { run_id: 1 });
    expect(progress.structuredContent).toMatchObject({ run_id: 1, state: 'running', current: { knob: 'cache.size', from: 50, to: 60, target: 'cache_hit_rate', verify_until: expect.any(String) }, applied: [] });
    expect(text(progress)).toMatch(/^optimisation run 1, auto_apply run for cache: running, verifying cache\.size 50 → 60 on cache_hit_rate until 20\d\d-/);
    expect((progress.structuredContent!.log as { kind: string }[]).map((e) => e.kind)).toEqual(['plan', 'change']);

    // One run applies at a time; the refusal says which, and how to read or stop it.
    const busy = await call(client, 'optimize_performance', { optimization_type: 'all', auto_apply: true });
    expect(text(busy)).toBe('PW_ERR_BUSY: optimisation run 1 is applying changes (one run at a time): read it with optimize_performance { run_id: 1 }, or stop it with { run_id: 1, cancel: true }');

    const cancelled = await call(client, 'optimize_performance', { run_id: 1, cancel: true });
    expect(cancelled.structuredContent).toMatchObject({ state: 'cancelled', current: null, finished_at: expect.any(String) });
    expect((cancelled.structuredContent!.applied as unknown[])[0]).toMatchObject({ knob: 'cache.size', from: 50, to: 60, outcome: 'rolled-back', target: 'cache_hit_rate', before: 0.5, after: null });
    expect(knob.value).toBe(50);
    // The rollback says what the target read before and after, and why.
    expect(text(cancelled)).toMatch(/^applied: cache\.size 50 → 60: rolled back to 50; cache_hit_rate 0\.5 before, not measured after: cancelled after [\d.]+ s of the 3600 s verification window, before cache_hit_rate could be judged$/m);
    expect((cancelled.structuredContent!.log as { kind: string }[]).map((e) => e.kind)).toEqual(['plan', 'change', 'rollback']);
    expect((await call(client, 'optimize_performance', { run_id: 1 })).structuredContent).toMatchObject({ state: 'cancelled' });
    // A cancel of a run that has ended says it cancelled nothing, not the run's state alone.
    const again = await call(client, 'optimize_performance', { run_id: 1, cancel: true });
    expect(text(again)).toMatch(/^nothing to cancel: run 1 had already ended \(cancelled\)\n/);
    expect(again.structuredContent).toMatchObject({ state: 'cancelled' });
    expect(text(cancelled)).not.toMatch(/nothing to cancel/);
  });

  it('says that knobs come from the service\'s code, and lists those registered', async () => {
    const { client } = await setup();
    const none = await ok(client, 'optimize_performance', { optimization_type: 'database' }, OptimizeAnswer);
    expect(none).toMatchObject({ state: 'done', dry_run: true, plan: [] });
    expect(none.knobs).toEqual([
      { name: 'perfwatch.report_threads', type: 'concurrency', target: 'monitor_report_time' },
      { name: 'cache.size', type: 'cache', target: 'cache_hit_rate' },
    ]);
    expect((none.notes as string[]).at(-1)).toBe(
      "No tunable of type database is registered. Knobs are registered by the service's code, not by a caller of optimize: monitor.registerTunable({ name, type: 'database', get, set, min, max, step, target }). Registered now: perfwatch.report_threads (concurrency), cache.size (cache).",
    );
    const t = text(await call(client, 'optimize_performance', { optimization_type: 'database' }));
    expect(t).toMatch(/^knobs: perfwatch\.report_threads \(concurrency, target monitor_report_time\), cache\.size \(cache, target cache_hit_rate\)$/m);
    expect(t).not.toMatch(/call registerTunable/);
    expect(await call(client, 'optimize_performance', { run_id: 99 })).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/^PW_ERR_INVALID_ARG: run_id 99 is not a run of this monitor/) }] });
    expect(text(await call(client, 'optimize_performance', { run_id: 1, optimization_type: 'cache' }))).toBe('PW_ERR_INVALID_ARG: optimization_type must not be given with run_id: run_id reads (or cancels) a run started before');
  });

  it('answers within 8 KB with many knobs: its plan paged by offset and limit, truncated said with the next offset, and a type without knobs names a few', async () => {
    // A trial's service with a cache knob per tenant: a plan of 12 answered 12.9 KB, of 120 99 KB,
    // and "no tunable of type memory" 24.7 KB, listing every knob twice.
    const { m, client } = await setup();
    for (let i = 0; i < 60; i++) m.registerTunable({ name: `cache.tenant-${i}.size`, type: 'cache', get: () => 1000, set: () => {}, min: 100, max: 100_000, step: 1000, target: 'cache_hit_rate' });
    const bytes = (r: unknown): number => Buffer.byteLength(JSON.stringify(r));
    const first = await call(client, 'optimize_performance', { optimization_type: 'cache' });
    expect(bytes(first)).toBeLessThanOrEqual(8 * 1024);
    const page = await ok(client, 'optimize_performance', { run_id: 1 }, OptimizeAnswer);
    const n = page.plan.length;
    expect(n).toBeGreaterThan(1);
    expect(page).toMatchObject({ truncated: true, next_offset: n });
    expect(text(first)).toMatch(new RegExp(`^page: ${n} of 61 plan steps: pass offset ${n} for the next page \\(limit: up to 1000 a page\\)$`, 'm'));
    const next = await ok(client, 'optimize_performance', { run_id: 1, offset: n }, OptimizeAnswer);
    expect(next.plan[0]!.knob).toBe(`cache.tenant-${n - 1}.size`);
    const whole = await ok(client, 'optimize_performance', { run_id: 1, limit: 1000 }, OptimizeAnswer);
    expect(whole.plan.map((s) => s.knob)).toEqual(['cache.size', ...Array.from({ length: 60 }, (_, i) => `cache.tenant-${i}.size`)]);
    expect(whole.truncated).toBe(false);
    expect(whole.next_offset).toBeUndefined();
    const none = await call(client, 'optimize_performance', { optimization_type: 'memory' });
    expect(bytes(none)).toBeLessThanOrEqual(8 * 1024);
    expect(text(none)).toMatch(/Registered now: perfwatch\.report_threads \(concurrency\), cache\.size \(cache\), cache\.tenant-0\.size \(cache\), cache\.tenant-1\.size \(cache\), cache\.tenant-2\.size \(cache\) and 57 more \(1 of type concurrency, 61 of type cache in all\)\.$/m);
    // The knobs are not what it asked for: the five its note names.
    expect(text(none)).toMatch(/^knobs: perfwatch\.report_threads \(concurrency, target monitor_report_time\), cache\.size \(cache, target cache_hit_rate\), cache\.tenant-0\.size .*cache\.tenant-2\.size \(cache, target cache_hit_rate\); 57 more \(pass limit, up to 1000, for more\)$/m);
  });
});

describe('tool deadline', () => {
  it('is under the 30 s a client waits', () => {
    expect(TOOL_DEADLINE_MS).toBeLessThanOrEqual(30_000);
  });

  it('stops a report that outlives it and says what to ask for instead', async () => {
    // A deadline shorter than any report (the pool's thread alone takes longer to start).
    const { client } = await setup({ toolDeadlineMs: 1 });
    const r = await call(client, 'generate_performance_report', {});
    expect(r).toMatchObject({ isError: true, content: [{ text: 'PW_ERR_TIMEOUT: generate_performance_report did not finish within 0.001 s and was stopped: ask for a shorter time_range' }] });
  });
});
