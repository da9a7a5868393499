/**
 * A time bound of a query (`from`, `to`), as the library's callers give it: ms since the epoch
 * or a Date. Shared by the monitor's metric history and the alert history.
 */
import { InvalidArgumentError } from '../errors.js';

/** The farthest a time bound may be from the epoch, in ms: a Date's range (±100,000,000 days). */
export const MAX_TIME_MS = 8.64e15;

/** A time bound given as ms or a Date, `fallback` when absent. */
export function timeArg(value: number | Date | undefined, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  const t = value instanceof Date ? value.getTime() : value;
  if (typeof t !== 'number' || !Number.isFinite(t)) throw new InvalidArgumentError(field, 'must be a Date or a finite number of ms since the epoch', { value: value });
  if (Math.abs(t) > MAX_TIME_MS) throw new InvalidArgumentError(field, `must be within ±8.64e15 ms of the epoch (the range of a Date)`, { value: t });
  return t;
}
