/**
 * A series store filled on synthetic time, for report tests: the real registry, ring and
 * reader, and the collector's engine driven at the time the test says, each sample applied
 * then. Reports are then built with the same function the pool runs.
 */
import { createControl } from '../dist/src/engine/control.js';
import { Registry, createRegistry } from '../dist/src/engine/registry.js';
import { buildReport, type BuildOptions } from '../dist/src/reports/build.js';
import { Engine } from '../dist/src/engine/engine.js';
import { RingWriter, createRing } from '../dist/src/engine/ring.js';
import { SketchAccumulator, rankOf } from '../dist/src/engine/sketch.js';
import { createStore, type StoreBuffers, type StoreConfig } from '../dist/src/engine/store/layout.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';
import type { MetricKind, MetricUnit } from '../dist/src/engine/metrics.js';
import type { PerformanceReport } from '../dist/src/reports/types.js';

export const T0 = 1_800_000_000_000; // a multiple of a minute (and of an hour)
const MiB = 1024 * 1024;

// One pair per test file (vitest runs each file in its own worker): 3 MB each.
const acc = new SketchAccumulator();
const metricAcc = new SketchAccumulator();

export interface Synthetic {
  registry: Registry;
  /** The collector's control block (its counters, as status() reads them). */
  control: SharedArrayBuffer;
  /** The series store's buffers (for another reader over them). */
  store: StoreBuffers;
  reader: StoreReader;
  /** The id of a series, defining the name's kind and unit on first use. */
  id(name: string, tags?: Record<string, string>, kind?: MetricKind, unit?: MetricUnit): number;
  /** Applies samples at time t (advancing buckets and rollups first). */
  apply(t: number, samples: [id: number, value: number][]): void;
  /** One value per second from T0 for each generator: gen(second) → value, or undefined to skip. */
  fill(seconds: number, series: [id: number, gen: (s: number) => number | number[] | undefined][], start?: number): void;
  /** Replaces the collector's engine at time t by a new one on the same buffers, as the watchdog replaces a dead collector. */
  replaceCollector(t: number): void;
  report(options?: Partial<BuildOptions>): PerformanceReport;
}

export function synthetic(overrides: Partial<StoreConfig> = {}): Synthetic {
  const config: StoreConfig = {
    maxSeries: 256,
    rawCapacity: 64,
    bucketCapacity: 1200,
    rollupCapacity: 400,
    intervalMs: 1000,
    rollupMs: 60_000,
    logBytes: 16 * MiB,
    rollupLogBytes: 4 * MiB,
    poolBytes: 4 * MiB,
    ...overrides,
  };
  const buffers = createStore(config);
  const registryBuffers = createRegistry({ maxSeries: config.maxSeries, maxTags: 8, maxTagValueLength: 64 });
  const registry = new Registry(registryBuffers, 1);
  const ring = createRing(1 << 16);
  const control = createControl();
  const producer = new RingWriter(ring, control, 'block');
  let last = T0;
  // Its own readings (monitor_*) would be series of their own in every report.
  const newEngine = () => new Engine({ control, registry: registryBuffers, store: buffers, rings: [ring], intervalMs: config.intervalMs, ownReadings: false, clock: () => last });
  let engine = newEngine();
  engine.start(T0);
  const reader = new StoreReader(buffers);
  const apply = (t: number, samples: [number, number][]): void => {
    last = t;
    engine.pass(t);
    for (let i = 0; i < samples.length; i += 32_768) {
      for (const [id, v] of samples.slice(i, i + 32_768)) producer.push(id, v);
      producer.publish();
      engine.pass(t);
    }
  };
  return {
    registry,
    control,
    store: buffers,
    reader,
    id(name, tags, kind, unit) {
      if (kind && !registry.lookupName(name)) registry.define(name, kind, unit ?? '');
      return registry.seriesId(name, tags ?? {});
    },
    apply,
    fill(seconds, series, start = 0) {
      for (let s = start; s < start + seconds; s++) {
        const samples: [number, number][] = [];
        for (const [id, gen] of series) {
          const v = gen(s);
          if (v === undefined) continue;
          if (Array.isArray(v)) for (const x of v) samples.push([id, x]);
          else samples.push([id, v]);
        }
        apply(T0 + s * 1000 + 10, samples);
      }
      // Close the last bucket so every sample is in a closed bucket.
      apply(T0 + (start + seconds) * 1000 + 10, []);
    },
    replaceCollector(t) {
      last = t;
      engine = newEngine();
      engine.start(t);
    },
    report(options = {}) {
      return buildReport(
        { registry, reader, acc, metricAcc },
        { now: last, includeAlerts: true, includeRecommendations: true, alertHistory: [], alertHistoryAvailable: true, ...options },
      );
    },
  };
}

/** Exact statistics, the way the report defines them. */
export function exact(values: number[]) {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  const mean = s.reduce((a, b) => a + b, 0) / n;
  const q = (p: number): number => s[rankOf(p, n)]!;
  const stddev = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  return { count: n, min: s[0]!, max: s[n - 1]!, mean, median: q(0.5), p90: q(0.9), p95: q(0.95), p99: q(0.99), stddev };
}
