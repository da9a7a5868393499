/**
 * The collector actor: drains every producer ring into the series store (its only writer),
 * keeps the shared clock, closes buckets on the interval, rolls them up by the minute, and
 * samples the system metrics and its own.
 *
 * Loop: while rings hold data, drain passes run back to back (yielding to the event loop
 * every few ms so control calls get answered); when they are empty it sets SLEEPING and
 * waits on the doorbell with Atomics.waitAsync, never a blocking wait, until a producer
 * rings or the next bucket boundary is due. Control calls arrive over comlink, on the port the
 * watchdog thread (its parent, src/actors/watchdog.ts) handed to the coordinator.
 *
 * Heartbeat: CLOCK at every round, and BEAT_BY, the time by which it will beat again (now
 * while busy, the wake-up time before it sleeps); passes over all series beat as they go. The
 * watchdog replaces it a grace period past a broken promise.
 *
 * On start it calls StoreWriter.recover(): a collector restarted after a crash resumes from
 * the rings' APPLIED cells and the store's own state, so no sample is lost or applied twice.
 */
import { getHeapStatistics } from 'node:v8';
import { threadId, workerData } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { nodeEndpoint } from '../src/actors/comlink-node.js';
import {
  BAD_SAMPLES,
  BEAT_BY,
  BUCKET_EPOCH,
  CLOCK,
  CLOSED_BUCKET_START,
  DOORBELL,
  DRAIN_EPOCH,
  DRAIN_PASSES,
  HANG_AT,
  INGESTED,
  OWN_FAULTS,
  PAUSED,
  PENDING_SINCE,
  QUIET_AT,
  RUNG_AT,
  SKETCH_OVERFLOW,
  SLEEPING,
  STARTED_AT,
  controlViews,
} from '../src/engine/control.js';
import { Registry } from '../src/engine/registry.js';
import { RingReader, RingWriter, WRITE, createRing, ringStats } from '../src/engine/ring.js';
import { PendingClock } from '../src/engine/pending-clock.js';
import { StoreWriter } from '../src/engine/store/writer.js';
import { SystemSampler } from '../src/engine/system.js';
import { measured } from '../src/engine/precision.js';
import { threadCpuMs } from '../src/engine/thread-cpu.js';
import type { CollectorApi, CollectorData } from '../src/actors/protocols.js';

/** Samples taken from one ring per pass before moving to the next. */
const BATCH = 1 << 16;
/** Longest run of back-to-back passes before yielding to the event loop. */
const YIELD_MS = 4;
/** The nap after passes that moved data: the most a steady stream waits for the collector. */
const NAP_MS = 1;
/**
 * Longest sleep, so the heartbeat moves at least this often. Work done while it sleeps (a
 * comlink call, a timer) runs under the promise made before the sleep, so this bounds how
 * late a hang there is noticed: this plus the watchdog's grace (300 ms). Four wake-ups a
 * second cost an idle monitor about 0.01% of a core.
 */
const MAX_SLEEP_MS = 250;

const data = workerData as CollectorData;
const ctl = controlViews(data.control);
const registry = new Registry(data.registry, 0x40000000);

/** A heartbeat: alive now, and beating again by `by`. */
function beat(t: number, by = t): void {
  ctl.f64[CLOCK] = t;
  ctl.f64[BEAT_BY] = by;
}

const writer = new StoreWriter(data.store, () => beat(Date.now()));
const rings = data.rings.map((sab) => new RingReader(sab));
// The collector's own readings (system and monitor metrics) go through a ring of its own, so
// the store has one apply path. It is drained in the same pass that fills it.
const ownRing = createRing(4096);
const own = new RingWriter(ownRing, data.control, 'drop');
const ownReader = new RingReader(ownRing);
rings.push(ownReader);
const sampler = data.system.enabled
  ? new SystemSampler({ intervalMs: data.intervalMs, slowCadenceMs: data.system.slowCadenceMs, diskPaths: data.system.diskPaths })
  : undefined;
const ownIds = new Map<string, number>();
let stopping = false;
let stopped: () => void = () => {};
const done = new Promise<void>((resolve) => {
  stopped = resolve;
});
let flushWaiters: (() => void)[] = [];
let lastPassEnd = 0;
let lagMax = 0;
/** Per ring: when the samples waiting in it were first seen (see PendingClock). */
const clocks = new Map<RingReader, PendingClock>();
let droppedSinceSample = 0;
let ingestedAtSample = 0;
let nextSystemSample = 0;
/** How often the system and the collector's own metrics are sampled (setSystemCadence). */
let systemCadenceMs = data.intervalMs;

/**
 * Sample times are wall-clock ms from Date.now(), the clock every thread reads the same way,
 * so that a reader's `to = Date.now()` and the collector's stamps agree.
 */
function now(): number {
  return Date.now();
}

function wake(): void {
  Atomics.add(ctl.i32, DOORBELL, 1);
  Atomics.notify(ctl.i32, DOORBELL);
}

/** Records one of the collector's own readings straight into the store (no ring). */
function recordOwn(name: string, tags: Record<string, string> | undefined, value: number): void {
  const key = tags ? `${name}\u0000${JSON.stringify(tags)}` : name;
  let id = ownIds.get(key);
  if (id === undefined) {
    try {
      id = registry.ownSeriesId(name, tags);
    } catch {
      // The monitor's share of series is used up, or a mount name is no valid tag: the
      // reading is skipped, not the loop, and counted (status().faults).
      ctl.f64[OWN_FAULTS]! += 1;
      return;
    }
    ownIds.set(key, id);
  }
  if (Number.isFinite(value)) own.push(id, measured(value));
}

function sampleOwn(t: number): void {
  let fill = 0;
  for (const ring of rings) {
    droppedSinceSample += ring.takeDropped();
    fill = Math.max(fill, ring.fill() / ring.capacity);
  }
  const ingested = ctl.f64[INGESTED]!;
  recordOwn('monitor_ingested', undefined, ingested - ingestedAtSample);
  recordOwn('monitor_dropped', undefined, droppedSinceSample);
  recordOwn('monitor_ring_fill', undefined, fill);
  recordOwn('monitor_collector_lag', undefined, lagMax);
  ingestedAtSample = ingested;
  droppedSinceSample = 0;
  lagMax = 0;
  // A paused monitor (pause()) samples no system metrics; its ingestion metrics go on.
  if (sampler && Atomics.load(ctl.i32, PAUSED) === 0) for (const r of sampler.sample(t)) recordOwn(r.name, r.tags, r.value);
  // Applied here and now: the collector's own readings never count as a busy pass.
  own.publish(false);
  writer.drain(ownReader, t, BATCH);
  writer.publish();
}

/**
 * When data found waiting in a ring that was empty at the last pass was published: a
 * producer that rang the sleeping collector, or the monitor's runtime samples, published
 * without a ring just before a boundary, say when; otherwise it came after the last pass.
 */
function publishedSince(): number {
  const rungAt = ctl.f64[RUNG_AT]!;
  const quietAt = ctl.f64[QUIET_AT]!;
  const known = Math.min(rungAt > lastPassEnd ? rungAt : Infinity, quietAt > lastPassEnd ? quietAt : Infinity);
  return known === Infinity ? lastPassEnd : known;
}

/**
 * Drains every ring once, and keeps the age of what waits: each ring's clock notes the
 * write index seen now, the lag of this pass is the age of the oldest sample waiting before
 * it, and PENDING_SINCE says since when the oldest sample still waiting after it has waited.
 */
function drainPass(t: number): number {
  let moved = 0;
  let oldest = Infinity;
  const since = publishedSince();
  for (const ring of rings) {
    let clock = clocks.get(ring);
    if (!clock) clocks.set(ring, (clock = new PendingClock()));
    const write = Atomics.load(ring.hdr, WRITE);
    if (((write - ring.r) | 0) > 0) clock.see(write, clock.empty ? since : t);
    const lag = t - clock.oldest();
    if (lag > lagMax) lagMax = lag;
    moved += writer.drain(ring, t, BATCH);
    clock.consumed(ring.r);
    const left = clock.oldest();
    if (left < oldest) oldest = left;
  }
  ctl.f64[PENDING_SINCE] = oldest === Infinity ? 0 : oldest;
  return moved;
}

function anyPending(): boolean {
  for (const ring of rings) if (ring.available() > 0) return true;
  return false;
}

function afterPass(moved: number): void {
  if (moved > 0) {
    writer.publish();
    ctl.f64[INGESTED]! += moved;
    ctl.f64[DRAIN_PASSES]! += 1;
    Atomics.add(ctl.i32, DRAIN_EPOCH, 1);
    Atomics.notify(ctl.i32, DRAIN_EPOCH);
  }
  ctl.f64[BAD_SAMPLES] = writer.counters.badSamples;
  ctl.f64[SKETCH_OVERFLOW] = writer.counters.sketchOverflow;
}

function onBucketBoundary(t: number): void {
  writer.rollup(registry.seriesCount());
  ctl.f64[CLOSED_BUCKET_START] = writer.bucketStart - data.intervalMs;
  Atomics.add(ctl.i32, BUCKET_EPOCH, 1);
  // Readers wait on DRAIN_EPOCH alone; a closed bucket is news for them too.
  Atomics.add(ctl.i32, DRAIN_EPOCH, 1);
  Atomics.notify(ctl.i32, DRAIN_EPOCH);
  if (t >= nextSystemSample) {
    nextSystemSample = writer.bucketStart + systemCadenceMs;
    sampleOwn(t);
  }
}

/**
 * A short wait after busy passes, without raising SLEEPING: producers publishing meanwhile
 * do not ring, so a steady stream costs one wake-up per nap instead of one per publish.
 * flush() and stop() still end it early (they bump DOORBELL themselves).
 */
async function nap(): Promise<void> {
  ctl.f64[BEAT_BY] = Date.now() + NAP_MS;
  const result = Atomics.waitAsync(ctl.i32, DOORBELL, Atomics.load(ctl.i32, DOORBELL), NAP_MS);
  if (result.async) await result.value;
}

/** Waits for a producer or the next boundary. */
async function sleep(t: number): Promise<void> {
  const wakeAt = Math.min(writer.bucketStart + data.intervalMs, t + MAX_SLEEP_MS);
  // SLEEPING goes up before the doorbell is read and the rings are looked at once more:
  // a producer that published after that look sees SLEEPING and bumps DOORBELL, so the
  // wait below returns at once ('not-equal') instead of sleeping on data.
  Atomics.store(ctl.i32, SLEEPING, 1);
  const bell = Atomics.load(ctl.i32, DOORBELL);
  if (!anyPending() && flushWaiters.length === 0 && !stopping) {
    ctl.f64[BEAT_BY] = wakeAt;
    const result = Atomics.waitAsync(ctl.i32, DOORBELL, bell, Math.max(1, wakeAt - t));
    if (result.async) await result.value;
  }
  Atomics.store(ctl.i32, SLEEPING, 0);
}

async function run(): Promise<void> {
  const start = now();
  writer.recover(start, registry.seriesCount());
  writer.rollup(registry.seriesCount());
  beat(start);
  ctl.f64[STARTED_AT] = start;
  lastPassEnd = start;
  // The first readings: gauges now, and the baselines that cpu and network deltas need.
  if (sampler) for (const r of sampler.sample(start)) recordOwn(r.name, r.tags, r.value);
  own.publish(false);
  let lastYield = start;
  let busy = false;
  for (;;) {
    const t = now();
    beat(t);
    if (writer.advance(t)) onBucketBoundary(t);
    const moved = drainPass(t);
    afterPass(moved);
    const end = now();
    if (moved > 0) {
      lastPassEnd = end;
      busy = true;
    }
    if (moved > 0 && !stopping) {
      if (end - lastYield > YIELD_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        lastYield = now();
      }
      continue;
    }
    // Rings were empty at this pass: whoever waited for a flush has everything now.
    lastPassEnd = end;
    if (flushWaiters.length > 0) {
      const waiters = flushWaiters;
      flushWaiters = [];
      for (const w of waiters) w();
    }
    if (stopping) break;
    if (busy) {
      busy = false;
      await nap();
    } else {
      await sleep(end);
    }
    lastYield = now();
  }
  stopped();
}

const api: CollectorApi = {
  ready: () => ctl.f64[STARTED_AT]!,
  addRing(sab) {
    api.addRings([sab]);
  },
  addRings(list) {
    // A ring handed out while this collector was starting may be in workerData already.
    for (const sab of list) {
      const id = ringStats(sab).id;
      if (!rings.some((r) => r.id === id)) rings.push(new RingReader(sab));
    }
    wake();
  },
  flush() {
    return new Promise<number>((resolve) => {
      flushWaiters.push(() => resolve(ctl.f64[INGESTED]!));
      wake();
    });
  },
  info: () => ({
    rings: rings.length,
    openSeries: writer.openSeries(),
    freeSketchPages: writer.freePages(),
    system: {
      enabled: sampler !== undefined,
      platform: sampler?.platform ?? 'off',
      mounts: sampler?.diskMounts() ?? [],
      sources: sampler?.costs() ?? [],
    },
  }),
  async stop() {
    stopping = true;
    wake();
    await done;
  },
  usage: () => {
    const costs = sampler?.costs() ?? [];
    return {
      thread: threadId,
      cpuMs: threadCpuMs(),
      heapUsed: getHeapStatistics().used_heap_size,
      systemCadenceMs,
      slowCadenceMs: sampler?.slowCadenceMs ?? data.system.slowCadenceMs,
      spawnCalls: costs.filter((c) => c.spawnsProcesses).reduce((a, c) => a + c.calls, 0),
      // The sources that read files in this thread; the spawning ones cost in child processes.
      samplingMs: costs.filter((c) => !c.spawnsProcesses).reduce((a, c) => a + c.calls * c.meanMs, 0),
      samplePassMs: costs.filter((c) => !c.spawnsProcesses).reduce((a, c) => a + c.meanMs, 0),
    };
  },
  setSystemCadence(systemMs, slowMs) {
    if (Number.isFinite(systemMs) && systemMs > 0) {
      systemCadenceMs = Math.max(1, Math.ceil(systemMs / data.intervalMs)) * data.intervalMs;
      // A longer cadence applies from the last sample on; a shorter one at the next boundary.
      nextSystemSample = Math.min(nextSystemSample, writer.bucketStart + systemCadenceMs);
    }
    if (sampler && slowMs !== undefined && Number.isFinite(slowMs) && slowMs > 0) sampler.setSlowCadence(slowMs);
  },
  injectFault(fault) {
    // A few ms later, so that this call's reply reaches the coordinator first.
    if (fault === 'exit') setTimeout(() => process.exit(3), 5);
    else if (fault === 'throw') {
      setTimeout(() => {
        throw new Error('injected collector fault');
      }, 5);
    } else {
      setTimeout(() => {
        ctl.f64[HANG_AT] = Date.now();
        const until = Date.now() + 60_000;
        while (Date.now() < until) {
          // a stuck actor: the watchdog must notice and replace it
        }
      }, 5);
    }
  },
};

Comlink.expose(api, nodeEndpoint(data.port!));
void run();
