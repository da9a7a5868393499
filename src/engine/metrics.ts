/**
 * The metric model's vocabulary: kinds, units and the built-in metrics (named after the
 * seed's metric types), each with its kind, unit and what it measures.
 *
 * Every kind stores the same per-bucket data (count, sum, min, max, last, sketch); the kind
 * says how to read it: a gauge by its last value, a counter by its rate (its samples are
 * increments), a distribution by its quantiles.
 */

export const KINDS = ['gauge', 'counter', 'distribution'] as const;
export type MetricKind = (typeof KINDS)[number];

export const UNITS = ['', 'ms', 'bytes', 'percent', 'ratio', 'count', 'requests', 'samples', 'bytes_per_second', 'seconds'] as const;
export type MetricUnit = (typeof UNITS)[number];

export interface MetricDefinition {
  name: string;
  kind: MetricKind;
  unit: MetricUnit;
  help: string;
}

export const BUILTIN_METRICS: readonly MetricDefinition[] = [
  // System, sampled by the collector.
  { name: 'cpu_usage', kind: 'gauge', unit: 'percent', help: 'CPU busy time of the whole machine over the last interval, 0-100 (all cores)' },
  { name: 'cpu_iowait', kind: 'gauge', unit: 'percent', help: 'CPU time spent idle while waiting for I/O over the last interval, 0-100 (Linux)' },
  { name: 'memory_usage', kind: 'gauge', unit: 'percent', help: 'Memory in use on the machine (total minus available), 0-100' },
  { name: 'disk_usage', kind: 'gauge', unit: 'percent', help: 'Space used on a mounted filesystem, 0-100; tag mount' },
  { name: 'network_io', kind: 'counter', unit: 'bytes', help: 'Bytes moved by non-loopback interfaces; tag direction (rx, tx); its rate is bytes/s' },
  // Application, recorded by the service.
  { name: 'response_time', kind: 'distribution', unit: 'ms', help: 'Request handling time; recordRequest() feeds it (tag endpoint), and instrument() (tags endpoint, method, status_class)' },
  { name: 'throughput', kind: 'counter', unit: 'requests', help: 'Requests handled; its rate is requests/s; recordRequest() and instrument() feed it' },
  { name: 'error_rate', kind: 'distribution', unit: 'ratio', help: '1 per failed request, 0 per successful one: its mean over a window is the error rate' },
  { name: 'http_requests_aborted', kind: 'counter', unit: 'requests', help: 'Incoming requests whose client went away before the response finished (instrument()); tags endpoint, method' },
  { name: 'active_connections', kind: 'gauge', unit: 'count', help: 'Open client connections' },
  { name: 'queue_size', kind: 'gauge', unit: 'count', help: 'Items waiting in a work queue' },
  { name: 'cache_hit_rate', kind: 'distribution', unit: 'ratio', help: '1 per hit, 0 per miss (or a measured ratio): its mean over a window is the hit rate' },
  { name: 'database_connections', kind: 'gauge', unit: 'count', help: 'Connections held from the database pool' },
  { name: 'formula_calculation_time', kind: 'distribution', unit: 'ms', help: 'Time to evaluate one formula' },
  { name: 'api_response_time', kind: 'distribution', unit: 'ms', help: 'Time of calls to downstream APIs' },
  { name: 'api_error_rate', kind: 'distribution', unit: 'ratio', help: '1 per failed call to a downstream API (no response, or an error status), 0 per other; tags method, host' },
  { name: 'pool_wait_time', kind: 'gauge', unit: 'ms', help: 'Mean time tasks of a piscina pool waited in its queue over the last interval (instrument()); tag pool' },
  { name: 'pool_run_time', kind: 'gauge', unit: 'ms', help: 'Mean run time of the tasks a piscina pool completed over the last interval (instrument()); tag pool' },
  { name: 'pool_utilization', kind: 'gauge', unit: 'ratio', help: "Share of a piscina pool's thread time (maxThreads) spent running tasks over the last interval, 0-1; tag pool" },
  // Node.js runtime of the host process, measured on its main thread.
  { name: 'event_loop_lag', kind: 'distribution', unit: 'ms', help: 'Event-loop delay of the main thread: p99 of each interval' },
  { name: 'event_loop_utilization', kind: 'gauge', unit: 'ratio', help: 'Share of the interval the main thread spent running JavaScript, 0-1' },
  { name: 'event_loop_cpu_wait', kind: 'distribution', unit: 'ms', help: 'Time of each interval the main thread was ready to run but waited for a CPU (Linux)' },
  { name: 'gc_pause', kind: 'distribution', unit: 'ms', help: 'Garbage-collection pauses; tag type (minor, major, incremental, weakcb)' },
  { name: 'heap_used', kind: 'gauge', unit: 'bytes', help: 'V8 heap in use on the main thread' },
  { name: 'heap_total', kind: 'gauge', unit: 'bytes', help: 'V8 heap reserved on the main thread' },
  { name: 'heap_usage', kind: 'gauge', unit: 'percent', help: "V8 heap in use on the main thread as a share of its limit (--max-old-space-size, or V8's default; past it the process ends), 0-100" },
  { name: 'rss', kind: 'gauge', unit: 'bytes', help: 'Resident set size of the process' },
  // The monitor's own.
  { name: 'monitor_ingested', kind: 'counter', unit: 'samples', help: 'Samples the collector applied to the store' },
  { name: 'monitor_dropped', kind: 'counter', unit: 'samples', help: 'Samples dropped on full producer rings' },
  { name: 'monitor_ring_fill', kind: 'gauge', unit: 'ratio', help: 'Fill of the fullest producer ring when sampled, 0-1' },
  { name: 'monitor_collector_lag', kind: 'gauge', unit: 'ms', help: 'Age of the oldest data the collector found waiting' },
  { name: 'monitor_series_refused', kind: 'counter', unit: 'count', help: 'New series refused, at maxSeries or by a full registry string arena or name table (status().series.refused total), in any thread: their samples were not recorded' },
  { name: 'monitor_faults', kind: 'counter', unit: 'count', help: "Errors in the monitor's own work (observers, samplers, timers, actors' callbacks), caught and counted; tag kind" },
];

export const BUILTIN_BY_NAME: ReadonlyMap<string, MetricDefinition> = new Map(BUILTIN_METRICS.map((m) => [m.name, m]));

/**
 * What the monitor's own metrics that its parts define (monitor/own.ts, hub/role.ts,
 * monitor/export-link.ts) measure: their HELP on /metrics, which the walk (analysis/series-walk.ts)
 * reads here, below the parts. A name with a unit in it (`_ms`) fails promtool's lint ("metric
 * names should not contain abbreviated units"): the times are named as the built-in ones are
 * (`response_time`, `monitor_collector_lag`), their unit said here.
 */
export const OWN_HELP: ReadonlyMap<string, string> = new Map([
  ['monitor_overhead_cpu', "CPU the monitor itself uses, percent (status().overhead, the overhead budget)"],
  ['monitor_overhead_memory', 'Memory the monitor itself uses, bytes (status().overhead, the overhead budget)'],
  ['monitor_backoff_level', "The overhead governor's backoff level, 0 when it has not backed off (status().overhead)"],
  ['monitor_report_time', 'Wall time of each task of the report pool (reports, analyses), in ms'],
  ['monitor_hub_sent', 'Buckets the hub applied from its members, or the member sent to its hub'],
  ['monitor_hub_failed', 'Hub link failures: refused entries, failed applies (status().hub failed)'],
  ['monitor_hub_dropped', 'Hub link batches dropped before the hub got them (status().hub dropped)'],
  ['monitor_hub_queue_depth', 'Hub link entries waiting (status().hub queueDepth)'],
  ['monitor_hub_lag', 'How far behind now, in ms, the newest applied buckets end: on the hub the largest of its members (a stopped one left out, 0 with none)'],
  ['monitor_hub_members', "The hub's members; tag state (live, stale, stopped)"],
  ['monitor_hub_malformed', 'Frames the hub could not read'],
  ['monitor_export_sent', 'Samples an exporter sent; tag exporter'],
  ['monitor_export_failed', 'Samples an exporter failed to send; tag exporter'],
  ['monitor_export_dropped', "Samples an exporter dropped; tag exporter"],
  ['monitor_export_retries', 'Requests an exporter retried; tag exporter'],
  ['monitor_export_bytes', 'Bytes an exporter sent; tag exporter'],
  ['monitor_export_queue_depth', "Requests waiting in an exporter's queue; tag exporter"],
  ['monitor_export_lag', "How far behind an exporter is, in ms (status().export lagMs); tag exporter"],
]);

/** The values a sample may take: from `min` to `max`, both included; `rule` says so in an error. */
export interface ValueRange {
  min: number;
  max: number;
  rule: string;
}

/** The largest number under 2^333, the magnitude every sample stays below. */
const UNDER_LIMIT = 2 ** 333 - 2 ** 280;

/** The ranges the units of the built-in metrics give their samples. */
const UNIT_RANGES: Partial<Record<MetricUnit, ValueRange>> = {
  ms: { min: 0, max: UNDER_LIMIT, rule: 'a finite number of ms from 0 to under 2^333 (~1.7e100): a time is not negative' },
  bytes: { min: 0, max: UNDER_LIMIT, rule: 'a finite number of bytes from 0 to under 2^333 (~1.7e100)' },
  count: { min: 0, max: UNDER_LIMIT, rule: 'a finite count from 0 to under 2^333 (~1.7e100)' },
  ratio: { min: 0, max: 1, rule: 'a ratio from 0 to 1' },
  percent: { min: 0, max: 100, rule: 'a percentage from 0 to 100' },
};

/**
 * The range of a built-in metric's samples that its unit bounds (a time or a count is not
 * negative, a ratio is 0 to 1, a percentage 0 to 100), or undefined: counters (their
 * increments are checked as such) and the application's own metrics, whose units say what a
 * value is, not what it may be (a clock offset in ms may be negative). An error_rate of 7 or a
 * response_time of -5 recorded before made reports say 200% of requests failed.
 */
export function builtinRange(name: string): ValueRange | undefined {
  const def = BUILTIN_BY_NAME.get(name);
  return def === undefined || def.kind === 'counter' ? undefined : UNIT_RANGES[def.unit];
}

export function kindCode(kind: MetricKind): number {
  return KINDS.indexOf(kind);
}

export function unitCode(unit: MetricUnit): number {
  return UNITS.indexOf(unit);
}
