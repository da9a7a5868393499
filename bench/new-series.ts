/**
 * What a new series costs the thread that records it: `npm run bench:new-series`.
 *
 * The first record(name, v, tags) of a tag set registers its series in the shared registry
 * on the recording thread (a service's own thread, for its handle): the tags are checked,
 * the key is encoded, hashed and looked up, then appended under the tables' locks. Measured
 * at ordinary tags (3 tags of 12 characters) and at the extremes the limits allow (maxTags
 * 64, maxTagValueLength 4,096, values of three-byte characters: a 786 KB key), as
 * milliseconds of the recording thread's wall clock per new series (the median of the
 * series after the first, min–max beside it). Then the first lookup of each of those
 * series by another Registry view of the same tables, as a thread that did not register
 * them (a restored catalog, another worker) does. Beside it, prom-client's Histogram with
 * the same label sets: its first observe() of each. And the JavaScript heap the monitor holds
 * for those series once the caller's tag objects are gone (after a collection, when node runs
 * with --expose-gc, as `npm run bench:new-series` does).
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import client from 'prom-client';
import { Registry } from '../src/engine/registry.js';
import { PerformanceMonitor } from '../src/index.js';

interface Shape {
  label: string;
  tags: number;
  length: number;
  series: number;
}

const SHAPES: Shape[] = [
  { label: '3 tags of 12 characters', tags: 3, length: 12, series: 2000 },
  { label: '64 tags of 4,096 three-byte characters (a 786 KB key)', tags: 64, length: 4096, series: Number(process.env.BENCH_WIDE_SERIES ?? 40) },
];

function tagsOf(shape: Shape, s: number): Record<string, string> {
  const tags: Record<string, string> = {};
  for (let i = 0; i < shape.tags; i++) {
    const head = `${s}:${i}:`;
    tags[`t${i}`] = shape.length > 12 ? head + String.fromCharCode(0x4e00 + ((s + i) % 500)).repeat(shape.length - head.length) : head.padEnd(shape.length, 'x');
  }
  return tags;
}

function summary(ms: number[]): string {
  const sorted = ms.slice(1).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `${median.toFixed(3)} ms (${sorted[0]!.toFixed(3)}–${sorted[sorted.length - 1]!.toFixed(3)})`;
}

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

async function main(): Promise<void> {
  console.log(`new series on the recording thread; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  for (const shape of SHAPES) {
    let sets = Array.from({ length: shape.series }, (_, s) => tagsOf(shape, s));
    const m = new PerformanceMonitor({ storage: 'memory', maxSeries: shape.series + 10, maxTags: 64, maxTagValueLength: 4096, system: { enabled: false }, runtime: { enabled: false } });
    await m.start();
    const heapBefore = heapUsed();
    const first: number[] = [];
    for (const tags of sets) {
      const t0 = performance.now();
      m.record('bench_new_series', 1, tags);
      first.push(performance.now() - t0);
    }
    // Another view of the same tables, as a thread that did not register them.
    const other = new Registry((m as unknown as { registryBuffers: ConstructorParameters<typeof Registry>[0] }).registryBuffers, 9);
    const found: number[] = [];
    for (const tags of sets) {
      const t0 = performance.now();
      other.seriesId('bench_new_series', tags);
      found.push(performance.now() - t0);
    }
    const count = sets.length;
    const keys = Object.keys(sets[0]!);
    // The monitor's own hold: the tag values it keeps are the caller's strings, so the caller's
    // sets are made again for prom-client after this reading.
    sets = [];
    const heapHeld = (heapUsed() - heapBefore) / count;
    await m.stop();
    sets = Array.from({ length: count }, (_, s) => tagsOf(shape, s));
    const registry = new client.Registry();
    const histogram = new client.Histogram({ name: 'bench_new_series', help: 'h', labelNames: keys, registers: [registry] });
    const prom: number[] = [];
    for (const tags of sets) {
      const t0 = performance.now();
      histogram.observe(tags, 1);
      prom.push(performance.now() - t0);
    }
    console.log(`${shape.label}, ${shape.series} series:`);
    console.log(`  perfwatch record(), first of a tag set: ${summary(first)} a series`);
    console.log(`  perfwatch, another thread's first lookup: ${summary(found)} a series`);
    console.log(`  prom-client Histogram.observe(), first of a label set: ${summary(prom)} a series`);
    console.log(`  perfwatch's JavaScript heap for them: ${(heapHeld / 1024).toFixed(1)} KB a series${globalThis.gc ? '' : ' (without --expose-gc: garbage included)'}`);
  }
  console.log(`load after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

await main();
