/**
 * A command's arguments, parsed with node:util parseArgs and checked here, so that every
 * usage error is one line that names the flag, what it takes and what it got (exit code 2),
 * never a stack trace: a flag without its value, a value that is another flag, a flag the
 * command does not have (with the near one), a value given to a switch, a stray positional
 * argument, a flag given twice (it took the last silently). Number flags are read by intFlag /
 * portFlag with the same wording: decimal digits alone (Number() took 0x10, 1e1 and 1.5).
 */
import { parseArgs } from 'node:util';
import { InvalidArgumentError, describeValue } from '../errors.js';
import { validatePort } from '../mcp/port.js';
import { closeName } from '../suggest.js';

/** A flag: a string that takes a value (`takes` says which, for the errors) or a switch. */
export type FlagSpec = { type: 'string'; takes: string } | { type: 'boolean'; short?: string };

/** The values of a command's flags, checked; throws InvalidArgumentError (a usage error) otherwise. */
export function parseFlags(command: string, args: string[], flags: Record<string, FlagSpec>): Record<string, string | boolean | undefined> {
  const options = Object.fromEntries(Object.entries(flags).map(([name, f]) => [name, f.type === 'boolean' && f.short ? { type: f.type, short: f.short } : { type: f.type }]));
  // Not strict: parseArgs' own errors are Node's text; each case is answered below instead.
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, string | boolean | undefined> = {};
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') throw strayArgument(command, token.value);
    const flag = Object.hasOwn(flags, token.name) ? flags[token.name] : undefined;
    if (!flag) {
      const near = closeName(`--${token.name}`, Object.keys(flags).map((n) => `--${n}`));
      throw new InvalidArgumentError(command, `has no option ${token.rawName}${near ? ` (did you mean ${near}?)` : ''}; see perfwatch ${command} --help`);
    }
    if (flag.type === 'boolean') {
      if (token.value !== undefined) throw new InvalidArgumentError(token.rawName, 'is a switch and takes no value', { value: token.value });
      if (values[token.name] !== undefined) throw new InvalidArgumentError(token.rawName, 'is given twice; give it once');
      values[token.name] = true;
      continue;
    }
    // A value that is itself a flag (`--interval --hub x`) means the value was left out.
    const missing = token.value === undefined || (!token.inlineValue && token.value.startsWith('--'));
    if (missing) {
      const got = token.value === undefined ? 'nothing' : `the flag ${token.value}`;
      throw new InvalidArgumentError(token.rawName, `must be followed by ${flag.takes}, got ${got}`);
    }
    // The values are not repeated: one may be a --token.
    if (values[token.name] !== undefined) throw new InvalidArgumentError(token.rawName, 'is given twice; give it once');
    values[token.name] = token.value;
  }
  return values;
}

/** The error for an argument that is not an option: no command takes positional arguments. */
function strayArgument(command: string, value: string): InvalidArgumentError {
  return new InvalidArgumentError(command, `takes no positional arguments, got ${describeValue(value)}; see perfwatch ${command} --help`);
}

/** An integer flag's value, or a usage error naming the flag, the range and what was given. */
export function intFlag(value: string, flag: string, min: number, max: number, unit = ''): number {
  // Not trimmed: `--for " 2"` is no number of the form the reference gives (decimal digits alone, a sign allowed).
  const n = /^[+-]?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new InvalidArgumentError(flag, `must be an integer${unit ? ` number of ${unit}` : ''} from ${min} to ${max}`, { value });
  }
  return n;
}

/** A port flag's value: digits alone, or an error that shows what was given (an address goes in its host flag). */
export function portFlag(value: string, field: string, hostField: string): number {
  if (!/^\d{1,5}$/.test(value)) {
    const hint = value.includes(':') ? ` (a port alone: the address goes in ${hostField})` : '';
    throw new InvalidArgumentError(field, `must be an integer from 0 to 65535, got ${JSON.stringify(value)}${hint}`);
  }
  return validatePort(Number(value), field);
}
