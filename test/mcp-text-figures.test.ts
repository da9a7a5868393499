/**
 * The text of the read tools against their samples: a figure a sample had (min, max, last, a
 * threshold) is shown in full, not rounded to a value no sample had (`max 1000` for 999.5),
 * and a downsampled raw series' range ends at its last sample, not at its last point's start.
 */
import { describe, expect, it } from 'vitest';
import { HistoryOutput } from '../dist/src/mcp/tools/get-metric-history.js';
import { valueText } from '../dist/src/mcp/alert-shapes.js';
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

  it('never shows a quantile above the max or below the min beside it', async () => {
    // Rounded to 3 digits, a p99 of 91.2956 read `p99 91.3 max 91.2956`.
    const monitor = await started();
    const client = (await connectInMemory(monitor, 'figures')) as unknown as AnyClient;
    for (let i = 0; i < 100; i++) monitor.record('response_time', i < 90 ? 40 : 91.2956);
    await monitor.flush();
    const status = text(await call(client, 'get_monitoring_status', { include_metrics: true }));
    const line = status.split('\n').find((l) => l.startsWith('response_time '))!;
    expect(line).toMatch(/ p99 91\.2956 max 91\.2956 /);
    const [, p50, p90, p99, max] = / p50 (\S+) p90 (\S+) p99 (\S+) max (\S+)/.exec(line)!;
    for (const q of [p50, p90, p99]) expect(Number(q)).toBeLessThanOrEqual(Number(max));
  });

  it("gives a derived alert value to 6 digits, and a sample's or one rounding would take across its threshold in full", () => {
    // An avg or a p99 printed `= 0.19905771495877503 (threshold 0.1)`.
    expect(valueText(0.19905771495877503, 0.1, true)).toBe('0.199058');
    // A `last`, `min` or `max` rule's value is a sample's: as recorded.
    expect(valueText(0.19905771495877503, 0.1, false)).toBe('0.19905771495877503');
    // 0.1000000001 > 0.1 fired; `0.1 (threshold 0.1)` would not say why.
    expect(valueText(0.1000000001, 0.1, true)).toBe('0.1000000001');
    expect(valueText(undefined, 0.1, true)).toBe('no data');
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
