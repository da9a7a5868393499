/** Port validation shared by monitor.serveMcp and the CLI (kept apart so the CLI need not load the SDK to check a flag). */
import { InvalidArgumentError } from '../errors.js';

export function validatePort(port: unknown, field = 'port'): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgumentError(field, 'must be an integer from 0 to 65535', { value: port });
  }
  return port;
}
