/**
 * The monitor's shared memory: the control block, the registry, the series store and the
 * main thread's ring, and the rings of producer() handles. Every size is known before the
 * first byte is allocated (each buffer's module says its own: storeSizes, registryBytes,
 * bytesFor, alertProgressBytes, foldShareBytes), so that a configuration the machine cannot
 * hold fails at construction with an error naming its options.
 */
import { alertProgressBytes } from '../alerts/alerting.js';
import { foldShareBytes } from '../analysis/fold-share.js';
import { createControl } from '../engine/control.js';
import { allocating, checkMemory, type MemoryNeed } from '../engine/memory.js';
import type { MemoryLimit } from '../engine/memory-limit.js';
import { OWN_SERIES, createRegistry, registryBytes, type RegistryBuffers } from '../engine/registry.js';
import { bytesFor, closeRing, createRing } from '../engine/ring.js';
import { createStore, storeSizes, type StoreBuffers, type StoreConfig } from '../engine/store/layout.js';
import { rollupIntervalMs, type ResolvedOptions } from './options.js';

export interface MonitorBuffers {
  control: SharedArrayBuffer;
  registry: RegistryBuffers;
  store: StoreBuffers;
  /** The main thread's ring, closed until the monitor starts. */
  mainRing: SharedArrayBuffer;
  /** Series ids the store holds: the application's maxSeries and the monitor's own. */
  seriesCapacity: number;
}

interface Plan {
  limits: { maxSeries: number; maxTags: number; maxTagValueLength: number };
  storeConfig: StoreConfig;
  seriesNeed: MemoryNeed;
  registryNeed: MemoryNeed;
  ringNeed: MemoryNeed;
  needs: MemoryNeed[];
}

function plan(o: ResolvedOptions): Plan {
  const limits = { maxSeries: o.maxSeries, maxTags: o.maxTags, maxTagValueLength: o.maxTagValueLength };
  const storeConfig: StoreConfig = {
    maxSeries: o.maxSeries + OWN_SERIES,
    rawCapacity: o.rawCapacity,
    bucketCapacity: o.bucketCapacity,
    rollupCapacity: o.rollupCapacity,
    intervalMs: o.collectionIntervalMs,
    rollupMs: rollupIntervalMs(o.collectionIntervalMs),
    logBytes: o.sketchLogBytes,
    rollupLogBytes: o.rollupLogBytes,
    poolBytes: o.sketchPoolBytes,
  };
  const sizes = storeSizes(storeConfig);
  const seriesNeed: MemoryNeed = {
    what: `series store (maxSeries ${o.maxSeries} + ${OWN_SERIES} own series × ${sizes.slotBytes.toLocaleString('en-US')} bytes each, sized by rawCapacity ${o.rawCapacity}, bucketCapacity ${o.bucketCapacity}, rollupCapacity ${o.rollupCapacity})`,
    option: 'maxSeries',
    bytes: sizes.meta + sizes.hot + sizes.series + alertProgressBytes(storeConfig.maxSeries),
  };
  const registryNeed: MemoryNeed = { what: `registry (maxSeries ${o.maxSeries})`, option: 'maxSeries', bytes: registryBytes(limits) };
  const ringNeed: MemoryNeed = { what: `main thread's ring (ringCapacity ${o.ringCapacity})`, option: 'ringCapacity', bytes: bytesFor(o.ringCapacity) };
  const needs = [
    seriesNeed,
    registryNeed,
    { what: `sketch log (sketchLogBytes ${o.sketchLogBytes})`, option: 'sketchLogBytes', bytes: sizes.log },
    { what: `rollup sketch log (rollupLogBytes ${o.rollupLogBytes})`, option: 'rollupLogBytes', bytes: sizes.rollupLog },
    { what: `sketch pool (sketchPoolBytes ${o.sketchPoolBytes})`, option: 'sketchPoolBytes', bytes: sizes.pool },
    ringNeed,
  ];
  // The exporter's histograms, kept past its thread (analysis/fold-share.ts; export-link.ts allocates them).
  if (o.export.remoteWrite.length + o.export.otlp.length > 0) {
    needs.push({ what: `exporter's histogram folds (maxSeries ${o.maxSeries} + ${OWN_SERIES} own series × export.histogramBuckets ${o.export.histogramBuckets.length} + 1)`, option: 'maxSeries', bytes: foldShareBytes(storeConfig.maxSeries, o.export.histogramBuckets.length) });
  }
  return { limits, storeConfig, seriesNeed, registryNeed, ringNeed, needs };
}

/** The bytes the buffers of these options reserve; a page of them costs memory once written. */
export function buffersBytes(o: ResolvedOptions): number {
  return plan(o).needs.reduce((a, n) => a + n.bytes, 0);
}

/** Allocates the buffers, refusing first options whose buffers need more than `limit` (the memory this process may use). */
export function allocateBuffers(o: ResolvedOptions, limit: MemoryLimit): MonitorBuffers {
  const { limits, storeConfig, seriesNeed, registryNeed, ringNeed, needs } = plan(o);
  checkMemory(needs, limit);
  const control = createControl();
  const registry = allocating(registryNeed, () => createRegistry(limits));
  const store = allocating(seriesNeed, () => createStore(storeConfig));
  const mainRing = allocating(ringNeed, () => createRing(o.ringCapacity));
  closeRing(mainRing, true);
  return { control, registry, store, mainRing, seriesCapacity: storeConfig.maxSeries };
}

/** The rings of one producer() handle, one per thread that may attach to it. */
export function allocateRings(o: ResolvedOptions, limit: MemoryLimit): SharedArrayBuffer[] {
  const { producerThreads, ringCapacity } = o;
  const need: MemoryNeed = { what: `${producerThreads} rings of ${ringCapacity} samples (producerThreads × ringCapacity)`, option: 'producerThreads', bytes: producerThreads * bytesFor(ringCapacity) };
  checkMemory([need], limit);
  return allocating(need, () => Array.from({ length: producerThreads }, () => createRing(ringCapacity)));
}
