import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import type { StoreReader } from '../dist/src/engine/store/reader.js';

let m: PerformanceMonitor | undefined;
afterEach(async () => {
  await m?.close();
  m = undefined;
});

/** Counts the series whose hot line status()'s memory walk reads (usage.ts asks everRecorded() of each). */
function countReads(monitor: PerformanceMonitor): { reads: number } {
  const reader = (monitor as unknown as { reader: StoreReader }).reader;
  const seen = { reads: 0 };
  const everRecorded = reader.everRecorded.bind(reader);
  reader.everRecorded = (id: number): boolean => {
    seen.reads++;
    return everRecorded(id);
  };
  return seen;
}

describe("status()'s memory touched", () => {
  it('walks the series again only after the collector wrote, and counts what it wrote', async () => {
    // No system or runtime readings and five-minute buckets: nothing writes between the calls.
    m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false }, maxSeries: 2000, collectionIntervalMs: 300_000 });
    await m.start();
    for (let i = 0; i < 500; i++) m.record('touched_walk', 1, { i: String(i) });
    await m.flush();
    const seen = countReads(m);
    const first = m.status().memory.touchedBytes;
    expect(seen.reads).toBeGreaterThanOrEqual(500);
    seen.reads = 0;
    // Nothing changed: the dashboard's next poll, an agent's get_monitoring_status and the
    // overhead check read no series' slot (at 100,000 series the walk held the host 15-20 ms).
    expect(m.status().memory.touchedBytes).toBe(first);
    expect(m.status().memory.touchedBytes).toBe(first);
    expect(seen.reads).toBe(0);
    // A new series applied: the next status() walks and counts its pages.
    m.record('touched_walk', 1, { i: 'new' });
    await m.flush();
    const after = m.status().memory.touchedBytes;
    expect(seen.reads).toBeGreaterThanOrEqual(501);
    expect(after - first).toBeGreaterThanOrEqual(4096);
  });
});
