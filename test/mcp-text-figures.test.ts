/**
 * The text of the read tools against their samples: a figure a sample had (min, max, last, a
 * threshold) is shown in full, not rounded to a value no sample had (`max 1000` for 999.5).
 */
import { describe, expect, it } from 'vitest';
import { monitorStarter } from './helpers.js';
import { connectInMemory, text, call, type AnyClient } from './mcp-helpers.js';

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
    await client.callTool({ name: 'create_performance_alert_rule', arguments: { metric_type: 'r', operator: '>', threshold: 999.45, severity: 'info' } });
    await monitor.flush();
    const alerts = text(await call(client, 'get_performance_alerts', { state: 'all', include_rules: true }));
    // The value judged against the threshold, and the threshold, as they are.
    expect(alerts).toContain('r = 999.4 (threshold 999.45)');
  });

});
