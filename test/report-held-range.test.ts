/**
 * A report over a range longer than the store holds of a series (past the bucket ring, or past
 * the rollups) sums up what is held, and its rates are per second of that part. Divided by the
 * whole range, a steady 20 jobs a second read 18.2 over 330 s at a ring of 300 s (the range's
 * first, partial minute gone from the ring), and 5.0 over a day at 10 minutes of rollups.
 */
import { describe, expect, it } from 'vitest';
import { reportOut } from '../dist/src/mcp/report-answer.js';
import { buildReport } from '../dist/src/reports/build.js';
import { SpanReader } from '../dist/src/reports/span-reader.js';
import { SketchAccumulator } from '../dist/src/engine/sketch.js';
import { T0, synthetic } from './synthetic.js';
import { storedRows } from './stored-rows.js';

/** A process's stored minutes (storage/rollups.ts) of `perMinute` samples of 20 from `first` on. */
function storedMinutes(first: number, minutes: number, perMinute: number) {
  const start = Array.from({ length: minutes }, (_, i) => (i === 0 ? first : Math.floor(first / 60_000) * 60_000 + i * 60_000));
  return storedRows(start, start.map(() => perMinute), 20);
}

/** 40 minutes of 20 jobs and 2 latency samples a second, and 3 major GC pauses of 20 ms. */
function steady() {
  const s = synthetic({ bucketCapacity: 300, rollupCapacity: 10 });
  const jobs = s.id('jobs', {}, 'counter', 'requests');
  const lat = s.id('lat', {}, 'distribution', 'ms');
  const gc = s.id('gc_pause', { type: 'major' }, 'distribution', 'ms');
  s.fill(2400, [[jobs, () => 20], [lat, () => [5, 5]], [gc, () => [20, 20, 20]]]);
  const now = T0 + 2_400_010;
  const watched = { from: T0, to: Infinity };
  return (seconds?: number) => s.report({ ...(seconds ? { from: now - seconds * 1000, to: now } : {}), watched });
}

/** The same 40 minutes of 20 jobs a second, reported over a range from `ago` to `until` seconds before the end. */
function steadyAt(rollupCapacity = 30) {
  const s = synthetic({ bucketCapacity: 300, rollupCapacity });
  const jobs = s.id('jobs', {}, 'counter', 'requests');
  s.fill(2400, [[jobs, () => 20]]);
  const now = T0 + 2_400_010;
  const report = (ago: number, until: number) => s.report({ from: now - ago * 1000, to: now - until * 1000, watched: { from: T0, to: Infinity } });
  return Object.assign(report, { now });
}

/**
 * The same 40 minutes of 20 jobs a second read as storage reads them: the span reader over the
 * memory, with every minute stored on disk (the first from the first sample on).
 */
function throughStorage() {
  const s = synthetic({ bucketCapacity: 300, rollupCapacity: 10 });
  const jobs = s.id('jobs', {}, 'counter', 'requests');
  s.fill(2400, [[jobs, () => 20]]);
  const now = T0 + 2_400_010;
  const watched = { from: T0, to: Infinity };
  return (seconds: number) => {
    const reader = new SpanReader(s.store);
    reader.setStored(new Map([[jobs, storedMinutes(T0 + 10, 40, 60)]]), watched);
    return buildReport({ registry: s.registry, reader, acc: new SketchAccumulator(), metricAcc: new SketchAccumulator() }, { now, from: now - seconds * 1000, to: now, watched, includeAlerts: false, includeRecommendations: false, alertHistory: [], alertHistoryAvailable: true });
  };
}

describe('a report over more than the store holds of a series', () => {
  it('reads a steady rate over a range past the bucket ring or the rollups, and says the seconds held', () => {
    const report = steady();
    for (const seconds of [330, 600, 1800, 86_400]) {
      const r = report(seconds);
      const jobs = r.series.find((x) => x.name === 'jobs')!;
      const lat = r.series.find((x) => x.name === 'lat')!;
      expect([seconds, jobs.rate]).toEqual([seconds, expect.closeTo(20, 1)]);
      expect([seconds, lat.rate]).toEqual([seconds, expect.closeTo(2, 1)]);
      expect([seconds, r.metrics.find((m) => m.name === 'jobs')!.rate]).toEqual([seconds, expect.closeTo(20, 1)]);
      // The figures stand for the seconds said, from the series' window's start on.
      expect(jobs.window.from).toBeGreaterThan(r.window.from);
      expect(jobs.sum / jobs.coveredSeconds!).toBeCloseTo(20, 1);
      expect(jobs.coveredSeconds).toBeCloseTo((jobs.window.to - jobs.window.from) / 1000, 1);
      expect(r.notes.some((n) => n.startsWith('3 series are held for less than the range'))).toBe(true);
    }
    // The ring holds the last 299 s, the rollups the minutes from the range's first whole one.
    expect(report(330).series.find((x) => x.name === 'jobs')).toMatchObject({ count: 300, coveredSeconds: 300 });
    // A day holds the 9 newest of the 10 minutes of rollups (the oldest is the collector's next
    // to write over).
    const day = report(86_400);
    expect(day.series.find((x) => x.name === 'jobs')).toMatchObject({ count: 540, coveredSeconds: 540 });
    // An agent's answer says the seconds too.
    expect(reportOut(day, undefined).series!.find((x) => x.name === 'jobs')).toMatchObject({ count: 540, covered_seconds: 540, rate: expect.closeTo(20, 1) });
    // A range within what is held is as before.
    const whole = report();
    expect(whole.series.find((x) => x.name === 'jobs')).not.toHaveProperty('coveredSeconds');
    expect(whole.metrics.find((m) => m.name === 'jobs')!.rate).toBeCloseTo(20, 1);
  });

  it('reads a steady rate over a range past the bucket ring with the minutes stored on disk', () => {
    // The range's first, partial minute is in a row that starts before it, read by no one.
    expect(throughStorage()(600).series[0]).toMatchObject({ name: 'jobs', count: 540, coveredSeconds: 540, rate: expect.closeTo(20, 1) });
  });

  it('reads a steady rate over a range that starts inside a minute stored on disk, after a restart', () => {
    // The row of the range's first, partial minute starts before it and is read by no one: over
    // the seconds from the range's start, a steady 20/s read 18.0 from 1000 s, 17.6 from 2000 s.
    const report = afterRestart();
    for (const [from, to] of [[1000, 1230.5], [2000, 2399.5], [2300, 2500.5]] as const) {
      const jobs = report(from, to).series.find((x) => x.name === 'jobs')!;
      expect([from, to, jobs.rate]).toEqual([from, to, expect.closeTo(20, 1)]);
      expect([from, to, jobs.window.from]).toEqual([from, to, T0 + Math.ceil(from / 60) * 60_000]);
    }
    // A new monitor with no sample of the series yet reads its stored minutes so too.
    const none = afterRestart(2400.01, false)(1000, 1230.5).series.find((x) => x.name === 'jobs')!;
    expect([none.rate, none.window.from]).toEqual([expect.closeTo(20, 1), T0 + 1_020_000]);
  });

  it("counts once the minute of the memory's oldest rollup, which the minutes stored on disk hold too", () => {
    // Past the memory's 10 minutes of rollups the minutes stored are read; the oldest rollup of
    // the full ring is also a stored row's minute, and counted from both, 30 minutes read 1800
    // samples for 1740 (20.7/s), the 40 minutes watched of a day 2460 for 2400.
    const report = throughStorage();
    for (const [seconds, count] of [[1800, 1740], [86_400, 2400]] as const) {
      const r = report(seconds);
      expect([seconds, r.series[0]!.count, r.series[0]!.sum]).toEqual([seconds, count, count * 20]);
      expect([seconds, r.series[0]!.rate]).toEqual([seconds, expect.closeTo(20, 1)]);
    }
  });

  it('compares the range with the part held before it, and takes the share of time in GC pauses over what is held', () => {
    const report = steady();
    // The 330 s before a 330 s range, past the ring: its first minute gone, over the whole
    // window it read 14.5/s against 20, steady traffic as up a third.
    const change = report(330).series.find((x) => x.name === 'jobs')!.change!;
    expect(change.basis).toBe('before-range');
    expect(change.baselineMean).toBeCloseTo(20, 1);
    expect(change.relative).toBeCloseTo(0, 2);
    // With nothing held before the range, its first quarter against its last: the first
    // quarter's minute rollups counted whole over the quarter's seconds alone read 26.7/s
    // against 20, steady traffic as down a quarter; so did a last quarter that began inside one.
    for (const seconds of [1800, 86_400]) {
      const quarters = report(seconds).series.find((x) => x.name === 'jobs')!.change!;
      expect([seconds, quarters.basis]).toEqual([seconds, 'first-quarter']);
      expect([seconds, quarters.baselineMean, quarters.currentMean]).toEqual([seconds, expect.closeTo(20, 1), expect.closeTo(20, 1)]);
      expect([seconds, quarters.relative]).toEqual([seconds, expect.closeTo(0, 2)]);
    }
    // A range that ends before the bucket ring, in the minute rollups: its last quarter took
    // whole minutes running past the range's closed end over the quarter's seconds, 40/s and 80/s.
    const past = steadyAt();
    // A range that ends inside a bucket in the ring: its last bucket runs past the range's end.
    const short = steadyAt(10);
    for (const [report, ago, until] of [[past, 1800, 330], [past, 1830, 345], [short, 600, 229.5]] as const) {
      const quarters = report(ago, until).series.find((x) => x.name === 'jobs')!.change!;
      expect([ago, quarters.basis, quarters.currentMean]).toEqual([ago, 'first-quarter', expect.closeTo(20, 1)]);
      expect(quarters.currentWindow.to).toBeLessThanOrEqual(report.now - until * 1000);
    }
    // 60 ms of pauses a second is 6% of the time: over a day, 540 s of it held, it read 0.04%.
    const gc = report(86_400).diagnoses.find((d) => d.id === 'gc-pressure');
    expect(gc?.severity).toBe('warning');
    expect(gc?.summary).toContain('The process spent 6% of the last 540 s the store holds of its GC series in GC pauses');
  });
});

/**
 * A process's 20 jobs a second stored on disk, a row a minute, up to `stop` seconds after T0,
 * and 100 s of the next one's in memory from 2460 s (or none, not `sampled`), read by the span
 * reader over [from, to) in seconds from T0.
 */
function afterRestart(stop = 2400.01, sampled = true) {
  const s = synthetic({ bucketCapacity: 300, rollupCapacity: 10 });
  const jobs = s.id('jobs', {}, 'counter', 'requests');
  s.fill(100, sampled ? [[jobs, () => 20]] : [], 2460);
  const watched = { from: T0 + 2_460_000, to: Infinity, earlier: [{ from: T0, to: T0 + stop * 1000 }] };
  const start = Array.from({ length: Math.ceil(stop / 60) }, (_, i) => (i === 0 ? T0 + 10 : T0 + i * 60_000));
  const rows = storedRows(start, start.map((t) => Math.min(60, Math.floor(stop - (t - T0) / 1000))), 20);
  return (from: number, to: number) => {
    const reader = new SpanReader(s.store);
    reader.setStored(new Map([[jobs, rows]]), watched);
    return buildReport({ registry: s.registry, reader, acc: new SketchAccumulator(), metricAcc: new SketchAccumulator() }, { now: T0 + 2_560_010, from: T0 + from * 1000, to: T0 + to * 1000, watched, includeAlerts: false, includeRecommendations: false, alertHistory: [], alertHistoryAvailable: true });
  };
}

describe('a report over a range that ends in the past', () => {
  it('reads a steady rate over a range ending in minutes only the rollups hold, up to the last whole one', () => {
    // 40 minutes of 20 jobs a second; the ring holds the last 299 s (from 2101 s), the rollups
    // 30 minutes. A range ending inside a minute before the ring read its rollup as no sample
    // while counting its seconds: 17.1/s from 600 s to 330 s before the end, 18.8 from 1200 to 630.
    const past = steadyAt();
    const T = (seconds: number) => T0 + seconds * 1000;
    for (const [from, to] of [[1800.01, 2070.01], [1810.01, 2055.01], [1200.01, 1770.01], [1800.01, 2040.01], [1800, 2110.5]] as const) {
      const r = past(2400.01 - from, 2400.01 - to);
      const jobs = r.series.find((x) => x.name === 'jobs')!;
      expect([from, to, jobs.rate, r.metrics.find((m) => m.name === 'jobs')!.rate]).toEqual([from, to, expect.closeTo(20, 1), expect.closeTo(20, 1)]);
      // Its figures end with the last whole minute the rollups hold, and say the seconds so.
      expect([from, to, jobs.window.to]).toEqual([from, to, Math.floor(T(to) / 60_000) * 60_000]);
      expect([from, to, jobs.coveredSeconds]).toEqual([from, to, (jobs.window.to - jobs.window.from) / 1000]);
      expect([from, to, jobs.count]).toEqual([from, to, (jobs.window.to - jobs.window.from) / 1000]);
      if (jobs.change?.basis === 'first-quarter') expect([from, to, jobs.change.currentMean]).toEqual([from, to, expect.closeTo(20, 1)]);
    }
    // On a minute, or inside the ring, the range is read to its end, as before.
    for (const [from, to] of [[1800, 2040], [1800, 2160.5], [2110, 2170.5]] as const) {
      const jobs = past(2400.01 - from, 2400.01 - to).series.find((x) => x.name === 'jobs')!;
      expect([from, to, jobs.rate, jobs.window.to]).toEqual([from, to, expect.closeTo(20, 1), T(Math.ceil(to))]);
    }
  });

  it('reads a steady rate over a range ending inside a minute stored on disk, before a restart', () => {
    // The stored minute the range ends in was counted whole over the seconds up to its end:
    // from 600 s to 1230 s, 21/s for 20.
    const report = afterRestart();
    for (const [from, to] of [[600, 1230], [960, 1230.5], [1020, 2399.5]] as const) {
      const jobs = report(from, to).series.find((x) => x.name === 'jobs')!;
      expect([from, to, jobs.rate]).toEqual([from, to, expect.closeTo(20, 1)]);
      expect([from, to, jobs.count, jobs.window.to]).toEqual([from, to, (jobs.window.to - jobs.window.from) / 1000, T0 + Math.floor(to / 60) * 60_000]);
    }
    // A range that ends after the stored rows, in the minute between the processes, reads them all.
    const whole = report(600, 2430).series.find((x) => x.name === 'jobs')!;
    expect([whole.count, whole.rate]).toEqual([1800, expect.closeTo(20, 1)]);
    // One that ends after the process stopped, inside the minute it stopped in, keeps that
    // minute's row: none of its samples is after the range's end.
    const stopped = afterRestart(2370)(1800, 2385).series.find((x) => x.name === 'jobs')!;
    expect([stopped.count, stopped.rate, stopped.window.to]).toEqual([570, expect.closeTo(20, 1), T0 + 2_385_000]);
  });
});
