/**
 * The CLI's commands as main.ts dispatches them: each one's flags, its help and the module
 * that runs it. Only this file and the argument parser load for `perfwatch --help`, a
 * command's --help and a usage error; a command's module (the monitor, the MCP SDK, the
 * HTTP front) loads when it runs (`node dist/bench/startup.js`, case cli-help).
 */
import { realpathSync } from 'node:fs';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FlagSpec } from './args.js';
import { DEFAULT_TIMEOUT_S, MAX_TIMEOUT_S, TIMEOUT_TAKES } from './remote.js';
import { MAX_INTERVAL_MS, MIN_INTERVAL_MS } from '../monitor/interval.js';
import { DEFAULT_SECONDS, MAX_SECONDS, MIN_SECONDS } from '../profiling/limits.js';
import { TOKEN_ENV } from '../mcp/token.js';

/** What --interval takes, as its usage errors say it: collectionIntervalMs's range. */
const INTERVAL_TAKES = `an integer number of ms from ${MIN_INTERVAL_MS} to ${MAX_INTERVAL_MS}`;

/**
 * This CLI's file by a path that lasts: in a project that installed perfwatch, by the
 * project's node_modules/perfwatch, where Node's real path (which this module's URL is) is
 * under pnpm a node_modules/.pnpm/perfwatch@…/ folder named anew at each upgrade; in a clone,
 * or where that link is not this copy (a nested install), the real path.
 */
function lastingPath(): string {
  const real = fileURLToPath(new URL('./main.js', import.meta.url));
  const parts = real.split(sep);
  const at = parts.indexOf('node_modules');
  if (at <= 0) return real;
  const linked = join(parts.slice(0, at).join(sep) || sep, 'node_modules', 'perfwatch', 'dist', 'src', 'cli', 'main.js');
  try {
    return realpathSync(linked) === realpathSync(real) ? linked : real;
  } catch {
    return real;
  }
}

/** The client configuration that runs this very install: absolute paths, nothing fetched. */
const THIS_INSTALL = JSON.stringify({ mcpServers: { perfwatch: { command: process.execPath, args: [lastingPath(), 'mcp'] } } });

const SERVE_HELP = `Usage: perfwatch serve [options]

Monitors this machine and prints a live table of cpu, memory, disk, event-loop lag and the
monitor's own ingestion, every few seconds. Ctrl-C stops it.

Options:
  --interval <ms>   collection interval, 1000 to 300000 (default 1000)
  --every <s>       seconds between table rows, 1 to 3600 (default 3)
  --config <path>   a JSON file of monitor options
  --http <port>     serve HTTP at http://127.0.0.1:<port>/: the dashboard at /, Prometheus
                    /metrics, the JSON API /api/*, and the MCP tools at /mcp (0 picks a free
                    port; the URL is printed)
  --http-host <addr>
                    the address to serve HTTP on (default 127.0.0.1); any other than a loopback
                    address needs a token
  --http-max-metrics-bytes <bytes>
                    the most bytes a /metrics body takes, 65536 to 1073741824 (default 67108864,
                    64 MiB): series past it are left out whole and counted in /api/status
  --mcp-http <port> also serve the MCP tools over Streamable HTTP at http://127.0.0.1:<port>/mcp
                    (0 picks a free port; the URL is printed)
  --mcp-host <addr> the address to serve MCP on (default 127.0.0.1); any other than a loopback
                    address needs a token
  --hub <path>      be the hub of other processes' monitors on this Unix socket: they start
                    with hub: { connect: <path> }, and every answer here covers them all
                    (cluster-wide series, and per member with the tag instance; docs/cluster.md)
  --mcp-allow-state-changes
                    let MCP clients (of --mcp-http or --http) without the token start/stop, record, add alert rules and
                    apply optimisations (without a token and this flag, MCP is read-only)
  -h, --help        this help

Environment:
  PERFWATCH_TOKEN   the bearer token HTTP and MCP clients must send (Authorization: Bearer <token>);
                    at least 16 characters
`;

const MCP_HELP = `Usage: perfwatch mcp [options]

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

Register it with a client (its mcpServers config). This install (a project's by its
node_modules/perfwatch, which upgrades keep; a clone's by its own path):
  ${THIS_INSTALL}
or, with perfwatch on PATH ('npm link' in a clone, 'npm install -g' of the package's tarball):
  {"mcpServers":{"perfwatch":{"command":"perfwatch","args":["mcp"]}}}
`;

const REPORT_HELP = `Usage: perfwatch report [options]

Prints a report through the same MCP tools an agent uses: the monitor's status, the
performance report (score and its parts, diagnoses, recommendations with evidence, per-metric
statistics, anomalies, alert analysis), then every metric's current value and recent window.

Where the data comes from (one of):
  --url <url>         a running monitor's MCP endpoint, e.g. http://127.0.0.1:7071/mcp
                      (from 'perfwatch serve --mcp-http 7071' or a service's monitor.serveMcp)
  --for <seconds>     run a monitor of this machine here for that long, 1 to 3600 (default 10)

Options:
  --metrics <names>   the closing list of metrics: only these, comma-separated
                      (the report above covers every metric)
  --offset <n>        the closing list from its n-th series on (it shows 1000 at most; it
                      says the offset of the next page)
  --window <seconds>  the recent window summarised per metric, 1 to 86400 (default 60)
  --token <t>         --url's bearer token, when the endpoint has one (default: $${TOKEN_ENV})
  --timeout <seconds> how long to wait for each of --url's answers, 1 to ${MAX_TIMEOUT_S}
                      (default ${DEFAULT_TIMEOUT_S}: a tool answers within 25 s)
  --format <f>        text (default) or json
  --config <path>     monitor options for --for
  -h, --help          this help

Environment:
  ${TOKEN_ENV}     sent to --url as the bearer token when --token is not given
`;

const PROFILE_HELP = `Usage: perfwatch profile --url <url> [options]

Profiles a running service's main thread and prints the summary: the top functions by self
and total time with file:line, the hottest stacks, the shares of idle, GC and program time
(heap: the allocation sites still live, with bytes), and the path of the full profile, which
Chrome DevTools opens (.cpuprofile in the Performance panel, .heapprofile in Memory).

  --url <url>         the service's MCP endpoint, e.g. http://127.0.0.1:7071/mcp
                      (from monitor.serveMcp, monitor.serveHttp or 'perfwatch serve --mcp-http')
  --seconds <n>       how long, ${MIN_SECONDS} to ${MAX_SECONDS} (default ${DEFAULT_SECONDS})
  --kind <k>          cpu (default) or heap
  --top <n>           entries per list, 1 to 100 (default 10)
  --token <t>         the endpoint's bearer token (default: $${TOKEN_ENV})
  --timeout <s>       how long to wait for each of the endpoint's answers, beyond the
                      capture's own seconds, 1 to ${MAX_TIMEOUT_S} (default ${DEFAULT_TIMEOUT_S})
  --format <f>        text (default) or json
  -h, --help          this help
`;

const BENCH_HELP = `Usage: perfwatch bench [options]

Measures recording on this machine: samples/s for a bound handle, for record(name, v, tags),
for recordBatch, and end to end through the collector (zero loss checked). Takes ~10 s.
Exits with 1 when a sample it recorded is missing from the store.

Options:
  --samples <n>   samples per pass, 100000 to 100000000 (default 5000000)
  --mcp           also measure MCP tools/call round trips (against a bare SDK echo server)
                  and batched recording over stdio with 'perfwatch mcp' (adds ~30 s)
  -h, --help      this help
`;

const PORT = 'a port from 0 to 65535';
const PATH = 'a file path';
const FORMAT = 'text or json';
const string = (takes: string): FlagSpec => ({ type: 'string', takes });
const flag: FlagSpec = { type: 'boolean' };

/** A command's flags (with what each takes, for the usage errors), its help, and what runs it, imported only when it runs. */
export interface Command {
  options: Record<string, FlagSpec>;
  help: string;
  run: () => Promise<(values: never) => Promise<number>>;
}

export const COMMANDS: Record<string, Command> = {
  serve: {
    options: {
      interval: string(INTERVAL_TAKES),
      config: string(PATH),
      every: string('an integer number of seconds from 1 to 3600'),
      http: string(PORT),
      'http-host': string('an address'),
      'http-max-metrics-bytes': string('an integer number of bytes from 65536 to 1073741824'),
      'mcp-http': string(PORT),
      'mcp-host': string('an address'),
      'mcp-allow-state-changes': flag,
      hub: string('a Unix socket path'),
    },
    help: SERVE_HELP,
    run: async () => (await import('./serve.js')).serve,
  },
  mcp: {
    options: { config: string(PATH), 'config-dir': string('a directory'), interval: string(INTERVAL_TAKES), 'no-start': flag, 'no-fast-lane': flag },
    help: MCP_HELP,
    run: async () => (await import('./mcp.js')).mcp,
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
    run: async () => (await import('./report.js')).report,
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
    run: async () => (await import('./profile.js')).profile,
  },
  bench: { options: { samples: string('an integer from 100000 to 100000000'), mcp: flag }, help: BENCH_HELP, run: async () => (await import('./bench.js')).bench },
};
