/**
 * The collector's counters (status().ingestion.badSamples, status().collector.sketchOverflow
 * and sketchesLost) are totals over the monitor's life: a collector that replaces a dead one
 * carries them on from the control block instead of starting again at 0.
 */
import { describe, expect, it } from 'vitest';
import { BAD_SAMPLES, INGESTED, SKETCHES_LOST, SKETCH_OVERFLOW, controlViews, createControl } from '../dist/src/engine/control.js';
import { Engine } from '../dist/src/engine/engine.js';
import { Registry, createRegistry } from '../dist/src/engine/registry.js';
import { RingWriter, createRing } from '../dist/src/engine/ring.js';
import { createStore } from '../dist/src/engine/store/layout.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';

const T0 = 1_800_000_000_000;
const MiB = 1024 * 1024;

/**
 * A store, registry, ring and control block of 64 series, and `engine(t)`: a collector's engine
 * started at t on them, as the supervisor starts each (a successor on the same buffers).
 */
function collectorsOn(store: ReturnType<typeof createStore>, ownReadings: boolean) {
  const registry = createRegistry({ maxSeries: 64, maxTags: 8, maxTagValueLength: 64 });
  const ring = createRing(1 << 12);
  const control = createControl();
  const engine = (t: number): Engine => {
    const e = new Engine({ control, registry, store, rings: [ring], intervalMs: 1000, ownReadings, clock: () => t });
    e.start(t);
    return e;
  };
  return { registry, ctl: controlViews(control), producer: new RingWriter(ring, control, 'block'), engine };
}

describe("a replacement collector's counters", () => {
  it('carries on the bad samples, sketch overflow and lost sketches its predecessor counted', () => {
    // The smallest pool (16 sketch pages) and raw rings of 16: 40 series of samples two pages
    // apart must bin into pages as they arrive, and most find none: counted in sketchOverflow.
    const store = createStore({ maxSeries: 64, rawCapacity: 16, bucketCapacity: 30, rollupCapacity: 6, intervalMs: 1000, rollupMs: 60_000, logBytes: MiB, rollupLogBytes: MiB, poolBytes: 0 });
    const { ctl, producer, engine } = collectorsOn(store, false);

    const first = engine(T0);
    producer.push(5000, 1); // an id past the store's series: corrupt, counted
    for (let i = 0; i < 40; i++) for (let id = 0; id < 40; id++) producer.push(id, i % 2 === 0 ? 1 : 1e6);
    producer.publish();
    first.pass(T0 + 10);
    const overflow = ctl.f64[SKETCH_OVERFLOW]!;
    expect(ctl.f64[BAD_SAMPLES]).toBe(1);
    expect(overflow).toBeGreaterThan(0);
    // What a predecessor's rollups missed (the log's reach: test/store-log.test.ts).
    ctl.f64[SKETCHES_LOST] = 7;

    // The first collector dies; its successor resumes on the same rings, store and control
    // block, as the supervisor starts it. It counts on from there, across a bucket boundary.
    const second = engine(T0 + 20);
    producer.push(-7, 1);
    producer.publish();
    second.pass(T0 + 30);
    second.pass(T0 + 1030);
    expect(ctl.f64[BAD_SAMPLES]).toBe(2);
    expect(ctl.f64[SKETCH_OVERFLOW]).toBe(overflow);
    expect(ctl.f64[SKETCHES_LOST]).toBe(7);
  });

  it("reads monitor_ingested on from its predecessor's last reading, not from 0", () => {
    // A successor counted from 0: its first reading was the monitor's whole total (a spike of
    // monitor_ingested at every collector restart, and at every start() after a stop()).
    const store = createStore({ maxSeries: 64, rawCapacity: 64, bucketCapacity: 30, rollupCapacity: 6, intervalMs: 1000, rollupMs: 60_000, logBytes: MiB, rollupLogBytes: MiB, poolBytes: MiB });
    const { registry, ctl, producer, engine } = collectorsOn(store, true);
    const names = new Registry(registry, 1);
    const id = names.seriesId('jobs', {});
    const feed = (n: number): void => {
      for (let i = 0; i < n; i++) producer.push(id, 1);
      producer.publish();
    };
    const first = engine(T0);
    feed(1000);
    first.pass(T0 + 10);
    first.pass(T0 + 1010); // a boundary: a reading of 1,000
    feed(500);
    first.pass(T0 + 1020);
    // It dies here; its successor reads the 500 since the last reading at the next boundary.
    const second = engine(T0 + 1030);
    feed(200);
    second.pass(T0 + 1040);
    second.pass(T0 + 2010);
    expect(ctl.f64[INGESTED]).toBe(1700);
    const own = names.find('monitor_ingested');
    expect(own).toHaveLength(1);
    expect(new StoreReader(store).snapshot(own[0]!)).toMatchObject({ totalSum: 1700 });
  });
});
