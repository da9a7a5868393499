/**
 * get_metric_history's range checks, one way whether the range is given by time_range or by
 * start and end: a start after now is refused with an end or without; a range reaching back
 * past the history the monitor holds is read from the oldest time held, and the answer names
 * that limit for the monitor's storage. A future start with an end was an empty answer,
 * time_range 31d was refused as past "the retention period" (30 days, whatever the storage)
 * while start 2000 to end 2030 was taken without a word.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HistoryOutput } from '../dist/src/mcp/tools/get-metric-history.js';
import { monitorStarter } from './helpers.js';
import { call, connectInMemory, fails, ok, text, type AnyClient } from './mcp-helpers.js';

const started = monitorStarter();

describe("get_metric_history's range", () => {
  it('refuses a start after now, with an end or without', async () => {
    const monitor = await started();
    monitor.record('lat', 5);
    const client = (await connectInMemory(monitor, 'range')) as unknown as AnyClient;
    for (const args of [{ start: '2030-01-01T00:00:00Z' }, { start: '2030-01-01T00:00:00Z', end: '2030-01-02T00:00:00Z' }]) {
      expect(await fails(client, 'get_metric_history', { metric_type: 'lat', ...args })).toMatch(/^PW_ERR_INVALID_ARG: start \(2030-01-01T00:00:00Z\) must not be after now \(.*\): nothing is recorded there yet$/);
    }
  });

  it('reads a range longer than the history held from its oldest time, by time_range or start alike, naming the limit of the storage', async () => {
    const monitor = await started({ rollupCapacity: 120 });
    monitor.record('lat', 5);
    await monitor.flush();
    const client = (await connectInMemory(monitor, 'range')) as unknown as AnyClient;
    const note = /\nthe range asked starts before the oldest history this monitor holds \(2h: storage 'memory', rollupCapacity 120 rollups of 1m\): read from (\S+)$/;
    const froms: number[] = [];
    for (const args of [{ time_range: '31d' }, { time_range: '3h' }, { start: '2000-01-01T00:00:00Z', end: '2030-01-01T00:00:00Z' }, { start: '2000-01-01T00:00:00Z' }]) {
      const r = await ok(client, 'get_metric_history', { metric_type: 'lat', ...args }, HistoryOutput);
      const said = text(await call(client, 'get_metric_history', { metric_type: 'lat', ...args }));
      expect(said, JSON.stringify(args)).toMatch(note);
      expect(r.series[0]?.value).toEqual([5]);
      froms.push(Date.parse(r.from!));
    }
    const now = monitor.now();
    for (const from of froms) expect(Math.abs(from - (now - 2 * 3_600_000))).toBeLessThan(10_000);
    // Within what is held: no note.
    expect(text(await call(client, 'get_metric_history', { metric_type: 'lat', time_range: '2h' }))).not.toContain('oldest history');
    // Wholly before it: nothing, and said why.
    expect(text(await call(client, 'get_metric_history', { metric_type: 'lat', start: '2000-01-01T00:00:00Z', end: '2001-01-01T00:00:00Z' }))).toMatch(/\(2h: storage 'memory', rollupCapacity 120 rollups of 1m\): it ends before that too, so nothing is read$/);
  });

  it("names retentionMs as the limit of storage 'sqlite'", async () => {
    const monitor = await started({ storage: 'sqlite', dataDir: mkdtempSync(join(tmpdir(), 'perfwatch-range-')), retentionMs: 7 * 86_400_000 });
    monitor.record('lat', 5);
    await monitor.flush();
    const client = (await connectInMemory(monitor, 'range')) as unknown as AnyClient;
    expect(text(await call(client, 'get_metric_history', { metric_type: 'lat', time_range: '31d' }))).toMatch(/\(7d: storage 'sqlite', retentionMs\): read from /);
    expect(text(await call(client, 'get_metric_history', { metric_type: 'lat', time_range: '7d' }))).not.toContain('oldest history');
  });
});
