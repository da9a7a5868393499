/**
 * The CPU this process may use when its cgroup limits it, as a container's runtime does
 * (Docker's --cpus, a Kubernetes pod's limits.cpu): a quota of CPU time per period, past which
 * the kernel throttles every thread of the process until the next period. The overhead budget
 * is in percent of one core; under a limit of a fraction of one, each of the monitor's
 * milliseconds is taken from the service's quota, so the budget not given is scaled to it
 * (overhead/governor.ts).
 *
 * os.availableParallelism() does not say this: it counts the CPUs the process may run on
 * (its affinity), not the time it may take on them.
 */
import { posix } from 'node:path';
import { cgroupFolders, readOr, type CgroupFiles } from './memory-limit.js';

export interface CpuLimit {
  /** The cores' worth of CPU time the quota allows (0.25: a quarter of one core's time). */
  cores: number;
  /** The cgroup file that set it. */
  source: string;
}

/** Quota over period, when both are positive integers (v1's quota -1 and v2's "max" are no limit). */
function coresOf(quota: string | undefined, period: string | undefined): number | undefined {
  if (quota === undefined || period === undefined || !/^\d+$/.test(quota) || !/^\d+$/.test(period)) return undefined;
  const cores = Number(quota) / Number(period);
  return cores > 0 && Number.isFinite(cores) ? cores : undefined;
}

/**
 * The lowest CPU limit of the process's cgroup and its ancestors, or null when none is set:
 * cgroup v2's cpu.max ("QUOTA PERIOD", "max PERIOD": none) and v1's cpu.cfs_quota_us over
 * cpu.cfs_period_us (-1: none), each of the cgroup's folders up to the mount's root.
 */
export function cpuLimit(files: CgroupFiles = { root: '/sys/fs/cgroup', membership: readOr('/proc/self/cgroup') ?? '' }): CpuLimit | null {
  let best: CpuLimit | null = null;
  for (const { dir, v2 } of cgroupFolders(files, 'cpu')) {
    const file = posix.join(dir, v2 ? 'cpu.max' : 'cpu.cfs_quota_us');
    const [quota, period] = v2 ? (readOr(file)?.trim().split(/\s+/) ?? []) : [readOr(file)?.trim(), readOr(posix.join(dir, 'cpu.cfs_period_us'))?.trim()];
    const cores = coresOf(quota, period);
    if (cores !== undefined && (best === null || cores < best.cores)) best = { cores, source: `cgroup ${v2 ? 'v2' : 'v1'} ${file}` };
  }
  return best;
}
