/**
 * `perfwatch serve`: monitors this machine (the process's own runtime included) and prints a
 * compact live table until Ctrl-C, which stops the monitor cleanly.
 */
import { PerformanceMonitor } from '../monitor/monitor.js';
import type { MonitorOptions } from '../monitor/options.js';
import type { MetricSnapshot } from '../monitor/query.js';
import { cliMonitor, cliOptions } from './options.js';
import { intFlag, portFlag } from './args.js';
import { InvalidArgumentError, PerfwatchError } from '../errors.js';
import { MIN_TOKEN_LENGTH, TOKEN_ENV } from '../mcp/token.js';
import { MAX_MAX_METRICS_BYTES, MIN_MAX_METRICS_BYTES } from '../http/exposition.js';
import { MEMBER_ONLY } from '../hub/options.js';
import { withConfigHint } from './data-dir-hint.js';


function fmt(v: number | null | undefined, digits = 1, unit = ''): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '-' : `${v.toFixed(digits)}${unit}`;
}

/** The series of `name` for this process (on a hub, the cluster-wide one, not a member's tagged `instance`). */
function pick(metrics: MetricSnapshot[], name: string): MetricSnapshot | undefined {
  return metrics.find((m) => m.name === name && !('instance' in m.tags)) ?? metrics.find((m) => m.name === name);
}

/** heap_usage, the heap's % of its limit, beside its MiB: the reading that says the process nears an out-of-memory end, as the dashboard and /metrics show it. */
const TABLE_METRICS = ['cpu_usage', 'memory_usage', 'disk_usage', 'network_io', 'event_loop_lag', 'heap_used', 'heap_usage'];
const COLUMNS = ['time UTC', 'cpu %', 'mem %', 'disk %', 'net KiB/s', 'loop p99 ms', 'heap MiB', 'heap %', 'ingest/s', 'app series', 'dropped'];
const WIDTHS = [9, 6, 6, 7, 9, 11, 8, 6, 10, 10, 8];

/**
 * The table's time of a row: UTC, marked `Z` (`14:03:07Z`), under the header `time UTC`. It was
 * the machine's local time without a zone, which read against the UTC of the reports, the
 * history and the logs as hours off.
 */
export function tableTime(date: Date): string {
  return `${date.toISOString().slice(11, 19)}Z`;
}

function row(cells: string[]): string {
  return cells.map((c, i) => c.padStart(WIDTHS[i]!)).join(' ');
}

export function tableRow(monitor: PerformanceMonitor): string {
  // The table's metrics alone: a service's own series (thousands, maybe) need no summary here.
  const metrics = monitor.getMetrics({ names: TABLE_METRICS, windowSeconds: 10 });
  const status = monitor.status();
  const disks = metrics.filter((m) => m.name === 'disk_usage').map((m) => m.value ?? Number.NaN);
  const disk = disks.length > 0 ? Math.max(...disks) : Number.NaN;
  const net = metrics.filter((m) => m.name === 'network_io').reduce((a, m) => a + (m.value ?? 0), 0);
  const lag = pick(metrics, 'event_loop_lag');
  return row([
    tableTime(new Date()),
    fmt(pick(metrics, 'cpu_usage')?.value),
    fmt(pick(metrics, 'memory_usage')?.value),
    fmt(disk),
    fmt(net / 1024),
    fmt(lag?.window.max ?? lag?.last, 2),
    fmt((pick(metrics, 'heap_used')?.value ?? Number.NaN) / 1048576),
    fmt(pick(metrics, 'heap_usage')?.value),
    fmt(status.ingestion.ratePerSecond, 0),
    String(status.series.count),
    String(status.ingestion.dropped),
  ]);
}

export interface ServeArgs {
  interval?: string;
  config?: string;
  every?: string;
  http?: string;
  'http-host'?: string;
  'http-max-metrics-bytes'?: string;
  'mcp-http'?: string;
  'mcp-host'?: string;
  'mcp-allow-state-changes'?: boolean;
  hub?: string;
}

/** How a server's clients get in, as the announcement says it. */
function access(status: { token: boolean; stateChanges: boolean }): string {
  return status.token ? 'clients must send PERFWATCH_TOKEN' : status.stateChanges ? 'no token; state changes allowed' : 'no token: read-only';
}

/**
 * A server's error about its port or host, said of the flag that gave it (a busy port: `--http:
 * 127.0.0.1:9464 is in use …`). A token missing for an address beyond loopback is said of the
 * host flag too, with the variable that gives it: the library's words name its token option,
 * which the CLI has not.
 */
function asFlag(error: unknown, port: string, host: string, address: string | undefined): unknown {
  if (!(error instanceof PerfwatchError)) return error;
  if (error.field === 'port') return error.withField(port);
  if (error.field === 'host') return error.withField(host);
  if (error.field === 'token' && address !== undefined) {
    return new InvalidArgumentError(host, `is not a loopback address: its clients must send a token, so set ${TOKEN_ENV} to one of ${MIN_TOKEN_LENGTH} to 4096 characters (for example: openssl rand -hex 32)`, { value: address, first: true });
  }
  return error;
}

/**
 * The hub's options for --hub: the config's, made the hub's. A config shared with its members
 * (`{ connect, instance, bufferLimit }`) names the members' own options, which a hub refuses
 * (hub/options.ts): left out, and said on stderr, so that one config serves the hub and its
 * members alike.
 */
function hubOf(given: MonitorOptions['hub'], path: string): MonitorOptions['hub'] {
  const hub: Record<string, unknown> = { ...(typeof given === 'object' ? given : {}), listen: path, connect: undefined, cluster: undefined };
  const members = ['instance', ...Object.keys(MEMBER_ONLY)].filter((key) => hub[key] !== undefined);
  for (const key of members) delete hub[key];
  if (members.length > 0) process.stderr.write(`perfwatch: --hub: the config's ${members.map((k) => `hub.${k}`).join(', ')} ${members.length === 1 ? 'is a member\'s option' : "are members' options"}, left out of this hub\n`);
  return hub as MonitorOptions['hub'];
}

export async function serve(args: ServeArgs): Promise<number> {
  // A flag of a server not asked for would be ignored without a word (as report --token without --url is refused).
  if (args['mcp-host'] !== undefined && args['mcp-http'] === undefined) throw new InvalidArgumentError('--mcp-host', 'goes with --mcp-http (the port it serves MCP on)');
  if (args['http-host'] !== undefined && args.http === undefined) throw new InvalidArgumentError('--http-host', 'goes with --http (the port it serves on)');
  if (args['http-max-metrics-bytes'] !== undefined && args.http === undefined) throw new InvalidArgumentError('--http-max-metrics-bytes', 'goes with --http (the server whose /metrics it bounds)');
  if (args['mcp-allow-state-changes'] === true && args['mcp-http'] === undefined && args.http === undefined) throw new InvalidArgumentError('--mcp-allow-state-changes', 'goes with --mcp-http or --http (the MCP endpoint it opens up)');
  const options = await cliOptions(args);
  if (args.hub !== undefined) options.hub = hubOf(options.hub, args.hub);
  const every = args.every === undefined ? 3 : intFlag(args.every, '--every', 1, 3600, 'seconds');
  // The socket's errors (its length here, its folder at the start) are said of the flag that
  // gave it, not of the option hub.listen, which the CLI has not.
  const asHubFlag = (error: unknown): unknown => (args.hub !== undefined && error instanceof PerfwatchError && error.field === 'hub.listen' ? error.withField('--hub') : error);
  let monitor: PerformanceMonitor;
  try {
    monitor = cliMonitor(options);
  } catch (error) {
    throw asHubFlag(error);
  }
  const mcpPort = args['mcp-http'] === undefined ? undefined : portFlag(args['mcp-http'], '--mcp-http', '--mcp-host');
  const httpPort = args.http === undefined ? undefined : portFlag(args.http, '--http', '--http-host');
  const maxMetricsBytes = args['http-max-metrics-bytes'] === undefined ? undefined : intFlag(args['http-max-metrics-bytes'], '--http-max-metrics-bytes', MIN_MAX_METRICS_BYTES, MAX_MAX_METRICS_BYTES, 'bytes');
  // One port on one address for both fronts: the second server failed on the port the first had
  // just taken, and its error blamed another process, where --http serves /mcp itself.
  if (mcpPort !== undefined && mcpPort !== 0 && mcpPort === httpPort && args['mcp-host'] === args['http-host']) {
    throw new InvalidArgumentError('--mcp-http', 'is the port of --http, whose server serves the MCP tools at /mcp too: leave --mcp-http out, or give it another port', { value: mcpPort, first: true });
  }
  const allowStateChanges = args['mcp-allow-state-changes'] === true;
  // Ctrl-C (or SIGTERM) from here on stops the monitor cleanly, during its start too (seconds
  // on a busy machine or with a large dataDir), where Node's default ended the process without
  // stop(): the next start on the dataDir warned that its monitor had been killed. A signal
  // before the start is done is acted on once it is (below).
  let early: string | undefined;
  let onSignal = (signal: string): void => {
    if (early !== undefined) return;
    early = signal;
    process.stdout.write(`perfwatch: ${signal} while starting: stopping once the monitor has started\n`);
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  // Served before the monitor starts, so that a refused option leaves nothing running.
  const mcpHttp =
    mcpPort === undefined
      ? undefined
      : await monitor.serveMcp({ port: mcpPort, ...(args['mcp-host'] !== undefined ? { host: args['mcp-host'] } : {}), allowStateChanges }).catch((error: unknown) => {
          throw asFlag(error, '--mcp-http', '--mcp-host', args['mcp-host']);
        });
  const http =
    httpPort === undefined
      ? undefined
      : await monitor.serveHttp({ port: httpPort, ...(args['http-host'] !== undefined ? { host: args['http-host'] } : {}), ...(maxMetricsBytes !== undefined ? { maxMetricsBytes } : {}), allowStateChanges }).catch(async (error: unknown) => {
          await mcpHttp?.close();
          throw asFlag(error, '--http', '--http-host', args['http-host']);
        });
  // A monitor that cannot start (its dataDir locked by another process, say) must not leave the
  // servers listening: the process would stay up serving a stopped monitor, its error printed once.
  await monitor.start().catch(async (error: unknown) => {
    await Promise.all([mcpHttp?.close(), http?.close()]);
    throw withConfigHint(asHubFlag(error), 'serve', args.config);
  });
  const tty = process.stdout.isTTY === true;
  const header = row(COLUMNS);
  process.stdout.write(`perfwatch serve: monitoring this machine every ${monitor.options.collectionIntervalMs} ms (Ctrl-C stops)\n${header}\n`);
  let rows = 0;
  const print = (): void => {
    const line = tableRow(monitor);
    // On a terminal, keep the header on screen every 20 rows; piped, one plain line a row.
    if (tty && rows > 0 && rows % 20 === 0) process.stdout.write(`${header}\n`);
    process.stdout.write(`${line}\n`);
    rows++;
  };
  const timer = setInterval(print, every * 1000);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      clearInterval(timer);
      if (signal !== 'EPIPE') process.stdout.write(`\nperfwatch: ${signal}, stopping\n`);
      Promise.all([mcpHttp?.close(), http?.close()])
        .then(() => monitor.stop())
        .then(
          () => resolve(0),
          () => resolve(1),
        );
    };
    // Piped into a reader that left (`perfwatch serve | head`): stop as on a signal, quietly
    // (main.ts keeps the EPIPE from being an uncaught error), instead of printing rows to no one.
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') shutdown('EPIPE');
    });
    onSignal = shutdown;
    // Announced once Ctrl-C is handled: a client (or test) that reads the URL may stop us at once.
    if (mcpHttp) process.stdout.write(`perfwatch serve: MCP over Streamable HTTP at ${mcpHttp.url} (${access(mcpHttp.status())})\n`);
    const hub = monitor.status().hub;
    if (hub?.role === 'hub') process.stdout.write(`perfwatch serve: the hub of other monitors at ${hub.address}\n`);
    if (http) process.stdout.write(`perfwatch serve: dashboard at ${http.url} (and /metrics, /api/*, MCP at ${http.mcpUrl}; ${access(http.status().mcp)})\n`);
    if (early !== undefined) shutdown(early);
  });
}
