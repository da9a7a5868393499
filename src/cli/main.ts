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

const HELP = `perfwatch — an in-process performance monitor for Node.js

Usage: perfwatch <command> [options]

Commands:
  serve     monitor this machine and print a live table (Ctrl-C stops)
  mcp       an MCP server on stdio, for an MCP client to spawn
  report    print a report of a running monitor (--url) or of this machine (--for)
  bench     measure recording (and, with --mcp, MCP round trips) on this machine

Run 'perfwatch <command> --help' for a command's options.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (command === 'serve') {
    const { values } = parseArgs({
      args: rest,
      options: {
        interval: { type: 'string' },
        config: { type: 'string' },
        every: { type: 'string' },
        'mcp-http': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(SERVE_HELP);
      return 0;
    }
    return serve(values);
  }
  if (command === 'mcp') {
    const { values } = parseArgs({
      args: rest,
      options: {
        config: { type: 'string' },
        interval: { type: 'string' },
        'no-start': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(MCP_HELP);
      return 0;
    }
    return mcp(values);
  }
  if (command === 'report') {
    const { values } = parseArgs({
      args: rest,
      options: {
        url: { type: 'string' },
        for: { type: 'string' },
        metrics: { type: 'string' },
        window: { type: 'string' },
        format: { type: 'string' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(REPORT_HELP);
      return 0;
    }
    return report(values);
  }
  if (command === 'bench') {
    const { values } = parseArgs({
      args: rest,
      options: {
        samples: { type: 'string' },
        mcp: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
    if (values.help) {
      process.stdout.write(BENCH_HELP);
      return 0;
    }
    return bench(values);
  }
  process.stderr.write(`perfwatch: unknown command "${command}"\n\n${HELP}`);
  return 2;
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
