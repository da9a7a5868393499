/**
 * `perfwatch mcp`: an MCP server on stdio for a client (an agent host) to spawn. It starts a
 * monitor of this machine and of the records the client sends, and exits when the client
 * closes stdin. stdout carries protocol messages only; every log goes to stderr.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from '../errors.js';
import { MonitorHost } from '../mcp/host.js';
import { McpFront } from '../mcp/server.js';
import { serveFrontOverStdio } from '../mcp/serve-stdio.js';
import { cliMonitor, cliOptions } from './options.js';

/** The client configuration that runs this very install: absolute paths, nothing fetched. */
const THIS_INSTALL = JSON.stringify({ mcpServers: { perfwatch: { command: process.execPath, args: [fileURLToPath(new URL('./main.js', import.meta.url)), 'mcp'] } } });

export const MCP_HELP = `Usage: perfwatch mcp [options]

Runs an MCP server on stdin/stdout (newline-delimited JSON-RPC) for an MCP client to spawn,
with the perfwatch tools and the perfwatch:// resources. It answers the client at once and
starts monitoring this machine meanwhile (tool calls that need the monitor wait for that
start); stop_performance_monitoring and start_performance_monitoring control it. It exits
when the client closes stdin. Logs go to stderr.

Options:
  --config <path>     a JSON file of monitor options
  --config-dir <dir>  the only directory whose files start_performance_monitoring's config_path
                      may name (default: the working directory)
  --interval <ms>     collection interval, 1000 to 300000 (default 1000)
  --no-start          wait for start_performance_monitoring instead of monitoring at once
  --no-fast-lane      read record_performance_metric batches the ordinary way (JSON.parse and
                      the schema) instead of straight into columns (for measuring the lane)
  -h, --help          this help

Register it with a client (its mcpServers config). This install, as it is:
  ${THIS_INSTALL}
or, after 'npm link' in the clone (which puts perfwatch on PATH):
  {"mcpServers":{"perfwatch":{"command":"perfwatch","args":["mcp"]}}}
`;

export async function mcp(args: { config?: string; 'config-dir'?: string; interval?: string; 'no-start'?: boolean; 'no-fast-lane'?: boolean }): Promise<number> {
  const options = await cliOptions(args);
  const configDir = resolve(args['config-dir'] ?? '.');
  if (!(await stat(configDir).catch(() => undefined))?.isDirectory()) throw new InvalidArgumentError('--config-dir', `must name a directory, got ${configDir}`);
  const monitor = cliMonitor(options);
  const host = new MonitorHost(monitor, true, { baseOptions: options, configPath: args.config ?? null, configDir });
  const front = new McpFront(host, { fastLane: !args['no-fast-lane'] });
  // The client is served first and the monitor starts meanwhile: a start can take seconds (a
  // large dataDir has taken 13 s), past a client's wait for its initialize answer. Tool calls
  // that need the monitor wait for the start (MonitorHost.launch). A monitor that cannot start
  // (its dataDir held by a running `perfwatch serve`, or not writable in the working directory
  // the client spawned us in, often /) leaves the server up with the monitor stopped: the
  // client gets the tools, and they answer why, where an exit would show it only a closed
  // connection.
  const serving = serveFrontOverStdio(front);
  if (!args['no-start']) {
    host.launch().catch((error: unknown) => {
      process.stderr.write(`perfwatch mcp: the monitor did not start, so it is served stopped (start_performance_monitoring answers why): ${(error as Error).message}\n`);
    });
  }
  const stop = async (): Promise<void> => {
    await serving.close();
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  await serving.closed;
  await host.close();
  return 0;
}
