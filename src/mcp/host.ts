/**
 * The monitor behind an MCP front. A monitor's options (interval, capacities) shape its shared
 * memory, so they are fixed for its life: start_performance_monitoring with a new config
 * builds a new monitor, and only when there is no data to lose (none yet, or the client
 * discarded it with stop_performance_monitoring { preserve_data: false }). A monitor embedded
 * in a service belongs to the service: the front can start it, and pause and resume its own
 * sampling, never stop or replace it, so that nothing a client does makes the service's own
 * record() calls throw.
 *
 * Every monitor the host holds gets the same listeners (attach), so notifications survive a
 * replacement.
 *
 * `perfwatch mcp` starts its monitor with launch(), without waiting for it, so that a client
 * is answered at once (a start on a large dataDir has taken 13 s): while that start is under
 * way, a tool call that needs the monitor waits for it (starting), start joins it instead of
 * starting again, and stop runs once it is done.
 */
import { InvalidArgumentError } from '../errors.js';
import { PerformanceMonitor, type StoredData } from '../monitor/monitor.js';
import type { MonitorOptions } from '../monitor/options.js';
import { resolveForMemory } from '../monitor/memory-fit.js';
import { loadConfigWithin } from '../config/load.js';

export interface HostOptions {
  /** The options a replacement monitor starts from (the CLI's --config). */
  baseOptions?: MonitorOptions;
  /** The path the base options came from, shown in answers. */
  configPath?: string | null;
  /** The only directory config_path may name files in (default: the working directory). */
  configDir?: string;
}

const EMBEDDED_OPTIONS = 'cannot change the options of a monitor embedded in a service: its options are set by the service';

type Attach = (monitor: PerformanceMonitor) => () => void;

export class MonitorHost {
  /** Whether the host may build new monitors (false for one embedded in a service). */
  readonly owned: boolean;
  private current: PerformanceMonitor;
  private baseOptions: MonitorOptions;
  private configPath: string | null;
  private readonly configDir: string;
  /** Series written by this front since the last flush: reads flush first only then. */
  private dirty = false;
  private readonly detachers = new Map<Attach, () => void>();
  /** Serialises start/stop so that two clients cannot interleave a replacement. */
  private queue: Promise<unknown> = Promise.resolve();
  /** The start launch() began, until it settles. */
  private launching: Promise<void> | undefined;
  /** The queue as launch() left it: a start joins the launch's only while nothing else was queued since. */
  private launchQueue: Promise<unknown> | undefined;

  constructor(monitor: PerformanceMonitor, owned: boolean, options: HostOptions = {}) {
    this.current = monitor;
    this.owned = owned;
    this.baseOptions = options.baseOptions ?? {};
    this.configPath = options.configPath ?? null;
    this.configDir = options.configDir ?? process.cwd();
  }

  get monitor(): PerformanceMonitor {
    return this.current;
  }

  get config(): string | null {
    return this.configPath;
  }

  /** Registers listeners on the current monitor and on every later one; returns an undo. */
  attach(fn: Attach): () => void {
    this.detachers.set(fn, fn(this.current));
    return () => {
      this.detachers.get(fn)?.();
      this.detachers.delete(fn);
    };
  }

  /** Marks that this front recorded something (see readable()). */
  wrote(): void {
    this.dirty = true;
  }

  /**
   * Waits until what this front recorded is in the store, so a read sees its own writes;
   * undefined when there is nothing to wait for (a poll then answers without a turn).
   */
  readable(): Promise<void> | undefined {
    if (!this.dirty) return undefined;
    this.dirty = false;
    return this.current.flush();
  }

  /**
   * Starts the monitor in the background (in turn with start and stop); the promise settles
   * with that start, and the calls made meanwhile wait for it (see starting).
   */
  launch(): Promise<void> {
    const run = this.serial(() => this.current.start());
    this.launching = run;
    this.launchQueue = this.queue;
    const settled = (): void => {
      if (this.launching !== run) return;
      this.launching = undefined;
      this.launchQueue = undefined;
    };
    run.then(settled, settled);
    return run;
  }

  /** The start launch() began while it is under way (it settles, never rejects, with its error or undefined), else undefined. */
  get starting(): Promise<Error | undefined> | undefined {
    return this.launching?.then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
    );
  }

  /**
   * Starts monitoring, building a new monitor first when a config path or interval asks for
   * options the current one does not have (and it holds no data, or the host owns it).
   * `resumed`: it started again with the data it kept (after a stop or a pause). Without
   * options, while the start launch() began is under way and nothing was asked since, it joins
   * that start (`joined`; `started` false: this call started nothing), answering as it ends,
   * its error too; otherwise it runs after it.
   */
  start(args: { configPath?: string; intervalSeconds?: number }): Promise<{ started: boolean; resumed: boolean; joined: boolean }> {
    const launching = this.launching;
    if (launching !== undefined && this.queue === this.launchQueue && args.configPath === undefined && args.intervalSeconds === undefined) {
      return launching.then(() => ({ started: false, resumed: false, joined: true }));
    }
    return this.serial(async () => {
      let options: MonitorOptions | undefined;
      let path = this.configPath;
      if (args.configPath !== undefined) {
        // Refused before the path is looked at: an embedded monitor's options are the service's.
        if (!this.owned) throw new InvalidArgumentError('config_path', EMBEDDED_OPTIONS);
        ({ options, path } = await loadConfigWithin(this.configDir, args.configPath, 'config_path'));
      }
      if (args.intervalSeconds !== undefined) options = { ...(options ?? this.baseOptions), collectionIntervalMs: args.intervalSeconds * 1000 };
      if (options !== undefined && differs(this.current, options)) {
        const field = args.configPath !== undefined ? 'config_path' : 'collection_interval';
        if (!this.owned) throw new InvalidArgumentError(field, EMBEDDED_OPTIONS);
        if (this.current.running || this.current.status().ingestion.ingested > 0) {
          throw new InvalidArgumentError(
            field,
            'asks for options other than the current monitor\'s, which holds data: call stop_performance_monitoring with preserve_data false first (that discards the data), or start without it',
          );
        }
        this.replace(new PerformanceMonitor(options));
        this.baseOptions = options;
        this.configPath = path;
      }
      if (this.current.running) {
        const resumed = this.current.resume();
        return { started: resumed, resumed, joined: false };
      }
      // A monitor stopped with its data kept (stop_performance_monitoring's default) resumes it.
      const resumed = this.current.status().ingestion.ingested > 0;
      await this.current.start();
      return { started: true, resumed, joined: false };
    });
  }

  /**
   * Stops monitoring; without preserve, the data goes (its database too: discardData()) with a
   * fresh monitor of the same options. An embedded monitor is paused instead
   * (PerformanceMonitor.pause()). `held` is what the monitor held as it stopped. `waited`:
   * the start launch() began was under way, and this stop ran once it was done.
   */
  stop(preserve: boolean): Promise<{ wasRunning: boolean; paused: boolean; held: HeldData; waited: boolean }> {
    const waited = this.launching !== undefined;
    return this.serial(async () => {
      const monitor = this.current;
      const wasRunning = monitor.running && !monitor.paused;
      if (!this.owned) {
        if (!preserve) throw new InvalidArgumentError('preserve_data', 'cannot be false for a monitor embedded in a service: its data belongs to the service');
        monitor.pause();
        return { wasRunning, paused: monitor.paused, held: await heldBy(monitor), waited };
      }
      // Counted before the stop, the file lacked what its last flush writes: a stop within the
      // first storageFlushMs said "0 rollup rows on disk" of a file that then held them all.
      // flushStorage() drains the rings first.
      await monitor.flushStorage().catch(() => false);
      const held = await heldBy(monitor);
      await monitor.stop();
      if (!preserve) {
        await monitor.discardData();
        this.replace(new PerformanceMonitor(monitor.options));
      }
      return { wasRunning, paused: false, held, waited };
    });
  }

  /** Stops the current monitor for good (the front is closing and owns it). */
  async close(): Promise<void> {
    for (const undo of this.detachers.values()) undo();
    this.detachers.clear();
    if (this.owned) await this.current.close();
  }

  /** Puts `next` in place of the current monitor, which is closed: nothing notifies for it any more. */
  private replace(next: PerformanceMonitor): void {
    for (const [fn, undo] of this.detachers) {
      undo();
      this.detachers.set(fn, fn(next));
    }
    const previous = this.current;
    this.current = next;
    this.dirty = false;
    void previous.close();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }
}

/** What a monitor holds: in memory, and on disk when its storage is 'sqlite' (counted only while it runs). */
export interface HeldData {
  series: number;
  rules: number;
  transitions: number;
  stored: StoredData | null;
}

async function heldBy(monitor: PerformanceMonitor): Promise<HeldData> {
  const s = monitor.status();
  return { series: s.series.count, rules: s.alerts.rules, transitions: s.alerts.historyLength, stored: await monitor.storedData() };
}

/** Whether options would build a monitor other than this one (zod resolves them in a fixed key order). */
function differs(monitor: PerformanceMonitor, options: MonitorOptions): boolean {
  return JSON.stringify(resolveForMemory(options).options) !== JSON.stringify(monitor.options);
}
