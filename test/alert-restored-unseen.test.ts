/**
 * Alerts restored from the database whose series the new process does not know (a series first
 * recorded less than storageFlushMs before a crash, its catalog entry never written; here, one
 * the start left out of the catalog for the live series' headroom): they are judged all the
 * same. They waited for their series for good: a window rule's firing alert stayed firing (sent
 * to Alertmanager at every resend) and a pending `last` alert stayed pending for its rule's
 * whole window.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor, type MonitorOptions } from '../dist/src/index.js';
import { waitFor } from './helpers.js';

const monitors: PerformanceMonitor[] = [];
afterEach(async () => {
  await Promise.all(monitors.splice(0).map((m) => m.close()));
});

describe('alerts restored on a series the restarted process does not know', () => {
  it('resolves a window alert once its window after the start is empty, and ends a pending `last` alert when its duration runs out', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'pw-alert-unseen-')), 'data');
    const options: MonitorOptions = { storage: 'sqlite', dataDir, maxSeries: 16, system: { enabled: false }, runtime: { enabled: false }, alerts: { resolveHoldMs: 0 } };
    const a = new PerformanceMonitor(options);
    monitors.push(a);
    await a.start();
    const max = await a.createAlertRule({ name: 'stuck max', metric: 'qd', aggregation: 'max', window: 1, operator: '>', threshold: 10 });
    const count = await a.createAlertRule({ name: 'stuck count', metric: 'qd', aggregation: 'count', window: 1, operator: '>', threshold: 0 });
    const pend = await a.createAlertRule({ name: 'stuck pending', metric: 'pq', operator: '>', threshold: 10, duration: 2, window: 300 });
    await waitFor(() => {
      a.record('qd', 50, { pod: 'a' });
      return a.status().alerts.firing === 2 || undefined;
    }, 10_000, 'the two window alerts firing');
    a.record('pq', 50);
    await waitFor(() => a.status().alerts.pending === 1 || undefined, 10_000, 'the pending alert');
    // The newest series are kept at the start: these fill its room, leaving qd and pq out.
    for (let i = 0; i < 14; i++) a.record('filler', i, { n: String(i) });
    await a.stop();

    const b = new PerformanceMonitor(options);
    monitors.push(b);
    await b.start();
    expect(b.status().series.count).toBe(0);
    expect(b.getAlerts().map((x) => [x.ruleId, x.state]).sort()).toEqual([[count.id, 'firing'], [max.id, 'firing'], [pend.id, 'pending']].sort());
    await waitFor(() => b.getAlerts().length === 0 || undefined, 15_000, 'the restored alerts ended');
    const ended = b.getAlertHistory().filter((t) => t.at >= b.status().startedAt!);
    expect(ended.map((t) => [t.ruleName, t.from, t.to, t.value, t.reason]).sort()).toEqual([
      ['stuck count', 'firing', 'resolved', 0, undefined],
      ['stuck max', 'firing', 'resolved', Number.NaN, undefined],
      ['stuck pending', 'pending', 'inactive', Number.NaN, undefined],
    ]);
  });
});
