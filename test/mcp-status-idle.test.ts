/**
 * get_monitoring_status with include_metrics on a service whose tags churn (a request id in a
 * tag: series recorded once, then never again): it is an agent's first look at a service ("Call
 * it first"), and in id order its metrics were the dead series, `n=0` rows, the live ones past
 * the part it shows. It now lists the series with a sample in its window first, as
 * get_performance_metrics does (test/mcp-metrics-idle.test.ts), and says how many had none.
 *
 * Its window is fixed (60 s): the series recorded once are put out of it by stepping the wall
 * clock of `perfwatch mcp` forward two minutes (libfaketime, as test/clock-step.test.ts), not
 * by waiting a minute; a step forward is time passing for the monitor (engine/monitor-clock.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { afterEach, expect, it } from 'vitest';
import { StatusOutput } from '../dist/src/mcp/status-answer.js';
import { ChildTransport, ok, quietConfig, text, call, type AnyClient } from './mcp-helpers.js';
import { describeWithPeer } from './peers/use.js';

const ONCE = 300;
const LIVE = 5;

type Row = { name: string; tags: Record<string, string>; count: number };

let dir: string | undefined;
let client: Client | undefined;

afterEach(async () => {
  await client?.close();
  client = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describeWithPeer('libfaketime', 'get_monitoring_status on a churned service: the series with a sample in its window first', (peer) => {
  it('lists the live series before those recorded once two minutes ago, and says how many had none and where they are', async () => {
    dir = mkdtempSync(join(tmpdir(), 'perfwatch-status-idle-'));
    const stepFile = join(dir, 'faketime');
    writeFileSync(stepFile, '+0s\n');
    const env = { ...process.env, LD_PRELOAD: peer.binary, FAKETIME_TIMESTAMP_FILE: stepFile, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' };
    client = new Client({ name: 'status-idle', version: '1.0.0' });
    await client.connect(new ChildTransport(['mcp', '--config', quietConfig({ runtime: { enabled: false } })], [], env));
    const c = client as unknown as AnyClient;
    const once = Array.from({ length: ONCE }, (_, i) => ({ metric_type: 'response_time', value: 5, tags: { request_id: `r${i}` } }));
    expect((await call(c, 'record_performance_metric', { samples: once })).isError).toBeFalsy();
    // Read back before the step: they are the first series of the monitor's in id order.
    const before = await ok(c, 'get_monitoring_status', { include_metrics: true }, StatusOutput);
    expect((before.metrics as Row[]).filter((m) => m.name === 'response_time').length).toBeGreaterThan(0);

    writeFileSync(stepFile, '+120s\n');
    const live = Array.from({ length: LIVE }, (_, i) => ({ metric_type: 'steady_ms', value: 10 + i, tags: { route: `/live${i}` } }));
    expect((await call(c, 'record_performance_metric', { samples: live })).isError).toBeFalsy();

    const r = await call(c, 'get_monitoring_status', { include_metrics: true });
    expect(r.isError, text(r)).toBeFalsy();
    StatusOutput.parse(r.structuredContent);
    const s = r.structuredContent as { metrics: Row[]; metrics_total: number; metrics_truncated: boolean };
    const rows = s.metrics;
    // The part shown is cut (8 KB): the live series are in it, before every series with no sample.
    expect(s.metrics_truncated).toBe(true);
    expect(rows.filter((m) => m.name === 'steady_ms').map((m) => [m.tags.route, m.count])).toEqual(Array.from({ length: LIVE }, (_, i) => [`/live${i}`, 1]));
    const firstIdle = rows.findIndex((m) => m.count === 0);
    expect(firstIdle).toBeGreaterThan(0);
    expect(rows.slice(firstIdle).every((m) => m.count === 0)).toBe(true);
    // Then the idle ones by id: the first of those recorded once.
    expect(rows.slice(firstIdle).map((m) => m.tags.request_id)).toEqual(rows.slice(firstIdle).map((_, i) => `r${i}`));
    const sampled = s.metrics_total - ONCE;
    expect(firstIdle).toBe(sampled);
    expect(text(r)).toMatch(new RegExp(`^${s.metrics_total} series, last 60s; ${ONCE} had no sample in it, listed after the ${sampled} that did \\(from offset ${sampled}\\) \\(showing ${rows.length}: `, 'm'));

    // The status resource is the same answer.
    const resource = await c.readResource({ uri: 'perfwatch://status' });
    const res = JSON.parse(resource.contents[0]!.text!) as { metrics: Row[] };
    expect(res.metrics.slice(0, sampled).filter((m) => m.name === 'steady_ms')).toHaveLength(LIVE);
    expect(res.metrics.slice(0, sampled).every((m) => m.count > 0)).toBe(true);
  }, 60_000);
});
