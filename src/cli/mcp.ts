/**
 * `perfwatch mcp`: an MCP server on stdio for a client (an agent host) to spawn. It starts a
 * monitor of this machine and of the records the client sends, and exits when the client
 * closes stdin. stdout carries protocol messages only; every log goes to stderr.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { MonitorHost } from '../mcp/host.js';
import { McpFront } from '../mcp/server.js';
import { serveFrontOverStdio } from '../mcp/serve-stdio.js';
import { withConfigHint } from './data-dir-hint.js';
import { cliMonitor, cliOptions } from './options.js';


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
      process.stderr.write(`perfwatch mcp: the monitor did not start, so it is served stopped (start_performance_monitoring answers why): ${(withConfigHint(error, 'mcp', args.config) as Error).message}\n`);
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
