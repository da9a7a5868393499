import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapacityError, InvalidArgumentError, PerformanceMonitor } from '../dist/src/index.js';
import { allocating, checkMemory } from '../dist/src/engine/memory.js';
import { MAX_RELATIVE_ERROR, SketchAccumulator, keyOf, valueOf } from '../dist/src/engine/sketch.js';
import { caught } from './helpers.js';


describe('options whose memory cannot be had', () => {
  it('are refused before anything is allocated, naming the options and the bytes', () => {
    // 10,000 series of 65,536 raw samples and a million buckets each: about 650 GB.
    const e = caught<CapacityError>(() => new PerformanceMonitor({ storage: 'memory', rawCapacity: 65536, bucketCapacity: 1_000_000 }));
    expect(e).toBeInstanceOf(CapacityError);
    expect(e.field).toBe('maxSeries');
    expect(e.message).toMatch(/^maxSeries and the options beside it ask for [\d.]+ GiB \([\d,]+ bytes\) of shared memory, more than this machine's [\d.]+ GiB/);
    expect(e.message).toMatch(/series store \(maxSeries 10000 \+ 128 own series × 65,\d{3},\d{3} bytes each, sized by rawCapacity 65536, bucketCapacity 1000000, rollupCapacity 360\)/);
  });

  it('are refused for a producer handle whose rings do not fit', () => {
    const m = new PerformanceMonitor({ storage: 'memory', ringCapacity: 1 << 26, producerThreads: 256, system: { enabled: false }, runtime: { enabled: false } });
    const e = caught<CapacityError>(() => m.producer());
    expect(e).toMatchObject({ code: 'PW_ERR_CAPACITY', field: 'producerThreads' });
    expect(e.message).toMatch(/256 rings of 67108864 samples \(producerThreads × ringCapacity\): [\d.]+ GiB/);
  });

  it('turn an allocation the system refuses into the same error', () => {
    expect(() => checkMemory([{ what: 'a part', option: 'sketchLogBytes', bytes: 2048 }], 1024)).toThrow(/^sketchLogBytes and the options beside it ask for 0\.0 MiB \(2,048 bytes\)/);
    const e = caught<CapacityError>(() =>
      allocating({ what: 'sketch log (sketchLogBytes 4096)', option: 'sketchLogBytes', bytes: 4096 }, () => {
        throw new RangeError('Array buffer allocation failed');
      }),
    );
    expect(e).toMatchObject({ code: 'PW_ERR_CAPACITY', field: 'sketchLogBytes' });
    expect(e.message).toMatch(/for the sketch log \(sketchLogBytes 4096\), and the allocation failed \(Array buffer allocation failed\)/);
  });
});

describe('extreme values', () => {
  const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
  beforeAll(() => m.start());
  afterAll(() => m.stop());

  it('are refused from 2^333 up with the limit in the message, and keep every aggregate finite below it', async () => {
    for (const v of [Number.MAX_VALUE, 2 ** 1023, -1e101, 1e300, 2 ** 333, -(2 ** 333)]) {
      expect(() => m.record('huge', v)).toThrow('value of huge must be a finite number of magnitude under 2^333 (~1.7e100)');
    }
    // The bound is exact: the largest double below 2^333 goes in.
    expect(() => m.record('edge', 2 ** 333 * (1 - 2 ** -53))).not.toThrow();
    expect(() => m.record('throughput', 2e100)).toThrow('value of throughput must be a finite number from 0 to under 2^333 (~1.7e100): counters only go up');
    for (let i = 0; i < 1000; i++) m.record('huge', 1e100);
    m.record('huge', -1e100);
    await m.flush();
    const [s] = m.getMetrics({ names: ['huge'] });
    expect(s!.totalCount).toBe(1001);
    expect(Number.isFinite(s!.totalSum)).toBe(true);
    expect(s!.window.p50).not.toBeNull();
    expect(Math.abs(s!.window.p99! - 1e100) / 1e100).toBeLessThan(0.01);
    expect(s!.window.min).toBe(-1e100);
  });

  it('read back from the sketch at the top of the double range, where they read NaN before', () => {
    for (const v of [2 ** 1023, 1.5 * 2 ** 1023, Number.MAX_VALUE, -Number.MAX_VALUE]) {
      const back = valueOf(keyOf(v));
      expect(Number.isFinite(back)).toBe(true);
      // The same bound as everywhere else (2^10 reads back 1031.94, as 2^1023 does 2^1023 × 1.0078).
      expect(Math.abs(back - v) / Math.abs(v)).toBeLessThanOrEqual(MAX_RELATIVE_ERROR * (1 + 1e-12));
    }
    const acc = new SketchAccumulator();
    acc.add(Number.MAX_VALUE);
    acc.add(Number.MAX_VALUE);
    expect(Number.isFinite(acc.quantile(0.5))).toBe(true);
  });

  it('refuses lone UTF-16 surrogates in tags (they would share a series with U+FFFD)', () => {
    for (const bad of ['\uD800', 'a\uDC00b', '\uDBFF']) {
      const e = caught<InvalidArgumentError>(() => m.record('queue_size', 1, { queue: bad }));
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect(e.message).toBe('tags.queue must be well-formed Unicode: it holds a lone UTF-16 surrogate');
    }
    // A whole pair is fine.
    expect(() => m.record('queue_size', 1, { queue: 'mail \uD83D\uDCE8' })).not.toThrow();
  });
});
