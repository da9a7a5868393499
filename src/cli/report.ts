/**
 * `perfwatch report`: prints a report of a monitor, through its MCP tools, so that what the
 * command shows is exactly what an agent gets. The monitor is either a running one, reached at
 * its Streamable HTTP endpoint (`perfwatch serve --mcp-http PORT`, or a service's
 * monitor.serveMcp), or one this command runs itself for a while (--for), in process.
 */
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/server';
import { PerformanceMonitor } from '../monitor/monitor.js';
import { MonitorHost } from '../mcp/host.js';
import { McpFront } from '../mcp/server.js';
import { loadConfig } from '../config/load.js';
import { connectRemote, goneLine, remoteUrl, timeoutFlag, type Remote } from './remote.js';
import { isTimeout, unreachable } from './unreachable.js';
import { describeValue } from '../errors.js';
import { intFlag } from './args.js';
import { remoteToken, withoutToken } from './token.js';


export interface ReportArgs {
  url?: string;
  for?: string;
  metrics?: string;
  offset?: string;
  window?: string;
  token?: string;
  timeout?: string;
  format?: string;
  config?: string;
}

interface ToolResult {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
}

/** A tool's answer, waited for `timeoutMs` (a remote monitor's) or as long as it takes (the one run here). */
async function callTool(client: Client, name: string, args: Record<string, unknown>, timeoutMs?: number): Promise<ToolResult> {
  const r = (await client.callTool({ name, arguments: args }, timeoutMs === undefined ? undefined : { timeout: timeoutMs })) as ToolResult;
  if (r.isError) throw Object.assign(new Error(r.content.map((c) => c.text ?? '').join(' ')), { code: 'PW_ERR_REPORT' });
  return r;
}

/**
 * Waits `seconds` while saying how long is left, on stderr (stdout holds the report alone):
 * on a terminal one line rewritten every second; elsewhere (a log, a pipe) a line at most
 * ten times, every second for short waits.
 */
async function countdown(seconds: number): Promise<void> {
  const tty = process.stderr.isTTY === true;
  const every = tty ? 1 : Math.max(1, Math.ceil(seconds / 10));
  const end = Date.now() + seconds * 1000;
  let said = -1;
  for (;;) {
    const due = end - Date.now();
    const left = Math.max(0, Math.ceil(due / 1000));
    if (left === 0) break;
    // A timer may fire a little early or late: each count is said once.
    if (left !== said) {
      said = left;
      const line = `perfwatch report: monitoring this machine, ${left} s left`;
      if (tty) process.stderr.write(`\r${line} `);
      else if (left === seconds || left % every === 0) process.stderr.write(`${line}\n`);
    }
    // Wake just past the next whole second before the end.
    await new Promise((resolve) => setTimeout(resolve, (due % 1000) + 1));
  }
  if (tty) process.stderr.write(`\rperfwatch report: monitored this machine for ${seconds} s\n`);
}

/** get_performance_metrics' words for the page after the one shown (src/mcp/format.ts). */
const PAGE_HINT = /pass offset (\d+) for the next page \(limit: up to 1000 a page\), or metric_types or tags to choose/;

/**
 * The closing list's line for the names of --metrics with no series: the tool's ("no series
 * matches x yet: leave out metric_types …") names its argument, not the flag, and reads as if the
 * name had nothing, where a series stored before the monitor started (its dataDir) is in the
 * report's tables but not in this list, which has the series recorded since the start only.
 */
function noneRecordedLine(names: string[], mayBeStored: boolean): string {
  return `--metrics ${names.join(',')}: no series recorded since the monitor started, so none to list here${mayBeStored ? '; what is stored of it from before is in the report above, within its range' : ''}`;
}

/**
 * The names of --metrics that have no series. Each name is said, also when another one has
 * series: a list that left it out without a word read as if the name had not been asked for.
 * A name the page does not show may still have series on another page (--offset, or a list cut
 * at its 1000): only then is it asked for on its own, one series at most.
 */
async function namesWithoutSeries(client: Client, metricTypes: string[], metrics: ToolResult, args: Record<string, unknown>, timeoutMs?: number): Promise<string[]> {
  const answer = metrics.structuredContent as { total?: number; truncated?: boolean; metrics?: { name: string }[] } | undefined;
  if (answer?.total === 0) return metricTypes;
  const shown = new Set((answer?.metrics ?? []).map((m) => m.name));
  const unseen = metricTypes.filter((name) => !shown.has(name));
  const wholeList = (args.offset ?? 0) === 0 && answer?.truncated === false;
  if (wholeList) return unseen;
  const empty: string[] = [];
  for (const name of unseen) {
    const alone = await callTool(client, 'get_performance_metrics', { ...args, offset: 0, limit: 1, metric_types: [name] }, timeoutMs);
    if ((alone.structuredContent as { total?: number } | undefined)?.total === 0) empty.push(name);
  }
  return empty;
}

function fail(message: string): number {
  process.stderr.write(`perfwatch: ${withoutToken(message)}\n`);
  return 2;
}

/**
 * get_performance_metrics' answer, or, for the names of --metrics the monitor does not know,
 * the line that says so the CLI's way (`--metrics: "x" is not a known metric; the nearest
 * known: …`), naming every one: the tool stops at the first, and `--metrics foo_x,bar_y` named
 * foo_x alone, so that the user learnt of bar_y only at the next run (on a hub, after the
 * whole wait). Each unknown name costs one call more, asked without it.
 */
async function readMetrics(client: Client, args: Record<string, unknown>, timeoutMs?: number): Promise<ToolResult | { unknown: string }> {
  const unknown: { name: string; near: string | undefined }[] = [];
  let names = args.metric_types as string[] | undefined;
  for (;;) {
    try {
      const answer = await callTool(client, 'get_performance_metrics', { ...args, ...(names ? { metric_types: names } : {}) }, timeoutMs);
      if (unknown.length === 0) return answer;
      break;
    } catch (error) {
      const known = /metric_types\[(\d+)\] "(.*)" is not a known metric(?:; the nearest known: (.*))?$/.exec((error as Error).message);
      if (!known || !names) throw error;
      unknown.push({ name: known[2]!, near: known[3] });
      names = names.filter((_, i) => i !== Number(known[1]));
      if (names.length === 0) break;
    }
  }
  if (unknown.length === 1) return { unknown: `--metrics: "${unknown[0]!.name}" is not a known metric${unknown[0]!.near ? `; the nearest known: ${unknown[0]!.near}` : ''}` };
  return { unknown: `--metrics: ${unknown.length} names are not known metrics: ${unknown.map((u) => `"${u.name}"${u.near ? ` (the nearest known: ${u.near})` : ''}`).join(', ')}` };
}

export async function report(args: ReportArgs): Promise<number> {
  const format = args.format ?? 'text';
  if (format !== 'text' && format !== 'json') return fail(`--format must be text or json, got ${args.format}`);
  if (args.url !== undefined && args.for !== undefined) return fail('give either --url (a running monitor) or --for (run one here), not both');
  if (args.token !== undefined && args.url === undefined) return fail('--token goes with --url (the endpoint that requires it), not --for');
  if (args.timeout !== undefined && args.url === undefined) return fail("--timeout goes with --url (the wait for its answers), not --for");
  if (args.config !== undefined && args.url !== undefined) return fail('--config goes with --for (the options of the monitor run here), not --url (a running monitor has its own)');
  const window = args.window === undefined ? 60 : intFlag(args.window, '--window', 1, 86_400, 'seconds');
  const metricTypes = args.metrics?.split(',').map((s) => s.trim()).filter(Boolean);
  if (metricTypes?.length === 0) return fail(`--metrics must list at least one metric name, comma-separated (leave it out for every metric), got ${describeValue(args.metrics)}`);

  const client = new Client({ name: 'perfwatch-report', version: '1.0.0' });
  const offset = args.offset === undefined ? undefined : intFlag(args.offset, '--offset', 0, Number.MAX_SAFE_INTEGER);
  const metricsArgs = { window, limit: 1000, ...(offset !== undefined ? { offset } : {}), ...(metricTypes ? { metric_types: metricTypes } : {}) };
  /** Ends the client's session: a remote one is deleted on the server (remote.ts). */
  let end = (): Promise<void> => client.close();
  let cleanup = async (): Promise<void> => {};
  /** The run of a monitor here (--for): how long, and the monitor. */
  let local: { seconds: number; monitor: PerformanceMonitor; stored: boolean } | undefined;
  /** A monitor's endpoint (--url), and how long each of its answers is waited for. */
  let remoteAt: { url: URL; timeoutMs: number; remote?: Remote } | undefined;
  if (args.url !== undefined) {
    const url = remoteUrl(args.url);
    if (typeof url === 'string') return fail(url);
    const timeoutMs = timeoutFlag(args.timeout);
    const token = remoteToken(args.token);
    remoteAt = { url, timeoutMs };
    const remote = await connectRemote(client, url, token, timeoutMs);
    if (typeof remote === 'string') return fail(remote);
    remoteAt.remote = remote;
    end = () => remote.end();
  } else {
    const seconds = args.for === undefined ? 10 : intFlag(args.for, '--for', 1, 3600, 'seconds');
    // A one-off run: nothing to keep unless the config asks for storage. A config that names a
    // dataDir alone (often the service's own) is not taken as asking: running on it would take
    // its lock, refused while the service runs, and write this run's series into its history.
    const config = args.config ? await loadConfig(args.config, '--config') : {};
    const options = { storage: 'memory' as const, ...config };
    if (config.storage === undefined && config.dataDir !== undefined) {
      process.stderr.write(`perfwatch report: ${args.config} names a dataDir and no storage: this run keeps memory storage and reads nothing stored in ${config.dataDir}; add "storage": "sqlite" to run on it (it takes the directory's lock, and its own series go into that history)\n`);
    }
    const monitor = new PerformanceMonitor(options);
    const host = new MonitorHost(monitor, true, { baseOptions: options, configPath: args.config ?? null });
    const server = new McpFront(host).createServer('legacy', false);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    await client.connect(clientSide);
    // Ctrl-C (or a SIGTERM) while the run starts or waits stops its monitor before the process ends, as
    // the end of the run does: Node's default ended it at once, a dataDir's last samples (up
    // to storageFlushMs of them) lost and its lock left, and the next run said the monitor
    // before it "ended without stop()".
    const onSignal = (signal: NodeJS.Signals): void => {
      process.stderr.write(`\nperfwatch report: ${signal}, stopping the monitor\n`);
      void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let closing: Promise<void> | undefined;
    cleanup = () =>
      (closing ??= (async () => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await server.close();
        await host.close();
      })());
    await monitor.start();
    local = { seconds, monitor, stored: options.storage !== 'memory' };
  }
  try {
    if (local !== undefined) {
      // The names of --metrics are checked before the wait, not after it: once started, the
      // monitor knows every name this run can show (the built-in ones, its own, and those its
      // dataDir stores), since nothing else records into it. A hub's members may bring new
      // names meanwhile: there an unknown one is said now and checked again at the end.
      if (metricTypes) {
        const early = await readMetrics(client, { ...metricsArgs, limit: 1 });
        if ('unknown' in early) {
          if (local.monitor.status().hub?.role !== 'hub') return fail(early.unknown);
          process.stderr.write(`perfwatch report: ${early.unknown}; this monitor is a hub, so a member may send it in the next ${local.seconds} s\n`);
        }
      }
      await countdown(local.seconds);
    }
    // The metrics first: an unknown name in --metrics is an error before a report is built.
    const timeoutMs = remoteAt?.timeoutMs;
    const metrics = await readMetrics(client, metricsArgs, timeoutMs);
    if ('unknown' in metrics) return fail(metrics.unknown);
    const status = await callTool(client, 'get_monitoring_status', {}, timeoutMs);
    const full = await callTool(client, 'generate_performance_report', { format: format === 'json' ? 'json' : 'markdown', limit: 500 }, timeoutMs);
    if (format === 'json') {
      process.stdout.write(`${JSON.stringify({ status: status.structuredContent, report: full.structuredContent, metrics: metrics.structuredContent }, null, 2)}\n`);
    } else {
      const text = (r: ToolResult): string => r.content.map((c) => c.text ?? '').join('\n');
      // The tool's words name its own arguments; here they are flags.
      const empty = metricTypes ? await namesWithoutSeries(client, metricTypes, metrics, metricsArgs, timeoutMs) : [];
      const none = empty.length > 0 ? noneRecordedLine(empty, local === undefined || local.stored) : undefined;
      // Every name empty: the line alone (the tool's words for no series name its argument).
      const list = empty.length === metricTypes?.length ? none! : [text(metrics).replace(PAGE_HINT, (_, next: string) => `pass --offset ${next} for the next page, or --metrics to choose`), ...(none ? [none] : [])].join('\n');
      process.stdout.write(`perfwatch report — ${new Date().toISOString()}${args.url ? ` — ${args.url}` : ''}\n\n${text(status)}\n\n${text(full)}\n\n${list}\n`);
    }
    return 0;
  } catch (error) {
    const gone = remoteAt && (remoteAt.remote?.lost ?? goneLine(remoteAt.url, error));
    if (gone) return fail(gone);
    if (remoteAt && isTimeout(error)) return fail(unreachable(remoteAt.url, error));
    throw error;
  } finally {
    await end();
    await cleanup();
  }
}
