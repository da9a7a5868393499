/**
 * Queries over a store filled on synthetic time: window quantiles kept between reads equal a
 * fresh merge of every sketch, rates divide by the time the window covers, and unknown names
 * are errors that name the nearest known ones.
 */
import { describe, expect, it } from 'vitest';
import { Query, QUANTILES } from '../dist/src/monitor/query.js';
import { HistoryReader } from '../dist/src/monitor/history.js';
import { ALWAYS_WATCHED } from '../dist/src/analysis/watched.js';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { T0, synthetic } from './synthetic.js';

/** The window's quantiles the way getMetrics computed them before: every sketch merged afresh. */
function merged(s: ReturnType<typeof synthetic>, id: number, from: number): number[] {
  const acc = new SketchAccumulator();
  const agg = s.reader.aggregate(id, from, Infinity, acc);
  return acc.quantiles(QUANTILES).map((q) => Math.min(agg.max, Math.max(agg.min, q)));
}

describe('getMetrics window quantiles', () => {
  it('kept between reads, equal a fresh merge as samples arrive, buckets close and the window moves', () => {
    const s = synthetic({ bucketCapacity: 400 });
    let seed = 3;
    const rand = (): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 4294967296;
    };
    const ids = [
      s.id('lat', { k: 'wide' }, 'distribution', 'ms'),
      s.id('lat', { k: 'signed' }, 'distribution', 'ms'),
      s.id('depth', {}, 'gauge', 'count'),
      s.id('hits', {}, 'counter', 'requests'),
    ];
    const gen = [() => Math.exp(1 + 5 * rand()), () => (rand() - 0.4) * 1000, () => Math.floor(rand() * 10), () => 1];
    const query = new Query(s.registry, s.reader);
    let t = T0 + 10;
    for (let step = 0; step < 200; step++) {
      // A few samples a step, four steps a second: the open bucket changes between reads,
      // and every fourth read follows a closed bucket (the window moves by one).
      const samples: [number, number][] = [];
      for (let i = 0; i < ids.length; i++) for (let n = 0; n < 1 + Math.floor(rand() * 6); n++) samples.push([ids[i]!, gen[i]!()]);
      t += 250;
      s.apply(t, samples);
      const windowSeconds = step < 150 ? 30 : 45; // a longer window once: the kept state starts over
      const read = query.metrics({ windowSeconds }, t);
      const from = t - windowSeconds * 1000;
      for (const m of read) {
        const w = m.window;
        expect([w.p50, w.p90, w.p95, w.p99], `${m.name} ${JSON.stringify(m.tags)} at step ${step}`).toEqual(merged(s, m.id, from));
      }
    }
  });
});

describe('a window read while its bucket closes', () => {
  it('counts the open bucket once, with its quantiles: never a count without them', () => {
    const s = synthetic();
    const lat = s.id('lat', {}, 'distribution', 'ms');
    const t = T0 + 5_010;
    s.apply(t, Array.from({ length: 2000 }, (_, i): [number, number] => [lat, (i % 97) + 0.25]));
    const query = new Query(s.registry, s.reader);
    // The collector closes the bucket between the query's snapshot and its read of the open
    // bucket's bins (in a monitor: another thread, at any moment).
    const bins = s.reader.forEachOpenBin.bind(s.reader);
    let closed = false;
    s.reader.forEachOpenBin = (id, fn) => {
      if (!closed) {
        closed = true;
        s.apply(t + 1_000, []);
      }
      bins(id, fn);
    };
    const [m] = query.metrics({ windowSeconds: 30 }, t);
    expect(closed).toBe(true);
    expect(m!.window.count).toBe(2000);
    expect([m!.window.p50, m!.window.p90, m!.window.p95, m!.window.p99]).toEqual(merged(s, lat, t - 30_000));
    expect(m!.window.p50).not.toBeNull();
  });
});

describe('rates', () => {
  it('divide by the time the window covers: the part the monitor watched, up to now', () => {
    const s = synthetic();
    const hits = s.id('hits', {}, 'counter', 'requests');
    // Watched from T0 + 50 s; 2 requests a second from then.
    for (let sec = 50; sec < 61; sec++) s.apply(T0 + sec * 1000 + 10, [[hits, 1], [hits, 1]]);
    const now = T0 + 61_000 + 10;
    s.apply(now, []);
    const watched = { from: T0 + 50_000, to: Infinity };
    const [m] = new Query(s.registry, s.reader, () => watched).metrics({ windowSeconds: 60 }, now);
    // 22 requests in the 11.01 s watched, not over the 60 s window.
    expect(m!.window.count).toBe(22);
    expect(m!.window.rate).toBeCloseTo(22 / 11.01, 9);
    expect(m!.value).toBe(m!.window.rate);
    // The window says how much of it was watched, since that is what its numbers stand for.
    expect(m!.window.coveredSeconds).toBe(11);
    // A window the monitor watched whole does not.
    const [whole] = new Query(s.registry, s.reader, () => watched).metrics({ windowSeconds: 10 }, now);
    expect(whole!.window).not.toHaveProperty('coveredSeconds');
    expect(whole!.window.rate).toBeCloseTo(whole!.window.count / 9.01, 9);
    // A window the monitor did not watch at all has no rate, not a zero.
    const stopped = new Query(s.registry, s.reader, () => ({ from: T0 + 50_000, to: T0 + 61_010 }));
    const [later] = stopped.metrics({ windowSeconds: 10 }, now + 120_000);
    expect(later!.window.rate).toBeNull();
    expect(later!.window.coveredSeconds).toBe(0);
    // Nor one watched less than an interval (1 s here): a request 13 ms after the start read
    // as 76.9 a second; from a whole interval on it is a rate.
    const fresh = new Query(s.registry, s.reader, () => ({ from: now - 13, to: Infinity }));
    const [early] = fresh.metrics({ windowSeconds: 60 }, now);
    expect(early!.window.rate).toBeNull();
    expect(early!.window.coveredSeconds).toBe(0);
    const [second] = new Query(s.registry, s.reader, () => ({ from: now - 1_000, to: Infinity })).metrics({ windowSeconds: 60 }, now);
    expect(second!.window.rate).toBeCloseTo(second!.window.count / 1, 9);
  });

  // A window longer than the store holds of a series counted what was held and divided it by
  // the whole window watched: a trial's counter of 20/s said 12.2/s over a day after 17 minutes
  // at rollupCapacity 10 (a quarter of the rate after 24 h at the default 6 hours of rollups).
  it('divide by the time the store still holds of a series once it dropped the window\'s oldest part, and say it', () => {
    const s = synthetic({ rollupCapacity: 10, bucketCapacity: 120 });
    const hits = s.id('hits', {}, 'counter', 'requests');
    const lat = s.id('lat', {}, 'distribution', 'ms');
    // 30 minutes watched whole: 2 requests and one latency sample a second.
    s.fill(1800, [[hits, () => [1, 1]], [lat, () => 5]]);
    const now = T0 + 1_800_010;
    const [h, l] = new Query(s.registry, s.reader).metrics({ windowSeconds: 86_400 }, now);
    // The 9 newest of the 10 minutes held (the oldest is the collector's next to write over).
    const covered = h!.window.coveredSeconds!;
    expect(covered).toBeGreaterThanOrEqual(9 * 60);
    expect(covered).toBeLessThan(11 * 60);
    expect(h!.window.rate).toBeCloseTo(2, 1);
    expect(h!.value).toBe(h!.window.rate);
    expect(l!.window.rate).toBeCloseTo(1, 1);
    expect(l!.window.coveredSeconds).toBe(covered);
    // The count stands for the seconds said.
    expect(h!.window.sum / covered).toBeCloseTo(2, 1);
    // A window whose first, partial minute the bucket ring (120 s) no longer holds starts at
    // the next whole minute, which the rollups hold: before, its rate was 480 / 299 s.
    const [five] = new Query(s.registry, s.reader).metrics({ windowSeconds: 300 }, now);
    expect(five!.window).toMatchObject({ count: 480, coveredSeconds: 240 });
    expect(five!.window.rate).toBeCloseTo(2, 1);
    // A window within what is held is as before.
    const [recent] = new Query(s.registry, s.reader).metrics({ windowSeconds: 60 }, now);
    expect(recent!.window).not.toHaveProperty('coveredSeconds');
    expect(recent!.window.rate).toBeCloseTo(2, 1);
  });
});

describe('one rate for every kind', () => {
  it('getMetrics gives the rate a report gives: a counter\'s sum per second, the sample count per second for gauges and distributions', () => {
    const s = synthetic();
    const hits = s.id('hits', {}, 'counter', 'requests');
    const depth = s.id('depth', {}, 'gauge', 'count');
    const lat = s.id('lat', {}, 'distribution', 'ms');
    // Watched from T0 + 50 s: per second 3 requests, one gauge reading of 1000, two latencies of 500.
    for (let sec = 50; sec < 61; sec++) s.apply(T0 + sec * 1000 + 10, [[hits, 3], [depth, 1000], [lat, 500], [lat, 500]]);
    const now = T0 + 61_000 + 10;
    s.apply(now, []);
    const watched = { from: T0 + 50_000, to: Infinity };
    const got = new Map(new Query(s.registry, s.reader, () => watched).metrics({ windowSeconds: 60 }, now).map((m) => [m.name, m.window.rate]));
    const report = s.report({ from: now - 60_000, to: now, now, watched });
    const expected = { hits: 33 / 11.01, depth: 11 / 11.01, lat: 22 / 11.01 };
    for (const [name, rate] of Object.entries(expected)) {
      expect(got.get(name), name).toBeCloseTo(rate, 9);
      expect(report.series.find((x) => x.name === name)!.rate, name).toBeCloseTo(rate, 9);
      expect(report.metrics.find((x) => x.name === name)!.rate, name).toBeCloseTo(rate, 9);
    }
  });
});

describe("a counter's raw history, downsampled", () => {
  it('gives each point the rate over the time it covers, as its buckets give it', () => {
    const s = synthetic();
    const hits = s.id('hits', {}, 'counter', 'requests');
    // 10 requests a second, one every 100 ms, for 4 s (40 samples: all still raw).
    for (let i = 0; i < 40; i++) s.apply(T0 + i * 100, [[hits, 1]]);
    const now = T0 + 4_000;
    s.apply(now, []);
    const history = new HistoryReader(s.registry, s.reader, new SketchAccumulator(), () => ALWAYS_WATCHED);
    const raw = history.read({ metric: 'hits', maxPoints: 4 }, now).series[0]!;
    expect(raw.resolution).toBe('raw');
    expect(raw.points.map((p) => [p.count, p.value])).toEqual([[10, 10], [10, 10], [10, 10], [10, 10]]);
    const buckets = history.read({ metric: 'hits', resolution: 'bucket' }, now).series[0]!;
    expect(buckets.points.map((p) => p.value)).toEqual([10, 10, 10, 10]);
    // Two bursts of 10 in one millisecond each, a second apart: 10 a second, not 10 (a sum) each.
    const burst = s.id('burst', {}, 'counter', 'requests');
    s.apply(now + 1_000, Array.from({ length: 10 }, () => [burst, 1] as [number, number]));
    s.apply(now + 2_000, Array.from({ length: 10 }, () => [burst, 1] as [number, number]));
    s.apply(now + 3_000, []);
    expect(history.read({ metric: 'burst', maxPoints: 2 }, now + 3_000).series[0]!.points.map((p) => [p.count, p.value])).toEqual([[10, 10], [10, 10]]);
  });
});

describe('unknown metric names', () => {
  it('are errors naming the nearest known ones, in getMetrics and getMetricHistory', () => {
    const s = synthetic();
    s.apply(T0 + 10, [[s.id('checkout_latency', { route: '/pay' }), 5]]);
    const query = new Query(s.registry, s.reader);
    expect(() => query.metrics({ names: ['response_time', 'checkout_latncy'] }, T0 + 20)).toThrow('names[1] "checkout_latncy" is not a known metric; the nearest known: checkout_latency, error_rate, cache_hit_rate');
    const history = new HistoryReader(s.registry, s.reader, new SketchAccumulator(), () => ALWAYS_WATCHED);
    expect(() => history.read({ metric: 'respons_time' }, T0 + 20)).toThrow(/^metric "respons_time" is not a known metric; the nearest known: response_time, /);
    // A known name without data (a built-in one) is not an error: it has no series yet.
    expect(query.metrics({ names: ['throughput'] }, T0 + 20)).toEqual([]);
  });
});

describe('report rates and trends', () => {
  it('a report divides a rate by the time its range covers, as getMetrics does', () => {
    const s = synthetic();
    const hits = s.id('hits', {}, 'counter', 'requests');
    for (let sec = 50; sec < 61; sec++) s.apply(T0 + sec * 1000 + 10, [[hits, 1], [hits, 1]]);
    const now = T0 + 61_000 + 10;
    s.apply(now, []);
    // A report over the last hour of a monitor that watched from T0 + 50 s.
    const report = s.report({ from: now - 3_600_000, to: now, now, watched: { from: T0 + 50_000, to: Infinity } });
    const series = report.series.find((x) => x.name === 'hits')!;
    expect(series.rate).toBeCloseTo(22 / 11.01, 9);
    expect(report.metrics.find((m) => m.name === 'hits')!.rate).toBeCloseTo(22 / 11.01, 9);
  });

  it('over a restart, divide by the time each process watched, not the gap between them, and so does the change against the time before', () => {
    const s = synthetic();
    const hits = s.id('hits', {}, 'counter', 'requests');
    // 2 requests a second: a process before this one from T0 + 50 s to T0 + 60 s, this one from T0 + 90 s.
    for (let sec = 50; sec < 60; sec++) s.apply(T0 + sec * 1000 + 10, [[hits, 1], [hits, 1]]);
    for (let sec = 90; sec < 100; sec++) s.apply(T0 + sec * 1000 + 10, [[hits, 1], [hits, 1]]);
    const now = T0 + 100_000;
    s.apply(now, []);
    const watched = { from: T0 + 90_000, to: Infinity, earlier: [{ from: T0 + 50_000, to: T0 + 60_000 }] };
    const all = s.report({ from: now - 3_600_000, to: now, now, watched }).series.find((x) => x.name === 'hits')!;
    expect(all.count).toBe(40);
    expect(all.rate).toBeCloseTo(40 / 20, 9);
    // From T0 + 55 s: the range holds 5 s of the earlier process and 10 s of this one (not the
    // 30 s between), the 45 s before it the earlier process's first 5 s: 2 a second in both.
    const late = s.report({ from: T0 + 55_000, to: now, now, watched }).series.find((x) => x.name === 'hits')!;
    expect([late.count, late.rate]).toEqual([30, 2]);
    expect(late.change?.basis).toBe('before-range');
    expect(late.change?.baselineMean).toBeCloseTo(2, 9);
    expect(late.change?.currentMean).toBeCloseTo(2, 9);
    expect(late.change?.relative).toBeCloseTo(0, 9);
  });

  it('gives no trend over a span too short to mean one, and says why', () => {
    const s = synthetic();
    const heap = s.id('heap_total', {});
    // Ten seconds of a falling heap: read per hour, it would be a 3.6 GB/h fall.
    s.fill(10, [[heap, (sec) => 1e9 - sec * 1e6]]);
    const short = s.report().series.find((x) => x.name === 'heap_total')!;
    expect(short.trend).toBeNull();
    expect(short.trendNote).toBe('the data spans 10 s; a trend needs at least 5 min');
    expect(s.report().notes).toContain('Trends are given over at least 5 minutes of data: series spanning less have none.');
    // Ten minutes: a trend, per hour.
    const long = synthetic();
    const h = long.id('heap_total', {});
    long.fill(600, [[h, (sec) => 1e9 + sec * 1e3]]);
    expect(long.report().series.find((x) => x.name === 'heap_total')!.trend!.slopePerHour).toBeCloseTo(3.6e6, 0);
  });
});

describe('a page of series', () => {
  it('is the same series as the whole list cut there, only its series are summarised, and the count is of every series with data that matches', () => {
    const s = synthetic();
    const ids = Array.from({ length: 30 }, (_, i) => s.id('paged_rt', { i: String(i), odd: String(i % 2) }, 'distribution', 'ms'));
    s.id('paged_idle', {}, 'distribution', 'ms');
    s.apply(T0 + 1000, ids.map((id, i) => [id, i + 1]));
    const q = new Query(s.registry, s.reader);
    const summarised: number[] = [];
    const window = (q as unknown as { window: (id: number, ...rest: unknown[]) => unknown }).window.bind(q);
    (q as unknown as { window: unknown }).window = (id: number, ...rest: unknown[]) => (summarised.push(id), window(id, ...rest));
    const all = q.metrics({}, T0 + 2000);
    expect(all).toHaveLength(30);
    summarised.length = 0;
    const page = q.metrics({ offset: 10, limit: 5 }, T0 + 2000);
    expect(page.map((m) => m.tags.i)).toEqual(all.slice(10, 15).map((m) => m.tags.i));
    expect(summarised).toEqual(page.map((m) => m.id));
    expect(q.metrics({ offset: 28, limit: 5 }, T0 + 2000).map((m) => m.tags.i)).toEqual(['28', '29']);
    expect(q.metrics({ offset: 40 }, T0 + 2000)).toEqual([]);
    // The idle series (no data) is not counted; filters are.
    expect(q.count({})).toBe(30);
    expect(q.count({ tags: { odd: '1' } })).toBe(15);
    expect(q.metrics({ tags: { odd: '1' }, offset: 14 }, T0 + 2000).map((m) => m.tags.i)).toEqual(['29']);
    expect(() => q.metrics({ offset: -1 })).toThrow(/offset must be an integer of at least 0/);
    expect(() => q.metrics({ limit: 0 })).toThrow(/limit must be an integer of at least 1/);
    expect(() => q.count({ names: ['nope_never'] })).toThrow(/names\[0\]/);
  });
});
