/** A store with its writer, a ring and a producer on the test's own thread, driven as the collector drives them. */
import { createControl } from '../dist/src/engine/control.js';
import { RingReader, RingWriter, createRing } from '../dist/src/engine/ring.js';
import { createStore, type StoreConfig } from '../dist/src/engine/store/layout.js';
import { StoreReader } from '../dist/src/engine/store/reader.js';
import { StoreWriter } from '../dist/src/engine/store/writer.js';

export const T0 = 1_800_000_000_000; // a multiple of a minute
export const MiB = 1024 * 1024;

/** `binEvery` as StoreWriter takes it: 1 bins each sample's key as it is applied (tests of the sketch pages). */
export function setup(overrides: Partial<StoreConfig> = {}, binEvery?: number) {
  const config: StoreConfig = {
    maxSeries: 1024,
    rawCapacity: 64,
    bucketCapacity: 300,
    rollupCapacity: 60,
    intervalMs: 1000,
    rollupMs: 60_000,
    logBytes: 4 * MiB,
    rollupLogBytes: 4 * MiB,
    poolBytes: 4 * MiB,
    ...overrides,
  };
  const buffers = createStore(config);
  const ring = createRing(1 << 16);
  const control = createControl();
  const producer = new RingWriter(ring, control, 'drop');
  const writer = new StoreWriter(buffers, undefined, binEvery === undefined ? {} : { binEvery });
  writer.recover(T0, 0);
  const state = { writer, reader: new RingReader(ring) };
  /** Records (id, value) pairs and applies them at time t, as the collector would. */
  const apply = (t: number, samples: [number, number][], seriesCount = 1024): void => {
    if (state.writer.advance(t)) state.writer.rollup(seriesCount);
    for (const [id, v] of samples) producer.push(id, v);
    producer.publish();
    state.writer.drain(state.reader, t, 1 << 20);
    state.writer.publish();
  };
  return { buffers, store: new StoreReader(buffers), apply, state, ring, producer };
}
