/**
 * The rules a start restores from the database are held to the limits a creation is: one this
 * monitor cannot judge (an anomaly window that leaves the bucket ring no baseline, stored
 * before that was refused, or under a larger bucketCapacity than this start's) is kept as
 * stored but reported as a fault naming it and why; restored without a word, it never fired.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type MonitorOptions } from '../dist/src/index.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('alert rules restored from the database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-rules-stored-'));
  dirs.push(dir);
  const options: MonitorOptions = { storage: 'sqlite', dataDir: dir, system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false } };
  const ids: Record<string, string> = {};

  async function restored(extra: MonitorOptions): Promise<{ rules: string[]; fault: { count: number; lastMessage: string } | undefined }> {
    const m = new PerformanceMonitor({ ...options, ...extra });
    await m.start();
    try {
      const fault = m.status().faults.byKind['alert-rules-stored'];
      return { rules: m.listAlertRules().map((r) => r.id).sort(), fault: fault && { count: fault.count, lastMessage: fault.lastMessage } };
    } finally {
      await m.stop();
    }
  }

  it('says nothing of the rules this monitor judges as they were created', async () => {
    const m = new PerformanceMonitor(options);
    await m.start();
    ids.threshold = (await m.createAlertRule({ name: 'slow', metric: 'lat_ms', aggregation: 'p99', window: 60, operator: '>', threshold: 100, tags: { route: '/a' }, labels: { team: 'pay' } })).id;
    ids.anomaly = (await m.createAlertRule({ name: 'odd latency', metric: 'lat_ms', aggregation: 'anomaly', window: 240, operator: '>', threshold: 4 })).id;
    ids.capture = (await m.createAlertRule({ name: 'hot loop', metric: 'event_loop_lag', operator: '>', threshold: 200, capture: 'cpu' })).id;
    await m.stop();
    const again = await restored({});
    expect(again.rules).toEqual(Object.values(ids).sort());
    expect(again.fault).toBeUndefined();
  });

  it('reports a rule it cannot judge under this start\'s options, naming it and the limit, and keeps it', async () => {
    // 120 buckets of 1 s leave an anomaly window of at most 100 s a baseline: the stored 240 s never gives a verdict.
    const smaller = await restored({ bucketCapacity: 120 });
    expect(smaller.rules).toEqual(Object.values(ids).sort());
    expect(smaller.fault?.count).toBe(1);
    expect(smaller.fault?.lastMessage).toMatch(new RegExp(`^an alert rule restored from the database would be refused if created now, and never fires as stored: "odd latency" \\(${ids.anomaly}\\): window must be at most 100 s for aggregation anomaly: .*Each is kept: delete it \\(deleteAlertRule\\) and create it again within the limit, or start with the options it was created under$`));
    expect(smaller.fault?.lastMessage).not.toContain(ids.threshold);
    expect(smaller.fault?.lastMessage).not.toContain(ids.capture);
  });
});
