#!/usr/bin/env node
/**
 * The `perfwatch` command. A thin front: it parses arguments, builds a monitor from the
 * options schema and calls the library.
 */
import { parseArgs } from 'node:util';
import { serve, SERVE_HELP } from './serve.js';
import { mcp, MCP_HELP } from './mcp.js';
import { report, REPORT_HELP } from './report.js';
import { bench, BENCH_HELP } from './bench.js';
import { profile, PROFILE_HELP } from './profile.js';

const HELP = `perfwatch — an in-process performance monitor for Node.js

Usage: perfwatch <command> [options]

Commands:
  serve     monitor this machine and print a live table; --http serves /metrics, /api and /mcp
  mcp       an MCP server on stdio, for an MCP client to spawn
  report    print a report of a running monitor (--url) or of this machine (--for)
  profile   capture a CPU or heap profile of a running service (--url) and print its summary
  bench     measure recording (and, with --mcp, MCP round trips) on this machine

Run 'perfwatch <command> --help' for a command's options.
`;

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

/** Each command: its options (strings and flags), its help, and what runs it. */
const COMMANDS: Record<string, { options: Options; help: string; run: (values: never) => Promise<number> }> = {
  serve: {
    options: {
      interval: { type: 'string' },
      config: { type: 'string' },
      every: { type: 'string' },
      http: { type: 'string' },
      'http-host': { type: 'string' },
      'mcp-http': { type: 'string' },
      'mcp-host': { type: 'string' },
      'mcp-allow-state-changes': { type: 'boolean' },
      hub: { type: 'string' },
    },
    help: SERVE_HELP,
    run: serve,
  },
  mcp: {
    options: { config: { type: 'string' }, 'config-dir': { type: 'string' }, interval: { type: 'string' }, 'no-start': { type: 'boolean' }, 'no-fast-lane': { type: 'boolean' } },
    help: MCP_HELP,
    run: mcp,
  },
  report: {
    options: { url: { type: 'string' }, for: { type: 'string' }, metrics: { type: 'string' }, window: { type: 'string' }, format: { type: 'string' }, config: { type: 'string' } },
    help: REPORT_HELP,
    run: report,
  },
  profile: {
    options: { url: { type: 'string' }, seconds: { type: 'string' }, kind: { type: 'string' }, top: { type: 'string' }, token: { type: 'string' }, format: { type: 'string' } },
    help: PROFILE_HELP,
    run: profile,
  },
  bench: { options: { samples: { type: 'string' }, mcp: { type: 'boolean' } }, help: BENCH_HELP, run: bench },
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const spec = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!spec) {
    process.stderr.write(`perfwatch: unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  const { values } = parseArgs({ args: rest, options: { ...spec.options, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    process.stdout.write(spec.help);
    return 0;
  }
  return spec.run(values as never);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const e = error as { code?: string; message?: string };
    process.stderr.write(`perfwatch: ${e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || e.code?.startsWith('PW_ERR') ? e.message : String((error as Error)?.stack ?? error)}\n`);
    process.exitCode = e.code?.startsWith('PW_ERR') || e.code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  },
);
