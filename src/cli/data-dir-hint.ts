/**
 * The way out of a dataDir the CLI cannot use, in the CLI's own terms. A monitor's storage
 * errors say to choose another dataDir or storage: 'memory', options of the library: `perfwatch
 * serve` run where its working directory is not writable (a container's WORKDIR owned by root,
 * its process not) said that and no more, and it has no flag for either: the JSON file of
 * --config holds them (a trial).
 */
import { PerfwatchError } from '../errors.js';

/** `error` with where the CLI takes dataDir and storage, when it is about the dataDir and no --config was given; else `error` as it is. */
export function withConfigHint(error: unknown, command: string, config: string | undefined): unknown {
  if (config !== undefined || !(error instanceof PerfwatchError) || error.field !== 'dataDir') return error;
  return error.withRule(`${error.rule} (perfwatch ${command} takes dataDir and storage from the JSON file of --config: {"dataDir": "/var/lib/perfwatch"}, or {"storage": "memory"})`);
}
