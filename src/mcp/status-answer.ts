/**
 * The status answer, of get_monitoring_status and the perfwatch://status resource: the
 * monitor's state, ingestion, collector, memory and alert counts, and on request a summary of
 * every metric, the active alerts and the baselines, within the read budget.
 *
 * Memory leads with what the monitor's buffers actually hold (the pages written, comparable
 * to the resident size); the reservation is shown as what it is, address space. A stopped
 * monitor says so and shows no live rate.
 */
import { z } from 'zod';
import type { MonitorStatus } from '../monitor/monitor.js';
import { NAMES_ADVICE } from '../engine/registry.js';
import { dropAdvice, dropsText } from '../monitor/drops.js';
import { alertsAnswer } from './alerts-answer.js';
import { jsonBytes, textBytes } from './budget.js';
import { iso, metricsText, num, type MetricSummaryOut } from './format.js';
import { sampledFirst } from './metrics-page.js';
import { baselinesOut, baselinesText, baselinesWanted } from './report-answer.js';
import { DEFAULT_WINDOW_SECONDS, intRange } from './schemas.js';
import { faultsLines, faultsOut, type FaultsOut } from './status-faults.js';
import type { EndpointStatus } from './http-options.js';
import type { Front } from './front.js';

const flag = () => z.boolean({ error: 'must be true or false' }).default(false);

export const StatusInput = z.strictObject({
  include_metrics: flag(),
  include_alerts: flag(),
  include_baselines: flag(),
  limit: intRange(1, 1000).optional().describe('Per list (default: fits 8 KB)'),
});

export const StatusOutput = z.object({
  state: z.enum(['stopped', 'starting', 'running', 'stopping']),
  paused: z.boolean(),
  started_at: z.string().nullable(),
  uptime_seconds: z.number(),
  collection_interval: z.number(),
  series: z.object({ count: z.number(), limit: z.number(), refused: z.number() }),
  ingestion: z.object({
    ingested: z.number(),
    rate_per_second: z.number().nullable().describe('null when stopped'),
    dropped: z.number(),
    pending: z.number(),
    overflow: z.string(),
  }),
  collector: z.object({ state: z.string(), restarts: z.number(), lag_ms: z.number().describe('age of the oldest waiting sample'), heartbeat_age_ms: z.number().nullable() }),
  memory: z.object({
    touched_bytes: z.number().describe('written: what adds to RSS'),
    address_space_bytes: z.number().describe('reserved, not in use'),
    limit_bytes: z.number().describe("the machine's memory or its cgroup's limit"),
    limit_source: z.string().describe("os.totalmem() or the cgroup file"),
  }),
  alerting: z.object({ state: z.string(), rules: z.number(), pending: z.number(), firing: z.number() }),
  // Its shape is FaultsOut's, not spelt here: tools/list has no room for it (20 KB).
  faults: z.record(z.string(), z.unknown()),
  // The monitor's own cost: OverheadOut's shape, not spelt here either.
  overhead: z.record(z.string(), z.unknown()),
  http: z.record(z.string(), z.union([z.number(), z.boolean()])).optional(),
  metrics: z.array(z.record(z.string(), z.unknown())).optional().describe('as get_performance_metrics, last 60 s'),
  metrics_total: z.number().optional(),
  metrics_truncated: z.boolean().optional(),
  alerts: z.array(z.record(z.string(), z.unknown())).optional().describe('as get_performance_alerts'),
  alerts_total: z.number().optional(),
  alerts_truncated: z.boolean().optional(),
  baselines: z.array(z.record(z.string(), z.unknown())).optional(),
  baselines_total: z.number().optional(),
  baselines_truncated: z.boolean().optional(),
});

/** The monitor's own cost against its budget (overheadOut); a type, so that it is a record. */
type OverheadOut = {
  cpu_percent: number | null;
  memory_bytes: number | null;
  budget: { cpu_percent: number; memory_bytes: number };
  over_budget: { cpu: boolean; memory: boolean };
  level: number;
  /** The cores' worth of CPU time the process's cgroup allows (a container's limit), when one is set. */
  cpu_limit_cores?: number;
};

type Out = Omit<z.output<typeof StatusOutput>, 'faults' | 'overhead'> & { faults: FaultsOut; overhead: OverheadOut };

export function statusOut(s: MonitorStatus, endpoint?: EndpointStatus): Out {
  return {
    state: s.state,
    paused: s.paused,
    started_at: iso(s.startedAt),
    uptime_seconds: Math.round(s.uptimeMs / 1000),
    collection_interval: s.collectionIntervalMs / 1000,
    series: { count: s.series.count, limit: s.series.limit, refused: s.series.refused.total },
    ingestion: {
      ingested: s.ingestion.ingested,
      rate_per_second: s.ingestion.ratePerSecond === null ? null : Math.round(s.ingestion.ratePerSecond),
      dropped: s.ingestion.dropped,
      pending: s.ingestion.pending,
      overflow: s.ingestion.overflow,
    },
    collector: { state: s.collector.state, restarts: s.collector.restarts, lag_ms: Math.round(s.collector.lagMs), heartbeat_age_ms: s.collector.heartbeatAgeMs },
    memory: { touched_bytes: s.memory.touchedBytes, address_space_bytes: s.memory.addressSpaceBytes, limit_bytes: s.memory.limit.bytes, limit_source: s.memory.limit.source },
    alerting: { state: s.alerts.actor, rules: s.alerts.rules, pending: s.alerts.pending, firing: s.alerts.firing },
    overhead: overheadOut(s.overhead),
    faults: faultsOut(s),
    ...(endpoint ? { http: endpointOut(endpoint) } : {}),
  };
}

/**
 * The monitor's own cost against its budget, for an agent that reads the structured answer:
 * the text says it only when over budget (overheadLines), and the structured answer said it
 * never. A percent to two decimals: status().overhead carries the measured figure.
 */
function overheadOut(o: MonitorStatus['overhead']): OverheadOut {
  return {
    cpu_percent: o.cpuPercent === null ? null : Math.round(o.cpuPercent * 100) / 100,
    memory_bytes: o.memoryBytes,
    budget: { cpu_percent: o.budget.cpuPercent, memory_bytes: o.budget.memoryBytes },
    over_budget: { cpu: o.overBudget.cpu, memory: o.overBudget.memory },
    level: o.level,
    // The budget not given is a share of a limit below one core: without the limit, 0.25 read as a typo of 1.
    ...(o.cpuLimit ? { cpu_limit_cores: o.cpuLimit.cores } : {}),
  };
}

/** An error message is cut to this: the answer stays bounded whatever an endpoint says. */
const ERROR_CHARS = 200;

/** Cuts an error message (or a path) to ERROR_CHARS. */
function cut(text: string | undefined): string | undefined {
  return text !== undefined && text.length > ERROR_CHARS ? `${text.slice(0, ERROR_CHARS - 1)}…` : text;
}

/** One line per push endpoint, the last error cut so that the answer stays bounded. */
function exporterLine(e: MonitorStatus['export']['exporters'][number]): string {
  const error = cut(e.lastError?.message);
  return `${e.exporter} ${e.url}: sent ${e.sent}, failed ${e.failed}, dropped ${e.dropped}, queue ${e.queueDepth}, lag ${Math.round(e.lagMs)} ms${error ? `; last error: ${error}` : ''}`;
}

/** Members of a hub listed one a line in the status answer; the rest are counted. */
const HUB_MEMBER_LINES = 10;

/**
 * The hub link in lines: a member's one, or a hub's summary and its members, those that need
 * a look first (stale, then the most behind), at most HUB_MEMBER_LINES of them.
 */
export function hubLines(h: MonitorStatus['hub']): string[] {
  if (h === null) return [];
  const secs = (ms: number | null): string => (ms === null ? 'none' : `${num(ms / 1000)} s`);
  const error = (e: { message: string } | null): string => (e ? `; last error: ${cut(e.message)}` : '');
  if (h.role === 'member') {
    return [`hub member "${cut(h.instance)}" of ${cut(h.address)} (${h.transport}): ${h.connected ? `connected via ${h.via}` : 'not connected'}, sent ${h.sent} buckets, failed ${h.failed}, dropped ${h.dropped}, queue ${h.queueDepth}, lag ${secs(h.lagMs)}${error(h.lastError)}`];
  }
  const by = (state: string): number => h.members.filter((m) => m.state === state).length;
  const order = [...h.members].sort((a, b) => Number(b.state === 'stale') - Number(a.state === 'stale') || (b.lagMs ?? 0) - (a.lagMs ?? 0));
  const shown = order.slice(0, HUB_MEMBER_LINES);
  // Said once its socket has turned a connection away: the cap reached, or peers that never speak.
  const c = h.connections;
  const away = c.refused + c.noHello > 0 ? `, connections ${c.open} of ${c.limit} open (${c.refused} turned away past hub.maxConnections, ${c.noHello} closed without a hello)` : '';
  return [
    `hub on ${cut(h.address)} (${h.transport}): ${h.members.length} members (${by('live')} live, ${by('stale')} stale, ${by('stopped')} stopped), ${h.forgotten} forgotten, ${h.malformed} malformed messages${away}${error(h.lastError)}`,
    ...shown.map((m) => `  member "${cut(m.instance)}" ${m.state}, ${m.connected ? `connected via ${m.via}` : 'not connected'}: ${m.buckets} buckets applied, failed ${m.failed}, dropped ${m.dropped}, queue ${m.queueDepth}, lag ${secs(m.lagMs)}, last heard ${secs(m.lastSeenMs)} ago${error(m.lastError)}`),
    ...(order.length > shown.length ? [`  … and ${order.length - shown.length} more members: status().hub in the library, monitor_hub_* on /metrics`] : []),
  ];
}

/** The profiler in one line: the capture running, counts, the last error (cut) and the files against their bounds. */
export function profilingLine(p: MonitorStatus['profiling']): string {
  const mib = (b: number): string => `${num(b / 1048576)} MiB`;
  const f = p.files;
  return [
    `profiling: ${p.busy ? `${p.busy.kind} capture ${p.busy.id} running until ${iso(p.busy.endsAt)}; ` : ''}${p.captures} captures, refused ${p.refused.busy} (one at a time) and ${p.refused.rateLimited} (rule rate limit), failed ${p.failed}`,
    p.lastError ? ` (last: ${cut(p.lastError.message)})` : '',
    `; files ${f.count}/${f.maxFiles}, ${mib(f.bytes)} of ${mib(f.maxBytes)} in ${cut(p.dir)}`,
    f.lastError ? `; last file not kept: ${cut(f.lastError)}` : '',
  ].join('');
}

function endpointOut(e: EndpointStatus): NonNullable<Out['http']> {
  return {
    sessions: e.sessions.count,
    sessions_busy: e.sessions.busy,
    max_sessions: e.sessions.limit,
    session_idle_seconds: e.sessions.idleMs / 1000,
    sessions_expired: e.sessions.expired,
    sessions_evicted: e.sessions.evicted,
    sessions_refused: e.sessions.refused,
    sessions_unresponsive: e.sessions.unresponsive,
    answers_stalled: e.stalled,
    buffered_bytes: e.bufferedBytes,
    max_buffered_bytes: e.maxBufferedBytes,
    max_body_bytes: e.maxBodyBytes,
    bodies_too_large: e.refusedBodies.tooLarge,
    bodies_refused_busy: e.refusedBodies.busy,
    // The share of the host's main thread its calls take (call-gate.ts; serveHttp's /api too).
    calls_in_progress: e.calls.inProgress,
    max_calls_in_progress: e.calls.limit,
    calls_queued: e.calls.queued,
    calls_refused_busy: e.calls.refusedBusy,
    state_changes: e.stateChanges,
    token: e.token,
  };
}

/**
 * The text answer. Each push endpoint is a line of it, and so are the profiler and the hub link, and the limit
 * on alert rules (maxAlertRules) is in it, not fields of the structured answer: the tool list's 20 KB budget
 * has no room for one more schema (one more number went 11 bytes past it).
 */
/**
 * The limit the process meets first when it is not the memory limit above (the address space
 * under `ulimit -v`): the limit line alone showed an agent the machine's memory, room the
 * process did not have. Nothing when it is the same limit, so the usual answer reads as it did.
 */
function boundBy(b: MonitorStatus['memory']['binding'], mb: (bytes: number) => string): string {
  if (b.kind !== 'address-space') return '';
  return `; the address space binds first: ${b.freeBytes === null ? 'its use unread' : `${mb(b.freeBytes)} left`} of ${mb(b.bytes)} (${b.source})`;
}

/**
 * Why the collector last ended and how long ago, beside its restarts: a bare "restarts 2" left
 * an agent to guess whether it crashed, hung or was killed, and when.
 */
function lastExitText(restarts: number, exit: MonitorStatus['collector']['lastExit'], now = Date.now()): string {
  if (restarts === 0 || exit === null) return '';
  return ` (last: ${cut(exit.reason)}, ${Math.max(0, Math.round((now - exit.at) / 1000))} s ago)`;
}

export function statusText(s: Out, status: MonitorStatus): string {
  const mb = (b: number): string => `${num(b / 1048576)} MiB`;
  const rate = s.ingestion.rate_per_second === null ? '' : ` (${s.ingestion.rate_per_second}/s)`;
  return [
    `monitor ${s.state}${s.paused ? ' (own sampling paused)' : ''}${s.state === 'running' ? `, up ${s.uptime_seconds}s` : ''}, interval ${s.collection_interval}s`,
    // The limit is the application's (maxSeries); the monitor's own series (runtime, system, monitor_*) are held
    // apart and listed by get_performance_metrics too, so a bare count read as most series missing.
    `app series ${s.series.count}/${s.series.limit} (maxSeries) and ${status.series.own.count} of the monitor's own; ingested ${s.ingestion.ingested}${rate}, dropped ${s.ingestion.dropped}, pending ${s.ingestion.pending}`,
    ...refusedLines(status.series.refused),
    ...droppedLines(status.ingestion),
    `collector ${s.collector.state}, restarts ${s.collector.restarts}${lastExitText(s.collector.restarts, status.collector.lastExit)}${s.state === 'running' ? `, lag ${s.collector.lag_ms} ms` : ''}; memory ${mb(s.memory.touched_bytes)} touched (${mb(s.memory.address_space_bytes)} of address space reserved, limit ${mb(s.memory.limit_bytes)} from ${s.memory.limit_source}${status.memory.limit.scale < 1 ? `: maxSeries and the sketch buffers not given were scaled by ${num(status.memory.limit.scale)} to fit` : ''})${boundBy(status.memory.binding, mb)}`,
    `alerts: ${s.alerting.firing} firing, ${s.alerting.pending} pending, ${s.alerting.rules}/${status.alerts.maxRules} rules (maxAlertRules)`,
    ...status.export.exporters.map((e) => `export ${exporterLine(e)}`),
    ...hubLines(status.hub),
    ...faultsLines(s.faults, s.state === 'running'),
    // What the system sampler cannot read here (Node's permission model) and the flag that reads
    // it: an agent asked why network_io or cpu_iowait is missing had status().system.note alone.
    ...(status.system?.note ? [`system readings: ${status.system.note}`] : []),
    ...catalogLines(status.storage),
    ...overheadLines(status.overhead),
    profilingLine(status.profiling),
    ...(s.http ? [`http: ${s.http.sessions}/${s.http.max_sessions} sessions (${s.http.sessions_busy} busy; ${s.http.sessions_expired} expired, ${s.http.sessions_evicted} evicted, ${s.http.sessions_refused} refused, ${s.http.sessions_unresponsive} unresponsive), ${s.http.answers_stalled} answers stalled, ${s.http.calls_in_progress}/${s.http.max_calls_in_progress} calls in progress (${s.http.calls_queued} queued, ${s.http.calls_refused_busy} refused busy), ${s.http.buffered_bytes}/${s.http.max_buffered_bytes} body bytes held; state changes ${s.http.state_changes ? 'allowed' : 'refused (read-only)'}`] : []),
  ].join('\n');
}

/**
 * The monitor over its own budget (overhead.cpuPercent, overhead.memoryBytes), with what it
 * does about it and what the service can: nothing when within it, so the usual answer reads
 * as it did. An agent asked whether the monitor costs the service much saw no line of its
 * cost at all (status().overhead, and the monitor_overhead_* series, held it).
 */
function overheadLines(o: MonitorStatus['overhead']): string[] {
  if (!o.enabled || (!o.overBudget.cpu && !o.overBudget.memory)) return [];
  const pct = (ms: number, windowMs: number): string => `${num((100 * ms) / Math.max(1, windowMs))}%`;
  const b = o.breakdown;
  const parts = b === null ? '' : ` (collector ${pct(b.collectorMs, b.windowMs)}, of which system sampling ${pct(b.samplingMs, b.windowMs)}; main thread ${pct(b.mainThreadMs, b.windowMs)}; reports ${pct(b.reportsMs, b.windowMs)})`;
  const cpu = o.cpuPercent === null ? 'CPU unknown' : `${num(o.cpuPercent)}% of a core${parts}`;
  const memory = o.memoryBytes === null ? '' : `, memory ${num(o.memoryBytes / 1048576)} MiB`;
  const limit = o.cpuLimit && o.cpuLimit.cores < 1 ? `, of a core, under this process's CPU limit of ${num(o.cpuLimit.cores)} of a core (${o.cpuLimit.source})` : '';
  const over = [o.overBudget.cpu ? `overhead.cpuPercent ${+o.budget.cpuPercent.toPrecision(3)}${limit}` : '', o.overBudget.memory ? `overhead.memoryBytes ${num(o.budget.memoryBytes / 1048576)} MiB` : ''].filter(Boolean).join(' and ');
  return [`overhead over its budget (${over}): ${cpu}${memory}; back-off level ${o.level}${o.actions.length > 0 ? `: ${o.actions.join('; ')}` : ''}`];
}

/**
 * New series refused, by the most refused names, and by cause: each was a CardinalityError to
 * its caller alone, and `app series 16/16` said nothing of the 25 a trial's service lost. What
 * to do differs by cause (maxSeries, the string arena, the name table), and a line that said
 * "at maxSeries" of them all told an agent to raise maxSeries for a full name table.
 */
function refusedLines(r: MonitorStatus['series']['refused']): string[] {
  if (r.total === 0) return [];
  const parts = r.byName.map((n) => `${n.name} ${n.count}${n.tag === null ? '' : ` (tag ${n.tag})`}`);
  // Those of producer() threads by count alone: their names went to the threads' callers.
  if (r.threads > 0) parts.push(`${r.threads} in producer() threads`);
  const names = parts.join(', ');
  const atMax = r.total - r.arena - r.names;
  const causes: string[] = [];
  if (atMax > 0) causes.push(`${atMax === r.total ? '' : `${atMax} of them at maxSeries: `}series never expire in a running monitor: raise maxSeries or reduce tag values`);
  if (r.arena > 0) causes.push(`${r.arena} of them below maxSeries, the registry's string arena full: shorten the tags (fewer, or shorter values; the series-arena fault names the maxTagValueLength that fits)`);
  if (r.names > 0) causes.push(`${r.names} of them for a new metric name, the registry's name table full: ${NAMES_ADVICE}`);
  return [`series refused: ${r.total} new series${atMax === r.total ? ' at maxSeries' : ''}${names ? ` (${names})` : ''}; ${causes.join('; ')}`];
}

/**
 * Samples dropped at full rings, with the latest interval's share and what to do: `dropped
 * 1400964` beside the ingested count said nothing of why, and nothing else in the answer did.
 */
function droppedLines(i: MonitorStatus['ingestion']): string[] {
  if (i.dropped === 0) return [];
  const main = i.rings.find((r) => r.owner === 'main');
  const latest = i.lastDrops === null ? '' : ` (the latest interval with drops: ${dropsText(i.lastDrops)})`;
  return [`samples dropped: ${i.dropped.toLocaleString('en-US')} at full rings${latest}; ${dropAdvice(i.overflow, i.stallTimeoutMs, main?.capacity ?? 0)}`];
}

/**
 * What the start did with the stored catalog when it left series out: beside `app series 20/100`
 * an agent saw no trace of the 80 older stored series (status().storage.catalog says why, at
 * length).
 */
function catalogLines(storage: MonitorStatus['storage']): string[] {
  if (storage.mode !== 'sqlite' || storage.catalog === undefined) return [];
  const c = storage.catalog;
  if (c.leftOut === 0 && c.failed === 0) return [];
  const n = (x: number): string => x.toLocaleString('en-US');
  const failed = c.failed > 0 ? `, ${n(c.failed)} could not be registered (see the storage-restore fault)` : '';
  const left = c.leftOut > 0 ? `; ${n(c.leftOut)} older ones left out to keep room for the live series: their history is still read from the database (get_metric_history), and raising maxSeries registers more at start` : '';
  return [`storage: ${n(c.registered)} of ${n(c.stored)} stored series registered at start${failed}${left}`];
}

/**
 * The status answer with what was asked for added, each part in its share of what is left
 * of `budget` (without a limit): the tool's answer, and the resource's.
 */
export async function statusAnswer(front: Front, args: z.output<typeof StatusInput>, signal: AbortSignal | undefined, budget: number): Promise<{ structured: Out; text: string }> {
  const monitor = front.host.monitor;
  const status = monitor.status();
  const structured = statusOut(status, front.endpointStatus?.());
  let text = statusText(structured, status);
  let left = budget - 600 - jsonBytes(structured) - textBytes(text);
  let parts = [args.include_metrics, args.include_alerts, args.include_baselines].filter(Boolean).length;
  const share = (): number => left / parts--;
  if (args.include_metrics) {
    // Only what the answer can show is summarised (get_performance_metrics' FIRST_PAGE); the
    // series with a sample in the window first: on a service whose tags churn, the first in id
    // order were series recorded once, and an agent's first look showed them, not the service.
    const { page, total, idle } = sampledFirst(monitor, {}, DEFAULT_WINDOW_SECONDS, 0, args.limit ?? 200);
    const { metrics, lines } = args.limit !== undefined ? front.summaries.of(page) : front.summaries.of(page, share() - 200);
    const part = { metrics: metrics as MetricSummaryOut[], metrics_total: total, metrics_truncated: metrics.length < total };
    Object.assign(structured, part);
    const added = metricsText(metrics, total, part.metrics_truncated, DEFAULT_WINDOW_SECONDS, lines, undefined, undefined, idle);
    text += `\n${added}`;
    left -= jsonBytes(part) + textBytes(added);
  }
  if (args.include_alerts) {
    const alerts = alertsAnswer(monitor, { state: 'active', include_rules: false, include_history: false, limit: args.limit }, structured.alerting, share());
    structured.alerts = alerts.structured.alerts;
    structured.alerts_total = alerts.structured.total;
    structured.alerts_truncated = alerts.structured.truncated;
    text += `\n${alerts.text}`;
    left -= jsonBytes(alerts.structured.alerts) + textBytes(alerts.text);
  }
  if (args.include_baselines) {
    // Only the page the answer can show is learned: every series' baseline took seconds at 10,000 series.
    const budget = share();
    const total = monitor.countBaselines();
    const page = await monitor.getBaselines({ limit: baselinesWanted(args.limit, budget), ...(signal ? { signal } : {}) });
    const b = baselinesOut(page, Math.max(total, page.length), args.limit, budget);
    structured.baselines = b.baselines;
    structured.baselines_total = b.total;
    structured.baselines_truncated = b.truncated;
    text += `\n${baselinesText(b)}`;
  }
  return { structured, text };
}
