/**
 * The monitor of a CLI command: its options from --config and --interval, and the monitor
 * built from them, which says on stderr when an actor is being restarted.
 */
import { loadConfig } from '../config/load.js';
import { PerformanceMonitor } from '../monitor/monitor.js';
import { MonitorOptionsSchema, type MonitorOptions } from '../monitor/options.js';
import { intFlag } from './args.js';

/** --interval's range: collectionIntervalMs's, read from the options schema. */
const INTERVAL = MonitorOptionsSchema.shape.collectionIntervalMs.unwrap();
const INTERVAL_MIN = INTERVAL.minValue ?? 0;
const INTERVAL_MAX = INTERVAL.maxValue ?? Number.MAX_SAFE_INTEGER;

/** What --interval takes, as its usage errors say it. */
export const INTERVAL_TAKES = `an integer number of ms from ${INTERVAL_MIN} to ${INTERVAL_MAX}`;

/** The monitor options of a CLI command's --config and --interval. */
export async function cliOptions(args: { config?: string; interval?: string }): Promise<MonitorOptions> {
  const options = args.config ? await loadConfig(args.config, '--config') : {};
  if (args.interval !== undefined) options.collectionIntervalMs = intFlag(args.interval, '--interval', INTERVAL_MIN, INTERVAL_MAX, 'ms');
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
