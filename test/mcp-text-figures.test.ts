/**
 * The text of the read tools against their samples: a figure a sample had (min, max, last, a
 * threshold) is shown in full, not rounded to a value no sample had (`max 1000` for 999.5),
 * and a downsampled raw series' range ends at its last sample, not at its last point's start.
 */
import { describe, expect, it } from 'vitest';
import { HistoryOutput } from '../dist/src/mcp/tools/get-metric-history.js';
import { monitorStarter, waitFor } from './helpers.js';
import { connectInMemory, ok, text, call, type AnyClient } from './mcp-helpers.js';

const started = monitorStarter();

describe('the text of the read tools', () => {
  it('shows the min, max, last and thresholds samples had in full', async () => {
    const monitor = await started();
    const client = (await connectInMemory(monitor, 'figures')) as unknown as AnyClient;
    for (const v of [0.5, 999.5, 999.4]) monitor.record('r', v);
    await monitor.flush();
    const metrics = text(await call(client, 'get_performance_metrics', { metric_types: ['r'] }));
    expect(metrics).toContain('max 999.5');
    expect(metrics).not.toMatch(/max 1000\b/);
    const history = text(await call(client, 'get_metric_history', { metric_type: 'r' }));
    expect(history).toContain('first 0.5 last 999.4 min 0.5 max 999.5');
    await client.callTool({ name: 'create_performance_alert_rule', arguments: { metric_type: 'r', operator: '<', threshold: 999.45, severity: 'info' } });
    // The alert actor judges the new rule on its own thread: its first verdict comes when it comes.
    const alerts = await waitFor(async () => {
      const t = text(await call(client, 'get_performance_alerts', { state: 'all', include_rules: true }));
      return /\br = /.test(t) ? t : undefined;
    }, 20_000, "the rule's first verdict");
    // The value judged against the threshold, and the threshold, as they are.
    expect(alerts).toContain('r = 999.4 (threshold 999.45)');
  });

  it("ends a downsampled raw series' range at its last sample", async () => {
    const monitor = await started();
    const client = (await connectInMemory(monitor, 'figures')) as unknown as AnyClient;
    for (let i = 1; i <= 20; i++) {
      monitor.record('g', i);
      await new Promise((r) => setTimeout(r, 15));
    }
    await monitor.flush();
    const full = await ok(client, 'get_metric_history', { metric_type: 'g' }, HistoryOutput);
    const s = full.series[0]!;
    const last = new Date(Date.parse(s.start!) + 1000 * s.t.at(-1)!).toISOString();
    const r = await call(client, 'get_metric_history', { metric_type: 'g', max_points: 3 });
    expect(text(r)).toContain(`3 points from 20 raw samples, ${s.start} .. ${last};`);
  });
});
