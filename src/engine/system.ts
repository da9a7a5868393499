/**
 * System metrics for the collector: cpu_usage, cpu_iowait, memory_usage, disk_usage{mount},
 * network_io{direction}.
 *
 * Budget: 0.5% of one core at a 1 s interval, child processes included. On this machine the
 * systeminformation calls that spawn processes cost 2-11% of a core each at 1 Hz
 * (../shared/MEASUREMENTS.md), so every interval reads only cheap sources: /proc/stat,
 * /proc/meminfo and /proc/net/dev (~20 µs each) and statfs (2 µs per mount). The mounted
 * filesystems are found at the slow cadence: on Linux in /proc/self/mounts, elsewhere by
 * systeminformation's fsSize (which spawns `df`); off Linux systeminformation also gives mem
 * (no spawn) every interval and networkStats at the slow cadence. Each source's cost is
 * measured and reported in status.
 *
 * Nothing here spawns a process on Linux: a spawn blocks the collector's thread while the
 * child starts (10-45 ms seen on this machine), past a heartbeat on a loaded one, and a
 * collector replaced while its `df` ran left that child a zombie of the host for good (27
 * `[sh] <defunct>` in an hour at a load of 10-14, until 2026-12-01).
 */
import { accessSync, closeSync, constants, openSync, readSync, statfsSync } from 'node:fs';
import { cpus, freemem, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { permissionModel } from './permission-model.js';

/** Every name the system sampler writes: the monitor's own while it runs (engine/reserved.ts). */
export const SYSTEM_SERIES = ['cpu_usage', 'cpu_iowait', 'memory_usage', 'disk_usage', 'network_io'] as const;

export interface SystemReading {
  name: string;
  tags?: Record<string, string>;
  value: number;
}

export interface SourceCost {
  source: string;
  cadenceMs: number;
  spawnsProcesses: boolean;
  calls: number;
  errors: number;
  lastMs: number;
  meanMs: number;
  /** Its quickest call: the nearest to its CPU cost (wall-clock timings count waits for a CPU). */
  minMs: number;
  /** Read at the slow cadence (the search for mounts; off Linux the sources that spawn). */
  slow: boolean;
  /** Whether its last call failed (no file descriptor left, say): false again once it reads. */
  failing: boolean;
  lastError?: string;
  /** When it last failed (ms, wall clock). */
  lastErrorAt?: number;
}

/**
 * What the sources read in the collector's thread (those that spawn no process) cost, for
 * the overhead governor: `samplingMs`, all their calls so far; `passMs`, what they cost a
 * system interval at the base cadences, each at its quickest call, a slow source at
 * `slowShare` of it (the interval over the base slow cadence). The timings are wall clock,
 * which a busy machine's waits for a CPU and a source's first, cold calls inflate: by their
 * mean, and with the search for mounts (once a minute; 5 ms cold) priced as if read every
 * second, a monitor started on a loaded machine took sampling for the cost of its ingestion,
 * stepped the back-off up to ×64 within half a second of its warm-up, and kept it there, the
 * few calls at that cadence never bringing the mean down.
 */
export function samplingCost(costs: readonly SourceCost[], slowShare: number): { samplingMs: number; passMs: number } {
  let samplingMs = 0;
  let passMs = 0;
  for (const c of costs) {
    if (c.spawnsProcesses) continue;
    samplingMs += c.calls * c.meanMs;
    passMs += c.slow ? c.minMs * slowShare : c.minMs;
  }
  return { samplingMs, passMs };
}

export interface SystemSamplerOptions {
  intervalMs: number;
  slowCadenceMs: number;
  diskPaths?: string[];
}

// Filesystems that are not storage: pseudo, in-memory and container plumbing.
const IGNORED_FS = /^(tmpfs|devtmpfs|overlay|squashfs|proc|sysfs|cgroup2?|devpts|mqueue|nsfs|autofs|fuse\..*|ramfs|efivarfs)$/;
// Remote filesystems, which `df -l` (fsSize) leaves out too: another machine's disk.
const REMOTE_FS = /^(nfs4?|cifs|smb3?|ceph|glusterfs|lustre|afs|9p)$/;
/** Mounts watched at most. */
const MAX_MOUNTS = 64;

/** `\040` and the other octal escapes of /proc/self/mounts (a space, a tab, a newline, a backslash). */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * The local storage mounted, from the text of /proc/self/mounts: one mount point per device
 * (the shortest: a device's bind mounts, a container's /etc/hosts say, are the same disk), in
 * the order listed, pseudo, in-memory and remote filesystems left out, as are those statfs
 * finds empty (`blocks` 0; `statfs` throws for one it cannot read, and that one is left out).
 */
export function localMounts(text: string, statfs: (path: string) => { blocks: number }): string[] {
  const byDevice = new Map<string, string>();
  for (const line of text.split('\n')) {
    const [device, at, type] = line.split(' ');
    if (!device || !at || !type || IGNORED_FS.test(type) || REMOTE_FS.test(type)) continue;
    const mount = unescapeMount(at);
    const seen = byDevice.get(device);
    if (seen !== undefined && seen.length <= mount.length) continue;
    try {
      if (statfs(mount).blocks > 0) byDevice.set(device, mount);
    } catch {
      // Unreadable (permissions, a stale mount): not watched.
    }
  }
  return [...new Set(byDevice.values())].slice(0, MAX_MOUNTS);
}

class Source {
  readonly cost: SourceCost;
  private total = 0;
  /** `slow`: read at the slow cadence (setSlowCadence moves it). */
  constructor(source: string, cadenceMs: number, spawnsProcesses: boolean, readonly slow: boolean) {
    this.cost = { source, cadenceMs, spawnsProcesses, calls: 0, errors: 0, lastMs: 0, meanMs: 0, minMs: 0, slow, failing: false };
  }
  measure<T>(fn: () => T): T | undefined {
    const t0 = performance.now();
    try {
      const value = fn();
      this.cost.failing = false;
      return value;
    } catch (error) {
      this.fail(error);
      return undefined;
    } finally {
      this.done(performance.now() - t0);
    }
  }
  async measureAsync<T>(fn: () => Promise<T>): Promise<T | undefined> {
    const t0 = performance.now();
    try {
      const value = await fn();
      this.cost.failing = false;
      return value;
    } catch (error) {
      this.fail(error);
      return undefined;
    } finally {
      this.done(performance.now() - t0);
    }
  }
  private fail(error: unknown): void {
    this.cost.errors++;
    this.cost.failing = true;
    this.cost.lastError = error instanceof Error ? error.message : String(error);
    this.cost.lastErrorAt = Date.now();
  }
  private done(ms: number): void {
    this.cost.calls++;
    this.total += ms;
    this.cost.lastMs = ms;
    this.cost.meanMs = this.total / this.cost.calls;
    this.cost.minMs = this.cost.calls === 1 ? ms : Math.min(this.cost.minMs, ms);
  }
}

/**
 * The buffer /proc files are read into, grown when one does not fit. readFileSync allocates
 * on every call (64 KB chunks for a file whose size stat gives as 0, then a concatenation),
 * and the collector pays it cold, once a second: a sampling pass 200-250 µs with this buffer
 * against 270-370 with readFileSync (docs/benchmarks.md, issue 16's sixth pass). The fd is
 * closed at once: one kept open would outlive a collector that dies.
 */
let procBuffer = Buffer.allocUnsafe(16 * 1024);

/** A /proc file's text: its first `head` bytes (the lines a reader needs), or all of it. */
export function readProc(path: string, head = Infinity): string {
  const fd = openSync(path, 'r');
  try {
    let n = 0;
    for (;;) {
      if (n === procBuffer.length) {
        const bigger = Buffer.allocUnsafe(2 * n);
        procBuffer.copy(bigger, 0, 0, n);
        procBuffer = bigger;
      }
      const k = readSync(fd, procBuffer, n, Math.min(procBuffer.length, head) - n, null);
      if (k === 0) break;
      n += k;
      if (n >= head) break;
    }
    return procBuffer.toString('latin1', 0, n);
  } finally {
    closeSync(fd);
  }
}

/** Bytes of /proc/stat and /proc/meminfo that hold the lines read (the first line; the first three). */
const HEAD_BYTES = 4096;

function parseCpuLine(text: string): [busy: number, iowait: number, total: number] | undefined {
  const line = text.slice(0, text.indexOf('\n'));
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  if (f.length < 5) return undefined;
  // user nice system idle iowait irq softirq steal (guest time is inside user already)
  const total = f.slice(0, 8).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const idle = f[3]!;
  const iowait = f[4]!;
  return [total - idle - iowait, iowait, total];
}

export class SystemSampler {
  /**
   * `node-os`: under Node's permission model without /proc to read, Node's own os module,
   * which reads its counters in libuv, outside the permission model. systeminformation
   * is not used there: it spawns processes and reads /proc in callbacks of its own, where
   * the ERR_ACCESS_DENIED thrown ended the collector's thread, each successor's too (a host
   * whose --allow-fs-read named its own folder had start() fail, or the collector restarted
   * several times a second for good).
   */
  readonly platform: 'linux-proc' | 'portable' | 'node-os';
  /** Why some system series are not read, and what would read them; null when all are. */
  readonly note: string | null = null;
  private readonly options: SystemSamplerOptions;
  private readonly sources = new Map<string, Source>();
  private mounts: string[];
  private lastCpu: [number, number, number] | undefined;
  private lastNet: [number, number] | undefined;
  private nextSlow = 0;
  private lastSlow = 0;
  private slowRunning = false;
  /** Async reads (systeminformation.mem off Linux) not answered yet. */
  private asyncReads = 0;
  private pending: SystemReading[] = [];
  /** A slow source's share of a pass at the base cadences (setSlowCadence moves options.slowCadenceMs). */
  private readonly slowShare: number;
  /** systeminformation, where this platform's readings need it. */
  private readonly si: Promise<typeof import('systeminformation')> | undefined;

  constructor(options: SystemSamplerOptions) {
    this.options = options;
    this.slowShare = options.intervalMs / options.slowCadenceMs;
    const permission = permissionModel();
    const linux = process.platform === 'linux';
    this.platform = linux && this.readable('/proc/stat') ? 'linux-proc' : permission ? 'node-os' : 'portable';
    // Off Linux only: with /proc every reading is a file's, and systeminformation (40-60 ms of
    // CPU to load, `node dist/bench/startup.js`) is not loaded at all.
    if (this.platform === 'portable') this.si = import('systeminformation').then((m) => m.default);
    this.mounts = options.diskPaths ?? ['/'];
    if (this.platform === 'node-os') {
      // The default mount only where it may be read: statfs refused every interval is a fault each.
      if (!options.diskPaths) this.mounts = this.mounts.filter((m) => permission!.has('fs.read', m));
      const cause = linux ? '/proc/stat cannot be read under Node\'s permission model' : "systeminformation is not used under Node's permission model (it spawns processes and reads files in callbacks of its own, where a refusal ends the collector's thread)";
      const disks = this.mounts.length > 0 ? '' : ', nor disk_usage (this process may not read /, the mount watched by default)';
      this.note = `${cause}: cpu_usage and memory_usage are read through Node's os module, and ${linux ? 'cpu_iowait and ' : ''}network_io are not read${disks}; ${linux ? 'run node with --allow-fs-read=/proc (and the mounts to watch) to read them all' : 'they are read without the permission model'}`;
      this.add('os.cpus', 'every', false);
      this.add('os.freemem', 'every', false);
    } else if (this.platform === 'linux-proc') {
      this.add('/proc/stat', 'every', false);
      this.add('/proc/meminfo', 'every', false);
      this.add('/proc/net/dev', 'every', false);
    } else {
      this.add('os.cpus', 'every', false);
      this.add('systeminformation.mem', 'every', false);
      this.add('systeminformation.networkStats', 'slow', true);
    }
    this.add('fs.statfs', 'every', false);
    if (!options.diskPaths) {
      if (this.platform === 'linux-proc') this.add('/proc/self/mounts', 'slow', false);
      else if (this.platform === 'portable') this.add('systeminformation.fsSize', 'slow', true);
    }
  }

  /** Readings for this interval; slow sources deliver theirs at a later call. */
  sample(now: number): SystemReading[] {
    const out = this.pending;
    this.pending = [];
    if (this.platform === 'linux-proc') this.sampleProc(out);
    else if (this.platform === 'node-os') this.sampleNodeOs(out);
    else this.samplePortable(out);
    for (const mount of this.mounts) {
      const st = this.sources.get('fs.statfs')!.measure(() => statfsSync(mount));
      if (!st) continue;
      const used = st.blocks - st.bfree;
      const denominator = used + st.bavail;
      if (denominator > 0) out.push({ name: 'disk_usage', tags: { mount }, value: (100 * used) / denominator });
    }
    if (now >= this.nextSlow && !this.slowRunning) {
      this.nextSlow = now + this.options.slowCadenceMs;
      this.lastSlow = now;
      this.slowRunning = true;
      void this.sampleSlow().finally(() => {
        this.slowRunning = false;
      });
    }
    return out;
  }

  /**
   * True while a source waits on the event loop (a spawned process, an async read): its
   * thread must keep turning its loop, or the answer and its measured time come late.
   */
  get awaiting(): boolean {
    return this.slowRunning || this.asyncReads > 0;
  }

  /** Cadence of the slow sources: those that spawn processes, and the search for mounts. */
  get slowCadenceMs(): number {
    return this.options.slowCadenceMs;
  }

  /** Changes the cadence of the slow sources (the overhead budget's back-off). */
  setSlowCadence(ms: number): void {
    this.options.slowCadenceMs = ms;
    this.nextSlow = this.lastSlow + ms;
    for (const s of this.sources.values()) if (s.slow) s.cost.cadenceMs = ms;
  }

  costs(): SourceCost[] {
    return [...this.sources.values()].map((s) => ({ ...s.cost }));
  }

  /** What reading the system costs in this thread, for the overhead governor (see samplingCost). */
  samplingCost(): { samplingMs: number; passMs: number } {
    return samplingCost([...this.sources.values()].map((s) => s.cost), this.slowShare);
  }

  diskMounts(): string[] {
    return [...this.mounts];
  }

  private add(name: string, cadence: 'every' | 'slow', spawns: boolean): void {
    const slow = cadence === 'slow';
    this.sources.set(name, new Source(name, slow ? this.options.slowCadenceMs : this.options.intervalMs, spawns, slow));
  }

  /**
   * Whether the file may be read, asked without opening it: a sampler made while the process
   * had no file descriptor left (EMFILE) took Linux for another system, and read it through
   * systeminformation for good, spawning `df`, though /proc was there.
   */
  private readable(path: string): boolean {
    try {
      accessSync(path, constants.R_OK);
      return true;
    } catch {
      return false;
    }
  }

  private sampleProc(out: SystemReading[]): void {
    const stat = this.sources.get('/proc/stat')!.measure(() => parseCpuLine(readProc('/proc/stat', HEAD_BYTES)));
    if (stat) this.pushCpu(out, stat);
    const mem = this.sources.get('/proc/meminfo')!.measure(() => {
      const text = readProc('/proc/meminfo', HEAD_BYTES);
      const total = Number(/MemTotal:\s+(\d+)/.exec(text)?.[1]);
      const available = Number(/MemAvailable:\s+(\d+)/.exec(text)?.[1]);
      return total > 0 && Number.isFinite(available) ? 100 * (1 - available / total) : undefined;
    });
    if (mem !== undefined) out.push({ name: 'memory_usage', value: mem });
    const net = this.sources.get('/proc/net/dev')!.measure(() => {
      let rx = 0;
      let tx = 0;
      for (const line of readProc('/proc/net/dev').split('\n').slice(2)) {
        const at = line.indexOf(':');
        if (at < 0) continue;
        const name = line.slice(0, at).trim();
        if (name === 'lo') continue;
        const f = line.slice(at + 1).trim().split(/\s+/);
        rx += Number(f[0]) || 0;
        tx += Number(f[8]) || 0;
      }
      return [rx, tx] as [number, number];
    });
    if (net) this.pushNet(out, net);
  }

  private sampleOsCpus(out: SystemReading[]): void {
    const stat = this.sources.get('os.cpus')!.measure((): [number, number, number] => {
      let busy = 0;
      let total = 0;
      for (const c of cpus()) {
        const t = c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
        total += t;
        busy += t - c.times.idle;
      }
      return [busy, 0, total];
    });
    if (stat) this.pushCpu(out, stat);
  }

  private sampleNodeOs(out: SystemReading[]): void {
    this.sampleOsCpus(out);
    // libuv's free memory: MemAvailable on Linux, as /proc/meminfo is read.
    const mem = this.sources.get('os.freemem')!.measure(() => {
      const total = totalmem();
      return total > 0 ? 100 * (1 - freemem() / total) : undefined;
    });
    if (mem !== undefined) out.push({ name: 'memory_usage', value: mem });
  }

  private samplePortable(out: SystemReading[]): void {
    this.sampleOsCpus(out);
    this.asyncReads++;
    void this.sources
      .get('systeminformation.mem')!
      .measureAsync(async () => (await this.si!).mem())
      .then((m) => {
        if (m && m.total > 0) this.pending.push({ name: 'memory_usage', value: 100 * (1 - m.available / m.total) });
      })
      .finally(() => this.asyncReads--);
  }

  private async sampleSlow(): Promise<void> {
    if (this.sources.has('/proc/self/mounts')) {
      const mounts = this.sources.get('/proc/self/mounts')!.measure(() => localMounts(readProc('/proc/self/mounts'), statfsSync));
      if (mounts && mounts.length > 0) this.mounts = mounts;
    }
    if (this.sources.has('systeminformation.fsSize')) {
      const list = await this.sources.get('systeminformation.fsSize')!.measureAsync(async () => (await this.si!).fsSize());
      if (list && list.length > 0) {
        const mounts = list.filter((f) => f.mount && !IGNORED_FS.test(f.type) && f.size > 0).map((f) => f.mount);
        if (mounts.length > 0) this.mounts = [...new Set(mounts)].slice(0, MAX_MOUNTS);
      }
    }
    if (this.sources.has('systeminformation.networkStats')) {
      const stats = await this.sources.get('systeminformation.networkStats')!.measureAsync(async () => (await this.si!).networkStats('*'));
      if (stats) {
        let rx = 0;
        let tx = 0;
        for (const s of stats) {
          if (s.iface === 'lo' || s.iface.startsWith('lo')) continue;
          rx += s.rx_bytes || 0;
          tx += s.tx_bytes || 0;
        }
        this.pushNet(this.pending, [rx, tx]);
      }
    }
  }

  private pushCpu(out: SystemReading[], now: [number, number, number]): void {
    const last = this.lastCpu;
    this.lastCpu = now;
    if (!last) return;
    const dTotal = now[2] - last[2];
    if (dTotal <= 0) return;
    out.push({ name: 'cpu_usage', value: Math.min(100, Math.max(0, (100 * (now[0] - last[0])) / dTotal)) });
    if (this.platform === 'linux-proc') out.push({ name: 'cpu_iowait', value: Math.min(100, Math.max(0, (100 * (now[1] - last[1])) / dTotal)) });
  }

  private pushNet(out: SystemReading[], now: [number, number]): void {
    const last = this.lastNet;
    this.lastNet = now;
    if (!last) return;
    // Counters reset when an interface goes away; a negative step is not traffic.
    out.push({ name: 'network_io', tags: { direction: 'rx' }, value: Math.max(0, now[0] - last[0]) });
    out.push({ name: 'network_io', tags: { direction: 'tx' }, value: Math.max(0, now[1] - last[1]) });
  }
}
