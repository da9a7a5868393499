/**
 * The metric names the monitor writes itself, which the application may not record into: a
 * sample of the application's under monitor_dropped or cpu_usage would sit in the same series
 * as the monitor's readings and make them lie (monitor_dropped read 293/s while nothing was
 * dropped). Every name starting `monitor_` is the monitor's; the sampled series (system,
 * runtime) are while their sampler is on, and the application's to use when it is off.
 *
 * Checked where a name is resolved to a series (Producer.metric, a batch's first sight of a
 * series), never per sample: a handle, once given, is the application's own series.
 */
import { InvalidArgumentError } from '../errors.js';

/** The prefix of the monitor's own metrics (overhead, collector, hub, export). */
export const OWN_PREFIX = 'monitor_';

/** A sampled name and the option whose sampler writes it (e.g. ['cpu_usage', 'system.enabled']). */
export type SampledName = readonly [name: string, option: string];

export class ReservedNames {
  private readonly sampled: ReadonlyMap<string, string>;

  constructor(sampled: readonly SampledName[] = []) {
    this.sampled = new Map(sampled);
  }

  /** Throws when the application may not record under `name`; `field` names the argument. */
  check(name: string, field: string): void {
    // The first look at a name the application gives (record(undefined, v) threw a TypeError
    // "Cannot read properties of undefined (reading 'startsWith')" from here).
    if (typeof name !== 'string') throw new InvalidArgumentError(field, 'must be a string', { value: name });
    if (name.startsWith(OWN_PREFIX)) {
      throw new InvalidArgumentError(field, `is reserved for the monitor's own readings (every name starting ${OWN_PREFIX} is); record under another name`, { value: name, first: true });
    }
    const option = this.sampled.get(name);
    if (option !== undefined) {
      throw new InvalidArgumentError(field, `is reserved for the monitor's own readings while its sampler is on (${option}); record under another name, or turn ${option} off to record it yourself`, { value: name, first: true });
    }
  }
}
