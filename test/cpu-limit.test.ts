import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PerformanceMonitor } from '../dist/src/index.js';
import { cpuLimit, type CpuLimit } from '../dist/src/engine/cpu-limit.js';
import { OverheadGovernor, OverheadOptionsSchema, type CpuBudgetBasis } from '../dist/src/overhead/governor.js';

describe("a container's CPU limit", () => {
  let root = '';
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'perfwatch-cgroup-cpu-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), `${text}\n`);
  };

  it("is read from cgroup v2 cpu.max, the lowest of the process's cgroup and its ancestors, and none is null", () => {
    write('kubepods/pod1/c1/cpu.max', 'max 100000');
    expect(cpuLimit({ root, membership: '0::/kubepods/pod1/c1\n' })).toBeNull();
    write('kubepods/cpu.max', '50000 100000');
    expect(cpuLimit({ root, membership: '0::/kubepods/pod1/c1\n' })).toEqual({ cores: 0.5, source: `cgroup v2 ${root}/kubepods/cpu.max` });
    write('kubepods/pod1/c1/cpu.max', '25000 100000');
    expect(cpuLimit({ root, membership: '0::/kubepods/pod1/c1\n' })).toEqual({ cores: 0.25, source: `cgroup v2 ${root}/kubepods/pod1/c1/cpu.max` });
    expect(cpuLimit({ root, membership: '' })).toBeNull();
  });

  it('is read from cgroup v1 cpu.cfs_quota_us over cpu.cfs_period_us, also where the container sees its own cgroup as the root', () => {
    // Docker on cgroup v1: /proc/self/cgroup names the host's path, the mount holds the container's cgroup at its root.
    const membership = '12:pids:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n';
    write('cpu/cpu.cfs_period_us', '100000');
    write('cpu/cpu.cfs_quota_us', '-1');
    expect(cpuLimit({ root, membership })).toBeNull();
    write('cpu/cpu.cfs_quota_us', '150000');
    expect(cpuLimit({ root, membership })).toEqual({ cores: 1.5, source: `cgroup v1 ${root}/cpu/cpu.cfs_quota_us` });
  });

  it('is shown in status().overhead as the monitor reads it', () => {
    const m = new PerformanceMonitor({ storage: 'memory', system: { enabled: false }, runtime: { enabled: false } });
    expect(m.status().overhead.cpuLimit).toEqual(cpuLimit());
  });
});

describe('the overhead budget under a CPU limit', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /**
   * A governor whose collector used `cpuMs` of CPU in one second (a window the fake clock
   * makes exact), its sampling pass most of it, so a budget it is over backs it off.
   */
  const governed = async (options: object, cpu: CpuBudgetBasis, cpuMs: number): Promise<OverheadGovernor> => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_800_000_000_000);
    let used = 0;
    const g = new OverheadGovernor(
      {
        intervalMs: 1000,
        slowCadenceMs: 60_000,
        systemEnabled: true,
        collectorUsage: async () => ({ thread: 1, cpuMs: used, heapUsed: 1024, systemCadenceMs: 1000, slowCadenceMs: 60_000, spawnCalls: 0, samplingMs: used, samplePassMs: cpuMs }),
        setCadence: async () => {},
        sharedBytesInUse: () => 1024,
        reports: () => ({ cpuMs: 0, heapBytes: 0 }),
        limitReports: () => {},
        record: () => {},
      },
      OverheadOptionsSchema.parse(options),
      cpu,
    );
    await g.check();
    vi.setSystemTime(1_800_000_001_000);
    used = cpuMs;
    await g.check();
    return g;
  };
  const quarter: CpuLimit = { cores: 0.25, source: 'cgroup v2 /sys/fs/cgroup/cpu.max' };

  it('not given, is that percent of a limit below one core, so the monitor backs off before it takes 1% of the service’s quota', async () => {
    // 5 ms of CPU a second: 0.5% of one core, 2% of a quarter core's quota.
    const limited = await governed({}, { limit: quarter, given: false }, 5);
    expect(limited.status()).toMatchObject({ budget: { cpuPercent: 0.25 }, cpuLimit: quarter, cpuPercent: 0.5, overBudget: { cpu: true }, level: 1 });
    // No limit, or one of more than a core: 1% of one core, which 0.5% is within.
    for (const limit of [null, { cores: 4, source: 'cgroup v2 /sys/fs/cgroup/cpu.max' }]) {
      const free = await governed({}, { limit, given: false }, 5);
      expect(free.status()).toMatchObject({ budget: { cpuPercent: 1 }, cpuLimit: limit, overBudget: { cpu: false }, level: 0 });
    }
  });

  it('given, in the options or by setOverheadBudget(), is kept as given', async () => {
    const given = await governed({ cpuPercent: 1 }, { limit: quarter, given: true }, 5);
    expect(given.status()).toMatchObject({ budget: { cpuPercent: 1 }, cpuLimit: quarter, overBudget: { cpu: false }, level: 0 });
    const set = await governed({}, { limit: quarter, given: false }, 5);
    set.setBudget({ cpuPercent: 2 });
    expect(set.status().budget.cpuPercent).toBe(2);
  });
});
