#!/usr/bin/env node
/**
 * The `perfwatch` command. A thin front: it parses arguments against the command table
 * (commands.ts) and runs the command's module, which builds a monitor from the options schema
 * and calls the library.
 */
import { parseFlags } from './args.js';
import { COMMANDS } from './commands.js';
import { VERSION } from '../version.js';
import { describeValue } from '../errors.js';
import { closeName } from '../suggest.js';
import { withoutToken } from './token.js';

const HELP = `perfwatch — an in-process performance monitor for Node.js

Usage: perfwatch <command> [options]

Commands:
  serve     monitor this machine and print a live table; --http serves /metrics, /api and /mcp
  mcp       an MCP server on stdio, for an MCP client to spawn
  report    print a report of a running monitor (--url) or of this machine (--for)
  profile   capture a CPU or heap profile of a running service (--url) and print its summary
  bench     measure recording (and, with --mcp, MCP round trips) on this machine

Options:
  -h, --help      this help
  -v, --version   the perfwatch version

Run 'perfwatch <command> --help' for a command's options.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`perfwatch ${VERSION}\n`);
    return 0;
  }
  const spec = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!spec) {
    // One line, as for an unknown flag, with the command a typo meant (`perfwatch serv`).
    const names = Object.keys(COMMANDS);
    const near = closeName(command, names);
    process.stderr.write(`perfwatch: unknown command ${describeValue(command)}${near ? ` (did you mean ${near}?)` : ''}; the commands: ${names.join(', ')}; see perfwatch --help\n`);
    return 2;
  }
  const values = parseFlags(command, rest, { ...spec.options, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    process.stdout.write(spec.help);
    return 0;
  }
  const run = await spec.run();
  return run(values as never);
}

// A reader that left before the output ended (`perfwatch report | head -1`) wants no more of it:
// without a listener the EPIPE is an uncaught error, a stack trace and exit code 1. The command
// runs to its end (a report ends its session; serve stops its monitor, serve.ts). Any other
// failed write (a full disk) is said once and makes the exit code 1: a report not written had
// ended with 0 (`perfwatch report > report.txt && upload report.txt` went on with an empty file),
// and serve said it again at every row.
let unwritten: string | undefined;
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') return;
  if (unwritten === undefined) process.stderr.write(`perfwatch: cannot write to stdout: ${error.message}\n`);
  unwritten = error.code ?? error.message;
  if (!process.exitCode) process.exitCode = 1;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code === 0 && unwritten !== undefined ? 1 : code;
  },
  (error: unknown) => {
    // Ours (a usage error, a refused option) are one line and exit 2; anything else is a bug: its stack, exit 1.
    const e = error as { code?: string; message?: string };
    // Never the token of --url, whatever the error quotes (cli/token.ts).
    process.stderr.write(`perfwatch: ${withoutToken(e.code?.startsWith('PW_ERR') ? String(e.message) : String((error as Error)?.stack ?? error))}\n`);
    process.exitCode = e.code?.startsWith('PW_ERR') ? 2 : 1;
  },
);
