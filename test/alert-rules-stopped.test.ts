/**
 * Rules created or deleted on a stopped monitor with a database: the change is committed when
 * the call answers (the database opened for it), so a close() and the next monitor on the
 * dataDir find it. It waited in memory for a start() of the same monitor: after a close() a
 * deleted rule came back with its alert firing again, and a created one was lost.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor, StorageError, type MonitorOptions } from '../dist/src/index.js';
import { waitFor } from './helpers.js';

const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.close()));
});

function monitor(dataDir: string): PerformanceMonitor {
  const options: MonitorOptions = { storage: 'sqlite', dataDir, system: { enabled: false }, runtime: { enabled: false }, alerts: { resolveHoldMs: 0 } };
  const m = new PerformanceMonitor(options);
  monitors.push(m);
  return m;
}

describe('alert rules changed on a stopped monitor', () => {
  it('keeps a rule deleted and a rule created while stopped: the next monitor on the dataDir finds the change after a close()', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'pw-rules-stopped-')), 'data');
    const a = monitor(dataDir);
    await a.start();
    const zombie = await a.createAlertRule({ name: 'zombie', metric: 'zz', operator: '>', threshold: 1 });
    a.record('zz', 5);
    await waitFor(() => a.getAlerts().length === 1 || undefined, 10_000, 'the firing alert');
    await a.stop();
    expect(await a.deleteAlertRule(zombie.id)).toBe(true);
    const made = await a.createAlertRule({ name: 'made while stopped', metric: 'mw', operator: '>', threshold: 1 });
    await a.close();

    const b = monitor(dataDir);
    await b.start();
    expect(b.listAlertRules().map((r) => [r.id, r.name])).toEqual([[made.id, 'made while stopped']]);
    expect(b.getAlerts({ state: 'all' })).toEqual([]);
    expect(b.getAlertHistory().map((t) => [t.ruleName, t.from, t.to, t.reason])).toEqual([
      ['zombie', 'inactive', 'firing', undefined],
      ['zombie', 'firing', 'resolved', 'its rule was deleted: the alert ends with it'],
    ]);
  });

  it("refuses a rule change on a stopped monitor whose dataDir another monitor took, naming the database and why, and changes nothing", async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'pw-rules-stopped-taken-')), 'data');
    const a = monitor(dataDir);
    await a.start();
    const kept = await a.createAlertRule({ name: 'kept', metric: 'k', operator: '>', threshold: 1 });
    await a.stop();
    const b = monitor(dataDir);
    await b.start();
    const refused = await a.createAlertRule({ name: 'refused', metric: 'r', operator: '>', threshold: 1 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StorageError);
    expect((refused as Error).message).toMatch(/perfwatch\.db: cannot save alert rule "refused", so it was not done: the monitor is stopped, and its database could not be opened for the change: .*in use by another monitor/);
    expect(await a.deleteAlertRule(kept.id).catch((error: unknown) => error)).toBeInstanceOf(StorageError);
    expect(a.listAlertRules().map((r) => r.name)).toEqual(['kept']);
  });
});
