/**
 * Which grain an 'auto' history takes at the edge of the memory's buckets: a range whose first
 * bucket is still held reads buckets, though its `from` falls inside the bucket the ring let go
 * of (the dashboard's 5-minute charts asked 300 s back of a ring of 300 buckets, and got five
 * points of a minute's rollups instead of 300 buckets).
 */
import { describe, expect, it } from 'vitest';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { monitorStarter } from './helpers.js';
import { HistoryReader } from '../dist/src/monitor/history.js';
import { ALWAYS_WATCHED } from '../dist/src/analysis/watched.js';
import { T0, synthetic } from './synthetic.js';

describe("an 'auto' history at the edge of the buckets held", () => {
  it('reads buckets when every bucket that starts in its range is held, and rollups once one is not', () => {
    const s = synthetic({ bucketCapacity: 120, rawCapacity: 64 });
    const id = s.id('edge_ms');
    // One sample a second for 200 s: the ring of 120 buckets has let the first 80 go.
    for (let sec = 0; sec < 200; sec++) s.apply(T0 + sec * 1000 + 10, [[id, sec]]);
    const now = T0 + 200_000 + 10;
    s.apply(now, []);
    const oldest = s.reader.oldestBucket(id, 1);
    expect(oldest).toBeGreaterThan(T0 + 60_000);
    const history = new HistoryReader(s.registry, s.reader, new SketchAccumulator(), () => ALWAYS_WATCHED);
    const read = (from: number) => history.read({ metric: 'edge_ms', from, maxPoints: 1000 }, now).series[0]!;
    // From inside the bucket let go: it starts before `from`, so no answer would hold it.
    const inside = read(oldest - 500);
    expect(inside.resolution).toBe('bucket');
    expect(inside.points.map((p) => p.t)).toEqual(read(oldest).points.map((p) => p.t));
    expect(inside.points[0]!.t).toBe(oldest);
    expect(inside.points.reduce((n, p) => n + p.count, 0)).toBe((now - oldest - 10) / 1000);
    // From that bucket's start: it belongs in the answer and is gone, so the minutes answer.
    expect(read(oldest - 1000).resolution).toBe('rollup');
  });
});

describe("a 'raw' history from before what the raw ring holds", () => {
  it('says where the raw samples it holds begin (rawFrom), and nothing when the ring reaches back to from', () => {
    const s = synthetic({ bucketCapacity: 120, rawCapacity: 64 });
    const id = s.id('raw_edge_ms');
    // 100 samples, one a second: the ring of 64 has let the first 36 go.
    for (let sec = 0; sec < 100; sec++) s.apply(T0 + sec * 1000 + 10, [[id, sec]]);
    const now = T0 + 100_000 + 10;
    s.apply(now, []);
    const history = new HistoryReader(s.registry, s.reader, new SketchAccumulator(), () => ALWAYS_WATCHED);
    const all = history.read({ metric: 'raw_edge_ms', resolution: 'raw' }, now).series[0]!;
    // Before: the last samples alone, from: -Infinity, and no word of the 36 before them.
    expect(all.rawFrom).toBe(all.points[0]!.t);
    expect(all.points.length).toBeLessThanOrEqual(64);
    expect(all.points[0]!.value).toBeGreaterThanOrEqual(36);
    // A range the ring covers says nothing of the kind.
    const recent = history.read({ metric: 'raw_edge_ms', resolution: 'raw', from: T0 + 90_000 }, now).series[0]!;
    expect(recent).not.toHaveProperty('rawFrom');
    expect(recent.points.length).toBe(10);
  });
});

describe("a history's range in its answer", () => {
  const started = monitorStarter();
  it('is null at its start when no from was asked (never -Infinity), the from asked otherwise, and ends at a time', async () => {
    // A trial of the docs: the answer's `from` was typed a number and was -Infinity without a
    // `from`, so that `new Date(history.from).toISOString()`, typed fine, threw RangeError;
    // /api/history and the MCP tool answered null for it.
    const m = await started({ storage: 'memory' });
    m.record('range_ms', 5);
    await m.flush();
    const all = await m.getMetricHistory({ metric: 'range_ms' });
    expect(all.from).toBeNull();
    expect(Number.isFinite(all.to)).toBe(true);
    expect(all.series[0]!.points.map((p) => p.value)).toEqual([5]);
    const since = m.now() - 60_000;
    const recent = await m.getMetricHistory({ metric: 'range_ms', from: new Date(since) });
    expect(recent.from).toBe(since);
    expect(new Date(recent.from!).toISOString()).toBe(new Date(since).toISOString());
  });
});
