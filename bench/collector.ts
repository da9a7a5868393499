/**
 * The collector's cost per sample, on one thread: `npm run bench:collector`.
 *
 * The engine the collector actor runs (src/engine/engine.ts) is driven on a synthetic clock
 * at a steady 1M samples/s: every 10 ms of synthetic time (BENCH_PASS_MS) a chunk of 10,000
 * samples, spread evenly over the series (a fixed shuffled order), is pushed into a ring and
 * one pass drains it; buckets close every second as in the actor. The figure is the thread's CPU per sample
 * applied (process.cpuUsage: nothing else runs in this process), closes and rollups included.
 *
 * The breakdown rows are loops of this file's own that make the same memory accesses as the
 * engine's apply, part by part, over the same chunks and a store of the same shape: what each
 * part adds per sample. They are a model (no bucket close, no page lookups), not the engine.
 */
import { cpus } from 'node:os';
import { SKETCH_OVERFLOW, createControl } from '../src/engine/control.js';
import { Engine } from '../src/engine/engine.js';
import { Registry, createRegistry } from '../src/engine/registry.js';
import { RingWriter, createRing } from '../src/engine/ring.js';
import { KEY_SHIFT, PAGE_BINS, PAGE_BITS } from '../src/engine/sketch.js';
import { HOT_F64, StoreLayout, createStore, type StoreConfig } from '../src/engine/store/layout.js';
import { values } from './values.js';

const SERIES = (process.env.BENCH_SERIES ?? '100,1000,10000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** BENCH_MODEL=0: the engine's rows alone (for paired runs of two builds). */
const MODEL = process.env.BENCH_MODEL !== '0';
/**
 * BENCH_PASS_MS: the synthetic time between passes (default 10); each takes 1,000 samples a
 * ms of it. The actor at 1M samples/s wakes at half its ring, every ~33 ms (BENCH_PASS_MS=33:
 * at 10,000 series about three samples a series a pass, where 10 ms gives one).
 */
const PASS_MS = Number(process.env.BENCH_PASS_MS ?? 10);
const CHUNK = 1000 * PASS_MS;
const MiB = 1024 * 1024;
const T0 = 1_800_000_000_000;

/** The defaults of a monitor (options.ts) for `series` application series. */
function config(series: number): StoreConfig {
  return {
    maxSeries: Math.max(10_000, series) + 128,
    rawCapacity: 256,
    bucketCapacity: 300,
    rollupCapacity: 360,
    intervalMs: 1000,
    rollupMs: 60_000,
    logBytes: 32 * MiB,
    rollupLogBytes: 32 * MiB,
    poolBytes: 32 * MiB,
  };
}

/** A chunk's series ids: each series CHUNK / series times, in a fixed shuffled order. */
function chunkIds(series: number): Int32Array {
  const ids = new Int32Array(CHUNK);
  for (let i = 0; i < CHUNK; i++) ids[i] = i % series;
  let seed = 7;
  for (let i = CHUNK - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const j = seed % (i + 1);
    const x = ids[i]!;
    ids[i] = ids[j]!;
    ids[j] = x;
  }
  return ids;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** ns of CPU per sample through the engine at 1M/s over `series` series. */
function engineRun(series: number): { ns: number; overflow: number } {
  const cfg = config(series);
  const store = createStore(cfg);
  const registryBuffers = createRegistry({ maxSeries: cfg.maxSeries, maxTags: 8, maxTagValueLength: 64 });
  const registry = new Registry(registryBuffers, 1);
  const idOf = Array.from({ length: series }, (_, i) => registry.seriesId('bench', { series: String(i) }));
  const ring = createRing(1 << 16);
  const control = createControl();
  const producer = new RingWriter(ring, control, 'drop');
  let now = T0;
  const engine = new Engine({ control, registry: registryBuffers, store, rings: [ring], intervalMs: cfg.intervalMs, ownReadings: false, clock: () => now });
  engine.start(T0);
  const ids = chunkIds(series);
  let v = 0;
  const run = (passes: number): number => {
    let cpu = 0;
    for (let p = 0; p < passes; p++) {
      for (let i = 0; i < CHUNK; i++) producer.push(idOf[ids[i]!]!, values[v++ & 4095]!);
      producer.publish(false);
      now += PASS_MS;
      const c0 = cpuMs();
      engine.pass(now);
      cpu += cpuMs() - c0;
    }
    return cpu;
  };
  run(300); // warm-up, past the first buckets and the JIT
  const passes = (SECONDS * 1000) / PASS_MS;
  const cpu = run(passes);
  return { ns: (cpu * 1e6) / (passes * CHUNK), overflow: new Float64Array(control)[SKETCH_OVERFLOW]! };
}

/** Model loops: the engine's apply, part by part (see the header). */
function modelRun(series: number, parts: number): number {
  const cfg = config(series);
  const store = createStore(cfg);
  const L = new StoreLayout(new Int32Array(store.meta));
  const hot = new Float64Array(store.hot);
  const f = new Float64Array(store.series);
  const pool = new Uint32Array(store.pool);
  const ringIds = new Int32Array(new SharedArrayBuffer(4 * 65536));
  const ringValues = new Float64Array(new SharedArrayBuffer(8 * 65536));
  const hdr = new Int32Array(new SharedArrayBuffer(256));
  const touch = new Int32Array(cfg.maxSeries);
  const ids = chunkIds(series);
  const keyScratch = new Float64Array(1);
  const keyWords = new Uint32Array(keyScratch.buffer);
  // Two sketch pages per series, where the pool's free list puts them: consecutive pages.
  const pageOf = Int32Array.from({ length: 2 * cfg.maxSeries }, (_, i) => (i % (pool.length / PAGE_BINS - 1)) + 1);
  const slotF64 = L.slotF64;
  const rawOffset = L.rawOffsetF64;
  let w = 0;
  let r = 0;
  let v = 0;
  let pass = 1;
  const apply = (): void => {
    for (let k = 0; k < CHUNK; k++) {
      const at = r & 65535;
      const id = ringIds[at]!;
      const x = ringValues[at]!;
      r = (r + 1) | 0;
      if (parts >= 1) {
        const hb = id * HOT_F64;
        hot[hb] = hot[hb]! + 1;
        hot[hb + 1]! += x;
        if (x < hot[hb + 2]!) hot[hb + 2] = x;
        if (x > hot[hb + 3]!) hot[hb + 3] = x;
        hot[hb + 4] = x;
      }
      if (parts >= 2) {
        keyScratch[0] = x;
        const key = keyWords[1]! >>> KEY_SHIFT;
        pool[pageOf[2 * id + ((key >>> PAGE_BITS) & 1)]! * PAGE_BINS + (key & (PAGE_BINS - 1))]! += 1;
      }
      if (parts >= 3) {
        const hb = id * HOT_F64;
        const written = hot[hb + 6]!;
        const raw = id * slotF64 + rawOffset + 2 * (written & 255);
        f[raw] = T0;
        f[raw + 1] = x;
        hot[hb + 6] = written + 1;
      }
      if (parts >= 4 && touch[id] !== pass) touch[id] = pass;
      hdr[32] = r;
    }
    pass++;
  };
  const run = (passes: number): number => {
    let cpu = 0;
    for (let p = 0; p < passes; p++) {
      for (let i = 0; i < CHUNK; i++) {
        ringIds[w & 65535] = ids[i]!;
        ringValues[w & 65535] = values[v++ & 4095]!;
        w++;
      }
      const c0 = cpuMs();
      apply();
      cpu += cpuMs() - c0;
    }
    return cpu;
  };
  run(300);
  const passes = (SECONDS * 1000) / PASS_MS;
  return (run(passes) * 1e6) / (passes * CHUNK);
}

const PARTS = ['read the ring slot, count APPLIED', '+ hot line (count, sum, min, max, last)', '+ sketch bin', '+ timestamped raw copy', '+ touched mark'];

function range(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return s[0] === s[s.length - 1] ? s[0]!.toFixed(1) : `${s[0]!.toFixed(1)} – ${s[s.length - 1]!.toFixed(1)}`;
}

function main(): void {
  const engineNs = new Map<number, number[]>(SERIES.map((s) => [s, []]));
  const model = new Map<string, number[]>();
  let overflow = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of SERIES) {
      const e = engineRun(s);
      engineNs.get(s)!.push(e.ns);
      overflow += e.overflow;
      for (let p = 0; MODEL && p < PARTS.length; p++) {
        const key = `${s}:${p}`;
        if (!model.has(key)) model.set(key, []);
        model.get(key)!.push(modelRun(s, p));
      }
      process.stderr.write(`  round ${round + 1}, ${s} series: engine ${e.ns.toFixed(1)} ns/sample\n`);
    }
  }
  console.log(`\nperfwatch collector benchmark — ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
  console.log(`1M samples/s on a synthetic clock (${CHUNK} samples every ${PASS_MS} ms), ${SECONDS} s per run, ${ROUNDS} rounds; ns of CPU per sample, range over rounds\n`);
  console.log(`| part of the work | ${SERIES.map((s) => `${s.toLocaleString('en-US')} series`).join(' | ')} |`);
  console.log(`|---|${SERIES.map(() => '---:').join('|')}|`);
  for (let p = 0; MODEL && p < PARTS.length; p++) console.log(`| model: ${PARTS[p]} | ${SERIES.map((s) => range(model.get(`${s}:${p}`)!)).join(' | ')} |`);
  console.log(`| **the engine's pass** (closes and rollups included) | ${SERIES.map((s) => `**${range(engineNs.get(s)!)}**`).join(' | ')} |`);
  console.log(`| … as % of one core at 1M samples/s | ${SERIES.map((s) => range(engineNs.get(s)!.map((ns) => ns / 10))).join(' | ')} |`);
  if (overflow > 0) console.log(`\nsamples with no sketch page (sketch pool full): ${overflow}`);
}

main();
