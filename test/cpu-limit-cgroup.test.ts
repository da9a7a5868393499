/**
 * A monitor started in a real cgroup with a CPU limit of a quarter core (root and a writable
 * cgroup v1 cpu hierarchy, as on the CI machine; elsewhere skipped): its budget not given is a
 * quarter of its 1% (status().overhead, and get_monitoring_status' overhead says the limit),
 * one given in the options is kept. cpu-limit.test.ts reads fake cgroup files; this is the
 * wiring from the monitor's options to the governor, which only a real cgroup shows.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const V1 = '/sys/fs/cgroup/cpu';
const usable = process.getuid?.() === 0 && existsSync(`${V1}/cpu.cfs_quota_us`) && existsSync(`${V1}/cgroup.procs`);
const CHILD = fileURLToPath(new URL('./fixtures/cpu-limit-child.mjs', import.meta.url));

describe.skipIf(!usable)('a monitor in a cgroup limited to a quarter core', () => {
  it('holds its default CPU budget to a quarter of 1%, keeps a budget given, and says the limit to an agent', () => {
    const dir = `${V1}/perfwatch-test-${process.pid}`;
    mkdirSync(dir);
    try {
      writeFileSync(`${dir}/cpu.cfs_period_us`, '100000');
      writeFileSync(`${dir}/cpu.cfs_quota_us`, '25000');
      // The child joins the cgroup before node starts: the monitor reads the limit as it is built.
      const run = spawnSync('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec "${process.execPath}" "${CHILD}"`], { encoding: 'utf8', timeout: 60_000 });
      expect(run.stderr).toBe('');
      const out = JSON.parse(run.stdout) as { defaults: { budget: { cpuPercent: number }; cpuLimit: { cores: number; source: string } | null }; given: { budget: { cpuPercent: number } }; mcp: { budget: { cpu_percent: number }; cpu_limit_cores?: number }; line: string | null };
      expect(out.defaults.cpuLimit).toEqual({ cores: 0.25, source: `cgroup v1 ${dir}/cpu.cfs_quota_us` });
      expect(out.defaults.budget.cpuPercent).toBe(0.25);
      expect(out.given.budget.cpuPercent).toBe(1);
      expect(out.mcp).toMatchObject({ budget: { cpu_percent: 0.25 }, cpu_limit_cores: 0.25 });
      expect(out.line).toMatch(new RegExp(`^overhead over its budget \\(overhead\\.cpuPercent 0\\.0001, of a core, under this process's CPU limit of 0\\.25 of a core \\(cgroup v1 ${dir}/cpu\\.cfs_quota_us\\)\\): `));
    } finally {
      rmdirSync(dir);
    }
  });
});
