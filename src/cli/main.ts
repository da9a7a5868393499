#!/usr/bin/env node
/**
 * The `perfwatch` command. A thin front: it parses arguments, builds a monitor from the
 * options schema and calls the library.
 */
import { parseFlags, type FlagSpec } from './args.js';
import { INTERVAL_TAKES } from './options.js';
import { serve, SERVE_HELP } from './serve.js';
import { mcp, MCP_HELP } from './mcp.js';
import { report, REPORT_HELP } from './report.js';
import { bench, BENCH_HELP } from './bench.js';
import { profile, PROFILE_HELP } from './profile.js';
import { TIMEOUT_TAKES } from './remote.js';
import { VERSION } from '../version.js';
import { describeValue } from '../errors.js';
import { closeName } from '../suggest.js';
import { MAX_SECONDS, MIN_SECONDS } from '../profiling/schema.js';

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

const PORT = 'a port from 0 to 65535';
const PATH = 'a file path';
const FORMAT = 'text or json';
const string = (takes: string): FlagSpec => ({ type: 'string', takes });
const flag: FlagSpec = { type: 'boolean' };

/** Each command: its flags (with what each takes, for the usage errors), its help, and what runs it. */
const COMMANDS: Record<string, { options: Record<string, FlagSpec>; help: string; run: (values: never) => Promise<number> }> = {
  serve: {
    options: {
      interval: string(INTERVAL_TAKES),
      config: string(PATH),
      every: string('an integer number of seconds from 1 to 3600'),
      http: string(PORT),
      'http-host': string('an address'),
      'mcp-http': string(PORT),
      'mcp-host': string('an address'),
      'mcp-allow-state-changes': flag,
      hub: string('a Unix socket path'),
    },
    help: SERVE_HELP,
    run: serve,
  },
  mcp: {
    options: { config: string(PATH), 'config-dir': string('a directory'), interval: string(INTERVAL_TAKES), 'no-start': flag, 'no-fast-lane': flag },
    help: MCP_HELP,
    run: mcp,
  },
  report: {
    options: {
      url: string('a URL such as http://127.0.0.1:7071/mcp'),
      for: string('an integer number of seconds from 1 to 3600'),
      metrics: string('comma-separated metric names'),
      offset: string('an integer from 0'),
      window: string('an integer number of seconds from 1 to 86400'),
      token: string('a bearer token'),
      timeout: string(TIMEOUT_TAKES),
      format: string(FORMAT),
      config: string(PATH),
    },
    help: REPORT_HELP,
    run: report,
  },
  profile: {
    options: {
      url: string('a URL such as http://127.0.0.1:7071/mcp'),
      seconds: string(`an integer number of seconds from ${MIN_SECONDS} to ${MAX_SECONDS}`),
      kind: string('cpu or heap'),
      top: string('an integer from 1 to 100'),
      token: string('a bearer token'),
      timeout: string(TIMEOUT_TAKES),
      format: string(FORMAT),
    },
    help: PROFILE_HELP,
    run: profile,
  },
  bench: { options: { samples: string('an integer from 100000 to 100000000'), mcp: flag }, help: BENCH_HELP, run: bench },
};

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
  return spec.run(values as never);
}

// A reader that left before the output ended (`perfwatch report | head -1`) wants no more of it:
// without a listener the EPIPE is an uncaught error, a stack trace and exit code 1. The command
// runs to its end (a report ends its session; serve stops its monitor, serve.ts).
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') process.stderr.write(`perfwatch: cannot write to stdout: ${error.message}\n`);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Ours (a usage error, a refused option) are one line and exit 2; anything else is a bug: its stack, exit 1.
    const e = error as { code?: string; message?: string };
    process.stderr.write(`perfwatch: ${e.code?.startsWith('PW_ERR') ? e.message : String((error as Error)?.stack ?? error)}\n`);
    process.exitCode = e.code?.startsWith('PW_ERR') ? 2 : 1;
  },
);
