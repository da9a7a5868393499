import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CapacityError, InvalidArgumentError, PerformanceMonitor } from '../dist/src/index.js';
import { allocating, checkMemory } from '../dist/src/engine/memory.js';
import { MAX_RELATIVE_ERROR, SketchAccumulator, keyOf, valueOf } from '../dist/src/engine/sketch.js';
import { memoryInUse, memoryLimit } from '../dist/src/engine/memory-limit.js';
import { buffersBytes } from '../dist/src/monitor/buffers.js';
import { ADDRESS_SPACE_SOURCE, DEFAULT_SHARE, THREAD_RESIDENT, bindingLimit, noMemoryFor, resolveForMemory, startThreads } from '../dist/src/monitor/memory-fit.js';
import { resolveOptions } from '../dist/src/monitor/options.js';
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
    expect(() => checkMemory([{ what: 'a part', option: 'sketchLogBytes', bytes: 2048 }], { bytes: 1024, source: 'os.totalmem()' })).toThrow(/^sketchLogBytes and the options beside it ask for 0\.0 MiB \(2,048 bytes\)/);
    const e = caught<CapacityError>(() =>
      allocating({ what: 'sketch log (sketchLogBytes 4096)', option: 'sketchLogBytes', bytes: 4096 }, () => {
        throw new RangeError('Array buffer allocation failed');
      }),
    );
    expect(e).toMatchObject({ code: 'PW_ERR_CAPACITY', field: 'sketchLogBytes' });
    expect(e.message).toMatch(/for the sketch log \(sketchLogBytes 4096\), and the allocation failed \(Array buffer allocation failed\)/);
  });
});

describe('a container\'s memory limit', () => {
  const MiB = 1024 * 1024;
  let root = '';
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'perfwatch-cgroup-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), `${text}\n`);
  };

  it('is read from cgroup v2 memory.max, the lowest of the process\'s cgroup and its ancestors', () => {
    write('kubepods/memory.max', String(512 * MiB));
    write('kubepods/pod1/c1/memory.max', 'max');
    expect(memoryLimit({ root, membership: '0::/kubepods/pod1/c1\n' })).toEqual({ bytes: 512 * MiB, source: `cgroup v2 ${root}/kubepods/memory.max` });
    write('kubepods/pod1/c1/memory.max', String(256 * MiB));
    expect(memoryLimit({ root, membership: '0::/kubepods/pod1/c1\n' })).toEqual({ bytes: 256 * MiB, source: `cgroup v2 ${root}/kubepods/pod1/c1/memory.max` });
  });

  it('is read from cgroup v1 memory.limit_in_bytes, also where the container sees its own cgroup as the root', () => {
    // Docker on cgroup v1: /proc/self/cgroup names the host's path, the mount holds the container's cgroup at its root.
    write('memory/memory.limit_in_bytes', String(300 * MiB));
    const membership = '12:pids:/docker/abc\n4:cpu,memory:/docker/abc\n0::/\n';
    expect(memoryLimit({ root, membership })).toEqual({ bytes: 300 * MiB, source: `cgroup v1 ${root}/memory/memory.limit_in_bytes` });
    // Unlimited reads as about 2^63: the machine's memory is the limit.
    write('memory/memory.limit_in_bytes', '9223372036854771712');
    expect(memoryLimit({ root, membership })).toEqual({ bytes: totalmem(), source: 'os.totalmem()' });
    expect(memoryLimit({ root, membership: '' })).toEqual({ bytes: totalmem(), source: 'os.totalmem()' });
  });

  it('sizes maxSeries and the sketch buffers not given to a quarter of it, keeps the ones given, and says so in status()', () => {
    const limit = { bytes: 256 * MiB, source: 'cgroup v2 /sys/fs/cgroup/memory.max' };
    const { options, memory } = resolveForMemory({ storage: 'memory' }, limit);
    expect(memory.scale).toBeGreaterThan(0);
    expect(memory.scale).toBeLessThan(1);
    expect(memory).toMatchObject(limit);
    expect(options.maxSeries).toBeLessThan(10_000);
    expect(options.maxSeries).toBeGreaterThanOrEqual(16);
    expect(options.sketchLogBytes).toBeLessThan(32 * MiB);
    // What the defaults reserve (about 0.6 GB) would be written as series fill; the scaled buffers stay within about a quarter.
    expect(buffersBytes(options)).toBeLessThanOrEqual(DEFAULT_SHARE * limit.bytes + 16 * MiB);
    const given = resolveForMemory({ storage: 'memory', maxSeries: 5000, sketchLogBytes: 8 * MiB }, limit).options;
    expect(given.maxSeries).toBe(5000);
    expect(given.sketchLogBytes).toBe(8 * MiB);
    expect(given.sketchPoolBytes).toBeLessThan(40 * MiB);
    // A machine's worth of memory: the defaults as documented.
    const roomy = resolveForMemory({ storage: 'memory' }, { bytes: 64 * 1024 * MiB, source: 'cgroup v2 /sys/fs/cgroup/memory.max' });
    expect(roomy.options.maxSeries).toBe(10_000);
    expect(roomy.memory.scale).toBe(1);
    // No cgroup: the machine's memory bounds the check only, as before.
    const machine = resolveForMemory({ storage: 'memory' }, { bytes: 1024 * MiB, source: 'os.totalmem()' });
    expect(machine.options.maxSeries).toBe(10_000);
    expect(machine.memory.scale).toBe(1);
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    expect(m.status().memory.limit).toMatchObject(memoryLimit());
  });

  it('is counted as used from the usage file beside the limit (v1 memory.usage_in_bytes, v2 memory.current) less its inactive file cache, else from the process\'s resident set', () => {
    write('v1/memory.usage_in_bytes', String(45 * MiB));
    write('v2/memory.current', String(50 * MiB));
    const rss = (): number => 7 * MiB;
    expect(memoryInUse({ bytes: 64 * MiB, source: `cgroup v1 ${root}/v1/memory.limit_in_bytes` }, rss)).toEqual({ bytes: 45 * MiB, source: `${root}/v1/memory.usage_in_bytes` });
    expect(memoryInUse({ bytes: 64 * MiB, source: `cgroup v2 ${root}/v2/memory.max` }, rss)).toEqual({ bytes: 50 * MiB, source: `${root}/v2/memory.current` });
    // Less the file cache the kernel reclaims before it kills: the usage counts the page cache,
    // and a service that had read its files read as full (v1's hierarchical total first).
    write('v1/memory.stat', `cache ${30 * MiB}\ninactive_file ${5 * MiB}\ntotal_inactive_file ${20 * MiB}\n`);
    write('v2/memory.stat', `anon ${10 * MiB}\nfile ${40 * MiB}\ninactive_file ${35 * MiB}\n`);
    expect(memoryInUse({ bytes: 64 * MiB, source: `cgroup v1 ${root}/v1/memory.limit_in_bytes` }, rss)).toEqual({ bytes: 25 * MiB, source: `${root}/v1/memory.usage_in_bytes less inactive_file` });
    expect(memoryInUse({ bytes: 64 * MiB, source: `cgroup v2 ${root}/v2/memory.max` }, rss)).toEqual({ bytes: 15 * MiB, source: `${root}/v2/memory.current less inactive_file` });
    expect(memoryInUse({ bytes: 64 * MiB, source: `cgroup v2 ${root}/none/memory.max` }, rss)).toEqual({ bytes: 7 * MiB, source: 'rss' });
    expect(memoryInUse({ bytes: 64 * MiB, source: 'os.totalmem()' }, rss)).toEqual({ bytes: 7 * MiB, source: 'rss' });
    // No file descriptor left: process.memoryUsage.rss() throws EMFILE, which failed start() with it.
    const noFds = (): number => {
      throw Object.assign(new Error('EMFILE: too many open files, uv_resident_set_memory'), { code: 'EMFILE' });
    };
    expect(memoryInUse({ bytes: 64 * MiB, source: `cgroup v2 ${root}/none/memory.max` }, noFds)).toBeUndefined();
  });

  it('takes the buffers\' quarter from what the monitor\'s threads leave of it', () => {
    const limit = { bytes: 256 * MiB, source: 'cgroup v2 /sys/fs/cgroup/memory.max' };
    const threads = startThreads(resolveOptions({ storage: 'memory' }));
    expect(threads).toEqual(['watchdog', 'collector', 'alerts']);
    expect(startThreads(resolveOptions({}))).toEqual(['watchdog', 'storage', 'collector', 'alerts']);
    const { memory } = resolveForMemory({ storage: 'memory' }, limit);
    expect(memory.scale).toBeCloseTo((DEFAULT_SHARE * (limit.bytes - threads.length * THREAD_RESIDENT)) / buffersBytes(resolveOptions({ storage: 'memory' })), 12);
  });

  it('refuses the monitor\'s threads when the limit less what is in use of it cannot hold them, naming the limit, the use, the need and the ways out', () => {
    const file = '/sys/fs/cgroup/memory/box/memory.limit_in_bytes';
    const threads = startThreads(resolveOptions({}));
    const limit = { bytes: 64 * MiB, source: `cgroup v1 ${file}` };
    expect(noMemoryFor(threads, limit, { bytes: 45 * MiB, source: '/sys/fs/cgroup/memory/box/memory.usage_in_bytes' }, "storage: 'memory'")).toBe(
      "no room for the monitor's 4 threads (watchdog, storage, collector, alerts) under the memory limit: it is 64 MiB (cgroup v1 /sys/fs/cgroup/memory/box/memory.limit_in_bytes), 45 MiB is in use (/sys/fs/cgroup/memory/box/memory.usage_in_bytes), 19 MiB is left, and they need about 80 MiB (20 MiB each); past the limit the kernel kills the process: raise the limit to at least 125 MiB, or storage: 'memory'",
    );
    expect(noMemoryFor(threads, limit, { bytes: 70 * MiB, source: 'rss' })).toMatch(/, 70 MiB this process uses \(its resident set\), 0 MiB is left, /);
    expect(noMemoryFor(threads, { ...limit, bytes: 125 * MiB }, { bytes: 45 * MiB, source: 'rss' })).toBeUndefined();
    // The machine's memory is no limit the kernel kills at.
    expect(noMemoryFor(threads, { bytes: 64 * MiB, source: 'os.totalmem()' }, { bytes: 63 * MiB, source: 'rss' })).toBeUndefined();
  });

  it('is named in status() beside the limit the process meets first: its address space (ulimit -v), its cgroup or the machine, whichever has the least left', () => {
    // Under ulimit -v alone status().memory.limit said the machine's 24 GB while the process had
    // a GB of address space left: an agent reading it saw room that was not there.
    const machine = { bytes: 24 * 1024 * MiB, source: 'os.totalmem()' };
    const cgroup = { bytes: 512 * MiB, source: 'cgroup v2 /sys/fs/cgroup/memory.max' };
    const space = { limit: 4000 * MiB, used: 3000 * MiB };
    expect(bindingLimit(machine, space, { bytes: 100 * MiB, source: 'rss' })).toEqual({ kind: 'address-space', bytes: 4000 * MiB, source: ADDRESS_SPACE_SOURCE, usedBytes: 3000 * MiB, freeBytes: 1000 * MiB });
    // A cgroup with less left than the address space binds first, whatever the sizes of the two.
    expect(bindingLimit(cgroup, space, { bytes: 200 * MiB, source: 'rss' })).toEqual({ kind: 'cgroup', bytes: 512 * MiB, source: cgroup.source, usedBytes: 200 * MiB, freeBytes: 312 * MiB });
    expect(bindingLimit(machine, { limit: null, used: 3000 * MiB }, { bytes: 100 * MiB, source: 'rss' })).toEqual({ kind: 'physical', bytes: machine.bytes, source: 'os.totalmem()', usedBytes: 100 * MiB, freeBytes: machine.bytes - 100 * MiB });
    // Uses that cannot be read: the lower limit, its use null.
    expect(bindingLimit(machine, { limit: 4000 * MiB, used: null }, undefined)).toMatchObject({ kind: 'address-space', usedBytes: null, freeBytes: null });
    expect(bindingLimit(cgroup, { limit: 4000 * MiB, used: 3900 * MiB }, undefined)).toMatchObject({ kind: 'cgroup', usedBytes: null, freeBytes: null });
    // The monitor's status() reads it live, beside the limit its buffers were sized against.
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    const { limit, binding } = m.status().memory;
    expect(limit).toMatchObject(memoryLimit());
    expect(binding.kind === 'address-space' || binding.bytes === limit.bytes).toBe(true);
    expect(binding.freeBytes).toBeGreaterThan(0);
  });

  it('refuses options given beyond it, naming the limit and its cgroup file', () => {
    const e = caught<CapacityError>(() => checkMemory([{ what: 'series store', option: 'maxSeries', bytes: 600 * MiB }], { bytes: 256 * MiB, source: 'cgroup v2 /sys/fs/cgroup/memory.max' }));
    expect(e).toMatchObject({ code: 'PW_ERR_CAPACITY', field: 'maxSeries' });
    expect(e.message).toMatch(/more than this process's memory limit, 256\.0 MiB \(268,435,456 bytes\) \(cgroup v2 \/sys\/fs\/cgroup\/memory\.max\)/);
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
