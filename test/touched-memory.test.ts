import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import type { StoreReader } from '../dist/src/engine/store/reader.js';
import { countCalls } from './helpers.js';
import { touchedBytes as touchedStore } from '../dist/src/engine/store/usage.js';

let m: PerformanceMonitor | undefined;
afterEach(async () => {
  await m?.close();
  m = undefined;
});

describe("status()'s memory touched", () => {
  it("reads no series on the host's thread, before or after the collector wrote, and counts what it wrote", async () => {
    // No system or runtime readings and five-minute buckets: nothing writes between the calls.
    m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false }, maxSeries: 2000, collectionIntervalMs: 300_000 });
    await m.start();
    for (let i = 0; i < 500; i++) m.record('touched_walk', 1, { i: String(i) });
    await m.flush();
    // Every walk of the store asks everRecorded() of each series' hot line first.
    const seen = countCalls(m, 'reader', 'everRecorded');
    const reader = (m as unknown as { reader: StoreReader }).reader;
    const walked = (): number => touchedStore(reader, (m as unknown as { registry: { seriesCount(): number } }).registry.seriesCount(), (m as unknown as { sketchPagesPeak: number }).sketchPagesPeak);
    const first = m.status().memory.touchedBytes;
    // The collector counts the pages as it writes them (store/touched-pages.ts): at 100,000
    // series the walk held the host 12-19 ms at each poll of a service written every second.
    expect(seen.calls).toBe(0);
    expect(m.status().memory.touchedBytes).toBe(first);
    expect(seen.calls).toBe(0);
    const others = first - walked();
    expect(walked()).toBeGreaterThan(500 * 4096);
    seen.calls = 0;
    // A new series applied: the next status() counts its pages, still reading none.
    m.record('touched_walk', 1, { i: 'new' });
    await m.flush();
    const after = m.status().memory.touchedBytes;
    expect(seen.calls).toBe(0);
    expect(after - first).toBeGreaterThanOrEqual(4096);
    // The walk's figure, exactly (the rest: registry, rings, control block).
    expect(after - walked()).toBe(others);
  });
});
