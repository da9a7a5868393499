/**
 * Reading the open bucket's sketch while the writer bins: the reader counts a series' raw
 * samples that are not binned yet beside its bins, so a run binned in the middle of a read
 * must not count its samples twice. The writer's binning is staged at the exact point (the
 * reader's first raw read, after it took RAW_BINNED), on the test's own thread.
 */
import { describe, expect, it } from 'vitest';
import { T0, setup } from './store-harness.js';

describe('the open sketch read while the writer bins', () => {
  it('counts each sample once when a run is binned between the reader taking RAW_BINNED and reading the bins', () => {
    // Lazy binning (the default): 10 samples stay in the raw ring, unbinned.
    const { store, apply, state } = setup({ maxSeries: 64 });
    const values = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89];
    apply(T0 + 5, values.map((v) => [3, v] as [number, number]));
    const sum = (): number => {
      let n = 0;
      store.forEachOpenBin(3, (_key, count) => (n += count));
      return n;
    };
    expect(sum()).toBe(values.length);
    // The next read's first look at a raw sample bins the whole run first, as a collector on
    // another core would at that moment.
    const held = store as unknown as { f64: Float64Array };
    const f64 = held.f64;
    let staged = false;
    held.f64 = new Proxy(f64, {
      get(target, p) {
        if (!staged && typeof p === 'string' && /^\d+$/.test(p)) {
          staged = true;
          (state.writer as unknown as { binTail(id: number): void }).binTail(3);
        }
        return target[p as unknown as number];
      },
    });
    expect(sum()).toBe(values.length);
    expect(staged).toBe(true);
    held.f64 = f64;
    expect(sum()).toBe(values.length);
  });
});
