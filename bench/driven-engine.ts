/**
 * The collector's engine driven on the benchmark's own thread and clock: a registry, a
 * store, one ring and its producer ('drop': a bench checks what was applied). bench:alerts,
 * bench:metrics and bench:report fill their stores through it (test/synthetic.ts does the
 * same for the tests).
 */
import { createControl } from '../src/engine/control.js';
import { Engine } from '../src/engine/engine.js';
import { Registry, createRegistry, type RegistryBuffers } from '../src/engine/registry.js';
import { RingWriter, createRing } from '../src/engine/ring.js';
import { createStore, type StoreBuffers, type StoreConfig } from '../src/engine/store/layout.js';
import { StoreReader } from '../src/engine/store/reader.js';

export interface DrivenEngine {
  engine: Engine;
  registry: Registry;
  registryBuffers: RegistryBuffers;
  store: StoreBuffers;
  reader: StoreReader;
  producer: RingWriter;
  /** Moves the clock to `t`, publishes what the producer holds and drains it (closing buckets as due); the samples applied. */
  drain(t: number): number;
}

export function drivenEngine(config: StoreConfig, start: number, ringSlots = 1 << 20): DrivenEngine {
  const store = createStore(config);
  const registryBuffers = createRegistry({ maxSeries: config.maxSeries, maxTags: 4, maxTagValueLength: 32 });
  const registry = new Registry(registryBuffers, 1);
  const ring = createRing(ringSlots);
  const control = createControl();
  const producer = new RingWriter(ring, control, 'drop');
  let clock = start;
  const engine = new Engine({ control, registry: registryBuffers, store, rings: [ring], intervalMs: config.intervalMs, ownReadings: false, clock: () => clock });
  engine.start(start);
  return {
    engine,
    registry,
    registryBuffers,
    store,
    reader: new StoreReader(store),
    producer,
    drain(t) {
      clock = t;
      producer.publish();
      let applied = 0;
      for (let moved = engine.pass(t); moved > 0; moved = engine.pass(t)) applied += moved;
      return applied;
    },
  };
}
