/**
 * The monitor of a CLI command: its options from --config and --interval, and the monitor
 * built from them, which says on stderr when an actor is being restarted.
 */
import { loadConfig } from '../config/load.js';
import { PerformanceMonitor } from '../monitor/monitor.js';
import { MAX_INTERVAL_MS, MIN_INTERVAL_MS } from '../monitor/interval.js';
import type { MonitorOptions } from '../monitor/options.js';
import { intFlag } from './args.js';

/** The monitor options of a CLI command's --config and --interval. */
export async function cliOptions(args: { config?: string; interval?: string }): Promise<MonitorOptions> {
  const options = args.config ? await loadConfig(args.config, '--config') : {};
  if (args.interval !== undefined) options.collectionIntervalMs = intFlag(args.interval, '--interval', MIN_INTERVAL_MS, MAX_INTERVAL_MS, 'ms');
  return options;
}

/** A CLI command's monitor: it says on stderr when an actor exited and is being restarted. */
export function cliMonitor(options: MonitorOptions): PerformanceMonitor {
  const monitor = new PerformanceMonitor(options);
  monitor.on('actor-exit', (e: { actor: string; code: number; error?: Error }) => {
    process.stderr.write(`perfwatch: ${e.actor} exited (${e.error?.message ?? `code ${e.code}`}); restarting\n`);
  });
  return monitor;
}
