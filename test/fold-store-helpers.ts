/**
 * A store and the collector's engine on synthetic time, one distribution series in it and the
 * bucket ring 10 buckets long: for the tests of the histograms kept past a walk's thread
 * (src/analysis/fold-share.ts).
 */
import { createControl } from '../dist/src/engine/control.js';
import { Engine } from '../dist/src/engine/engine.js';
import { Registry, createRegistry } from '../dist/src/engine/registry.js';
import { RingWriter, createRing } from '../dist/src/engine/ring.js';
import { createStore } from '../dist/src/engine/store/layout.js';

const T0 = 1_800_000_000_000;
const MiB = 1024 * 1024;
/** Series ids the store holds. */
export const FOLD_STORE_SERIES = 64;

export function foldStore() {
  const registryBuffers = createRegistry({ maxSeries: FOLD_STORE_SERIES, maxTags: 4, maxTagValueLength: 32 });
  const registry = new Registry(registryBuffers, 1);
  const buffers = createStore({ maxSeries: FOLD_STORE_SERIES, rawCapacity: 64, bucketCapacity: 10, rollupCapacity: 60, intervalMs: 1000, rollupMs: 60_000, logBytes: 4 * MiB, rollupLogBytes: 4 * MiB, poolBytes: 4 * MiB });
  const ring = createRing(1 << 12);
  const control = createControl();
  const producer = new RingWriter(ring, control, 'drop');
  let now = T0;
  const engine = new Engine({ control, registry: registryBuffers, store: buffers, rings: [ring], intervalMs: 1000, ownReadings: false, clock: () => now });
  engine.start(T0);
  const id = registry.seriesId('latency', { route: '/a' });
  return {
    registry,
    registryBuffers,
    buffers,
    control,
    /** One second of samples, then the bucket closes. */
    second(values: number[]): void {
      for (const v of values) producer.push(id, v);
      producer.publish();
      now += 1000;
      engine.pass(now);
    },
  };
}
