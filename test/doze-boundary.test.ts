import { describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("the collector's doze and the bucket boundary", () => {
  it('puts a steady series\' samples into the bucket they were recorded in (no `last` rule keeps the collector awake): a doze ends before the boundary', async () => {
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    await m.start();
    try {
      const w = m.metric('doze_w');
      const sent: number[] = [];
      // One sample every 25 ms for 3 s: each bucket's last 250 ms hold 10 of them, which a
      // doze running on to the boundary drained into the next bucket (a quarter of them).
      for (let i = 0; i < 120; i++) {
        sent.push(m.now());
        w.record(i);
        await sleep(25);
      }
      await m.flush();
      const h = await m.getMetricHistory({ metric: 'doze_w', resolution: 'raw' });
      const points = h.series[0]!.points;
      expect(points).toHaveLength(120);
      let later = 0;
      for (const p of points) {
        const recorded = sent[p.value]!;
        if (Math.floor(p.t / 1000) !== Math.floor(recorded / 1000)) later++;
      }
      // What a wake-up the machine holds back past the boundary may still move; a quarter before.
      expect(later).toBeLessThanOrEqual(12);
      // The buckets agree with the raw samples' times.
      const byBucket = new Map<number, number>();
      for (const p of points) byBucket.set(Math.floor(p.t / 1000) * 1000, (byBucket.get(Math.floor(p.t / 1000) * 1000) ?? 0) + 1);
      const buckets = await m.getMetricHistory({ metric: 'doze_w', resolution: 'bucket' });
      for (const b of buckets.series[0]!.points) expect(b.count).toBe(byBucket.get(b.t) ?? 0);
    } finally {
      await m.stop();
    }
  });
});
