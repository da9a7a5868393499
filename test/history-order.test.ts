/**
 * Raw history in time order: the raw ring holds samples in the order they arrived, and a
 * sample's own timestamp may lie up to an interval before (or 5 s after) the samples that
 * arrived around it. The history gives them by time, and a range's start skips none of those
 * after it: a backdated sample read first from the newest end stopped the read there.
 */
import { describe, expect, it } from 'vitest';
import { monitorStarter } from './helpers.js';
import { call, connectInMemory, text, type AnyClient } from './mcp-helpers.js';

const started = monitorStarter();

describe('raw history of samples that arrived out of time order', () => {
  it('gives them by time, and every one in the range', async () => {
    const m = await started();
    const t = Date.now();
    // The second arrives last and is the oldest: a batch with the time each was measured.
    m.recordBatch([
      { name: 'late_ms', value: 1, timestamp: t },
      { name: 'late_ms', value: 2, timestamp: t + 300 },
      { name: 'late_ms', value: 3, timestamp: t - 800 },
    ]);
    await m.flush();
    // A range ends now: the last sample is in it once its time has passed.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, t + 400 - Date.now())));
    const all = (await m.getMetricHistory({ metric: 'late_ms', resolution: 'raw' })).series[0]!;
    expect(all.points.map((p) => [p.t, p.value])).toEqual([[t - 800, 3], [t, 1], [t + 300, 2]]);
    // From t: the two samples after it, though the one read first from the newest end is before it.
    const since = (await m.getMetricHistory({ metric: 'late_ms', resolution: 'raw', from: t })).series[0]!;
    expect(since.points.map((p) => [p.t, p.value])).toEqual([[t, 1], [t + 300, 2]]);

    const client = await connectInMemory(m, 'history-order');
    try {
      const r = await call(client as unknown as AnyClient, 'get_metric_history', { metric_type: 'late_ms' });
      const [series] = r.structuredContent!.series as { start: string; t: number[]; value: number[] }[];
      expect(series).toMatchObject({ start: new Date(t - 800).toISOString(), t: [0, 0.8, 1.1], value: [3, 1, 2] });
      expect(text(r)).toContain(`late_ms: 3 raw samples, ${new Date(t - 800).toISOString()} .. ${new Date(t + 300).toISOString()}; first 3 last 2`);
    } finally {
      await client.close();
    }
  });
});
