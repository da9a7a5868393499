import { afterEach, describe, expect, it } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { countCalls } from './helpers.js';

let m: PerformanceMonitor | undefined;
afterEach(async () => {
  await m?.close();
  m = undefined;
});

describe("a page of getMetrics()", () => {
  it('reads the series up to the end of its page, not past it, and answers the same page', async () => {
    m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false }, overhead: { enabled: false }, maxSeries: 2000, collectionIntervalMs: 300_000 });
    await m.start();
    for (let i = 0; i < 600; i++) m.record('page_walk', i, { i: String(i) });
    await m.flush();
    const all = m.getMetrics({ names: ['page_walk'] });
    expect(all).toHaveLength(600);
    // getMetrics() decodes each series' name and tags it lists with registry.info().
    const seen = countCalls(m, 'registry', 'info');
    const page = m.getMetrics({ names: ['page_walk'], offset: 10, limit: 20 });
    expect(page.map((s) => s.tags.i)).toEqual(all.slice(10, 30).map((s) => s.tags.i));
    // The monitor's own series and the 30 of the page, and the one that ends it: not 600.
    expect(seen.calls).toBeLessThan(100);
    // A name with no data, or none at all, is checked as before when the page ended first.
    expect(m.getMetrics({ names: ['page_walk', 'cpu_usage'], limit: 1 })).toHaveLength(1);
    expect(() => m!.getMetrics({ names: ['page_walk', 'no_such_metric'], limit: 1 })).toThrow(/no_such_metric/);
  });
});
