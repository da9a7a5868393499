/**
 * Loading a JSON options file for the fronts. The file must be a regular file of at most
 * 1 MB; its content is validated against the options schema and errors name the field, but
 * never echo the file back (a path to some other file must not leak its contents).
 */
import { readFile, stat } from 'node:fs/promises';
import { InvalidArgumentError, PerfwatchError } from '../errors.js';
import { PerformanceMonitor } from '../monitor.js';
import { MonitorOptionsSchema, resolveOptions, type MonitorOptions } from '../options.js';

export const MAX_CONFIG_BYTES = 1024 * 1024;

export async function loadConfig(path: string, field = 'config_path'): Promise<MonitorOptions> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new InvalidArgumentError(field, `cannot be read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!info.isFile()) throw new InvalidArgumentError(field, 'must name a regular file');
  if (info.size > MAX_CONFIG_BYTES) throw new InvalidArgumentError(field, `is ${info.size} bytes; the limit is ${MAX_CONFIG_BYTES} bytes`);
  const text = await readFile(path, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError(field, 'is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidArgumentError(field, 'must hold a JSON object of monitor options');
  try {
    resolveOptions(parsed as MonitorOptions);
  } catch (error) {
    throw sanitize(error, field);
  }
  return parsed as MonitorOptions;
}

const KNOWN = new Set(Object.keys(MonitorOptionsSchema.shape));

/**
 * Keeps an options error useful without echoing the file: it names a known option and its
 * rule, never a value, and an unknown key only as "an unknown option".
 */
function sanitize(error: unknown, field: string): PerfwatchError {
  if (!(error instanceof PerfwatchError)) return new InvalidArgumentError(field, 'holds invalid options');
  const option = error.field ?? '';
  if (!KNOWN.has(option.split('.')[0]!) || error.message.endsWith('is not a known option')) {
    return new InvalidArgumentError(field, 'holds an option perfwatch does not know; see the options schema');
  }
  const rule = error.message.replace(/, got .*$/s, '');
  return new InvalidArgumentError(`${field}: ${option}`, rule.slice(option.length).trim());
}

/** The monitor options of a CLI command's --config and --interval. */
export async function cliOptions(args: { config?: string; interval?: string }): Promise<MonitorOptions> {
  const options = args.config ? await loadConfig(args.config, '--config') : {};
  if (args.interval !== undefined) options.collectionIntervalMs = Number(args.interval);
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
