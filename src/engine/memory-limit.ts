/**
 * The memory this process may use: the machine's (os.totalmem()), or less when its cgroup
 * limits it, as a container's runtime does (Docker's --memory, a Kubernetes pod's
 * limits.memory). Past a cgroup's limit the kernel kills the process, whatever the machine
 * has free, so the monitor sizes its shared memory from this (monitor/memory-fit.ts).
 *
 * Read here rather than through process.constrainedMemory(): that is experimental in Node 20,
 * does not say where its number came from (status().memory.limit does), and cannot be pointed
 * at a test's files.
 */
import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { posix } from 'node:path';

/** The source of a limit no cgroup sets: the machine's memory. */
export const MACHINE = 'os.totalmem()';

export interface MemoryLimit {
  bytes: number;
  /** Where the limit came from: the cgroup file that set it, or 'os.totalmem()'. */
  source: string;
}

export interface CgroupFiles {
  /** Where the cgroup file systems are mounted (cgroup v2 there, v1 in a folder per controller: memory/, cpu/). */
  root: string;
  /** The process's cgroup membership, as /proc/self/cgroup lists it. */
  membership: string;
}

/** A file's text, or undefined when it cannot be read (a cgroup file the kernel does not have). */
export function readOr(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The folder and its ancestors up to `root`, deepest first. */
function upTo(root: string, path: string): string[] {
  const dirs: string[] = [];
  for (let p = posix.normalize(`/${path}`); ; p = posix.dirname(p)) {
    dirs.push(posix.join(root, p));
    if (p === '/') return dirs;
  }
}

/**
 * The folders of the process's cgroups that `controller` may limit, each with its ancestors up
 * to the mount's root, deepest first: the v2 cgroup's under `root`, a v1 hierarchy's holding
 * the controller under `root/<controller>`. Walked up to the root because a container that
 * sees its own cgroup as the root (a cgroup namespace, or v1's bind mount) lists a path that
 * does not exist under it.
 */
export function cgroupFolders(files: CgroupFiles, controller: string): { dir: string; v2: boolean }[] {
  const out: { dir: string; v2: boolean }[] = [];
  for (const line of files.membership.split('\n')) {
    const [id, controllers, path] = line.split(/:(.*?):/);
    if (path === undefined) continue;
    const v2 = id === '0' && controllers === '';
    if (!v2 && !controllers!.split(',').includes(controller)) continue;
    for (const dir of upTo(v2 ? files.root : posix.join(files.root, controller), path)) out.push({ dir, v2 });
  }
  return out;
}

/**
 * The lowest memory limit of the process's cgroup and its ancestors: cgroup v2's memory.max
 * ("max": none) and v1's memory.limit_in_bytes (unlimited reads as about 2^63).
 */
export function memoryLimit(files: CgroupFiles = { root: '/sys/fs/cgroup', membership: readOr('/proc/self/cgroup') ?? '' }): MemoryLimit {
  let best: MemoryLimit = { bytes: totalmem(), source: MACHINE };
  for (const { dir, v2 } of cgroupFolders(files, 'memory')) {
    const file = posix.join(dir, v2 ? 'memory.max' : 'memory.limit_in_bytes');
    const text = readOr(file)?.trim();
    if (text === undefined || !/^\d+$/.test(text)) continue;
    const bytes = Number(text);
    if (bytes > 0 && bytes < best.bytes) best = { bytes, source: `cgroup ${v2 ? 'v2' : 'v1'} ${file}` };
  }
  return best;
}

/** The memory the process's limit counts as used now: `bytes`, read from `source`. */
export interface MemoryInUse {
  bytes: number;
  /** The cgroup file read (v1 memory.usage_in_bytes, v2 memory.current, with " less inactive_file" when memory.stat's was taken off), or 'rss' (the process's resident set). */
  source: string;
}

/**
 * The file cache of the cgroup the kernel reclaims before it kills (memory.stat's
 * `inactive_file`; v1's hierarchical `total_inactive_file` first), 0 when unread.
 */
function inactiveFile(stat: string | undefined): number {
  if (stat === undefined) return 0;
  const value = (key: string): number | undefined => {
    const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(stat);
    return m ? Number(m[1]) : undefined;
  };
  return value('total_inactive_file') ?? value('inactive_file') ?? 0;
}

/**
 * What `limit` counts as used now and the kernel cannot give back: the usage file beside the
 * cgroup file that set it (the cgroup's use, its other processes' included, as the kernel
 * counts it against the limit) less the inactive file cache of memory.stat beside it, which
 * the kernel reclaims before it kills (as `docker stats` and the kubelet's working set count
 * it: the usage alone includes the page cache, and a service that had read a few GB of files
 * read as full, its monitor refused for no reason); or this process's resident set when there
 * is no usage file or it cannot be read; undefined when neither can be (no file descriptor
 * left: rss() reads /proc and throws EMFILE).
 */
export function memoryInUse(limit: MemoryLimit, rss: () => number = () => process.memoryUsage.rss()): MemoryInUse | undefined {
  const v1 = /^cgroup v1 (.*)memory\.limit_in_bytes$/.exec(limit.source)?.[1];
  const dir = v1 ?? /^cgroup v2 (.*)memory\.max$/.exec(limit.source)?.[1];
  const file = dir === undefined ? undefined : `${dir}${v1 !== undefined ? 'memory.usage_in_bytes' : 'memory.current'}`;
  const text = file === undefined ? undefined : readOr(file)?.trim();
  if (dir !== undefined && file !== undefined && text !== undefined && /^\d+$/.test(text)) {
    const usage = Number(text);
    const cache = Math.min(usage, inactiveFile(readOr(`${dir}memory.stat`)));
    return cache > 0 ? { bytes: usage - cache, source: `${file} less inactive_file` } : { bytes: usage, source: file };
  }
  try {
    return { bytes: rss(), source: 'rss' };
  } catch {
    return undefined;
  }
}
